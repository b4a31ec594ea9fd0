"""The pages of a run whose every user text is a payload (tests/hostile_sample.py), in chromium.

One page load per page type: map.html, report.html (with the map in its iframe), sankey.html,
timeseries.html and compare.html. Each text must show literally where it is displayed (read
from the DOM and compared with what buildings.gpkg and the scenario hold), no alert() may
fire, no element may have been injected and no payload may have had a side effect.
"""

import json

import geopandas as gpd
import pytest
from hostile_sample import CHP, NETWORK, NEW_USE, SYSTEM_BOILER, SYSTEM_HP, TITLE, VARIANTS, clip
from payloads import as_displayed, side_effects

pytestmark = pytest.mark.browser

# elements and attributes a payload would have made if it had become markup (in every frame)
INJECTED = r"""(function () {
  function scan(doc) {
    var bad = [];
    doc.querySelectorAll('*').forEach(function (e) {
      Array.from(e.attributes).forEach(function (a) {
        if (/^on/i.test(a.name)) { bad.push(e.tagName + ' ' + a.name); }
      });
      if (e.tagName === 'A' && /^\s*javascript:/i.test(e.getAttribute('href') || '')) {
        bad.push('a href=javascript');
      }
      if (e.tagName === 'B' && e.textContent === 'bold?') { bad.push('b'); }
    });
    doc.querySelectorAll('img[src="x"]').forEach(function () { bad.push('img src=x'); });
    Array.from(doc.scripts).forEach(function (s) {
      if (/^\s*alert\(/.test(s.text)) { bad.push('script ' + s.text.slice(0, 30)); }
    });
    doc.querySelectorAll('iframe').forEach(function (f) { bad = bad.concat(scan(f.contentDocument)); });
    return bad;
  }
  return scan(document);
})()"""


def _open(browser, path):
    browser.open(path)
    assert browser.errors() == [], f"JavaScript errors in {path.name}"


def _clean(browser):
    assert browser.eval(INJECTED) == []
    assert browser.eval("window.__pedgisAlerts") == 0
    assert side_effects() == []


# every building's popup and tooltip, opened as a click and a hover would open them
POPUPS = r"""(function () {
  var info = window.pedgisMapInfo, out = [];
  info.buildings.eachLayer(function (l) {
    var at = {latlng: l.getBounds().getCenter()};
    l.fire('click', at, true);  // propagated to the buildings layer, as a click is
    var box = document.querySelector('.leaflet-popup-content .pedgis-popup');
    var sub = box.querySelector('.pedgis-sub'), cells = {};
    box.querySelectorAll('tr').forEach(function (tr) {
      cells[tr.cells[0].textContent] = tr.cells[1].textContent;
    });
    info.map.closePopup();
    l.fire('mouseover', at, true);
    var tip = document.querySelector('.leaflet-tooltip b').textContent;
    l.fire('mouseout', at, true);
    out.push({id: box.querySelector('.pedgis-title').textContent,
              name: sub ? sub.textContent : '', use: cells['Use'], flags: cells['Flags'],
              tooltip: tip});
  });
  return out;
})()"""


def test_map_shows_every_text_literally(browser, hostile_run):
    out = hostile_run["out"]
    _open(browser, out / "map.html")
    shown = browser.eval(POPUPS)
    b = gpd.read_file(out / "buildings.gpkg", layer="buildings")
    # texts set with textContent from JSON: every character kept, long ones clipped (MAX_TEXT)
    expected = [{"id": clip(i), "name": clip(n or ""), "use": clip(u or "") or "no data",
                 "flags": clip(f or "", 900) or "none", "tooltip": clip(i)}
                for i, n, u, f in zip(b["building_id"], b["name"], b["use"], b["flags"],
                                      strict=True)]
    assert sorted(shown, key=json.dumps) == sorted(expected, key=json.dumps)
    assert browser.eval("document.title") == TITLE
    assert browser.eval("document.querySelector('.pedgis-map-title').textContent") == clip(TITLE)
    _clean(browser)


def test_report_shows_every_text_literally(browser, hostile_run):
    out = hostile_run["out"]
    _open(browser, out / "report.html")
    assert browser.eval("document.querySelector('h1').textContent") == f"PED assessment — {TITLE}"
    body = browser.eval("document.body.textContent")
    for name in (SYSTEM_HP, SYSTEM_BOILER, NETWORK, CHP, NEW_USE):  # step tables, assumptions
        assert as_displayed(name) in body, name
    # the building tables: id and name cells (cut to 60 and 80 characters) belong together
    rows = browser.eval("""Array.from(document.querySelectorAll('table')).filter(function (t) {
        return t.rows[0].cells[0].textContent === 'Building'; }).flatMap(function (t) {
        return Array.from(t.rows).slice(1).map(function (r) {
          return [r.cells[0].textContent, r.cells[1].textContent]; }); })""")
    b = gpd.read_file(out / "buildings.gpkg", layer="buildings")
    name_of = {as_displayed(clip(i, 60)): as_displayed(clip(n or "", 80))
               for i, n in zip(b["building_id"], b["name"], strict=True)}
    assert len(rows) >= 10
    assert all(name_of[i] == n for i, n in rows), rows[:3]
    assert any("{" in i or "<" in n for i, n in rows)  # payloads are among the rows shown
    frame = "document.querySelector('iframe.map').contentDocument"
    assert browser.wait_for(f"{frame}.querySelectorAll('path.pedgis-building').length") > 0
    assert browser.eval(f"{frame}.title") == TITLE
    _clean(browser)


def test_sankey_shows_names_literally(browser, hostile_run):
    _open(browser, hostile_run["out"] / "sankey.html")
    labels = browser.eval("Array.from(document.querySelectorAll('.sankey-node .node-label'))"
                          ".map(function (t) { return t.textContent; })")
    # nodes are named from the label table (the system's technology), never from its id
    assert any(lab.startswith("Fuel of the CHP plant") for lab in labels), labels
    assert not any(CHP in lab for lab in labels)
    assert TITLE in browser.eval("document.querySelector('.gtitle').textContent")
    assert browser.eval("document.title") == TITLE
    _clean(browser)


def test_timeseries_page_shows_title_literally(browser, hostile_run):
    _open(browser, hostile_run["out"] / "timeseries.html")
    assert browser.eval("document.querySelector('h2').textContent") == \
        f"{TITLE}: time-resolved balance"
    _clean(browser)


def test_compare_chart_shows_variant_names_literally(browser, hostile_run):
    _open(browser, hostile_run["compare"] / "compare.html")
    ticks = browser.eval("Array.from(document.querySelectorAll('.xtick text'))"
                         ".map(function (t) { return t.textContent; })")
    # the first panel's category axis (the others are .x2tick, ...): baseline and the variants
    assert ticks == ["baseline", *VARIANTS]
    assert browser.eval("document.querySelector('.gtitle').textContent") == \
        f"pedgis compare: {TITLE} (annual netting)"
    _clean(browser)
