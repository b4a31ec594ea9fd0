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
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import ConfigError, InputDataError, PedgisError, PedgisWarning
from ..heights import DEFAULT_EDGE_BUFFER_M, DEFAULT_GROUND_THRESHOLD_M, DEFAULT_PERCENTILE
from ..progress import ProgressCallback
from .presets import PEDGIS_USES, UNCONDITIONED, column_problems, map_uses, resolve_columns
from .raster import RasterSource, raster_problems
from .vector import VectorData, read_vector_data

#: Defaults of the keys this module reads (documented in docs/config.md).
BUILDINGS_DEFAULTS = {"layer": None, "crs": None, "encoding": None, "preset": "auto", "columns": {},
                      "use_map": {}, "default_use": None, "group_parts": True}
BOUNDARY_DEFAULTS = {"type": None, "path": None, "layer": None, "crs": None, "rule": "centroid",
                     "min_share_inside": 0.5, "members": None, "filter": None, "member_uses": None,
                     "virtual_assets": []}
HEIGHTS_DEFAULTS = {"dsm": None, "dtm": None, "ndsm": None, "percentile": DEFAULT_PERCENTILE,
                    "edge_buffer_m": DEFAULT_EDGE_BUFFER_M, "ground_threshold_m": DEFAULT_GROUND_THRESHOLD_M,
                    "tile_size": 2048}


@dataclass
class Problem:
    """One input problem: ``severity`` (``error`` stops a run, ``warning`` does not), where it is
    (file, column or key path) and the message with its fix."""

    severity: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def _get(section: Mapping | None, key: str, defaults: dict):
    if section is None:
        return defaults.get(key)
    value = section.get(key, None) if hasattr(section, "get") else getattr(section, key, None)
    return defaults.get(key) if value is None else value


def _path(base_dir: Path, p) -> Path | None:
    if p in (None, ""):
        return None
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
                      base_dir: str | Path = ".", crs: str | None = None) -> Step1Inputs:
    """Read the footprints and the boundary, open the rasters.

    Parameters
    ----------
    buildings, boundary, heights : the scenario sections
    base_dir : folder relative paths are resolved against (the scenario file's folder)
    crs : CRS for a buildings file without one (e.g. from a command-line option; wins over
        ``buildings.crs``)
    """
    base_dir = Path(base_dir)
    bpath = _path(base_dir, _get(buildings, "path", {}))
    if bpath is None:
        raise ConfigError("missing: give the footprint file (Shapefile, GeoPackage, GeoJSON, "
                          "FlatGeobuf or GML).", key="buildings.path")
    vd = read_vector_data(bpath, layer=_get(buildings, "layer", BUILDINGS_DEFAULTS),
                          crs=crs or _get(buildings, "crs", BUILDINGS_DEFAULTS),
                          encoding=_get(buildings, "encoding", BUILDINGS_DEFAULTS), what="buildings")
    vd.gdf.attrs["pedgis_read"] = {"messages": list(vd.messages), "encoding": vd.encoding,
                                   "encoding_source": vd.encoding_source, "path": str(vd.path)}
    inputs = Step1Inputs(buildings=vd, messages=list(vd.messages))
    ppath = _path(base_dir, _get(boundary, "path", BOUNDARY_DEFAULTS))
    if ppath is not None:
        bd = read_vector_data(ppath, layer=_get(boundary, "layer", BOUNDARY_DEFAULTS),
                              crs=_get(boundary, "crs", BOUNDARY_DEFAULTS), what="boundary")
        inputs.boundary = bd.gdf
        inputs.messages.extend(bd.messages)
    try:
        for key in ("dsm", "dtm", "ndsm"):
            rp = _path(base_dir, _get(heights, key, HEIGHTS_DEFAULTS))
            if rp is not None:
                setattr(inputs, key, RasterSource.open(rp, what=f"rasters.{key}"))
    except PedgisError:
        inputs.close()
        raise
    return inputs


