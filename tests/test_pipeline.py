"""A hand-worked 3-building district through the whole pipeline (steps 1-7).

Every expected number below is computed by hand in the test from the inputs, with the equation
it comes from; the engine's result must match to the kWh.

District (footprints 10 m × 10 m = 100 m², gross_to_conditioned = 1):
- A "hp":    residential, 2 floors = 200 m², heat pump for SH, SC, DHW (SCOP 4, SEER 5), PV 30,000 kWh/a
- B "gas":   residential, 1 floor  = 100 m², gas boiler (η 0.9) for SH and DHW, split AC (SEER 5) for SC
- C "dh":    residential, 3 floors = 300 m², district-heating substation (η 1) on a heat network with
             10 % losses fed by a heat-led biomass CHP (η_th 0.6, η_el 0.25); split AC for SC
Specific needs (overrides): SH 100, SC 20, DHW 20, lighting 5, ventilation 5 kWh m⁻² a⁻¹,
appliances 0; η_emitter 1, η_distribution 0.9 (boiler/HP/AC), 1.0 (substation).
Factors (overrides): electricity PEF_nren 2.0, PEF_ren 0.5, CO2 0.3; natural gas 1.1 / 0 / 0.2;
biomass 0.2 / 1.0 / 0.04; district heat 1.5 / 0 / 0.25.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pytest
from hand_district import hand_district as _district
from shapely.geometry import box

from pedgis.config import scenario_from_dict
from pedgis.errors import InputDataError, PedgisWarning
from pedgis.pipeline import run

KWH = 0.5  # "to the kWh"


def test_three_building_district_by_hand(tmp_path):
    res = run(_district(tmp_path))
    d, b = res.district, res.buildings.set_index("building_id")

    # step 2 (Eq. 1, 3, 4, 5): area × specific need
    assert b.loc["A", "floor_area_m2"] == pytest.approx(200.0)
    assert b.loc["A", "ten_sh_kwh"] == pytest.approx(200 * 100)      # 20,000
    assert b.loc["B", "ten_dhw_kwh"] == pytest.approx(100 * 20)      # 2,000
    assert b.loc["C", "een_kwh"] == pytest.approx(300 * (5 + 5))     # 3,000
    assert d["ten_sh_kwh"] == pytest.approx((200 + 100 + 300) * 100)

    # step 3 (Eq. 6, 8)
    teu_a = {s: 200 * v / 0.9 for s, v in (("sh", 100), ("sc", 20), ("dhw", 20))}
    eeu_a = 200 * 10 + teu_a["sh"] / 4 + teu_a["dhw"] / 4 + teu_a["sc"] / 5      # 9,555.56
    eeu_b = 100 * 10 + (100 * 20 / 0.9) / 5                                      # 1,444.44
    eeu_c = 300 * 10 + (300 * 20 / 0.9) / 5                                      # 4,333.33
    gas_b = (100 * 100 / 0.9 + 100 * 20 / 0.9) / 0.9                             # 14,814.81
    dh_c = (300 * 100 + 300 * 20) / 1.0                                          # 36,000 (η 1)
    assert b.loc["A", "eeu_kwh"] == pytest.approx(eeu_a)
    assert b.loc["B", "eeu_kwh"] == pytest.approx(eeu_b)
    assert b.loc["C", "eeu_kwh"] == pytest.approx(eeu_c)
    assert d["eeu_kwh"] == pytest.approx(eeu_a + eeu_b + eeu_c)

    # step 4 (Eq. 9, 10, 13): the network must be fed dh_c / (1 - 0.1); the CHP is heat-led
    chp_heat = dh_c / 0.9                  # 40,000
    chp_fuel = chp_heat / 0.6              # 66,666.67 (Eq. 13)
    chp_el = chp_fuel * 0.25               # 16,666.67
    assert d["tep_res_kwh"] == pytest.approx(chp_heat)
    assert d["eep_res_kwh"] == pytest.approx(30000 + chp_el)

    # step 5 (Eq. 11, 12): netting per carrier at district level
    el_demand = eeu_a + eeu_b + eeu_c
    el_export = 30000 + chp_el - el_demand
    assert d["ed_kwh"]["electricity"] == pytest.approx(0.0, abs=KWH)
    assert d["exported_kwh"]["electricity"] == pytest.approx(el_export, abs=KWH)
    assert d["ed_kwh"]["natural_gas"] == pytest.approx(gas_b, abs=KWH)
    assert d["ed_kwh"]["biomass"] == pytest.approx(chp_fuel, abs=KWH)
    assert d["ed_kwh"]["district_heat"] == pytest.approx(0.0, abs=KWH)
    teu_thermal = (100 * 100 + 100 * 20) / 0.9 + (300 * 100 + 300 * 20) / 1.0   # boiler + substation use
    net_losses = chp_heat - dh_c                                                 # 4,000 lost in the network
    # Eq. 11 with the network's losses as a use of the CHP heat: 13,333.33 + 36,000 + 4,000 − 40,000
    assert d["ste_kwh"] == pytest.approx(teu_thermal + net_losses - chp_heat, abs=KWH)
    assert d["see_kwh"] == pytest.approx(el_demand - (30000 + chp_el), abs=KWH)

    # step 6 (Eq. 14, 15)
    pei = gas_b * 1.1 + chp_fuel * 0.2
    pee = el_export * 2.0
    assert d["pei_kwh"] == pytest.approx(pei, abs=KWH)
    assert d["pee_kwh"] == pytest.approx(pee, abs=KWH)

    # step 7 (Eq. 17-22)
    balance = pei - pee
    assert d["ped_balance_kwh"] == pytest.approx(balance, abs=KWH)
    assert d["is_ped"] is (balance < 0)
    assert d["is_ped"] is True
    pe_ren = chp_fuel * 1.0 - el_export * 0.5
    pe_tot = balance + pe_ren
    assert d["pe_nren_kwh"] == pytest.approx(balance, abs=KWH)
    assert d["pe_ren_kwh"] == pytest.approx(pe_ren, abs=KWH)
    assert d["pe_total_kwh"] == pytest.approx(pe_tot, abs=KWH)
    assert pe_tot > 0
    assert d["rer"] == pytest.approx(pe_ren / pe_tot)
    co2 = gas_b * 0.2 + chp_fuel * 0.04 - el_export * 0.3
    assert d["co2eq_kg"] == pytest.approx(co2, abs=0.5)

    # per building: each building's own balance
    assert b.loc["A", "pee_kwh"] == pytest.approx((30000 - eeu_a) * 2.0, abs=KWH)
    assert b.loc["A", "ped_balance_kwh"] == pytest.approx(-(30000 - eeu_a) * 2.0, abs=KWH)
    assert b.loc["B", "pei_kwh"] == pytest.approx(gas_b * 1.1 + eeu_b * 2.0, abs=KWH)
    # C's network heat is valued with the network's own factor: the CHP fuel's heat share
    # (split by outputs, Eq. 13) × PEF_nren(biomass) per kWh delivered to the substations:
    # 66,666.67 × 40,000 / 56,666.67 × 0.2 / 36,000 = 0.2614
    f_net = chp_fuel * chp_heat / (chp_heat + chp_el) * 0.2 / dh_c
    assert d["heat_networks"][0]["pef_nren"] == pytest.approx(f_net)
    assert b.loc["C", "pei_kwh"] == pytest.approx(dh_c * f_net + eeu_c * 2.0, abs=KWH)
    assert b.loc["C", "ed_district_heat_kwh"] == pytest.approx(dh_c)
    # district systems as one entity: biomass in; CHP electricity out at the grid factor; the
    # heat delivered to the substations out at the network factor
    sys_balance = chp_fuel * 0.2 - chp_el * 2.0 - dh_c * f_net
    assert d["district_systems_ped_balance_kwh"] == pytest.approx(sys_balance, abs=KWH)
    total = b["ped_balance_kwh"].sum() + d["district_systems_ped_balance_kwh"] + d["netting_effect_kwh"]
    assert total == pytest.approx(d["ped_balance_kwh"], abs=KWH)
    # same factor for import and export of electricity: no netting effect here
    assert d["netting_effect_kwh"] == pytest.approx(0.0, abs=KWH)


def test_breakdown_sums_match_totals(tmp_path):
    d = run(_district(tmp_path)).district
    c = d["breakdown"]["carriers"]
    for key in ("pei_kwh", "pee_kwh"):
        assert sum(r[key] for r in c) == pytest.approx(d[key])
    assert sum(r["pe_ren_delivered_kwh"] - r["pe_ren_exported_kwh"] for r in c) == pytest.approx(d["pe_ren_kwh"])
    assert sum(r["co2_kg"] for r in c) == pytest.approx(d["co2eq_kg"])
    uses = d["breakdown"]["uses"]
    assert sum(r["need_kwh"] for r in uses if r["service"] == "sh") == pytest.approx(d["ten_sh_kwh"])
    assert sum(r["input_kwh"] for r in uses if r["carrier"] == "electricity") == pytest.approx(d["eeu_kwh"])
    gen = d["breakdown"]["generation"]
    chp = [r for r in gen if r["name"] == "chp"]
    # CHP fuel counted once over its two rows (Eq. 13): Σ input = heat / η_th
    assert sum(r["input_kwh"] for r in chp) == pytest.approx(36000 / 0.9 / 0.6)
    assert d["breakdown"]["needs"]["sh"] == pytest.approx(d["ten_sh_kwh"])


def test_rer_null_when_total_primary_energy_not_positive(tmp_path):
    # PV 200,000 kWh: export (200,000 + CHP − demand) × 2.5 total factor dominates → PE_total < 0
    d = run(_district(tmp_path, pv=200000.0)).district
    assert d["pe_total_kwh"] < 0
    assert d["rer"] is None
    assert any("RER" in n and "null" in n for n in d["assumptions"]["notes"])


def test_green_electricity_counted_only_for_virtual_boundary(tmp_path):
    extra = {"carriers": {"green_electricity": {"contract_share": 0.5}}}
    sc = _district(tmp_path, pv=0.0, extra=extra)
    with pytest.warns(PedgisWarning, match="green-electricity contracts count only for a virtual boundary"):
        d = run(sc).district
    assert d["ed_kwh"].get("green_electricity", 0.0) == 0.0
    sc.doc["boundary"]["type"] = "virtual"
    d2 = run(sc).district
    grid = d2["ed_kwh"]["electricity"]
    green = d2["ed_kwh"]["green_electricity"]
    assert grid == pytest.approx(green)              # share 0.5: half and half
    assert grid + green == pytest.approx(d["ed_kwh"]["electricity"])
    # green electricity (IT set: PEF_nren 0) lowers PEI by half the grid electricity × 2.0
    assert d["pei_kwh"] - d2["pei_kwh"] == pytest.approx(green * 2.0)
    # the electricity uses are now covered by the grid, the contract and on-site production
    rows = {r["carrier"]: r for r in d2["breakdown"]["carriers"]}
    el_uses = sum(r["input_kwh"] for r in d2["breakdown"]["uses"] if r["carrier"] == "electricity")
    assert rows["electricity"]["demand_kwh"] + rows["green_electricity"]["demand_kwh"] == pytest.approx(el_uses)


def test_virtual_asset_counted_only_with_virtual_boundary(tmp_path):
    extra = {"district_systems": {"wind": {"technology": "wind", "capacity_kw": 100.0, "full_load_hours": 2000.0,
                                           "virtual": True, "owned_share": 0.5}}}
    sc = _district(tmp_path, extra=extra)
    with pytest.warns(PedgisWarning, match="off-site .virtual. asset not counted"):
        d = run(sc).district
    sc.doc["boundary"]["type"] = "virtual"
    with warnings.catch_warnings():
        warnings.simplefilter("error", PedgisWarning)
        d2 = run(sc).district
    # 100 kW × 2,000 h × 50 % owned = 100,000 kWh more export × 2.0
    assert d2["exported_kwh"]["electricity"] - d["exported_kwh"]["electricity"] == pytest.approx(100000.0)
    assert d2["pee_kwh"] - d["pee_kwh"] == pytest.approx(200000.0)


def test_excluded_buildings_get_nan(tmp_path):
    sc = _district(tmp_path)
    poly = gpd.GeoDataFrame(geometry=[box(-1, -1, 31, 11)], crs="EPSG:32632")
    poly.to_file(tmp_path / "bnd.gpkg")
    sc.doc["boundary"]["path"] = tmp_path / "bnd.gpkg"
    sc.doc["boundary"]["type"] = "geographical"
    res = run(sc)
    b = res.buildings.set_index("building_id")
    assert not b.loc["C", "included"]
    for col in ("ten_sh_kwh", "eeu_kwh", "pei_kwh", "ped_balance_kwh", "pv_kwh"):
        assert math.isnan(b.loc["C", col])
    assert res.district["n_included"] == 2 and res.district["n_buildings"] == 3


def test_unknown_use_type_is_an_error(tmp_path):
    sc = _district(tmp_path)
    gdf = gpd.read_file(tmp_path / "b.gpkg")
    gdf.loc[1, "USE"] = "castle"
    gdf.to_file(tmp_path / "b.gpkg")
    with pytest.raises(InputDataError, match=r"(?s)'castle'.*buildings.use_map"):
        run(sc)


def test_need_without_system_is_an_error(tmp_path):
    sc = _district(tmp_path)
    del sc.doc["systems"]["ac"]
    # building B and C have SC needs and no system covers them
    with pytest.raises(InputDataError, match=r"SC need but no system covers 'sc'"):
        run(sc)


def _row(kind, param):
    import csv
    from pathlib import Path

    import pedgis
    with open(Path(pedgis.__file__).parent / "data" / "systems.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["kind"] == kind and r["parameter"] == param:
                return float(r["value"])
    return None


def test_system_defaults_most_specific_row_wins():
    from pedgis.pipeline import system_default

    # variant rows first, then the generic row of the kind
    assert system_default("heat_pump", "scop", variant="ground_source")[0] == _row("heat_pump_ground_source", "scop")
    assert system_default("heat_pump", "scop")[0] == _row("heat_pump", "scop")
    # a water-water heat pump's SEER comes from its EER row
    assert system_default("heat_pump", "seer", variant="water_water")[0] == _row("heat_pump_water_water", "eer")
    assert system_default("boiler", "eta", "natural_gas", "condensing")[0] == _row("gas_boiler_condensing", "eta")
    assert system_default("boiler", "eta", "oil", "non_condensing")[0] == _row("oil_boiler", "eta")
    assert system_default("boiler", "eta", "natural_gas")[0] == _row("boiler", "eta")
    assert system_default("boiler", "eta", "biomass")[0] == _row("biomass_boiler", "eta")
    assert system_default("chp", "eta_th", "biogas")[0] == _row("chp_biogas", "eta_th")
    assert system_default("heat_network", "losses")[0] == _row("heat_network", "losses")
    assert system_default("boiler", "no_such_parameter") is None


def test_missing_default_is_an_error_naming_the_key(tmp_path, monkeypatch):
    import pedgis.pipeline as pl

    monkeypatch.setattr(pl, "system_default", lambda *a, **k: None)
    with pytest.raises(InputDataError, match=r"systems.hp.eta_emitter: no value given and no default.*add `eta_emitter = ...`"):
        pl.resolve_model(scenario_from_dict({"buildings": {"path": "x.gpkg"},
                                             "systems": {"hp": {"kind": "heat_pump", "services": ["sh"], "default": True}}}))


def test_system_column_must_name_a_system(tmp_path):
    sc = _district(tmp_path)
    gdf = gpd.read_file(tmp_path / "b.gpkg")
    gdf["SYS"] = ["", "gas", "steam"]
    gdf.to_file(tmp_path / "b.gpkg")
    sc.doc["buildings"]["columns"]["system"] = "SYS"
    with pytest.raises(InputDataError, match=r"names 'steam', which is not a \[systems.<name>\].*define \[systems.steam\]"):
        run(sc)


def test_unknown_system_building_ids_are_an_error(tmp_path):
    # a mistyped id would silently leave that building on the default system: `pedgis validate`
    # calls it an error, so `run` does too (the same checker)
    sc = _district(tmp_path)
    sc.doc["systems"]["hp"]["buildings"] = ["A", "Z9"]
    with pytest.raises(InputDataError, match=r"systems.hp.buildings: id\(s\) Z9 not in column 'ID'"):
        run(sc)


def test_gap_to_positive(tmp_path):
    d = run(_district(tmp_path, pv=0.0)).district
    g = d["gap_to_positive"]
    # without PV: gas 14,814.81 × 1.1 + biomass 66,666.67 × 0.2 − (16,666.67 − 15,333.33) × 2.0 > 0
    assert d["ped_balance_kwh"] > 0
    # balance / PEF_nren,export(electricity) = balance / 2.0 (override); no PV yield without weather or [pv]
    assert g["electricity_kwh"] == pytest.approx(d["ped_balance_kwh"] / 2.0)
    assert g["pv_kwp"] is None
    d2 = run(_district(tmp_path)).district
    assert d2["is_ped"] and d2["gap_to_positive"]["electricity_kwh"] == 0.0


def test_gap_with_pv_yield(tmp_path):
    sc = _district(tmp_path, pv=0.0, extra={"pv": {"specific_yield_kwh_kwp": 1250.0}})
    d = run(sc).district
    assert d["ped_balance_kwh"] > 0
    assert d["gap_to_positive"]["pv_kwp"] == pytest.approx(d["ped_balance_kwh"] / 2.0 / 1250.0)


def test_progress_reaches_one_and_cancel_stops(tmp_path):
    from pedgis.errors import Cancelled

    seen = []
    run(_district(tmp_path), progress=lambda f, m: seen.append(f))
    assert seen[-1] == pytest.approx(1.0)
    assert all(b >= a - 1e-9 for a, b in zip(seen, seen[1:], strict=False))

    def cancel(f, m):
        if f > 0.5:
            raise Cancelled()

    with pytest.raises(Cancelled):
        run(_district(tmp_path), progress=cancel)


def test_degree_days_computed_from_the_weather_file():
    from pathlib import Path

    import pvlib

    from pedgis.config import load_scenario
    from pedgis.io.weather import read_weather
    from pedgis.pipeline import resolve_model

    root = Path(__file__).resolve().parents[1]
    sc = load_scenario(root / "sample_data" / "scenario.toml")
    sc.doc["needs"]["method"] = "degree_days"
    w = read_weather(sc.doc["weather"]["path"])
    m = resolve_model(sc, w)
    # independent: daily means of the EPW's dry-bulb temperature, Eurostat rule
    data, _ = pvlib.iotools.read_epw(sc.doc["weather"]["path"])
    daily = data["temp_air"].groupby(data.index.date).mean()
    hdd = sum(18.0 - t for t in daily if t <= 15.0)
    cdd = sum(t - 21.0 for t in daily if t >= 24.0)
    assert m.needs.hdd_kd == pytest.approx(hdd)
    assert m.needs.cdd_kd == pytest.approx(cdd)
    assert 1500 < hdd < 3500          # Piedmont plain: about 2,500 K d
    assert "computed from" in m.assumptions["needs"]["degree_days_source"]


def test_building_solar_heat_through_the_pipeline(tmp_path):
    """A per-building solar_thermal_kwh column (as the solar module provides it) reduces B's gas."""
    from pedgis.pipeline import compute, resolve_model

    sc = _district(tmp_path)
    base = run(sc)
    b = base.buildings[[c for c in ("building_id", "included", "exclusion_reason", "use", "footprint_area_m2", "floors",
                                    "height_m", "floor_area_m2", "flags", "pv_kwh") if c in base.buildings]].copy()
    b["solar_thermal_kwh"] = [0.0, 3000.0, 0.0]
    m = resolve_model(sc)
    out, d = compute(b, m)
    # B: DHW use 2,000/0.9 = 2,222.2 solar, 777.8 for SH → gas falls by 3,000 / 0.9 (boiler η)
    assert base.district["ed_kwh"]["natural_gas"] - d["ed_kwh"]["natural_gas"] == pytest.approx(3000 / 0.9)
    assert d["tep_res_kwh"] - base.district["tep_res_kwh"] == pytest.approx(3000.0)
    assert out.set_index("building_id").loc["B", "solar_thermal_kwh"] == pytest.approx(3000.0)
    gen_rows = [r for r in d["breakdown"]["generation"] if r["name"] == "solar thermal (buildings)"]
    assert gen_rows[0]["output_kwh"] == pytest.approx(3000.0) and gen_rows[0]["input_kwh"] == 0.0
    st = [r for r in d["breakdown"]["carriers"] if r["carrier"] == "solar_thermal"][0]
    assert st["demand_kwh"] == pytest.approx(3000.0) and st["onsite_kwh"] == pytest.approx(3000.0)
    # more solar heat than B can use: the rest is unused, flagged, not counted
    b["solar_thermal_kwh"] = [0.0, 20000.0, 0.0]
    out, d = compute(b, m)
    use_b = (100 * 100 + 100 * 20) / 0.9
    assert d["unused_kwh"]["solar_thermal"] == pytest.approx(20000 - use_b)
    assert "solar heat" in out.set_index("building_id").loc["B", "flags"]


