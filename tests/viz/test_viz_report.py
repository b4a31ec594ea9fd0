"""report.html and "what would close the gap" (pedgis.viz.gap), expected values by hand."""

import copy
import re

import geopandas as gpd
import pandas as pd
import pytest
from district_fixture import HAND, district_json

from pedgis.viz import assets
from pedgis.viz.gap import pv_gap, retrofit_gap, service_key
from pedgis.viz.report import build_report


def _el_district(balance, delivered, f_imp, f_exp):
    return {"ped_balance_kwh": balance, "breakdown": {"carriers": [
        {"carrier": "grid_electricity", "delivered_kwh": delivered, "exported_kwh": 0.0,
         "demand_kwh": delivered, "pef_nren": f_imp, "pef_nren_export": f_exp}]}}


def test_pv_gap_hand_example_all_exported():
    d = district_json(copy.deepcopy(HAND), 3, 3)
    # no electricity is imported (delivered 0), so all extra PV is exported at 1.95:
    # ΔPV = 88 875 / 1.95 = 45 576.92 kWh
    g = pv_gap(d)
    assert g.additional_kwh == pytest.approx(88875.0 / 1.95)


def test_pv_gap_displaces_imports_first():
    # B = 15 000 ≤ D·f_i = 10 000 × 2 = 20 000 → ΔPV = 15 000 / 2 = 7 500
    assert pv_gap(_el_district(15000.0, 10000.0, 2.0, 1.5)).additional_kwh == pytest.approx(7500)
    # B = 30 000 > 20 000 → ΔPV = 10 000 + (30 000 − 20 000) / 1.5 = 16 666.67
    g = pv_gap(_el_district(30000.0, 10000.0, 2.0, 1.5))
    assert g.additional_kwh == pytest.approx(10000.0 + 10000.0 / 1.5)


def test_pv_gap_in_kwp_and_area():
    b = pd.DataFrame({"pv_kwh": [1200.0, 2400.0], "pv_kwp": [1.0, 2.0],
                      "pv_area_m2": [6.0, 12.0]})
    g = pv_gap(_el_district(15000.0, 10000.0, 2.0, 1.5), b)
    # specific yield (1200 + 2400) / (1 + 2) = 1200 kWh/kWp → 7 500 / 1 200 = 6.25 kWp;
    # yield per m² 3600 / 18 = 200 kWh/m² → 7 500 / 200 = 37.5 m²
    assert g.specific_yield_kwh_kwp == pytest.approx(1200.0)
    assert g.additional_kwp == pytest.approx(6.25)
    assert g.additional_area_m2 == pytest.approx(37.5)


def test_pv_gap_already_positive_and_impossible():
    assert pv_gap(_el_district(-10.0, 0.0, 2.0, 2.0)).additional_kwh == 0.0
    g = pv_gap(_el_district(100.0, 10.0, 2.0, 0.0))  # imports 10·2 = 20 < 100, export worth 0
    assert g.additional_kwh is None and "cannot close" in g.note
    g = pv_gap({"ped_balance_kwh": 5.0, "breakdown": {"carriers": []}})
    assert g.additional_kwh is None and "no electricity carrier" in g.note


def _retrofit_case(balance):
    # one carrier, gas, imported at PEF_nren 1.0; space heating by boilers: 125 kWh gas per
    # 100 kWh of need (η = 0.8)
    d = {"ped_balance_kwh": balance, "breakdown": {
        "uses": [{"service": "space_heating", "carrier": "natural_gas", "need_kwh": 100.0,
                  "input_kwh": 125.0}],
        "carriers": [{"carrier": "natural_gas", "delivered_kwh": 1e6, "pef_nren": 1.0,
                      "pef_nren_export": 1.0}]}}
    b = pd.DataFrame({"building_id": ["A", "B", "C", "D"], "included": [True, True, True, False],
                      "use": ["residential"] * 4, "floor_area_m2": [100.0] * 4,
                      "ten_sh_kwh": [20000.0, 10000.0, 3000.0, 50000.0],
                      "ten_sc_kwh": [0.0] * 4, "ten_dhw_kwh": [0.0] * 4})
    return d, b


