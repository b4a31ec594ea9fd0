"""Heights from roof rasters (nDSM = DSM − DTM), floors and floor areas.

The rasters are built here: a sloping terrain plus flat boxes of known heights, with LiDAR-like
noise, an overhanging tree, nodata gaps, a footprint off the raster. Expected values are the box
heights the test put in, and floor areas computed by hand from them.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.features import rasterize
from shapely.geometry import Point, box

from pedgis.boundaries import prepare_district
from pedgis.errors import CRSError, CRSWarning, DataQualityWarning, InputDataError
from pedgis.heights import floor_area_m2, floors_from_height, footprint_heights, group_percentiles
from pedgis.io.raster import RasterSource, raster_problems

CRS = "EPSG:32632"
X0, Y1 = 400_000.0, 5_000_120.0  # upper-left corner, near Turin
W, H = 200, 120                  # 1 m pixels
TR = Affine(1.0, 0, X0, 0, -1.0, Y1)
USES = ["residential", "office", "commercial", "education", "health", "hotel", "sports", "industrial"]
STOREY = {u: 3.0 for u in USES}
DEFAULT_FLOORS = {u: 2.0 for u in USES}
NODATA = -9999.0

# id, footprint (offset by 0.3 m so edges cut pixels), roof height above ground [m]
BOXES = [
    ("low", box(X0 + 10.3, Y1 - 30.3, X0 + 22.3, Y1 - 20.3), 3.2),    # 12 × 10 m
    ("mid", box(X0 + 40.3, Y1 - 40.3, X0 + 60.3, Y1 - 25.3), 9.7),    # 20 × 15 m, tree at its edge
    ("tall", box(X0 + 80.3, Y1 - 50.3, X0 + 96.3, Y1 - 30.3), 15.1),  # 16 × 20 m
    ("tower", box(X0 + 120.3, Y1 - 40.3, X0 + 135.3, Y1 - 25.3), 24.4),  # 15 × 15 m
]
TREE = Point(X0 + 60.3, Y1 - 32.0).buffer(3.0)  # crown 18 m above ground, over "mid"'s east edge
GAPPY = ("gappy", box(X0 + 150.3, Y1 - 30.3, X0 + 170.3, Y1 - 10.3), 12.0)  # 40 % nodata
HOLE = ("hole", box(X0 + 150.3, Y1 - 80.3, X0 + 160.3, Y1 - 70.3), 6.0)     # all nodata
OUTSIDE = ("outside", box(X0 + 250, Y1 - 30, X0 + 262, Y1 - 20), None)        # east of the raster


def terrain():
    rows, cols = np.mgrid[0:H, 0:W]
    x = X0 + cols + 0.5
    y = Y1 - rows - 0.5
    return (250.0 + 0.02 * (x - X0) + 0.01 * (y - (Y1 - H))).astype("float32")


def surfaces():
    """DTM, DSM (with noise, a tree and nodata gaps) and the expected heights."""
    rng = np.random.default_rng(42)
    dtm = terrain()
    ndsm = np.zeros((H, W), dtype="float32")
    for _, geom, h in [*BOXES, GAPPY, HOLE]:
        mask = rasterize([(geom, 1)], out_shape=(H, W), transform=TR, fill=0, dtype="uint8").astype(bool)
        ndsm[mask] = h
    tree = rasterize([(TREE, 1)], out_shape=(H, W), transform=TR, fill=0, dtype="uint8").astype(bool)
    ndsm[tree] = np.maximum(ndsm[tree], 18.0)
    dsm = dtm + ndsm + rng.normal(0, 0.1, size=(H, W)).astype("float32")
    # nodata: the western 40 % of "gappy" (8 of 20 m) and all of "hole"
    gx0 = GAPPY[1].bounds[0]
    gap = rasterize([(box(gx0, GAPPY[1].bounds[1], gx0 + 8.0, GAPPY[1].bounds[3]), 1)],
                    out_shape=(H, W), transform=TR, fill=0, dtype="uint8").astype(bool)
    hole = rasterize([(HOLE[1], 1)], out_shape=(H, W), transform=TR, fill=0, dtype="uint8").astype(bool)
    dsm[gap | hole] = NODATA
    return dtm, dsm


def footprints(crs=CRS):
    rows = [*BOXES, GAPPY, HOLE, OUTSIDE]
    return gpd.GeoDataFrame({"ID": [r[0] for r in rows], "CATEGORIA": ["A/2"] * len(rows)},
                            geometry=[r[1] for r in rows], crs=CRS).to_crs(crs)


def run(gdf, **kw):
    kw.setdefault("storey_height_m", STOREY)
    kw.setdefault("default_floors", DEFAULT_FLOORS)
    kw.setdefault("gross_to_conditioned", 0.85)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return prepare_district(gdf, **kw)


def by_id(res):
    return res.buildings.set_index("building_id")


def sources():
    dtm, dsm = surfaces()
    return (RasterSource.from_array(dsm, TR, CRS, nodata=NODATA, name="dsm"),
            RasterSource.from_array(dtm, TR, CRS, nodata=NODATA, name="dtm"))


# ----------------------------------------------------------------------------- the core test

def test_known_box_heights_are_recovered_and_floor_areas_follow():
    dsm, dtm = sources()
    b = by_id(run(footprints(), dsm=dsm, dtm=dtm))
    for bid, _geom, h in BOXES:
        assert b.loc[bid, "height_source"] == "ndsm"
        assert abs(b.loc[bid, "height_m"] - h) < 0.5, (bid, b.loc[bid, "height_m"], h)
    # floors = max(1, round(h / 3 m)); floor area = footprint × floors × 0.85, by hand:
    #   low   12 × 10 = 120 m², 3.2 / 3 → 1 floor  → 120 × 1 × 0.85 = 102 m²
    #   mid   20 × 15 = 300 m², 9.7 / 3 → 3 floors → 300 × 3 × 0.85 = 765 m²
    #   tall  16 × 20 = 320 m², 15.1 / 3 → 5 floors → 320 × 5 × 0.85 = 1360 m²
    #   tower 15 × 15 = 225 m², 24.4 / 3 → 8 floors → 225 × 8 × 0.85 = 1530 m²
    expected = {"low": (1, 102.0), "mid": (3, 765.0), "tall": (5, 1360.0), "tower": (8, 1530.0)}
    for bid, (floors, area) in expected.items():
        assert b.loc[bid, "floors"] == floors
        assert b.loc[bid, "floor_area_m2"] == pytest.approx(area)


def test_overhanging_tree_does_not_lift_the_roof():
    dsm, dtm = sources()
    b = by_id(run(footprints(), dsm=dsm, dtm=dtm))
    assert abs(b.loc["mid", "height_m"] - 9.7) < 0.5  # the crown (18 m) covers ~5 % of the roof
    # without the edge buffer and with the maximum instead of a robust percentile the crown wins
    b2 = by_id(run(footprints(), dsm=dsm, dtm=dtm, edge_buffer_m=0.0, height_percentile=100))
    assert b2.loc["mid", "height_m"] > 17.0


def test_nodata_inside_a_footprint_is_ignored_not_read_as_zero():
    dsm, dtm = sources()
    b = by_id(run(footprints(), dsm=dsm, dtm=dtm))
    assert abs(b.loc["gappy", "height_m"] - 12.0) < 0.5
    assert "% of the footprint pixels are nodata" in b.loc["gappy", "flags"]
    assert b.loc["hole", "height_source"] == "default"
    assert "raster nodata over the whole footprint" in b.loc["hole", "flags"]
    # the counts: gappy 20 × 20 m with the western 8 m gone → 19 × 19 buffered pixels, 7–8 columns nodata
    fh = footprint_heights([GAPPY[1]], dsm, dtm)
    assert fh.n_pixels[0] == 19 * 19
    assert fh.n_nodata[0] in (19 * 7, 19 * 8)


def test_footprint_outside_the_raster():
    dsm, dtm = sources()
    b = by_id(run(footprints(), dsm=dsm, dtm=dtm))
    assert b.loc["outside", "height_source"] == "default"
    assert "outside the raster extent" in b.loc["outside", "flags"]
    assert b.loc["outside", "included"]  # still a building of the district, with a default height


def test_footprint_partly_outside_and_misaligned():
    dsm, dtm = sources()
    half = box(X0 + 190.3, Y1 - 20.3, X0 + 210.3, Y1 - 10.3)  # 10 of 20 m inside the raster
    shifted = box(X0 + 10.3 + 6, Y1 - 30.3, X0 + 22.3 + 6, Y1 - 20.3)  # "low" moved 6 m east
    fh = footprint_heights([half, shifted], dsm, dtm)
    # buffered by 0.5 m: x 190.8–209.8, y 10.8–19.8 (19 × 9 = 171 m²); pixel centres inside it
    # and the raster (x < 200): columns 191.5…199.5 (9) × rows 11.5…19.5 (9) = 81 → 81 / 171 = 47 %
    assert "only 47% of the footprint inside the raster" in fh.notes[0]
    assert "of the footprint pixels below 1 m (footprint misaligned with the raster?)" in fh.notes[1]
    assert abs(fh.height_m[1] - 3.2) < 0.5  # the roof part still gives the height


def test_attributes_win_over_rasters():
    dsm, dtm = sources()
    gdf = footprints()
    gdf["ALT"] = [None, 30.0, None, None, None, None, None]
    b = by_id(run(gdf, dsm=dsm, dtm=dtm, columns={"height_m": "ALT"}))
    assert b.loc["mid", "height_m"] == 30.0 and b.loc["mid", "height_source"] == "attribute"
    assert b.loc["low", "height_source"] == "ndsm"


def test_dsm_minus_ground_attribute():
    dsm, _ = sources()
    gdf = footprints()
    dtm = terrain()
    ground = []
    for geom in gdf.geometry:  # ground elevation at the centroid, as a cadastre would store it
        c = geom.centroid
        col, r = ~TR @ (c.x, c.y)
        ground.append(float(dtm[int(r), int(col)]) if 0 <= r < H and 0 <= col < W else None)
    gdf["QUOTA"] = ground
    b = by_id(run(gdf, dsm=dsm, columns={"ground_elevation_m": "QUOTA"}))
    for bid, _, h in BOXES:
        assert b.loc[bid, "height_source"] == "dsm_minus_ground"
        assert abs(b.loc[bid, "height_m"] - h) < 0.5
    assert "no ground elevation for DSM − ground" in b.loc["outside", "flags"]


def test_dsm_alone_cannot_give_heights():
    dsm, _ = sources()
    res = run(footprints(), dsm=dsm)
    assert (res.buildings["height_source"] == "default").all()
    assert any("a DSM without a DTM" in m for m in res.messages)


def test_given_ndsm():
    dtm, dsm = surfaces()
    ndsm = np.where(dsm == NODATA, np.nan, dsm - dtm).astype("float32")
    b = by_id(run(footprints(), ndsm=RasterSource.from_array(ndsm, TR, CRS, name="ndsm")))
    for bid, _, h in BOXES:
        assert abs(b.loc[bid, "height_m"] - h) < 0.5 and b.loc[bid, "height_source"] == "ndsm"


# ----------------------------------------------------------------------------- files, windows, CRS

def _write(path, arr, transform=TR, crs=CRS, nodata=NODATA, blocksize=64):
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=nodata, tiled=True,
                       blockxsize=blocksize, blockysize=blocksize) as dst:
        dst.write(arr.astype("float32"), 1)
    return path


def test_windowed_file_reading_matches_in_memory(tmp_path):
    dtm, dsm = surfaces()
    p_dsm = _write(tmp_path / "dsm.tif", dsm)
    p_dtm = _write(tmp_path / "dtm.tif", dtm)
    mem = by_id(run(footprints(), dsm=RasterSource.from_array(dsm, TR, CRS, nodata=NODATA),
                    dtm=RasterSource.from_array(dtm, TR, CRS, nodata=NODATA), tile_size=4096))
    with RasterSource.open(p_dsm) as d, RasterSource.open(p_dtm) as t:
        # 32-pixel tiles: most footprints straddle tile edges
        win = by_id(run(footprints(), dsm=d, dtm=t, tile_size=32))
    np.testing.assert_array_equal(mem["height_m"].to_numpy(), win["height_m"].to_numpy())


def test_dtm_on_a_coarser_grid_is_resampled(tmp_path):
    dtm, dsm = surfaces()
    coarse = dtm.reshape(H // 2, 2, W // 2, 2).mean(axis=(1, 3))  # 2 m pixels of a planar terrain
    p_dsm = _write(tmp_path / "dsm.tif", dsm)
    p_dtm = _write(tmp_path / "dtm2.tif", coarse, transform=Affine(2.0, 0, X0, 0, -2.0, Y1), blocksize=16)
    with RasterSource.open(p_dsm) as d, RasterSource.open(p_dtm) as t:
        res = run(footprints(), dsm=d, dtm=t)
    assert any("resampled onto the DSM grid" in m for m in res.messages)
    b = by_id(res)
    for bid, _, h in BOXES:
        assert abs(b.loc[bid, "height_m"] - h) < 0.5


def test_vectors_in_another_crs_are_reprojected_to_the_raster():
    dsm, dtm = sources()
    with pytest.warns(CRSWarning, match=r"are in different CRS: the vectors were reprojected to EPSG:32632"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = prepare_district(footprints("EPSG:4326"), dsm=dsm, dtm=dtm, storey_height_m=STOREY,
                               default_floors=DEFAULT_FLOORS, gross_to_conditioned=0.85)
    b = by_id(res)
    assert res.buildings.crs.to_epsg() == 32632
    for bid, _, h in BOXES:
        assert abs(b.loc[bid, "height_m"] - h) < 0.5


def test_raster_not_overlapping_is_an_error_naming_both_extents():
    dtm, dsm = surfaces()
    far = Affine(1.0, 0, 600_000.0, 0, -1.0, 4_000_000.0)
    with pytest.raises(CRSError, match=r"buildings and raster dsm do not overlap: buildings covers x 400010.*the raster covers x 600000"):
        run(footprints(), dsm=RasterSource.from_array(dsm, far, CRS, name="dsm"),
            dtm=RasterSource.from_array(dtm, far, CRS, name="dtm"))


def test_raster_crs_problems(tmp_path):
    dtm, dsm = surfaces()
    with pytest.raises(CRSError, match="must be in a projected CRS in metres"):
        run(footprints(), ndsm=RasterSource.from_array(dsm - dtm, Affine(1e-5, 0, 7.7, 0, -1e-5, 45.1),
                                                       "EPSG:4326", name="geo"))
    p = tmp_path / "nocrs.tif"
    _write(p, dsm, crs=None)
    with pytest.raises(CRSError, match="the raster has no coordinate reference system"):
        RasterSource.open(p)
    assert any("no coordinate reference system" in m for m in raster_problems(p, "heights.dsm"))
    with pytest.raises(InputDataError, match="rotated or south-up rasters are not supported"):
        RasterSource.from_array(dsm, Affine(1, 0.2, X0, 0.2, -1, Y1), CRS)
    with pytest.raises(InputDataError, match="file not found"):
        RasterSource.open(tmp_path / "missing.tif", what="heights.dsm")
    (tmp_path / "junk.tif").write_text("junk")
    with pytest.raises(InputDataError, match="cannot be read as a raster"):
        RasterSource.open(tmp_path / "junk.tif")
    assert raster_problems(tmp_path / "missing.tif", "heights.dsm")[0].startswith("heights.dsm:")


# ----------------------------------------------------------------------------- building blocks

def test_group_percentiles_match_numpy():
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 50, size=5000)
    values = rng.uniform(0, 40, size=5000)
    got = group_percentiles(groups, values, 52, [10, 50, 70, 100])
    for g in range(52):
        v = values[groups == g]
        if len(v) == 0:
            assert np.isnan(got[:, g]).all()
        else:
            np.testing.assert_allclose(got[:, g], np.percentile(v, [10, 50, 70, 100]), atol=1e-6)


def test_floors_and_floor_area_by_hand():
    # 7.4 m / 3 m = 2.47 → 2 floors; 1.0 m → at least 1 floor; NaN stays NaN
    np.testing.assert_array_equal(floors_from_height([7.4, 1.0, 10.6], 3.0), [2.0, 1.0, 4.0])
    assert np.isnan(floors_from_height([np.nan], 3.0)[0])
    # 150 m² × 4 floors × 0.8 = 480 m²
    assert floor_area_m2(150.0, 4.0, 0.8) == pytest.approx(480.0)


def test_lower_wing_takes_the_median_and_is_flagged():
    # a 12 m main block (30 × 20 m) with a 3 m wing (10 × 20 m, 25 % of the footprint) in one footprint
    dtm = terrain()
    main = box(X0 + 20, Y1 - 90, X0 + 50, Y1 - 70)
    wing = box(X0 + 50, Y1 - 90, X0 + 60, Y1 - 70)
    nd = np.zeros((H, W), dtype="float32")
    for geom, h in ((main, 12.0), (wing, 3.0)):
        nd[rasterize([(geom, 1)], out_shape=(H, W), transform=TR, fill=0, dtype="uint8").astype(bool)] = h
    dsm = RasterSource.from_array(dtm + nd, TR, CRS)
    fh = footprint_heights([box(X0 + 20, Y1 - 90, X0 + 60, Y1 - 70)], dsm, RasterSource.from_array(dtm, TR, CRS))
    # p5 would be the wing (3 m); p95 − p5 = 9 m > 6 m, so the median (the main block, 12 m) is used
    assert fh.height_m[0] == pytest.approx(12.0, abs=0.01)
    assert "nDSM rises 9.0 m across the roof" in fh.notes[0] and "median height taken" in fh.notes[0]


def test_pitched_roof_gives_the_eave_height():
    # a gable roof: eave 9 m, ridge 13 m along the middle of a 20 m wide house (rise 4 m over 10 m)
    dtm = terrain()
    rows, cols = np.mgrid[0:H, 0:W]
    y = Y1 - rows - 0.5
    house = box(X0 + 20, Y1 - 60, X0 + 60, Y1 - 40)
    inside = rasterize([(house, 1)], out_shape=(H, W), transform=TR, fill=0, dtype="uint8").astype(bool)
    d = np.abs(y - (Y1 - 50))  # distance from the ridge line [m]
    nd = np.where(inside, 13.0 - 0.4 * d, 0.0).astype("float32")
    fh = footprint_heights([house], RasterSource.from_array(dtm + nd, TR, CRS), RasterSource.from_array(dtm, TR, CRS))
    # kept pixels: 0.5 m inside the eaves, so heights from 9.2 to 13 m evenly: p5 ≈ 9.2 + 0.05 × 3.8 ≈ 9.4 m
    assert 9.0 < fh.height_m[0] < 9.6
    assert floors_from_height(fh.height_m, 3.0)[0] == 3  # 9 m eave / 3 m


def test_raster_source_messages(tmp_path):
    with pytest.raises(InputDataError, match=r"a 2-D array is needed, got shape \(2, 3, 4\)"):
        RasterSource.from_array(np.zeros((2, 3, 4)), TR, CRS)
    p = _write(tmp_path / "one.tif", np.zeros((10, 10)))
    with pytest.raises(InputDataError, match=r"band 2 does not exist \(the raster has 1\)"):
        RasterSource.open(p, band=2)


@pytest.mark.parametrize("nodata", [NODATA, None])
def test_dtm_covering_part_of_the_dsm_gives_nodata_not_zero(nodata):
    # a DTM on a 2 m grid covering only the western 100 m: "tall" and "tower" (x 80–135 m) are
    # partly or wholly east of it; outside the DTM the nDSM is unknown, never DSM − 0 (≈ 265 m)
    dtm, dsm = surfaces()
    west = dtm[:, :100].reshape(H // 2, 2, 50, 2).mean(axis=(1, 3)).astype("float32")
    d = RasterSource.from_array(dsm, TR, CRS, nodata=NODATA)
    t = RasterSource.from_array(west, Affine(2.0, 0, X0, 0, -2.0, Y1), CRS, nodata=nodata)
    b = by_id(run(footprints(), dsm=d, dtm=t))
    assert abs(b.loc["mid", "height_m"] - 9.7) < 0.5
    assert b.loc["tower", "height_source"] == "default"
    assert "raster nodata over the whole footprint" in b.loc["tower", "flags"]
    assert (b["height_m"] < 40).all()


def test_integer_dtm_file_without_nodata_on_another_grid(tmp_path):
    # an int16 DTM (whole metres) without a nodata value, 2 m pixels, covering the western 100 m
    dtm, dsm = surfaces()
    west = np.round(dtm[:, :100].reshape(H // 2, 2, 50, 2).mean(axis=(1, 3)))
    p = tmp_path / "dtm_int.tif"
    with rasterio.open(p, "w", driver="GTiff", width=50, height=H // 2, count=1, dtype="int16", crs=CRS,
                       transform=Affine(2.0, 0, X0, 0, -2.0, Y1)) as dst:
        dst.write(west.astype("int16"), 1)
    with RasterSource.open(p) as t:
        b = by_id(run(footprints(), dsm=RasterSource.from_array(dsm, TR, CRS, nodata=NODATA), dtm=t))
    assert abs(b.loc["mid", "height_m"] - 9.7) < 1.0  # the DTM is rounded to whole metres
    assert b.loc["tower", "height_source"] == "default"
    assert (b["height_m"] < 40).all()
