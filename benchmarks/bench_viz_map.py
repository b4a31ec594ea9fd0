"""Size and load time of map.html for a large district (default 20,000 buildings).

Usage::

    .venv/bin/python benchmarks/bench_viz_map.py [--n 20000] [--repeat 3] [--city-threshold N]

Above ``pedgis.viz.maps.CITY_THRESHOLD`` buildings the page draws cells and loads the buildings
of the view from ``map_tiles/`` when zoomed in; ``--city-threshold`` moves that line (a huge
value measures the one self-contained page at any size). For a city page the time to zoom in to
the buildings (zoom 17 at the centre, until the tiles of the view are drawn) is measured too.

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
import os
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

import pedgis.viz.maps as maps  # noqa: E402
from pedgis.viz import write_all  # noqa: E402
from pedgis.viz.maps import build_map_files  # noqa: E402

FRAME = "new Promise(function (r) { requestAnimationFrame(function () { " \
        "requestAnimationFrame(function () { r(performance.now()); }); }); })"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--city-threshold", type=int, default=None,
                    help=f"buildings above which the page draws cells and tiles (default {maps.CITY_THRESHOLD})")
    args = ap.parse_args()
    if args.city_threshold is not None:
        maps.CITY_THRESHOLD = args.city_threshold
    city = args.n > maps.CITY_THRESHOLD
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        write_folder(folder, n=args.n, hostile=False)
        t_fixture = time.perf_counter() - t0
        builds = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            build_map_files(folder)
            builds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        write_all(folder, folder)
        t_all = time.perf_counter() - t0
        sizes = {p: (folder / p).stat().st_size / 1e6
                 for p in ("map.html", "sankey.html", "report.html")}
        loads, frames, switches, zooms = [], [], [], []
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
                if city:  # zoom in at the centre: the tiles of the view load and are drawn
                    t0 = time.perf_counter()
                    b.eval("(function () { var m = pedgisMapInfo.map; m.setView(m.getCenter(), 17); return 1; })()")
                    b.wait_for("pedgisMapInfo.city.loaded() > 0", timeout=120)
                    b.eval(FRAME)
                    zooms.append(time.perf_counter() - t0)
                    loaded = b.eval("pedgisMapInfo.city.loaded()")
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
            "page": "cells + map_tiles/" if city else "self-contained",
        }
        if city:
            tiles = list((folder / maps.TILE_DIR).glob("*.js"))
            result.update({"tiles": len(tiles), "tiles_mb": round(sum(p.stat().st_size for p in tiles) / 1e6, 2),
                           "zoom_in_to_buildings_median_s": round(statistics.median(zooms), 2),
                           "buildings_loaded_at_zoom_17": loaded})
        print(json.dumps(result, indent=1))
        out = ROOT / "benchmarks" / "results" / f"viz_map_{args.n}{'_city' if city else ''}.json"
        out.write_text(json.dumps({**result, "when": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                     time.gmtime()),
                                   "load_average": [round(x, 1) for x in os.getloadavg()]},
                                  indent=1) + "\n")


if __name__ == "__main__":
    main()
