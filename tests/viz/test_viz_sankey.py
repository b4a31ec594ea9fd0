"""The Sankey balances at every stage and ends at ped_balance_kwh (paper §2.8, Fig. 6).

Expected values come from the hand example in district_fixture.py (arithmetic there and
below).
"""

import copy
import html
import sys
import warnings
from pathlib import Path

import pytest
from district_fixture import HAND, district_json

from pedgis.errors import DataQualityWarning, InputDataError
from pedgis.viz import assets
from pedgis.viz.sankey import ImageExportError, export_static, sankey_flows, sankey_html


def _district(breakdown=None):
    return district_json(copy.deepcopy(breakdown or HAND), n_buildings=3, n_included=3)


def _value(s, key):
    return s.node_value(s.keys.index(key))


def _assert_conserved(s, tol=1e-6):
    """Every node with both inflows and outflows passes on exactly what it receives."""
    for i, key in enumerate(s.keys):
        fin, fout = s.inflow(i), s.outflow(i)
        if fin > 0 and fout > 0:
            assert fin == pytest.approx(fout, rel=tol, abs=1e-6), key


def test_hand_example_flows_balance_and_end_at_the_balance():
    d = _district()
    s = sankey_flows(d)
    _assert_conserved(s)
    # stage 0: needs 100 000 + 20 000 + 30 000 + 15 000 + 5 000 = 170 000
    needs = sum(_value(s, k) for k in s.keys if k.startswith("need:"))
    assert needs == pytest.approx(170000.0)
    # losses: (75 000 − 60 000) + (37 500 − 30 000) = 22 500; ambient: (40 000 − 10 000)
    # + (20 000 − 5 000) = 45 000; carrier inputs: 170 000 + 22 500 − 45 000 = 147 500
    assert _value(s, "losses") == pytest.approx(22500.0)
    assert _value(s, "ambient") == pytest.approx(45000.0)
    uses = sum(_value(s, k) for k in s.keys if k.startswith("use:"))
    assert uses == pytest.approx(147500.0)
    assert _value(s, "use:natural_gas") == pytest.approx(112500.0)  # 75 000 + 37 500
    assert _value(s, "use:electricity") == pytest.approx(35000.0)
    # stage 2 holds final energy: gas imported 112 500 (not its primary energy); electricity
    # covered on site 35 000; exported 15 000. The factor's extra 5 % (PEF 1.05) enters between
    # the delivered and the primary columns: 112 500 × 0.05 = 5 625
    assert _value(s, "imported:natural_gas") == pytest.approx(112500.0)
    assert _value(s, "weighting_imp") == pytest.approx(112500.0 * 0.05)
    assert _value(s, "exported:electricity") == pytest.approx(15000.0)
    assert s.inflow(s.keys.index("onsite:electricity")) == pytest.approx(35000.0)
    # stage 3: PEI = 112 500 × 1.05 = 118 125; PEE = 15 000 × 1.95 = 29 250
    assert _value(s, "pei") == pytest.approx(118125.0)
    assert _value(s, "pee") == pytest.approx(29250.0)
    # stage 4: balance = 118 125 − 29 250 = 88 875 = district.json ped_balance_kwh
    assert s.signed["balance"] == pytest.approx(88875.0)
    assert s.signed["balance"] == pytest.approx(d["ped_balance_kwh"])
    assert _value(s, "balance") == pytest.approx(88875.0)
    assert s.stages[s.keys.index("balance")] == 4


def test_positive_district_ends_at_negative_balance():
    bd = copy.deepcopy(HAND)
    el = bd["carriers"][0]
    # PV 115 000: on-site 35 000, exported 80 000 → PEE = 80 000 × 1.95 = 156 000
    el.update(exported_kwh=80000.0, pee_kwh=156000.0, pe_ren_exported_kwh=80000.0 * 0.47)
    bd["generation"][0]["output_kwh"] = 115000.0
    d = _district(bd)
    s = sankey_flows(d)
    _assert_conserved(s)
    # 118 125 − 156 000 = −37 875 (negative: positive energy district)
    assert s.signed["balance"] == pytest.approx(-37875.0)
    assert s.signed["balance"] == pytest.approx(d["ped_balance_kwh"])
    assert _value(s, "balance") == pytest.approx(37875.0)
    assert "positive district" in s.names[s.keys.index("balance")]
    assert s.signed["offset"] == pytest.approx(118125.0)


