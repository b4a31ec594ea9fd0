"""map.html: EPSG:4326 whatever the input CRS, indicators, legend classes, offline, errors."""

import json
import re

import geopandas as gpd
import numpy as np
import pytest
from district_fixture import make_buildings, write_folder
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import box

from pedgis.errors import CRSError, DataQualityWarning, InputDataError
from pedgis.viz import maps
from pedgis.viz.common import class_index, diverging_breaks, sequential_breaks
from pedgis.viz.inputs import VizInputs, load_inputs


def _data(text):
    """The embedded buildings as GeoJSON-like dicts (geometry decoded, rings closed)."""
    m = re.search(r"var raw = (\{.*?\});\n", text)
    raw = json.loads(m.group(1))
    return {"features": [{"geometry": maps.decode_geometry(g, raw["origin"]), "properties": p}
                         for g, p in raw["features"]]}


def _cfg(text):
    m = re.search(r"var cfg = (\{.*?\});\n", text)
    return json.loads(m.group(1))


def _inputs(buildings, district=None, **kw):
    return VizInputs(buildings=buildings, boundary=kw.get("boundary"),
                     roof_segments=kw.get("roof_segments"), district=district or {},
                     irradiation=kw.get("irradiation"))


@pytest.mark.parametrize("epsg", [32632, 3857, 3003])
def test_coordinates_are_wgs84_whatever_the_input_crs(epsg):
    b = make_buildings(4, hostile=False)
    # a corner of building 1 transformed independently with pyproj, EPSG:32632 → 4326
    x, y = b.geometry.iloc[0].exterior.coords[0]
    lon, lat = Transformer.from_crs(32632, 4326, always_xy=True).transform(x, y)
    text = maps.build_map(_inputs(b.to_crs(epsg)))
    ring = _data(text)["features"][0]["geometry"]["coordinates"][0]
    assert min(abs(c[0] - lon) + abs(c[1] - lat) for c in ring) < 2e-6  # ≈ 0.2 m
    assert 7.9 < lon < 8.1 and 44.9 < lat < 45.1


def test_coordinates_rounded_and_geometries_simplified():
    b = make_buildings(2, hostile=False)
    # a square with 400 collinear vertices on its edges: simplification keeps 4 corners
    x0, y0 = 421000.0, 4982000.0
    pts = [(x0 + i * 0.05, y0) for i in range(400)] + [(x0 + 20, y0), (x0 + 20, y0 + 20),
                                                      (x0, y0 + 20)]
    from shapely.geometry import Polygon

    b.loc[0, "geometry"] = Polygon(pts)
    text = maps.build_map(_inputs(b))
    ring = _data(text)["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) <= 6
    for lon, lat in ring:  # whole micro-degrees (≈ 0.1 m)
        assert abs(lon * 1e6 - round(lon * 1e6)) < 1e-3
        assert abs(lat * 1e6 - round(lat * 1e6)) < 1e-3


def test_every_building_is_a_feature_with_its_numbers(out_folder):
    text = maps.build_map(out_folder)
    data = _data(text)
    b = gpd.read_file(out_folder / "buildings.gpkg", layer="buildings")
    assert len(data["features"]) == len(b)
    cfg = _cfg(text)
    keys = [n["key"] for n in cfg["numbers"]]
    k_bal, k_needs = keys.index("ped_balance_kwh"), keys.index("needs_kwh")
    for f, (_, row) in zip(data["features"], b.iterrows(), strict=True):
        v = f["properties"]["v"]
        assert v[k_bal] == pytest.approx(row.ped_balance_kwh, rel=1e-3)  # 4 significant digits
        needs = row.ten_sh_kwh + row.ten_sc_kwh + row.ten_dhw_kwh + row.een_kwh
        assert v[k_needs] == pytest.approx(needs, rel=1e-3)
        assert f["properties"]["x"] == int(row.included)


def test_building_numbers_by_hand():
    b = make_buildings(3, hostile=False)
    b["ten_sh_kwh"] = [1000.0, np.nan, np.nan]
    b["ten_sc_kwh"] = [200.0, 50.0, np.nan]
    b["ten_dhw_kwh"] = [300.0, np.nan, np.nan]
    b["een_kwh"] = [500.0, np.nan, np.nan]
    b["floor_area_m2"] = [100.0, 0.0, 10.0]
    b["pv_kwh"] = [1500.0, np.nan, 0.0]
    b["footprint_area_m2"] = [50.0, 10.0, 10.0]
    b["flags"] = ["", "a; b", "a;b;c"]
    n = maps.building_numbers(b)
    # needs: 1000 + 200 + 300 + 500 = 2000; the second only knows 50; the third nothing → NaN
    np.testing.assert_allclose(n["needs_kwh"], [2000.0, 50.0, np.nan])
    # per floor area: 2000 / 100 = 20; floor area 0 → NaN (never a division into 0 or inf)
    np.testing.assert_allclose(n["needs_kwh_m2"], [20.0, np.nan, np.nan])
    # PV per m² roof: 1500 / 50 = 30; unknown stays NaN; 0 stays 0
    np.testing.assert_allclose(n["pv_kwh_m2"], [30.0, np.nan, 0.0])
    np.testing.assert_allclose(n["flags"], [0, 2, 3])


def test_missing_result_columns_warn():
    b = make_buildings(2, hostile=False).drop(columns=["ped_balance_kwh"])
    with pytest.warns(DataQualityWarning, match="no column.*ped_balance_kwh"):
        maps.building_numbers(b)


def test_diverging_classes_are_symmetric_with_zero_as_an_edge():
    v = np.array([-30000.0, -100.0, 5.0, 12000.0, 80000.0])
    br = diverging_breaks(v)
    assert 0.0 in br and len(br) == 7
    assert br == [-x for x in reversed(br)]
    # exporters left of zero, importers right: −100 and 5 fall either side of the zero edge
    assert class_index(-100.0, br) == 3 and class_index(5.0, br) == 4
    assert class_index(float("nan"), br) is None


def test_sequential_breaks_are_nice_and_robust():
    v = np.r_[np.linspace(100, 200, 98), 1e9, np.nan]
    br = sequential_breaks(v, 7)
    assert len(br) == 6 and br == sorted(br)
    assert br[-1] < 1000  # the outlier does not stretch the classes
    assert sequential_breaks(np.array([np.nan]), 7) == []


def test_indicator_and_basemap_choices():
    b = make_buildings(3, hostile=False)
    with pytest.raises(InputDataError, match="indicator 'heat' is unknown"):
        maps.build_map(_inputs(b), indicator="heat")
    with pytest.raises(InputDataError, match="basemap 'google' is unknown"):
        maps.build_map(_inputs(b), basemap="google")
    offline = maps.build_map(_inputs(b), indicator="pv_kwh")
    assert "tile.openstreetmap.org" not in offline
    assert _cfg(offline)["initial"] == list(maps.INDICATORS).index("pv_kwh")
    osm = maps.build_map(_inputs(b), basemap="osm")
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in osm
    assert "OpenStreetMap\\u003c/a\\u003e contributors" in osm  # attribution (JSON-escaped)


def test_no_crs_is_an_error():
    b = make_buildings(2, hostile=False).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="buildings: the layer has no coordinate reference"):
        maps.build_map(_inputs(b))


