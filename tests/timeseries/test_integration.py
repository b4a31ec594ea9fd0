"""The time-resolved block on the sample district, through the engine and the CLI."""

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pedgis.config import read_toml, scenario_from_dict, validate
from pedgis.errors import ConfigError, DataQualityWarning, InputDataError
from pedgis.pipeline import run

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"

pytestmark = pytest.mark.skipif(not (SAMPLE / "scenario.toml").exists(), reason="sample_data not present")


def scenario(**sections):
    raw = read_toml(SAMPLE / "scenario.toml")
    for sec, over in sections.items():
        if isinstance(over, dict) and isinstance(raw.get(sec), dict):
            raw[sec] = {**raw[sec], **over}
        else:
            raw[sec] = over
    return raw


def run_raw(raw):
    return run(scenario_from_dict(raw, base_dir=SAMPLE))


@pytest.fixture(scope="module")
def annual():
    return run_raw(scenario())


@pytest.fixture(scope="module")
def hourly():
    return run_raw(scenario(scenario={"timestep": "hourly"}))


def test_annual_timestep_is_the_engine_unchanged(annual, hourly):
    # the annual run carries the time-resolved block for information; its verdict is the engine's
    ts = annual.district["timeseries"]
    assert ts["timestep"] == "annual"
    assert ts["verdict"]["ped_balance_kwh"] == pytest.approx(annual.district["ped_balance_kwh"], rel=1e-9)
    assert ts["verdict"]["is_ped"] == annual.district["is_ped"]
    off = run_raw(scenario(timeseries={"indicators": False}))
    assert "timeseries" not in off.district and off.hourly is None
    for k in ("pei_kwh", "pee_kwh", "ped_balance_kwh", "co2eq_kg"):
        assert off.district[k] == annual.district[k]
    for k in ("pei_kwh", "pee_kwh", "ped_balance_kwh", "co2eq_kg", "pe_ren_kwh"):
        assert hourly.district[k] == pytest.approx(annual.district[k], rel=1e-12)
    np.testing.assert_allclose(hourly.buildings["ped_balance_kwh"], annual.buildings["ped_balance_kwh"])


def test_hourly_series_conserve_the_engine_annuals(annual, hourly):
    ts = hourly.district["timeseries"]
    for c, v in ts["annual_check"].items():
        assert v["hourly_use_kwh"] == pytest.approx(v["engine_demand_kwh"], rel=1e-9), c
        assert v["hourly_production_kwh"] == pytest.approx(v["engine_production_kwh"], rel=1e-9), c
    # annual netting of the hourly series (district level) reproduces Eq. 11-17 of the engine
    ann = ts["netting"]["annual"]
    d = annual.district
    assert ann["pei_kwh"] == pytest.approx(d["pei_kwh"], rel=1e-9)
    assert ann["pee_kwh"] == pytest.approx(d["pee_kwh"], rel=1e-9)
    assert ann["ped_balance_kwh"] == pytest.approx(d["ped_balance_kwh"], rel=1e-9)
    for c, v in d["ed_kwh"].items():
        assert ann["ed_kwh"].get(c, 0.0) == pytest.approx(v, rel=1e-9, abs=1e-6), c
    for c, v in d["exported_kwh"].items():
        assert ann["exported_kwh"].get(c, 0.0) == pytest.approx(v, rel=1e-9, abs=1e-6), c
    # with constant factors every netting period gives the same balance, but finer periods
    # show more import and export (simultaneity): hourly >= monthly >= annual PEI
    n = ts["netting"]
    assert n["hourly"]["ped_balance_kwh"] == pytest.approx(ann["ped_balance_kwh"], rel=1e-9)
    assert n["hourly"]["pei_kwh"] >= n["monthly"]["pei_kwh"] - 1e-6 >= ann["pei_kwh"] - 2e-6
    # electricity: load and generation of the district
    e = ts["electricity"]
    assert e["load_kwh"] == pytest.approx(d["breakdown"]["carriers"][[r["carrier"] for r in d["breakdown"]["carriers"]]
                                                                       .index("electricity")]["demand_kwh"], rel=1e-9)
    assert 0 <= e["self_sufficiency"] <= 1 and 0 <= e["self_consumption"] <= 1
    assert e["import_kwh"] - e["export_kwh"] == pytest.approx(e["load_kwh"] - e["onsite_kwh"], rel=1e-9)
    assert e["building_by_building"]["import_kwh"] >= e["import_kwh"]


def test_outputs_and_chart_data(hourly, tmp_path):
    from pedgis.io.outputs import write_outputs

    out = write_outputs(hourly, tmp_path / "out", viz=False, csv=True)
    # Parquet holds the computed series exactly (values, dtypes, column names); the CSV on request
    back = pd.read_parquet(out / "timeseries.parquet")
    pd.testing.assert_frame_equal(back, hourly.hourly, check_exact=True)
    t = pd.read_csv(out / "timeseries.csv")
    assert list(t.columns) == list(hourly.hourly.columns) and len(t) == 8760
    np.testing.assert_allclose(t["load_kwh"], hourly.hourly["load_kwh"], atol=5e-5)  # written with 4 decimals
    assert not (write_outputs(hourly, tmp_path / "out2", viz=False) / "timeseries.csv").exists()  # only when asked
    assert t["load_kwh"].sum() == pytest.approx(hourly.district["timeseries"]["electricity"]["load_kwh"], rel=1e-6)
    d = json.loads((out / "district.json").read_text())
    m = d["timeseries"]["monthly"]
    assert len(m["balance_kwh"]) == 12
    assert sum(m["balance_kwh"]) == pytest.approx(d["timeseries"]["netting"]["monthly"]["ped_balance_kwh"], rel=1e-9)
    td = d["timeseries"]["typical_day"]
    assert np.asarray(td["load_kw"]).shape == (12, 24)
    # the typical July day's PV peaks around noon, not at night
    pv_jul = np.asarray(td["onsite_kw"])[6]
    b = hourly.buildings
    inc = b["included"].to_numpy()
    assert np.isnan(b.loc[~inc, "self_sufficiency"]).all()
    assert np.isfinite(b.loc[inc, "ts_load_kwh"]).all()
    np.testing.assert_allclose(b.loc[inc, "ts_load_kwh"].sum() + d["timeseries"]["district_systems"]["ts_load_kwh"],
                               d["timeseries"]["electricity"]["load_kwh"], rtol=1e-9)
    assert pv_jul.max() > 0


