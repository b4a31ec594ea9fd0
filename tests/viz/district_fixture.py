"""A synthetic output folder following the output contract, for the viz tests and benchmark.

The district-level numbers are the hand example below (``HAND``); per-building rows scale the
same specific values by floor area. Everything in EPSG:32632 (Piedmont, like the sample).

Hand example (annual kWh):
  needs: SH 100 000, SC 20 000, DHW 30 000, lighting 15 000, ventilation 5 000 (= 170 000)
  uses:  SH 60 000 by gas boiler η 0.8 → 75 000 gas; SH 40 000 by heat pump SCOP 4 → 10 000 el;
         SC 20 000 by chiller SEER 4 → 5 000 el; DHW 30 000 by gas boiler η 0.8 → 37 500 gas;
         lighting 15 000 el; ventilation 5 000 el
  carriers: electricity demand 10 000 + 5 000 + 15 000 + 5 000 = 35 000; PV 50 000 →
            on-site 35 000, delivered 0, exported 15 000;
            natural gas demand 75 000 + 37 500 = 112 500, delivered 112 500
  primary (IT factors used only as numbers here): el nren 1.95, gas nren 1.05
            PEI = 112 500 × 1.05 = 118 125; PEE = 15 000 × 1.95 = 29 250
  balance = 118 125 − 29 250 = 88 875 kWh (> 0: not a PED)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Polygon, box

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # tests/: the payload corpus
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from payloads import PAYLOADS  # noqa: E402

# the first five are placed by index below; then the rest of the shared corpus (tests/payloads.py)
_PLACED = [
    "<script>alert(1)</script>",
    "\"double\" & 'single' quotes & ampersands &amp;",
    "</script><img src=x onerror=alert(2)>",
    "Via Roma – Ελληνικά – 中文 – العربية – עברית – 😀",
    "x" * 5000,
]
HOSTILE = _PLACED + [p for p in PAYLOADS if p not in _PLACED]

EL_NREN, EL_REN, GAS_NREN, GAS_REN = 1.95, 0.47, 1.05, 0.0

HAND = {
    "needs": {"space_heating": 100000.0, "space_cooling": 20000.0, "dhw": 30000.0,
              "lighting": 15000.0, "ventilation": 5000.0},
    "uses": [
        {"service": "space_heating", "system": "gas boiler", "kind": "thermal",
         "need_kwh": 60000.0, "use_kwh": 60000.0, "carrier": "natural_gas", "input_kwh": 75000.0},
        {"service": "space_heating", "system": "heat pump", "kind": "thermal",
         "need_kwh": 40000.0, "use_kwh": 40000.0, "carrier": "electricity", "input_kwh": 10000.0},
        {"service": "space_cooling", "system": "chiller", "kind": "thermal",
         "need_kwh": 20000.0, "use_kwh": 20000.0, "carrier": "electricity", "input_kwh": 5000.0},
        {"service": "dhw", "system": "gas boiler", "kind": "thermal",
         "need_kwh": 30000.0, "use_kwh": 30000.0, "carrier": "natural_gas", "input_kwh": 37500.0},
        {"service": "lighting", "system": "direct", "kind": "electric",
         "need_kwh": 15000.0, "use_kwh": 15000.0, "carrier": "electricity", "input_kwh": 15000.0},
        {"service": "ventilation", "system": "direct", "kind": "electric",
         "need_kwh": 5000.0, "use_kwh": 5000.0, "carrier": "electricity", "input_kwh": 5000.0},
    ],
    "generation": [
        {"technology": "pv", "name": "rooftop PV", "output": "electricity", "output_kwh": 50000.0,
         "res": True, "virtual": False, "input_carrier": None, "input_kwh": 0.0},
    ],
    "carriers": [
        {"carrier": "electricity", "demand_kwh": 35000.0, "onsite_kwh": 35000.0,
         "delivered_kwh": 0.0, "exported_kwh": 15000.0, "pef_nren": EL_NREN, "pef_ren": EL_REN,
         "pef_nren_export": EL_NREN, "pef_ren_export": EL_REN, "co2_kg_per_kwh": 0.25,
         "pei_kwh": 0.0, "pee_kwh": 29250.0, "pe_ren_delivered_kwh": 0.0,
         "pe_ren_exported_kwh": 15000.0 * EL_REN, "co2_kg": 0.0},
        {"carrier": "natural_gas", "demand_kwh": 112500.0, "onsite_kwh": 0.0,
         "delivered_kwh": 112500.0, "exported_kwh": 0.0, "pef_nren": GAS_NREN,
         "pef_ren": GAS_REN, "pef_nren_export": GAS_NREN, "pef_ren_export": 0.0,
         "co2_kg_per_kwh": 0.2, "pei_kwh": 118125.0, "pee_kwh": 0.0,
         "pe_ren_delivered_kwh": 0.0, "pe_ren_exported_kwh": 0.0, "co2_kg": 22500.0},
    ],
}


def district_json(breakdown: dict, n_buildings: int, n_included: int) -> dict:
    """Top-level keys of district.json derived from a breakdown (contract names)."""
    car = breakdown["carriers"]
    pei = sum(c["pei_kwh"] for c in car)
    pee = sum(c["pee_kwh"] for c in car)
    needs = breakdown["needs"]
    return {
        "pei_kwh": pei, "pee_kwh": pee, "ped_balance_kwh": pei - pee, "is_ped": pei - pee <= 0,
        "pe_nren_kwh": pei - pee, "pe_ren_kwh": 0.0, "pe_total_kwh": pei - pee, "rer": 0.31,
        "onsite_renewable_share": 0.42,
        "co2eq_kg": sum(c["co2_kg"] for c in car),
        "ten_sh_kwh": needs.get("space_heating", 0.0), "ten_sc_kwh": needs.get("space_cooling", 0.0),
        "ten_dhw_kwh": needs.get("dhw", 0.0),
        "een_kwh": needs.get("lighting", 0.0) + needs.get("ventilation", 0.0),
        "teu_kwh": 150000.0, "eeu_kwh": 20000.0, "tep_res_kwh": 0.0,
        "eep_res_kwh": sum(g["output_kwh"] for g in breakdown["generation"]),
        "ste_kwh": 0.0, "see_kwh": 15000.0,
        "ed_kwh": {c["carrier"]: c["delivered_kwh"] for c in car},
        "exported_kwh": {c["carrier"]: c["exported_kwh"] for c in car},
        "n_buildings": n_buildings, "n_included": n_included,
        "assumptions": {
            "boundary_type": "geographical",
            "objective": "positive energy balance",
            "checklist": {"space_heating": True, "space_cooling": True, "dhw": True,
                          "lighting": True, "ventilation": True, "appliances": False,
                          "ev_charging": False, "public_lighting": False},
            "primary_energy_factors": [
                {"carrier": "electricity", "pef_nren": EL_NREN, "pef_ren": EL_REN,
                 "source": "DM 26/6/2015 (Italy), Allegato 1 <Tab. 1> & notes"},
                {"carrier": "natural_gas", "pef_nren": GAS_NREN, "pef_ren": GAS_REN,
                 "source": "DM 26/6/2015 (Italy), Allegato 1"},
            ],
            "specific_needs": {"residential": {"nzeb": {"space_heating": 34.0,
                                                        "space_cooling": 15.0, "dhw": 10.0},
                                               "source": "paper Table 1"}},
            "hostile_note": HOSTILE[0],
        },
        "breakdown": breakdown,
    }


# --- time-resolved block (district.json -> timeseries, docs/outputs.md), hand numbers -------
# Monthly balances B_m = PEI_m - PEE_m [kWh] chosen so that the year is negative (positive
# under annual netting) but six months import more than they export (not positive under
# DB-HE monthly netting):
#   PEE_m = 5 000, 6 000, 10 000, 15 000, 20 000, 25 000, 25 000, 22 000, 17 000, 12 000,
#           13 000, 10 000                                   -> sum 180 000
#   B_m   = +15 000, +10 000, +5 000, -10 000, -15 000, -20 000, -20 000, -15 000, -10 000,
#           +3 000, +2 000, +5 000                           -> sum -50 000
#   PEI_m = PEE_m + B_m                                      -> sum 130 000
#   uncompensated PEI = 15 000 + 10 000 + 5 000 + 3 000 + 2 000 + 5 000 = 40 000;
#   worst month January (+15 000); months with B_m < 0: 6.
# Electricity (district): load 200 000, on-site 250 000, import 80 000, export 130 000, so
#   self-consumed = 200 000 - 80 000 = 250 000 - 130 000 = 120 000; self-consumption
#   120 000 / 250 000 = 0.48; self-sufficiency 120 000 / 200 000 = 0.60.
# Building by building: import 105 000, export 155 000 -> self-consumed 95 000;
#   self-consumption 95 000 / 250 000 = 0.38; self-sufficiency 95 000 / 200 000 = 0.475.
TS_PEE_M = [5000.0, 6000.0, 10000.0, 15000.0, 20000.0, 25000.0, 25000.0, 22000.0, 17000.0,
            12000.0, 13000.0, 10000.0]
TS_B_M = [15000.0, 10000.0, 5000.0, -10000.0, -15000.0, -20000.0, -20000.0, -15000.0,
          -10000.0, 3000.0, 2000.0, 5000.0]


def timeseries_block(timestep: str = "monthly", hostile: bool = True) -> dict:
    """A ``timeseries`` block with the hand numbers above (battery included)."""
    pei_m = [e + b for e, b in zip(TS_PEE_M, TS_B_M, strict=True)]
    hours = np.arange(24)
    pv_shape = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None)
    load_day = [[8.0 + 4.0 * (7 <= h <= 21) + m % 3 for h in hours] for m in range(12)]
    pv_day = [[round(float(20.0 * (1 + np.sin(m / 11 * np.pi)) * pv_shape[h]), 3) for h in hours]
              for m in range(12)]
    imp = [[max(load_day[m][h] - pv_day[m][h], 0.0) for h in hours] for m in range(12)]
    exp = [[max(pv_day[m][h] - load_day[m][h], 0.0) for h in hours] for m in range(12)]
    netting = {
        "annual": {"ped_balance_kwh": -50000.0, "pei_kwh": 100000.0, "pee_kwh": 150000.0,
                   "rer": 0.6, "is_ped": True},
        "monthly": {"ped_balance_kwh": -50000.0, "pei_kwh": 130000.0, "pee_kwh": 180000.0,
                    "rer": 0.6, "is_ped": False, "uncompensated_pei_kwh": 40000.0,
                    "worst_month": 1, "worst_month_balance_kwh": 15000.0, "months_positive": 6},
        "hourly": {"ped_balance_kwh": -50000.0, "pei_kwh": 160000.0, "pee_kwh": 210000.0,
                   "rer": 0.6, "is_ped": False, "hours_positive": 3100},
    }
    return {
        "timestep": timestep,
        "netting_level": HOSTILE[0] if hostile else "district",
        "verdict": netting[timestep],
        "netting": netting,
        "electricity": {
            "load_kwh": 200000.0, "onsite_kwh": 250000.0, "import_kwh": 80000.0,
            "export_kwh": 130000.0, "self_consumption_kwh": 120000.0, "self_consumption": 0.48,
            "self_sufficiency": 0.6, "peak_import_kw": 95.5, "peak_export_kw": 140.25,
            "hours_net_export": 2400, "grid_interaction": 0.31, "shared_kwh": 25000.0,
            "community_potential_kwh": 25000.0,
            "building_by_building": {"import_kwh": 105000.0, "export_kwh": 155000.0,
                                     "self_consumption": 0.38, "self_sufficiency": 0.475,
                                     "peak_import_kw": 101.0, "peak_export_kw": 150.0},
        },
        "storage": {"battery": {"level": "district", "round_trip_efficiency": 0.9,
                                "charge_kwh": 10000.0, "discharge_kwh": 9000.0,
                                "losses_kwh": 1000.0}},
        "monthly": {"month": list(range(1, 13)), "pei_kwh": pei_m, "pee_kwh": TS_PEE_M,
                    "balance_kwh": TS_B_M, "load_kwh": [200000.0 / 12] * 12,
                    "onsite_kwh": [250000.0 / 12] * 12, "pv_kwh": [250000.0 / 12] * 12,
                    "import_kwh": [80000.0 / 12] * 12, "export_kwh": [130000.0 / 12] * 12},
        "typical_day": {"hour": hours.tolist(), "month": list(range(1, 13)), "load_kw": load_day,
                        "onsite_kw": pv_day, "pv_kw": pv_day, "import_kw": imp,
                        "export_kw": exp},
    }


def add_timeseries_columns(b: gpd.GeoDataFrame, timestep: str = "monthly") -> gpd.GeoDataFrame:
    """Per-building time-resolved columns (docs/outputs.md), NaN for excluded buildings."""
    b = b.copy()
    k = np.arange(len(b), dtype=float)
    inc = b["included"].to_numpy(bool)
    cols = {
        "self_sufficiency": (k % 10) / 10.0,
        "self_consumption": 0.25 + (k % 4) / 8.0,
        "peak_import_kw": 5.0 + 2.5 * k,
        "peak_export_kw": 3.0 + k,
        "hours_net_export": 100.0 * (k % 7),
        f"ped_balance_{timestep}_kwh": (k - len(b) / 2) * 1000.0,
        "shared_in_kwh": 50.0 * k,
        "shared_out_kwh": 30.0 * k,
    }
    for name, v in cols.items():
        b[name] = np.where(inc, v, np.nan)
    b.loc[inc & (k % 9 == 4), "self_consumption"] = np.nan  # no PV: no self-consumption
    return b


def make_buildings(n: int, hostile: bool = True, seed: int = 1) -> gpd.GeoDataFrame:
    """``n`` footprints on a grid near 45° N 8° E (EPSG:32632) with contract columns."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    x0, y0 = 421000.0, 4982000.0
    geoms, rows = [], []
    for k in range(n):
        i, j = divmod(k, side)
        w, h = rng.uniform(8, 22), rng.uniform(8, 18)
        x, y = x0 + j * 30.0, y0 + i * 30.0
        if k % 7 == 3:  # an L-shaped footprint with some more vertices
            poly = Polygon([(x, y), (x + w, y), (x + w, y + h / 2), (x + w / 2, y + h / 2),
                            (x + w / 2, y + h), (x, y + h)])
        else:
            poly = box(x, y, x + w, y + h)
        geoms.append(poly)
        floors = int(rng.integers(1, 7))
        fp = poly.area
        fa = fp * floors * 0.85
        spec = rng.uniform(0.5, 1.6)  # older and newer buildings
        sh, sc, dhw = fa * 100 / 1.7 * spec, fa * 20 / 1.7, fa * 30 / 1.7
        el = fa * 20 / 1.7
        pv = fp * 0.6 * 200 * 0.15 * 0.8 * 8
        gas_in = (0.6 * sh + dhw) / 0.8
        el_in = 0.4 * sh / 4 + sc / 4 + el
        pei = gas_in * GAS_NREN + max(el_in - pv, 0) * EL_NREN
        pee = max(pv - el_in, 0) * EL_NREN
        rows.append({
            "building_id": f"B{k + 1:05d}", "name": f"Building {k + 1}",
            "included": k % 11 != 5,
            "exclusion_reason": "" if k % 11 != 5 else "outside the district boundary",
            "use": ["residential", "office", "education", "commercial"][k % 4],
            "footprint_area_m2": fp, "floors": float(floors), "height_m": 3.0 * floors,
            "floor_area_m2": fa, "ten_sh_kwh": sh, "ten_sc_kwh": sc, "ten_dhw_kwh": dhw,
            "een_kwh": el, "eeu_kwh": el_in, "teu_kwh": sh + sc + dhw,
            "pv_area_m2": fp * 0.6, "pv_kwp": fp * 0.6 * 0.2, "pv_kwh": pv,
            "roof_irradiation_kwh_m2": float(rng.uniform(900, 1500)) if k % 13 != 7 else np.nan,
            "pei_kwh": pei, "pee_kwh": pee, "ped_balance_kwh": pei - pee,
            "flags": "" if k % 5 else "height from default; floors estimated",
        })
    df = pd.DataFrame(rows)
    if hostile:
        for h, text in enumerate(HOSTILE):
            if h < n:
                df.loc[h, "name"] = text
                df.loc[h, "flags"] = text
        if n > 1:
            df.loc[1, "building_id"] = HOSTILE[1]
            df.loc[2 % n, "use"] = HOSTILE[3]
            df.loc[2 % n, "exclusion_reason"] = HOSTILE[2]
    return gpd.GeoDataFrame(df, geometry=geoms, crs=32632)


