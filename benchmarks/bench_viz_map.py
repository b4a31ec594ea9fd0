"""Size and load time of map.html for a large district (default 20,000 buildings).

Usage::

    .venv/bin/python benchmarks/bench_viz_map.py [--n 20000] [--repeat 3]

Builds a synthetic output folder (tests/viz/district_fixture.py: footprints on a grid in
EPSG:32632, two roof segments per building, an irradiation raster), renders the pages with
``pedgis.viz.write_all`` and opens map.html in headless chromium (offline) through the
DevTools protocol. Reports medians: time to build the HTML in Python, file sizes, time from
navigation to the load event, to the first frame drawn after it, and to switch the indicator
(a click in the layer control, until the next frame).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "viz"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from cdp import Browser  # noqa: E402
from district_fixture import write_folder  # noqa: E402

from pedgis.viz import write_all  # noqa: E402
from pedgis.viz.maps import build_map  # noqa: E402

FRAME = "new Promise(function (r) { requestAnimationFrame(function () { " \
        "requestAnimationFrame(function () { r(performance.now()); }); }); })"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        write_folder(folder, n=args.n, hostile=False)
        t_fixture = time.perf_counter() - t0
        builds = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            build_map(folder)
            builds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        write_all(folder, folder)
        t_all = time.perf_counter() - t0
        sizes = {p: (folder / p).stat().st_size / 1e6
                 for p in ("map.html", "sankey.html", "report.html")}
        loads, frames, switches = [], [], []
        with Browser(width=1280, height=860, timeout=300) as b:
            for _ in range(args.repeat):
                t_load = b.open(folder / "map.html")
                t_nav = b.eval("performance.timeOrigin")
                t_frame = b.eval(FRAME)  # ms since navigation start
                errors = b.errors()
                assert not errors, errors
                n = b.eval("window.pedgisMapInfo.nBuildings")
                assert n == args.n, n
                loads.append(t_load)
                frames.append(t_frame / 1000.0)
                t0 = time.perf_counter()
                b.eval("""(function () {
                  var ls = Array.from(document.querySelectorAll('.leaflet-control-layers label'));
                  ls.find(function (x) { return x.textContent.trim().startsWith('Energy needs');
                  }).querySelector('input').click(); })()""")
                b.eval(FRAME)
                switches.append(time.perf_counter() - t0)
                del t_nav
            (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
            b.screenshot(ROOT / "benchmarks" / "results" / f"map_{args.n}.png")
        result = {
            "n_buildings": args.n,
            "fixture_s": round(t_fixture, 2),
            "build_map_median_s": round(statistics.median(builds), 2),
            "write_all_s": round(t_all, 2),
            "size_mb": {k: round(v, 2) for k, v in sizes.items()},
            "load_event_median_s": round(statistics.median(loads), 2),
            "first_frame_median_s": round(statistics.median(frames), 2),
            "switch_indicator_median_s": round(statistics.median(switches), 2),
            "renderer": "canvas",
        }
        print(json.dumps(result, indent=1))
        out = ROOT / "benchmarks" / "results" / f"viz_map_{args.n}.json"
        out.write_text(json.dumps({**result, "when": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                     time.gmtime()),
                                   "note": "2 shared cores, load average ~8 during the run"},
                                  indent=1) + "\n")


if __name__ == "__main__":
    main()