def scenario_sections(doc: Mapping) -> tuple[dict, dict, dict]:
    """The ``buildings``, ``boundary`` and ``heights`` mappings of this module from a validated
    scenario document (:attr:`pedgis.config.Scenario.doc`).

    * ``[rasters]`` paths (dsm, dtm, ndsm) join the heights mapping;
    * a geographical boundary without a polygon file takes every building (``none``);
    * ``boundary.members`` are the functional boundary's ids; a functional boundary without
      members or filter takes the buildings the heat-network systems serve (their ``buildings``
      and ``uses``; every building when one of them is the ``default`` system).
    """
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
        uses: list[str] = []
        everyone = False
        for s in (doc.get("systems") or {}).values():
            if isinstance(s, Mapping) and s.get("network"):
                ids += [str(x) for x in s.get("buildings") or []]
                uses += [str(x) for x in s.get("uses") or []]
                everyone |= bool(s.get("default"))
        if everyone:
            bnd["type"] = "none"
        else:
            bnd["members"] = list(dict.fromkeys(ids)) or None
            bnd["member_uses"] = list(dict.fromkeys(uses)) or None
    h = {**(doc.get("heights") or {}), **{k: v for k, v in (doc.get("rasters") or {}).items() if v is not None}}
    return b, bnd, h


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
              progress: ProgressCallback | None = None):
    """Open the step-1 inputs, run :func:`pedgis.boundaries.prepare_district`, close them.

    Returns
    -------
    Step1Result (its ``messages`` include the reading decisions: encoding, CRS, layers)
    """
    from ..boundaries import prepare_district

    kw = prepare_kwargs(buildings, boundary, heights)
    with load_step1_inputs(buildings, boundary, heights, base_dir, crs=crs) as inp:
        res = prepare_district(
            inp.buildings.gdf, boundary=inp.boundary, storey_height_m=storey_height_m,
            default_floors=default_floors, gross_to_conditioned=gross_to_conditioned,
            source_name=inp.buildings.path.name, known_uses=known_uses, dsm=inp.dsm, dtm=inp.dtm,
            ndsm=inp.ndsm, progress=progress, **kw)
    extra = [m for m in inp.messages if m not in res.messages]
    res.messages[:0] = extra
    return res