def test_empty_buildings_is_an_error():
    b = make_buildings(2, hostile=False).iloc[:0]
    with pytest.raises(InputDataError, match="buildings layer is empty"):
        maps.build_map(_inputs(b))


def test_building_without_geometry_warns_and_stays_listed():
    b = make_buildings(3, hostile=False)
    b.loc[1, "geometry"] = None
    with pytest.warns(DataQualityWarning, match="1 building\\(s\\) have no geometry"):
        text = maps.build_map(_inputs(b))
    feats = _data(text)["features"]
    assert len(feats) == 3 and feats[1]["geometry"] is None


def test_canvas_above_threshold(monkeypatch):
    b = make_buildings(6, hostile=False)
    assert _cfg(maps.build_map(_inputs(b)))["canvas"] is False
    monkeypatch.setattr(maps, "CANVAS_THRESHOLD", 5)
    assert _cfg(maps.build_map(_inputs(b)))["canvas"] is True


def test_irradiation_overlay_in_place_with_nodata_transparent(out_folder):
    inputs = load_inputs(out_folder)
    rgba, bounds, breaks, labels = maps._raster_overlay(inputs.irradiation)
    # envelope of the raster's four corners, EPSG:32632 → 4326 independently (the UTM grid
    # is slightly rotated against the meridians, hence all four corners)
    r = inputs.irradiation
    h, w = r.array.shape
    t = Transformer.from_crs(32632, 4326, always_xy=True)
    xs = [r.transform.c, r.transform.c + r.transform.a * w]
    ys = [r.transform.f, r.transform.f + r.transform.e * h]
    lons, lats = t.transform([x for x in xs for _ in ys], [y for _ in xs for y in ys])
    one_px = 2e-5  # 1 m pixel ≈ 1.3e-5° of longitude at 45° N
    assert bounds[0][0] == pytest.approx(min(lats), abs=one_px)
    assert bounds[1][0] == pytest.approx(max(lats), abs=one_px)
    assert bounds[0][1] == pytest.approx(min(lons), abs=one_px)
    assert bounds[1][1] == pytest.approx(max(lons), abs=one_px)
    alpha = rgba[..., 3]
    assert (alpha == 0).any() and (alpha > 0).any()  # nodata strips stay transparent
    assert len(labels) == len(breaks) + 1