def test_hybrid_pvt_counts_as_pv_and_solar_heat(tmp_path):
    """The roof model's PVT columns enter the balance: pvt_kwh with the rooftop PV, pvt_heat_kwh
    with the buildings' solar heat (expected values from the 3,000 kWh case above, by hand)."""
    from pedgis.pipeline import compute, resolve_model

    sc = _district(tmp_path)
    base = run(sc)
    b = base.buildings[[c for c in ("building_id", "included", "exclusion_reason", "use", "footprint_area_m2", "floors",
                                    "height_m", "floor_area_m2", "flags", "pv_kwh") if c in base.buildings]].copy()
    pv0 = b.set_index("building_id")["pv_kwh"].fillna(0.0)
    b["solar_thermal_kwh"] = [0.0, 1000.0, 0.0]
    b["pvt_heat_kwh"] = [0.0, 2000.0, np.nan]
    b["pvt_kwh"] = [500.0, np.nan, 0.0]
    m = resolve_model(sc)
    out, d = compute(b, m)
    o = out.set_index("building_id")
    # heat: 1,000 + 2,000 = the 3,000 kWh of solar heat of the case above, gas falls by 3,000 / 0.9
    assert base.district["ed_kwh"]["natural_gas"] - d["ed_kwh"]["natural_gas"] == pytest.approx(3000 / 0.9)
    assert o.loc["B", "solar_thermal_kwh"] == pytest.approx(3000.0)
    # electricity: A's 500 kWh of PVT adds to its PV; the others keep theirs
    assert o.loc["A", "pv_kwh"] == pytest.approx(pv0["A"] + 500.0)
    assert o.loc["B", "pv_kwh"] == pytest.approx(pv0["B"]) and o.loc["C", "pv_kwh"] == pytest.approx(pv0["C"])
    pv_row = [r for r in d["breakdown"]["generation"] if r["technology"] == "pv"][0]
    assert pv_row["output_kwh"] == pytest.approx(float(pv0.sum()) + 500.0)


