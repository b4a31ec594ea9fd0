"""Cost of the output folder's manifest (sha256 + fsync of every output) on the sample run.

    .venv/bin/python -m benchmarks.bench_outdir [--repeat 5]

Runs ``pedgis demo`` ``--repeat`` times, each in a fresh process, and times inside each run the
whole demo, the manifest (hashing and syncing every file: ``pedgis.io.outdir._write_manifest``)
and the swap into place (``OutputFolder.commit`` without the manifest). Prints the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time
from pedgis.io import outdir
from pedgis.cli import main

times = {"manifest_s": 0.0, "commit_s": 0.0, "bytes": 0}
write_manifest, commit = outdir._write_manifest, outdir.OutputFolder.commit

def timed_manifest(folder, command):
    t = time.perf_counter()
    m = write_manifest(folder, command)
    times["manifest_s"] += time.perf_counter() - t
    times["bytes"] += sum(e["size"] for e in m["files"])
    return m

def timed_commit(self):
    t = time.perf_counter()
    try:
        return commit(self)
    finally:
        times["commit_s"] += time.perf_counter() - t

outdir._write_manifest, outdir.OutputFolder.commit = timed_manifest, timed_commit
t = time.perf_counter()
code = main(["demo", "--out", sys.argv[1], "--quiet"])
times["demo_s"] = time.perf_counter() - t
assert code == 0
print("BENCH " + json.dumps(times))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            r = subprocess.run([sys.executable, "-c", CHILD, f"{tmp}/out"], capture_output=True, text=True, check=True)
            line = next(x for x in r.stdout.splitlines() if x.startswith("BENCH "))
            runs.append(json.loads(line[6:]))
            print(f"run {i + 1}: " + ", ".join(f"{k} {v:.3f}" if k != "bytes" else f"{k} {v}" for k, v in runs[-1].items()))
    med = {k: statistics.median(r[k] for r in runs) for k in ("demo_s", "manifest_s", "commit_s")}
    swap = med["commit_s"] - med["manifest_s"]
    print(f"median of {len(runs)}: demo {med['demo_s']:.2f} s; manifest (sha256 + fsync of "
          f"{runs[0]['bytes'] / 1e6:.1f} MB) {med['manifest_s'] * 1000:.0f} ms "
          f"= {100 * med['manifest_s'] / med['demo_s']:.2f} % of the run; swap and removal of the previous tree "
          f"{swap * 1000:.0f} ms")


if __name__ == "__main__":
    main()
