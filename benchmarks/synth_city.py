"""A deterministic synthetic city DSM for the solar benchmarks.

Blocks of buildings 5–30 m tall with flat, gabled (pitched) and hipped roofs on gently sloping
terrain; about 35 % building cover. Returns the DSM, the ground (DTM) and the footprints.
"""

from __future__ import annotations

import numpy as np


def make_city(n: int = 1000, cell: float = 1.0, seed: int = 42, cover: float = 0.35):
    """DSM, DTM [m] (n × n, north-up) and footprints as a list of (id, row0, col0, row1, col1).

    Parameters
    ----------
    n : int
        Raster size [pixels].
    cell : float
        Pixel size [m].
    seed : int
        Random seed (deterministic).
    cover : float
        Target building cover fraction.
    """
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[0:n, 0:n].astype(np.float32)
    dtm = (200.0 + 0.01 * cell * rr + 0.005 * cell * cc).astype(np.float32)  # gentle slope
    dsm = dtm.copy()
    footprints = []
    # a grid of plots; each plot holds one building filling part of it
    plot = int(round(30 / cell))
    fill = np.sqrt(cover) * 1.0
    bid = 0
    for r0 in range(0, n - plot + 1, plot):
        for c0 in range(0, n - plot + 1, plot):
            w = int(plot * fill * rng.uniform(0.85, 1.15))
            h = int(plot * fill * rng.uniform(0.85, 1.15))
            w, h = max(4, min(w, plot - 2)), max(4, min(h, plot - 2))
            rs = r0 + rng.integers(1, plot - h)
            cs = c0 + rng.integers(1, plot - w)
            height = rng.uniform(5.0, 30.0)
            kind = rng.choice(["flat", "gable_ns", "gable_ew", "hip"], p=[0.4, 0.25, 0.2, 0.15])
            base = dtm[rs : rs + h, cs : cs + w].max()
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
            if kind == "flat":
                roof = np.zeros((h, w), np.float32)
            elif kind == "gable_ns":  # ridge along east-west: faces north and south
                roof = (h / 2 - np.abs(yy - h / 2)) * cell * np.tan(np.radians(35))
            elif kind == "gable_ew":  # faces east and west
                roof = (w / 2 - np.abs(xx - w / 2)) * cell * np.tan(np.radians(30))
            else:
                roof = np.minimum(h / 2 - np.abs(yy - h / 2), w / 2 - np.abs(xx - w / 2))
                roof = roof * cell * np.tan(np.radians(25))
            dsm[rs : rs + h, cs : cs + w] = base + height + roof
            footprints.append((f"B{bid:06d}", rs, cs, rs + h, cs + w))
            bid += 1
    # a few trees
    for _ in range(n * n // 20000):
        r, c = rng.integers(5, n - 5, 2)
        if dsm[r, c] - dtm[r, c] < 1:
            rad = int(rng.integers(2, 5))
            yy, xx = np.mgrid[-rad : rad + 1, -rad : rad + 1]
            disk = (yy**2 + xx**2) <= rad**2
            sub = dsm[r - rad : r + rad + 1, c - rad : c + rad + 1]
            if sub.shape == disk.shape:
                tree = dtm[r, c] + rng.uniform(6, 12)
                sub[disk] = np.maximum(sub[disk], tree)
    return dsm, dtm, footprints
