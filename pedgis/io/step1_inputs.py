"""Step-1 inputs from the scenario: open the files, run step 1, and check everything in one pass.

The scenario's ``[buildings]``, ``[boundary]`` and ``[heights]`` sections arrive here as plain
mappings (see ``docs/config.md``); paths are relative to the scenario file's folder
(``base_dir``). :func:`run_step1` is what the pipeline calls; :func:`step1_problems` is what
``pedgis validate`` calls: it collects every problem with the buildings, boundary and raster
inputs instead of stopping at the first, each with where it is and how to fix it.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import ConfigError, InputDataError, PedgisError, PedgisWarning
from ..heights import DEFAULT_EDGE_BUFFER_M, DEFAULT_GROUND_THRESHOLD_M, DEFAULT_PERCENTILE
from ..progress import ProgressCallback
from .presets import (
    PEDGIS_USES,
    UNCONDITIONED,
    column_problems,
    id_labels,
    map_uses,
    parse_number,
    resolve_columns,
)
from .raster import RasterSource, raster_problems
from .vector import VectorData, read_vector_data


@dataclass(frozen=True)
class BuildingsSection:
    """``[buildings]`` as step 1 reads it (docs/config.md); ``path`` is a Path or a PostGIS source."""

    path: Any = None
    layer: str | None = None
    crs: str | None = None
    encoding: str | None = None
    preset: str = "auto"
    columns: dict = field(default_factory=dict)
    use_map: dict = field(default_factory=dict)
    default_use: str | None = None
    group_parts: bool = True
    mixed_use: dict | None = None


@dataclass(frozen=True)
class BoundarySection:
    """``[boundary]`` as step 1 reads it: ``type`` is geographical, functional, virtual or none;
    ``member_uses`` are the uses a functional boundary's heat-network systems serve."""

    type: str | None = None
    path: Any = None
    layer: str | None = None
    crs: str | None = None
    rule: str = "centroid"
    min_share_inside: float = 0.5
    members: list | None = None
    filter: dict | None = None
    member_uses: list | None = None
    virtual_assets: list = field(default_factory=list)


@dataclass(frozen=True)
class HeightsSection:
    """The rasters (``[rasters]`` dsm, dtm, ndsm) and how ``[heights]`` reads heights from them."""

    dsm: Path | None = None
    dtm: Path | None = None
    ndsm: Path | None = None
    percentile: float = DEFAULT_PERCENTILE
    edge_buffer_m: float = DEFAULT_EDGE_BUFFER_M
    ground_threshold_m: float = DEFAULT_GROUND_THRESHOLD_M
    tile_size: int = 2048


def _defaults(section: type) -> dict:
    return {f.name: f.default_factory() if f.default_factory is not MISSING else f.default for f in fields(section)}


#: Defaults of the keys this module reads, for sections given as plain mappings (QGIS, tests).
BUILDINGS_DEFAULTS = _defaults(BuildingsSection)
BOUNDARY_DEFAULTS = _defaults(BoundarySection)
HEIGHTS_DEFAULTS = _defaults(HeightsSection)


@dataclass
class Problem:
    """One input problem: ``severity`` (``error`` stops a run; ``warning`` does not; ``note``: a
    data-quality finding a run repairs and flags by itself), where it is (file, column or key
    path) and the message with its fix."""

    severity: str
    where: str
    message: str
    category: type | None = field(default=None, repr=False, compare=False)  # a warning's class, to re-issue it

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def _get(section: Mapping | None, key: str, defaults: dict):
    if section is None:
        return defaults.get(key)
    value = section.get(key, None) if hasattr(section, "get") else getattr(section, key, None)
    return defaults.get(key) if value is None else value


def input_path(base_dir: Path, p) -> Path | None:
    """A scenario's input path resolved against its folder (``~`` expanded); a PostGIS source as
    it is; None when not given."""
    if p in (None, ""):
        return None
    if hasattr(p, "connection"):  # a PostGIS table or query (pedgis.io.postgis.DatabaseSource)
        return p
    p = Path(p).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