def test_monthly_verdict_follows_db_he():
    res = run_raw(scenario(scenario={"timestep": "monthly"}))
    ts = res.district["timeseries"]
    v = ts["verdict"]
    b = np.asarray(ts["monthly"]["balance_kwh"])
    assert v["uncompensated_pei_kwh"] == pytest.approx(np.clip(b, 0, None).sum(), rel=1e-9)
    assert v["worst_month"] == int(np.argmax(b)) + 1
    assert v["is_ped"] == bool(b.max() <= 0 and b.sum() < 0)


def test_storage_sharing_ev_and_cop_curve():
    raw = scenario(scenario={"timestep": "hourly"}, checklist={"ev_charging": True},
                   ev={"vehicles": 40.0, "km_per_year": 10000.0, "kwh_per_km": 0.2, "charging_efficiency": 0.8},
                   storage={"battery": {"capacity_kwh": 500.0, "level": "district"},
                            "thermal": {"capacity_kwh": 400.0, "loss_per_h": 0.0}},
                   timeseries={"cop_curves": {"villa_heat_pumps": {"temp_c": [-7.0, 7.0, 20.0], "cop": [2.2, 3.5, 4.8]}}})
    res = run_raw(raw)
    d = res.district
    # EV: 40 vehicles x 10,000 km x 0.2 kWh/km / 0.8 = 100,000 kWh, in the annual engine too
    assert d["district_loads_kwh"]["ev_charging"] == pytest.approx(100_000)
    assert any("ev_charging_kwh = 100,000" in n for n in d["assumptions"]["notes"])
    st = d["timeseries"]["storage"]
    assert st["battery"]["level"] == "district" and st["battery"]["charge_kwh"] >= 0
    assert "thermal" in st
    assert d["timeseries"]["profiles"]["heat_pump_cop"]["villa_heat_pumps"]["cop"] == [2.2, 3.5, 4.8]


def test_ev_fills_the_balance_without_changing_the_scenario():
    """[ev] gives the checklist's EV charging to the engine (40 x 10,000 km x 0.2 kWh/km / 0.8 =
    100,000 kWh) through the input checker; the scenario document itself stays as the user wrote
    it, and the time-resolved options are the checker's, parsed once."""
    from pedgis.pipeline import check_inputs

    sc = scenario_from_dict(scenario(checklist={"ev_charging": True},
                                     ev={"vehicles": 40.0, "km_per_year": 10000.0, "kwh_per_km": 0.2,
                                         "charging_efficiency": 0.8}), base_dir=SAMPLE)
    chk = check_inputs(sc)
    assert chk.model.district_loads_kwh["ev_charging"] == pytest.approx(100_000)
    assert chk.timeseries.ev["vehicles"] == 40.0 and chk.timeseries.indicators
    res = run(sc, checked=chk)
    assert res.district["district_loads_kwh"]["ev_charging"] == pytest.approx(100_000)
    assert sc.doc["checklist"]["ev_charging_kwh"] == 0.0  # the default, untouched


def test_ev_outside_the_checklist_warns():
    raw = scenario(ev={"vehicles": 10.0})
    with pytest.warns(DataQualityWarning, match="checklist.ev_charging is false"):
        res = run_raw(raw)
    assert "ev_charging" not in res.district["district_loads_kwh"]


def test_cop_curve_must_name_a_heat_pump():
    raw = scenario(scenario={"timestep": "hourly"},
                   timeseries={"cop_curves": {"gas_boilers": {"temp_c": [0.0, 10.0], "cop": [3.0, 4.0]}}})
    with pytest.raises(ConfigError, match="timeseries.cop_curves.gas_boilers"):
        run_raw(raw)


def test_building_battery_needs_pv_and_district_battery_needs_sharing():
    raw = scenario(scenario={"timestep": "hourly"}, sharing={"enabled": False},
                   storage={"battery": {"capacity_kwh": 100.0, "level": "district"}})
    with pytest.raises(ConfigError, match="storage.battery.level"):
        run_raw(raw)


