"""Rooftop solar benchmarks (issue 4). Not run by ``make test``; run sparingly.

W1    1000 × 1000 DSM at 1 m, ~35 % buildings 5–30 m (flat, gabled, hipped roofs, trees, gentle
      terrain), hourly TMY (the sample district's PVGIS year), shading + Perez sky → irradiation
      map and per-building PV (PVWatts, hourly). Target ≤ 5 s median, ≤ 1.5 GB peak.
GRASS the same kind of DSM side by side with GRASS ``r.horizon`` + ``r.sun`` (clear sky, Linke
      turbidity 3, albedo 0.2, 24 horizon directions, the same roof slope/aspect rasters given to
      r.sun): time for the annual map (r.sun is run for
      ``--grass-days`` days and its time scaled to 365 days) and per-pixel agreement on roof pixels
      over the same days. Targets: pedgis ≥ 20× faster, median |diff| ≤ 5 %.
W2    10,000 × 10,000 DSM processed in tiles (GeoTIFF on disk, windowed reads): time, peak
      memory (target ≤ 4 GB) and time vs area (also 2,500² and 5,000²).

Usage::

    .venv/bin/python -m benchmarks.bench_solar w1 [--repeat 5]
    .venv/bin/python -m benchmarks.bench_solar grass [--n 500] [--grass-days 12]
    .venv/bin/python -m benchmarks.bench_solar w2 [--n 10000]
    .venv/bin/python -m benchmarks.bench_solar all

Each workload runs in its own process so the peak resident memory (``ru_maxrss``) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EPW = ROOT / "sample_data" / "weather" / "pvgis_tmy_45N_8E.epw"
CRS = "EPSG:32632"
X0, Y0 = 421000.0, 4983600.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _weather():
    from pedgis.io.weather import read_weather

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_weather(EPW)


def _city(n, cell=1.0, seed=42):
    import geopandas as gpd
    from affine import Affine
    from shapely.geometry import box

    from benchmarks.synth_city import make_city

    dsm, dtm, fps = make_city(n, cell, seed)
    tr = Affine(cell, 0, X0, 0, -cell, Y0)
    polys = [box(X0 + c0 * cell, Y0 - r1 * cell, X0 + c1 * cell, Y0 - r0 * cell) for _, r0, c0, r1, c1 in fps]
    b = gpd.GeoDataFrame({"building_id": [f[0] for f in fps]}, geometry=polys, crs=CRS)
    return dsm, dtm, tr, b


# ------------------------------------------------------------------------------------ W1


def run_w1(repeat: int = 5, n: int = 1000) -> dict:
    from pedgis.solar.rooftop import Grid, SolarParams, rooftop_solar

    dsm, _, tr, b = _city(n)
    w = _weather()
    grid = Grid(dsm, tr, CRS)
    params = SolarParams()
    t = time.perf_counter()
    r = rooftop_solar(b, grid, w, params)  # includes numba compilation (cached on disk)
    first = time.perf_counter() - t
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = rooftop_solar(b, grid, w, params)
        times.append(time.perf_counter() - t)
    roof = np.isfinite(r.irradiation)
    return {
        "workload": f"W1 {n}x{n} @1 m, {len(b)} buildings, cover {roof.mean():.3f}",
        "first_run_s": round(first, 2),
        "times_s": [round(x, 2) for x in times],
        "median_s": round(float(np.median(times)), 2),
        "peak_rss_mb": round(_peak_mb()),
        "roof_pixels": int(roof.sum()),
        "mean_roof_irradiation_kwh_m2": round(float(np.nanmean(r.irradiation)), 1),
        "total_pv_kwh": round(float(r.buildings["pv_kwh"].sum())),
        "segments": len(r.segments),
    }


# ------------------------------------------------------------------------------------ GRASS


def _grass_days(k: int) -> list[int]:
    # k days spread over the year (mid-month days for k = 12)
    return [int(round(15 + i * 365 / k)) % 365 or 1 for i in range(k)]


def run_grass(n: int = 500, days: int = 12, linke: float = 3.0, albedo: float = 0.2) -> dict:
    import rasterio

    from pedgis.solar import horizon as hz
    from pedgis.solar import sky as skymod
    from pedgis.solar.rooftop import SolarParams
    from pedgis.solar.terrain import slope_aspect

    if shutil.which("grass") is None:
        return {"workload": "GRASS", "skipped": "grass not installed (scripts/install-system-deps.sh)"}
    dsm, _, tr, b = _city(n)
    from rasterio import features

    bid = features.rasterize(((g, i) for i, g in enumerate(b.geometry)), out_shape=dsm.shape,
                             transform=tr, fill=-1, dtype="int32")
    roof = bid >= 0
    day_list = _grass_days(days)
    w = _weather()
    tmp = Path(tempfile.mkdtemp(prefix="pedgis_grass_"))
    with rasterio.open(tmp / "dsm.tif", "w", driver="GTiff", width=n, height=n, count=1,
                       dtype="float32", crs=CRS, transform=tr) as ds:
        ds.write(dsm, 1)
    # both models get the same roof planes: pedgis' slope/aspect (roof pixels only, Horn) in
    # GRASS's convention (aspect counter-clockwise from east)
    sl_all, as_all = slope_aspect(np.where(roof, dsm, np.nan), 1.0)
    for name, arr in (("slope", sl_all), ("aspect", (450.0 - as_all) % 360.0)):
        with rasterio.open(tmp / f"{name}.tif", "w", driver="GTiff", width=n, height=n, count=1,
                           dtype="float32", crs=CRS, transform=tr, nodata=-9999.0) as ds:
            ds.write(np.where(np.isfinite(arr), arr, 0.0).astype("float32"), 1)

    # --- pedgis, full year, clear sky, surface planes (no racks), same Linke turbidity and albedo
    params = SolarParams(flat_max_slope_deg=0.0, albedo=albedo)
    t0 = time.perf_counter()
    sky = skymod.hourly_sky(w, "perez", albedo, clearsky=True, linke_turbidity=linke)
    csky_year = skymod.cumulative_sky(sky)
    slope, aspect = slope_aspect(np.where(roof, dsm, np.nan), 1.0)
    rows, cols = np.nonzero(roof)
    hor = hz.horizon_angles(dsm, rows, cols, 1.0, n_sectors=params.n_sectors,
                            max_distance=min((dsm.max() - dsm.min()) / np.tan(np.radians(1.0)), 2000.0))
    skymod.annual_poa(slope[rows, cols], aspect[rows, cols], hor, csky_year)
    t_pedgis = time.perf_counter() - t0

    # --- GRASS: r.horizon (24 directions) + r.sun per day, glob_rad [Wh/m²/day]
    script = tmp / "run.sh"
    maxdist = float(min((dsm.max() - dsm.min()) / np.tan(np.radians(1.0)), 2000.0))
    lines = [
        "set -e",
        f"r.in.gdal -o input={tmp/'dsm.tif'} output=dsm --quiet",
        "g.region raster=dsm",
        f"r.in.gdal -o input={tmp/'slope.tif'} output=slope --quiet",
        f"r.in.gdal -o input={tmp/'aspect.tif'} output=aspect --quiet",
        "T0=$(date +%s.%N)",
        f"r.horizon elevation=dsm step=15 maxdistance={maxdist} output=hor --quiet",
        "T1=$(date +%s.%N)",
        f"echo horizon $(echo \"$T1 - $T0\" | bc) > {tmp/'times.txt'}",
    ]
    lines += ["r.mapcalc \"open0 = 0.0\" --quiet", "r.mapcalc \"open_asp = 270.0\" --quiet"]
    for d in day_list:
        lines += [
            f"r.sun elevation=open0 slope=open0 aspect=open_asp day={d} step=0.5 linke_value={linke} "
            f"albedo_value={albedo} beam_rad=ob{d} diff_rad=od{d} --quiet",
            f"echo open{d} $(r.univar -g ob{d} | grep ^mean= | cut -d= -f2) "
            f"$(r.univar -g od{d} | grep ^mean= | cut -d= -f2) >> {tmp/'open.txt'}",
        ]
    for d in day_list:
        lines += [
            "T0=$(date +%s.%N)",
            f"r.sun elevation=dsm aspect=aspect slope=slope horizon_basename=hor horizon_step=15 "
            f"day={d} step=0.5 linke_value={linke} albedo_value={albedo} glob_rad=g{d} "
            f"nprocs=2 --quiet",
            "T1=$(date +%s.%N)",
            f"echo day{d} $(echo \"$T1 - $T0\" | bc) >> {tmp/'times.txt'}",
            f"r.out.gdal input=g{d} output={tmp/f'g{d}.tif'} format=GTiff type=Float32 --quiet -c",
        ]
    script.write_text("\n".join(lines) + "\n")
    env = dict(os.environ, GRASS_MESSAGE_FORMAT="plain")
    proc = subprocess.run(["grass", "--tmp-location", CRS, "--exec", "bash", str(script)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"workload": "GRASS", "error": proc.stderr[-2000:]}
    times = {}
    for line in (tmp / "times.txt").read_text().splitlines():
        k, v = line.split()
        times[k] = float(v)
    t_h = times.pop("horizon")
    t_day = float(np.mean(list(times.values())))
    t_grass_year = t_h + 365 * t_day
    grass_sum = np.zeros(dsm.shape)
    for d in day_list:
        with rasterio.open(tmp / f"g{d}.tif") as ds:
            grass_sum += ds.read(1)
    theirs = grass_sum[rows, cols] / 1000.0  # kWh/m² over the selected days

    # pedgis on the same days; (a) its own clear sky (pvlib Ineichen), (b) the same horizontal
    # beam and diffuse per day as r.sun's clear sky (ESRA) on an open plane, so that only the
    # transposition and the shading differ
    opens = {}
    for line in (tmp / "open.txt").read_text().splitlines():
        k, b_wh, d_wh = line.split()
        opens[int(k[4:])] = (float(b_wh), float(d_wh))
    doy = sky.data.index.day_of_year.to_numpy()
    sel = np.isin(doy, day_list)
    dd = sky.data.copy()
    dd.loc[~sel, ["dni", "circ", "beam", "iso", "hband", "refl", "ghi", "dhi"]] = 0.0
    mine = skymod.annual_poa(slope[rows, cols], aspect[rows, cols], hor,
                             skymod.cumulative_sky(skymod.HourlySky(dd, "perez"))).total
    cal = dd.copy()
    for d in day_list:
        m = doy == d
        b_mine = float((dd.loc[m, "dni"] * dd.loc[m, "sz"].clip(lower=0)).sum())
        d_mine = float(dd.loc[m, "dhi"].sum())
        kb = opens[d][0] / b_mine if b_mine > 0 else 1.0
        kd = opens[d][1] / d_mine if d_mine > 0 else 1.0
        cal.loc[m, "dni"] *= kb
        for c in ("circ", "iso", "hband", "dhi"):
            cal.loc[m, c] *= kd
        cal.loc[m, "ghi"] = dd.loc[m, "dni"] * kb * dd.loc[m, "sz"].clip(lower=0) + dd.loc[m, "dhi"] * kd
        cal.loc[m, "refl"] = cal.loc[m, "ghi"] * albedo
    cal["beam"] = cal["dni"] + cal["circ"]
    mine_cal = skymod.annual_poa(slope[rows, cols], aspect[rows, cols], hor,
                                 skymod.cumulative_sky(skymod.HourlySky(cal, "perez"))).total
    ok = np.isfinite(mine) & np.isfinite(theirs) & (theirs > 0)
    rel = (mine[ok] - theirs[ok]) / theirs[ok]
    rel_cal = (mine_cal[ok] - theirs[ok]) / theirs[ok]
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "workload": f"GRASS side by side, {n}x{n} @1 m, {len(b)} buildings, {len(day_list)} days "
                    f"({day_list}), clear sky, Linke {linke}, albedo {albedo}",
        "pedgis_year_s": round(t_pedgis, 2),
        "grass_horizon_s": round(t_h, 2),
        "grass_rsun_per_day_s": round(t_day, 2),
        "grass_year_s_extrapolated": round(t_grass_year, 1),
        "speed_ratio": round(t_grass_year / t_pedgis, 1),
        "roof_pixels": int(ok.sum()),
        "median_abs_rel_diff": round(float(np.median(np.abs(rel))), 4),
        "median_rel_diff": round(float(np.median(rel)), 4),
        "p90_abs_rel_diff": round(float(np.percentile(np.abs(rel), 90)), 4),
        "same_horizontal_sky_median_abs_rel_diff": round(float(np.median(np.abs(rel_cal))), 4),
        "same_horizontal_sky_median_rel_diff": round(float(np.median(rel_cal)), 4),
        "same_horizontal_sky_p90_abs_rel_diff": round(float(np.percentile(np.abs(rel_cal), 90)), 4),
        "open_plane_rsun_beam_diffuse_wh_m2": opens,
        "sum_pedgis_kwh_m2_mean": round(float(mine[ok].mean()), 2),
        "sum_grass_kwh_m2_mean": round(float(theirs[ok].mean()), 2),
    }


# ------------------------------------------------------------------------------------ W2


def run_w2(n: int = 10000) -> dict:
    import rasterio

    from pedgis.solar.rooftop import Grid, SolarParams, rooftop_solar

    tmp = Path(tempfile.mkdtemp(prefix="pedgis_w2_"))
    dsm, dtm, tr, b = _city(n)
    del dtm
    path = tmp / "dsm.tif"
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs=CRS, transform=tr, tiled=True, blockxsize=512, blockysize=512,
                       compress="deflate") as ds:
        ds.write(dsm, 1)
    del dsm
    w = _weather()
    mem_before = _peak_mb()

    class _Src:  # a windowed reader (what pedgis.io.raster.RasterSource provides)
        def __init__(self, p):
            self.ds = rasterio.open(p)
            self.width, self.height = self.ds.width, self.ds.height

        def read(self, r0, r1, c0, c1):
            from rasterio.windows import Window

            r0, c0 = max(r0, 0), max(c0, 0)
            return self.ds.read(1, window=Window(c0, r0, c1 - c0, r1 - r0), out_dtype="float32")

    src = _Src(path)
    t = time.perf_counter()
    r = rooftop_solar(b, Grid(src, tr, CRS), w, SolarParams(keep_hourly=False, tile_size=2048))
    el = time.perf_counter() - t
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "workload": f"W2 {n}x{n} @1 m in 2048-pixel tiles, {len(b)} buildings",
        "time_s": round(el, 1),
        "s_per_km2": round(el / (n * n / 1e6), 2),
        "peak_rss_mb": round(_peak_mb()),
        "peak_rss_before_run_mb": round(mem_before),
        "total_pv_kwh": round(float(np.nansum(r.buildings["pv_kwh"]))),
    }


def _in_subprocess(name: str, **kw) -> dict:
    args = [sys.executable, "-m", "benchmarks.bench_solar", "_one", name, json.dumps(kw)]
    p = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    if p.returncode != 0:
        return {"workload": name, "error": p.stderr[-3000:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="?", default="all", choices=["w1", "grass", "w2", "w2scale", "all", "_one"])
    ap.add_argument("rest", nargs="*")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--grass-days", type=int, default=12)
    ap.add_argument("--sizes", default="2500,5000,10000", help="w2scale: DSM sizes [pixels]")
    a = ap.parse_args(argv)
    if a.what == "_one":
        name, kw = a.rest[0], json.loads(a.rest[1])
        fn = {"w1": run_w1, "grass": run_grass, "w2": run_w2}[name]
        print(json.dumps(fn(**kw)))
        return 0
    out = []
    if a.what in ("w1", "all"):
        out.append(_in_subprocess("w1", repeat=a.repeat, **({"n": a.n} if a.n else {})))
    if a.what in ("grass", "all"):
        out.append(_in_subprocess("grass", n=a.n or 500, days=a.grass_days))
    if a.what in ("w2", "all"):
        out.append(_in_subprocess("w2", n=a.n or 10000))
    if a.what == "w2scale":
        for n in map(int, a.sizes.split(",")):
            out.append(_in_subprocess("w2", n=n))
    for o in out:
        print(json.dumps(o, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
