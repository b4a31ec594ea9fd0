"""Step 1: the district boundary and the per-building table (paper §2.1, Fig. 3).

Minimal first version: a generic column mapping, geographical boundary by centroid, floors from
an attribute or a per-use default. Presets, geometry hygiene, functional/virtual boundaries and
heights from rasters extend it (issue 3). The output table's columns are the contract in
``docs/architecture.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import InputDataError

STEP1_COLUMNS = [
    "building_id", "included", "exclusion_reason", "use", "footprint_area_m2", "floors",
    "height_m", "height_source", "floor_area_m2", "flags",
]


@dataclass
class Step1Result:
    """The step-1 table (one row per input building) and the boundary polygon(s)."""

    buildings: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    messages: list[str] = field(default_factory=list)


def add_flag(flags: pd.Series, mask, note: str) -> pd.Series:
    """Append ``note`` to the ``flags`` text of the rows selected by ``mask``."""
    mask = np.asarray(mask, dtype=bool)
    out = flags.copy()
    sel = out[mask]
    out[mask] = np.where(sel == "", note, sel + "; " + note)
    return out


def prepare_district(
    buildings: gpd.GeoDataFrame,
    *,
    columns: dict[str, str],
    boundary: gpd.GeoDataFrame | None = None,
    storey_height_m: dict[str, float],
    default_floors: dict[str, float],
    gross_to_conditioned: float,
    source_name: str = "buildings",
) -> Step1Result:
    """Build the step-1 table from footprints and a geographical boundary.

    Parameters
    ----------
    buildings : footprints in a projected CRS with metre units
    columns : pedgis field → source column (``building_id``, ``use``, ``floors``, ``height_m``,
        and optional ``persons``, ``beds``, ``system``, ``pv_kwp``, ``pv_kwh``, ``name``)
    boundary : polygon(s); a building is included when its centroid falls inside
    storey_height_m, default_floors : per use type [m], [-]
    gross_to_conditioned : conditioned share of gross floor area [-]
    """
    gdf = buildings.copy()
    n = len(gdf)
    out = gpd.GeoDataFrame(index=pd.RangeIndex(n), geometry=gdf.geometry.values, crs=gdf.crs)
    flags = pd.Series([""] * n, dtype=object)

    id_col = columns.get("building_id")
    if id_col:
        if id_col not in gdf.columns:
            raise InputDataError(
                f"{source_name}: column '{id_col}' (buildings.columns.building_id) not found; "
                f"available columns: {', '.join(map(str, gdf.columns.drop('geometry')))}."
            )
        out["building_id"] = gdf[id_col].astype(str).values
    else:
        out["building_id"] = [f"B{i + 1:05d}" for i in range(n)]

    use_col = columns.get("use")
    if use_col not in gdf.columns:
        raise InputDataError(
            f"{source_name}: use-type column '{use_col}' (buildings.columns.use) not found; "
            f"available columns: {', '.join(map(str, gdf.columns.drop('geometry')))}."
        )
    out["use"] = gdf[use_col].astype(str).str.strip().str.lower().values

    out["footprint_area_m2"] = gdf.geometry.area.values
    storey = out["use"].map(storey_height_m).astype(float)

    floors = pd.Series(np.nan, index=out.index)
    height = pd.Series(np.nan, index=out.index)
    source = pd.Series("default", index=out.index, dtype=object)
    if columns.get("height_m") in gdf.columns:
        h = pd.to_numeric(gdf[columns["height_m"]], errors="coerce").where(lambda s: s > 0)
        height = h.reset_index(drop=True)
        source[height.notna()] = "attribute"
    if columns.get("floors") in gdf.columns:
        f = pd.to_numeric(gdf[columns["floors"]], errors="coerce").where(lambda s: s > 0)
        floors = f.reset_index(drop=True)
        source[floors.notna() & height.isna()] = "floors_attribute"
    floors = floors.fillna(np.round(height / storey).clip(lower=1))
    missing = floors.isna()
    floors[missing] = out.loc[missing, "use"].map(default_floors).astype(float)
    flags = add_flag(flags, missing, "floors missing: default for use type")
    height = height.fillna(floors * storey)
    out["floors"] = floors.values
    out["height_m"] = height.values
    out["height_source"] = source.values
    out["floor_area_m2"] = out["footprint_area_m2"] * out["floors"] * gross_to_conditioned

    for field_name in ("persons", "beds", "system", "pv_kwp", "pv_kwh", "name"):
        col = columns.get(field_name)
        if col and col in gdf.columns:
            out[field_name] = gdf[col].values

    if boundary is not None and len(boundary):
        shape = boundary.to_crs(gdf.crs).geometry.union_all()
        inside = out.geometry.centroid.within(shape).values
    else:
        inside = np.ones(n, dtype=bool)
        boundary = gpd.GeoDataFrame(geometry=[out.geometry.union_all().convex_hull], crs=gdf.crs)
    out["included"] = inside
    out["exclusion_reason"] = np.where(inside, "", "centroid outside the geographical boundary")
    out["flags"] = flags.values
    cols = STEP1_COLUMNS + [c for c in out.columns if c not in STEP1_COLUMNS and c != "geometry"]
    return Step1Result(buildings=out[cols + ["geometry"]], boundary=boundary[["geometry"]].copy())
