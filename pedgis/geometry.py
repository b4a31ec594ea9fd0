"""Footprint geometry hygiene: repair what can be repaired, flag every repair, drop nothing.

Real cadastral and 3D-model exports carry self-intersecting rings, multipart buildings, buildings
split over several rows, duplicated rows, empty or zero-area records, sliver holes, Z coordinates
and 3D MultiPolygons (roof and wall surfaces). The functions here keep one row per input record
(or per building id after :func:`group_parts`), write a note for each repair into the ``flags``
text and set an exclusion reason where nothing usable remains, so that the step-1 table can mark
the row ``included = False`` instead of losing it.

All functions work on arrays of shapely geometries and loop in Python only over the rows that need
a repair, so that 200,000 clean footprints pass in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon

#: Below this area [m²] a footprint counts as zero-area and is excluded.
ZERO_AREA_M2 = 0.01
#: Holes smaller than this [m²] are digitising slivers and are filled (larger ones are courtyards).
SLIVER_HOLE_M2 = 1.0
#: Footprints smaller than this [m²] are flagged (kiosks, cabins or digitising errors).
SMALL_FOOTPRINT_M2 = 10.0
#: A footprint narrower than this somewhere [m] (minimum clearance) has a digitising spike or a
#: hairline gap; it is flagged, not changed.
NARROW_M = 0.1
#: Two rows with the same id whose symmetric difference is below this share of the larger area
#: are duplicates (not parts).
DUPLICATE_TOLERANCE = 0.01
#: A Z range below this [m] says nothing about the height (flat 2.5D polygons).
MIN_Z_RANGE_M = 0.5

_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}


def add_flag(flags: pd.Series, mask, note) -> pd.Series:
    """Append ``note`` to the ``flags`` text of the rows selected by ``mask``.

    ``note`` is one text, an array of texts for the selected rows, or an array of texts for all
    rows (of which the selected ones are used); empty notes add nothing.
    """
    mask = np.asarray(mask, dtype=bool)
    out = flags.copy()
    if not mask.any():
        return out
    sel = out[mask].to_numpy(dtype=object)
    notes = np.asarray(note, dtype=object)
    if notes.ndim == 1 and len(notes) == len(mask) and len(notes) != len(sel):
        notes = notes[mask]
    notes = np.broadcast_to(notes, sel.shape)
    joined = np.where(notes == "", sel, np.where(sel == "", notes, sel.astype(object) + "; " + notes.astype(object)))
    out[mask] = joined
    return out


def add_reason(reasons: np.ndarray, mask, reason: str) -> np.ndarray:
    """Append an exclusion ``reason`` to the rows selected by ``mask`` (``"; "``-joined)."""
    mask = np.asarray(mask, dtype=bool)
    out = reasons.copy()
    sel = out[mask]
    out[mask] = np.where(sel == "", reason, sel.astype(object) + "; " + reason)
    return out


def _polygonal_part(geom):
    """The polygonal part of a geometry (None when it has none)."""
    if geom is None or geom.is_empty:
        return None
    tid = shapely.get_type_id(geom)
    if tid in (3, 6):
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if shapely.get_type_id(p) == 6 else [p])
    polys = [p for p in polys if not p.is_empty]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _is_bowtie(geom) -> bool:
    """True for a single polygon without holes whose ring has 4 distinct vertices and crosses itself.

    A MultiPolygon of one part counts as that polygon: QGIS and most converters write shapefile
    polygons to GeoPackage as single-part MultiPolygons.
    """
    if shapely.get_type_id(geom) == 6 and shapely.get_num_geometries(geom) == 1:
        geom = shapely.get_geometry(geom, 0)
    if shapely.get_type_id(geom) != 3 or shapely.get_num_interior_rings(geom) > 0:
        return False
    xy = shapely.get_coordinates(geom.exterior)[:-1]
    distinct = xy[np.r_[True, np.any(np.diff(xy, axis=0) != 0, axis=1)]]
    if len(distinct) != 4:
        return False
    ring = shapely.LineString(np.vstack([distinct, distinct[:1]]))
    return not ring.is_simple


class _Notes:
    """Per-row notes collected in loops and joined once (``add_flag`` per row would be O(n²))."""

    def __init__(self, n: int):
        self.rows: dict[int, list[str]] = {}

    def add(self, i, text: str) -> None:
        self.rows.setdefault(int(i), []).append(text)

    def apply(self, flags: pd.Series) -> pd.Series:
        if not self.rows:
            return flags
        idx = np.fromiter(self.rows, dtype=np.int64)
        mask = np.zeros(len(flags), dtype=bool)
        mask[idx] = True
        texts = np.empty(len(flags), dtype=object)
        texts[:] = ""
        for i, notes in self.rows.items():
            texts[i] = "; ".join(notes)
        return add_flag(flags, mask, texts)


@dataclass
class Repaired:
    """Result of :func:`repair_geometries` (arrays aligned with the input rows)."""

    geometry: np.ndarray  # shapely geometries, 2D, valid where reason == ""
    flags: pd.Series      # "; "-joined notes
    reasons: np.ndarray   # exclusion reason, "" when usable
    z_range_m: np.ndarray  # max z − min z of a 3D geometry [m], NaN when 2D or flat


def repair_geometries(geoms) -> Repaired:
    """Repair footprint geometries without changing their number.

    Per row, in this order: empty or missing geometry → excluded; closed lines → polygons; geometry
    collections → their polygons; points and open lines → excluded; Z coordinates dropped (their
    range kept as a possible height); a 3D MultiPolygon of surfaces (roof, walls, floor) →
    its 2D footprint (union of the non-vertical surfaces); invalid polygons → ``make_valid``
    keeping the polygonal part. Every step that changes a geometry adds a note to ``flags``.

    Parameters
    ----------
    geoms : GeoSeries or array of shapely geometries (any CRS)

    Returns
    -------
    Repaired
    """
    g = np.asarray(getattr(geoms, "values", geoms), dtype=object).copy()
    n = len(g)
    flags = pd.Series([""] * n, dtype=object)
    reasons = np.full(n, "", dtype=object)
    z_range = np.full(n, np.nan)
    if n == 0:
        return Repaired(g, flags, reasons, z_range)
    missing = shapely.is_missing(g)
    g[missing] = None
    empty = missing | shapely.is_empty(g)
    reasons = add_reason(reasons, empty, "empty geometry (no coordinates)")
    ok = ~empty
    notes = _Notes(n)

    tid = np.where(ok, shapely.get_type_id(g), -1)
    # closed lines (DXF/CAD exports) become polygons; open lines and points cannot
    for i in np.flatnonzero(ok & np.isin(tid, (1, 2, 5))):
        poly = shapely.get_parts(shapely.polygonize(shapely.get_parts(g[i])))
        poly = [p for p in poly if p.area > 0]
        if poly:
            g[i] = poly[0] if len(poly) == 1 else MultiPolygon(poly)
            notes.add(i, "closed line converted to a polygon")
        else:
            reasons[i] = f"not a polygon ({_TYPE_NAMES[int(tid[i])]}, not closed)"
    for i in np.flatnonzero(ok & np.isin(tid, (0, 4))):
        reasons[i] = f"not a polygon ({_TYPE_NAMES[int(tid[i])]})"
    for i in np.flatnonzero(ok & (tid == 7)):
        part = _polygonal_part(g[i])
        if part is None:
            reasons[i] = "not a polygon (GeometryCollection without polygons)"
        else:
            g[i] = part
            notes.add(i, "polygons taken from a geometry collection")
    ok = reasons == ""

    # Z coordinates: keep the range as a height hint, flatten 3D surface sets to a footprint
    has_z = np.zeros(n, dtype=bool)
    has_z[ok] = shapely.has_z(g[ok])
    if has_z.any():
        idx = np.flatnonzero(has_z)
        coords, which = shapely.get_coordinates(g[idx], include_z=True, return_index=True)
        zs = pd.Series(coords[:, 2]).groupby(which)
        rng = (zs.max() - zs.min()).reindex(range(len(idx)))
        z_range[idx] = np.where(rng.to_numpy() >= MIN_Z_RANGE_M, rng.to_numpy(), np.nan)
        flat = shapely.force_2d(g[idx])
        dropped = np.ones(len(idx), dtype=bool)
        multi = (shapely.get_type_id(g[idx]) == 6) & (shapely.get_num_geometries(g[idx]) > 1)
        for k in np.flatnonzero(multi):
            i = idx[k]
            geom3 = g[i]
            n_parts = shapely.get_num_geometries(geom3)
            parts2 = shapely.force_2d(shapely.get_parts(geom3))
            parts2 = shapely.make_valid(parts2)
            area = shapely.area(parts2)
            keep = parts2[area > 0]
            union = _polygonal_part(shapely.union_all(keep)) if len(keep) else None
            if union is None:
                reasons[i] = "3D geometry with only vertical surfaces (no footprint)"
                flat[k] = None
                dropped[k] = False
                continue
            summed = float(area.sum())
            if summed > union.area * (1 + 1e-6) or (area <= 0).any():
                flat[k] = union
                notes.add(i, f"3D MultiPolygon of {n_parts} surfaces flattened to its footprint")
                dropped[k] = False
        zmask = np.zeros(n, dtype=bool)
        zmask[idx[dropped]] = True
        flags = add_flag(flags, zmask, "Z coordinates dropped")
        g[idx] = np.where(reasons[idx] == "", flat, None)
    ok = reasons == ""

    # invalid polygons: make_valid, keep the polygonal part
    valid = np.ones(n, dtype=bool)
    valid[ok] = shapely.is_valid(g[ok])
    for i in np.flatnonzero(ok & ~valid):
        why = shapely.is_valid_reason(g[i])
        if _is_bowtie(g[i]):
            # a quadrilateral whose ring crosses itself: two vertices swapped in digitising; the
            # building is the quadrilateral through the same four corners (its convex hull), not
            # the two triangles make_valid would keep
            g[i] = shapely.convex_hull(g[i])
            notes.add(i, f"bow-tie quadrilateral repaired as its convex hull: two vertices swapped ({why})")
            continue
        fixed = _polygonal_part(shapely.make_valid(g[i]))
        if fixed is None or fixed.area <= 0:
            reasons[i] = f"invalid geometry without area after repair ({why})"
            g[i] = None
            continue
        g[i] = fixed
        notes.add(i, f"invalid geometry repaired ({why})")
    return Repaired(g, notes.apply(flags), reasons, z_range)


def finish_geometries(geom: np.ndarray, flags: pd.Series, reasons: np.ndarray,
                      zero_area_m2: float = ZERO_AREA_M2, sliver_hole_m2: float = SLIVER_HOLE_M2,
                      small_footprint_m2: float = SMALL_FOOTPRINT_M2):
    """Area checks in a metric CRS: fill sliver holes, flag multipart and small footprints and
    narrow spikes or gaps, exclude zero-area ones.

    Returns
    -------
    geometry, flags, reasons (new arrays)
    """
    g = geom.copy()
    n = len(g)
    flags = flags.copy()
    reasons = reasons.copy()
    ok = (reasons == "") & ~shapely.is_missing(g)
    if not ok.any():
        return g, flags, reasons
    gi = g[ok]
    idx_ok = np.flatnonzero(ok)
    parts, part_of = shapely.get_parts(gi, return_index=True)
    holes = shapely.get_num_interior_rings(parts)
    rows_with_holes = np.unique(part_of[holes > 0])
    hole_notes = _Notes(n)
    for r in rows_with_holes:
        i = idx_ok[r]
        new_parts, filled = [], 0
        for p in shapely.get_parts(g[i]):
            keep = []
            for ring in p.interiors:
                if Polygon(ring).area < sliver_hole_m2:
                    filled += 1
                else:
                    keep.append(ring)
            new_parts.append(Polygon(p.exterior, keep))
        if filled:
            g[i] = new_parts[0] if len(new_parts) == 1 else MultiPolygon(new_parts)
            hole_notes.add(i, f"{filled} sliver hole(s) under {sliver_hole_m2:g} m² filled")
    flags = hole_notes.apply(flags)
    n_parts = np.zeros(n, dtype=int)
    n_parts[ok] = shapely.get_num_geometries(g[ok])
    multi = ok & (n_parts > 1)
    if multi.any():
        flags = add_flag(flags, multi, np.array([f"multipart footprint ({k} parts)" for k in n_parts[multi]],
                                                dtype=object))
    # spikes and hairline gaps (rectangles, 5 coordinates, cannot have them: skip the cost)
    cand = np.zeros(n, dtype=bool)
    cand[ok] = shapely.get_num_coordinates(g[ok]) > 5
    if cand.any():
        clearance = np.full(n, np.inf)
        clearance[cand] = shapely.minimum_clearance(g[cand])
        narrow = cand & (clearance < NARROW_M)
        if narrow.any():
            flags = add_flag(flags, narrow, np.array(
                [f"narrow spike or gap ({c:.2f} m wide): a digitising error?" for c in clearance[narrow]],
                dtype=object))
    area = np.zeros(n)
    area[ok] = shapely.area(g[ok])
    zero = ok & (area < zero_area_m2)
    reasons[zero] = np.array([f"zero-area footprint ({a:.3g} m²)" for a in area[zero]], dtype=object)
    small = ok & ~zero & (area < small_footprint_m2)
    if small.any():
        flags = add_flag(flags, small, np.array(
            [f"small footprint ({a:.1f} m²): kiosk, cabin or digitising error?" for a in area[small]],
            dtype=object))
    return g, flags, reasons


@dataclass
class Grouped:
    """Result of :func:`group_parts`: one row per building id."""

    rows: np.ndarray        # for each output row, the input row it takes attributes from
    geometry: np.ndarray
    flags: pd.Series
    reasons: np.ndarray
    z_range_m: np.ndarray
    numeric: pd.DataFrame   # area-weighted means of the numeric attributes over the parts
    members: list           # input rows merged into each output row


def group_parts(ids: pd.Series, geom: np.ndarray, flags: pd.Series, reasons: np.ndarray,
                z_range_m: np.ndarray, numeric: pd.DataFrame, use: pd.Series | None = None) -> Grouped:
    """Group rows sharing a building id into one building.

    Rows with the same id are either duplicates (same geometry within
    :data:`DUPLICATE_TOLERANCE`; one copy is kept) or parts of one building (their geometries are
    united). Numeric attributes (floors, heights) become the area-weighted mean over the parts,
    so that footprint × floors equals the sum over the parts; the other attributes come from the
    largest part. Each merge is a flag naming the input rows (1-based) it merged.

    Parameters
    ----------
    ids : building id per row ("" never groups)
    geom, flags, reasons, z_range_m : per row, from :func:`repair_geometries`
    numeric : numeric attributes per row (NaN when missing)
    use : use value per row, to flag parts of different uses
    """
    ids = ids.reset_index(drop=True).astype(str)
    n = len(ids)
    dup = ids.duplicated(keep=False).to_numpy() & (ids != "").to_numpy()
    if not dup.any():
        return Grouped(np.arange(n), geom, flags, reasons, z_range_m, numeric.reset_index(drop=True),
                       [[i] for i in range(n)])
    first = ~ids.duplicated(keep="first").to_numpy() | (ids == "").to_numpy()
    order = np.flatnonzero(first)
    groups = pd.Series(np.arange(n))[dup].groupby(ids[dup].to_numpy()).apply(list).to_dict()
    numeric = numeric.reset_index(drop=True)
    # rows without duplicates pass through as arrays; only the groups are looped over
    out_rows = order.copy()
    out_geom = np.asarray(geom, dtype=object)[order].copy()
    out_flags = np.asarray(flags, dtype=object)[order].copy()
    out_reasons = np.asarray(reasons, dtype=object)[order].copy()
    out_z = np.asarray(z_range_m, dtype=float)[order].copy()
    out_num = numeric.to_numpy(dtype=float)[order].copy()
    members = [[int(i)] for i in order]
    slot = {int(i): k for k, i in enumerate(order) if dup[i]}
    for key, rows in groups.items():
        k = slot[rows[0]]
        members[k] = rows
        usable = [r for r in rows if reasons[r] == "" and geom[r] is not None]
        notes = [flags[r] for r in rows if flags[r]]
        label = ", ".join(str(r + 1) for r in rows)
        if not usable:
            out_z[k] = np.nan
            notes.append(f"{len(rows)} rows with id {key} (rows {label}), none with a usable geometry")
            out_flags[k] = "; ".join(dict.fromkeys(notes))
            continue
        distinct = [usable[0]]
        n_dup = 0
        for r in usable[1:]:
            is_dup = False
            for d in distinct:
                sym = shapely.symmetric_difference(geom[r], geom[d]).area
                if sym <= DUPLICATE_TOLERANCE * max(geom[r].area, geom[d].area):
                    is_dup = True
                    break
            if is_dup:
                n_dup += 1
            else:
                distinct.append(r)
        if len(distinct) == 1:
            merged = geom[distinct[0]]
        else:
            merged = _polygonal_part(shapely.make_valid(shapely.union_all([geom[r] for r in distinct])))
        if n_dup:
            notes.append(f"{n_dup + 1 if len(distinct) == 1 else n_dup} rows with id {key} have the same "
                         f"geometry (duplicates, rows {label}): counted once")
        if len(distinct) > 1:
            notes.append(f"building {key} split over {len(distinct)} rows (rows {label}): parts merged")
        n_empty = len(rows) - len(usable)
        if n_empty:
            notes.append(f"{n_empty} row(s) of building {key} without a usable geometry ignored")
        d_areas = np.array([geom[r].area for r in distinct])
        largest = distinct[int(np.argmax(d_areas))]
        if use is not None:
            uses = [str(use.iloc[r]) for r in distinct if pd.notna(use.iloc[r])]
            if len(set(uses)) > 1:
                notes.append(f"parts with different uses ({', '.join(dict.fromkeys(uses))}): "
                             f"use of the largest part ({use.iloc[largest]}) taken")
        vals = numeric.iloc[distinct].to_numpy(dtype=float)
        w = np.broadcast_to(d_areas[:, None], vals.shape)
        have = np.isfinite(vals)
        wsum = np.where(have, w, 0).sum(axis=0)
        mean = np.where(wsum > 0, np.where(have, vals * w, 0).sum(axis=0) / np.where(wsum > 0, wsum, 1), np.nan)
        out_rows[k] = largest
        out_geom[k] = merged
        out_reasons[k] = ""
        out_z[k] = np.nanmax(z_range_m[usable]) if np.isfinite(z_range_m[usable]).any() else np.nan
        out_num[k] = mean
        out_flags[k] = "; ".join(dict.fromkeys(notes))
    num = pd.DataFrame(out_num.reshape(len(out_rows), numeric.shape[1]), columns=numeric.columns)
    return Grouped(out_rows, out_geom, pd.Series(out_flags, dtype=object), out_reasons, out_z, num, members)


def flagged_count(buildings) -> int:
    """How many buildings carry a data-quality flag: the one count the CLI, the report and the
    GeoPackage's ``flags`` column agree on."""
    if "flags" not in buildings:
        return 0
    return int((buildings["flags"].fillna("").astype(str).str.strip() != "").sum())