@pytest.mark.parametrize("over,match", [
    ({"scenario": {"timestep": "daily"}}, "scenario.timestep"),
    ({"storage": {"battery": {"capacity_kwh": -5.0}}}, "storage.battery.capacity_kwh: must be ≥ 0"),
    ({"ev": {"profile": [1, "x"]}}, "ev.profile: expected a list of numbers"),
    ({"variants": {"v": 3}}, "variants.v: must be a table"),
    ({"variants": {"v": {"storage": {"battery": {"level": "street"}}}}}, "variants.v.storage.battery.level"),
    ({"variants": {"v": {"retrofit_share": 1.5}}}, "variants.v.retrofit_share: must be between 0 and 1"),
    ({"variants": {"baseline": {"sharing": {"enabled": False}}}}, "variants.baseline: \"baseline\" is the base"),
    ({"sharing": {"enable": True}}, "sharing.enable: unknown key. Did you mean `enabled`"),
    ({"timeseries": {"cop_curves": {"gas_boilers": {"temp_c": [0.0, 5.0], "cop": [3.0, 4.0]}}}},
     "timeseries.cop_curves.gas_boilers: \"gas_boilers\" is not a heat-pump system"),
    ({"timeseries": {"cop_curves": {"villa_heat_pumps": {"temp_c": [0.0], "cop": [3.0]}}}}, "same number (≥ 2)"),
    ({"timeseries": {"cop_curves": {"villa_heat_pumps": {"temp_c": [0.0, 5.0], "cop": [3.0]}}}}, "same number"),
    ({"timeseries": {"cop_curves": {"villa_heat_pumps": {"temp_c": [5.0, 0.0], "cop": [3.0, 4.0]}}}},
     "temp_c: temp_c must increase strictly"),
    ({"timeseries": {"cop_curves": {"villa_heat_pumps": {"temp_c": [0.0, 5.0], "cop": [3.0, 0.0]}}}},
     "cop: value 2: must be > 0"),  # the key's range (every numeric key has one)
    ({"timeseries": {"cop_curves": {"villa_heat_pumps": {"cop": [3.0, 4.0]}}}}, "give `temp_c"),
    ({"timeseries": {"factors": {"hydrogen": {"pef_nren_monthly": [1.0] * 12}}}}, "timeseries.factors.hydrogen"),
    ({"timeseries": {"factors": {"electricity": {"pef_nren_monthly": [1.0] * 3}}}},
     "timeseries.factors.electricity.pef_nren_monthly: give 12 monthly values"),
    ({"storage": {"battery": {"capacity_kwh": 10.0, "level": "district"}}, "sharing": {"enabled": False}},
     "storage.battery.level: a district (community) battery"),
    ({"ev": {"charging": "custom"}}, "ev.profile: charging = \"custom\" needs"),
    ({"uncertainty": {"sh_kwh_m2": [34.0, 9.0]}}, "uncertainty.sh_kwh_m2: give [low, high]"),
    ({"uncertainty": {"pef_sets": ["XX"]}}, "uncertainty.pef_sets: \"XX\" is not a factor set"),
])
def test_config_errors_name_the_key(over, match):
    raw = scenario(**over)
    _, errors = validate(raw)
    assert errors, over
    assert any(match in str(e) for e in errors), [str(e) for e in errors]


def test_variants_expand_to_engine_keys():
    from pedgis import variants as vr

    raw = scenario(variants={"hp": {"heat_pumps_replace_boilers": True}, "r": {"retrofit_share": 0.25},
                             "pv": {"extra_pv_kwp": 100.0, "pv_all_roofs": True}})
    doc, ops = vr.expand(raw, "hp")
    assert doc["systems"]["gas_boilers"]["kind"] == "heat_pump" and "carrier" not in doc["systems"]["gas_boilers"]
    doc, _ = vr.expand(raw, "r")
    # residential SH: 0.75 x 144 (EU-27) + 0.25 x NZEB value of the data table
    from pedgis import data as pdata

    nz = pdata.needs_table("nzeb").loc["residential", "sh"]
    assert doc["needs"]["overrides"]["residential"]["sh_kwh_m2"] == pytest.approx(0.75 * 144 + 0.25 * nz)
    doc, ops = vr.expand(raw, "pv")
    assert doc["district_systems"]["extra_pv"]["kwp"] == 100.0 and ops == {"pv_all_roofs": True}
    with pytest.raises(ConfigError, match="no variant \"nope\""):
        vr.expand(raw, "nope")
    assert "variants" not in vr.expand(raw, "baseline")[0]


def test_pv_all_roofs_hook():
    from pedgis.variants import table_hook

    b = pd.DataFrame({"footprint_area_m2": [100.0, 200.0], "pv_kwp": [30.0, np.nan], "pv_kwh": [33000.0, np.nan]})
    out = table_hook({"pv_all_roofs": True})(b)
    # 100 m2 x 0.5 x 0.2 kWp/m2 = 10 kWp < 30 kWp installed: kept; 200 m2 -> 20 kWp, yield left to the engine
    np.testing.assert_allclose(out["pv_kwp"], [30.0, 20.0])
    assert out["pv_kwh"].iloc[0] == 33000.0 and np.isnan(out["pv_kwh"].iloc[1])
    out = table_hook({"pv_scale": 0.5})(b)  # half of the modelled roof usable: half the PV
    np.testing.assert_allclose(out["pv_kwp"].iloc[0], 15.0)
    np.testing.assert_allclose(out["pv_kwh"].iloc[0], 16500.0)
    # a smaller usable share of the footprint for the roof estimate: 200 m2 x 0.25 x 0.2 = 10 kWp
    out = table_hook({"pv_all_roofs": True, "usable_roof_fraction": 0.25})(b)
    np.testing.assert_allclose(out["pv_kwp"], [30.0, 10.0])