def test_heat_network_members_get_substations(tmp_path):
    """`members` on a heat network = a DH substation system for those ids (defaults from the table)."""
    from pedgis.pipeline import system_default

    sc = _district(tmp_path)
    del sc.doc["systems"]["sub"]
    sc.doc["district_systems"]["net"]["members"] = ["C"]
    res = run(sc)
    b = res.buildings.set_index("building_id")
    assert b.loc["C", "system_sh"] == "net_substations" and b.loc["C", "system_dhw"] == "net_substations"
    eta = system_default("district_heating", "eta")[0]
    eta_e = system_default("district_heating", "eta_emitter")[0]
    eta_d = system_default("district_heating", "eta_distribution")[0]
    dh = (300 * 100 + 300 * 20) / (eta_e * eta_d) / eta
    assert res.district["heat_networks"][0]["substation_input_kwh"] == pytest.approx(dh)
    assert res.district["assumptions"]["systems"]["net_substations"]["source"] == "district_systems.net.members"


def test_network_factor_by_hand():
    import pandas as pd

    from pedgis.delivered import network_factor

    f = pd.DataFrame({"pef_nren": [0.2, 1.1, 0.0, 1.5]}, index=["biomass", "natural_gas", "waste_heat", "district_heat"])
    g = pd.DataFrame({"network": ["n", "n", "n", "m"], "output": ["heat", "electricity", "heat", "heat"],
                      "input_carrier": ["biomass", "biomass", "waste_heat", "natural_gas"],
                      "input_kwh": [1000.0, 500.0, 300.0, 999.0], "output_kwh": [600.0, 150.0, 300.0, 1.0]})
    # network n: heat sources biomass-CHP heat share 1,000 kWh fuel × 0.2 = 200, waste heat 0;
    # supply 900, used 900 (no surplus), delivered 800 after losses: 200 / 800 = 0.25
    assert network_factor(g, "n", 800.0, 900.0, 900.0, 0.0, f) == pytest.approx(0.25)
    # surplus: only used/supply of the heat's primary energy is charged: 200 × 450/900 / 400 = 0.25
    assert network_factor(g, "n", 400.0, 450.0, 900.0, 0.0, f) == pytest.approx(0.25)
    # deficit of 100 kWh from external district heat at 1.5: (200 + 150) / 1,000 = 0.35
    assert network_factor(g, "n", 1000.0, 900.0, 900.0, 100.0, f) == pytest.approx(0.35)
    assert network_factor(g, "n", 0.0, 0.0, 900.0, 0.0, f) is None


