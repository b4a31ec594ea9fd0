"""Step 1: the district boundary and the per-building table (paper §2.1, Fig. 3).

:func:`prepare_district` turns footprints as read from a cadastral or city-model file into the
step-1 table of ``docs/architecture.md``: one row per input building (rows sharing an id grouped,
nothing dropped silently), in a projected CRS, with the use type, footprint, floors, height, the
source of the height, floor area, whether the building is inside the district and why not, and
data-quality flags.

The paper distinguishes three kinds of PED boundary (§2.1): *geographical* (a spatial perimeter),
*functional* (buildings connected by a network, wherever they are) and *virtual* (generation
units outside the perimeter that the district owns a share of). Geographical selection is by
centroid or by the share of the footprint inside the perimeter; functional selection is by a
list of building ids or an attribute filter; virtual assets are returned in a table of their own
(:attr:`Step1Result.virtual_assets`), reported separately as the paper asks, for the engine to
count where the scenario's boundary allows it.

This module is pure: no file I/O, no printing. Files are read by :mod:`pedgis.io.vector` and
:mod:`pedgis.io.raster` (whose :class:`~pedgis.io.raster.RasterSource` reads windows on demand).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import align_to_raster, check_overlap, ensure_projected, is_metric_projected
from .errors import ConfigError, CRSError, DataQualityWarning, InputDataError
from .geometry import add_flag, finish_geometries, flagged_count, group_parts, repair_geometries
from .heights import (
    DEFAULT_EDGE_BUFFER_M,
    DEFAULT_GROUND_THRESHOLD_M,
    DEFAULT_PERCENTILE,
    floor_area_m2,
    floors_from_height,
    footprint_heights,
)
from .io.citymodel import model_storey_area
from .io.presets import (
    PEDGIS_USES,
    UNCONDITIONED,
    id_labels,
    map_uses,
    parse_number,
    parse_year,
    resolve_columns,
)
from .mixed_use import column_pairs, mixed_uses
from .progress import ProgressCallback, no_progress, scaled

__all__ = ["STEP1_COLUMNS", "Step1Result", "add_flag", "prepare_district", "select_buildings",
           "virtual_assets_table", "BOUNDARY_TYPES", "BOUNDARY_RULES"]

STEP1_COLUMNS = [
    "building_id", "included", "exclusion_reason", "use", "footprint_area_m2", "floors",
    "height_m", "height_source", "floor_area_m2", "flags",
]
BOUNDARY_TYPES = ("geographical", "functional", "virtual", "none")
BOUNDARY_RULES = ("centroid", "share")
#: Storey height [m] used for ``unconditioned`` buildings when the scenario gives none (floor to
#: floor; the value City Energy Analyst uses for its ``floor_height``).
UNCONDITIONED_STOREY_HEIGHT_M = 3.0
#: Plausible ranges; values outside are ignored with a flag.
MAX_HEIGHT_M = 500.0
MAX_FLOORS = 200.0

_OPTIONAL_TEXT = ("name", "system")
_OPTIONAL_NUMBER = ("persons", "beds", "pv_kwp", "pv_kwh")


@dataclass
class Step1Result:
    """The step-1 table (one row per input building) and the boundary polygon(s).

    Attributes
    ----------
    buildings : the step-1 table (``docs/architecture.md``)
    boundary : the district boundary polygon(s), columns ``boundary_type``, ``rule``
    messages : decisions taken (preset, encoding, CRS, counts), one line each
    virtual_assets : off-site assets owned in part by the district (paper §2.1), columns
        ``name``, ``technology``, ``carrier``, ``capacity_kw``, ``annual_kwh``,
        ``owned_share``, ``attributed_kwh``, ``source``; empty when none
    preset : the attribute preset used
    columns : pedgis field → source column actually used
    """

    buildings: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    messages: list[str] = field(default_factory=list)
    virtual_assets: pd.DataFrame = field(default_factory=lambda: virtual_assets_table(None))
    preset: str = "generic"
    columns: dict[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- virtual assets

def virtual_assets_table(assets: Sequence[dict] | None, key: str = "boundary.virtual_assets",
                         first_index: int = 0) -> pd.DataFrame:
    """Off-site generation the district owns a share of (paper §2.1, virtual boundary).

    Parameters
    ----------
    assets : one dict per asset with ``name``, ``technology`` (e.g. ``wind``), ``carrier``
        (e.g. ``electricity``), ``annual_kwh`` [kWh a⁻¹], ``owned_share`` [-] (0 < share ≤ 1),
        optional ``capacity_kw`` [kW] and ``source`` (where the yield comes from)

    Returns
    -------
    DataFrame with ``attributed_kwh = annual_kwh × owned_share`` [kWh a⁻¹]

    Raises
    ------
    ConfigError
        a missing or out-of-range value; the key path names the asset (``…virtual_assets[1].owned_share``)
    """
    cols = ["name", "technology", "carrier", "capacity_kw", "annual_kwh", "owned_share",
            "attributed_kwh", "source"]
    rows = []
    for i, a in enumerate(assets or [], start=first_index):
        k = f"{key}[{i}]"
        if not isinstance(a, dict):
            raise ConfigError("each virtual asset is a table with name, technology, carrier, "
                              "annual_kwh and owned_share.", key=k)
        for req in ("name", "technology", "carrier", "annual_kwh", "owned_share"):
            if a.get(req) in (None, ""):
                raise ConfigError("missing; every virtual asset needs name, technology, carrier, "
                                  "annual_kwh [kWh/a] and owned_share [0–1].", key=f"{k}.{req}")
        try:
            kwh = float(a["annual_kwh"])
            share = float(a["owned_share"])
            cap = float(a["capacity_kw"]) if a.get("capacity_kw") not in (None, "") else np.nan
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"not a number ({exc}).", key=k) from exc
        if not np.isfinite(kwh) or kwh < 0:
            raise ConfigError(f"{kwh} kWh/a: the annual yield must be ≥ 0.", key=f"{k}.annual_kwh")
        if not 0 < share <= 1:
            raise ConfigError(f"{share}: the owned share is a fraction in (0, 1] (e.g. 0.25 for 25 %).",
                              key=f"{k}.owned_share")
        rows.append({"name": str(a["name"]), "technology": str(a["technology"]),
                     "carrier": str(a["carrier"]), "capacity_kw": cap, "annual_kwh": kwh,
                     "owned_share": share, "attributed_kwh": kwh * share,
                     "source": str(a.get("source", ""))})
    return pd.DataFrame(rows, columns=cols)


# ----------------------------------------------------------------------------- selection

def _filter_mask(attrs: pd.DataFrame, flt: dict, source_name: str) -> tuple[np.ndarray, str]:
    mask = np.ones(len(attrs), dtype=bool)
    parts = []
    for col, wanted in flt.items():
        if col not in attrs.columns:
            raise ConfigError(
                f"column '{col}' not found in {source_name}; available columns: "
                f"{', '.join(map(str, attrs.columns))}.", key=f"boundary.filter.{col}")
        values = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
        series = attrs[col]
        if pd.api.types.is_numeric_dtype(series) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            m = series.isin([float(v) for v in values]).to_numpy()
        else:
            m = series.astype(str).str.strip().isin([str(v).strip() for v in values]).to_numpy()
        mask &= m
        parts.append(f"{col} = {', '.join(map(str, values))}")
    return mask, " and ".join(parts)


def select_buildings(geoms, ids: pd.Series, attrs: pd.DataFrame, *, boundary_type: str,
                     boundary_shape=None, rule: str = "centroid", min_share_inside: float = 0.5,
                     member_ids: Sequence[str] | None = None, attribute_filter: dict | None = None,
                     member_uses: Sequence[str] | None = None, uses: pd.Series | None = None,
                     source_name: str = "buildings") -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Which buildings are inside the district boundary.

    Parameters
    ----------
    geoms : footprints (shapely, metric CRS); None for unusable rows
    ids : building id per row
    attrs : source attributes (for the filter)
    boundary_type : ``geographical``, ``functional``, ``virtual`` or ``none``; ``virtual``
        selects like ``geographical`` when ``boundary_shape`` is given, like ``functional``
        when ids or a filter are given, else takes all buildings
    boundary_shape : the geographical perimeter (one shapely geometry, same CRS)
    rule : ``centroid`` (the centroid inside) or ``share`` (at least ``min_share_inside`` of the
        footprint area inside)
    member_ids, attribute_filter, member_uses : functional membership (a building is a member when
        its id is listed, it matches every column of the filter, or its pedgis use type is listed,
        e.g. the use types a heat network serves)
    uses : pedgis use type per row (for ``member_uses``)

    Returns
    -------
    inside : bool per row
    reasons : exclusion reason per row ("" when inside)
    notes : flags per row (e.g. "crosses the boundary: 40 % inside")
    """
    g = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    n = len(g)
    usable = ~(shapely.is_missing(g) | shapely.is_empty(g))
    reasons = np.full(n, "", dtype=object)
    notes = pd.Series([""] * n, dtype=object)
    if boundary_type not in BOUNDARY_TYPES:
        raise ConfigError(f"'{boundary_type}' is not a boundary type; use one of "
                          f"{', '.join(BOUNDARY_TYPES)}.", key="boundary.type")
    if rule not in BOUNDARY_RULES:
        raise ConfigError(f"'{rule}' is not a rule; use 'centroid' or 'share'.", key="boundary.rule")
    if not 0 < float(min_share_inside) <= 1:
        raise ConfigError(f"{min_share_inside}: a share in (0, 1] (e.g. 0.5).",
                          key="boundary.min_share_inside")
    functional = bool(member_ids) or bool(attribute_filter) or bool(member_uses)
    kind = boundary_type
    if boundary_type == "virtual":
        kind = "geographical" if boundary_shape is not None else ("functional" if functional else "none")
    if kind == "geographical":
        if boundary_shape is None:
            raise ConfigError("a geographical boundary needs a polygon file: set `boundary.path` "
                              "(or draw one in the QGIS plugin), or use type = \"functional\" or \"none\".",
                              key="boundary.path")
        shape = boundary_shape
        shapely.prepare(shape)
        idx = np.flatnonzero(usable)
        gu = g[idx]
        full = shapely.contains(shape, gu)
        touch = shapely.intersects(shape, gu)
        partial = touch & ~full
        share = np.where(full, 1.0, 0.0)
        if partial.any():
            pi = np.flatnonzero(partial)
            inter = shapely.area(shapely.intersection(gu[pi], shape))
            share[pi] = inter / shapely.area(gu[pi])
        if rule == "centroid":
            c = shapely.centroid(gu)
            ins = shapely.contains_xy(shape, shapely.get_x(c), shapely.get_y(c))
            why = "centroid outside the geographical boundary"
            out_reason = np.where(ins, "", why)
        else:
            ins = share >= float(min_share_inside) - 1e-9
            out_reason = np.array([
                "" if ok else (f"{s:.0%} of the footprint inside the geographical boundary "
                               f"(minimum {float(min_share_inside):.0%})" if s > 0 else
                               "outside the geographical boundary")
                for ok, s in zip(ins, share, strict=False)], dtype=object)
        inside = np.zeros(n, dtype=bool)
        inside[idx] = ins
        reasons[idx] = out_reason
        cross = np.zeros(n, dtype=bool)
        cross[idx] = partial
        cross_share = np.zeros(n)
        cross_share[idx] = share
        if cross.any():
            notes = add_flag(notes, cross, np.array(
                [f"crosses the district boundary ({s:.0%} of the footprint inside)" for s in cross_share[cross]],
                dtype=object))
        return inside, reasons, notes
    if kind == "functional":
        if not functional:
            raise ConfigError("a functional boundary needs `boundary.members` (a list of building ids) or "
                              "`boundary.filter` (e.g. { heat_network = \"DH1\" }).", key="boundary.members")
        member = np.zeros(n, dtype=bool)
        why = []
        if member_ids:
            wanted = [str(x) for x in member_ids]
            have = set(ids.astype(str))
            unknown = [x for x in wanted if x not in have]
            if unknown:
                shown = ", ".join(unknown[:20]) + (f" … ({len(unknown)} in all)" if len(unknown) > 20 else "")
                raise ConfigError(f"building id(s) not found in {source_name}: {shown}. Check the ids "
                                  "against the building id column (buildings.columns.building_id).",
                                  key="boundary.members")
            member |= ids.astype(str).isin(set(wanted)).to_numpy()
            why.append("id list")
        if attribute_filter:
            m, text = _filter_mask(attrs, attribute_filter, source_name)
            member |= m
            why.append(f"filter {text}")
        if member_uses and uses is not None:
            member |= uses.isin(list(member_uses)).to_numpy()
            why.append(f"use types {', '.join(member_uses)}")
        reasons[:] = np.where(member, "", f"not a member of the functional boundary ({' or '.join(why)})")
        return member, reasons, notes
    return np.ones(n, dtype=bool), reasons, notes