def test_roof_segments_without_irradiation_warn(out_folder):
    inputs = load_inputs(out_folder)
    roofs = inputs.roof_segments.drop(columns=["irradiation_kwh_m2"])
    with pytest.warns(DataQualityWarning, match="roof_segments layer has no column"):
        maps.build_map(_inputs(inputs.buildings, roof_segments=roofs))


def test_summary_verdict_lines():
    s = maps.summary_lines({"ped_balance_kwh": -2500.0, "pei_kwh": 1000.0, "pee_kwh": 3500.0,
                            "is_ped": True, "rer": 0.5, "n_buildings": 3, "n_included": 2})
    assert s["is_ped"] and s["title"] == "Positive Energy District"
    assert "exports 2\u202f500 kWh/a more" in s["detail"]
    assert ("Buildings included", "2 of 3") in s["lines"]
    s = maps.summary_lines({"ped_balance_kwh": 12345.0})
    assert not s["is_ped"] and "imports 12.3 MWh/a more" in s["detail"]


def test_boundary_drawn_without_its_attributes(tmp_path):
    folder = write_folder(tmp_path, n=4, raster=False)
    text = maps.build_map(folder)
    # the boundary's hostile "name" attribute is not carried into the page at all
    assert "District boundary" in text
    b = gpd.read_file(folder / "buildings.gpkg", layer="boundary")
    assert b["name"][0] not in text
    assert box(0, 0, 1, 1)  # shapely import used above


def test_labels_of_nearly_constant_values_stay_distinct():
    from pedgis.viz.common import class_labels

    br = sequential_breaks(np.array([100.0, 100.0 + 1e-9, 100.0 - 1e-9]), 7)
    assert len(set(br)) == 6
    labels = class_labels([100.5, 101.0, 101.5], "kWh")
    assert len(set(labels)) == 4 and labels[1] == "100.5 – 101.0 kWh" and labels[0] == "< 100.5 kWh"


def test_geometry_encoding_round_trip():
    from shapely.geometry import MultiPolygon, Polygon

    sq = Polygon([(8.0, 45.0), (8.0001, 45.0), (8.0001, 45.0001), (8.0, 45.0001)],
                 [[(8.00002, 45.00002), (8.00004, 45.00002), (8.00004, 45.00004)]])
    multi = MultiPolygon([sq, Polygon([(8.001, 45.001), (8.0011, 45.001), (8.0011, 45.0012)])])
    origin, enc = maps.encode_geometries(np.array([sq, None, multi], dtype=object))
    # integer micro-degrees: origin is the smallest x and y of all vertices
    assert origin == [8000000, 45000000]
    # first ring of the square: first vertex absolute (0, 0), then deltas of 100 µ°; the
    # closing vertex is left out
    assert enc[0][0][0] == [0, 0, 100, 0, 0, 100, -100, 0]
    assert enc[1] is None
    back = maps.decode_geometry(enc[2], origin)
    assert back["type"] == "MultiPolygon"
    from shapely.geometry import shape

    assert shape(back).equals_exact(multi, 1e-9)
    assert shape(maps.decode_geometry(enc[0], origin)).equals_exact(sq, 1e-9)


def test_natural_breaks_split_clusters_and_keep_outliers():
    from pedgis.viz.common import YLORRD, natural_breaks

    # an archetype cluster at 180 (60 buildings), one at 250 (30) and two outliers 400, 410:
    # three natural groups → edges at the lowest value of the 2nd and 3rd group
    v = np.r_[np.full(60, 180.0), np.full(30, 250.0), 400.0, 410.0]
    breaks, colors = natural_breaks(v, YLORRD[:3])
    assert breaks == [250.0, 400.0]
    assert colors == [YLORRD[0], YLORRD[1], YLORRD[2]]
    # with 7 colours but only 4 distinct values there are at most 4 classes
    breaks, colors = natural_breaks(v, YLORRD)
    assert breaks == [250.0, 400.0, 410.0] and len(colors) == 4
    assert colors[0] == YLORRD[0] and colors[-1] == YLORRD[-1]
    # hand check of the variance criterion for 2 classes of [1, 2, 10]: {1, 2} | {10}
    # (SSD 0.5) beats {1} | {2, 10} (SSD 32)
    assert natural_breaks(np.array([1.0, 2.0, 10.0]), YLORRD[:2])[0] == [10.0]
    assert natural_breaks(np.array([np.nan]), YLORRD) == ([], [])