def test_chp_fuel_enters_the_carrier_use():
    bd = copy.deepcopy(HAND)
    # a biomass CHP burning 10 000 kWh of biomass, delivered and imported at PEF_nren 0.2
    bd["generation"].append({"technology": "chp", "name": "CHP", "output": "heat",
                             "output_kwh": 8000.0, "res": True, "virtual": False,
                             "input_carrier": "biomass", "input_kwh": 10000.0})
    bd["carriers"].append({"carrier": "biomass", "demand_kwh": 10000.0, "onsite_kwh": 0.0,
                           "delivered_kwh": 10000.0, "exported_kwh": 0.0, "pef_nren": 0.2,
                           "pef_ren": 1.0, "pef_nren_export": 0.2, "pef_ren_export": 1.0,
                           "co2_kg_per_kwh": 0.0, "pei_kwh": 2000.0, "pee_kwh": 0.0,
                           "pe_ren_delivered_kwh": 10000.0, "pe_ren_exported_kwh": 0.0,
                           "co2_kg": 0.0})
    d = _district(bd)
    s = sankey_flows(d)
    _assert_conserved(s)
    assert _value(s, "use:biomass") == pytest.approx(10000.0)
    # the imported node passes on its 10 000 kWh of final energy, shared as 2 000 : 10 000 between
    # PEI and renewable primary energy; the 2 000 the factors add (10 000 × 1.2 − 10 000) enter
    # from the weighting node between the columns
    imp = s.keys.index("imported:biomass")
    assert s.outflow(imp) == pytest.approx(10000.0) and s.inflow(imp) == pytest.approx(10000.0)
    assert _value(s, "weighting_imp") == pytest.approx(2000.0 + 112500.0 * 0.05)  # biomass + gas
    # the CHP's fuel is a use of biomass, entering from a node named by its technology
    fuel = s.keys.index("gen_in:chp:biomass")
    assert s.names[fuel] == "Fuel of the CHP plant" and s.stages[fuel] == 0
    assert s.signed["balance"] == pytest.approx(88875.0 + 2000.0)


def test_inconsistent_balance_warns():
    d = _district()
    d["ped_balance_kwh"] = 1.0
    with pytest.warns(DataQualityWarning, match="ped_balance_kwh is 1 kWh"):
        sankey_flows(d)


def test_carrier_mismatch_warns_and_stays_balanced():
    bd = copy.deepcopy(HAND)
    bd["carriers"][1]["delivered_kwh"] = 120000.0  # 7 500 more than the systems use
    with pytest.warns(DataQualityWarning, match="carrier 'natural_gas'"):
        s = sankey_flows(_district(bd))
    _assert_conserved(s)
    assert _value(s, "unitemised_demand:natural_gas") == pytest.approx(7500.0)


def test_need_without_system_warns():
    bd = copy.deepcopy(HAND)
    bd["needs"]["appliances"] = 4000.0
    with pytest.warns(DataQualityWarning, match="need 'appliances'"):
        s = sankey_flows(_district(bd))
    assert _value(s, "unitemised_use") == pytest.approx(4000.0)


def test_missing_breakdown_is_an_error():
    with pytest.raises(InputDataError, match="no 'breakdown'"):
        sankey_flows({"ped_balance_kwh": 0.0})


def test_negative_flow_is_an_error():
    bd = copy.deepcopy(HAND)
    bd["uses"][0]["input_kwh"] = -5.0
    with pytest.raises(InputDataError, match=r"uses\[0\]\.input_kwh: -5.0 is negative"):
        sankey_flows(_district(bd))


def test_non_numeric_flow_is_an_error():
    d = _district()
    d["breakdown"]["carriers"][0]["pee_kwh"] = "lots"
    with pytest.raises(InputDataError, match="pee_kwh: 'lots' is not a number"):
        sankey_flows(d)


