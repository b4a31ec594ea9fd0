"""The sample district in ``sample_data/``: deterministic, and it holds what its README claims.

Expected values come from the district's definition in ``sample_data/README.md`` (counts,
categories, defects), from pyproj (the location), from pvlib (the weather file) and from the
roof geometry written out in the tests (eave and ridge heights recovered from the DSM).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.features import rasterize

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SCRIPT = SAMPLE / "make_sample_data.py"
EPW = SAMPLE / "weather" / "pvgis_tmy_45N_8E.epw"

RESIDENTIAL = {"A/2", "A/3", "A/7"}
ALLOWED = RESIDENTIAL | {"A/10", "B/5", "C/1", "D/8", "D/2", "B/2", "D/6"}


def _load_script():
    spec = importlib.util.spec_from_file_location("make_sample_data", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def buildings() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / "buildings.shp", engine="pyogrio")


@pytest.fixture(scope="module")
def boundary() -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / "boundary.gpkg", layer="boundary", engine="pyogrio")


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "truth_heights.csv", dtype={"CAD_ID": str}, keep_default_na=False)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    _load_script().build(out)
    return out


def _raster(path: Path):
    with rasterio.open(path) as src:
        return src.read(1), src.profile, src.transform


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# --- determinism -----------------------------------------------------------------------------


def test_regenerating_gives_identical_footprints_and_attributes(buildings, regenerated):
    again = gpd.read_file(regenerated / "buildings.shp", engine="pyogrio")
    assert list(again.columns) == list(buildings.columns)
    pd.testing.assert_frame_equal(
        pd.DataFrame(again.drop(columns="geometry")), pd.DataFrame(buildings.drop(columns="geometry"))
    )
    assert [g.wkb for g in again.geometry] == [g.wkb for g in buildings.geometry]
    assert (regenerated / "buildings.prj").read_text() == (SAMPLE / "buildings.prj").read_text()
    assert (regenerated / "buildings.cpg").read_text() == (SAMPLE / "buildings.cpg").read_text()


def test_regenerating_gives_identical_boundary_tables_and_rasters(boundary, regenerated):
    b2 = gpd.read_file(regenerated / "boundary.gpkg", layer="boundary", engine="pyogrio")
    assert b2.geometry.iloc[0].wkb == boundary.geometry.iloc[0].wkb
    for name in ("truth_heights.csv", "trees.csv"):
        assert (regenerated / name).read_bytes() == (SAMPLE / name).read_bytes(), name
    for name in ("dsm.tif", "dtm.tif"):
        a, pa, ta = _raster(SAMPLE / name)
        b, pb, tb = _raster(regenerated / name)
        assert _sha(a) == _sha(b), name
        assert ta == tb and pa["crs"] == pb["crs"] and pa["nodata"] == pb["nodata"]
    assert (regenerated / "weather" / EPW.name).read_bytes() == EPW.read_bytes()


# --- footprints: what the README says ----------------------------------------------------------


def test_location_crs_and_size(buildings, boundary):
    assert buildings.crs.to_epsg() == 32632 and boundary.crs.to_epsg() == 32632
    # 45.0 N 8.0 E in UTM 32N, from pyproj independently of the script
    e, n = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True).transform(8.0, 45.0)
    c = boundary.geometry.iloc[0].centroid
    assert math.hypot(c.x - e, c.y - n) < 60.0
    assert 80 <= buildings["CAD_ID"].nunique() <= 120


def test_shapefile_files_fields_and_encoding():
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        assert (SAMPLE / f"buildings{ext}").exists(), ext
    assert (SAMPLE / "buildings.cpg").read_text().strip() == "UTF-8"
    info = pyogrio.read_info(SAMPLE / "buildings.shp")
    fields = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert fields == {
        "CAD_ID": "OFTString", "CATEGORIA": "OFTString", "N_PIANI": "OFTInteger", "ALTEZZA": "OFTReal",
        "INDIRIZZO": "OFTString", "N_ABIT": "OFTInteger", "N_LETTI": "OFTInteger", "PV_KWP": "OFTReal",
    }
    # the DBF really holds UTF-8 bytes (two bytes for "à" in "Università")
    assert "Università".encode() in (SAMPLE / "buildings.dbf").read_bytes()


def test_attributes(buildings):
    assert buildings["CAD_ID"].str.fullmatch(r"\d{6}").all()
    cats = set(buildings["CATEGORIA"])
    assert cats <= ALLOWED and cats == ALLOWED  # every listed category present
    for cat in ("B/5", "A/10", "D/8", "B/2", "D/2", "D/6"):
        assert (buildings.drop_duplicates("CAD_ID")["CATEGORIA"] == cat).sum() == 1, cat
    resid = buildings["CATEGORIA"].isin(RESIDENTIAL)
    assert (buildings.loc[resid, "N_ABIT"] >= 1).all()
    assert buildings.loc[~resid, "N_ABIT"].isna().all()
    assert buildings.loc[buildings["CATEGORIA"].isin({"D/2", "B/2"}), "N_LETTI"].gt(0).all()
    assert (buildings["PV_KWP"] >= 0).all() and 10 <= (buildings["PV_KWP"] > 0).sum() <= 20
    addr = " ".join(buildings["INDIRIZZO"])
    for ch in "àèéìòù'":
        assert ch in addr, ch
    for a in ("Piazza Città di Bra 1", "Vicolo dell'Orologio 2", "Via Nizza Monferrato SNC"):
        assert a in set(buildings["INDIRIZZO"]), a
    assert buildings["INDIRIZZO"].str.startswith("Corso Università ").any()
    assert buildings["INDIRIZZO"].str.startswith("Via Sant'Agnese ").any()


def test_realistic_footprint_sizes(buildings, truth):
    area = truth.set_index("CAD_ID")["true_footprint_area_m2"]
    cat = truth.set_index("CAD_ID")["categoria"]
    assert area[cat == "A/7"].between(90, 160).all()  # detached houses
    assert area[cat == "D/8"].iloc[0] > 2000  # supermarket, large flat roof
    assert area[cat == "D/6"].iloc[0] > 1000  # sports hall
    assert area[cat == "B/2"].iloc[0] < 500  # small clinic


def test_defects_are_there(buildings, truth):
    t = truth.set_index("CAD_ID")
    d = t["defect"]
    # exactly one invalid geometry: the bow-tie
    invalid = buildings[~buildings.is_valid]
    assert len(invalid) == 1 and invalid["CAD_ID"].iloc[0] == d[d == "self_intersection"].index[0]
    assert shapely.is_valid_reason(invalid.geometry.iloc[0]).startswith("Self-intersection")
    # one CAD_ID in two rows, attributes repeated; the parts together make the true footprint
    dup = buildings[buildings["CAD_ID"].duplicated(keep=False)]
    assert dup["CAD_ID"].nunique() == 1 and len(dup) == 2
    cid = dup["CAD_ID"].iloc[0]
    assert d[cid] == "split_parts"
    assert (dup.drop(columns="geometry").nunique(dropna=False) == 1).all()
    assert dup.geometry.union_all().area == pytest.approx(t.loc[cid, "true_footprint_area_m2"], abs=0.05)
    # a duplicate consecutive vertex
    row = buildings[buildings["CAD_ID"] == d[d == "duplicate_vertex"].index[0]].geometry.iloc[0]
    xy = np.asarray(row.exterior.coords)
    assert (np.abs(np.diff(xy, axis=0)).sum(axis=1) == 0).sum() == 1
    # a 5 cm wide sliver spike on the supermarket
    sm = buildings[buildings["CATEGORIA"] == "D/8"].geometry.iloc[0]
    assert t.loc[buildings.loc[buildings["CATEGORIA"] == "D/8", "CAD_ID"].iloc[0], "defect"] == "sliver_spike"
    assert shapely.minimum_clearance(sm) < 0.06 and sm.is_valid
    # one building with neither N_PIANI nor ALTEZZA; two more without N_PIANI
    both = buildings[buildings["N_PIANI"].isna() & buildings["ALTEZZA"].isna()]
    assert len(both) == 1 and d[both["CAD_ID"].iloc[0]] == "missing_height"
    only = buildings[buildings["N_PIANI"].isna() & buildings["ALTEZZA"].notna()]
    assert len(only) == 2 and (d[only["CAD_ID"]] == "missing_floors").all()
    # courtyard holes
    assert (buildings.geometry.apply(lambda g: len(g.interiors)) > 0).sum() == 3


def test_boundary_covers_most_not_all(buildings, boundary, truth):
    shape = boundary.geometry.iloc[0]
    # the bow-tie cannot enter overlay operations as it is: its valid version (two triangles)
    fp = buildings.assign(geometry=buildings.make_valid()).dissolve("CAD_ID")
    share = fp.geometry.intersection(shape).area / fp.geometry.area
    centroid_in = fp.geometry.centroid.within(shape)
    straddle = (share > 0.001) & (share < 0.999)
    assert straddle.sum() == 2
    assert set(centroid_in[straddle]) == {True, False}
    outside = share[~straddle] < 0.001
    assert 5 <= outside.sum() <= 20 and outside.sum() < len(fp) / 5
    rel = truth.set_index("CAD_ID")["boundary"]
    assert (rel == "straddles_centroid_inside").sum() == 1 and (rel == "straddles_centroid_outside").sum() == 1
    assert set(rel[rel.str.startswith("straddles")].index) == set(straddle[straddle].index)


# --- heights and rasters -----------------------------------------------------------------------


def test_truth_heights_follow_the_attributes(buildings, truth):
    t = truth.set_index("CAD_ID")
    b = buildings.drop_duplicates("CAD_ID").set_index("CAD_ID")
    alt = b["ALTEZZA"].notna()
    np.testing.assert_allclose(t.loc[alt[alt].index, "eave_height_m"], b.loc[alt, "ALTEZZA"], atol=0.051)
    fl = b["ALTEZZA"].isna() & b["N_PIANI"].notna()
    assert fl.sum() >= 8
    np.testing.assert_allclose(t.loc[fl[fl].index, "eave_height_m"], 3.0 * b.loc[fl, "N_PIANI"])
    rise = t["ridge_height_m"] - t["eave_height_m"]
    pitched = t["roof_shape"] != "flat"
    assert rise[pitched].between(2.0, 4.0).all() and (rise[~pitched] == 0).all()
    assert set(t.loc[t["categoria"].isin({"B/5", "A/10", "D/8", "D/6"}), "roof_shape"]) == {"flat"}
    assert set(t.loc[t["categoria"] == "A/7", "roof_shape"]) == {"hipped"}
    assert set(t["roof_shape"]) == {"flat", "gable", "hipped", "pitched_ring"}


def test_raster_format():
    dsm, p, tr = _raster(SAMPLE / "dsm.tif")
    dtm, q, tq = _raster(SAMPLE / "dtm.tif")
    for prof in (p, q):
        assert prof["dtype"] == "float32" and prof["nodata"] == -9999.0 and prof["crs"].to_epsg() == 32632
    assert tr == tq and tr.a == 0.5 and tr.e == -0.5 and dsm.shape == dtm.shape
    assert not np.any(dtm == -9999.0)
    assert not np.any(dsm == 0) and not np.any(dtm == 0)
    hole = dsm == -9999.0
    assert 1 <= hole.sum() <= 400  # a small hole
    # gentle terrain: a few metres of relief over the whole extent
    assert 3.0 <= float(dtm.max() - dtm.min()) <= 12.0
    valid = ~hole
    assert np.all(dsm[valid] >= dtm[valid] - 1e-3)
    total = sum(f.stat().st_size for f in SAMPLE.rglob("*") if f.is_file())
    assert total < 5e6


def test_raster_covers_district_with_margin(boundary, buildings):
    with rasterio.open(SAMPLE / "dsm.tif") as src:
        b = src.bounds
    bx0, by0, bx1, by1 = boundary.total_bounds
    fx0, fy0, fx1, fy1 = buildings.total_bounds
    x0, y0, x1, y1 = min(bx0, fx0), min(by0, fy0), max(bx1, fx1), max(by1, fy1)
    assert b.left <= x0 - 60 and b.bottom <= y0 - 60 and b.right >= x1 + 60 and b.top >= y1 + 60


def test_dsm_gives_back_the_true_heights(buildings, truth):
    """Eaves and ridges measured on the DSM − base elevation inside each footprint.

    Footprints are shrunk by 0.25 m (mitred) so that every pixel centre kept lies on the roof
    at least 0.25 m from the walls (this also drops the supermarket's sliver spike).
    Flat roofs: the nDSM equals the eave (to the 1/256 m quantisation, < 0.01 m).
    Pitched roofs: the highest pixel centre is at most half a pixel diagonal (0.354 m)
    horizontally from the ridge, so ridge − 0.354·tan(pitch) ≤ max ≤ ridge; the lowest pixel
    centre is 0.25 m to 0.25 + 0.354 m from a wall, so eave ≤ min ≤ eave + 0.604·tan(pitch).
    Buildings touched by a tree crown (trees.csv, crown radius + 0.5 m) are left out, and so
    are nodata pixels.
    """
    dsm, prof, tr = _raster(SAMPLE / "dsm.tif")
    trees = pd.read_csv(SAMPLE / "trees.csv")
    crowns = shapely.union_all([shapely.Point(x, y).buffer(r + 0.5) for x, y, r in
                                trees[["x", "y", "crown_radius_m"]].itertuples(index=False)])
    t = truth.set_index("CAD_ID")
    fp = buildings.dissolve("CAD_ID")
    fp = fp[t.loc[fp.index, "defect"] != "self_intersection"]
    ids = list(fp.index)
    under_tree = fp.geometry.intersects(crowns)
    assert 5 <= under_tree.sum() <= 15  # the README's few trees over roofs
    shapes = [(g.buffer(-0.25, join_style="mitre"), i + 1) for i, g in enumerate(fp.geometry) if not under_tree.iloc[i]]
    label = rasterize(shapes, out_shape=dsm.shape, transform=tr, fill=0, dtype="int32")
    valid = dsm != -9999.0
    checked = 0
    for i, cid in enumerate(ids):
        m = (label == i + 1) & valid
        if m.sum() < 20:
            continue
        ndsm = dsm[m] - t.loc[cid, "base_elevation_m"]
        eave, ridge = t.loc[cid, "eave_height_m"], t.loc[cid, "ridge_height_m"]
        tan_p = math.tan(math.radians(t.loc[cid, "pitch_deg"]))
        if t.loc[cid, "roof_shape"] == "flat":
            assert np.abs(ndsm - eave).max() < 0.01, cid
        else:
            assert ridge - 0.354 * tan_p - 0.01 <= ndsm.max() <= ridge + 0.01, cid
            assert eave - 0.01 <= ndsm.min() <= eave + 0.604 * tan_p + 0.01, cid
        checked += 1
    assert checked >= 100


# --- weather -----------------------------------------------------------------------------------


def test_weather_is_the_pvgis_tmy_and_pvlib_reads_it():
    import pvlib

    mod = _load_script()
    assert hashlib.sha256(EPW.read_bytes()).hexdigest() == mod.WEATHER_SHA256
    data, meta = pvlib.iotools.read_epw(EPW)
    assert len(data) == 8760
    assert meta["latitude"] == 45.0 and meta["longitude"] == 8.0 and meta["altitude"] == 250.0
    # plausible Piedmont climate: annual GHI 1300-1600 kWh/m², mean air temperature 8-16 °C
    assert 1300 < data["ghi"].sum() / 1000 < 1600
    assert 8 < data["temp_air"].mean() < 16
    assert "PVGIS" in (SAMPLE / "README.md").read_text(encoding="utf-8")


def test_roof_planes_have_the_stated_pitch_and_face_the_grid_directions(buildings, truth):
    """Slope and aspect of the DSM by central differences (np.gradient) on the roofs.

    The street grid is rotated 12° counter-clockwise from east (README), so a roof plane that
    drains towards local "south" faces azimuth 180° − 12° = 168°, and the others 258°, 348°, 78°.
    Footprints are shrunk by 0.75 m so no difference straddles a wall, and tree crowns
    (trees.csv, radius + 1 m) are cut out; on a plane the central
    difference is exact up to the 1/256 m quantisation (slope error ≤ atan(0.0039 / 1 m) ≈ 0.2°).
    Per building: the median slope equals the pitch within 0.3°, and at least 75 % of the pixels
    (all but those next to ridges, hips and valleys) face one of the four grid directions within 1°.
    """
    dsm, prof, tr = _raster(SAMPLE / "dsm.tif")
    z = np.where(dsm == -9999.0, np.nan, dsm.astype(float))
    dz_drow, dz_dcol = np.gradient(z, 0.5)
    dz_dx, dz_dy = dz_dcol, -dz_drow  # rows run southwards
    slope = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))
    aspect = np.degrees(np.arctan2(-dz_dx, -dz_dy)) % 360.0  # downslope azimuth, clockwise from N
    trees = pd.read_csv(SAMPLE / "trees.csv")
    crowns = shapely.union_all([shapely.Point(x, y).buffer(r + 1.0) for x, y, r in
                                trees[["x", "y", "crown_radius_m"]].itertuples(index=False)])
    t = truth.set_index("CAD_ID")
    fp = buildings[buildings.is_valid].dissolve("CAD_ID")
    shapes = [(g.buffer(-0.75, join_style="mitre").difference(crowns), i + 1) for i, g in enumerate(fp.geometry)]
    label = rasterize([s for s in shapes if not s[0].is_empty], out_shape=dsm.shape, transform=tr, fill=0, dtype="int32")
    grid = np.array([168.0, 258.0, 348.0, 78.0])
    n = {"flat": 0, "pitched": 0}
    for i, cid in enumerate(fp.index):
        m = (label == i + 1) & np.isfinite(slope)
        if m.sum() < 50:
            continue
        s, a = slope[m], aspect[m]
        if t.loc[cid, "roof_shape"] == "flat":
            assert np.nanmax(s) < 0.3, cid
            n["flat"] += 1
            continue
        assert abs(np.median(s) - t.loc[cid, "pitch_deg"]) < 0.3, cid
        off = np.abs((a[:, None] - grid[None, :] + 180.0) % 360.0 - 180.0).min(axis=1)
        assert (off < 1.0).mean() >= 0.75, cid
        n["pitched"] += 1
    assert n["flat"] == 6 and n["pitched"] >= 95


def test_readme_category_counts_match_the_data(truth):
    """The category table in README.md: `| A/2 | ... | 20 | ... |` rows against the truth table."""
    import re

    text = (SAMPLE / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([A-D]/\d+) \| [^|]+ \| (\d+) \|", text, flags=re.M)
    assert len(rows) == len(ALLOWED)
    counts = truth["categoria"].value_counts()
    for cat, n in rows:
        assert counts[cat] == int(n), cat
