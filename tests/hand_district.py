"""The hand-worked three-building district of tests/test_pipeline.py (its docstring has the
numbers), shared with the time-resolved tests."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import box

from pedgis.config import scenario_from_dict


def hand_district(tmp_path, extra=None, pv=30000.0, origin=(0.0, 0.0)):
    """Write the footprints (10 m × 10 m, 20 m apart from ``origin`` in EPSG:32632) and return the
    scenario; ``extra`` updates top-level sections."""
    x0, y0 = origin
    gdf = gpd.GeoDataFrame(
        {"ID": ["A", "B", "C"], "USE": ["residential"] * 3, "FLOORS": [2, 1, 3], "PVKWH": [pv, np.nan, np.nan]},
        geometry=[box(x0 + dx, y0, x0 + dx + 10, y0 + 10) for dx in (0, 20, 40)], crs="EPSG:32632")
    gdf.to_file(tmp_path / "b.gpkg")
    doc = {
        "scenario": {"name": "three", "country": "IT"},
        "boundary": {"type": "none"},
        "buildings": {"path": "b.gpkg", "columns": {"building_id": "ID", "use": "USE", "floors": "FLOORS", "pv_kwh": "PVKWH"}},
        "heights": {"gross_to_conditioned": 1.0},
        "needs": {"overrides": {"residential": {"sh_kwh_m2": 100.0, "sc_kwh_m2": 20.0, "dhw_kwh_m2": 20.0,
                                                "lighting_kwh_m2": 5.0, "ventilation_kwh_m2": 5.0, "appliances_kwh_m2": 0.0}}},
        "systems": {
            "hp": {"kind": "heat_pump", "services": ["sh", "sc", "dhw"], "buildings": ["A"], "scop": 4.0, "scop_dhw": 4.0,
                   "seer": 5.0, "eta_emitter": 1.0, "eta_distribution": 0.9},
            "gas": {"kind": "boiler", "carrier": "natural_gas", "services": ["sh", "dhw"], "buildings": ["B"], "eta": 0.9,
                    "eta_emitter": 1.0, "eta_distribution": 0.9},
            "sub": {"kind": "district_heating", "services": ["sh", "dhw"], "buildings": ["C"], "network": "net",
                    "eta": 1.0, "eta_emitter": 1.0, "eta_distribution": 1.0},
            "ac": {"kind": "heat_pump", "services": ["sc"], "default": True, "seer": 5.0, "eta_emitter": 1.0, "eta_distribution": 0.9},
        },
        "district_systems": {
            "net": {"technology": "heat_network", "losses": 0.1},
            "chp": {"technology": "chp", "fuel": "biomass", "network": "net", "eta_el": 0.25, "eta_th": 0.6},
        },
        "carriers": {
            "electricity": {"pef_nren": 2.0, "pef_ren": 0.5, "co2_kg_per_kwh": 0.3},
            "natural_gas": {"pef_nren": 1.1, "pef_ren": 0.0, "co2_kg_per_kwh": 0.2},
            "biomass": {"pef_nren": 0.2, "pef_ren": 1.0, "co2_kg_per_kwh": 0.04},
            "district_heat": {"pef_nren": 1.5, "pef_ren": 0.0, "co2_kg_per_kwh": 0.25},
        },
    }
    for k, v in (extra or {}).items():
        doc.setdefault(k, {}).update(v)
    return scenario_from_dict(doc, base_dir=tmp_path)