def test_retrofit_gap_by_hand():
    d, b = _retrofit_case(25000.0)
    g = retrofit_gap(d, b, {"sh": 34.0, "sc": 15.0, "dhw": 10.0})
    # A: 20 000 − 34·100 = 16 600 kWh need → ×1.25 = 20 750 kWh gas → 20 750 kWh PE
    # B: 10 000 − 3 400 = 6 600 → 8 250; C: 3 000 < 3 400 → nothing; D excluded
    # A alone 20 750 < 25 000; A + B = 29 000 ≥ 25 000 → 2 of 3 included buildings
    assert g.n_candidates == 2
    assert g.n_needed == 2 and g.building_ids == ["A", "B"]
    assert g.share_buildings == pytest.approx(2 / 3)
    assert g.share_floor_area == pytest.approx(200 / 300)
    assert g.saving_all_kwh == pytest.approx(29000.0)


def test_retrofit_gap_not_enough():
    d, b = _retrofit_case(40000.0)
    g = retrofit_gap(d, b, {"sh": 34.0})
    assert g.n_needed is None and "11,000 kWh short" in g.note  # 40 000 − 29 000


def test_retrofit_saving_switches_to_export_factor():
    d, b = _retrofit_case(25000.0)
    # only 10 000 kWh of gas imported; beyond that the saving is "exported" at 0.5
    d["breakdown"]["carriers"][0].update(delivered_kwh=10000.0, pef_nren_export=0.5)
    g = retrofit_gap(d, b, {"sh": 34.0})
    # all: 29 000 kWh gas saved → 10 000·1.0 + 19 000·0.5 = 19 500 < 25 000
    assert g.saving_all_kwh == pytest.approx(19500.0) and g.n_needed is None


def test_service_keys():
    assert [service_key(s) for s in ("space_heating", "SH", "space cooling", "dhw",
                                     "domestic_hot_water", "lighting")] == \
        ["sh", "sh", "sc", "dhw", "dhw", None]


def test_report_content(pages):
    text = (pages / "report.html").read_text("utf-8")
    assert "Not (yet) a Positive Energy District" in text
    assert "88.9 MWh/a short of a zero balance" in text
    # the gap section: 88 875 / 1.95 = 45 577 kWh ≈ 45.6 MWh/a
    assert "+45.6 MWh/a of PV electricity" in text
    # Fig. 3 checklist, objective, boundary type
    assert "geographical" in text and "positive energy balance" in text
    assert re.search(r"Appliances</td><td><span class=\"no-mark\">", text)
    # assumptions with their sources, escaped
    assert "DM 26/6/2015 (Italy), Allegato 1 &lt;Tab. 1&gt; &amp; notes" in text
    # step tables from the breakdown
    assert "Step 6 — primary energy per carrier" in text and "118 MWh/a" in text
    # RER and, next to it, the on-site renewable share (district.json 0.42)
    assert re.search(r"RER \(Eq\. 21\)</td><td class=\"n\">31\.0 %</td></tr>\s*<tr><td class=\"\">On-site "
                     r"renewable share \(Eq\. 9–10 production over the uses of Eq\. 11–12\)</td><td class=\"n\">42\.0 %", text)
    # map and Sankey embedded, nothing loaded from the network
    assert text.count("<iframe") == 1 and 'srcdoc="' in text  # the map; the Sankey is a div
    assert assets.remote_references(text) == []


def test_report_top_buildings_ordered(pages):
    text = (pages / "report.html").read_text("utf-8")
    b = gpd.read_file(pages / "buildings.gpkg", layer="buildings")
    inc = b[b.included]
    top_importer = inc.sort_values("ped_balance_kwh", ascending=False).iloc[0].building_id
    top_exporter = inc.sort_values("ped_balance_kwh").iloc[0].building_id
    imp = text.index("Top 10 importing")
    exp = text.index("Top 10 exporting")
    assert imp < text.index(f"<td class=\"\">{top_importer}</td>", imp) < exp
    assert text.index(f"<td class=\"\">{top_exporter}</td>", exp) > exp