def _as_dict(x) -> dict:
    if x is None:
        return {}
    if isinstance(x, Mapping):
        return dict(x)
    if hasattr(x, "model_dump"):
        return x.model_dump()
    if hasattr(x, "__dict__"):
        return dict(vars(x))
    return dict(x)


@dataclass
class Step1Inputs:
    """The opened step-1 inputs (close the rasters with :meth:`close` or ``with``)."""

    buildings: VectorData
    boundary: gpd.GeoDataFrame | None = None
    dsm: RasterSource | None = None
    dtm: RasterSource | None = None
    ndsm: RasterSource | None = None
    messages: list[str] = field(default_factory=list)

    def close(self) -> None:
        for r in (self.dsm, self.dtm, self.ndsm):
            if r is not None:
                r.close()

    def __enter__(self) -> Step1Inputs:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_step1_inputs(buildings: Mapping, boundary: Mapping | None = None, heights: Mapping | None = None,
                      base_dir: str | Path = ".", crs: str | None = None, data: VectorData | None = None) -> Step1Inputs:
    """Read the footprints and the boundary, open the rasters.

    Parameters
    ----------
    buildings, boundary, heights : the scenario sections
    base_dir : folder relative paths are resolved against (the scenario file's folder)
    crs : CRS for a buildings file without one (e.g. from a command-line option; wins over
        ``buildings.crs``)
    data : the buildings file already read (by :func:`check_step1`), so it is read once
    """
    base_dir = Path(base_dir)
    bpath = input_path(base_dir, _get(buildings, "path", {}))
    if bpath is None:
        raise ConfigError("missing: give the footprint file (Shapefile, GeoPackage, GeoJSON, "
                          "FlatGeobuf or GML).", key="buildings.path")
    vd = data if data is not None else read_vector_data(
        bpath, layer=_get(buildings, "layer", BUILDINGS_DEFAULTS), crs=crs or _get(buildings, "crs", BUILDINGS_DEFAULTS),
        encoding=_get(buildings, "encoding", BUILDINGS_DEFAULTS), what="buildings")
    vd.gdf.attrs["pedgis_read"] = {"messages": list(vd.messages), "encoding": vd.encoding,
                                   "encoding_source": vd.encoding_source, "path": str(vd.path)}
    inputs = Step1Inputs(buildings=vd, messages=list(vd.messages))
    ppath = input_path(base_dir, _get(boundary, "path", BOUNDARY_DEFAULTS))
    if ppath is not None:
        bd = read_vector_data(ppath, layer=_get(boundary, "layer", BOUNDARY_DEFAULTS),
                              crs=_get(boundary, "crs", BOUNDARY_DEFAULTS), what="boundary")
        inputs.boundary = bd.gdf
        inputs.messages.extend(bd.messages)
    try:
        for key in ("dsm", "dtm", "ndsm"):
            rp = input_path(base_dir, _get(heights, key, HEIGHTS_DEFAULTS))
            if rp is not None:
                setattr(inputs, key, RasterSource.open(rp, what=f"rasters.{key}"))
    except PedgisError:
        inputs.close()
        raise
    return inputs


@dataclass(frozen=True)
class Step1Setup:
    """The scenario's step 1, parsed once by the input check (:func:`step1_setup`): the three
    sections and the per-use storey heights, default floors and gross-to-conditioned share."""

    buildings: BuildingsSection
    boundary: BoundarySection
    heights: HeightsSection
    storey_height_m: dict
    default_floors: dict
    gross_to_conditioned: float


def check_step1_setup(setup: Step1Setup, base_dir: str | Path, uses, progress: ProgressCallback | None = None) -> Step1Check:
    """:func:`check_step1` of a scenario's step 1 (:func:`step1_setup`) for the use types ``uses``."""
    return check_step1(setup.buildings, setup.boundary, setup.heights, storey_height_m=setup.storey_height_m,
                       default_floors=setup.default_floors, gross_to_conditioned=setup.gross_to_conditioned,
                       base_dir=base_dir, known_uses=uses, progress=progress)


