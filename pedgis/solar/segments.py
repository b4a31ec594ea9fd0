"""Roof planes (segments): connected roof pixels of one building with similar slope and aspect.

A pixel's class is ``flat`` (slope below the flat threshold) or the pair (aspect sector,
slope band); a segment is a 4-connected set of pixels of the same building and class. Segments
become polygons (layer ``roof_segments``: ``building_id``, ``segment_id``, ``tilt``, ``azimuth``,
``area_m2``, ``irradiation_kwh_m2``, ``usable``, ``usable_area_m2``, ``pv_kwp``, ``pv_kwh``).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pandas as pd

SEGMENT_COLUMNS = [
    "building_id", "segment_id", "roof_type", "tilt", "azimuth", "module_tilt", "module_azimuth",
    "area_m2", "irradiation_kwh_m2", "usable", "usable_area_m2", "pv_kwp", "pv_kwh",
]


@nb.njit(cache=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@nb.njit(cache=True)
def _label_equal(code, mask):
    """4-connected components of equal ``code`` within ``mask``; labels 1…n, 0 outside."""
    h, w = code.shape
    parent = np.arange(h * w)
    for r in range(h):
        for c in range(w):
            if not mask[r, c]:
                continue
            i = r * w + c
            if c > 0 and mask[r, c - 1] and code[r, c - 1] == code[r, c]:
                a, b = _find(parent, i), _find(parent, i - 1)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            if r > 0 and mask[r - 1, c] and code[r - 1, c] == code[r, c]:
                a, b = _find(parent, i), _find(parent, i - w)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    out = np.zeros((h, w), dtype=np.int32)
    lab = np.zeros(h * w, dtype=np.int32)
    n = 0
    for r in range(h):
        for c in range(w):
            if not mask[r, c]:
                continue
            root = _find(parent, r * w + c)
            if lab[root] == 0:
                n += 1
                lab[root] = n
            out[r, c] = lab[root]
    return out


@nb.njit(cache=True)
def _absorb_small(labels, bid, counts, min_pixels, passes):
    """Give the pixels of segments smaller than ``min_pixels`` the label of a 4-neighbour of
    the same building in a large segment (ridge and edge pixels whose Horn slope mixes two
    planes); repeated so that a small segment is eaten from its border inwards."""
    h, w = labels.shape
    for _ in range(passes):
        changed = 0
        new = labels.copy()
        for r in range(h):
            for c in range(w):
                lab = labels[r, c]
                if lab == 0 or counts[lab] >= min_pixels:
                    continue
                best = 0
                best_n = 0
                for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                    rr = r + dr
                    cc = c + dc
                    if rr < 0 or cc < 0 or rr >= h or cc >= w:
                        continue
                    nl = labels[rr, cc]
                    if nl == 0 or nl == lab or bid[rr, cc] != bid[r, c]:
                        continue
                    if counts[nl] >= min_pixels and counts[nl] > best_n:
                        best = nl
                        best_n = counts[nl]
                if best > 0:
                    new[r, c] = best
                    changed += 1
        labels[:, :] = new
        if changed == 0:
            break
        counts[:] = 0
        for r in range(h):
            for c in range(w):
                counts[labels[r, c]] += 1
    return labels


def _thin_labels(labels, counts):
    """Labels with no interior pixel (all four neighbours the same label): one-pixel-wide lines,
    the pixels on a ridge, hip or valley whose slope window spans two planes."""
    p = np.pad(labels, 1)
    inner = labels > 0
    for dr, dc in ((0, 1), (2, 1), (1, 0), (1, 2)):
        inner &= p[dr:dr + labels.shape[0], dc:dc + labels.shape[1]] == labels
    has_inner = np.bincount(labels[inner].ravel(), minlength=len(counts)) > 0
    thin = ~has_inner
    thin[0] = False
    return np.flatnonzero(thin & (counts > 0))


def label_segments(bid, mask, slope, aspect, flat_max_slope, aspect_step=45.0, slope_step=20.0,
                   min_pixels=8, return_absorbed=False):
    """Label roof planes.

    Parameters
    ----------
    bid : ndarray int (rows, cols)
        Building index per pixel (-1 none).
    mask : ndarray bool
        Roof pixels to label.
    slope, aspect : ndarray [°]
    flat_max_slope : float
        Below this slope [°] a pixel is flat.
    aspect_step, slope_step : float
        Width of the aspect sectors and slope bands [°].

    return_absorbed : bool
        Also return the pixels that joined a neighbouring plane (small or one-pixel-wide
        segments: ridges, hips, valleys, slivers).

    Returns
    -------
    ndarray int32
        Segment label per pixel, 1…n, 0 outside ``mask`` (and the absorbed pixels, bool).
    """
    n_asp = int(round(360.0 / aspect_step))
    sl = np.nan_to_num(slope, nan=0.0)
    asp_cls = (np.floor(((np.nan_to_num(aspect) + aspect_step / 2.0) % 360.0) / aspect_step)).astype(np.int64) % n_asp
    slope_cls = np.floor(sl / slope_step).astype(np.int64)
    cls = np.where(sl < flat_max_slope, 0, 1 + asp_cls + n_asp * slope_cls)
    code = bid.astype(np.int64) * 100000 + cls
    labels = _label_equal(code, mask)
    counts = np.bincount(labels.ravel()).astype(np.int64)
    counts[0] = 0
    counts[_thin_labels(labels, counts)] = 0  # ridge, hip and valley lines join their planes
    before = labels.copy()
    labels = _absorb_small(labels, bid.astype(np.int64), counts, int(min_pixels), 50)
    absorbed = labels != before
    # consecutive labels again
    used = np.unique(labels)
    used = used[used > 0]
    remap = np.zeros(int(labels.max()) + 1, dtype=np.int32)
    remap[used] = np.arange(1, len(used) + 1, dtype=np.int32)
    return (remap[labels], absorbed) if return_absorbed else remap[labels]


def adopt_plane_orientation(labels, absorbed, slope, aspect):
    """Slope and aspect of absorbed pixels set to their plane's (mean slope, circular mean
    aspect of the plane's own pixels): a ridge pixel's Horn window spans two planes and reads as
    flat, but the pixel lies on the plane it joined."""
    if not absorbed.any():
        return slope, aspect
    n = int(labels.max()) + 1
    own = (labels > 0) & ~absorbed & np.isfinite(slope) & np.isfinite(aspect)
    lab = labels[own]
    cnt = np.bincount(lab, minlength=n)
    mean_sl = np.bincount(lab, weights=slope[own], minlength=n) / np.maximum(cnt, 1)
    mean_az = _circmean_deg(aspect[own].astype(np.float64), np.ones(lab.size), lab, n)
    take = absorbed & (cnt[labels] > 0)
    slope, aspect = slope.copy(), aspect.copy()
    slope[take] = mean_sl[labels[take]]
    aspect[take] = mean_az[labels[take]]
    return slope, aspect


def _circmean_deg(angles, weights, groups, n):
    s = np.bincount(groups, weights=weights * np.sin(np.radians(angles)), minlength=n)
    c = np.bincount(groups, weights=weights * np.cos(np.radians(angles)), minlength=n)
    return np.degrees(np.arctan2(s, c)) % 360.0


def segment_table(labels, transform, pix_seg, pix_b, building_ids, slope, aspect, m_tilt, m_az,
                  flat, roof_area, poa, module_area, params, pv_kwh_by_building, model_columns=None):
    """Polygons and attributes of the roof planes of one window (a GeoDataFrame's rows).

    ``pv_kwh`` of a plane is its building's PV yield shared in proportion to the plane's
    irradiation on its modules (Σ module area × irradiation); ``pv_kwp`` = its module area ×
    efficiency × the PV share of the area. ``model_columns`` (column → value per label, from the
    planes of a 3D model) replace or add columns, the geometry included, instead of outlining
    the pixels.
    """
    import shapely
    from rasterio import features

    n = int(labels.max()) + 1
    if n <= 1:
        return pd.DataFrame(columns=[*SEGMENT_COLUMNS, "geometry"])
    cnt = np.bincount(pix_seg, minlength=n)
    area = np.bincount(pix_seg, weights=roof_area, minlength=n)
    w_irr = np.bincount(pix_seg, weights=poa * roof_area, minlength=n)
    mod = np.bincount(pix_seg, weights=module_area, minlength=n)
    mod_irr = np.bincount(pix_seg, weights=module_area * poa, minlength=n)
    tilt = np.bincount(pix_seg, weights=slope * roof_area, minlength=n) / np.maximum(area, 1e-12)
    azim = _circmean_deg(aspect, roof_area, pix_seg, n)
    mt = np.bincount(pix_seg, weights=m_tilt, minlength=n) / np.maximum(cnt, 1)
    maz = _circmean_deg(m_az, np.ones_like(m_az), pix_seg, n)
    is_flat = np.bincount(pix_seg, weights=flat.astype(float), minlength=n) > cnt / 2
    seg_b = np.zeros(n, dtype=np.int64)
    seg_b[pix_seg] = pix_b
    # share of the building's yield
    b_mod_irr = np.bincount(pix_b, weights=module_area * poa, minlength=int(pix_b.max()) + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(b_mod_irr[seg_b] > 0, mod_irr / b_mod_irr[seg_b], 0.0)
    pv_kwh = share * np.nan_to_num(pv_kwh_by_building[seg_b])
    present = np.nonzero(cnt > 0)[0]
    # polygons: one per label (4-connected ⇒ one outline, with holes if any)
    geoms = {}
    if model_columns is None:
        for geom, val in features.shapes(labels, mask=labels > 0, transform=transform, connectivity=4):
            v = int(val)
            g = shapely.geometry.shape(geom)
            geoms[v] = g if v not in geoms else geoms[v].union(g)
    rows = {
        "building_id": building_ids[seg_b[present]],
        "segment_id": [f"{building_ids[seg_b[k]]}-{j}" for j, k in enumerate(present)],
        "roof_type": np.where(is_flat[present], "flat", "pitched"),
        "tilt": np.where(is_flat[present], tilt[present], tilt[present]),
        "azimuth": np.where(is_flat[present], np.nan, azim[present]),
        "module_tilt": mt[present],
        "module_azimuth": maz[present],
        "area_m2": area[present],
        "irradiation_kwh_m2": w_irr[present] / np.maximum(area[present], 1e-12),
        "usable": mod[present] > 0,
        "usable_area_m2": mod[present],
        "pv_kwp": mod[present] * params.share_pv * params.module_efficiency,
        "pv_kwh": pv_kwh[present],
        "geometry": [geoms.get(int(k)) for k in present],
    }
    for col, values in (model_columns or {}).items():
        rows[col] = np.asarray(values, dtype=object if col == "geometry" else None)[present]
    return pd.DataFrame(rows)


def empty_segments(crs):
    """An empty ``roof_segments`` layer with the right columns."""
    import geopandas as gpd

    return gpd.GeoDataFrame(
        pd.DataFrame({c: pd.Series(dtype=object) for c in SEGMENT_COLUMNS}),
        geometry=gpd.GeoSeries([], crs=crs), crs=crs,
    )
