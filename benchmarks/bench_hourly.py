"""Hourly balance of 10,000 buildings × 8,760 h: wall time and peak memory.

Run: ``.venv/bin/python -m benchmarks.bench_hourly [--buildings 10000] [--chunk 512] [--repeat 3]
[--workers N] [--no-sharing]``; ``--workers N`` maps the chunks on a Dask LocalCluster of N
processes (pedgis/cluster.py; the peak memory per worker is reported too). Sharing's second
pass over the chunks (the allocation) runs in the calling process.
Synthetic but realistic annual inputs (eight use types, heat pumps with a COP curve, gas boilers,
PV on 60 % of the buildings, batteries on 30 %, sharing on); profiles from the bundled SIA 2024
tables and a synthetic temperature year. Reports the median wall and CPU time of ``--repeat``
runs (CPU time is the steadier number on a shared machine), the load average, and the peak
resident memory (``ru_maxrss``) of the process.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
import pandas as pd


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--buildings", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sharing", action="store_true", default=True)
    ap.add_argument("--no-sharing", dest="sharing", action="store_false")
    ap.add_argument("--workers", type=int, default=None, help="chunks on a LocalCluster of N workers")
    args = ap.parse_args(argv)

    from pedgis.cluster import cluster
    from pedgis.timeseries import balance as bl
    from pedgis.timeseries.profiles import hourly_calendar, use_shapes
    from pedgis.timeseries.series import HeatPumpSeries, SeriesSpec, chunk_factory

    rng = np.random.default_rng(1)
    n = args.buildings
    idx = pd.date_range("2018-01-01", periods=8760, freq="h", tz="UTC")
    doy = np.arange(8760) / 24.0
    temp = 10 - 12 * np.cos(2 * np.pi * (doy - 15) / 365) - 4 * np.cos(2 * np.pi * (np.arange(8760) % 24 - 3) / 24)
    cal = hourly_calendar(idx)
    uses = np.array(["residential", "office", "commercial", "education", "health", "hotel", "sports", "industrial"])
    area = rng.uniform(150, 5000, n)
    hp = rng.random(n) < 0.5
    q_sh = area * rng.uniform(30, 120, n)
    table = pd.DataFrame({
        "use": rng.choice(uses, n, p=[0.6, 0.15, 0.1, 0.05, 0.02, 0.03, 0.02, 0.03]),
        "light": area * 8.0, "vent": area * 4.0, "app": area * 20.0, "dhw_el": area * 3.0,
        "q_sh": np.where(hp, q_sh, 0.0), "e_sh": np.where(hp, q_sh / 3.2, 0.0),
        "gas": np.where(hp, 0.0, q_sh / 0.92), "pv_kwh": np.where(rng.random(n) < 0.6, area * 25.0, 0.0),
    })
    pv = np.clip(np.sin(np.pi * ((np.arange(8760) % 24) - 6) / 12), 0, None) * (1.2 - np.cos(2 * np.pi * doy / 365))
    pv /= pv.sum()
    spec = SeriesSpec(electricity={"light": "lighting", "vent": "ventilation", "app": "appliances", "dhw_el": "dhw"},
                      heat_pumps=[HeatPumpSeries("q_sh", "e_sh", "sh")], fuels={"gas": {"gas": "sh"}})
    factors = {"electricity": bl.CarrierFactors(1.954, co2_kg_per_kwh=0.331), "gas": bl.CarrierFactors(1.19)}
    cap = np.where(rng.random(n) < 0.3, 10.0, 0.0)
    battery = bl.BatterySpec(capacity_kwh=cap, power_kw=5.0, round_trip_efficiency=0.9)
    times, cpu = [], []
    said = []
    with cluster(workers=args.workers, say=said.append):
        for i in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            shapes = use_shapes(table["use"], cal, temp)
            mk = chunk_factory(table, spec, shapes, pv, cop=np.interp(temp, [-10, 15], [2.2, 4.5]),
                               heat_pump_detail=False)
            r = bl.run_balance(mk, n, cal, factors, "hourly", chunk_size=args.chunk, battery=battery,
                               sharing=args.sharing)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            print(f"run {i + 1}: {times[-1]:.2f} s wall, {cpu[-1]:.2f} s CPU", flush=True)
    for line in said:
        print(line)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    v = r.district["verdict"]
    print(f"buildings={n} hours=8760 chunk={args.chunk} sharing={args.sharing} batteries={int((cap > 0).sum())} "
          f"workers={args.workers or 'none (in process)'}")
    print(f"median wall time: {statistics.median(times):.2f} s  (min {min(times):.2f}, max {max(times):.2f}); "
          f"median CPU time of this process {statistics.median(cpu):.2f} s; load average {__import__('os').getloadavg()[0]:.1f}")
    print(f"peak RSS of this process: {rss_mb:.0f} MB")
    print(f"district PED balance (hourly netting): {v['ped_balance_kwh'] / 1e6:.6f} GWh, "
          f"self-sufficiency {r.district['electricity']['self_sufficiency']:.6f}")


if __name__ == "__main__":
    main()
