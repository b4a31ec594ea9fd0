"""Benchmark: step 1 on 200,000 footprints with heights from a 10,000 × 10,000 nDSM.

Synthetic district: 10 km × 10 km at 1 m, a regular grid of 448 × 448 cells of 22.32 m, one
rectangular building per cell (8–18 m sides, random offset, 3–40 m high), LiDAR-like noise
(σ = 0.1 m) and some nodata stripes. The nDSM is written block by block to a tiled GeoTIFF (never
held in memory whole), the footprints to a GeoPackage. The timed run reads the GeoPackage and
calls :func:`pedgis.boundaries.prepare_district` with the nDSM as a windowed
:class:`~pedgis.io.raster.RasterSource`, in a fresh process so that its peak memory (max RSS) is
its own.

A per-building baseline (one window read + one ``geometry_mask`` + ``numpy.percentile`` per
footprint, the approach of per-feature zonal statistics) is timed on a sample and extrapolated.

Usage::

    .venv/bin/python -m benchmarks.bench_step1 [--dir DIR] [--repeat 3] [--n-side 447] [--size 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CELL_SEED = 7


def layout(n_side: int, size: int):
    """Building rectangles and heights (deterministic)."""
    rng = np.random.default_rng(CELL_SEED)
    cell = size / n_side
    w = rng.uniform(8, min(18, cell - 2), size=(n_side, n_side))
    h = rng.uniform(8, min(18, cell - 2), size=(n_side, n_side))
    ox = rng.uniform(0.5, 1, size=(n_side, n_side)) * (cell - w - 1)
    oy = rng.uniform(0.5, 1, size=(n_side, n_side)) * (cell - h - 1)
    z = rng.uniform(3, 40, size=(n_side, n_side))
    return cell, w, h, ox, oy, z


def make_data(d: Path, n_side: int, size: int) -> dict:
    """Write ``ndsm.tif`` (tiled, block by block) and ``buildings.gpkg`` into ``d``."""
    import geopandas as gpd
    import rasterio
    import shapely
    from affine import Affine
    from rasterio.windows import Window

    x0, y1 = 400_000.0, 5_010_000.0
    cell, w, h, ox, oy, z = layout(n_side, size)
    tr = Affine(1.0, 0, x0, 0, -1.0, y1)
    tif = d / "ndsm.tif"
    t0 = time.perf_counter()
    rng = np.random.default_rng(1)
    with rasterio.open(tif, "w", driver="GTiff", width=size, height=size, count=1, dtype="float32",
                       crs="EPSG:32632", transform=tr, nodata=-9999.0, tiled=True, blockxsize=512,
                       blockysize=512, compress="none", BIGTIFF="IF_SAFER") as dst:
        block = 512
        xs = np.arange(size) + 0.5  # pixel centre offsets from x0
        for r0 in range(0, size, block):
            r1 = min(r0 + block, size)
            ys = (size - (np.arange(r0, r1) + 0.5))  # y offset from the bottom (y1 - size)
            ci = np.minimum((xs // cell).astype(int), n_side - 1)[None, :]
            cj = np.minimum((ys // cell).astype(int), n_side - 1)[:, None]
            lx = xs[None, :] - ci * cell
            ly = ys[:, None] - cj * cell
            inside = ((lx >= ox[cj, ci]) & (lx < ox[cj, ci] + w[cj, ci])
                      & (ly >= oy[cj, ci]) & (ly < oy[cj, ci] + h[cj, ci]))
            arr = np.where(inside, z[cj, ci], 0.0).astype("float32")
            arr += rng.normal(0, 0.1, size=arr.shape).astype("float32")
            if (r0 // block) % 7 == 3:  # a nodata stripe every 7th block row (a LiDAR gap)
                arr[:16, :] = -9999.0
            dst.write(arr, 1, window=Window(0, r0, size, r1 - r0))
    t_tif = time.perf_counter() - t0
    jj, ii = np.meshgrid(np.arange(n_side), np.arange(n_side), indexing="ij")
    bx0 = x0 + ii * cell + ox
    by0 = (y1 - size) + jj * cell + oy
    geoms = shapely.box(bx0.ravel(), by0.ravel(), (bx0 + w).ravel(), (by0 + h).ravel())
    n = geoms.size
    uses = np.array(["A/2", "A/3", "C/1", "A/10", "B/5", "D/1"])[np.arange(n) % 6]
    gdf = gpd.GeoDataFrame({"ID_EDIF": np.arange(1, n + 1), "CATEGORIA": uses, "TRUE_H": z.ravel()},
                           geometry=geoms, crs="EPSG:32632")
    gdf.to_file(d / "buildings.gpkg", layer="buildings", engine="pyogrio")
    meta = {"n_buildings": int(n), "raster": f"{size} x {size}", "write_tif_s": round(t_tif, 1)}
    (d / "meta.json").write_text(json.dumps(meta))
    return meta


USES = ["residential", "office", "commercial", "education", "health", "hotel", "sports", "industrial"]


def timed_run(d: Path, tile: int) -> dict:
    """Read + prepare; returns timings, peak RSS and accuracy (runs in its own process)."""
    import warnings

    from pedgis.boundaries import prepare_district
    from pedgis.io.raster import RasterSource
    from pedgis.io.vector import read_vector

    t0 = time.perf_counter()
    c0 = time.process_time()
    gdf = read_vector(d / "buildings.gpkg")
    t_read = time.perf_counter() - t0
    c_read = time.process_time() - c0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with RasterSource.open(d / "ndsm.tif") as ndsm:
            res = prepare_district(gdf, columns={"height_m": ""}, storey_height_m={u: 3.0 for u in USES},
                                   default_floors={u: 2.0 for u in USES}, gross_to_conditioned=0.85,
                                   ndsm=ndsm, tile_size=tile)
    t_all = time.perf_counter() - t0
    c_all = time.process_time() - c0
    b = res.buildings
    err = np.abs(b["height_m"].to_numpy() - gdf["TRUE_H"].to_numpy())
    measured = (b["height_source"] == "ndsm").to_numpy()
    return {
        "read_s": t_read, "prepare_s": t_all - t_read, "total_s": t_all,
        "prepare_cpu_s": c_all - c_read,  # CPU time: less sensitive to other load on a shared machine
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "n": len(b), "n_ndsm": int(measured.sum()),
        "median_abs_err_m": float(np.median(err[measured])),
        "share_within_0_5_m": float(np.mean(err[measured] < 0.5)),
    }


def baseline(d: Path, sample: int = 2000) -> dict:
    """Per-building window read + mask + percentile on ``sample`` footprints, extrapolated."""
    import geopandas as gpd
    import rasterio
    from rasterio.features import geometry_mask
    from rasterio.windows import from_bounds

    gdf = gpd.read_file(d / "buildings.gpkg", engine="pyogrio")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(gdf), size=min(sample, len(gdf)), replace=False)
    t0 = time.perf_counter()
    c0 = time.process_time()
    with rasterio.open(d / "ndsm.tif") as src:
        for i in idx:
            g = gdf.geometry.iloc[i].buffer(-0.5)
            win = from_bounds(*g.bounds, transform=src.transform).round_offsets().round_lengths()
            arr = src.read(1, window=win, masked=True)
            m = geometry_mask([g], out_shape=arr.shape, transform=src.window_transform(win), invert=True)
            v = arr.filled(np.nan)[m]
            v = v[np.isfinite(v) & (v >= 1.0)]
            if v.size:
                np.percentile(v, 70)
    dt = time.perf_counter() - t0
    dc = time.process_time() - c0
    return {"sample": len(idx), "per_building_ms": 1000 * dt / len(idx),
            "extrapolated_s": dt / len(idx) * len(gdf), "extrapolated_cpu_s": dc / len(idx) * len(gdf)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=Path, default=None, help="keep the synthetic data here (reused)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n-side", type=int, default=448, help="buildings per row (448² = 200,704)")
    ap.add_argument("--size", type=int, default=10_000, help="raster side [pixels]")
    ap.add_argument("--tile", type=int, default=2048)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    d = args.dir or Path(tempfile.mkdtemp(prefix="pedgis-bench-step1-"))
    d.mkdir(parents=True, exist_ok=True)
    if args.worker:
        print(json.dumps(timed_run(d, args.tile)))
        return
    if not (d / "meta.json").exists():
        print(f"writing synthetic data to {d} …", flush=True)
        print(make_data(d, args.n_side, args.size), flush=True)
    runs = []
    for k in range(args.repeat):
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_step1", "--dir", str(d), "--tile",
                              str(args.tile), "--worker"], check=True, capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parents[1], env={**os.environ})
        r = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append(r)
        print(f"run {k + 1}: " + ", ".join(f"{key} {v:.3g}" if isinstance(v, float) else f"{key} {v}"
                                           for key, v in r.items()), flush=True)
    base = baseline(d)
    med = {key: statistics.median(r[key] for r in runs)
           for key in ("read_s", "prepare_s", "prepare_cpu_s", "total_s", "peak_rss_mb")}
    print(json.dumps({"median": med, "load_average_1min": os.getloadavg()[0], "accuracy": {k: runs[0][k] for k in ("n", "n_ndsm", "median_abs_err_m",
                                                                          "share_within_0_5_m")},
                      "per_building_baseline": base,
                      "speedup_vs_baseline": base["extrapolated_s"] / med["prepare_s"],
                      "speedup_vs_baseline_cpu": base["extrapolated_cpu_s"] / med["prepare_cpu_s"]}, indent=1))


if __name__ == "__main__":
    main()