@given(st.lists(st.integers(100, 999), min_size=3, max_size=9, unique=True), st.integers(2, 4))
@settings(max_examples=60, deadline=None)
def test_natural_breaks_are_the_partition_of_least_variance(values, k):
    """Fisher's criterion checked against every partition of the sorted values into k classes
    (brute force): the classes the edges make have the least total squared deviation."""
    from itertools import combinations

    from pedgis.viz.common import YLORRD, natural_breaks

    v = np.sort(np.asarray(values, dtype=float))  # 3-digit integers: edges are the values themselves
    k = min(k, len(v))

    def ssd(starts):
        bounds = [0, *starts, len(v)]
        return sum(((v[a:b] - v[a:b].mean()) ** 2).sum() for a, b in zip(bounds, bounds[1:], strict=False))

    best = min(ssd(cut) for cut in combinations(range(1, len(v)), k - 1))
    breaks, _ = natural_breaks(v, YLORRD[:k])
    starts = [int(np.searchsorted(v, b)) for b in breaks]
    assert len(breaks) == k - 1 and ssd(starts) == pytest.approx(best, rel=1e-12, abs=1e-9)


def test_natural_breaks_large_input_is_sampled():
    from pedgis.viz.common import YLGNBU, natural_breaks

    rng = np.random.default_rng(0)
    v = np.r_[rng.normal(100, 5, 20000), rng.normal(300, 5, 2000)]
    breaks, colors = natural_breaks(v, YLGNBU)
    assert len(colors) == len(breaks) + 1
    # one edge separates the two clusters: the lowest sampled value of the upper one (~285)
    assert any(250 < b < 300 for b in breaks)
    assert sum(b < 200 for b in breaks) >= 2  # the big cluster is split further


# ---------------------------------------------------------------- a city: cells and tiles


def _city(n=300, threshold=100):
    b = make_buildings(n, hostile=True)
    return b, maps.build_map_files(_inputs(b), city_threshold=threshold)


def test_small_district_page_is_self_contained():
    """Up to the threshold the page is what it was: every building in it, no cells, no tiles."""
    b = make_buildings(30, hostile=False)
    text, files = maps.build_map_files(_inputs(b))
    assert files == {} and "city" not in _cfg(text) and "pedgisTile" not in text
    assert len(_data(text)["features"]) == 30
    assert maps.build_map(_inputs(b)).count("pedgisTile") == 0


def test_city_cells_add_up_to_the_buildings():
    """Each cell's sum (energies) or mean (intensities) over its included buildings, recomputed
    here from the buildings' centroids in Web Mercator (pyproj) and the cell side the page used."""
    b, (text, files) = _city()
    city = _cfg(text)["city"]
    assert _data(text)["features"] == [] and city["n"] == len(b)
    size = city["cell_size_m"]
    cx, cy = Transformer.from_crs(32632, 3857, always_xy=True).transform(
        b.geometry.centroid.x.to_numpy(), b.geometry.centroid.y.to_numpy())
    key = list(zip(np.floor(cx / size).astype(int), np.floor(cy / size).astype(int), strict=True))
    inc = b["included"].to_numpy()
    keys = [ind["key"] for ind in city["indicators"]]
    k_bal, k_int = keys.index("ped_balance_kwh"), keys.index("roof_irradiation_kwh_m2")
    assert city["indicators"][k_bal]["how"] == "sum" and city["indicators"][k_int]["how"] == "mean"
    assert sum(c[1] for c in city["cells"]) == len(b) and len(city["cells"]) == len(set(key))
    for c in city["cells"]:
        w, s, e, n = c[0]
        (x0, x1), (y0, y1) = Transformer.from_crs(4326, 3857, always_xy=True).transform([w, e], [s, n])
        ij = (round(x0 / size), round(y0 / size))
        members = [k for k, kk in enumerate(key) if kk == ij]
        assert len(members) == c[1]
        bal = b["ped_balance_kwh"].to_numpy()[members][inc[members]]
        irr = b["roof_irradiation_kwh_m2"].to_numpy()[members][inc[members]]
        irr = irr[np.isfinite(irr)]
        assert c[2][k_bal] == pytest.approx(bal.sum(), rel=1e-3) if len(bal) else c[2][k_bal] is None
        assert c[2][k_int] == pytest.approx(irr.mean(), rel=1e-3) if len(irr) else c[2][k_int] is None


def test_city_tiles_hold_every_building_once_as_data():
    b, (text, files) = _city()
    city = _cfg(text)["city"]
    assert sorted(files) == sorted(f"{maps.TILE_DIR}/{t[0]}.js" for t in city["tiles"])
    ids = []
    for rel, js in files.items():
        m = re.fullmatch(r'pedgisTile\("(t[0-9m]+_[0-9m]+)", (\{.*\})\);\n', js, re.S)
        assert m and rel == f"{maps.TILE_DIR}/{m.group(1)}.js"
        raw = json.loads(m.group(2))
        assert "<" not in m.group(2)  # user text as JSON with <, >, & escaped: no markup, no </script>
        ids += [p["i"] for _, p in raw["features"]]
    assert sorted(ids) == sorted(maps._clip(i) for i in b["building_id"])