def test_report_for_a_positive_district(out_folder):
    from pedgis.viz.inputs import load_inputs

    inputs = load_inputs(out_folder)
    bd = copy.deepcopy(HAND)
    bd["carriers"][0].update(exported_kwh=80000.0, pee_kwh=156000.0)
    inputs.district = district_json(bd, 24, 22)
    text = build_report(inputs, map_html="<p>map</p>", sankey="<p>sankey</p>")
    assert "The district is already positive" in text
    assert "37.9 MWh/a" in text  # 156 000 − 118 125 = 37 875


def test_assumptions_flattened_with_sources_and_escaped():
    from pedgis.viz.report import _assumptions_html, flatten_assumptions

    tree = {"needs": {"per_use": {"office": {"sh": {"value": 129.5, "unit": "kWh/(m2 a)",
                                                     "source": "HotMaps <x> & y"}}}},
            "carriers": {"electricity": {"pef_nren": 1.95, "pef_ren": 0.47, "source": "DM"}},
            "list": [{"name": "<b>", "eta": 0.9}], "flag": True}
    rows = flatten_assumptions(tree)
    assert ("needs.per_use.office.sh", "129.5 kWh/(m2 a)", "HotMaps <x> & y") in rows
    assert ("carriers.electricity", "pef_nren = 1.95; pef_ren = 0.47", "DM") in rows
    assert ("list[<b>].eta", "0.9", "") in rows
    assert ("flag", "yes", "") in rows
    html = str(_assumptions_html(tree))
    assert "HotMaps &lt;x&gt; &amp; y" in html and "[&lt;b&gt;].eta" in html
    assert "<b>" not in html.replace("<b>needs</b>", "").replace("<b>carriers</b>", "") \
        .replace("<b>list</b>", "")


def test_packaged_nzeb_needs_come_from_the_data_table():
    from pedgis.viz.gap import packaged_nzeb_needs

    table, source = packaged_nzeb_needs()
    if table is None:
        pytest.skip("pedgis/data/specific_needs.csv not present")
    import csv
    from importlib import resources

    with resources.as_file(resources.files("pedgis") / "data" / "specific_needs.csv") as p:
        rows = [r for r in csv.DictReader(open(p, encoding="utf-8"))
                if r["set"] == "nzeb" and r["use"] == "residential" and r["need"] == "sh"]
    assert table["residential"]["sh"] == float(rows[0]["value"])
    assert "specific_needs.csv" in source


def _chp_case():
    # district heat from a heat-led biomass CHP (output "heat" serves the carrier
    # "district_heat", as the engine writes it): heat 1 000 kWh from 1 250 kWh biomass, and
    # 300 kWh electricity from 375 kWh biomass; 200 kWh electricity exported at 2.0
    d = {"ped_balance_kwh": 100.0, "breakdown": {
        "uses": [{"service": "sh", "carrier": "district_heat", "need_kwh": 1000.0,
                  "input_kwh": 1000.0},
                 {"service": "dhw", "carrier": "natural_gas", "need_kwh": 100.0,
                  "input_kwh": 125.0}],
        "generation": [
            {"name": "chp", "output": "heat", "output_kwh": 1000.0,
             "input_carrier": "biomass", "input_kwh": 1250.0},
            {"name": "chp", "output": "electricity", "output_kwh": 300.0,
             "input_carrier": "biomass", "input_kwh": 375.0},
            {"name": "pv", "output": "electricity", "output_kwh": 50.0,
             "input_carrier": "pv_electricity", "input_kwh": 50.0}],
        "carriers": [
            {"carrier": "district_heat", "delivered_kwh": 0.0, "exported_kwh": 0.0,
             "onsite_kwh": 1000.0, "pef_nren": 1.5, "pef_nren_export": 1.5},
            {"carrier": "biomass", "delivered_kwh": 1625.0, "exported_kwh": 0.0,
             "pef_nren": 0.2, "pef_nren_export": 0.2},
            {"carrier": "electricity", "delivered_kwh": 0.0, "exported_kwh": 200.0,
             "pef_nren": 2.0, "pef_nren_export": 2.0},
            {"carrier": "natural_gas", "delivered_kwh": 1000.0, "exported_kwh": 0.0,
             "pef_nren": 1.0, "pef_nren_export": 1.0}]}}
    b = pd.DataFrame({"building_id": ["DH", "GAS"], "included": [True, True],
                      "use": ["residential"] * 2, "floor_area_m2": [10.0, 10.0],
                      "ten_sh_kwh": [100.0, 0.0], "ten_sc_kwh": [0.0, 0.0],
                      "ten_dhw_kwh": [0.0, 100.0]})
    return d, b


