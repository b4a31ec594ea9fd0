"""Step 1: geometry hygiene, CRS rules and district boundaries (paper §2.1)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from pedgis.boundaries import STEP1_COLUMNS, prepare_district, virtual_assets_table
from pedgis.errors import ConfigError, CRSError, CRSWarning, DataQualityWarning, InputDataError

USES = ["residential", "office", "commercial", "education", "health", "hotel", "sports", "industrial"]
STOREY = {u: 3.0 for u in USES}
DEFAULT_FLOORS = {u: 2.0 for u in USES}
CRS = "EPSG:32632"


def run(gdf, **kw):
    kw.setdefault("storey_height_m", STOREY)
    kw.setdefault("default_floors", DEFAULT_FLOORS)
    kw.setdefault("gross_to_conditioned", 0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return prepare_district(gdf, **kw)


def frame(geoms, crs=CRS, **cols):
    n = len(geoms)
    cols.setdefault("ID", [f"b{i}" for i in range(n)])
    cols.setdefault("CATEGORIA", ["A/2"] * n)
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=crs)


def row(res, bid):
    b = res.buildings
    sel = b[b["building_id"] == bid]
    assert len(sel) == 1, f"{bid}: {len(sel)} rows"
    return sel.iloc[0]


# ----------------------------------------------------------------------------- contract

def test_table_follows_the_contract_and_keeps_every_building():
    gdf = frame([box(0, 0, 10, 10), box(20, 0, 30, 10), None], PIANI=[3, None, 2])
    res = run(gdf, columns={"floors": "PIANI"})
    b = res.buildings
    assert list(b.columns[:len(STEP1_COLUMNS)]) == STEP1_COLUMNS
    assert len(b) == 3 and b.crs.to_epsg() == 32632
    assert b["building_id"].tolist() == ["b0", "b1", "b2"]
    assert b["included"].dtype == bool
    # floors attribute 3 → floor area = 100 m² × 3 × 0.9 = 270 m²
    assert row(res, "b0")["floor_area_m2"] == pytest.approx(270.0)
    assert row(res, "b0")["height_m"] == pytest.approx(9.0)  # 3 floors × 3 m
    assert row(res, "b0")["height_source"] == "floors_attribute"
    # no floors, no height: default 2 floors, flagged
    b1 = row(res, "b1")
    assert b1["height_source"] == "default" and b1["floors"] == 2
    assert "height and floors unknown: default 2 floors for use residential" in b1["flags"]
    assert b1["floor_area_m2"] == pytest.approx(100 * 2 * 0.9)
    # empty geometry: kept, excluded with a reason
    b2 = row(res, "b2")
    assert not b2["included"] and b2["exclusion_reason"] == "empty geometry (no coordinates)"
    assert b2["footprint_area_m2"] == 0 and b2["floor_area_m2"] == 0
    assert res.preset == "it_catasto"


def test_flags_summary_warning():
    gdf = frame([box(0, 0, 10, 10)])
    with pytest.warns(DataQualityWarning, match="1 of 1 buildings have data-quality flags"):
        prepare_district(gdf, storey_height_m=STOREY, default_floors=DEFAULT_FLOORS, gross_to_conditioned=0.9)


# ----------------------------------------------------------------------------- hygiene

def test_self_intersecting_polygon_is_repaired_and_flagged():
    # a bow-tie: the 10 × 10 m square with two vertices swapped; the building is the square
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    # two triangles touching at (30, 5) in one ring: make_valid keeps both, 2 × (10 × 10 / 2) = 100 m²
    eight = Polygon([(20, 0), (30, 5), (40, 0), (40, 10), (30, 5), (20, 10)])
    res = run(frame([bowtie, eight]))
    r = row(res, "b0")
    assert r["included"]
    assert "bow-tie quadrilateral repaired as its convex hull: two vertices swapped (Self-intersection" in r["flags"]
    assert r["footprint_area_m2"] == pytest.approx(100.0)
    e = row(res, "b1")
    assert "invalid geometry repaired (Ring Self-intersection" in e["flags"]
    assert e["footprint_area_m2"] == pytest.approx(100.0)


def test_multipart_building():
    mp = MultiPolygon([box(0, 0, 10, 10), box(15, 0, 25, 20)])  # 100 + 200 m²
    r = row(run(frame([mp])), "b0")
    assert r["footprint_area_m2"] == pytest.approx(300.0)
    assert "multipart footprint (2 parts)" in r["flags"]


def test_building_part_split_in_two_rows_is_grouped_with_area_weighted_floors():
    # part A: 10 × 10 m, 2 floors; part B: 10 × 30 m, 4 floors, same id "X"
    gdf = frame([box(0, 0, 10, 10), box(10, 0, 20, 30), box(50, 0, 60, 10)],
                ID=["X", "X", "Y"], PIANI=[2, 4, 1], CATEGORIA=["A/2", "C/1", "A/2"])
    res = run(gdf, columns={"floors": "PIANI"})
    assert len(res.buildings) == 2
    x = row(res, "X")
    assert x["footprint_area_m2"] == pytest.approx(400.0)
    # Σ parts: (100 × 2 + 300 × 4) × 0.9 = 1260 m²; floors = 1400 / 400 = 3.5
    assert x["floor_area_m2"] == pytest.approx(1260.0)
    assert x["floors"] == pytest.approx(3.5)
    assert "building X split over 2 rows (rows 1, 2): parts merged" in x["flags"]
    # the larger part is C/1 (commercial): its use is taken, and the mix is flagged
    assert x["use"] == "commercial"
    assert "parts with different uses (residential, commercial): use of the largest part (commercial) taken" in x["flags"]


def test_duplicate_rows_are_counted_once():
    gdf = frame([box(0, 0, 10, 10), box(0, 0, 10, 10)], ID=["D", "D"])
    res = run(gdf)
    assert len(res.buildings) == 1
    d = row(res, "D")
    assert d["footprint_area_m2"] == pytest.approx(100.0)
    assert "2 rows with id D have the same geometry (duplicates, rows 1, 2): counted once" in d["flags"]


def test_duplicate_ids_without_grouping_are_suffixed():
    gdf = frame([box(0, 0, 10, 10), box(20, 0, 30, 10)], ID=["D", "D"])
    res = run(gdf, group_by_id=False)
    assert res.buildings["building_id"].tolist() == ["D#1", "D#2"]
    assert all("duplicate building id" in f for f in res.buildings["flags"])


def test_missing_ids_are_generated_and_flagged():
    gdf = frame([box(0, 0, 10, 10), box(20, 0, 30, 10)], ID=["A", None])
    res = run(gdf)
    assert res.buildings["building_id"].tolist() == ["A", "row2"]
    assert "no building id: generated from the row number" in row(res, "row2")["flags"]


def test_zero_area_and_non_polygons_are_excluded_with_a_reason():
    tiny = box(0, 0, 0.05, 0.05)  # 0.0025 m²
    flat = Polygon([(0, 0), (10, 0), (20, 0)])  # collinear: no area at all
    from shapely.geometry import LineString, Point
    gdf = frame([tiny, flat, Point(3, 3), LineString([(0, 0), (5, 5)]), box(0, 0, 10, 10)])
    res = run(gdf)
    reasons = res.buildings["exclusion_reason"].tolist()
    assert reasons[0] == "zero-area footprint (0.0025 m²)"
    assert reasons[1].startswith("invalid geometry without area after repair")
    assert reasons[2] == "not a polygon (Point)"
    assert reasons[3] == "not a polygon (LineString, not closed)"
    assert reasons[4] == ""
    assert res.buildings["included"].tolist() == [False, False, False, False, True]


def test_sliver_holes_filled_courtyards_kept():
    outer = [(0, 0), (40, 0), (40, 40), (0, 40)]
    court = [(10, 10), (20, 10), (20, 20), (10, 20)]      # 100 m² courtyard
    sliver = [(30, 30), (30.5, 30), (30.5, 31), (30, 31)]  # 0.5 m² digitising sliver
    r = row(run(frame([Polygon(outer, [court, sliver])])), "b0")
    assert r["footprint_area_m2"] == pytest.approx(1600 - 100)
    assert "1 sliver hole(s) under 1 m² filled" in r["flags"]


def test_sliver_spike_is_flagged_not_changed():
    # a 10 × 10 m house with a 0.05 m wide, 1.5 m long spike out of its south wall (+0.075 m²)
    spike = Polygon([(0, 0), (5, 0), (5, -1.5), (5.05, -1.5), (5.05, 0), (10, 0), (10, 10), (0, 10)])
    r = row(run(frame([spike, box(20, 0, 30, 10)])), "b0")
    assert "narrow spike or gap (0.05 m wide): a digitising error?" in r["flags"]
    assert r["footprint_area_m2"] == pytest.approx(100 + 0.05 * 1.5)


def test_z_coordinates_and_3d_multipolygons():
    flat3d = Polygon([(0, 0, 5), (10, 0, 5), (10, 10, 5), (0, 10, 5)])
    # a 3D box solid: floor at z=100, roof at z=109, four vertical walls
    x0, y0, x1, y1, z0, z1 = 20, 0, 30, 10, 100.0, 109.0
    floor = Polygon([(x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0)])
    roof = Polygon([(x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)])
    walls = [Polygon([(a[0], a[1], z0), (b[0], b[1], z0), (b[0], b[1], z1), (a[0], a[1], z1)])
             for a, b in [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))]]
    solid = MultiPolygon([floor, roof, *walls])
    res = run(frame([flat3d, solid]))
    a, b = row(res, "b0"), row(res, "b1")
    assert "Z coordinates dropped" in a["flags"] and a["height_source"] == "default"
    assert "3D MultiPolygon of 6 surfaces flattened to its footprint" in b["flags"]
    assert b["footprint_area_m2"] == pytest.approx(100.0)
    assert b["height_source"] == "geometry_z" and b["height_m"] == pytest.approx(9.0)
    assert b["floors"] == 3
    assert not res.buildings.geometry.has_z.any()


def test_implausible_and_textual_attributes_are_flagged():
    gdf = frame([box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10)],
                H=["12 m", "tall", "900"])
    res = run(gdf, columns={"height_m": "H"})
    assert row(res, "b0")["height_m"] == 12 and row(res, "b0")["height_source"] == "attribute"
    assert "height_m value 'tall' (H) not a number: ignored" in row(res, "b1")["flags"]
    assert "height_m value 900 (H) not plausible: ignored" in row(res, "b2")["flags"]


def test_floors_attribute_disagreeing_with_height_is_flagged():
    gdf = frame([box(0, 0, 10, 10)], H=[30.0], PIANI=[2])
    r = row(run(gdf, columns={"height_m": "H", "floors": "PIANI"}), "b0")
    assert r["floors"] == 2 and r["height_m"] == 30
    assert "floors attribute (2) disagrees with the height (30.0 m, attribute)" in r["flags"]


def test_unconditioned_uses_are_rows_excluded_with_the_reason():
    res = run(frame([box(0, 0, 10, 10), box(20, 0, 30, 10)], CATEGORIA=["A/2", "C/6"]))
    r = row(res, "b1")
    assert r["use"] == "unconditioned" and not r["included"]
    assert r["exclusion_reason"] == "unconditioned use ('C/6': garage, shed, storage or ruin)"


def test_bag_heights_from_roof_and_ground_elevations():
    gdf = gpd.GeoDataFrame({"identificatie": ["1", "2"], "gebruiksdoel": ["woonfunctie", "kantoorfunctie"],
                            "b3_h_maaiveld": [-1.5, 2.0], "b3_h_dak_70p": [10.5, 2.0],
                            "bouwjaar": [1930, 1990]},
                           geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)], crs="EPSG:28992")
    res = run(gdf)
    assert res.preset == "bag"
    one = row(res, "1")
    assert one["height_m"] == pytest.approx(12.0)  # 10.5 − (−1.5)
    assert one["height_source"] == "attribute" and one["floors"] == 4 and one["year"] == 1930
    assert "roof − ground elevation = 0.0 m not plausible: ignored" in row(res, "2")["flags"]


# ----------------------------------------------------------------------------- CRS

def test_geographic_input_is_projected_to_utm_with_a_warning():
    # near Turin (45° N, 7.7° E), inside UTM zone 32
    gdf = frame([box(4e5, 5e6, 4e5 + 10, 5e6 + 10), box(4e5 + 20, 5e6, 4e5 + 30, 5e6 + 10)],
                crs="EPSG:32632").to_crs("EPSG:4326")
    with pytest.warns(CRSWarning, match=r"EPSG:4326 is geographic \(degrees\); reprojected to EPSG:32632"):
        res = prepare_district(gdf, storey_height_m=STOREY, default_floors=DEFAULT_FLOORS,
                               gross_to_conditioned=0.9)
    assert res.buildings.crs.to_epsg() == 32632
    np.testing.assert_allclose(res.buildings["footprint_area_m2"], 100.0, rtol=1e-4)


def test_input_without_crs_is_an_error():
    gdf = gpd.GeoDataFrame({"ID": ["a"]}, geometry=[box(0, 0, 1, 1)])
    with pytest.raises(CRSError, match="never guesses one"):
        run(gdf)


def test_empty_input_is_an_error():
    with pytest.raises(InputDataError, match="no features"):
        run(frame([]))


# ----------------------------------------------------------------------------- boundaries

def test_footprint_half_outside_the_boundary_centroid_and_share_rules():
    # building 10 × 10 m with 60 % of its area at x ≤ 6; the boundary ends at x = 6
    gdf = frame([box(0, 0, 10, 10), box(100, 100, 110, 110), box(2, 20, 5, 25)])
    perimeter = gpd.GeoDataFrame(geometry=[box(-50, -50, 6, 50)], crs=CRS)
    res = run(gdf, boundary=perimeter)  # centroid x = 5 ≤ 6: inside
    assert row(res, "b0")["included"]
    assert "crosses the district boundary (60% of the footprint inside)" in row(res, "b0")["flags"]
    assert row(res, "b1")["exclusion_reason"] == "centroid outside the geographical boundary"
    assert row(res, "b2")["included"]
    res = run(gdf, boundary=perimeter, boundary_rule="share", min_share_inside=0.7)
    assert row(res, "b0")["exclusion_reason"] == \
        "60% of the footprint inside the geographical boundary (minimum 70%)"
    assert row(res, "b1")["exclusion_reason"] == "outside the geographical boundary"
    res = run(gdf, boundary=perimeter, boundary_rule="share", min_share_inside=0.5)
    assert row(res, "b0")["included"]
    assert res.boundary["boundary_type"].tolist() == ["geographical"]
    assert res.boundary.geometry.iloc[0].equals(box(-50, -50, 6, 50))


def test_boundary_in_another_crs_and_not_overlapping():
    gdf = frame([box(0, 0, 10, 10)])
    perimeter = gpd.GeoDataFrame(geometry=[box(-50, -50, 60, 60)], crs=CRS).to_crs("EPSG:3035")
    assert row(run(gdf, boundary=perimeter), "b0")["included"]
    far = gpd.GeoDataFrame(geometry=[box(5e5, 5e6, 5.1e5, 5.1e6)], crs=CRS)
    with pytest.raises(CRSError, match=r"buildings and the boundary do not overlap: buildings covers x 0\.\.10"):
        run(gdf, boundary=far)


def test_functional_boundary_by_ids_and_by_filter():
    gdf = frame([box(0, 0, 10, 10), box(500, 0, 510, 10), box(1000, 0, 1010, 10)],
                RETE=["DH1", "DH1", ""], ID=["a", "b", "c"])
    res = run(gdf, boundary_type="functional", ids=["a", "c"])
    assert res.buildings["included"].tolist() == [True, False, True]
    assert row(res, "b")["exclusion_reason"] == "not a member of the functional boundary (id list)"
    res = run(gdf, boundary_type="functional", attribute_filter={"RETE": "DH1"})
    assert res.buildings["included"].tolist() == [True, True, False]
    assert row(res, "c")["exclusion_reason"] == "not a member of the functional boundary (filter RETE = DH1)"
    # the boundary of a functional district is the union of its members' footprints
    assert res.boundary.geometry.iloc[0].area == pytest.approx(200.0)
    assert res.boundary["rule"].iloc[0] == "member footprints"


def test_functional_boundary_errors():
    gdf = frame([box(0, 0, 10, 10)], ID=["a"], RETE=["DH1"])
    with pytest.raises(ConfigError, match=r"boundary.members: building id\(s\) not found in buildings: zz"):
        run(gdf, boundary_type="functional", ids=["a", "zz"])
    with pytest.raises(ConfigError, match="boundary.filter.NET: column 'NET' not found"):
        run(gdf, boundary_type="functional", attribute_filter={"NET": "x"})
    with pytest.raises(ConfigError, match="boundary.members: a functional boundary needs"):
        run(gdf, boundary_type="functional")
    with pytest.raises(ConfigError, match="boundary.path: a geographical boundary needs a polygon file"):
        run(gdf, boundary_type="geographical")
    with pytest.raises(ConfigError, match="boundary.type: 'galactic' is not a boundary type"):
        run(gdf, boundary_type="galactic")
    with pytest.raises(ConfigError, match="boundary.rule: 'area' is not a rule"):
        run(gdf, boundary=gpd.GeoDataFrame(geometry=[box(0, 0, 5, 5)], crs=CRS), boundary_rule="area")
    with pytest.raises(ConfigError, match=r"boundary.min_share_inside: 1.5: a share in \(0, 1\]"):
        run(gdf, boundary=gpd.GeoDataFrame(geometry=[box(0, 0, 5, 5)], crs=CRS), min_share_inside=1.5)


def test_virtual_assets_are_reported_separately():
    assets = [{"name": "Wind farm Colle", "technology": "wind", "carrier": "electricity",
               "annual_kwh": 4.0e6, "owned_share": 0.25, "capacity_kw": 2000, "source": "PPA 2024"}]
    res = run(frame([box(0, 0, 10, 10)]), boundary_type="virtual", virtual_assets=assets)
    va = res.virtual_assets
    assert va["attributed_kwh"].tolist() == [1.0e6]  # 4,000,000 kWh × 0.25
    assert va["name"].tolist() == ["Wind farm Colle"]
    assert res.buildings["included"].all()  # no perimeter and no members: every building
    assert res.boundary["boundary_type"].iloc[0] == "virtual"
    assert virtual_assets_table(None).empty


@pytest.mark.parametrize("asset,match", [
    ({"name": "w", "technology": "wind", "carrier": "electricity", "annual_kwh": 1, "owned_share": 1.5},
     r"boundary.virtual_assets\[0\].owned_share: 1.5: the owned share is a fraction"),
    ({"name": "w", "technology": "wind", "carrier": "electricity", "annual_kwh": -1, "owned_share": 0.5},
     r"boundary.virtual_assets\[0\].annual_kwh: -1.0 kWh/a"),
    ({"name": "w", "technology": "wind", "annual_kwh": 1, "owned_share": 0.5},
     r"boundary.virtual_assets\[0\].carrier: missing"),
    ({"name": "w", "technology": "wind", "carrier": "e", "annual_kwh": "lots", "owned_share": 0.5},
     r"boundary.virtual_assets\[0\]: not a number"),
])
def test_virtual_asset_errors(asset, match):
    with pytest.raises(ConfigError, match=match):
        virtual_assets_table([asset])


def test_no_boundary_includes_everything_with_a_hull():
    res = run(frame([box(0, 0, 10, 10), box(20, 0, 30, 10)]))
    assert res.buildings["included"].all()
    assert res.boundary["boundary_type"].iloc[0] == "none"
    assert res.boundary.geometry.iloc[0].area == pytest.approx(300.0)  # hull 30 × 10 m


# ----------------------------------------------------------------------------- parameters

def test_parameter_errors_name_the_key():
    gdf = frame([box(0, 0, 10, 10)], CATEGORIA=["D/2"])  # hotel
    with pytest.raises(ConfigError, match="heights.storey_height_m: no value for use type"):
        run(gdf, storey_height_m={"residential": 3.0})
    with pytest.raises(ConfigError, match="heights.gross_to_conditioned: the gross-to-conditioned factor is a share"):
        run(gdf, gross_to_conditioned=1.2)
    with pytest.raises(ConfigError, match="heights.default_floors.hotel: must be > 0"):
        run(gdf, default_floors={**DEFAULT_FLOORS, "hotel": 0})


def test_per_use_gross_to_conditioned_and_storey_heights():
    gdf = frame([box(0, 0, 10, 10), box(20, 0, 30, 10)], CATEGORIA=["A/2", "D/1"], H=[9.0, 9.0])
    res = run(gdf, columns={"height_m": "H"}, storey_height_m={**STOREY, "industrial": 4.5},
              gross_to_conditioned={**{u: 0.85 for u in USES}, "industrial": 0.95})
    # residential: 9 / 3 = 3 floors → 100 × 3 × 0.85 = 255 m²; industrial: 9 / 4.5 = 2 → 100 × 2 × 0.95 = 190 m²
    assert res.buildings["floors"].tolist() == [3, 2]
    np.testing.assert_allclose(res.buildings["floor_area_m2"], [255.0, 190.0])


def test_unknown_use_without_default_is_an_error():
    gdf = frame([box(0, 0, 10, 10)], CATEGORIA=["Q/1"])
    with pytest.raises(InputDataError, match=r"'Q/1' \(1×\).*\[buildings.use_map\]"):
        run(gdf, default_use=None)


# ----------------------------------------------------------------------------- remaining message paths

def test_crs_helpers_messages():
    from pedgis.crs import align_to_raster, ensure_projected

    nocrs = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)])
    with pytest.raises(CRSError, match="buildings: no coordinate reference system"):
        ensure_projected(nocrs)
    empty = gpd.GeoDataFrame(geometry=[Polygon()], crs="EPSG:4326")
    with pytest.raises(CRSError, match="no geometry to estimate a projected CRS from"):
        ensure_projected(empty)
    with pytest.raises(CRSError, match="dsm.tif: the raster has no coordinate reference system"):
        align_to_raster(frame([box(0, 0, 1, 1)]), None, (0, 0, 1, 1), "dsm.tif")
    # a projected CRS in US feet (NY Long Island, EPSG:2263) is not metres: projected to UTM 18N
    feet = frame([box(5e5, 4.5e6, 5e5 + 1, 4.5e6 + 1)], crs="EPSG:32618").to_crs("EPSG:2263")
    with pytest.warns(CRSWarning, match=r"EPSG:2263 is not in metres; reprojected to EPSG:32618"):
        ensure_projected(feet)


def test_step1_parameter_and_input_messages():
    gdf = frame([box(0, 0, 10, 10)])
    with pytest.raises(ConfigError, match="heights.storey_height_m: must be > 0, got 0"):
        run(gdf, storey_height_m=0)
    with pytest.raises(ConfigError, match="buildings.columns.use: .* has no use-type column the preset knows"):
        run(gpd.GeoDataFrame({"X": [1]}, geometry=[box(0, 0, 10, 10)], crs=CRS))
    nocrs = gpd.GeoDataFrame(geometry=[box(0, 0, 20, 20)])
    with pytest.raises(CRSError, match="the boundary file has no coordinate reference system"):
        run(gdf, boundary=nocrs)
    lines = gpd.GeoDataFrame(geometry=[__import__("shapely").LineString([(0, 0), (5, 5)])], crs=CRS)
    with pytest.raises(InputDataError, match="the boundary file has no usable polygon"):
        run(gdf, boundary=lines)
    with pytest.raises(ConfigError, match=r"boundary.virtual_assets\[0\]: each virtual asset is a table"):
        virtual_assets_table(["wind farm"])


def test_default_use_for_a_file_without_use_column():
    res = run(gpd.GeoDataFrame({"X": [1]}, geometry=[box(0, 0, 10, 10)], crs=CRS), default_use="office")
    r = res.buildings.iloc[0]
    assert r["use"] == "office" and "no use column: default use office" in r["flags"]