def test_gap_pv_matches_the_hand_formula():
    """Annual netting, electricity already net-exported: each extra kWp lowers the balance by
    y × PEF_nren,export (y: specific yield), so kWp* = B0 / (y × f)."""
    from pedgis.timeseries.scenarios import Study, gap

    st = Study(raw=scenario(), base_dir=SAMPLE)
    r = gap(st, "pv_kwp")
    base = st.run()
    d = base.district
    y = d["assumptions"]["pv"]["specific_yield_kwh_kwp"]
    f = d["assumptions"]["carriers"]["electricity"]["pef_nren_export"]
    assert r.status == "solved"
    assert r.value == pytest.approx(d["ped_balance_kwh"] / (y * f), rel=1e-3)
    assert len(r.evaluations) <= 12


def test_gap_storage_needs_a_time_resolved_balance():
    from pedgis.timeseries.scenarios import Study, gap

    with pytest.raises(ConfigError, match="cannot change an annual balance"):
        gap(Study(raw=scenario(), base_dir=SAMPLE), "storage_kwh")


def test_compare_and_cli(tmp_path, capsys):
    from pedgis.cli import main

    raw = scenario(variants={"battery": {"storage": {"battery": {"capacity_kwh": 1000.0, "level": "district"}}}})
    text = (SAMPLE / "scenario.toml").read_text()
    text += '\n[variants.battery]\nstorage.battery.capacity_kwh = 1000.0\nstorage.battery.level = "district"\n'
    p = SAMPLE / f"_test_compare_{tmp_path.name}.toml"
    p.write_text(text)
    try:
        assert main(["compare", str(p), "--out", str(tmp_path / "cmp"), "--quiet"]) == 0
    finally:
        p.unlink()
    cap = capsys.readouterr()
    out = cap.out
    assert "baseline" in out and "battery" in out
    # two engine runs, each warning shown once
    assert cap.err.count("have data-quality flags") <= 1
    js = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    rows = {r["variant"]: r for r in js["variants"]}
    # a battery does not change the annual engine, raises self-sufficiency, and only adds losses
    assert rows["battery"]["ped_balance_kwh"] == pytest.approx(rows["baseline"]["ped_balance_kwh"])
    assert rows["battery"]["self_sufficiency"] > rows["baseline"]["self_sufficiency"]
    assert rows["battery"]["ts_balance_kwh"] >= rows["baseline"]["ts_balance_kwh"] - 1e-6
    html = (tmp_path / "cmp" / "compare.html").read_text()
    from pedgis.io.outdir import verify

    assert verify(tmp_path / "cmp") == []  # written through the output writer, with its manifest
    # plotly.js is inlined: the page opens offline (no <script src="https://...">)
    assert "plotly" in html.lower() and '<script src="http' not in html and len(html) > 1_000_000
    assert raw["variants"]["battery"]["storage"]["battery"]["capacity_kwh"] == 1000.0


def test_example_scenario_validates_and_follows_the_sample():
    import subprocess
    import sys

    from pedgis.pipeline import check_inputs

    root = Path(__file__).resolve().parents[2]
    ex = root / "examples" / "san_rocco_variants.toml"
    assert check_inputs(ex).errors == []
    rc = subprocess.run([sys.executable, str(root / "scripts" / "make_variants_example.py"), "--check"]).returncode
    assert rc == 0, "sample_data/scenario.toml changed: run `python scripts/make_variants_example.py`"


def test_hourly_pv_per_building_from_the_roof_model(monkeypatch, hourly):
    """The roof model's hourly PV sets each building's PV shape; the annual stays the engine's."""

    b = hourly.buildings
    with_pv = b.loc[b["included"] & (b["pv_kwh"] > 0), "building_id"].astype(str).tolist()
    assert with_pv, "the sample has rooftop PV"
    idx = pd.RangeIndex(8760)
    noon = ((idx % 24) == 12).astype(float)  # all PV in the hour 12-13
    hp = pd.DataFrame({bid: noon * 3.0 for bid in with_pv})

    import pedgis.solar.scenario as solar_scenario

    roof_model = solar_scenario.rooftop_for_scenario

    def with_hourly_pv(*args, **kwargs):  # the roof model's result, with this test's hourly PV
        buildings, solar, notes = roof_model(*args, **kwargs)
        solar.hourly_pv_kwh = hp
        return buildings, solar, notes

    monkeypatch.setattr(solar_scenario, "rooftop_for_scenario", with_hourly_pv)
    res = run_raw(scenario(scenario={"timestep": "hourly"}))
    ts = res.district["timeseries"]
    assert "roof-raster model" in ts["profiles"]["sources"]["pv"]
    onsite = np.asarray(ts["typical_day"]["onsite_kw"])
    h0 = np.asarray(hourly.district["timeseries"]["typical_day"]["onsite_kw"])
    # rooftop PV moved entirely to hour 12-13 (the CHP is unchanged): more at 12 h, less at 10 h
    assert onsite[11, 12] > h0[11, 12]
    assert onsite[6, 10] < h0[6, 10]
    assert ts["electricity"]["onsite_kwh"] == pytest.approx(hourly.district["timeseries"]["electricity"]["onsite_kwh"])