# ----------------------------------------------------------------------------- main

def _hull(geoms: np.ndarray):
    """Convex hull of many footprints (qhull on their vertices; no union needed)."""
    if len(geoms) == 0:
        return shapely.Polygon()
    xy = shapely.get_coordinates(geoms)
    if len(xy) < 3:
        return shapely.convex_hull(shapely.multipoints(xy))
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(xy)
    except QhullError:  # collinear vertices
        return shapely.convex_hull(shapely.multipoints(xy))
    return shapely.Polygon(xy[hull.vertices])


def _per_use(values: pd.Series, table, name: str, unconditioned_default: float | None) -> pd.Series:
    """A per-use parameter (dict use → value, or one number) as a Series; missing uses are an error."""
    if isinstance(table, dict):
        lut = {str(k).lower(): float(v) for k, v in table.items()}
        if UNCONDITIONED not in lut and unconditioned_default is not None:
            lut[UNCONDITIONED] = unconditioned_default
        missing = sorted({u for u in values.dropna().unique() if str(u).lower() not in lut})
        if missing:
            raise ConfigError(f"no value for use type(s) {', '.join(missing)}; add them "
                              f"(e.g. `{missing[0]} = …`).", key=f"heights.{name}")
        bad = [k for k, v in lut.items() if not np.isfinite(v) or v <= 0]
        if bad:
            raise ConfigError(f"must be > 0 (use type {bad[0]}: {lut[bad[0]]}).", key=f"heights.{name}.{bad[0]}")
        return values.astype(str).str.lower().map(lut).astype(float)
    v = float(table)
    if not np.isfinite(v) or v <= 0:
        raise ConfigError(f"must be > 0, got {table}.", key=f"heights.{name}")
    return pd.Series(v, index=values.index, dtype=float)


