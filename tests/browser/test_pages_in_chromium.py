"""map.html, sankey.html and report.html in headless chromium, offline.

Each page must load with no JavaScript error and without asking for anything outside the
file (the browser is also switched offline), draw one path per building (counted in the
DOM, compared with the rows of buildings.gpkg read independently) and the Sankey's nodes;
screenshots are saved as test artefacts.
"""

import json

import geopandas as gpd
import pytest

from pedgis.viz.sankey import sankey_flows

pytestmark = pytest.mark.browser

LOCAL = ("file:", "data:", "about:", "blob:")


def _open(browser, path):
    browser.open(path)
    assert browser.errors() == [], f"JavaScript errors in {path.name}"
    remote = [u for u in browser.requests() if not u.startswith(LOCAL)]
    assert remote == [], f"{path.name} asked the network for {remote[:3]}"


def _n_buildings(folder):
    return len(gpd.read_file(folder / "buildings.gpkg", layer="buildings"))


PATHS = "document.querySelectorAll('path.pedgis-building').length"


def test_map_draws_every_building(browser, sample_pages, artifacts):
    _open(browser, sample_pages / "map.html")
    n = _n_buildings(sample_pages)
    assert browser.eval(PATHS) == n
    district = json.loads((sample_pages / "district.json").read_text("utf-8"))
    verdict = browser.eval("document.querySelector('.pedgis-verdict').textContent")
    assert ("Positive Energy District" == verdict) == bool(district["is_ped"])
    legend = browser.eval("document.querySelector('.pedgis-legend .pedgis-title').textContent")
    assert legend.startswith("PED balance")
    # one font on the page: the title (outside the map's container) as the legend and verdict boxes
    font = "getComputedStyle(document.querySelector('%s')).fontFamily"
    fonts = {sel: browser.eval(font % sel) for sel in (".pedgis-map-title", ".pedgis-verdict", ".pedgis-legend")}
    assert len(set(fonts.values())) == 1 and "system-ui" in fonts[".pedgis-map-title"], fonts
    browser.screenshot(artifacts / "map.png")


@pytest.mark.parametrize("pages", ["sample_pages", "hostile_pages"])
def test_map_indicator_and_overlays_switch(browser, pages, artifacts, request):
    name = pages
    sample_pages = request.getfixturevalue(pages)
    _open(browser, sample_pages / "map.html")
    n = _n_buildings(sample_pages)
    click = """(function (text) {
      var labels = Array.from(document.querySelectorAll('.leaflet-control-layers label'));
      var l = labels.find(function (x) { return x.textContent.trim().startsWith(text); });
      l.querySelector('input').click(); return true; })(%s)"""
    fills = ("Array.from(document.querySelectorAll('path.pedgis-building'))"
             ".map(function (p) { return p.getAttribute('fill'); })")
    before_fills = browser.eval(fills)
    browser.eval(click % json.dumps("Energy needs per floor area"))
    assert browser.eval(fills) != before_fills  # the buildings were restyled
    title = browser.eval("document.querySelector('.pedgis-legend .pedgis-title').textContent")
    assert title.startswith("Energy needs per floor area")
    assert browser.eval(PATHS) == n  # the old layer is removed, the new one drawn
    gpkg = sample_pages / "buildings.gpkg"
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    if "roof_segments" in layers:
        n_roofs = len(gpd.read_file(gpkg, layer="roof_segments"))
        assert browser.eval("document.querySelectorAll('path.pedgis-roof').length") == 0
        browser.eval(click % json.dumps("Roof segments"))
        drawn = browser.eval("document.querySelectorAll('path.pedgis-roof').length")
        assert drawn == n_roofs
        legend = browser.eval("(function(){var d=document.querySelector("
                              "'.pedgis-overlay-legend'); return d.style.display !== 'none' "
                              "&& d.textContent;})()")
        assert legend and legend.startswith("Roof segments by irradiation")
    if (sample_pages / "irradiation.tif").is_file():
        browser.eval(click % json.dumps("Irradiation raster"))
        ok = browser.wait_for("(function(){var i=document.querySelector("
                              "'img.leaflet-image-layer'); return !!i && i.complete && "
                              "i.naturalWidth > 0;})()")
        assert ok
    assert browser.errors() == []
    browser.screenshot(artifacts / f"map_needs_per_m2_overlays_{name}.png")