def step1_setup(doc: Mapping, uses) -> Step1Setup:
    """Step 1 of a validated scenario document (:attr:`pedgis.config.Scenario.doc`), for the
    use types ``uses``.

    * ``[rasters]`` paths (dsm, dtm, ndsm) are the heights section's rasters;
    * a geographical boundary without a polygon file takes every building (``none``);
    * ``boundary.members`` are the functional boundary's ids; a functional boundary without
      members or filter takes the buildings the heat-network systems serve (their ``buildings``
      and ``uses``; every building when one of them is the ``default`` system);
    * storey heights per use: ``heights.storey_height_m`` for all, else the data table's
      (pedgis/data/storey_heights.csv, 3 m for a use it lacks), then ``storey_height_m_by_use``;
      default floors: ``heights.default_floors``, then ``default_floors_by_use``.
    """
    from .. import data as pdata

    b = dict(doc.get("buildings", {}))
    b["columns"] = {k: v for k, v in (b.get("columns") or {}).items() if v is not None}
    bnd = dict(doc.get("boundary", {}))
    t = bnd.get("type") or "geographical"
    if t == "geographical" and not bnd.get("path"):
        t = "none"
    bnd["type"] = t
    bnd["members"] = list(bnd.get("members") or []) or None
    if t == "functional" and not bnd["members"] and not bnd.get("filter"):
        ids: list[str] = []
        member_uses: list[str] = []
        everyone = False
        for s in (doc.get("systems") or {}).values():
            if isinstance(s, Mapping) and s.get("network"):
                ids += [str(x) for x in s.get("buildings") or []]
                member_uses += [str(x) for x in s.get("uses") or []]
                everyone |= bool(s.get("default"))
        if everyone:
            bnd["type"] = "none"
        else:
            bnd["members"] = list(dict.fromkeys(ids)) or None
            bnd["member_uses"] = list(dict.fromkeys(member_uses)) or None
    h = doc.get("heights") or {}
    rasters = {k: v for k, v in (doc.get("rasters") or {}).items() if v is not None}
    if h.get("storey_height_m") is not None:
        storey = {u: h["storey_height_m"] for u in uses}
    else:
        table = pdata.storey_heights().set_index("use")["storey_height_m"]
        storey = {u: float(table.get(u, 3.0)) for u in uses}
    storey.update(h.get("storey_height_m_by_use", {}))
    floors = {u: h["default_floors"] for u in uses}
    floors.update(h.get("default_floors_by_use", {}))
    return Step1Setup(buildings=_section(BuildingsSection, b), boundary=_section(BoundarySection, bnd),
                      heights=_section(HeightsSection, {**h, **rasters}), storey_height_m=storey,
                      default_floors=floors, gross_to_conditioned=h["gross_to_conditioned"])