def prepare_district(
    buildings: gpd.GeoDataFrame,
    *,
    columns: dict[str, str] | None = None,
    boundary: gpd.GeoDataFrame | None = None,
    storey_height_m: dict[str, float] | float,
    default_floors: dict[str, float] | float,
    gross_to_conditioned: float | dict[str, float],
    source_name: str = "buildings",
    preset: str | None = None,
    use_map: dict[str, str] | None = None,
    default_use: str | None = None,
    known_uses: Sequence[str] | None = None,
    boundary_type: str | None = None,
    boundary_rule: str = "centroid",
    min_share_inside: float = 0.5,
    ids: Sequence[str] | None = None,
    attribute_filter: dict | None = None,
    member_uses: Sequence[str] | None = None,
    virtual_assets: Sequence[dict] | None = None,
    dsm=None,
    dtm=None,
    ndsm=None,
    height_percentile: float = DEFAULT_PERCENTILE,
    edge_buffer_m: float = DEFAULT_EDGE_BUFFER_M,
    ground_threshold_m: float = DEFAULT_GROUND_THRESHOLD_M,
    group_by_id: bool = True,
    tile_size: int = 2048,
    progress: ProgressCallback | None = None,
    mixed_use: dict | None = None,
    warn_flags: bool = True,
) -> Step1Result:
    """Build the step-1 table from footprints, a boundary and optionally roof rasters.

    Parameters
    ----------
    buildings : footprints as read (any CRS; a geographic one is projected to UTM with a warning)
    columns : pedgis field → source column overriding the preset (see :mod:`pedgis.io.presets`)
    boundary : perimeter polygon(s) for a geographical boundary
    storey_height_m : per use type (dict) or for all [m] (floor to floor)
    default_floors : per use type (dict) or for all [-], used when neither attributes nor rasters
        give a height
    gross_to_conditioned : conditioned share of the gross floor area [-], one value or per use
    source_name : file name for the messages
    preset : ``inspire``, ``osm``, ``bag``, ``cea``, ``it_catasto``, ``generic`` or None (detect)
    use_map : source use value → pedgis use type, overriding the preset's table
    default_use : use type for missing or unmapped values (flagged); None (default) makes them an
        error listing every such value
    known_uses : the scenario's use types (default: the keys of ``storey_height_m`` plus the
        pedgis defaults)
    boundary_type : ``geographical`` (default when ``boundary`` is given), ``functional``,
        ``virtual`` or ``none`` (default otherwise)
    boundary_rule : ``centroid`` or ``share``
    min_share_inside : minimum footprint share inside the perimeter for the ``share`` rule [-]
    ids, attribute_filter, member_uses : functional boundary members (ids list;
        ``{column: value(s)}``; pedgis use types)
    virtual_assets : off-site assets (see :func:`virtual_assets_table`)
    dsm, dtm, ndsm : :class:`~pedgis.io.raster.RasterSource` (DSM and DTM, or an nDSM)
    height_percentile : percentile of the nDSM in a footprint [%] (low: the eave height, see
        :data:`pedgis.heights.DEFAULT_PERCENTILE`)
    edge_buffer_m : negative buffer against facades and overhanging trees [m]
    ground_threshold_m : nDSM below this is ground [m]
    group_by_id : group rows sharing a building id into one building
    tile_size : raster tile edge for windowed reading [pixels]
    progress : callback ``progress(fraction, message)``
    mixed_use : ``{"uses": [columns], "shares": [columns], "percent": bool}``: several uses per
        building with their shares of the floor area (default: the preset's pairs, CEA's
        1ST_USE/1ST_USE_R …); the table then has ``use_shares`` and ``use`` is the main
        conditioned use (:mod:`pedgis.mixed_use`)

    Returns
    -------
    Step1Result

    Raises
    ------
    InputDataError, ConfigError, CRSError
        with the file, field or key path and the fix

    Notes
    -----
    Height of a building, first available: the height attribute (or roof − ground elevation
    attributes) → nDSM percentile (``ndsm``; DSM − ground elevation attribute:
    ``dsm_minus_ground``) → the Z range of a 3D geometry (``geometry_z``) → floors attribute ×
    storey height (``floors_attribute``) → default floors of the use type × storey height
    (``default``, flagged). Floors: the floors attribute, else ``max(1, round(height / storey
    height))``. Floor area = footprint × floors × gross-to-conditioned factor.
    """
    progress = progress or no_progress
    member_ids = None if ids is None else [str(x) for x in ids]
    assets = virtual_assets_table(virtual_assets)
    gdf, attrs, messages = _footprints(buildings, source_name)
    cmap = resolve_columns(attrs.columns, preset=preset, columns=columns, source_name=source_name)
    messages.extend(cmap.messages)
    col = cmap.columns
    ids, flags = _building_ids(attrs, col, source_name, messages)
    uses_known = list(dict.fromkeys([*(known_uses or []), *(storey_height_m.keys() if isinstance(storey_height_m, dict)
                                                            else []), *PEDGIS_USES]))
    use, use_shares, flags = _building_uses(attrs, cmap, ids, flags, uses_known, mixed_use=mixed_use, use_map=use_map,
                                            default_use=default_use, source_name=source_name, messages=messages)
    numeric, flags = _attribute_numbers(attrs, col, flags)
    progress(0.02, "repairing footprints")
    parts = _grouped(gdf, attrs, ids, use, use_shares, numeric, flags, group_by_id, source_name, messages)
    progress(0.08, "checking coordinate reference systems")
    ref = ndsm if ndsm is not None else dsm
    geom, crs, flags, reasons = _projected(parts, gdf.crs, ref, dtm, source_name, messages)
    usable = reasons == ""
    footprint = np.zeros(parts.n)
    footprint[usable] = shapely.area(geom[usable])
    reasons = _unconditioned_excluded(parts, col, reasons)
    progress(0.12, "selecting the district")
    included, reasons, flags, boundary_gdf = _district_selection(
        geom, usable, crs, parts, reasons, flags, boundary=boundary, boundary_type=boundary_type,
        boundary_rule=boundary_rule, min_share_inside=min_share_inside, member_ids=member_ids,
        attribute_filter=attribute_filter, member_uses=member_uses, source_name=source_name)
    progress(0.15, "heights and floors")
    floors_out = _heights_and_floors(
        parts, geom, usable, footprint, flags, storey_height_m=storey_height_m, default_floors=default_floors,
        gross_to_conditioned=gross_to_conditioned, ref=ref, dsm=dsm, dtm=dtm, ndsm=ndsm,
        height_percentile=height_percentile, edge_buffer_m=edge_buffer_m, ground_threshold_m=ground_threshold_m,
        tile_size=tile_size, progress=progress, messages=messages)
    out = _step1_table(parts, col, geom, usable, crs, included, reasons, footprint, floors_out)
    messages.append(_summary(out, source_name))
    n_flag = flagged_count(out)
    if n_flag and warn_flags:  # a run counts once, on its final table (pedgis.pipeline.run)
        warnings.warn(f"{source_name}: {n_flag} of {parts.n} buildings have data-quality flags (repairs, "
                      "defaults); see the `flags` column.", DataQualityWarning, stacklevel=2)
    progress(1.0, "step 1 done")
    return Step1Result(buildings=out, boundary=boundary_gdf, messages=messages,
                       virtual_assets=assets, preset=cmap.preset,
                       columns=dict(col))


