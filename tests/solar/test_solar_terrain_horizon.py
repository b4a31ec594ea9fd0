"""Slope/aspect (Horn) and horizon angles / sky view factor on surfaces with known geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedgis.solar.horizon import horizon_angles, sector_azimuths, sky_view_factor
from pedgis.solar.terrain import slope_aspect


def test_plane_slope_aspect():
    # z rises 0.5 m per m towards the north (rows decrease northwards) and 0 along x:
    # slope = atan(0.5) = 26.565°, the surface faces (falls towards) south: aspect 180°
    rows, cols = np.mgrid[0:20, 0:20].astype(float)
    z = -0.5 * rows * 1.0  # row 0 is the north edge, highest
    s, a = slope_aspect(z, 1.0)
    assert np.allclose(s, math.degrees(math.atan(0.5)), atol=1e-4)
    assert np.allclose(a, 180.0, atol=1e-4)
    # rises towards the west by 1 m per 2 m pixel: faces east (90°), slope atan(0.5)
    z2 = -1.0 * cols
    s2, a2 = slope_aspect(z2, 2.0)
    assert np.allclose(s2, math.degrees(math.atan(0.5)), atol=1e-4)
    assert np.allclose(a2, 90.0, atol=1e-4)


def test_nodata_stays_nodata():
    z = np.full((10, 10), 5.0)
    z[4, 4] = np.nan
    s, a = slope_aspect(z, 1.0)
    assert np.isnan(s[4, 4]) and np.isnan(a[4, 4])
    # its neighbours keep their slope (the hole is filled through the centre): flat, finite
    assert s[4, 5] == 0.0 and s[3, 3] == 0.0
    assert np.isfinite(s).sum() == 99
    # a plane with a hole: the pixels around the hole keep the plane's slope exactly
    rows = np.mgrid[0:10, 0:10][0].astype(float)
    zp = -0.5 * rows
    zp[4, 4] = np.nan
    sp, _ = slope_aspect(zp, 1.0)
    assert np.allclose(sp[np.isfinite(sp)], math.degrees(math.atan(0.5)), atol=1e-4)


def test_wall_horizon_exact():
    # pixels are boxes: a wall in rows 110-112 has its face at row index 109.5, i.e. 9.5 m south
    # of the centre of pixel row 100, and stands 12 m above it: horizon towards 180° =
    # atan(12 / 9.5) = 51.63°; towards north 0°; at 135° the ray meets the face after
    # 9.5 / cos 45° = 13.435 m: atan(12 / 13.435) = 41.77°
    z = np.zeros((200, 400), dtype=np.float32)
    z[110:113, :] = 12.0
    h = horizon_angles(z, np.array([100]), np.array([200]), 1.0, n_sectors=8, steps_per_distance=64)
    az = sector_azimuths(8)
    got = dict(zip(az, h[0], strict=False))
    assert got[180.0] == pytest.approx(math.degrees(math.atan(12 / 9.5)), abs=0.01)
    assert got[0.0] == 0.0
    assert got[135.0] == pytest.approx(math.degrees(math.atan(12 / (9.5 * math.sqrt(2)))), abs=0.01)


def test_plane_is_not_a_wall():
    # on a 30° plane rising to the north, the horizon towards north is the plane itself (30°),
    # from bilinear samples of the plane; towards south, 0°
    rows = np.mgrid[0:60, 0:60][0].astype(np.float32)
    z = (60 - rows) * math.tan(math.radians(30))
    h = horizon_angles(z, np.array([40]), np.array([30]), 1.0, n_sectors=4)
    assert h[0, 0] == pytest.approx(30.0, abs=0.01)
    assert h[0, 2] == 0.0


def test_far_obstacle_found_via_pyramid():
    # a 60 m tower 300 m east of the point: atan(60/300) = 11.31°; the far field uses the
    # max-pyramid, which may place it up to a block closer: allow 5 %
    z = np.zeros((64, 600), dtype=np.float32)
    z[28:36, 330:338] = 60.0
    h = horizon_angles(z, np.array([32]), np.array([30]), 1.0, n_sectors=4)
    assert h[0, 1] == pytest.approx(math.degrees(math.atan(60 / 300)), rel=0.05)
    # max_distance shorter than the tower's distance: not seen
    h2 = horizon_angles(z, np.array([32]), np.array([30]), 1.0, n_sectors=4, max_distance=200)
    assert h2[0, 1] == 0.0


def test_nodata_never_shades_and_nodata_target_is_nan():
    z = np.zeros((50, 50), dtype=np.float32)
    z[20:25, :] = np.nan  # a hole south of the point
    h = horizon_angles(z, np.array([10, 22]), np.array([25, 25]), 1.0, n_sectors=8)
    assert np.all(h[0] == 0.0)
    assert np.all(np.isnan(h[1]))


def test_sky_view_factor():
    # open horizon: 1; uniform horizon h: cos² h (e.g. 30° → 0.75)
    assert sky_view_factor(np.zeros((1, 36)))[0] == pytest.approx(1.0)
    assert sky_view_factor(np.full((1, 36), 30.0))[0] == pytest.approx(0.75)


def _random_city(n=260, seed=7):
    # boxes with flat, gabled and hipped-like roofs on gentle terrain, plus a few trees and
    # nodata holes: walls, eaves and planes in every direction
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:n, 0:n].astype(np.float32)
    z = 200.0 + 0.02 * rows + 0.01 * cols
    for _ in range(60):
        r0, c0 = rng.integers(0, n - 25, 2)
        h, w = rng.integers(6, 25, 2)
        top = rng.uniform(5.0, 30.0)
        block = (slice(r0, r0 + h), slice(c0, c0 + w))
        kind = rng.integers(0, 3)
        if kind == 0:
            roof = np.full((h, w), top)
        elif kind == 1:  # gable along the columns
            roof = top + 0.6 * (h / 2 - np.abs(np.arange(h)[:, None] - h / 2)) + 0 * np.arange(w)
        else:  # ridge along the rows
            roof = top + 0.5 * (w / 2 - np.abs(np.arange(w)[None, :] - w / 2)) + 0 * np.arange(h)[:, None]
        z[block] = np.maximum(z[block], z[block].min() + roof)
    for _ in range(15):  # trees
        r, c = rng.integers(0, n, 2)
        z[max(r - 2, 0) : r + 3, max(c - 2, 0) : c + 3] += rng.uniform(4, 12)
    z[rng.integers(0, n, 30), rng.integers(0, n, 30)] = np.nan
    return z


def test_tabulated_and_skipping_kernel_equals_sample_by_sample():
    # the fast path (tabulated offsets, runs skipped by a dilated maximum) must give the very
    # samples' maximum the plain ray march gives; both are computed here on a random city
    z = _random_city()
    rr, cc = np.nonzero(np.isfinite(z))
    pick = np.random.default_rng(1).choice(len(rr), 4000, replace=False)
    rows, cols = rr[pick], cc[pick]
    for dx, dy, spd in ((1.0, 1.0, 16.0), (0.5, 0.5, 24.0), (1.0, 0.8, 12.0)):
        kw = dict(n_sectors=36, max_distance=400.0, steps_per_distance=spd)
        fast = horizon_angles(z, rows, cols, dx, dy, **kw)
        ref = horizon_angles(z, rows, cols, dx, dy, sample_by_sample=True, **kw)
        both = np.isfinite(ref)
        assert np.array_equal(both, np.isfinite(fast))
        diff = np.abs(fast[both] - ref[both])
        # identical up to rounding; a sample lying exactly on a grid line may pick the other
        # pixel of the pair in the plain march (its index depends on the last bit of r0 + d sr)
        assert np.mean(diff > 1e-3) < 2e-4, np.mean(diff > 1e-3)
        assert np.median(diff) < 1e-6


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 23), st.integers(1, 23), st.floats(0.0, 0.9), st.integers(0, 2**31 - 1))
def test_each_pyramid_level_is_the_highest_value_of_its_block(nrow, ncol, holes, seed):
    """Level k of the max-pyramid holds, per cell, the highest finite value of the 2^k × 2^k
    block of the raster it covers (NaN when the block has none): checked cell by cell against
    that definition, with holes and odd sizes."""
    from pedgis.solar.horizon import build_pyramid

    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 10.0, (nrow, ncol)).astype(np.float32)
    z[rng.random((nrow, ncol)) < holes] = np.nan
    levels = 4
    flat, offsets, shapes = build_pyramid(z, levels)
    assert flat.dtype == np.float32
    for k in range(levels):
        level = flat[offsets[k]:offsets[k + 1]].reshape(shapes[k])
        b = 2 ** k
        assert level.shape == (-(-nrow // b), -(-ncol // b))
        for i in range(level.shape[0]):
            for j in range(level.shape[1]):
                block = z[i * b:(i + 1) * b, j * b:(j + 1) * b]
                finite = block[np.isfinite(block)]
                if finite.size:
                    assert level[i, j] == finite.max()
                else:
                    assert np.isnan(level[i, j])
