"""timeseries.html of the sample district (`pedgis demo`) drawn in headless chromium, offline."""

import json

import pytest

LOCAL = ("file:", "data:", "about:", "blob:")

pytestmark = pytest.mark.browser


def test_timeseries_page_draws_both_charts(browser, sample_pages, artifacts):
    page = sample_pages / "timeseries.html"
    assert page.exists(), "pedgis demo writes timeseries.html (the sample scenario has a weather year)"
    browser.open(page)
    assert browser.errors() == []
    assert [u for u in browser.requests() if not u.startswith(LOCAL)] == []
    # plotly drew the monthly bars (PEI and PEE: 2 x 12) and four typical-day panels
    browser.wait_for("document.querySelectorAll('#pedgis-monthly .point').length > 0")
    bars = browser.eval("document.querySelectorAll('#pedgis-monthly .bars .point').length")
    assert bars == 24
    panels = browser.eval("document.querySelectorAll('#pedgis-typical-day .cartesianlayer .subplot').length")
    assert panels == 4
    lines = browser.eval("document.querySelectorAll('#pedgis-typical-day .scatterlayer .trace').length")
    assert lines == 4 * 4  # load, PV, import, export in each panel
    ts = json.loads((sample_pages / "district.json").read_text("utf-8"))["timeseries"]
    # the balance markers are visible over the bars: 12 drawn, none in a bar's colour, each month's
    # fill says whether it is compensated (B_m <= 0: white) or not (dark), read from district.json
    marks = browser.eval("""Array.from(document.querySelectorAll('#pedgis-monthly .scatterlayer .point'))
        .map(function (p) { var s = getComputedStyle(p); return [s.fill, s.stroke]; })""")
    assert len(marks) == 12
    bar_fills = set(browser.eval("""Array.from(document.querySelectorAll('#pedgis-monthly .bars .point path'))
        .map(function (p) { return getComputedStyle(p).fill; })"""))
    assert len(bar_fills) == 2 and not bar_fills & {f for f, _ in marks}
    white = "rgb(255, 255, 255)"
    assert [f == white for f, _ in marks] == [b <= 0 for b in ts["monthly"]["balance_kwh"]]
    assert all(f != st for f, st in marks)  # outlined in the other colour: visible on either bar
    cell = browser.eval("document.querySelector('table tr:nth-child(4) td').textContent")
    assert cell == f"{ts['netting']['annual']['ped_balance_kwh'] / 1000:,.1f} MWh"
    browser.screenshot(artifacts / "timeseries.png")
