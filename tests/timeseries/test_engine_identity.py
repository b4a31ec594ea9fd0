"""The time-resolved balance against the annual engine: with annual netting both must give the
same numbers, building by building and for the district (docs/timeseries.md)."""

from pathlib import Path

import numpy as np
import pytest

from pedgis.config import read_toml, scenario_from_dict
from pedgis.pipeline import run

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"

pytestmark = pytest.mark.skipif(not (SAMPLE / "scenario.toml").exists(), reason="sample_data not present")


def sample(timestep: str, **sections):
    raw = read_toml(SAMPLE / "scenario.toml")
    raw["scenario"]["timestep"] = timestep
    for sec, over in sections.items():
        raw[sec] = {**raw.get(sec, {}), **over}
    return run(scenario_from_dict(raw, base_dir=SAMPLE))


def test_eq22_export_co2_factor_in_every_netting_rule():
    # IT factors (pedgis/data/primary_energy_factors.csv): CO2 per delivered kWh; electricity
    # exports earn no CO2 credit here (co2_kg_per_kwh_export = 0)
    co2 = {"electricity": 0.27, "natural_gas": 0.201, "biomass": 0.04, "district_heat": 0.26}
    res = sample("hourly", carriers={"electricity": {"co2_kg_per_kwh_export": 0.0}})
    d, ts = res.district, res.district["timeseries"]
    assert d["exported_kwh"]["electricity"] > 0
    # engine (Eq. 22): Σ ED_c × f_c − Σ EX_c × 0
    assert d["co2eq_kg"] == pytest.approx(sum(v * co2[c] for c, v in d["ed_kwh"].items()), rel=1e-9)
    for rule in ("annual", "monthly", "hourly"):
        n = ts["netting"][rule]
        by_hand = sum(v * co2[c] for c, v in n["ed_kwh"].items() if c in co2)
        assert n["co2eq_kg"] == pytest.approx(by_hand, rel=1e-9), rule
    assert ts["netting"]["annual"]["co2eq_kg"] == pytest.approx(d["co2eq_kg"], rel=1e-9)
