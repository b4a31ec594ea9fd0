"""Benchmark: buildings read from PostGIS and results written back, against the same buildings
in a GeoPackage.

A real PostgreSQL + PostGIS server (tests/pg_server.py; Debian's packages) in a temporary
folder; N rectangular footprints on a grid with a dozen attributes, loaded by COPY. Timed:
``read_vector_data`` of the GeoPackage, ``read_postgis_data`` of the table and of a query, and
``write_result`` of a run's buildings table (the pipeline's columns, N rows) into a schema, twice
(the second replaces the first in one transaction).

Usage::

    .venv/bin/python -m benchmarks.bench_postgis [--n 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np


def footprints(n: int):
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(3)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x0 = 400000.0 + (i % side) * 25.0
    y0 = 5000000.0 + (i // side) * 25.0
    w, h = rng.uniform(8, 18, n), rng.uniform(8, 18, n)
    geoms = shapely.box(x0, y0, x0 + w, y0 + h)
    return gpd.GeoDataFrame({"CAD_ID": [f"E{k:07d}" for k in i], "CATEGORIA": rng.choice(["A/2", "A/3", "C/1"], n),
                             "N_PIANI": rng.integers(1, 9, n), "ALTEZZA": rng.uniform(3, 27, n).round(2),
                             "ANNO": rng.integers(1900, 2020, n), "INDIRIZZO": [f"Via {k % 500}, {k % 90}" for k in i]},
                            geometry=geoms, crs="EPSG:32632")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import psycopg
    import shapely
    from pg_server import PostgisServer

    from pedgis.io.postgis import DatabaseSource, Target, read_postgis_data, write_result
    from pedgis.io.vector import read_vector_data

    gdf = footprints(args.n)
    tmp = Path(tempfile.mkdtemp(prefix="bench-postgis-"))
    gpkg = tmp / "b.gpkg"
    gdf.to_file(gpkg)
    t = time.perf_counter()
    srv = PostgisServer()
    print(f"server started in {time.perf_counter() - t:.1f} s")
    try:
        with psycopg.connect(srv.url) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE b (\"CAD_ID\" text, \"CATEGORIA\" text, \"N_PIANI\" int, \"ALTEZZA\" numeric(6,2), "
                        "\"ANNO\" int, \"INDIRIZZO\" text, geom geometry(Polygon, 32632))")
            with cur.copy("COPY b FROM STDIN") as cp:
                hexes = shapely.to_wkb(shapely.set_srid(gdf.geometry.values, 32632), hex=True, include_srid=True)
                for row, g in zip(gdf.drop(columns="geometry").itertuples(index=False), hexes, strict=True):
                    cp.write_row([*row, g])
        runs: dict[str, list[float]] = {"gpkg read": [], "PostGIS table read": [], "PostGIS query read": [],
                                        "PostGIS write (replace)": []}
        result = SimpleNamespace(buildings=gdf.assign(building_id=gdf["CAD_ID"], included=True, use="residential",
                                                      floor_area_m2=gdf.area * gdf["N_PIANI"] * 0.85,
                                                      pei_kwh=1.0, ped_balance_kwh=0.5, flags=""),
                                 boundary=None, roof_segments=None, district={"scenario": "bench", "pei_kwh": 1.0})
        for _ in range(args.repeat):
            for name, fn in (("gpkg read", lambda: read_vector_data(gpkg)),
                             ("PostGIS table read", lambda: read_postgis_data(DatabaseSource(srv.url, layer="public.b"))),
                             ("PostGIS query read", lambda: read_postgis_data(DatabaseSource(
                                 srv.url, sql="SELECT * FROM b WHERE \"ANNO\" >= 1900"))),
                             ("PostGIS write (replace)", lambda: write_result(result, Target(srv.url, "bench")))):
                t = time.perf_counter()
                out = fn()
                runs[name].append(time.perf_counter() - t)
                if name.endswith("read"):
                    assert len(out.gdf) == args.n
        for name, ts in runs.items():
            print(f"{name:26s} {args.n:,} buildings: median {statistics.median(ts):.2f} s ({', '.join(f'{x:.2f}' for x in ts)})")
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
