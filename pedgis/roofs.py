"""Roof planes of 3D building models: plane geometry, rasterisation and the storeys under a roof.

Pure functions over flat coordinate arrays (no file I/O). A set of polygons is held as

* ``coords`` (n, 3) float64: every ring's vertices, each ring closed (first vertex repeated);
* ``ring_start`` (n_rings + 1,): where each ring starts in ``coords``;
* ``poly_ring`` (n_polys + 1,): where each polygon's rings start (the first is the exterior).

Plane of a polygon: Newell's normal of its exterior ring (the area-weighted normal, exact for a
planar ring and a least-squares compromise for a slightly warped one; Sutherland, Sproull &
Schumacker 1974, "A characterization of ten hidden-surface algorithms", ACM Computing Surveys
6(1), p. 15). Tilt = angle of the normal from the vertical, azimuth = direction the plane faces,
clockwise from north (pedgis convention: 180 = south), 3D area = |Newell vector| / 2 minus the
holes, projected (footprint) area = 3D area × cos(tilt).

Rasterisation (:func:`rasterise_planes`): the plane's height at each pixel centre inside its 2D
projection (even–odd rule over all rings); where planes overlap the highest wins, as in a surface
model. Each plane's count of pixel centres inside it (before overlaps) is returned too, so that a
pixel's share of the plane's exact area can be computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

#: Planes steeper than this [°] are walls, not roofs (a "roof" polygon standing vertical is a
#: modelling artefact: it covers no footprint and carries no modules).
MAX_ROOF_TILT_DEG = 85.0


@dataclass
class PlaneGeometry:
    """Per polygon: unit normal (facing up), tilt and azimuth [°], 3D and projected areas [m²],
    the plane ``z = a x + b y + c`` and the mean height of the roof over its projection [m]."""

    normal: np.ndarray  # (n, 3)
    tilt: np.ndarray
    azimuth: np.ndarray
    area_3d: np.ndarray
    area_2d: np.ndarray
    coef: np.ndarray  # (n, 3): a, b, c
    mean_z: np.ndarray
    min_z: np.ndarray
    max_z: np.ndarray
    warp: np.ndarray  # largest distance of a vertex from the plane [m]


def _ring_newell(coords: np.ndarray, ring_start: np.ndarray, origin: np.ndarray):
    """Newell vector (2 × vector area) of each closed ring, coordinates relative to ``origin``."""
    p = coords - origin
    n = len(coords)
    nxt = np.arange(1, n + 1)
    nxt[ring_start[1:] - 1] = ring_start[1:] - 1  # last vertex of a ring: no segment to the next ring
    q = p[np.minimum(nxt, n - 1)]
    cross = np.cross(p, q)
    last = np.zeros(n, dtype=bool)
    last[ring_start[1:] - 1] = True
    cross[last] = 0.0
    starts = ring_start[:-1]
    out = np.add.reduceat(cross, starts, axis=0) if len(starts) else np.zeros((0, 3))
    empty = ring_start[1:] == starts
    out[empty] = 0.0
    return out


def plane_geometry(coords: np.ndarray, ring_start: np.ndarray, poly_ring: np.ndarray) -> PlaneGeometry:
    """Plane, orientation and areas of each polygon (see the module notes).

    Vertical and degenerate polygons get NaN coefficients (``coef``) and tilt ≥ 90°.
    """
    n_poly = len(poly_ring) - 1
    if n_poly == 0:
        z = np.zeros(0)
        return PlaneGeometry(np.zeros((0, 3)), z, z, z, z, np.zeros((0, 3)), z, z, z, z)
    origin = coords[0].copy() if len(coords) else np.zeros(3)
    ring_n = _ring_newell(coords, ring_start, origin)
    ext = poly_ring[:-1]
    nvec = ring_n[ext]
    norm = np.linalg.norm(nvec, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = nvec / norm[:, None]
    up = np.where(unit[:, 2:3] < 0, -unit, unit)  # the side facing the sky
    # holes: their vector areas (whatever their winding) are subtracted from the exterior's
    ring_area = np.linalg.norm(ring_n, axis=1) / 2.0
    poly_of_ring = np.repeat(np.arange(n_poly), np.diff(poly_ring))
    is_ext = np.zeros(len(ring_area), dtype=bool)
    is_ext[ext] = True
    holes = np.bincount(poly_of_ring[~is_ext], weights=ring_area[~is_ext], minlength=n_poly)
    area3 = np.maximum(norm / 2.0 - holes, 0.0)
    nz = np.clip(up[:, 2], -1.0, 1.0)
    tilt = np.degrees(np.arccos(nz))
    az = np.degrees(np.arctan2(up[:, 0], up[:, 1])) % 360.0
    area2 = area3 * np.abs(nz)
    # plane through the exterior ring's vertex centroid: n·(x - x0) = 0  →  z = a x + b y + c
    cnt = np.diff(ring_start)[ext] - 1  # closed rings: the last vertex repeats the first
    v0 = ring_start[ext]
    idx = np.repeat(v0, np.maximum(cnt, 0)) + _ragged_arange(np.maximum(cnt, 0))
    poly_of_v = np.repeat(np.arange(n_poly), np.maximum(cnt, 0))
    cen = np.zeros((n_poly, 3))
    for k in range(3):
        cen[:, k] = np.bincount(poly_of_v, weights=coords[idx, k] - origin[k], minlength=n_poly)
    cen /= np.maximum(cnt, 1)[:, None]
    cen += origin
    ok = np.isfinite(nz) & (nz > 1e-6)
    a = np.where(ok, -up[:, 0] / np.where(ok, nz, 1.0), np.nan)
    b = np.where(ok, -up[:, 1] / np.where(ok, nz, 1.0), np.nan)
    c = cen[:, 2] - a * cen[:, 0] - b * cen[:, 1]
    coef = np.stack([a, b, c], axis=1)
    zs = coords[idx, 2]
    min_z = _group_reduce(np.minimum, zs, poly_of_v, n_poly, np.inf)
    max_z = _group_reduce(np.maximum, zs, poly_of_v, n_poly, -np.inf)
    dist = np.abs(((coords[idx] - cen[poly_of_v]) * up[poly_of_v]).sum(axis=1))
    warp = _group_reduce(np.maximum, np.nan_to_num(dist), poly_of_v, n_poly, 0.0)
    mean_z = _projected_centroid_z(coords, ring_start, poly_ring, coef, cen)
    return PlaneGeometry(up, tilt, az, area3, area2, coef, mean_z, min_z, max_z, warp)


def _ragged_arange(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts


def _group_reduce(ufunc, values, groups, n, fill):
    out = np.full(n, fill, dtype=float)
    ufunc.at(out, groups, values)
    return out


def _projected_centroid_z(coords, ring_start, poly_ring, coef, fallback):
    """Height of each plane at the centroid of its 2D projection (holes included): the mean roof
    height over the projected area, exact for a plane."""
    n_poly = len(poly_ring) - 1
    x = coords[:, 0] - coords[0, 0]
    y = coords[:, 1] - coords[0, 1]
    n = len(coords)
    nxt = np.minimum(np.arange(1, n + 1), n - 1)
    cr = x * y[nxt] - x[nxt] * y
    last = np.zeros(n, dtype=bool)
    last[ring_start[1:] - 1] = True
    cr[last] = 0.0
    ring_of = np.repeat(np.arange(len(ring_start) - 1), np.diff(ring_start))
    poly_of_ring = np.repeat(np.arange(n_poly), np.diff(poly_ring))
    # per ring: |area| and the moments with the same sign; holes subtracted whatever their winding
    ra = np.bincount(ring_of, weights=cr, minlength=len(ring_start) - 1) / 2.0
    rx = np.bincount(ring_of, weights=(x + x[nxt]) * cr, minlength=len(ring_start) - 1) / 6.0
    ry = np.bincount(ring_of, weights=(y + y[nxt]) * cr, minlength=len(ring_start) - 1) / 6.0
    sign = np.where(ra < 0, -1.0, 1.0)
    sign[np.setdiff1d(np.arange(len(ra)), poly_ring[:-1])] *= -1.0
    A = np.bincount(poly_of_ring, weights=ra * sign, minlength=n_poly)
    Mx = np.bincount(poly_of_ring, weights=rx * sign, minlength=n_poly)
    My = np.bincount(poly_of_ring, weights=ry * sign, minlength=n_poly)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.where(np.abs(A) > 1e-12, Mx / A, np.nan) + coords[0, 0]
        cy = np.where(np.abs(A) > 1e-12, My / A, np.nan) + coords[0, 1]
    z = coef[:, 0] * cx + coef[:, 1] * cy + coef[:, 2]
    return np.where(np.isfinite(z), z, fallback[:, 2])


# --------------------------------------------------------------------------- rasterisation


@nb.njit(cache=True)
def _rasterise_kernel(coords, ring_start, poly_ring, coef, order, x0, y0, dx, dy, nrow, ncol,
                      zout, label, counts):
    xs = np.empty(4096)
    for oi in range(order.shape[0]):
        p = order[oi]
        a = coef[p, 0]
        b = coef[p, 1]
        c = coef[p, 2]
        if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(c)):
            continue
        r_0 = poly_ring[p]
        r_1 = poly_ring[p + 1]
        v0 = ring_start[r_0]
        v1 = ring_start[r_1]
        ymin = np.inf
        ymax = -np.inf
        for v in range(v0, v1):
            yv = coords[v, 1]
            if yv < ymin:
                ymin = yv
            if yv > ymax:
                ymax = yv
        # rows whose centre lies in [ymin, ymax]: centre y = y0 - (r + 0.5) dy
        rlo = int(np.ceil((y0 - ymax) / dy - 0.5))
        rhi = int(np.floor((y0 - ymin) / dy - 0.5))
        if rlo < 0:
            rlo = 0
        if rhi > nrow - 1:
            rhi = nrow - 1
        for r in range(rlo, rhi + 1):
            yc = y0 - (r + 0.5) * dy
            m = 0
            for ri in range(r_0, r_1):
                s = ring_start[ri]
                e = ring_start[ri + 1]
                for v in range(s, e - 1):
                    ya = coords[v, 1]
                    yb = coords[v + 1, 1]
                    if (ya <= yc) != (yb <= yc):  # half-open rule: each crossing counted once
                        xa = coords[v, 0]
                        xb = coords[v + 1, 0]
                        if m < xs.shape[0]:
                            xs[m] = xa + (yc - ya) * (xb - xa) / (yb - ya)
                            m += 1
            if m < 2:
                continue
            xs_r = np.sort(xs[:m])
            for k in range(0, m - 1, 2):
                # pixel centres x0 + (c + 0.5) dx inside [xs_r[k], xs_r[k+1])
                clo = int(np.ceil((xs_r[k] - x0) / dx - 0.5))
                chi = int(np.ceil((xs_r[k + 1] - x0) / dx - 0.5)) - 1
                if clo < 0:
                    clo = 0
                if chi > ncol - 1:
                    chi = ncol - 1
                for cc in range(clo, chi + 1):
                    xc = x0 + (cc + 0.5) * dx
                    z = a * xc + b * yc + c
                    counts[p] += 1
                    if z > zout[r, cc]:
                        zout[r, cc] = z
                        label[r, cc] = p


def rasterise_planes(coords, ring_start, poly_ring, coef, transform, shape, select=None):
    """Heights of planar polygons on a north-up grid; the highest plane wins where they overlap.

    Parameters
    ----------
    coords, ring_start, poly_ring : polygons (module notes); only x and y of ``coords`` are used
    coef : (n, 3) plane coefficients ``z = a x + b y + c`` (NaN: skipped)
    transform : affine.Affine of the grid (north-up)
    shape : (rows, cols)
    select : indices of the polygons to burn (default all)

    Returns
    -------
    z : float64 (rows, cols), -inf where no plane
    label : int64 (rows, cols), polygon index, -1 where no plane
    counts : int64 (n,), pixel centres inside each polygon (before overlaps)
    """
    nrow, ncol = shape
    zout = np.full((nrow, ncol), -np.inf)
    label = np.full((nrow, ncol), -1, dtype=np.int64)
    n = len(poly_ring) - 1
    counts = np.zeros(n, dtype=np.int64)
    order = np.arange(n, dtype=np.int64) if select is None else np.asarray(select, dtype=np.int64)
    if len(order) and nrow and ncol:
        _rasterise_kernel(np.ascontiguousarray(coords, dtype=np.float64), np.asarray(ring_start, np.int64),
                          np.asarray(poly_ring, np.int64), np.ascontiguousarray(coef, dtype=np.float64),
                          order, float(transform.c), float(transform.f), float(transform.a),
                          float(-transform.e), int(nrow), int(ncol), zout, label, counts)
    return zout, label, counts