def write_folder(folder: Path, n: int = 24, hostile: bool = True, raster: bool = True,
                 timeseries: str | None = None) -> Path:
    """Write district.json, buildings.gpkg (buildings/boundary/roof_segments), irradiation.tif.

    ``timeseries``: a timestep (``"monthly"``, …) adds the time-resolved block and columns.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    b = make_buildings(n, hostile=hostile)
    if timeseries:
        b = add_timeseries_columns(b, timeseries)
    gpkg = folder / "buildings.gpkg"
    b.to_file(gpkg, layer="buildings", driver="GPKG")
    minx, miny, maxx, maxy = b.total_bounds
    boundary = gpd.GeoDataFrame({"name": [HOSTILE[0] if hostile else "district"]},
                                geometry=[box(minx - 5, miny - 5, maxx + 5, maxy + 5)], crs=32632)
    boundary.to_file(gpkg, layer="boundary", driver="GPKG")
    segs, segrows = [], []
    for bid, g in zip(b["building_id"], b.geometry, strict=True):
        x0, y0, x1, y1 = g.bounds
        xm = (x0 + x1) / 2
        for half, (a, c) in enumerate([(x0, xm), (xm, x1)]):
            segs.append(box(a, y0, c, y1).intersection(g))
            segrows.append({"building_id": bid, "tilt": 30.0, "azimuth": 90.0 + 180 * half,
                            "area_m2": segs[-1].area, "irradiation_kwh_m2": 1000.0 + 300 * half,
                            "usable": True, "pv_kwp": 1.0, "pv_kwh": 1000.0})
    gpd.GeoDataFrame(segrows, geometry=segs, crs=32632).to_file(gpkg, layer="roof_segments",
                                                                 driver="GPKG")
    district = district_json(HAND, n_buildings=n, n_included=int(b["included"].sum()))
    if timeseries:
        district["timeseries"] = timeseries_block(timeseries, hostile=hostile)
    (folder / "district.json").write_text(json.dumps(district, indent=1, ensure_ascii=False),
                                          encoding="utf-8")
    if raster:
        import rasterio
        from rasterio.transform import from_origin

        res = 1.0
        w, h = int((maxx - minx) / res) + 1, int((maxy - miny) / res) + 1
        yy, xx = np.mgrid[0:h, 0:w]
        arr = (900.0 + 600.0 * xx / max(w, 1)).astype("float32")
        arr[(yy % 30) > 20] = -9999.0  # nodata strips (streets)
        with rasterio.open(folder / "irradiation.tif", "w", driver="GTiff", width=w, height=h,
                           count=1, dtype="float32", crs="EPSG:32632", nodata=-9999.0,
                           transform=from_origin(minx, maxy, res, res)) as dst:
            dst.write(arr, 1)
    return folder


def pedgis_output(src: Path, dest: Path) -> Path:
    """A copy of the folder ``src`` as a pedgis output folder (with its manifest), written through
    the output writer as a run would: what ``pedgis map`` accepts."""
    import shutil

    from pedgis.io.outdir import prepare_output

    with prepare_output(dest, command="tests: district_fixture") as folder:
        for f in Path(src).iterdir():
            shutil.copy(f, folder.path / f.name)
        return folder.commit()