def test_heat_led_chp_passes_savings_to_the_fuel_and_co_product():
    from pedgis.viz.gap import demand_following_substitution

    d, b = _chp_case()
    sub = demand_following_substitution(d["breakdown"])
    # 1 kWh less district heat: (1 250 + 375) / 1 000 = 1.625 kWh less biomass and
    # 300 / 1 000 = 0.3 kWh less CHP electricity; PV (no fuel) does not follow demand
    assert sub == {"district_heat": {"biomass": pytest.approx(1.625),
                                     "electricity": pytest.approx(-0.3)}}
    g = retrofit_gap(d, b, {"sh": 0.0, "sc": 0.0, "dhw": 0.0})
    # DH building: 100 kWh heat less → 162.5 biomass × 0.2 = 32.5 saved, but 30 kWh less
    # electricity exported × 2.0 = 60 lost: −27.5, so it is no candidate.
    # gas building: 100 × 1.25 = 125 kWh gas × 1.0 = 125 saved ≥ 100 → 1 building
    assert g.n_candidates == 1 and g.building_ids == ["GAS"] and g.n_needed == 1
    assert g.saving_all_kwh == pytest.approx(125.0)


def test_saving_of_negative_reduction_loses_exports_then_imports():
    from pedgis.viz.gap import _saving

    # 50 kWh less on-site production: 30 kWh of exports lost at 1.5, then 20 imported at 2
    assert _saving(-50.0, 0.0, 2.0, 1.5, exported=30.0) == pytest.approx(-(30 * 1.5 + 20 * 2))


def test_retrofit_uses_each_buildings_own_system():
    d, b = _chp_case()
    # the district mix would send part of the DH building's heating to gas; with its own
    # system recorded (system_sh = "dh") it saves only through district heat
    d["breakdown"]["uses"] = [
        {"service": "sh", "system": "dh", "carrier": "district_heat", "need_kwh": 1000.0,
         "input_kwh": 1000.0},
        {"service": "sh", "system": "boiler", "carrier": "natural_gas", "need_kwh": 1000.0,
         "input_kwh": 1250.0}]
    b["ten_sh_kwh"] = [100.0, 100.0]
    b["ten_dhw_kwh"] = [0.0, 0.0]
    b["system_sh"] = ["dh", "boiler"]
    g = retrofit_gap(d, b, {"sh": 0.0, "sc": 0.0, "dhw": 0.0})
    # DH: −27.5 (see above) → no candidate; boiler: 100 × 1.25 × 1.0 = 125 → 1 building
    assert g.building_ids == ["GAS"] and g.saving_all_kwh == pytest.approx(125.0)
    # without the system columns both get the district mix (half DH, half gas per kWh need):
    # per building 50 kWh DH (−13.75) + 62.5 kWh gas (62.5) = 48.75 each
    g = retrofit_gap(d, b.drop(columns=["system_sh"]), {"sh": 0.0, "sc": 0.0, "dhw": 0.0})
    assert g.n_candidates == 2 and g.saving_all_kwh == pytest.approx(2 * 48.75)