def test_network_without_sources_is_fed_from_external_district_heat(tmp_path):
    sc = _district(tmp_path)
    del sc.doc["district_systems"]["chp"]
    d = run(sc).district
    dh_c = 300 * 100 + 300 * 20                     # substation η 1, distribution 1
    fed = dh_c / 0.9                                # 10 % network losses
    assert d["ed_kwh"]["district_heat"] == pytest.approx(fed)
    net = d["heat_networks"][0]
    assert net["deficit_kwh"] == pytest.approx(fed)
    # the network's factor is then the external one carried through the losses: 1.5 / 0.9
    assert net["pef_nren"] == pytest.approx(1.5 / 0.9)
    assert d["netting_effect_kwh"] == pytest.approx(0.0, abs=KWH)


def test_more_input_errors(tmp_path):
    from pedgis.pipeline import compute, resolve_model

    sc = _district(tmp_path)
    m = resolve_model(sc)
    good = run(sc).buildings[["building_id", "included", "use", "floor_area_m2", "flags"]].copy()
    bad = good.copy()
    bad.loc[1, "floor_area_m2"] = np.nan
    with pytest.raises(InputDataError, match=r"negative or missing floor area \(floor_area_m2; e.g. B\)"):
        compute(bad, m)
    kwp = good.copy()
    kwp["pv_kwp"] = [5.0, np.nan, np.nan]
    with pytest.raises(InputDataError, match=r"pv_kwp without pv_kwh.*\[pv\] specific_yield_kwh_kwp"):
        compute(kwp, m)