def step1_problems(buildings: Mapping, boundary: Mapping | None = None, heights: Mapping | None = None, *,
                   storey_height_m: dict | None = None, default_floors: dict | None = None,
                   gross_to_conditioned=None, base_dir: str | Path = ".", crs: str | None = None,
                   known_uses=None, run: bool = True) -> list[Problem]:
    """Every problem with the buildings, boundary and raster inputs, in one pass.

    Checks, each independent of the others' failures: the files (exist, readable, layer, CRS,
    encoding), the column mapping, the use values, the geometries (invalid, empty, duplicates,
    3D), the boundary (file, overlap, ids, filter, virtual assets), the rasters (CRS, nodata,
    overlap, a DSM without DTM), the per-use parameters. When the inputs load, step 1 is run
    (``run=True``) and the data-quality flags it raises are summarised as warnings.

    Returns
    -------
    list of :class:`Problem` (empty when everything is fine)
    """
    base_dir = Path(base_dir)
    problems: list[Problem] = []

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

    # ---- buildings file
    gdf = None
    bpath = _path(base_dir, _get(buildings, "path", {}))
    if bpath is None:
        err("buildings.path", "buildings.path: missing; give the footprint file.")
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PedgisWarning)
                vd = read_vector_data(bpath, layer=_get(buildings, "layer", BUILDINGS_DEFAULTS),
                                      crs=crs or _get(buildings, "crs", BUILDINGS_DEFAULTS),
                                      encoding=_get(buildings, "encoding", BUILDINGS_DEFAULTS))
            gdf = vd.gdf
            if vd.encoding_source == "detected":
                err(str(bpath), vd.messages[0], "warning")
        except InputDataError as exc:
            err(str(bpath), exc)

    # ---- columns, uses, geometries
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
        elif cmap is not None and not (kw and kw["default_use"]):
            err("buildings.columns.use", "buildings.columns.use: no use-type column found and no "
                "buildings.default_use; name the column.")
        from ..geometry import repair_geometries

        rep = repair_geometries(gdf.geometry.values)
        kinds = Counter(r.split(" (")[0] for r in rep.reasons if r)
        for kind, n in kinds.items():
            err(str(bpath), f"{bpath.name}: {n} feature(s) with {kind}: they stay in the output as "
                "excluded rows; fix them in the source to include them.", "warning")
        notes = Counter(note.split(" (")[0] for f in rep.flags if f for note in f.split("; "))
        for kind, n in notes.items():  # replaced by the full run's flags below when it runs
            geometry_notes.append(Problem("warning", str(bpath),
                                          f"{bpath.name}: {n} feature(s): {kind} (repaired automatically, flagged)."))
        if cmap is not None and "building_id" in cmap.columns:
            idc = gdf[cmap.columns["building_id"]]
            dup = idc[idc.notna() & idc.duplicated(keep=False)]
            if len(dup):  # replaced by the full run's flags below when it runs
                where = f"buildings.columns.building_id ({cmap.columns['building_id']})"
                geometry_notes.append(Problem("warning", where, (
                    f"{where}: {len(dup)} rows share {dup.nunique()} building id(s) (e.g. "
                    f"{', '.join(map(str, dup.unique()[:5]))}): grouped into one building each (parts or "
                    "duplicates, flagged); set buildings.group_parts = false to keep them apart.")))
            if idc.isna().any():
                err(f"buildings.columns.building_id ({cmap.columns['building_id']})",
                    f"{int(idc.isna().sum())} rows without a building id: ids generated from the row number.",
                    "warning")

    # ---- boundary
    bgdf = None
    ppath = _path(base_dir, _get(boundary, "path", BOUNDARY_DEFAULTS))
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
                have = set(gdf[cmap.columns["building_id"]].astype(str))
                unknown = [str(x) for x in ids if str(x) not in have]
                if unknown:
                    err("boundary.members", f"boundary.members: {len(unknown)} id(s) not found in the buildings: "
                        f"{', '.join(unknown[:20])}. Check them against column {cmap.columns['building_id']}.")
        for col in _as_dict(_get(boundary, "filter", BOUNDARY_DEFAULTS)):
            if col not in gdf.columns:
                err(f"boundary.filter.{col}", f"boundary.filter.{col}: column '{col}' not found in the "
                    f"buildings; available: {', '.join(map(str, gdf.columns.drop(gdf.geometry.name)))}.")

    # ---- rasters
    rpaths = {k: _path(base_dir, _get(heights, k, HEIGHTS_DEFAULTS)) for k in ("dsm", "dtm", "ndsm")}
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

    # ---- a full run when nothing blocks it: data-quality flags as warnings
    if run and not any(p.severity == "error" for p in problems) and storey_height_m is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PedgisWarning)
                res = run_step1(buildings, boundary, heights, storey_height_m=storey_height_m,
                                default_floors=default_floors, gross_to_conditioned=gross_to_conditioned,
                                base_dir=base_dir, crs=crs, known_uses=known_uses)
        except ConfigError as exc:
            err(exc.key or "scenario", exc)
        except InputDataError as exc:
            err(str(bpath), exc)
        else:
            geometry_notes = []
            b = res.buildings
            kinds = Counter()
            for f in b["flags"]:
                for note in (f.split("; ") if f else []):
                    kinds[_kind(note)] += 1
            for kind, n in kinds.most_common():
                if kind.startswith(("use '…' not in the use-type map", "use missing")):
                    continue  # reported above with the values
                err(str(bpath), f"{bpath.name}: {n} building(s): {kind} (flagged in the output).", "warning")
            n_exc = int((~b["included"]).sum())
            if n_exc == len(b):
                err("boundary", "boundary: no building is inside the district boundary; check the "
                    "boundary file, its CRS, or the ids / filter.")
            if (b["height_source"] == "default").all() and len(b):
                err("heights", "heights: every building gets a default height (no height or floors "
                    "attribute, no usable raster); name the column (buildings.columns.floors or "
                    ".height_m) or give rasters.dsm and rasters.dtm.", "warning")
    problems.extend(geometry_notes)
    return problems


def _kind(note: str) -> str:
    """The kind of a flag note, without its per-building numbers and names."""
    kind = re.sub(r"\([^)]*\)", "", note)
    kind = re.sub(r"'[^']*'", "'…'", kind)
    kind = re.sub(r"\b\d+(\.\d+)?\b", "n", kind)
    kind = re.sub(r"\bbuilding \S+ ", "building ", kind)
    kind = re.sub(r"\bid \S+ ", "id ", kind)
    return re.sub(r"\s+", " ", kind).replace(" :", ":").strip()


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """The problems as a table (severity, where, message), errors first."""
    df = pd.DataFrame([vars(p) for p in problems], columns=["severity", "where", "message"])
    return df.sort_values("severity", key=lambda s: np.where(s == "error", 0, 1), kind="stable")