def test_html_is_offline_and_escapes_labels():
    bd = copy.deepcopy(HAND)
    bd["uses"][2]["carrier"] = "<b onmouseover=alert(1)>el</b>"
    bd["carriers"].append(dict(bd["carriers"][0], carrier="<b onmouseover=alert(1)>el</b>",
                               demand_kwh=5000.0, onsite_kwh=5000.0, exported_kwh=0.0,
                               pee_kwh=0.0, pe_ren_exported_kwh=0.0))
    bd["carriers"][0].update(demand_kwh=30000.0, onsite_kwh=30000.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = sankey_html(_district(bd))
    assert "<b onmouseover" not in text
    # escaped for plotly's pseudo-HTML labels (plotly's JSON also writes "/" as \u002f)
    assert "&lt;b onmouseover=alert(1)&gt;el&lt;" in text
    assert assets.remote_references(text) == []
    assert len(text) > 1_000_000  # plotly.js is inlined


def test_static_export_without_kaleido_is_an_error_and_writes_nothing(tmp_path, monkeypatch):
    import plotly.io._kaleido  # noqa: F401  (plotly binds kaleido on import: do it first)

    monkeypatch.setitem(sys.modules, "kaleido", None)  # import kaleido → ImportError
    with pytest.raises(ImageExportError, match="kaleido package is not installed.*pip install"):
        export_static(_district(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_static_export_failure_is_an_error_and_leaves_no_image(tmp_path, monkeypatch):
    import plotly.io as pio

    def half_then_boom(figs, paths, **k):  # one image written, then the browser dies
        Path(paths[0]).write_bytes(b"partial")
        raise RuntimeError("no Chrome")

    monkeypatch.setattr(pio, "write_images", half_then_boom)
    with pytest.raises(ImageExportError, match="export with kaleido failed.*no Chrome"):
        export_static(_district(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (PNG spec 11.2.2: bytes 16-24, big-endian)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_static_export_with_kaleido(tmp_path):
    """The real exporter (kaleido + Debian's Chromium, installed by `make test`): a PNG at twice the
    page width and an SVG whose text holds the diagram's own node labels."""
    from lxml import etree

    from pedgis.viz.sankey import IMAGE_WIDTH_PX, build_figure

    written = export_static(_district(), tmp_path)
    assert [p.name for p in written] == ["sankey.png", "sankey.svg"]
    height = int(build_figure(_district()).layout.height or 760)
    assert _png_size((tmp_path / "sankey.png").read_bytes()) == (2 * IMAGE_WIDTH_PX, 2 * height)
    svg = etree.parse(str(tmp_path / "sankey.svg")).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert float(svg.get("width")) == IMAGE_WIDTH_PX and float(svg.get("height")) == height
    text = " ".join(t.strip() for t in svg.itertext() if t.strip())
    # the labels as the page shows them (plotly_text escapes & < >; the SVG holds the text itself)
    labels = [html.unescape(str(lab).split("<br>")[0]) for lab in build_figure(_district()).data[0].node.label]
    assert labels and all(lab in text for lab in labels), (labels, text[:500])


def test_heat_pump_need_shared_between_electricity_and_ambient_heat():
    # one heat pump system: need 100; electricity input 40 and ambient heat input 80 (the
    # engine lists ambient heat as a carrier row with need 0). Total input 120 > need 100:
    # the need goes 100·40/120 = 33.33 to electricity and 100·80/120 = 66.67 to ambient
    # air; the 20 kWh of emission/distribution losses enter as losses (6.67 + 13.33)
    bd = {"needs": {"sh": 100.0}, "generation": [], "uses": [
        {"service": "sh", "system": "hp", "need_kwh": 100.0, "input_kwh": 40.0,
         "carrier": "electricity"},
        {"service": "sh", "system": "hp", "need_kwh": 0.0, "input_kwh": 80.0,
         "carrier": "ambient_air"}],
        "carriers": [
        {"carrier": "electricity", "delivered_kwh": 40.0, "onsite_kwh": 0.0,
         "exported_kwh": 0.0, "pei_kwh": 78.0, "pee_kwh": 0.0,
         "pe_ren_delivered_kwh": 18.8, "pe_ren_exported_kwh": 0.0},
        {"carrier": "ambient_air", "delivered_kwh": 0.0, "onsite_kwh": 80.0,
         "exported_kwh": 0.0, "pei_kwh": 0.0, "pee_kwh": 0.0,
         "pe_ren_delivered_kwh": 0.0, "pe_ren_exported_kwh": 0.0}]}
    s = sankey_flows({"ped_balance_kwh": 78.0, "breakdown": bd})
    _assert_conserved(s)
    link = {(s.keys[a], s.keys[b]): v for a, b, v in zip(s.sources, s.targets, s.values,
                                                          strict=True)}
    assert link[("need:sh", "use:electricity")] == pytest.approx(100 * 40 / 120)
    assert link[("need:sh", "use:ambient_air")] == pytest.approx(100 * 80 / 120)
    assert _value(s, "losses") == pytest.approx(20.0)
    assert "ambient" not in s.keys  # the ambient heat is itemised as a carrier
    assert s.signed["balance"] == pytest.approx(78.0)  # 40 × 1.95


def test_sample_sankey_is_honest_and_human(tmp_path):
    """Issue 14 item 1 on the sample district: every label from the label table (no internal id,
    no underscore); the delivered column in final energy (each imported/exported node equals the
    carrier's delivered/exported kWh of district.json, not its primary energy); the primary column
    equals PEI, PEE and the renewable primary energy of the carriers (Eqs. 14, 15)."""
    import json
    import subprocess
    import sys

    out = tmp_path / "demo"
    subprocess.run([sys.executable, "-m", "pedgis", "demo", "--out", str(out), "--quiet"], check=True,
                   capture_output=True)
    d = json.loads((out / "district.json").read_text("utf-8"))
    s = sankey_flows(d).pruned()
    for name in s.names:
        assert "_" not in name and "chp_biomassa" not in name and not name.endswith(" use"), name
    carriers = d["breakdown"]["carriers"]
    for c in carriers:
        for prefix, key in (("imported:", "delivered_kwh"), ("exported:", "exported_kwh")):
            k = prefix + c["carrier"]
            if k in s.keys:
                assert _value(s, k) == pytest.approx(c[key], rel=1e-9), k
    assert _value(s, "imported:natural_gas") < sum(c["pei_kwh"] for c in carriers if c["carrier"] == "natural_gas")
    assert _value(s, "pei") == pytest.approx(sum(c["pei_kwh"] for c in carriers), rel=1e-9)
    assert _value(s, "pee") == pytest.approx(sum(c["pee_kwh"] for c in carriers), rel=1e-9)
    assert _value(s, "pe_ren_imported") == pytest.approx(sum(c["pe_ren_delivered_kwh"] for c in carriers), rel=1e-9)
    assert s.signed["balance"] == pytest.approx(d["ped_balance_kwh"], rel=1e-9)
