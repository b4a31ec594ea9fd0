"""The sample district's time-resolved block (issue 7) in report.html and map.html, drawn in
headless chromium with no network: netting table, monthly balance chart, typical-day chart,
and the map's time-resolved indicators and verdict lines. Screenshots are test artefacts.
"""

import json

import geopandas as gpd
import pytest

pytestmark = pytest.mark.browser

LOCAL = ("file:", "data:", "about:", "blob:")


def _open(browser, path):
    browser.open(path)
    assert browser.errors() == [], f"JavaScript errors in {path.name}"
    assert [u for u in browser.requests() if not u.startswith(LOCAL)] == []


def _ts(folder):
    d = json.loads((folder / "district.json").read_text("utf-8"))
    assert "timeseries" in d, "the sample scenario has a weather year: pedgis demo adds the block"
    return d["timeseries"]


def test_report_draws_the_monthly_and_typical_day_charts(browser, sample_pages, artifacts):
    ts = _ts(sample_pages)
    _open(browser, sample_pages / "report.html")
    browser.wait_for("document.querySelectorAll('#pedgis-typical-day .scatterlayer .trace')"
                     ".length > 0")
    assert browser.errors() == []
    # monthly chart: PEI and PEE bars, 12 each; the plotted values are district.json's [MWh]
    assert browser.eval("document.querySelectorAll('#pedgis-monthly .bars .point').length") == 24
    y = browser.eval("document.getElementById('pedgis-monthly').data.map(function (t) "
                     "{ return Array.from(t.y); })")
    assert y[0] == pytest.approx([v / 1000 for v in ts["monthly"]["pei_kwh"]])
    assert y[1] == pytest.approx([-v / 1000 for v in ts["monthly"]["pee_kwh"]])
    assert y[2] == pytest.approx([v / 1000 for v in ts["monthly"]["balance_kwh"]])
    # typical days: four panels (Jan, Apr, Jul, Oct), load / PV / import / export in each
    assert browser.eval("document.querySelectorAll('#pedgis-typical-day .cartesianlayer "
                        ".subplot').length") == 4
    assert browser.eval("document.querySelectorAll('#pedgis-typical-day .scatterlayer "
                        ".trace').length") == 16
    # netting table: the balance with each netting period as district.json gives it
    cells = browser.eval("Array.from(document.querySelectorAll('#through-the-year "
                         "table.netting tr')[3].querySelectorAll('td'))"
                         ".map(function (c) { return c.textContent; })")
    from pedgis.viz.common import fmt_energy

    assert cells == [fmt_energy(ts["netting"][p]["ped_balance_kwh"])
                     for p in ("annual", "monthly", "hourly")]
    # one plotly.js for the Sankey and both charts; every chart has drawn
    assert browser.eval("document.querySelectorAll('.js-plotly-plot').length") == 3
    browser.eval("document.getElementById('through-the-year').scrollIntoView()")
    browser.screenshot(artifacts / "report_through_the_year.png")
    browser.eval("document.getElementById('electricity').scrollIntoView()")
    browser.screenshot(artifacts / "report_electricity_typical_day.png")


def test_map_switches_to_self_sufficiency(browser, sample_pages, artifacts):
    ts = _ts(sample_pages)
    _open(browser, sample_pages / "map.html")
    b = gpd.read_file(sample_pages / "buildings.gpkg", layer="buildings")
    assert browser.eval("document.querySelectorAll('path.pedgis-building').length") == len(b)
    labels = browser.eval("Array.from(document.querySelectorAll('.leaflet-control-layers-base "
                          "label')).map(function (l) { return l.textContent.trim(); })")
    idx = next(i for i, lab in enumerate(labels) if lab.startswith("Self-sufficiency"))
    assert any(lab.startswith("Peak grid import") for lab in labels)
    browser.eval(f"document.querySelectorAll('.leaflet-control-layers-base input')[{idx}]"
                 ".click()")
    legend = browser.eval("document.querySelector('.pedgis-legend .pedgis-title').textContent")
    assert legend.startswith("Self-sufficiency")
    box = browser.eval("document.querySelector('.pedgis-summary').textContent")
    assert f"Through the year — verdict on {ts['timestep']} netting" in box
    assert "Monthly (DB-HE)" in box and "Peak import / export" in box
    # the popup of a building lists its time-resolved numbers
    text = browser.eval("""(function () {
      var l = window.pedgisMapInfo.buildings.getLayers()[0];
      l.fire('click', {latlng: l.getCenter()}, true);
      return document.querySelector('.leaflet-popup-content').textContent; })()""")
    assert "Self-sufficiency (hourly)" in text and "Peak grid import" in text
    browser.eval("window.pedgisMapInfo.map.closePopup(), true")
    assert browser.errors() == []
    browser.screenshot(artifacts / "map_self_sufficiency.png")