def test_new_use_type_without_values_is_an_error(tmp_path):
    from pedgis.pipeline import resolve_model

    sc = _district(tmp_path)
    sc.doc["needs"]["overrides"]["castle"] = {"sh_kwh_m2": 10.0}
    with pytest.raises(InputDataError, match=r"use type 'castle' has no '.*' value.*\[needs.overrides.castle\]"):
        resolve_model(sc)


def test_surplus_network_heat_exported_only_when_allowed(tmp_path):
    extra = {"district_systems": {"wh": {"technology": "waste_heat", "network": "net", "output_kwh": 100000.0}}}
    sc = _district(tmp_path, extra=extra)
    fed = (300 * 100 + 300 * 20) / 0.9              # network demand at the plant: 40,000
    surplus = 100000.0 - fed                        # the heat-led CHP runs at 0
    d = run(sc).district
    assert d["unused_kwh"]["district_heat"] == pytest.approx(surplus)
    assert d["exported_kwh"]["district_heat"] == pytest.approx(0.0)
    assert any("surplus heat not counted" in n for n in d["assumptions"]["notes"])
    assert d["ed_kwh"]["biomass"] == pytest.approx(0.0)
    sc.doc["district_systems"]["net"]["export_allowed"] = True
    d2 = run(sc).district
    assert d2["exported_kwh"]["district_heat"] == pytest.approx(surplus)
    # exported heat is weighed with the district-heat export factor (override 1.5): PEE grows by surplus × 1.5
    assert d2["pee_kwh"] - d["pee_kwh"] == pytest.approx(surplus * 1.5)
    # the network's own factor: waste heat has PEF_nren 0
    assert d2["heat_networks"][0]["pef_nren"] == pytest.approx(0.0)