def test_pv_hourly_source_fallbacks():
    from pedgis.timeseries.integrate import _pv_hourly_source

    b = pd.DataFrame({"building_id": ["a", "b", "c"]})
    shape = np.full(24, 1 / 24)
    hp = pd.DataFrame({"a": np.r_[np.zeros(12), np.ones(12)], "b": np.full(24, np.nan)})
    f, note = _pv_hourly_source(hp, b, np.arange(3), np.array([12.0, 24.0, 48.0]), shape, 24)
    out = f(0, 3)
    np.testing.assert_allclose(out[0], np.r_[np.zeros(12), np.ones(12)])   # 12 kWh on a's own shape
    np.testing.assert_allclose(out[1], 1.0)   # NaN in the roof model: weather shape
    np.testing.assert_allclose(out[2], 2.0)   # no column: weather shape
    assert "2 of 3" in note
    from pedgis.errors import InputDataError

    with pytest.raises(InputDataError, match="hourly PV per building has 5 rows"):
        _pv_hourly_source(hp.iloc[:5], b, np.arange(3), np.ones(3), shape, 24)


def test_uncertainty_pef_sets_through_the_engine():
    """bounds over the factor set: the ISO run equals a direct run with country = iso52000_default."""
    from pedgis.timeseries.scenarios import Study, uncertainty

    raw = scenario(uncertainty={"pef_sets": ["iso52000_default"]})
    r = uncertainty(Study(raw=raw, base_dir=SAMPLE))
    iso = run_raw(scenario(scenario={"country": "iso52000_default"}))
    base = run_raw(scenario())
    t = r["tornado"][0]
    assert t["parameter"] == "pef_set" and t["values"] == ["IT", "iso52000_default"]
    assert t["ped_balance_kwh"] == pytest.approx([base.district["ped_balance_kwh"], iso.district["ped_balance_kwh"]])
    assert r["ped_balance_kwh"]["min"] == pytest.approx(min(t["ped_balance_kwh"]))
    assert r["n_runs"] == 3 and r["corners"] == 0
    with pytest.raises(ConfigError, match="no uncertain parameter"):
        uncertainty(Study(raw=scenario(), base_dir=SAMPLE))


def test_monthly_factors_from_the_scenario():
    """Electricity PEF doubled in January only: the monthly-netted PEI grows by January's import x 1x factor."""
    base = run_raw(scenario(scenario={"timestep": "monthly"}))
    f = base.district["assumptions"]["carriers"]["electricity"]["pef_nren"]
    fe = base.district["assumptions"]["carriers"]["electricity"]["pef_nren_export"]
    months = [f] * 12
    months[0] = 2 * f
    res = run_raw(scenario(scenario={"timestep": "monthly"},
                           timeseries={"factors": {"electricity": {"pef_nren_monthly": months}}}))
    m0, m1 = base.district["timeseries"], res.district["timeseries"]
    jan_import = m0["monthly"]["import_kwh"][0]
    assert m1["netting"]["monthly"]["pei_kwh"] - m0["netting"]["monthly"]["pei_kwh"] == pytest.approx(jan_import * f, rel=1e-6)
    assert m1["netting"]["monthly"]["pee_kwh"] == pytest.approx(m0["netting"]["monthly"]["pee_kwh"])  # export factor kept
    assert fe > 0
    bad = scenario(scenario={"timestep": "monthly"}, timeseries={"factors": {"electricity": {"pef_nren_monthly": [1.0] * 5}}})
    with pytest.raises(ConfigError, match="timeseries.factors.electricity.pef_nren_monthly: give 12 monthly values"):
        run_raw(bad)
    bad = scenario(scenario={"timestep": "monthly"}, timeseries={"factors": {"hydrogen": {"pef_nren_monthly": [1.0] * 12}}})
    with pytest.raises(ConfigError, match="timeseries.factors.hydrogen"):
        run_raw(bad)


def test_hourly_factors_from_a_csv(tmp_path, hourly):
    """A constant hourly series equal to the set's factor changes nothing; 0 at night lowers PEI."""
    f = hourly.district["assumptions"]["carriers"]["electricity"]["pef_nren"]
    h = np.arange(8760) % 24
    night_free = np.where((h < 6), 0.0, f)
    pd.DataFrame({"pef_nren": night_free}).to_csv(tmp_path / "pef.csv", index=False)
    res = run_raw(scenario(scenario={"timestep": "hourly"},
                           timeseries={"factors": {"electricity": {"hourly_path": str(tmp_path / "pef.csv")}}}))
    t = pd.Series(res.hourly["import_kwh"].to_numpy())
    night_import = t[h < 6].sum()
    d0 = hourly.district["timeseries"]["netting"]["hourly"]["pei_kwh"]
    assert res.district["timeseries"]["netting"]["hourly"]["pei_kwh"] == pytest.approx(d0 - night_import * f, rel=1e-6)
    pd.DataFrame({"pef_nren": night_free[:100]}).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(InputDataError, match="short.csv: 100 rows"):
        run_raw(scenario(scenario={"timestep": "hourly"},
                         timeseries={"factors": {"electricity": {"hourly_path": str(tmp_path / "short.csv")}}}))
    pd.DataFrame({"x": night_free}).to_csv(tmp_path / "nocol.csv", index=False)
    with pytest.raises(InputDataError, match="no column of"):
        run_raw(scenario(scenario={"timestep": "hourly"},
                         timeseries={"factors": {"electricity": {"hourly_path": str(tmp_path / "nocol.csv")}}}))
    bad = pd.DataFrame({"pef_nren": night_free.astype(object)})
    bad.loc[5, "pef_nren"] = "n/a"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputDataError, match="column 'pef_nren' has 1 missing"):
        run_raw(scenario(scenario={"timestep": "hourly"},
                         timeseries={"factors": {"electricity": {"hourly_path": str(tmp_path / "bad.csv")}}}))
    with pytest.raises(InputDataError, match="cannot read the hourly factor table"):
        run_raw(scenario(scenario={"timestep": "hourly"},
                         timeseries={"factors": {"electricity": {"hourly_path": str(tmp_path)}}}))
    with pytest.raises(ConfigError, match="hourly_path: file not found"):
        run_raw(scenario(scenario={"timestep": "hourly"},
                         timeseries={"factors": {"electricity": {"hourly_path": "nope.csv"}}}))