def _section(cls: type, values: Mapping):
    """``cls`` from the keys of a document section it has (None keeps the default)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names and v is not None})


def prepare_kwargs(buildings: Mapping, boundary: Mapping | None = None, heights: Mapping | None = None) -> dict:
    """The keyword arguments of :func:`pedgis.boundaries.prepare_district` that come from the
    ``[buildings]``, ``[boundary]`` and the raster part of ``[heights]`` (not the per-use
    storey heights, default floors and gross-to-conditioned factor, which the caller passes)."""
    btype = _get(boundary, "type", BOUNDARY_DEFAULTS)
    kw = {
        "preset": _get(buildings, "preset", BUILDINGS_DEFAULTS),
        "columns": _as_dict(_get(buildings, "columns", BUILDINGS_DEFAULTS)),
        "use_map": _as_dict(_get(buildings, "use_map", BUILDINGS_DEFAULTS)),
        "default_use": _get(buildings, "default_use", BUILDINGS_DEFAULTS) or None,
        "group_by_id": bool(_get(buildings, "group_parts", BUILDINGS_DEFAULTS)),
        "mixed_use": _as_dict(_get(buildings, "mixed_use", BUILDINGS_DEFAULTS)) or None,
        "boundary_type": btype,
        "boundary_rule": _get(boundary, "rule", BOUNDARY_DEFAULTS),
        "min_share_inside": float(_get(boundary, "min_share_inside", BOUNDARY_DEFAULTS)),
        "ids": _get(boundary, "members", BOUNDARY_DEFAULTS) or None,
        "member_uses": _get(boundary, "member_uses", BOUNDARY_DEFAULTS) or None,
        "attribute_filter": _as_dict(_get(boundary, "filter", BOUNDARY_DEFAULTS)) or None,
        "virtual_assets": [_as_dict(a) for a in (_get(boundary, "virtual_assets", BOUNDARY_DEFAULTS) or [])],
        "height_percentile": float(_get(heights, "percentile", HEIGHTS_DEFAULTS)),
        "edge_buffer_m": float(_get(heights, "edge_buffer_m", HEIGHTS_DEFAULTS)),
        "ground_threshold_m": float(_get(heights, "ground_threshold_m", HEIGHTS_DEFAULTS)),
        "tile_size": int(_get(heights, "tile_size", HEIGHTS_DEFAULTS)),
    }
    if kw["preset"] in ("auto", ""):
        kw["preset"] = None
    if not 0 < kw["height_percentile"] <= 100:
        raise ConfigError(f"{kw['height_percentile']}: a percentile in (0, 100].", key="heights.percentile")
    if kw["edge_buffer_m"] < 0:
        raise ConfigError(f"{kw['edge_buffer_m']} m: the edge buffer is a distance ≥ 0.", key="heights.edge_buffer_m")
    if kw["tile_size"] < 64:
        raise ConfigError(f"{kw['tile_size']}: tiles of at least 64 pixels.", key="heights.tile_size")
    return kw


def run_step1(buildings: Mapping, boundary: Mapping | None, heights: Mapping | None, *,
              storey_height_m: dict, default_floors: dict, gross_to_conditioned,
              base_dir: str | Path = ".", crs: str | None = None, known_uses=None,
              progress: ProgressCallback | None = None, data: VectorData | None = None,
              warn_flags: bool = True):
    """Open the step-1 inputs, run :func:`pedgis.boundaries.prepare_district`, close them.

    ``data``: the buildings file already read (see :func:`load_step1_inputs`); ``warn_flags``:
    warn how many buildings carry flags (a run warns once, on its final table, instead).

    Returns
    -------
    Step1Result (its ``messages`` include the reading decisions: encoding, CRS, layers)
    """
    from ..boundaries import prepare_district

    kw = prepare_kwargs(buildings, boundary, heights)
    with load_step1_inputs(buildings, boundary, heights, base_dir, crs=crs, data=data) as inp:
        res = prepare_district(
            inp.buildings.gdf, boundary=inp.boundary, storey_height_m=storey_height_m,
            default_floors=default_floors, gross_to_conditioned=gross_to_conditioned,
            source_name=inp.buildings.path.name, known_uses=known_uses, dsm=inp.dsm, dtm=inp.dtm,
            ndsm=inp.ndsm, progress=progress, warn_flags=warn_flags, **kw)
    extra = [m for m in inp.messages if m not in res.messages]
    res.messages[:0] = extra
    return res


@dataclass
class Step1Check:
    """What :func:`check_step1` found: every problem, and what it read and ran on the way.

    ``result`` is the step-1 result when nothing blocked running step 1 (``run=True``), so a run
    can go on from it; ``data`` is the buildings file as read; ``columns`` the column mapping.
    """

    problems: list[Problem]
    result: object = None  # pedgis.boundaries.Step1Result
    data: VectorData | None = None
    columns: object = None  # pedgis.io.presets.ColumnMapping


#: Per-building count columns that cannot be negative, with what they hold (for the message).
NON_NEGATIVE = {"pv_kwp": "installed PV peak power [kWp]", "pv_kwh": "annual PV yield [kWh]",
                "persons": "number of occupants", "beds": "number of beds"}


def step1_problems(buildings: Mapping, boundary: Mapping | None = None, heights: Mapping | None = None,
                   **kwargs) -> list[Problem]:
    """Every problem with the buildings, boundary and raster inputs, in one pass (the
    ``problems`` of :func:`check_step1`, which takes the same arguments)."""
    return check_step1(buildings, boundary, heights, **kwargs).problems


def check_step1(buildings: Mapping, boundary: Mapping | None = None, heights: Mapping | None = None, *,
                storey_height_m: dict | None = None, default_floors: dict | None = None,
                gross_to_conditioned=None, base_dir: str | Path = ".", crs: str | None = None,
                known_uses=None, run: bool = True, progress: ProgressCallback | None = None) -> Step1Check:
    """Every problem with the buildings, boundary and raster inputs, in one pass.

    Checks, each independent of the others' failures: the files (exist, readable, layer, CRS,
    encoding), the column mapping, the use values, the geometries (invalid, empty, duplicates,
    3D; a file without a single footprint polygon), negative PV, occupant or bed counts, the
    boundary (file, overlap, ids, filter, virtual assets), the rasters (CRS, nodata, overlap, a
    DSM without DTM) and the per-use parameters. When nothing blocks it, step 1 is run
    (``run=True``) on the file already read: its data-quality flags are summarised as notes, a
    district without any included building is an error, and the result is returned.

    Returns
    -------
    Step1Check (``problems`` is empty when everything is fine)
    """
    base_dir = Path(base_dir)
    problems: list[Problem] = []
    check = Step1Check(problems)

    def err(where, exc_or_msg, severity="error"):
        msg = str(exc_or_msg).strip()
        keyed = re.match(r"^[a-z_]+\.[^\s:]+: ", msg) is not None  # already starts with a key path
        if where and not keyed and not msg.startswith(where) and "/" not in where and "\\" not in where:
            msg = f"{where}: {msg}"
        problems.append(Problem(severity, where, msg))

    # ---- parameters of the sections
    try:
        kw = prepare_kwargs(buildings, boundary, heights)
    except ConfigError as exc:
        err(exc.key or "scenario", exc)
        kw = None
    for i, a in enumerate(_get(boundary, "virtual_assets", BOUNDARY_DEFAULTS) or []):
        from ..boundaries import virtual_assets_table

        try:
            virtual_assets_table([_as_dict(a)], first_index=i)
        except ConfigError as exc:
            err(exc.key, exc)

    # ---- buildings file (read once: a run goes on from this reading)
    gdf = None
    bpath = input_path(base_dir, _get(buildings, "path", {}))
    if bpath is None:
        err("buildings.path", "buildings.path: missing; give the footprint file.")
    else:
        try:
            check.data = read_vector_data(bpath, layer=_get(buildings, "layer", BUILDINGS_DEFAULTS),
                                          crs=crs or _get(buildings, "crs", BUILDINGS_DEFAULTS),
                                          encoding=_get(buildings, "encoding", BUILDINGS_DEFAULTS))
            gdf = check.data.gdf
        except InputDataError as exc:
            err(str(bpath), exc)

    # ---- columns, uses, geometries, numbers
    cmap = None
    geometry_notes: list[Problem] = []
    if gdf is not None:
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        for msg in column_problems(cols, _as_dict(_get(buildings, "columns", BUILDINGS_DEFAULTS))):
            err("buildings.columns", msg)
        try:
            cmap = resolve_columns(cols, preset=kw["preset"] if kw else None,
                                   columns={k: v for k, v in _as_dict(_get(buildings, "columns", BUILDINGS_DEFAULTS)).items()
                                            if v in ("", None) or v in cols})
            check.columns = cmap
        except InputDataError as exc:
            err("buildings.preset", exc)
        if cmap is not None and "use" in cmap.columns:
            uses_known = list(dict.fromkeys([*(known_uses or []), *(storey_height_m or {}).keys(), *PEDGIS_USES]))
            try:
                um = map_uses(gdf[cmap.columns["use"]], cmap.preset, uses_known,
                              overrides=_as_dict(_get(buildings, "use_map", BUILDINGS_DEFAULTS)), default_use=None)
            except InputDataError as exc:
                default_use = kw["default_use"] if kw else None
                err(f"buildings.columns.use ({cmap.columns['use']})",
                    f"{exc} " + (f"Until then they get the default use '{default_use}' (flagged)."
                                 if default_use else ""), "warning" if default_use else "error")
                um = None
            if um is not None and storey_height_m is not None:
                present = set(um.use.dropna()) - {UNCONDITIONED}
                for name, table in (("storey_height_m", storey_height_m), ("default_floors", default_floors)):
                    if isinstance(table, dict):
                        missing = sorted(u for u in present if u not in table)
                        if missing:
                            err(f"heights.{name}", f"heights.{name}: no value for use type(s) "
                                f"{', '.join(missing)} present in the buildings; add them.")
        elif cmap is not None and not (kw and (kw["default_use"] or (kw["mixed_use"] or {}).get("uses"))):
            err("buildings.columns.use", "buildings.columns.use: no use-type column found and no "
                "buildings.default_use; name the column.")
        from ..geometry import repair_geometries

        rep = repair_geometries(gdf.geometry.values)
        if len(gdf) and (rep.reasons != "").all():
            # not one footprint: a point or outline layer, not a verdict on zero buildings
            found = Counter(str(r) for r in rep.reasons)
            err(str(bpath), f"{bpath.name}: none of its {len(gdf)} features is a footprint polygon ("
                + ", ".join(f"{n} × {r}" for r, n in found.most_common(3)) + "). pedgis needs building "
                "footprints (polygons): give the footprint file in buildings.path (or its polygon layer "
                "in buildings.layer); an address-point or outline layer cannot give floor areas.")
        else:
            kinds = Counter(r.split(" (")[0] for r in rep.reasons if r)
            for kind, n in kinds.items():
                err(str(bpath), f"{bpath.name}: {n} feature(s) with {kind}: they stay in the output as "
                    "excluded rows; fix them in the source to include them.", "warning")
        notes = Counter(note.split(" (")[0] for f in rep.flags if f for note in f.split("; "))
        for kind, n in notes.items():  # replaced by the full run's flags below when it runs
            geometry_notes.append(Problem("note", str(bpath),
                                          f"{bpath.name}: {n} feature(s): {kind} (repaired automatically, flagged)."))
        if cmap is not None:
            for fld, what in NON_NEGATIVE.items():
                if fld not in cmap.columns:
                    continue
                num = parse_number(gdf[cmap.columns[fld]].reset_index(drop=True))[0]
                neg = np.flatnonzero((num < 0).to_numpy())
                if len(neg):
                    ids = (f" (building ids {', '.join(id_labels(gdf[cmap.columns['building_id']].iloc[neg[:10]]))})"
                           if "building_id" in cmap.columns else "")
                    err(f"buildings.columns.{fld} ({cmap.columns[fld]})",
                        f"{bpath.name}: column '{cmap.columns[fld]}' (buildings.columns.{fld}, the {what}) has "
                        f"{len(neg)} negative value(s) in feature(s) {', '.join(str(i + 1) for i in neg[:10])}"
                        f"{' …' if len(neg) > 10 else ''}{ids}: e.g. {num.iloc[neg[0]]:g}. It cannot be negative: "
                        "fix the values in the source (leave them empty where unknown).")
        if cmap is not None and "building_id" in cmap.columns:
            idc = id_labels(gdf[cmap.columns["building_id"]])
            dup = idc[(idc != "") & idc.duplicated(keep=False)]
            if len(dup):  # replaced by the full run's flags below when it runs
                where = f"buildings.columns.building_id ({cmap.columns['building_id']})"
                geometry_notes.append(Problem("note", where, (
                    f"{where}: {len(dup)} rows share {dup.nunique()} building id(s) (e.g. "
                    f"{', '.join(map(str, dup.unique()[:5]))}): grouped into one building each (parts or "
                    "duplicates, flagged); set buildings.group_parts = false to keep them apart.")))
            if (idc == "").any():
                err(f"buildings.columns.building_id ({cmap.columns['building_id']})",
                    f"{int((idc == '').sum())} rows without a building id: ids generated from the row number.",
                    "warning")

    # ---- boundary
    bgdf = None
    ppath = input_path(base_dir, _get(boundary, "path", BOUNDARY_DEFAULTS))
    btype = _get(boundary, "type", BOUNDARY_DEFAULTS)
    if ppath is not None:
        try:
            bgdf = read_vector_data(ppath, layer=_get(boundary, "layer", BOUNDARY_DEFAULTS),
                                    crs=_get(boundary, "crs", BOUNDARY_DEFAULTS), what="boundary").gdf
        except InputDataError as exc:
            err("boundary.path", exc)
    elif btype == "geographical":
        err("boundary.path", "boundary.path: a geographical boundary needs a polygon file.")
    if gdf is not None and bgdf is not None and gdf.crs is not None and bgdf.crs is not None:
        from ..crs import check_overlap

        try:
            check_overlap(gdf, bgdf.to_crs(gdf.crs), bpath.name, "the boundary")
        except InputDataError as exc:
            err("boundary.path", exc)
    if gdf is not None and cmap is not None:
        ids = _get(boundary, "members", BOUNDARY_DEFAULTS)
        if ids:
            if "building_id" not in cmap.columns:
                err("boundary.members", "boundary.members: the buildings have no id column to match "
                    "(set buildings.columns.building_id).")
            else:
                have = set(id_labels(gdf[cmap.columns["building_id"]]))
                unknown = [str(x) for x in ids if str(x) not in have]
                if unknown:
                    err("boundary.members", f"boundary.members: {len(unknown)} id(s) not found in the buildings: "
                        f"{', '.join(unknown[:20])}. Check them against column {cmap.columns['building_id']}.")
        for col in _as_dict(_get(boundary, "filter", BOUNDARY_DEFAULTS)):
            if col not in gdf.columns:
                err(f"boundary.filter.{col}", f"boundary.filter.{col}: column '{col}' not found in the "
                    f"buildings; available: {', '.join(map(str, gdf.columns.drop(gdf.geometry.name)))}.")

    # ---- rasters
    rpaths = {k: input_path(base_dir, _get(heights, k, HEIGHTS_DEFAULTS)) for k in ("dsm", "dtm", "ndsm")}
    for key, rp in rpaths.items():
        if rp is None:
            continue
        for msg in raster_problems(rp, f"rasters.{key}"):
            err(f"rasters.{key}", msg)
    if rpaths["dsm"] is not None and rpaths["dtm"] is None and rpaths["ndsm"] is None:
        if cmap is None or "ground_elevation_m" not in cmap.columns:
            err("rasters.dtm", "rasters.dtm: a DSM without a DTM (or a ground elevation column) cannot "
                "give building heights; add the DTM, or an nDSM as rasters.ndsm.", "warning")
    if rpaths["dtm"] is not None and rpaths["dsm"] is None:
        err("rasters.dsm", "rasters.dsm: a DTM without a DSM is not used; add the DSM.", "warning")
    ref = rpaths["ndsm"] or rpaths["dsm"]
    if gdf is not None and ref is not None and not raster_problems(ref, "x"):
        from ..crs import align_to_raster

        try:
            with RasterSource.open(ref) as r, warnings.catch_warnings():
                warnings.simplefilter("ignore", PedgisWarning)
                align_to_raster(gdf, r.crs, r.bounds, ref.name, bpath.name)
        except InputDataError as exc:
            err(f"rasters.{'ndsm' if rpaths['ndsm'] else 'dsm'}", exc)

    # ---- step 1 itself when nothing blocks it: data-quality flags as notes
    if run and not any(p.severity == "error" for p in problems) and storey_height_m is not None:
        try:
            res = run_step1(buildings, boundary, heights, storey_height_m=storey_height_m,
                            default_floors=default_floors, gross_to_conditioned=gross_to_conditioned,
                            base_dir=base_dir, crs=crs, known_uses=known_uses, progress=progress, data=check.data,
                            warn_flags=False)  # flags are notes here; a run counts them on its result
        except ConfigError as exc:
            err(exc.key or "scenario", exc)
        except InputDataError as exc:
            err(str(bpath), exc)
        else:
            check.result = res
            geometry_notes = []
            b = res.buildings
            for text, n in summarise_notes(note for f in b["flags"] if f for note in f.split("; ")):
                if text.startswith(("use '…' not in the use-type map", "use missing")):
                    continue  # reported above with the values
                err(str(bpath), f"{bpath.name}: {n} building(s): {text} (flagged in the output).", "note")
            if len(b) and not b["included"].any():
                why = Counter(r.split(" (")[0].split(": ")[0] for r in b["exclusion_reason"] if r)
                err("boundary", f"boundary: none of the {len(b)} buildings is included in the district (excluded: "
                    + ", ".join(f"{k} ({v})" for k, v in why.most_common(3)) + "), and a PED is made of buildings. "
                    "Check the boundary file, its CRS, the ids / filter, or buildings.use_map.")
            if (b["height_source"] == "default").all() and len(b):
                err("heights", "heights: every building gets a default height (no height or floors "
                    "attribute, no usable raster); name the column (buildings.columns.floors or "
                    ".height_m) or give rasters.dsm and rasters.dtm.", "warning")
    problems.extend(geometry_notes)
    return check


_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")


def _kind(note: str) -> tuple[str, list[str]]:
    """The kind of a flag note (its per-building names and parenthesised details removed) as a
    template with ``{}`` where its numbers were, and those numbers as written."""
    kind = re.sub(r"\([^)]*\)", "", note)
    kind = re.sub(r"'[^']*'", "'…'", kind)
    kind = re.sub(r"\bbuilding \S+ ", "building ", kind)
    kind = re.sub(r"\bid \S+ ", "id ", kind)
    kind = re.sub(r"\s+", " ", kind).replace(" :", ":").strip()
    return _NUMBER.sub("{}", kind.replace("{", "{{").replace("}", "}}")), _NUMBER.findall(kind)


def summarise_notes(notes) -> list[tuple[str, int]]:
    """Flag notes grouped by kind, most frequent first: ``(text, count)``. Numbers that differ
    between the buildings of a kind are shown as their range ("nDSM rises 6.4–9.8 m")."""
    groups: dict[str, list[list[str]]] = {}
    for note in notes:
        template, numbers = _kind(note)
        groups.setdefault(template, []).append(numbers)
    out = []
    for template, rows in groups.items():
        shown = []
        for values in zip(*rows, strict=True):  # one position of the template across the notes
            nums = sorted(set(values), key=float)
            shown.append(nums[0] if len(nums) == 1 else f"{nums[0]}–{nums[-1]}")
        out.append((template.format(*shown), len(rows)))
    return sorted(out, key=lambda x: -x[1])


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """The problems as a table (severity, where, message), errors first."""
    df = pd.DataFrame([vars(p) for p in problems], columns=["severity", "where", "message"])
    return df.sort_values("severity", key=lambda s: np.where(s == "error", 0, 1), kind="stable")
