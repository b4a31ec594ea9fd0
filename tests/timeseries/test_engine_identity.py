"""The time-resolved balance against the annual engine: with annual netting both must give the
same numbers, building by building and for the district (docs/timeseries.md)."""

from pathlib import Path

import numpy as np
import pytest
from hand_district import hand_district

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


@pytest.mark.parametrize("timestep", ["monthly", "hourly"])
def test_per_building_annual_netting_equals_the_engine_on_the_sample(timestep):
    # With annual netting the hourly series give back each building's own balance of the engine
    # (docs/methodology.md item 11): same carriers, same factors — the network's own factor for
    # heat from the district's heat network — only spread over the hours and summed again.
    res = sample(timestep)
    b, d = res.buildings, res.district
    inc = b["included"].to_numpy()
    assert {"ped_balance_annual_kwh", "ped_balance_monthly_kwh", "ped_balance_hourly_kwh"} <= set(b.columns)
    on_net = inc & (b["system_sh"] == "dh_substations").to_numpy()
    assert on_net.sum() > 0  # the sample's flats and public buildings on the biomass-CHP network
    for k in ("pei", "pee", "ped_balance"):
        np.testing.assert_allclose(b.loc[inc, f"{k}_annual_kwh"], b.loc[inc, f"{k}_kwh"], rtol=1e-9, atol=1e-6)
    assert np.isnan(b.loc[~inc, "ped_balance_annual_kwh"]).all()
    # the district systems (CHP, network, public lighting) as one more row, like the engine's entity
    node = d["timeseries"]["district_systems"]
    assert node["ped_balance_annual_kwh"] == pytest.approx(d["district_systems_ped_balance_kwh"], rel=1e-9)
    total = b.loc[inc, "ped_balance_annual_kwh"].sum() + node["ped_balance_annual_kwh"] + d["netting_effect_kwh"]
    assert total == pytest.approx(d["ped_balance_kwh"], rel=1e-9)


def _tiny_district(tmp_path, timestep):
    """The hand-worked three buildings of tests/test_pipeline.py (A heat pump + 30,000 kWh PV, B gas
    boiler, C on a heat network with 10 % losses fed by a heat-led biomass CHP), placed at the
    weather file's location (EPSG:32632 420,000 / 4,983,000 ≈ 45.0 °N 8.0 °E), with the sample's
    weather year."""
    return hand_district(tmp_path, origin=(420000.0, 4983000.0),
                         extra={"scenario": {"timestep": timestep},
                                "weather": {"path": str(SAMPLE / "weather" / "pvgis_tmy_45N_8E.epw")}})