def test_map_popup_shows_hostile_values_as_text(browser, hostile_pages, artifacts):
    from district_fixture import HOSTILE

    _open(browser, hostile_pages / "map.html")
    assert browser.eval(PATHS) == _n_buildings(hostile_pages)
    # open every building's popup and tooltip: nothing may run or become markup
    texts = browser.eval("""(function () {
      var out = [], m = window.pedgisMapInfo.map;
      m.eachLayer(function (l) {
        if (l.feature && l.feature.properties.v && l.getCenter) {  // a building polygon
          var at = {latlng: l.getCenter()};
          l.fire('click', at, true);  // as a user's click: the group's popup opens for it
          out.push(document.querySelector('.leaflet-popup-content').textContent);
          l.fire('mouseover', at, true);
        }
      });
      return out; })()""")
    assert len(texts) == _n_buildings(hostile_pages)
    assert browser.eval("window.__pedgisAlerts") == 0
    assert browser.eval("document.querySelectorAll('img:not(.leaflet-image-layer)').length") == 0
    assert any(HOSTILE[0] in t for t in texts)  # shown literally as text
    assert any(HOSTILE[3] in t for t in texts)  # non-Latin scripts intact
    # reopen the popup of the script-tag building for the screenshot
    reopen = """(function (name) { var m = window.pedgisMapInfo.map, target = null;
      m.eachLayer(function (l) { if (l.feature && l.feature.properties.n === name) target = l; });
      target.fire('click', {latlng: target.getCenter()}, true); })"""
    browser.eval(f"{reopen}({json.dumps(HOSTILE[0])})")
    assert browser.errors() == []
    browser.screenshot(artifacts / "map_hostile_popup.png")


def test_sankey_draws_its_nodes(browser, sample_pages, artifacts):
    _open(browser, sample_pages / "sankey.html")
    district = json.loads((sample_pages / "district.json").read_text("utf-8"))
    flows = sankey_flows(district).pruned()
    browser.wait_for("document.querySelectorAll('.sankey .sankey-node').length > 0")
    nodes = browser.eval("document.querySelectorAll('.sankey .sankey-node').length")
    assert nodes == len(flows.keys)
    assert browser.eval("document.querySelectorAll('.sankey .sankey-link').length") == \
        len(flows.values)
    labels = browser.eval("Array.from(document.querySelectorAll('.sankey .node-label'))"
                          ".map(function (e) { return e.textContent; })")
    assert any(lab.startswith("PED balance") for lab in labels)
    browser.screenshot(artifacts / "sankey.png", full_page=True)


def test_report_embeds_map_and_sankey(browser, sample_pages, artifacts):
    _open(browser, sample_pages / "report.html")
    n = _n_buildings(sample_pages)
    in_map = ("(function(){var d=document.querySelector('iframe.map').contentDocument;"
              "return d && d.querySelectorAll('path.pedgis-building').length;})()")
    assert browser.wait_for(in_map) == n
    # the Sankey is drawn in the report itself, with the page's one copy of plotly.js
    browser.wait_for("document.querySelectorAll('#pedgis-sankey .sankey-node').length > 0")
    flows = sankey_flows(json.loads((sample_pages / "district.json").read_text("utf-8")))
    assert browser.eval("document.querySelectorAll('#pedgis-sankey .sankey-node').length") == \
        len(flows.pruned().keys)
    assert browser.errors() == []
    assert browser.eval("document.querySelector('.verdict .big').textContent")
    browser.screenshot(artifacts / "report.png")
    browser.screenshot(artifacts / "report_full.png", full_page=True)


# the rectangles of every drawn building and of the boxes over the map, in one document
_COVERED = """(function (d) {
  var boxes = [".pedgis-map-title", ".pedgis-summary", ".pedgis-legend:not(.pedgis-overlay-legend)",
               ".leaflet-control-layers", ".leaflet-control-zoom"]
    .map(function (s) { var e = d.querySelector(s); return e ? [s, e.getBoundingClientRect()] : null; })
    .filter(Boolean);
  var hit = [];
  d.querySelectorAll('path.pedgis-building').forEach(function (p, i) {
    var r = p.getBoundingClientRect();
    boxes.forEach(function (b) {
      var q = b[1];
      if (r.right > q.left && r.left < q.right && r.bottom > q.top && r.top < q.bottom) { hit.push([i, b[0]]); }
    });
  });
  var open = d.querySelector(".pedgis-summary").classList.contains("pedgis-open");
  return {hit: hit, n: d.querySelectorAll('path.pedgis-building').length, summaryOpen: open};
})(%s)"""


def test_no_box_covers_the_district_on_the_map_or_in_the_report(browser, sample_pages, artifacts):
    """Issue 14 item 2: the verdict panel covered the district in the report's map. Every building's
    rectangle is checked against the title, verdict, legend, layer and zoom boxes, in the map page
    and in the report's embedded (smaller) map, where the verdict is one line with a details button."""
    import time

    n = _n_buildings(sample_pages)
    _open(browser, sample_pages / "map.html")
    time.sleep(0.5)  # the refit runs after the page's scripts
    got = browser.eval(_COVERED % "document")
    assert got["n"] == n and got["hit"] == [] and got["summaryOpen"] is True, got["hit"][:5]
    _open(browser, sample_pages / "report.html")
    doc = "document.querySelector('iframe.map').contentDocument"
    browser.wait_for(f"{doc} && {doc}.querySelectorAll('path.pedgis-building').length === {n}")
    time.sleep(0.5)
    got = browser.eval(_COVERED % doc)
    assert got["n"] == n and got["hit"] == [] and got["summaryOpen"] is False, got["hit"][:5]
    # the details are one click away
    browser.eval(f"{doc}.querySelector('.pedgis-summary .pedgis-toggle').click()")
    assert browser.eval(f"{doc}.querySelector('.pedgis-summary-body').offsetHeight") > 50