def test_no_building_included(tmp_path):
    from pedgis.pipeline import compute, resolve_model

    sc = _district(tmp_path, extra={"checklist": {"public_lighting": True, "public_lighting_kwh": 1000.0}})
    m = resolve_model(sc)
    b = run(sc).buildings[["building_id", "included", "use", "floor_area_m2", "flags"]].copy()
    b["included"] = False
    out, d = compute(b, m)
    assert d["n_included"] == 0 and out["pei_kwh"].isna().all()
    # only the public lighting is left: 1,000 kWh × 2.0; the heat-led CHP has nothing to cover
    assert d["pei_kwh"] == pytest.approx(2000.0)
    assert d["ten_sh_kwh"] == 0.0


@pytest.mark.parametrize("new_first", [False, True])
def test_new_use_type_based_on_an_existing_one_by_hand(tmp_path, new_first):
    # docs/config.md: `[needs.overrides.X] based_on = "..."` adds a use type. Building B becomes a
    # "school_2020" based on the scenario's residential type, with its own SH need.
    sc = _district(tmp_path)
    gdf = gpd.read_file(tmp_path / "b.gpkg")
    gdf.loc[1, "USE"] = "school_2020"
    gdf.to_file(tmp_path / "b.gpkg")
    new = {"based_on": "residential", "sh_kwh_m2": 50.0, "lighting_kwh_m2": 12.0}
    over = sc.doc["needs"]["overrides"]
    sc.doc["needs"]["overrides"] = {"school_2020": new, **over} if new_first else {**over, "school_2020": new}
    res = run(sc)
    b, d = res.buildings.set_index("building_id"), res.district
    # B: 100 m²; SH 50 (own), SC 20, DHW 20, ventilation 5 (copied from the scenario's residential
    # type, whatever the order of the overrides), lighting 12 (own) kWh m⁻² a⁻¹
    assert b.loc["B", "use"] == "school_2020"
    assert b.loc["B", "ten_sh_kwh"] == pytest.approx(100 * 50)        # 5,000 (Eq. 1)
    assert b.loc["B", "ten_sc_kwh"] == pytest.approx(100 * 20)        # 2,000
    assert b.loc["B", "ten_dhw_kwh"] == pytest.approx(100 * 20)       # 2,000 (Eq. 3)
    assert b.loc["B", "een_kwh"] == pytest.approx(100 * (12 + 5))     # 1,700 (Eq. 4-5)
    # gas boiler η 0.9, η_distribution 0.9 (Eq. 6): (5,000 + 2,000) / 0.9 / 0.9 = 8,641.98
    gas_b = (100 * 50 + 100 * 20) / 0.9 / 0.9
    assert d["ed_kwh"]["natural_gas"] == pytest.approx(gas_b, abs=KWH)
    # split AC SEER 5 (Eq. 8): 1,700 + 2,000 / 0.9 / 5 = 2,144.44
    assert b.loc["B", "eeu_kwh"] == pytest.approx(1700 + 2000 / 0.9 / 5)
    per_use = d["assumptions"]["needs"]["per_use"]["school_2020"]
    assert per_use["sh"]["source"] == "scenario [needs.overrides.school_2020]"
    assert "copied from residential" in per_use["sc"]["source"]


