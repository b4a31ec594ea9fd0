"""map.html of a city (more buildings than pedgis.viz.maps.CITY_THRESHOLD) in headless chromium.

The page draws cells at low zoom and, zoomed in, loads the buildings of the view from
map_tiles/*.js beside it, offline from file:// (the browser is switched offline). The threshold
is lowered for a 400-building district so the test stays fast; the benchmark
(benchmarks/bench_viz_map.py) opens real cities of 50,000 and 100,000 buildings.
"""

import json

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from pedgis.viz import maps

pytestmark = pytest.mark.browser

LOCAL = ("file:", "data:", "about:", "blob:")
CELLS = "document.querySelectorAll('path.pedgis-cell').length"
BUILDINGS = "document.querySelectorAll('path.pedgis-building').length"


@pytest.fixture(scope="module")
def city_pages(tmp_path_factory, monkeypatch_module):
    """A 400-building district written by write_all with the city threshold at 100."""
    from district_fixture import write_folder

    from pedgis.viz import write_all

    monkeypatch_module.setattr(maps, "CITY_THRESHOLD", 100)
    folder = write_folder(tmp_path_factory.mktemp("city"), n=400, hostile=True)
    # spread over 4.8 km × 4.8 km (like a city, the page opens on cells, not on buildings)
    gpkg = folder / "buildings.gpkg"
    for layer in ("buildings", "boundary"):
        g = gpd.read_file(gpkg, layer=layer)
        g.geometry = g.geometry.scale(8.0, 8.0, origin=(421000.0, 4982000.0))
        g.to_file(gpkg, layer=layer, driver="GPKG")
    write_all(folder, folder)
    return folder


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _check_offline(browser, name):
    assert browser.errors() == [], f"JavaScript errors in {name}"
    remote = [u for u in browser.requests() if not u.startswith(LOCAL)]
    assert remote == [], f"{name} asked the network for {remote[:3]}"


def test_city_map_shows_cells_then_the_buildings_of_the_view(browser, city_pages, artifacts):
    b = gpd.read_file(city_pages / "buildings.gpkg", layer="buildings")
    assert len(list((city_pages / maps.TILE_DIR).glob("*.js"))) > 1
    browser.open(city_pages / "map.html")
    _check_offline(browser, "map.html")
    info = browser.eval("JSON.stringify({n: pedgisMapInfo.nBuildings, cells: pedgisMapInfo.city.cells})")
    info = json.loads(info)
    assert info["n"] == len(b)
    # the page opens on the whole city at low zoom: the cells are drawn, no building yet
    assert browser.eval("pedgisMapInfo.map.getZoom()") < maps.DETAIL_ZOOM
    browser.wait_for(f"{CELLS} === pedgisMapInfo.city.cells")
    assert browser.eval("pedgisMapInfo.city.loaded()") == 0
    assert browser.eval(BUILDINGS) == 0 and info["cells"] > 1
    legend = browser.eval("document.querySelector('.pedgis-legend:not(.pedgis-overlay-legend)').textContent")
    assert legend.startswith("PED balance") and "cells of" in legend
    browser.screenshot(artifacts / "map_city_cells.png")
    # zoomed in on a corner: the tiles of the view load from map_tiles/ and their buildings are drawn
    corner = b.to_crs(4326).geometry.iloc[0].centroid
    browser.eval(f"pedgisMapInfo.map.setView([{corner.y}, {corner.x}], 18), 1")
    browser.wait_for("pedgisMapInfo.city.loaded() > 0")
    browser.wait_for(f"{BUILDINGS} === pedgisMapInfo.city.loaded()")
    _check_offline(browser, "map.html zoomed in")
    loaded = set(browser.eval("pedgisMapInfo.buildings.getLayers().map(function (l) { return l.feature.properties.i; })"))
    assert browser.eval(CELLS) == 0
    assert 0 < len(loaded) < len(b)  # only the tiles near the view
    # every building whose footprint lies in the view was loaded (footprints read independently)
    s, w, n, e = browser.eval("(function (v) { return [v.getSouth(), v.getWest(), v.getNorth(), v.getEast()]; })"
                              "(pedgisMapInfo.map.getBounds())")
    in_view = b[b.to_crs(4326).intersects(box(w, s, e, n))]
    assert len(in_view) > 0
    assert set(maps._clip(i) for i in in_view["building_id"]) <= loaded
    # the indicator still switches, for buildings and cells alike
    fills = browser.eval("Array.from(document.querySelectorAll('path.pedgis-building')).map(function (p) "
                         "{ return p.getAttribute('fill'); })")
    browser.eval("""(function () {
      var ls = Array.from(document.querySelectorAll('.leaflet-control-layers label'));
      ls.find(function (x) { return x.textContent.trim().startsWith('Energy needs per floor'); })
        .querySelector('input').click(); return 1; })()""")
    after = browser.eval("Array.from(document.querySelectorAll('path.pedgis-building')).map(function (p) "
                         "{ return p.getAttribute('fill'); })")
    assert after != fills and np.unique(after).size > 1
    browser.screenshot(artifacts / "map_city_buildings.png")


def test_city_report_embeds_the_city_map(browser, city_pages):
    """The report's map (iframe srcdoc) finds the tiles beside report.html too."""
    browser.open(city_pages / "report.html")
    _check_offline(browser, "report.html")
    frame = "document.querySelector('iframe[srcdoc*=\"pedgisTile\"]')"
    assert browser.eval(f"{frame} !== null")
    n = browser.eval(f"{frame}.contentWindow.pedgisMapInfo.nBuildings")
    assert n == 400
