"""City scale on Dask (issue 12 items 2 and 4): ``pedgis pv`` end to end on a synthetic city, in
one process and on LocalClusters of 1 and 2 workers, in one run so their ratio is measured under
the same load.

The city is benchmarks/synth_city.py's (W2: 10,000 × 10,000 at 1 m is 100 km² and 110,889
buildings), written as a tiled GeoTIFF and a GeoPackage as a user would have them. Each command
runs in a fresh process (``python -m pedgis pv ... --workers N``) and writes every output; the
hourly per-building series are off (``[solar] keep_hourly = false``): at city scale they are
8,760 × 110,889 values (3.9 GB as float32), a file for a district, not for a city.

Reported per variant: wall time, seconds per km², the peak memory of the largest process (/usr/bin/time: pedgis or a worker),
of the pedgis process itself (its own ``ru_maxrss``, workers not counted) and per worker (what ``pedgis`` prints at
the end of a cluster run), and the total PV (the variants must agree to the kWh: the same tiles, the same pure
function).

Usage::

    .venv/bin/python -m benchmarks.bench_cluster [--n 10000] [--variants local,1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEAK_WORKER = re.compile(r"Dask: peak memory per worker ([\d,]+) MB")
PEAK_SELF = re.compile(r"PEDGIS_PEAK_KB (\d+)")
# ``python -m pedgis`` that prints its own peak resident memory at the end (its children, the Dask workers, excluded)
PEDGIS_REPORTING_PEAK = ("import resource, runpy, sys\n"
                         "try:\n    runpy.run_module('pedgis', run_name='__main__', alter_sys=True)\n"
                         "finally:\n    print('PEDGIS_PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
                         "file=sys.stderr)")


def _run(inputs: dict, out: Path, variant: str, config: Path) -> dict:
    cmd = ["/usr/bin/time", "-f", "PEAK_KB %M", sys.executable, "-c", PEDGIS_REPORTING_PEAK, "pv",
           "--buildings", str(inputs["buildings"]), "--dsm", str(inputs["dsm"]), "--weather", str(inputs["weather"]),
           "--config", str(config), "--out", str(out)]
    if variant != "local":
        cmd += ["--workers", variant]
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    el = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    peak_kb = int(re.findall(r"PEAK_KB (\d+)", p.stderr)[-1])
    worker = PEAK_WORKER.findall(p.stderr)
    summary = json.loads((out / "pv.json").read_text())
    shutil.rmtree(out, ignore_errors=True)
    return {"variant": "in process" if variant == "local" else f"{variant}-worker LocalCluster",
            "time_s": round(el, 1), "largest_process_peak_mb": round(peak_kb / 1024),
            "pedgis_process_peak_mb": round(int(PEAK_SELF.findall(p.stderr)[-1]) / 1024),
            "peak_per_worker_mb": int(worker[-1].replace(",", "")) if worker else None,
            "pv_kwh": round(summary["pv_kwh"]), "buildings_with_estimate": summary["n_with_estimate"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000, help="DSM size [pixels at 1 m]")
    ap.add_argument("--variants", default="local,1,2", help="'local' (no cluster) and worker counts")
    a = ap.parse_args(argv)
    from benchmarks.bench_cli import make_w1_inputs

    tmp = Path(tempfile.mkdtemp(prefix="pedgis_cluster_"))
    try:
        t = time.perf_counter()
        inputs = make_w1_inputs(tmp / "city", a.n)
        made = time.perf_counter() - t
        config = tmp / "solar.toml"
        config.write_text("[solar]\nkeep_hourly = false\n", encoding="utf-8")
        km2 = a.n * a.n / 1e6
        rows = []
        for v in a.variants.split(","):
            r = _run(inputs, tmp / f"out-{v}", v, config)
            r["s_per_km2"] = round(r["time_s"] / km2, 2)
            rows.append(r)
            print(json.dumps(r), flush=True)
        base = {r["variant"]: r["time_s"] for r in rows}
        one = base.get("1-worker LocalCluster")
        result = {"workload": f"pedgis pv, {a.n} x {a.n} DSM at 1 m ({km2:g} km²), {inputs['n_buildings']} buildings",
                  "inputs_made_s": round(made, 1), "runs": rows,
                  "speedup_2_vs_1_worker": round(one / base["2-worker LocalCluster"], 2)
                  if one and "2-worker LocalCluster" in base else None,
                  "load_before": os.getloadavg()[0]}
        out = ROOT / "benchmarks" / "results" / f"cluster_{a.n}.json"
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
