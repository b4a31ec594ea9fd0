"""What users wait for: whole ``pedgis`` commands in fresh processes (issue 12 item 1).

Each command runs as ``python -m pedgis ...`` in a new process (imports, reading, computing,
writing every output, the manifest), ``--repeat`` times; the medians are reported, and the
variants of one command (hourly series as Parquet, the default, and with ``--csv``, the old
gzip'd CSV as well) alternate within one run so their ratio is measured under the same load.

Workloads
---------
pv     ``pedgis pv`` on W1 (benchmarks/bench_solar.py): 1,000 × 1,000 DSM at 1 m, the synthetic
       city's buildings, the sample's hourly PVGIS TMY, DSM shading. Goal ≤ 5 s.
run    ``pedgis run sample_data/scenario.toml`` (the sample district, with its maps and report).
       Goal ≤ 3 s.
import ``python -c "import pedgis.cli"`` and the imports a run makes before computing.

Usage::

    .venv/bin/python -m benchmarks.bench_cli [pv|run|import|all] [--repeat 5] [--profile]

``--profile`` also runs each command once under pyinstrument (``pip install pyinstrument``)
and writes the text profile to ``benchmarks/results/profile_<name>.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "scenario.toml"


def make_w1_inputs(folder: Path, n: int = 1000) -> dict:
    """W1 as files a user would have: ``dsm.tif`` (GeoTIFF) and ``buildings.gpkg``."""
    import rasterio

    from benchmarks.bench_solar import CRS, EPW, _city

    dsm, _dtm, tr, b = _city(n)
    folder.mkdir(parents=True, exist_ok=True)
    with rasterio.open(folder / "dsm.tif", "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs=CRS, transform=tr, tiled=True, blockxsize=256, blockysize=256,
                       compress="deflate") as ds:
        ds.write(dsm, 1)
    b.to_file(folder / "buildings.gpkg", layer="buildings", driver="GPKG", engine="pyogrio")
    return {"dsm": folder / "dsm.tif", "buildings": folder / "buildings.gpkg", "weather": EPW, "n_buildings": len(b)}


def _time(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    el = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return el


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "2")
    # as installed: Python keeps the compiled bytecode of pedgis and its libraries after the
    # first run (the warm-up round), as it does for a user unless told not to
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _sizes(folder: Path) -> dict:
    return {p.name: round(p.stat().st_size / 1e6, 2) for p in sorted(folder.iterdir()) if p.is_file()}


def _side_by_side(variants: dict[str, list[str]], repeat: int, out_root: Path) -> dict:
    """Median wall time of each command line (alternating, ``repeat`` times each)."""
    env = _env()
    times = {k: [] for k in variants}
    for i in range(repeat + 1):  # the first round warms numba's cache and the file cache
        for name, cmd in variants.items():
            out = out_root / name
            el = _time([*cmd, "--out", str(out)], env)
            if i:
                times[name].append(el)
    res = {}
    for name in variants:
        res[name] = {"median_s": round(statistics.median(times[name]), 2),
                     "times_s": [round(t, 2) for t in times[name]],
                     "outputs_mb": _sizes(out_root / name)}
    return res


def bench_pv(repeat: int, n: int = 1000) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="pedgis_bench_cli_"))
    try:
        w1 = make_w1_inputs(tmp / "in", n)
        base = [sys.executable, "-m", "pedgis", "pv", "--buildings", str(w1["buildings"]), "--dsm", str(w1["dsm"]),
                "--weather", str(w1["weather"]), "--quiet"]
        res = _side_by_side({"parquet": base, "parquet+csv": [*base, "--csv"]}, repeat, tmp)
        return {"workload": f"pedgis pv, W1 {n}x{n} DSM at 1 m, {w1['n_buildings']} buildings, hourly TMY",
                "command": " ".join(["pedgis", "pv", "--buildings", "buildings.gpkg", "--dsm", "dsm.tif",
                                     "--weather", "sample_data/weather/pvgis_tmy_45N_8E.epw", "--quiet"]),
                **res, "ratio_csv_over_parquet": round(res["parquet+csv"]["median_s"] / res["parquet"]["median_s"], 2)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_run(repeat: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="pedgis_bench_cli_"))
    try:
        base = [sys.executable, "-m", "pedgis", "run", str(SAMPLE), "--quiet"]
        res = _side_by_side({"parquet": base, "parquet+csv": [*base, "--csv"]}, repeat, tmp)
        return {"workload": "pedgis run sample_data/scenario.toml (sample district, maps and report)",
                "command": "pedgis run sample_data/scenario.toml --quiet", **res}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_import(repeat: int) -> dict:
    env = _env()
    stmts = {"pedgis.cli": "import pedgis.cli",
             "run's imports": "import pedgis.cli, pedgis.pipeline, pedgis.io.outputs, pedgis.viz"}
    res = {}
    for name, code in stmts.items():
        _time([sys.executable, "-c", code], env)
        res[name] = round(statistics.median(_time([sys.executable, "-c", code], env) for _ in range(repeat)), 2)
    return {"workload": "imports in a fresh process", "median_s": res}


def profile(name: str) -> Path:
    """One run under pyinstrument; the text profile in benchmarks/results/profile_<name>.txt."""
    tmp = Path(tempfile.mkdtemp(prefix="pedgis_bench_prof_"))
    out = ROOT / "benchmarks" / "results" / f"profile_{name}.txt"
    try:
        if name == "pv":
            w1 = make_w1_inputs(tmp / "in")
            args = ["pv", "--buildings", str(w1["buildings"]), "--dsm", str(w1["dsm"]), "--weather", str(w1["weather"])]
        else:
            args = ["run", str(SAMPLE)]
        cmd = [sys.executable, "-m", "pyinstrument", "-o", str(out), "-m", "pedgis", *args, "--quiet",
               "--out", str(tmp / "out")]
        _time(cmd, _env())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="?", default="all", choices=["pv", "run", "import", "all"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--n", type=int, default=1000, help="pv: DSM size [pixels]")
    ap.add_argument("--profile", action="store_true", help="also profile each command once (pyinstrument)")
    a = ap.parse_args(argv)
    results = []
    if a.what in ("import", "all"):
        results.append(bench_import(a.repeat))
    if a.what in ("run", "all"):
        results.append(bench_run(a.repeat))
    if a.what in ("pv", "all"):
        results.append(bench_pv(a.repeat, a.n))
    if a.profile:
        for name in (["run", "pv"] if a.what == "all" else [a.what] if a.what in ("run", "pv") else []):
            print(f"profile: {profile(name)}", file=sys.stderr)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for r in results:
        r["when"] = stamp
        r["load_average"] = [round(x, 1) for x in os.getloadavg()]
    text = json.dumps(results, indent=1)
    print(text)
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / f"cli_{a.what}.json").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