def test_informative_block_never_breaks_an_annual_run(monkeypatch):
    """A weather year the hourly block cannot use: annual runs warn and go on, hourly runs fail."""
    from pedgis.timeseries import integrate

    def broken(*a, **k):
        raise InputDataError("the weather year has 8784 hourly rows; ...")

    monkeypatch.setattr(integrate, "time_resolved", broken)
    with pytest.warns(DataQualityWarning, match="time-resolved indicators skipped"):
        res = run_raw(scenario())
    assert "timeseries" not in res.district
    assert any("indicators skipped" in n for n in res.district["assumptions"]["notes"])
    with pytest.raises(InputDataError, match="8784"):
        run_raw(scenario(scenario={"timestep": "hourly"}))


def test_scenario_use_types_take_their_base_schedules(calendar, temp_air):
    from pedgis.timeseries.profiles import use_shapes

    ps = use_shapes(["library", "office"], calendar, temp_air, aliases={"library": "office"})
    np.testing.assert_allclose(ps.shapes["lighting"][0], ps.shapes["lighting"][1])
    assert ps.notes == []


def test_pv_chart_series_is_the_rooftop_pv(hourly):
    """pv_kw / pv_kwh hold PV only: their annual sum is the engine's rooftop PV (the sample has no PV field)."""
    ts = hourly.district["timeseries"]
    pv_total = float(np.nansum(hourly.buildings["pv_kwh"]))
    assert sum(ts["monthly"]["pv_kwh"]) == pytest.approx(pv_total, rel=1e-9)
    assert hourly.hourly["pv_kwh"].sum() == pytest.approx(pv_total, rel=1e-9)
    td = np.asarray(ts["typical_day"]["pv_kw"])
    assert td.shape == (12, 24) and td[:, 0].max() == 0.0 and td[6, 12] > 0