def test_eq22_export_co2_factor_and_the_net_ghg_objective(tmp_path):
    # the hand-worked district: electricity exported el_export, gas and biomass delivered
    eeu = (200 * 10 + 200 * 100 / 0.9 / 4 + 200 * 20 / 0.9 / 4 + 200 * 20 / 0.9 / 5) \
        + (100 * 10 + 100 * 20 / 0.9 / 5) + (300 * 10 + 300 * 20 / 0.9 / 5)     # 15,333.33
    chp_fuel = 36000 / 0.9 / 0.6                                                 # 66,666.67
    el_export = 30000 + chp_fuel * 0.25 - eeu                                    # 31,333.33
    gas_b = (100 * 100 / 0.9 + 100 * 20 / 0.9) / 0.9                             # 14,814.81
    emitted = gas_b * 0.2 + chp_fuel * 0.04                                      # 5,629.63 kg
    # exports without a PE credit, CO2 credit left at the delivered factor (substitution default):
    # 5,629.63 − 31,333.33 × 0.3 = −3,770.37 kg → net GHG "met", and a note says so
    sc = _district(tmp_path, extra={"objective": {"type": "net_ghg"},
                                    "carriers": {"electricity": {"pef_nren": 2.0, "pef_ren": 0.5, "co2_kg_per_kwh": 0.3,
                                                                 "pef_nren_export": 0.0}}})
    d = run(sc).district
    assert d["co2eq_kg"] == pytest.approx(emitted - el_export * 0.3, abs=0.5)
    assert d["objective_met"] is True
    assert any("carriers.electricity: exports are weighed with pef_nren_export = 0" in n for n in d["assumptions"]["notes"])
    # co2_kg_per_kwh_export = 0: no credit, as the paper's Eq. 22 gives with PEE = 0 → 5,629.63 kg, not met
    sc.doc["carriers"]["electricity"]["co2_kg_per_kwh_export"] = 0.0
    d0 = run(sc).district
    assert d0["co2eq_kg"] == pytest.approx(emitted, abs=0.5)
    assert d0["objective_met"] is False
    assert d0["assumptions"]["carriers"]["electricity"]["co2_kg_per_kwh_export"] == 0.0
    rows = {r["carrier"]: r for r in d0["breakdown"]["carriers"]}
    assert rows["electricity"]["co2_kg"] == pytest.approx(0.0, abs=0.5)
    assert sum(r["co2_kg"] for r in rows.values()) == pytest.approx(d0["co2eq_kg"])
    assert not any("exports are weighed with" in n for n in d0["assumptions"]["notes"])
    # an export factor of its own: 5,629.63 − 31,333.33 × 0.1 = 2,496.30 kg
    sc.doc["carriers"]["electricity"]["co2_kg_per_kwh_export"] = 0.1
    assert run(sc).district["co2eq_kg"] == pytest.approx(emitted - el_export * 0.1, abs=0.5)


def test_eq11_thermal_surplus_counts_network_and_substation_losses(tmp_path):
    # all three buildings on the heat network (substation η 0.95), 10 % network losses, fed by the
    # heat-led biomass CHP: nothing is exported and nothing is left unused, so STE must be 0
    # (paper Eq. 11: STE = TEU − TEP_RES, the network's losses being a use of the district's heat)
    sc = _district(tmp_path)
    sc.doc["systems"]["sub"].update({"buildings": ["A", "B", "C"], "services": ["sh", "dhw"], "eta": 0.95})
    sc.doc["systems"]["hp"]["services"] = ["sc"]
    del sc.doc["systems"]["gas"]
    d = run(sc).district
    use = (200 + 100 + 300) * (100 + 20)        # 72,000 kWh of SH + DHW use (η_emitter = η_distribution = 1)
    drawn = use / 0.95                          # 75,789.47 drawn from the network by the substations
    fed = drawn / 0.9                           # 84,210.53 fed by the CHP (10 % network losses)
    assert d["tep_res_kwh"] == pytest.approx(fed)
    assert d["heat_networks"][0]["losses_kwh"] == pytest.approx(fed - drawn)
    assert d["exported_kwh"].get("district_heat", 0.0) == 0.0
    assert d["unused_kwh"].get("district_heat", 0.0) == pytest.approx(0.0, abs=1e-6)
    # STE = (72,000 + 3,789.47 substation + 8,421.05 network losses) − 84,210.53 = 0
    assert d["ste_kwh"] == pytest.approx(use + (drawn - use) + (fed - drawn) - fed, abs=KWH)
    # with a waste-heat source of 100,000 kWh the CHP stops; surplus 100,000 − 84,210.53 = 15,789.47
    # is unused (export not allowed): STE = 84,210.53 − 100,000 = −15,789.47 = −unused
    sc.doc["district_systems"]["wh"] = {"technology": "waste_heat", "network": "net", "output_kwh": 100000.0}
    d2 = run(sc).district
    assert d2["unused_kwh"]["district_heat"] == pytest.approx(100000.0 - fed)
    assert d2["ste_kwh"] == pytest.approx(fed - 100000.0, abs=KWH)
    assert d2["ste_kwh"] == pytest.approx(-d2["unused_kwh"]["district_heat"], abs=KWH)