# ----------------------------------------------------------------------------- step 1's stages


@dataclass
class _Grouped:
    """The buildings after grouping the rows that share an id (one row per building)."""

    n: int
    geometry: np.ndarray       # repaired footprints, the input CRS
    z_range_m: np.ndarray      # Z range of a 3D footprint
    attrs: pd.DataFrame        # the source attributes of each building's first row
    ids: pd.Series
    use: pd.Series
    use_shares: pd.Series | None
    numeric: pd.DataFrame      # parsed numbers (area-weighted over the parts)
    flags: pd.Series
    reasons: np.ndarray        # why a building is excluded ("" when it is not)


@dataclass
class _Floors:
    height: np.ndarray
    source: np.ndarray         # where each height comes from (height_source)
    floors: np.ndarray
    floors_source: np.ndarray
    floor_area: np.ndarray
    flags: pd.Series


def _raw(attrs: pd.DataFrame, col: dict, fld: str) -> pd.Series:
    """The source column of a pedgis field (all None when the field has no column)."""
    return attrs[col[fld]] if fld in col else pd.Series([None] * len(attrs), dtype=object)


def _footprints(buildings: gpd.GeoDataFrame, source_name: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[str]]:
    """The footprints as read, checked (features, a CRS), their attributes and the reader's messages."""
    gdf = buildings.reset_index(drop=True)
    if len(gdf) == 0:
        raise InputDataError(f"{source_name}: no features. Check the file and its layer (`buildings.layer`).")
    if gdf.crs is None:
        raise CRSError(f"{source_name}: no coordinate reference system. pedgis never guesses one: "
                       "give `buildings.crs = \"EPSG:xxxx\"` in the scenario.")
    messages: list[str] = []
    read_info = gdf.attrs.get("pedgis_read") if hasattr(gdf, "attrs") else None
    if read_info:
        messages.extend(read_info.get("messages", []))
    return gdf, pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), messages