def test_pv_from_attributes_follows_the_sun_of_the_weather_rows():
    """Without the roof rasters, PV is spread on the weather year's PV shape, computed at the
    instants the sun stands for each row (``Weather.sun_times``: the PVGIS EPW's own offset of
    the sample, +10.6 min), not an hour early. Reference: pvlib's SPA, Hay–Davies, SAPM and PVWatts
    at those instants, called here directly."""
    import pvlib

    from pedgis.io.weather import read_weather

    raw = scenario(scenario={"timestep": "hourly"})
    raw.pop("rasters")
    res = run_raw(raw)
    assert res.district["timeseries"]["profiles"]["sources"]["pv"].startswith("pvlib Hay-Davies")
    w = read_weather(SAMPLE / raw["weather"]["path"])
    assert w.time_offset_min == pytest.approx(10.566)
    sun = pvlib.solarposition.get_solarposition(w.data.index + pd.Timedelta(minutes=w.time_offset_min),
                                                w.latitude, w.longitude, altitude=w.altitude)
    d = w.data
    poa = pvlib.irradiance.get_total_irradiance(
        30.0, 180.0, sun["apparent_zenith"].to_numpy(), sun["azimuth"].to_numpy(), d["dni"].to_numpy(),
        d["ghi"].to_numpy(), d["dhi"].to_numpy(),
        dni_extra=np.asarray(pvlib.irradiance.get_extra_radiation(sun.index)), model="haydavies")
    g = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float)).clip(min=0.0)
    t_cell = pvlib.temperature.sapm_cell(g, d["temp_air"].to_numpy(), d["wind_speed"].to_numpy(),
                                         **pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"])
    p = np.clip(np.asarray(pvlib.pvsystem.pvwatts_dc(g, t_cell, 1.0, -0.0047), dtype=float), 0.0, None)
    pv = res.hourly["pv_kwh"].to_numpy()
    np.testing.assert_allclose(pv, pv.sum() * p / p.sum(), rtol=1e-9, atol=1e-9 * pv.max())


def test_cli_summary_has_the_time_resolved_lines(hourly):
    from pedgis.cli import _fmt_kwh, summary_text
    from pedgis.timeseries.report import summary_lines

    text = summary_text(hourly)
    assert "monthly (DB-HE)" in text and "self-sufficiency" in text
    ts = copy.deepcopy(hourly.district["timeseries"])
    ts["storage"] = {"battery": {"level": "district", "discharge_kwh": 1500.0, "losses_kwh": 150.0}}
    ts["electricity"]["self_sufficiency"] = None
    lines = summary_lines(ts, _fmt_kwh)
    assert "battery (district): 1.5 MWh delivered, 150 kWh lost" in lines[-1]
    assert "self-sufficiency n/a" in lines[1]


def test_timeseries_charts(hourly, tmp_path):
    from pedgis.io.outputs import write_outputs
    from pedgis.timeseries.charts import monthly_balance_figure, timeseries_html, typical_day_figure

    ts = copy.deepcopy(hourly.district["timeseries"])
    f = monthly_balance_figure(ts)
    pei, pee, bal = (list(t.y) for t in f.data)
    assert pei == pytest.approx([v / 1000 for v in ts["monthly"]["pei_kwh"]])
    assert pee == pytest.approx([-v / 1000 for v in ts["monthly"]["pee_kwh"]])
    assert bal == pytest.approx([a + b for a, b in zip(pei, pee, strict=True)])
    g = typical_day_figure(ts)
    july_pv = [t for t in g.data if t.name == "PV" and t.xaxis == "x3"][0]
    assert list(july_pv.y) == ts["typical_day"]["pv_kw"][6]
    ts["netting_level"] = '<script>alert("x")</script>'
    html = timeseries_html(ts, title="<b>San Rocco</b>")
    assert "<script>alert" not in html and "&lt;b&gt;San Rocco" in html
    assert '<script src="http' not in html
    out = write_outputs(hourly, tmp_path / "o")
    assert (out / "timeseries.html").exists()


def test_the_charts_are_built_once_for_the_page_and_the_report(hourly, tmp_path, monkeypatch):
    """timeseries.html and report.html embed the same two charts: each figure is built once per
    block, and again when the block changes (its content, not only the object, is compared)."""
    from pedgis.io.outputs import write_outputs
    from pedgis.timeseries import charts

    built = []
    for name in ("monthly_balance_figure", "typical_day_figure"):
        original = getattr(charts, name)
        monkeypatch.setattr(charts, name, lambda ts, _f=original, _n=name: built.append(_n) or _f(ts))
    monkeypatch.setattr(charts, "_LAST_DIVS", None)
    out = write_outputs(hourly, tmp_path / "o")
    assert sorted(built) == ["monthly_balance_figure", "typical_day_figure"]
    page, report = ((out / f).read_text(encoding="utf-8") for f in ("timeseries.html", "report.html"))
    for div in charts.chart_divs(hourly.district["timeseries"]).values():
        assert div in page and div in report
    changed = copy.deepcopy(hourly.district["timeseries"])
    changed["monthly"]["pei_kwh"][0] += 1000.0
    built.clear()
    assert charts.chart_divs(changed) != charts.chart_divs(hourly.district["timeseries"])
    assert built.count("monthly_balance_figure") == 2


def test_uncertainty_weather_and_roof_parameters():
    from pedgis.timeseries.scenarios import Study, uncertainty

    bad = scenario(uncertainty={"weather": ["weather/missing.epw"]})
    with pytest.raises(ConfigError, match="uncertainty.weather: weather file not found"):
        uncertainty(Study(raw=bad, base_dir=SAMPLE))
    raw = scenario(uncertainty={"usable_roof_fraction": [0.5, 1.0], "method": "monte_carlo", "samples": 3})
    r = uncertainty(Study(raw=raw, base_dir=SAMPLE))
    assert r["method"] == "monte_carlo" and r["n_runs"] == 3
    # less rooftop PV exported -> a larger balance: the balance falls as the usable fraction grows
    s = sorted(r["samples"], key=lambda d: d["usable_roof_fraction"])
    assert s[0]["ped_balance_kwh"] > s[-1]["ped_balance_kwh"]


def test_solar_thermal_on_the_network_and_its_buffer():
    """Summer solar heat beyond the hourly demand is unused without a buffer; a network buffer
    moves it to the evening, so less heat must be delivered from outside, hour by hour."""
    solar = {"technology": "solar_thermal", "area_m2": 6000.0, "yield_kwh_m2": 450.0, "network": "teleriscaldamento"}
    raw = scenario(scenario={"timestep": "hourly"}, district_systems={"solare": solar})
    base = run_raw(raw)
    raw_b = copy.deepcopy(raw)
    raw_b["storage"] = {"heat_network": {"capacity_kwh": 30000.0}}
    buf = run_raw(raw_b)
    h0 = base.district["timeseries"]["netting"]["hourly"]
    h1 = buf.district["timeseries"]["netting"]["hourly"]
    assert h0["ed_kwh"]["district_heat"] > 0  # hours the heat-led CHP and the sun leave uncovered
    assert h1["ed_kwh"]["district_heat"] < h0["ed_kwh"]["district_heat"]
    assert h1["unused_kwh"]["district_heat"] < h0["unused_kwh"]["district_heat"]
    st = buf.district["timeseries"]["storage"]["heat_network"]
    assert st["discharge_kwh"] > 0 and st["charge_kwh"] >= st["discharge_kwh"]
    assert buf.district["ped_balance_kwh"] == pytest.approx(base.district["ped_balance_kwh"])  # annual engine unchanged


def test_cop_curve_moves_heat_pump_electricity_to_cold_hours(hourly):
    """A COP falling with outdoor temperature puts more of the same annual heat-pump electricity
    into the cold months (Eq. 8 per hour), and the annual electricity stays the engine's."""
    curve = {"villa_heat_pumps": {"temp_c": [-10.0, 20.0], "cop": [1.5, 6.0]}}
    res = run_raw(scenario(scenario={"timestep": "hourly"}, timeseries={"cop_curves": curve}))
    m0 = hourly.district["timeseries"]["monthly"]["load_kwh"]
    m1 = res.district["timeseries"]["monthly"]["load_kwh"]
    assert sum(m1) == pytest.approx(sum(m0), rel=1e-9)
    assert m1[0] > m0[0]  # January
    assert m1[3] < m0[3] or m1[4] < m0[4]  # a mild month loses what January gains


def test_compare_unknown_variant_and_lever():
    from pedgis.timeseries.scenarios import Study, compare, gap, metric

    st = Study(raw=scenario(variants={"hp": {"heat_pumps_replace_boilers": True}}), base_dir=SAMPLE)
    assert st.variant_names == ["baseline", "hp"]
    with pytest.raises(ConfigError, match="variants.nope: no variant \"nope\""):
        compare(st, ["baseline", "nope"])
    with pytest.raises(ConfigError, match="gap.lever: unknown lever \"wind_kw\""):
        gap(st, "wind_kw")

    class Bare:
        district = {"ped_balance_kwh": 1.0, "is_ped": False}

    with pytest.raises(ConfigError, match="scenario.timestep: the run has no time-resolved block"):
        metric(Bare(), "hourly")
    with pytest.raises(ConfigError, match="bad"):
        Study(raw={"scenario": {"timestep": "bad"}}, base_dir=SAMPLE)


def test_ev_from_the_checklist_only():
    res = run_raw(scenario(scenario={"timestep": "hourly"},
                           checklist={"ev_charging": True, "ev_charging_kwh": 36500.0}))
    ts = res.district["timeseries"]
    assert ts["district_systems"]["loads_kwh"]["ev_charging"] == 36500.0
    assert any("7 kWh per vehicle and day assumed" in n for n in ts["profiles"]["notes"])
    # uncontrolled home charging: the evening hours carry the 100 kWh a day
    td = np.asarray(ts["typical_day"]["load_kw"])
    base = run_raw(scenario(scenario={"timestep": "hourly"}))
    td0 = np.asarray(base.district["timeseries"]["typical_day"]["load_kw"])
    extra = (td - td0).mean(axis=0)
    assert extra.sum() == pytest.approx(100.0, rel=1e-3)
    assert extra[17:22].sum() == pytest.approx(100.0, rel=1e-3)


def _monthly_metric(res):
    """The monthly verdict's number and month, read straight from a run's district.json block."""
    m = res.district["timeseries"]["netting"]["monthly"]
    return m["worst_month_balance_kwh"], ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                          "Nov", "Dec"][m["worst_month"] - 1]