@pytest.mark.parametrize("timestep", ["annual", "monthly"])
def test_per_building_time_resolved_balance_by_hand(tmp_path, timestep):
    from pedgis.io.weather import read_weather
    from pedgis.pipeline import compute, resolve_model
    from pedgis.timeseries.integrate import options_from_doc, time_resolved

    sc = _tiny_district(tmp_path, timestep)
    weather = read_weather(sc.doc["weather"]["path"])
    step1 = run(sc).buildings[["building_id", "included", "use", "floor_area_m2", "flags", "pv_kwh"]].copy()
    step1["solar_thermal_kwh"] = [0.0, 3000.0, 0.0]  # B's own collectors cover 3,000 kWh of its DHW and SH
    model = resolve_model(sc, weather)
    out, d = compute(step1, model)
    ts, cols, _ = time_resolved(step1, model, weather, d, out, options_from_doc(sc.doc))
    got = dict(zip(out["building_id"], cols["ped_balance_annual_kwh"], strict=True))
    # A: 200 m², EEU = 2,000 + 20,000/0.9/4 + 4,000/0.9/4 + 4,000/0.9/5 = 9,555.56; PV 30,000 → export
    # 20,444.44 at PEF 2.0: −40,888.89
    eeu_a = 200 * 10 + 200 * 100 / 0.9 / 4 + 200 * 20 / 0.9 / 4 + 200 * 20 / 0.9 / 5
    assert got["A"] == pytest.approx(-(30000 - eeu_a) * 2.0, abs=1e-3)
    # B: gas (13,333.33 − 3,000 solar) / 0.9 = 11,481.48 at 1.1, EEU 1,000 + 2,000/0.9/5 = 1,444.44 at 2.0
    gas_b = ((100 * 100 + 100 * 20) / 0.9 - 3000.0) / 0.9
    eeu_b = 100 * 10 + 100 * 20 / 0.9 / 5
    assert got["B"] == pytest.approx(gas_b * 1.1 + eeu_b * 2.0, abs=1e-3)              # 15,518.52
    # C: 36,000 kWh of network heat at the network's own factor, not district heating's 1.5:
    # CHP heat 40,000 (10 % losses), fuel 66,666.67, electricity 16,666.67; the heat's fuel share
    # 66,666.67 × 40,000 / 56,666.67 × 0.2 / 36,000 = 0.26144 → 9,411.76 + 4,333.33 × 2.0 = 18,078.43
    chp_fuel = 36000 / 0.9 / 0.6
    chp_el = chp_fuel * 0.25
    f_net = chp_fuel * (36000 / 0.9) / (36000 / 0.9 + chp_el) * 0.2 / 36000
    eeu_c = 300 * 10 + 300 * 20 / 0.9 / 5
    assert got["C"] == pytest.approx(36000 * f_net + eeu_c * 2.0, abs=1e-3)
    assert got["C"] == pytest.approx(18078.43, abs=0.01)
    # C and B produce nothing: every netting period gives them the same balance
    for k in ("B", "C"):
        i = list(out["building_id"]).index(k)
        assert cols["ped_balance_monthly_kwh"].iloc[i] == pytest.approx(got[k], abs=1e-3)
        assert cols["ped_balance_hourly_kwh"].iloc[i] == pytest.approx(got[k], abs=1e-3)
    # and each equals the engine's own per-building balance
    np.testing.assert_allclose(cols["ped_balance_annual_kwh"], out["ped_balance_kwh"], rtol=1e-9)
    # the network and its CHP as one more row: biomass 66,666.67 × 0.2 in; CHP electricity
    # 16,666.67 × 2.0 and the heat delivered to C, 36,000 × 0.26144, out: −29,411.76
    node = ts["district_systems"]["ped_balance_annual_kwh"]
    assert node == pytest.approx(chp_fuel * 0.2 - chp_el * 2.0 - 36000 * f_net, abs=1e-3)
    assert node == pytest.approx(d["district_systems_ped_balance_kwh"], abs=1e-6)


def test_per_building_balance_with_a_green_contract(tmp_path):
    from pedgis.io.weather import read_weather
    from pedgis.pipeline import compute, resolve_model
    from pedgis.timeseries.integrate import options_from_doc, time_resolved

    sc = _tiny_district(tmp_path, "hourly")
    sc.doc["boundary"]["type"] = "virtual"
    sc.doc["carriers"]["green_electricity"] = {"contract_share": 0.5}
    weather = read_weather(sc.doc["weather"]["path"])
    step1 = run(sc).buildings[["building_id", "included", "use", "floor_area_m2", "flags", "pv_kwh"]].copy()
    model = resolve_model(sc, weather)
    out, d = compute(step1, model)
    _, cols, _ = time_resolved(step1, model, weather, d, out, options_from_doc(sc.doc))
    # B: half its 1,444.44 kWh of electricity under the contract (IT green_electricity PEF_nren 0):
    # 14,814.81 × 1.1 + 1,444.44 × (0.5 × 2.0 + 0.5 × 0) = 16,296.30 + 1,444.44 = 17,740.74
    gas_b = (100 * 100 + 100 * 20) / 0.9 / 0.9
    eeu_b = 100 * 10 + 100 * 20 / 0.9 / 5
    i = list(out["building_id"]).index("B")
    assert cols["ped_balance_annual_kwh"].iloc[i] == pytest.approx(gas_b * 1.1 + eeu_b * 1.0, abs=1e-3)
    np.testing.assert_allclose(cols["ped_balance_annual_kwh"], out["ped_balance_kwh"], rtol=1e-9)