def _building_ids(attrs: pd.DataFrame, col: dict, source_name: str, messages: list[str]) -> tuple[pd.Series, pd.Series]:
    """Each row's building id (generated, and flagged, where missing) and the flags column."""
    n_in = len(attrs)
    flags = pd.Series([""] * n_in, dtype=object)
    if "building_id" in col:
        sid = id_labels(_raw(attrs, col, "building_id"))  # DBF numeric fields: 12.0 -> "12"
        no_id = (sid == "").to_numpy()
        sid = np.array(sid, dtype=object)  # a writable copy (pandas' arrays may be read-only views)
        sid[no_id] = [f"row{i + 1}" for i in np.flatnonzero(no_id)]
        flags = add_flag(flags, no_id, "no building id: generated from the row number")
        return pd.Series(sid, dtype=object), flags
    messages.append(f"{source_name}: no building id column; ids B00001… generated from the row order.")
    return pd.Series([f"B{i + 1:05d}" for i in range(n_in)], dtype=object), flags


def _building_uses(attrs: pd.DataFrame, cmap, ids: pd.Series, flags: pd.Series, uses_known: list[str], *,
                   mixed_use, use_map, default_use, source_name: str,
                   messages: list[str]) -> tuple[pd.Series, pd.Series | None, pd.Series]:
    """Each row's pedgis use type (and its uses' floor-area shares when it has several)."""
    n_in = len(attrs)
    col = cmap.columns
    pairs, percent = column_pairs(attrs.columns, cmap.preset, mixed_use)
    use_shares = None
    if pairs:  # several uses per building, each with its share of the floor area
        mixed = mixed_uses(attrs, pairs, percent, preset=cmap.preset, known_uses=uses_known, use_map=use_map,
                           default_use=default_use, ids=ids, source_name=source_name)
        use, use_shares = mixed.main, mixed.shares
        flags = add_flag(flags, (mixed.notes != "").to_numpy(), mixed.notes.to_numpy(dtype=object))
        n_mixed = int(use_shares.str.contains(";").sum())
        messages.append(f"{source_name}: uses and their floor-area shares from {', '.join(f'{u}/{sh}' for u, sh in pairs)}"
                        f"{' (percent)' if percent else ''}; {n_mixed} building(s) with several uses, each use's needs "
                        "on its share (use = the main conditioned use).")
    elif "use" in col:
        um = map_uses(_raw(attrs, col, "use"), cmap.preset, uses_known, overrides=use_map, default_use=default_use,
                      source_name=source_name)
        use = um.use
        flags = add_flag(flags, (um.notes != "").to_numpy(), um.notes.to_numpy(dtype=object))
        if um.table:
            messages.append(f"{source_name}: use values translated with the '{um.table}' table of "
                            "pedgis/data/use_type_map.csv.")
        if um.unknown:
            listed = ", ".join(f"'{k}' ({v}×)" for k, v in sorted(um.unknown.items()))
            messages.append(f"{source_name}: use values not in the use-type map, default "
                            f"{default_use} taken (flagged): {listed}. Map them in [buildings.use_map].")
    else:
        if default_use is None:
            raise ConfigError(f"{source_name} has no use-type column the preset knows; name it "
                              "(buildings.columns.use = \"COLUMN\") or set buildings.default_use.",
                              key="buildings.columns.use")
        use = pd.Series([default_use] * n_in, dtype=object)
        flags = add_flag(flags, np.ones(n_in, bool), f"no use column: default use {default_use}")
        messages.append(f"{source_name}: no use-type column; every building gets {default_use} (flagged).")
    return use, use_shares, flags