def test_uncertainty_swings_are_the_runs_they_come_from_with_their_months(tmp_path, capsys):
    """Monthly netting: each tornado number is the worst month of a run of the perturbed scenario,
    recomputed here by a direct run with the same needs; the CLI prints each number with its month."""
    from pedgis import data as pdata
    from pedgis.cli import main
    from pedgis.timeseries.scenarios import METRIC_NAMES, Study, uncertainty

    monthly = {"scenario": {**scenario()["scenario"], "timestep": "monthly"}}
    raw = scenario(**monthly, uncertainty={"sh_kwh_m2": [9.0, 34.0]})
    r = uncertainty(Study(raw=raw, base_dir=SAMPLE))
    assert r["metric"] == METRIC_NAMES["monthly"] == "worst month's balance (DB-HE monthly netting)"
    uses = list(pdata.needs_table(raw["needs"].get("set", "eu27_existing")).index)
    (row,) = r["tornado"]
    direct = []
    for sh in (9.0, 34.0):
        res = run_raw(scenario(**monthly, needs={**raw["needs"], "overrides": {u: {"sh_kwh_m2": sh} for u in uses}}))
        direct.append(_monthly_metric(res))
    assert row["values"] == [9.0, 34.0]
    assert row["ped_balance_kwh"] == pytest.approx([b for b, _ in direct], rel=1e-12)
    assert row["period"] == [m for _, m in direct]
    assert row["swing_kwh"] == pytest.approx(abs(direct[0][0] - direct[1][0]), rel=1e-9)
    base_bal, base_month = _monthly_metric(run_raw(scenario(**monthly)))
    assert (r["base"]["ped_balance_kwh"], r["base"]["period"]) == (pytest.approx(base_bal, rel=1e-12), base_month)

    import tomli_w

    p = SAMPLE / f"_test_unc_{tmp_path.name}.toml"
    p.write_text(tomli_w.dumps(raw), encoding="utf-8")
    try:
        assert main(["uncertainty", str(p), "--quiet"]) == 0
    finally:
        p.unlink()
    out = capsys.readouterr().out
    assert f"as given: {_gwh(base_bal)} ({base_month})" in out
    assert f"sh_kwh_m2: 9 → {_gwh(direct[0][0])} ({direct[0][1]}), 34 → {_gwh(direct[1][0])} ({direct[1][1]})" in out


def _gwh(kwh):
    from pedgis.cli import _fmt_kwh

    return _fmt_kwh(kwh)


def test_gap_under_monthly_netting_names_its_quantity_and_month(capsys):
    """The gap's baseline under monthly netting is the worst month's balance of the scenario as
    given (a direct run), named so and with its month, not "baseline balance"."""
    from pedgis.timeseries.scenarios import METRIC_NAMES, Study, gap

    raw = scenario(scenario={**scenario()["scenario"], "timestep": "monthly"})
    r = gap(Study(raw=raw, base_dir=SAMPLE), "pv_kwp")
    bal, month = _monthly_metric(run_raw(raw))
    assert r.baseline_balance_kwh == pytest.approx(bal, rel=1e-12)
    assert (r.quantity, r.timestep, r.baseline_period) == (METRIC_NAMES["monthly"], "monthly", month)
    assert METRIC_NAMES["monthly"] in r.message
    assert r.to_dict()["baseline_period"] == month
    assert all(len(e) == 3 for e in r.evaluations)
