"""What the rooftop grids on disk cost (issue 12 item 2, ``pedgis/io/roof_grids.py``).

A city's irradiation and sky-view grids go to scratch GeoTIFFs filled tile by tile instead of two
arrays in memory, and ``irradiation.tif`` is copied from the scratch grid block by block. This
times the two paths on a synthetic grid in one run: every tile's roof pixels put into the grids
(15 % of each tile's pixels, at random), then ``irradiation.tif`` written (from the array, or
copied from the scratch file).

Usage::

    .venv/bin/python -m benchmarks.bench_roof_grids [--n 10000] [--tile 2048]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from affine import Affine

from pedgis.io.roof_grids import RoofGrids
from pedgis.io.solar_rasters import write_irradiation


def one(n: int, tile: int, folder: Path | None) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    transform = Affine(1.0, 0.0, 0.0, 0.0, -1.0, float(n))
    grids = RoofGrids((n, n), transform, "EPSG:32632", folder)
    tiles = [(r, c) for r in range(0, n, tile) for c in range(0, n, tile)]
    pixels = []
    for r, c in tiles:  # drawn before the clock starts
        h, w = min(tile, n - r), min(tile, n - c)
        k = int(0.15 * h * w)
        v = rng.uniform(500.0, 1500.0, k).astype(np.float32)
        pixels.append((r + rng.integers(0, h, k), c + rng.integers(0, w, k), v, v / 2000.0))
    t = time.perf_counter()
    for rows, cols, irr, svf in pixels:
        grids.put(rows, cols, irr, svf)
    put = time.perf_counter() - t
    out = Path(tempfile.mkdtemp(dir=folder or None))
    irradiation, _ = grids.grids()
    t = time.perf_counter()
    write_irradiation(SimpleNamespace(irradiation=irradiation, transform=transform, crs="EPSG:32632"),
                      out / "irradiation.tif")
    write = time.perf_counter() - t
    shutil.rmtree(out)
    return put, write


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000, help="grid edge [pixels] (default 10,000: 100 km² at 1 m)")
    ap.add_argument("--tile", type=int, default=2048, help="tile edge [pixels] (the solar step's default)")
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(dir=Path.cwd()))  # on the disk of the outputs, not a RAM /tmp
    try:
        for where, folder in (("in memory", None), ("on disk", scratch)):
            put, write = one(args.n, args.tile, folder)
            print(f"{where}: tiles put {put:.2f} s, irradiation.tif written {write:.2f} s, together {put + write:.2f} s")
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