def _attribute_numbers(attrs: pd.DataFrame, col: dict, flags: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Heights, floors, elevations and the optional numbers parsed; bad or implausible values flagged."""
    n_in = len(attrs)
    numeric = pd.DataFrame(index=range(n_in))
    for fld, lo, hi in (("height_m", 0.0, MAX_HEIGHT_M), ("floors", 0.0, MAX_FLOORS),
                        ("roof_elevation_m", -1e4, 1e4), ("ground_elevation_m", -1e4, 1e4)):
        if fld in col:
            raw = _raw(attrs, col, fld)
            num, bad = parse_number(raw.reset_index(drop=True))
            if bad.any():
                flags = add_flag(flags, bad.to_numpy(), np.array(
                    [f"{fld} value '{v}' ({col[fld]}) not a number: ignored" for v in raw[bad.to_numpy()]],
                    dtype=object))
            implausible = num.notna() & ((num <= lo) | (num > hi))
            if implausible.any() and fld in ("height_m", "floors"):
                flags = add_flag(flags, implausible.to_numpy(), np.array(
                    [f"{fld} value {v:g} ({col[fld]}) not plausible: ignored" for v in num[implausible]],
                    dtype=object))
                num = num.where(~implausible)
            numeric[fld] = num.to_numpy()
        else:
            numeric[fld] = np.nan
    for fld in _OPTIONAL_NUMBER:
        numeric[fld] = parse_number(_raw(attrs, col, fld).reset_index(drop=True))[0].to_numpy() if fld in col else np.nan
    numeric["year"] = parse_year(_raw(attrs, col, "year")).to_numpy() if "year" in col else np.nan
    return numeric, flags


def _grouped(gdf: gpd.GeoDataFrame, attrs: pd.DataFrame, ids: pd.Series, use: pd.Series, use_shares: pd.Series | None,
             numeric: pd.DataFrame, flags: pd.Series, group_by_id: bool, source_name: str,
             messages: list[str]) -> _Grouped:
    """Footprints repaired (any CRS) and the rows sharing a building id grouped into one building
    (with grouping off, duplicate ids are suffixed #n and flagged)."""
    n_in = len(gdf)
    rep = repair_geometries(gdf.geometry.values)
    flags = add_flag(flags, (rep.flags != "").to_numpy(), rep.flags.to_numpy(dtype=object))
    if not group_by_id:
        dup = ids.duplicated(keep=False).to_numpy()
        if dup.any():
            ids = ids.copy()
            counts: Counter = Counter()
            for i in np.flatnonzero(dup):
                counts[ids[i]] += 1
                ids[i] = f"{ids[i]}#{counts[ids[i]]}"
            flags = add_flag(flags, dup, "duplicate building id: suffixed #n (grouping disabled)")
    grp = group_parts(ids, rep.geometry, flags, rep.reasons, rep.z_range_m, numeric, use=use)
    rows = grp.rows
    m = len(rows)
    if m < n_in:
        messages.append(f"{source_name}: {n_in} rows → {m} buildings (rows sharing a building id grouped).")
    return _Grouped(n=m, geometry=grp.geometry, z_range_m=grp.z_range_m,
                    attrs=attrs.iloc[rows].reset_index(drop=True), ids=ids.iloc[rows].reset_index(drop=True),
                    use=use.iloc[rows].reset_index(drop=True),
                    use_shares=None if use_shares is None else use_shares.iloc[rows].reset_index(drop=True),
                    numeric=grp.numeric, flags=grp.flags.reset_index(drop=True), reasons=grp.reasons)


def _projected(parts: _Grouped, crs_in, ref, dtm, source_name: str, messages: list[str]):
    """Footprints in a metric CRS: the height raster's (checked to overlap it) or a UTM zone.
    Returns the finished geometries, the CRS, the flags and the exclusion reasons."""
    geo = gpd.GeoDataFrame({"_i": np.arange(parts.n)}, geometry=gpd.GeoSeries(parts.geometry, crs=crs_in))
    if ref is None and dtm is not None:
        messages.append("a DTM without a DSM cannot give heights; it is not used (give heights.dsm too).")
    if ref is not None:
        if ref.crs is None or not is_metric_projected(ref.crs):
            raise CRSError(f"{ref.name}: the raster must be in a projected CRS in metres (it is in "
                           f"{ref.crs.to_string() if ref.crs else 'no CRS'}); warp it with `gdalwarp -t_srs EPSG:xxxx`.")
        geo = align_to_raster(geo, ref.crs, ref.bounds, ref.name, source_name, messages)
    else:
        geo = ensure_projected(geo, source_name, messages)
    geom, flags, reasons = finish_geometries(geo.geometry.values.to_numpy() if hasattr(geo.geometry.values, "to_numpy")
                                             else np.asarray(geo.geometry.values, dtype=object),
                                             parts.flags, parts.reasons)
    return geom, geo.crs, flags, reasons


def _unconditioned_excluded(parts: _Grouped, col: dict, reasons: np.ndarray) -> np.ndarray:
    """Garages, sheds, storage and ruins (use ``unconditioned``) are excluded, with the source value."""
    uncond = (parts.use == UNCONDITIONED).to_numpy()
    if uncond.any():
        src_use = parts.attrs[col["use"]].astype(str).to_numpy() if "use" in col else np.full(parts.n, "")
        for i in np.flatnonzero(uncond):
            reasons[i] = (reasons[i] + "; " if reasons[i] else "") + \
                f"unconditioned use ('{src_use[i]}': garage, shed, storage or ruin)"
    return reasons


def _district_selection(geom: np.ndarray, usable: np.ndarray, crs, parts: _Grouped, reasons: np.ndarray,
                        flags: pd.Series, *, boundary, boundary_type, boundary_rule, min_share_inside, member_ids,
                        attribute_filter, member_uses, source_name: str):
    """The boundary (paper §2.1) and which buildings it includes. Returns ``included``, the
    reasons and flags, and the boundary GeoDataFrame (``boundary_type``, ``rule``)."""
    btype = boundary_type or ("geographical" if boundary is not None and len(boundary) else "none")
    shape = None
    boundary_gdf = None
    if boundary is not None and len(boundary) and btype in ("geographical", "virtual"):
        if boundary.crs is None:
            raise CRSError("the boundary file has no coordinate reference system; add its .prj or "
                           "give `boundary.crs = \"EPSG:xxxx\"`.")
        bnd = boundary.to_crs(crs)
        rb = repair_geometries(bnd.geometry.values)
        polys = [p for p, r in zip(rb.geometry, rb.reasons, strict=False) if r == "" and p is not None]
        if not polys:
            raise InputDataError("the boundary file has no usable polygon (empty or not polygons); "
                                 "check `boundary.path` and `boundary.layer`.")
        shape = shapely.union_all(polys)
        boundary_gdf = gpd.GeoDataFrame(geometry=[shape], crs=crs)
        check_overlap(gpd.GeoDataFrame(geometry=geom[usable], crs=crs), boundary_gdf, source_name,
                      "the boundary")
    inside, b_reasons, b_notes = select_buildings(
        geom, parts.ids, parts.attrs, boundary_type=btype, boundary_shape=shape, rule=boundary_rule,
        min_share_inside=min_share_inside, member_ids=member_ids,
        attribute_filter=attribute_filter, member_uses=member_uses, uses=parts.use, source_name=source_name)
    reasons = np.array([a if not b else (f"{a}; {b}" if a else b) for a, b in zip(reasons, b_reasons, strict=False)],
                       dtype=object)
    flags = add_flag(flags, (b_notes != "").to_numpy(), b_notes.to_numpy(dtype=object))
    included = reasons == ""
    if boundary_gdf is None:
        if btype in ("functional", "virtual") and (member_ids or attribute_filter or member_uses):
            members = geom[included & usable]
            shape_out = shapely.union_all(members) if len(members) else shapely.Polygon()
            rule_out = "member footprints"
        else:
            shape_out = _hull(geom[usable])
            rule_out = "convex hull of all footprints"
        boundary_gdf = gpd.GeoDataFrame(geometry=[shape_out], crs=crs)
    else:
        rule_out = boundary_rule if boundary_rule == "centroid" else f"share >= {float(min_share_inside):g}"
    boundary_gdf.insert(0, "boundary_type", btype)
    boundary_gdf.insert(1, "rule", rule_out)
    return included, reasons, flags, boundary_gdf


def _heights_and_floors(parts: _Grouped, geom: np.ndarray, usable: np.ndarray, footprint: np.ndarray,
                        flags: pd.Series, *, storey_height_m, default_floors, gross_to_conditioned, ref, dsm, dtm,
                        ndsm, height_percentile, edge_buffer_m, ground_threshold_m, tile_size,
                        progress: ProgressCallback, messages: list[str]) -> _Floors:
    """Each building's height (first available: attribute, roof − ground elevation, a city
    model's parts, nDSM, DSM − ground elevation, 3D geometry, floors × storey height, default),
    floors and floor area (docstring of :func:`prepare_district`)."""
    use, num, m = parts.use, parts.numeric, parts.n
    storey = _per_use(use, storey_height_m, "storey_height_m", UNCONDITIONED_STOREY_HEIGHT_M).to_numpy()
    dfl = _per_use(use, default_floors, "default_floors", 1.0).to_numpy()
    g2c = _per_use(use, gross_to_conditioned, "gross_to_conditioned", 1.0).to_numpy()
    if (g2c > 1).any():
        raise ConfigError(f"the gross-to-conditioned factor is a share ≤ 1, got {g2c.max():g}.",
                          key="heights.gross_to_conditioned")
    h_attr = num["height_m"].to_numpy(dtype=float)
    f_attr = num["floors"].to_numpy(dtype=float)
    height = h_attr.copy()
    source = np.where(np.isfinite(height), "attribute", "").astype(object)
    h_rg = num["roof_elevation_m"].to_numpy(dtype=float) - num["ground_elevation_m"].to_numpy(dtype=float)
    bad_rg = np.isfinite(h_rg) & ((h_rg <= 0) | (h_rg > MAX_HEIGHT_M))
    flags = add_flag(flags, bad_rg & ~np.isfinite(height), np.array(
        [f"roof − ground elevation = {v:.1f} m not plausible: ignored" for v in h_rg[bad_rg & ~np.isfinite(height)]],
        dtype=object))
    h_rg[bad_rg] = np.nan
    fill = ~np.isfinite(height) & np.isfinite(h_rg)
    height[fill] = h_rg[fill]
    source[fill] = "attribute"

    # storeys summed over a height field (nDSM pixels, 3D model parts): pedgis.heights.field_storey_area
    storey_area, model_flags, storeys_given = model_storey_area(parts.attrs, storey)
    flags = add_flag(flags, model_flags != "", model_flags)
    source[np.isfinite(storey_area) & (source == "attribute")] = "city_model"
    need = usable & ~np.isfinite(height)
    if ref is not None and need.any():
        surface, ground_r, ground_el, src_name = ref, None, None, "ndsm"
        if ndsm is None:
            if dtm is not None:
                ground_r = dtm.warped_to(dsm)
                if ground_r is not dtm:
                    messages.append(f"{dtm.name} is on another grid than {dsm.name}: resampled onto the "
                                    "DSM grid (bilinear) for the nDSM = DSM − DTM.")
            else:
                ge = num["ground_elevation_m"].to_numpy(dtype=float)
                has_ge = np.isfinite(ge)
                if not (need & has_ge).any():
                    messages.append(f"{dsm.name}: a DSM without a DTM (heights.dtm) or a ground "
                                    "elevation attribute (buildings.columns.ground_elevation_m) cannot "
                                    "give heights; it is not used for them.")
                    surface = None
                else:
                    no_ge = need & ~has_ge
                    if no_ge.any():
                        flags = add_flag(flags, no_ge, "no ground elevation for DSM − ground")
                    need = need & has_ge
                    ground_el = ge[need]
                    src_name = "dsm_minus_ground"
        if surface is not None:
            idx = np.flatnonzero(need)
            fh = footprint_heights(geom[idx], surface, ground_r, ground_el, percentile=height_percentile,
                                   edge_buffer_m=edge_buffer_m, ground_threshold_m=ground_threshold_m,
                                   tile_size=tile_size, storey_height_m=storey[idx],
                                   progress=scaled(progress, 0.15, 0.95))
            sel = np.zeros(m, dtype=bool)
            sel[idx] = True
            flags = add_flag(flags, sel, fh.notes)
            got = np.isfinite(fh.height_m)
            storey_area[idx[got]] = fh.storey_area_m2[got]
            height[idx[got]] = fh.height_m[got]
            source[idx[got]] = src_name
            messages.append(f"heights from {surface.name}{' − ' + ground_r.name if ground_r is not None else ''}: "
                            f"{int(got.sum())} of {len(idx)} buildings measured "
                            f"(p{height_percentile:g}, edge buffer {edge_buffer_m:g} m).")
    z = parts.z_range_m
    fill = ~np.isfinite(height) & np.isfinite(z)
    height[fill] = z[fill]
    source[fill] = "geometry_z"
    fill = ~np.isfinite(height) & np.isfinite(f_attr)
    height[fill] = f_attr[fill] * storey[fill]
    source[fill] = "floors_attribute"
    dflt = ~np.isfinite(height)
    height[dflt] = dfl[dflt] * storey[dflt]
    source[dflt] = "default"
    if dflt.any():
        flags = add_flag(flags, dflt, np.array(
            [f"height and floors unknown: default {d:g} floors for use {u}"
             for d, u in zip(dfl[dflt], use.to_numpy()[dflt], strict=False)], dtype=object))
    floors = np.where(np.isfinite(f_attr), f_attr, floors_from_height(height, storey))
    floors[dflt] = dfl[dflt]
    measured = np.isin(source, ["attribute", "ndsm", "dsm_minus_ground", "geometry_z"])
    disagree = measured & np.isfinite(f_attr) & (np.abs(f_attr * storey - height) > 2 * storey)
    if disagree.any():
        flags = add_flag(flags, disagree, np.array(
            [f"floors attribute ({f:g}) disagrees with the height ({h:.1f} m, {s})"
             for f, h, s in zip(f_attr[disagree], height[disagree], source[disagree], strict=False)], dtype=object))
    floors_source = np.where(np.isfinite(f_attr), "attribute", np.where(dflt, "default", "height"))
    field = np.isfinite(storey_area) & ~np.isfinite(f_attr) & ~dflt & (footprint > 0)
    mean_storeys = storey_area[field] / footprint[field]
    floors[field] = np.where(np.abs(mean_storeys - np.round(mean_storeys)) < 1e-6, np.round(mean_storeys),
                             mean_storeys)  # whole storeys stay whole (no rounding noise)
    floors_source = floors_source.astype(object)
    floors_source[field] = np.where(storeys_given[field], "attribute", "height_field")
    return _Floors(height=height, source=source, floors=floors, floors_source=floors_source,
                   floor_area=floor_area_m2(footprint, floors, g2c), flags=flags)


def _step1_table(parts: _Grouped, col: dict, geom: np.ndarray, usable: np.ndarray, crs, included: np.ndarray,
                 reasons: np.ndarray, footprint: np.ndarray, fl: _Floors) -> gpd.GeoDataFrame:
    """The step-1 table (docs/architecture.md), its columns in the contract's order."""
    num = parts.numeric
    out = gpd.GeoDataFrame({
        "building_id": parts.ids.to_numpy(dtype=object),
        "included": included,
        "exclusion_reason": reasons,
        "use": parts.use.to_numpy(dtype=object),
        **({} if parts.use_shares is None else {"use_shares": parts.use_shares.to_numpy(dtype=object)}),
        "footprint_area_m2": footprint,
        "floors": fl.floors.astype(float),
        "height_m": fl.height.astype(float),
        "height_source": fl.source,
        "floor_area_m2": fl.floor_area,
        "flags": fl.flags.to_numpy(dtype=object),
        "floors_source": fl.floors_source,
    }, geometry=gpd.GeoSeries(np.where(usable, geom, None), crs=crs), crs=crs)
    if np.isfinite(num["year"]).any():
        out["year"] = num["year"].to_numpy()
    for fld in _OPTIONAL_NUMBER:
        if fld in col:
            out[fld] = num[fld].to_numpy()
    for fld in _OPTIONAL_TEXT:
        if fld in col:
            out[fld] = parts.attrs[col[fld]].to_numpy(dtype=object)
    cols = STEP1_COLUMNS + [c for c in out.columns if c not in STEP1_COLUMNS and c != "geometry"]
    return out[cols + ["geometry"]]


def _summary(out: gpd.GeoDataFrame, source_name: str) -> str:
    """One line: buildings, included, why the others are excluded, where the heights come from."""
    reasons = out["exclusion_reason"]
    why = Counter(r.split(" (")[0].split(": ")[0] for r in reasons if r)
    return (f"{source_name}: {len(out)} buildings, {int(out['included'].sum())} included"
            + (f"; excluded: {', '.join(f'{k} ({v})' for k, v in why.most_common())}" if why else "")
            + f"; height sources: {', '.join(f'{k} {v}' for k, v in Counter(out['height_source']).most_common())}.")
