"""The time-resolved block (issue 7) in report.html and map.html.

The synthetic folder carries ``district.json → timeseries`` with the hand numbers of
``district_fixture`` (monthly balances chosen so that annual netting says positive and DB-HE
monthly netting does not; electricity figures whose self-consumption and self-sufficiency are
worked out there) and per-building time-resolved columns. Expected strings are written out
here from those hand numbers.
"""

import json
import re
import shutil
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pytest
from district_fixture import TS_B_M, TS_PEE_M, pedgis_output, write_folder
from test_viz_escaping import _check_no_injection

from pedgis.errors import InputDataError
from pedgis.viz import maps, write_all

THIN = "\u202f"


@pytest.fixture(scope="module")
def ts_pages(tmp_path_factory):
    """write_all on a folder with a monthly time-resolved block (hostile netting_level)."""
    folder = write_folder(tmp_path_factory.mktemp("viz-ts"), n=24, hostile=True,
                          timeseries="monthly")
    write_all(folder, folder)
    return folder


class _Tables(HTMLParser):
    """Rows (cell texts) of every table, by the id of the enclosing section."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.section = None
        self.tables = {}
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id")
        elif tag == "table":
            self.tables.setdefault(self.section, []).append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self.section][-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _section_tables(text, section="through-the-year"):
    p = _Tables()
    p.feed(text)
    return p.tables.get(section, [])


def _rows(table):
    return {r[0]: r[1:] for r in table}


def _plotly_data(text, div_id):
    """The ``data`` list passed to ``Plotly.newPlot`` for ``div_id`` in the page."""
    m = re.search(r'Plotly\.newPlot\(\s*"' + re.escape(div_id) + r'",\s*', text)
    data, _ = json.JSONDecoder().raw_decode(text, m.end())
    return data


def test_report_netting_side_by_side(ts_pages):
    text = (ts_pages / "report.html").read_text("utf-8")
    assert '<a href="#through-the-year">Through the year</a>' in text
    netting = _section_tables(text)[0]
    assert netting[0][1:] == ["annual netting", "monthly netting (DB-HE 2019) — the verdict",
                              "hourly netting"]
    r = _rows(netting)
    # hand numbers (district_fixture): PEI 100 / 130 / 160 MWh, PEE 150 / 180 / 210 MWh
    assert r["PEI, non-renewable primary energy imported (Eq. 14)"] == [
        "100 MWh/a", "130 MWh/a", "160 MWh/a"]
    assert r["PEE, non-renewable primary energy exported (Eq. 15)"] == [
        "150 MWh/a", "180 MWh/a", "210 MWh/a"]
    assert r["PED balance PEI − PEE (Eq. 17)"] == ["-50.0 MWh/a"] * 3
    assert r["Positive Energy District?"] == ["yes", "no", "no"]
    # 15 000 + 10 000 + 5 000 + 3 000 + 2 000 + 5 000 = 40 000 kWh left unpaid by the months
    assert r["Uncompensated PEI (Σ of the months' positive balances)"] == ["—", "40.0 MWh/a", "—"]
    assert r["Worst month (its balance)"] == ["—", "Jan: +15.0 MWh", "—"]
    assert r["Periods with a negative (positive-district) balance"] == [
        "—", "6 of 12 months", f"3{THIN}100 of 8{THIN}760 h"]


def test_report_verdict_follows_the_timestep_and_explains_it(ts_pages):
    text = (ts_pages / "report.html").read_text("utf-8")
    # timestep monthly: the headline verdict is the monthly one (timeseries.verdict)
    assert "Not (yet) a Positive Energy District" in text
    assert ("monthly netting (DB-HE 2019): exports 50.0 MWh/a more primary energy than it "
            "imports over the year, but not in every month") in text
    assert "DB-HE 2019" in text and "only within the same month" in text
    assert "Jan alone imports 15.0 MWh more than it exports" in text
    assert "annual netting: positive; monthly netting (DB-HE 2019): not positive" in text


def test_report_electricity_and_storage(ts_pages):
    text = (ts_pages / "report.html").read_text("utf-8")
    tables = _section_tables(text)
    el = _rows(tables[1])
    assert tables[1][0][1:] == ["District (energy community)", "Building by building"]
    # 120 000 / 250 000 = 48 %, 95 000 / 250 000 = 38 %; 120 000 / 200 000 = 60 %,
    # 95 000 / 200 000 = 47.5 %
    assert el["Self-consumption: share of on-site generation used on site"] == ["48.0 %", "38.0 %"]
    assert el["Self-sufficiency: share of the load covered on site"] == ["60.0 %", "47.5 %"]
    assert el["Imported from the grid"] == ["80.0 MWh/a", "105 MWh/a"]
    assert el["Exported to the grid"] == ["130 MWh/a", "155 MWh/a"]
    assert el["Electricity load (incl. heat pumps)"] == ["200 MWh/a", "200 MWh/a"]
    assert el["Peak import (highest hourly)"] == ["95.5 kW", "101 kW"]
    assert el["Peak export (highest hourly)"] == ["140 kW", "150 kW"]
    assert el["Hours of net export"] == [f"2{THIN}400 h", "—"]
    assert el["Shared between buildings"] == ["25.0 MWh/a", "—"]
    storage = [r for r in tables[2][1:]]
    assert ["Battery", "round trip efficiency", "90.0 %"] in storage
    assert ["Battery", "discharge", f"9{THIN}000 kWh/a"] in storage
    assert ["Battery", "losses", f"1{THIN}000 kWh/a"] in storage


def test_report_charts_carry_the_block_and_plotly_once(ts_pages):
    from plotly.offline import get_plotlyjs

    text = (ts_pages / "report.html").read_text("utf-8")
    assert text.count(get_plotlyjs()[:400]) == 1  # one copy for Sankey and both charts
    assert text.count("<iframe") == 1  # only the map is a separate document
    monthly = _plotly_data(text, "pedgis-monthly")
    # PEI_m = PEE_m + B_m [MWh]; PEE drawn downwards
    assert monthly[0]["y"] == pytest.approx([(e + b) / 1000 for e, b in zip(TS_PEE_M, TS_B_M, strict=True)])
    assert monthly[1]["y"] == pytest.approx([-e / 1000 for e in TS_PEE_M])
    assert monthly[2]["y"] == pytest.approx([b / 1000 for b in TS_B_M])
    day = _plotly_data(text, "pedgis-typical-day")
    ts = json.loads((ts_pages / "district.json").read_text("utf-8"))["timeseries"]
    load_jul = [t for t in day if t["name"] == "load"][2]  # panels Jan, Apr, Jul, Oct
    assert load_jul["y"] == pytest.approx(ts["typical_day"]["load_kw"][6])
    assert _plotly_data(text, "pedgis-sankey")[0]["type"] == "sankey"


def test_report_escapes_the_block(ts_pages):
    text = (ts_pages / "report.html").read_text("utf-8")
    _check_no_injection(text, "report.html")
    # netting_level carries "<script>alert(1)</script>" in the fixture
    assert "Netting of electricity in the verdict: &lt;script&gt;alert(1)&lt;/script&gt;." in text


def test_no_section_without_the_block(pages):
    text = (pages / "report.html").read_text("utf-8")
    assert "through-the-year" not in text and "pedgis-monthly" not in text
    assert "pedgis-typical-day" not in text
    assert "pedgis-sankey" in text
    cfg = _cfg((pages / "map.html").read_text("utf-8"))
    assert cfg["summary"]["ts"] is None
    keys = [i["key"] for i in cfg["indicators"]]
    assert keys == list(maps.INDICATORS)
    assert "self_sufficiency" not in [n["key"] for n in cfg["numbers"]]


def _cfg(text):
    return json.loads(re.search(r"var cfg = (\{.*?\});\n", text).group(1))


def _raw(text):
    return json.loads(re.search(r"var raw = (\{.*?\});\n", text).group(1))


def test_map_time_resolved_indicators_and_popups(ts_pages):
    text = (ts_pages / "map.html").read_text("utf-8")
    cfg = _cfg(text)
    keys = [i["key"] for i in cfg["indicators"]]
    assert keys == ["ped_balance_kwh", "needs_kwh", "needs_kwh_m2", "pv_kwh", "pv_kwh_m2",
                    "roof_irradiation_kwh_m2", "self_sufficiency", "self_consumption",
                    "peak_import_kw", "ped_balance_monthly_kwh", "floor_area_m2", "flags"]
    for ind in cfg["indicators"]:
        assert ind["labels"] and len(ind["colors"]) == len(ind["labels"]), ind["key"]
    ss = cfg["indicators"][keys.index("self_sufficiency")]
    assert ss["label"].endswith("[%]")
    # diverging around zero for the monthly-netted balance
    assert 0 in cfg["indicators"][keys.index("ped_balance_monthly_kwh")]["breaks"]
    # per-building values equal the buildings layer (shares in %, 4 significant digits)
    b = gpd.read_file(ts_pages / "buildings.gpkg", layer="buildings")
    nums = [n["key"] for n in cfg["numbers"]]
    for key in ("self_sufficiency", "self_consumption", "peak_import_kw", "peak_export_kw",
                "hours_net_export", "ped_balance_monthly_kwh", "shared_in_kwh"):
        assert key in nums, key
    feats = _raw(text)["features"]
    k = nums.index("self_sufficiency")
    got = np.array([np.nan if f[1]["v"][k] is None else f[1]["v"][k] for f in feats], float)
    want = 100 * b["self_sufficiency"].to_numpy(float)
    np.testing.assert_allclose(got, want, rtol=5e-4, equal_nan=True)
    k = nums.index("peak_import_kw")
    assert feats[3][1]["v"][k] == pytest.approx(5.0 + 2.5 * 3)  # fixture: 5 + 2.5·k kW
    k = nums.index("self_consumption")
    assert feats[4][1]["v"][k] is None  # no PV: no data, never 0


def test_map_summary_box_has_the_time_resolved_verdict(ts_pages):
    s = _cfg((ts_pages / "map.html").read_text("utf-8"))["summary"]
    assert s["title"] == "Not (yet) a Positive Energy District"
    assert s["ts"]["title"] == "Through the year — verdict on monthly netting (DB-HE 2019)"
    assert s["ts"]["lines"] == [
        ["Annual netting", "positive (-50.0 MWh/a)"],
        ["Monthly (DB-HE)", "not positive; worst Jan +15.0 MWh"],
        ["Hourly netting", f"not positive; 3{THIN}100 h positive"],
        ["Self-sufficiency", "60.0 %"],
        ["Self-consumption", "48.0 %"],
        ["Peak import / export", "95.5 / 140 kW"],
    ]


def test_map_opens_on_a_time_resolved_indicator(ts_pages, pages):
    text = maps.build_map(ts_pages, indicator="self_sufficiency")
    cfg = _cfg(text)
    assert cfg["indicators"][cfg["initial"]]["key"] == "self_sufficiency"
    with pytest.raises(InputDataError, match="needs the column 'self_sufficiency'.*timestep"):
        maps.build_map(pages, indicator="self_sufficiency")
    with pytest.raises(InputDataError, match="indicator 'nope' is unknown"):
        maps.build_map(ts_pages, indicator="nope")


def test_cli_accepts_time_resolved_indicators(ts_pages, tmp_path):
    from pedgis.viz.cli import main

    (tmp_path / "src").mkdir()
    for f in ("district.json", "buildings.gpkg"):
        shutil.copy(ts_pages / f, tmp_path / "src" / f)
    folder = pedgis_output(tmp_path / "src", tmp_path / "out")  # `pedgis map` redraws pedgis outputs only
    assert main([str(folder), "--indicator", "peak_import_kw"]) == 0
    cfg = _cfg((folder / "map.html").read_text("utf-8"))
    assert cfg["indicators"][cfg["initial"]]["key"] == "peak_import_kw"


def test_headline_verdict_is_the_timesteps():
    from district_fixture import timeseries_block

    # engine (annual) numbers say importer; the time-resolved block says otherwise
    d = {"ped_balance_kwh": 12345.0, "is_ped": False,
         "timeseries": timeseries_block("annual", hostile=False)}
    s = maps.summary_lines(d)
    assert not s["is_ped"] and s["detail"] == "imports 12.3 MWh/a more primary energy than it exports"
    d["timeseries"] = timeseries_block("hourly", hostile=False)
    s = maps.summary_lines(d)
    # hourly: not positive although the year's balance is -50 000 kWh
    assert not s["is_ped"]
    assert s["detail"] == ("hourly netting: exports 50.0 MWh/a more primary energy than it "
                           "imports over the year, but not in every hour")
    d["timeseries"]["verdict"] = dict(d["timeseries"]["netting"]["annual"])
    d["timeseries"]["timestep"] = "hourly"
    assert maps.summary_lines(d)["title"] == "Positive Energy District"