def _gas_district(tmp_path, pv, country=None):
    """A heat pump + PV (A) and gas boilers for B and C: no CHP, no heat network."""
    sc = _district(tmp_path, pv=pv)
    del sc.doc["district_systems"]
    sc.doc["systems"]["sub"] = {"kind": "boiler", "carrier": "natural_gas", "services": ["sh", "dhw"], "buildings": ["C"],
                                "eta": 0.9, "eta_emitter": 1.0, "eta_distribution": 0.9}
    if country:
        sc.doc["scenario"]["country"] = country
        sc.doc["carriers"] = {}
    return sc


# uses of the gas district (Eq. 6, 8): boilers B 13,333.33 and C 40,000 of thermal use (Eq. 11),
# electricity A 9,555.56 + B 1,444.44 + C 4,333.33 = 15,333.33 (Eq. 8, 12)
_TEU_GAS = (100 * 120 + 300 * 120) / 0.9
_EEU_GAS = (200 * 10 + 200 * 100 / 0.9 / 4 + 200 * 20 / 0.9 / 4 + 200 * 20 / 0.9 / 5) \
    + (100 * 10 + 100 * 20 / 0.9 / 5) + (300 * 10 + 300 * 20 / 0.9 / 5)


def test_rer_is_zero_under_nl_factors_with_onsite_pv(tmp_path):
    # NL (NTA 8800): grid electricity and natural gas both have PEF_ren = 0. 5,000 kWh of PV, all
    # used within the district: PE_ren (Eq. 19) = Σ ED × 0 − 0 = 0 → RER (Eq. 21) = 0 / PE_total = 0
    d = run(_gas_district(tmp_path, 5000.0, "NL")).district
    assert d["exported_kwh"].get("electricity", 0.0) == pytest.approx(0.0, abs=KWH)
    assert d["pe_ren_kwh"] == pytest.approx(0.0, abs=1e-6) and d["pe_total_kwh"] > 0
    assert d["rer"] == pytest.approx(0.0, abs=1e-12)
    # the on-site renewable share: (TEP_RES 0 + EEP_RES 5,000) / (53,333.33 + 15,333.33) = 0.0728
    assert d["onsite_renewable_share"] == pytest.approx(5000.0 / (_TEU_GAS + _EEU_GAS))
    assert d["onsite_renewable_share"] == pytest.approx(0.072816, abs=1e-6)
    assert any(n.startswith("RER (Eq. 21) = 0.00 although 5,000 kWh") for n in d["assumptions"]["notes"])


def test_rer_is_negative_where_electricity_is_a_net_export(tmp_path):
    # electricity PEF_nren 2.0, PEF_ren 0.5 (overrides), gas 1.1 / 0; PV 40,000 kWh:
    # export 40,000 − 15,333.33 = 24,666.67; gas (13,333.33 + 40,000) / 0.9 = 59,259.26
    d = run(_gas_district(tmp_path, 40000.0)).district
    export = 40000.0 - _EEU_GAS
    gas = _TEU_GAS / 0.9
    assert d["exported_kwh"]["electricity"] == pytest.approx(export, abs=KWH)
    # Eq. 19: 0 − 24,666.67 × 0.5 = −12,333.33; Eq. 18: 59,259.26 × 1.1 − 24,666.67 × 2.0 = 15,851.85
    pe_ren = -export * 0.5
    pe_tot = gas * 1.1 - export * 2.0 + pe_ren                   # Eq. 20: 3,518.52
    assert d["pe_ren_kwh"] == pytest.approx(pe_ren, abs=KWH)
    assert d["rer"] == pytest.approx(pe_ren / pe_tot)            # Eq. 21: −3.505
    assert d["rer"] < 0
    assert d["onsite_renewable_share"] == pytest.approx(40000.0 / (_TEU_GAS + _EEU_GAS))   # 0.5825
    assert any(n.startswith("RER (Eq. 21) = -3.51 although 40,000 kWh") for n in d["assumptions"]["notes"])


def test_onsite_renewable_share_counts_network_heat_and_losses(tmp_path):
    # the hand-worked district: TEP_RES = CHP heat 40,000 (Eq. 9), EEP_RES = 30,000 PV + 16,666.67
    # CHP electricity (Eq. 10); thermal use of Eq. 11 = 13,333.33 (boiler) + 36,000 (substation)
    # + 4,000 network losses; EEU 15,333.33: share = 86,666.67 / 68,666.67 = 1.2621
    d = run(_district(tmp_path)).district
    prod = 40000.0 + 30000.0 + 36000 / 0.9 / 0.6 * 0.25
    use = 12000 / 0.9 + 36000.0 + 4000.0 + _EEU_GAS
    assert d["onsite_renewable_share"] == pytest.approx(prod / use)
    assert d["onsite_renewable_share"] == pytest.approx(1.26214, abs=1e-5)
