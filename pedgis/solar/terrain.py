"""Slope and aspect of a surface model (Horn 1981), nodata kept as nodata."""

from __future__ import annotations

import numpy as np


def slope_aspect(z: np.ndarray, dx: float, dy: float | None = None):
    """Slope and aspect per pixel by Horn's third-order finite difference.

    Parameters
    ----------
    z : ndarray (rows, cols)
        Heights [m]; NaN is nodata. Row 0 is the northern edge (a north-up raster).
    dx, dy : float
        Pixel size along columns (east) and rows (south) [m].

    Returns
    -------
    slope : ndarray [°]
        0 horizontal … 90 vertical; NaN where ``z`` is NaN.
    aspect : ndarray [°]
        Azimuth of the downslope direction, clockwise from north (180 = facing south);
        180 where the surface is exactly horizontal (the value does not matter there); NaN
        where ``z`` is NaN.

    Notes
    -----
    Horn (1981), Hill shading and the reflectance map, Proc. IEEE 69(1), 14–47,
    doi:10.1109/PROC.1981.11918, eq. for the 3×3 window ``a b c / d e f / g h i``::

        dz/dx = ((c + 2f + i) - (a + 2d + g)) / (8 dx)
        dz/dy_north = ((a + 2b + c) - (g + 2h + i)) / (8 dy)
        slope = atan(hypot(dz/dx, dz/dy_north))
        aspect = atan2(-dz/dx, -dz/dy_north)

    A missing neighbour (nodata or outside the raster) is extrapolated linearly through the
    centre from the opposite neighbour, else from the adjacent ones (else the centre's value), so a
    pixel beside a hole or on the raster's edge keeps the slope of its plane; only nodata pixels
    themselves are NaN.
    """
    dy = dx if dy is None else dy
    z = np.asarray(z, dtype=np.float64)
    # only the pixels with a value: on a roof model that is a tenth of the raster
    rows, cols = np.nonzero(np.isfinite(z))
    p = np.pad(z, 1, mode="constant", constant_values=np.nan)
    rows += 1
    cols += 1
    centre = p[rows, cols]

    def raw(dr, dc):
        return p[rows + dr, cols + dc]

    def fill(v, opp, other):
        return np.where(np.isfinite(v), v, np.where(np.isfinite(opp), 2.0 * centre - opp, other))

    # edge neighbours first, then corners (through the two filled edge neighbours)
    b = fill(raw(-1, 0), raw(1, 0), centre)
    h = fill(raw(1, 0), raw(-1, 0), centre)
    d = fill(raw(0, -1), raw(0, 1), centre)
    f = fill(raw(0, 1), raw(0, -1), centre)
    a = fill(raw(-1, -1), raw(1, 1), b + d - centre)
    c = fill(raw(-1, 1), raw(1, -1), b + f - centre)
    g = fill(raw(1, -1), raw(-1, 1), h + d - centre)
    i = fill(raw(1, 1), raw(-1, -1), h + f - centre)
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * dx)
    dzdn = ((a + 2 * b + c) - (g + 2 * h + i)) / (8.0 * dy)
    aspect = np.degrees(np.arctan2(-dzdx, -dzdn)) % 360.0
    slope = np.full(z.shape, np.nan, np.float32)
    slope[rows - 1, cols - 1] = np.degrees(np.arctan(np.hypot(dzdx, dzdn)))
    out_aspect = np.full(z.shape, np.nan, np.float32)
    out_aspect[rows - 1, cols - 1] = np.where((dzdx == 0) & (dzdn == 0), 180.0, aspect)
    return slope, out_aspect
