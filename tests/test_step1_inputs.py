"""Step-1 inputs from scenario sections: run_step1 and the one-pass problem list for `pedgis validate`."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Polygon, box

from pedgis.errors import ConfigError
from pedgis.io.step1_inputs import prepare_kwargs, problems_frame, run_step1, step1_problems

USES = ["residential", "office", "commercial", "education", "health", "hotel", "sports", "industrial"]
PARAMS = {"storey_height_m": {u: 3.0 for u in USES}, "default_floors": {u: 2.0 for u in USES},
          "gross_to_conditioned": 0.85}
X0, Y0 = 400_000.0, 5_000_000.0


def _write_raster(path, arr, crs="EPSG:32632", x0=X0, y1=Y0 + 100):
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
                       dtype="float32", crs=crs, transform=Affine(1, 0, x0, 0, -1, y1), nodata=-9999) as dst:
        dst.write(arr.astype("float32"), 1)


@pytest.fixture
def district(tmp_path):
    geoms = [box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20), box(X0 + 30, Y0 + 10, X0 + 45, Y0 + 20),
             Polygon([(X0 + 50, Y0), (X0 + 60, Y0 + 10), (X0 + 60, Y0), (X0 + 50, Y0 + 10)]),
             box(X0 + 70, Y0 + 10, X0 + 80, Y0 + 20)]
    gdf = gpd.GeoDataFrame({"ID": ["1", "2", "3", "3"], "CATEGORIA": ["A/2", "C/1", "A/3", "A/3"],
                            "RETE": ["TLR", "", "TLR", "TLR"]}, geometry=geoms, crs="EPSG:32632")
    gdf.to_file(tmp_path / "edifici.shp", engine="pyogrio", encoding="UTF-8")
    gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 90, Y0 + 50)], crs="EPSG:32632").to_file(
        tmp_path / "confine.gpkg", engine="pyogrio")
    dtm = np.full((100, 100), 200.0)
    dsm = dtm.copy()
    dsm[80:90, 10:20] += 9.0   # building 1 (rows from the top: y 10–20 above Y0 ↔ rows 80–90)
    dsm[80:90, 30:45] += 6.0   # building 2
    _write_raster(tmp_path / "dsm.tif", dsm)
    _write_raster(tmp_path / "dtm.tif", dtm)
    return tmp_path


def test_run_step1_on_files(district):
    res = run_step1({"path": "edifici.shp"}, {"path": "confine.gpkg", "rule": "share"},
                    {"dsm": "dsm.tif", "dtm": "dtm.tif", "edge_buffer_m": 0.0}, base_dir=district, **PARAMS)
    b = res.buildings.set_index("building_id")
    assert list(b.index) == ["1", "2", "3"]
    assert b.loc["1", "height_source"] == "ndsm" and b.loc["1", "height_m"] == pytest.approx(9.0)
    assert b.loc["2", "floors"] == 2  # 6 m / 3 m
    assert b.loc["1", "floor_area_m2"] == pytest.approx(100 * 3 * 0.85)
    assert res.boundary["rule"].iloc[0] == "share >= 0.5"
    assert any("attribute encoding utf-8 (from the cpg)" in m for m in res.messages)


def test_validate_reports_every_problem_in_one_pass(district):
    far = district / "far.gpkg"
    gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)], crs="EPSG:32632").to_file(far, engine="pyogrio")
    _write_raster(district / "nocrs.tif", np.zeros((10, 10)), crs=None)
    problems = step1_problems(
        {"path": "edifici.shp", "columns": {"floors": "PIANI"}, "use_map": {"A/3": "palace"}},
        {"path": "far.gpkg", "members": ["1", "99"], "filter": {"NETWORK": "x"},
         "virtual_assets": [{"name": "w", "technology": "wind", "carrier": "electricity",
                             "annual_kwh": 1, "owned_share": 2}]},
        {"dsm": "nocrs.tif", "dtm": "missing.tif", "percentile": 150},
        base_dir=district, **PARAMS)
    text = "\n".join(str(p) for p in problems)
    expected = [
        "heights.percentile: 150.0: a percentile in (0, 100]",
        r"boundary.virtual_assets[0].owned_share: 2.0",
        "buildings.columns.floors: column 'PIANI' not in the file",
        "buildings.use_map.A/3: 'palace' is not a pedgis use type",
        "1 feature(s): bow-tie quadrilateral repaired as its convex hull",
        "2 rows share 1 building id(s) (e.g. 3)",
        "edifici.shp and the boundary do not overlap",
        "boundary.members: 1 id(s) not found in the buildings: 99",
        "boundary.filter.NETWORK: column 'NETWORK' not found",
        "rasters.dsm: ",  # no CRS
        "rasters.dtm: ",  # not found
    ]
    for e in expected:
        assert e in text, f"missing: {e}\n---\n{text}"
    assert "no coordinate reference system" in text and "missing.tif not found" in text
    df = problems_frame(problems)
    assert df["severity"].iloc[0] == "error" and len(df) == len(problems)


def test_validate_clean_inputs_gives_only_warnings(district):
    problems = step1_problems({"path": "edifici.shp"}, {"path": "confine.gpkg"},
                              {"dsm": "dsm.tif", "dtm": "dtm.tif"}, base_dir=district, **PARAMS)
    assert problems, "the fixture has a bow-tie, a duplicated id and two buildings off the DSM roofs"
    assert not [p for p in problems if p.severity == "error"], [str(p) for p in problems]
    text = "\n".join(map(str, problems))
    assert "bow-tie quadrilateral repaired as its convex hull: two vertices swapped" in text
    assert "nDSM below" in text  # buildings 3 and the 4th row have no roof in the DSM


def test_validate_missing_buildings_file_and_unknown_uses(district):
    problems = step1_problems({"path": "nope.shp"}, None, None, base_dir=district, **PARAMS)
    assert len(problems) == 1 and "file not found" in problems[0].message
    gdf = gpd.read_file(district / "edifici.shp")
    gdf["CATEGORIA"] = ["Q/1", "A/2", "Q/1", "Q/1"]
    gdf.to_file(district / "q.gpkg", engine="pyogrio")
    problems = step1_problems({"path": "q.gpkg", "default_use": "residential"}, None, None, base_dir=district, **PARAMS)
    p = [p for p in problems if "'Q/1' (3×)" in p.message]
    assert len(p) == 1 and p[0].severity == "warning" and "default use 'residential'" in p[0].message
    problems = step1_problems({"path": "q.gpkg"}, None, None, base_dir=district, run=False, **PARAMS)
    assert [p.severity for p in problems if "'Q/1'" in p.message] == ["error"]


def test_prepare_kwargs_checks_keys():
    kw = prepare_kwargs({"preset": "auto", "columns": {"use": "CAT"}}, {"type": "functional", "members": [1]},
                        {"percentile": 60})
    assert kw["preset"] is None and kw["columns"] == {"use": "CAT"} and kw["height_percentile"] == 60
    with pytest.raises(ConfigError, match="heights.edge_buffer_m: -1.0 m"):
        prepare_kwargs({}, None, {"edge_buffer_m": -1})
    with pytest.raises(ConfigError, match="heights.tile_size"):
        prepare_kwargs({}, None, {"tile_size": 8})
    with pytest.raises(ConfigError, match="buildings.path: missing"):
        run_step1({}, None, None, **PARAMS)


# ----------------------------------------------------------------------------- the engine's scenario

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_pipeline_runs_the_sample_shapefile_with_its_dsm_and_dtm():
    """`pedgis run` path: the sample district's cadastral shapefile (Italian categories, defects)
    plus its DSM/DTM; the building without floors or height gets its height from the nDSM."""
    import pandas as pd

    from pedgis.config import load_scenario
    from pedgis.pipeline import run

    sc = load_scenario(ROOT / "sample_data" / "scenario.toml")
    sc.doc["rasters"]["dsm"] = ROOT / "sample_data" / "dsm.tif"
    sc.doc["rasters"]["dtm"] = ROOT / "sample_data" / "dtm.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # data-quality and PV notes; the flags are checked below
        res = run(sc)
    b = res.buildings.set_index("building_id")
    truth = pd.read_csv(ROOT / "sample_data" / "truth_heights.csv", dtype={"CAD_ID": str}).set_index("CAD_ID")
    assert len(b) == len(truth) == 117  # 118 rows, the split building grouped
    assert res.district["n_buildings"] == 117
    missing = truth.index[truth["defect"] == "missing_height"][0]
    assert b.loc[missing, "height_source"] == "ndsm"
    assert abs(b.loc[missing, "height_m"] - truth.loc[missing, "eave_height_m"]) < 0.5
    bowtie = truth.index[truth["defect"] == "self_intersection"][0]
    assert b.loc[bowtie, "footprint_area_m2"] == pytest.approx(truth.loc[bowtie, "true_footprint_area_m2"], rel=1e-3)
    # the boundary cuts two buildings: the centroid rule keeps the one 80 % inside, not the 31 % one
    for rel, inside in (("straddles_centroid_inside", True), ("straddles_centroid_outside", False)):
        bid = truth.index[truth["boundary"] == rel][0]
        assert bool(b.loc[bid, "included"]) is inside
        assert "crosses the district boundary" in b.loc[bid, "flags"]
    assert (b.loc[truth.index[truth["boundary"] == "outside"], "exclusion_reason"]
            == "centroid outside the geographical boundary").all()


def test_check_scenario_reports_step1_errors_and_notes(tmp_path):
    import shutil

    from pedgis.pipeline import check_inputs

    def check_scenario(path):
        return [p.message for p in check_inputs(path).errors]

    sample = check_inputs(ROOT / "sample_data" / "scenario.toml")
    assert sample.errors == []
    assert any("bow-tie quadrilateral" in n.message for n in sample.notes)
    for f in (ROOT / "sample_data").glob("buildings.*"):
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(ROOT / "sample_data" / "boundary.gpkg", tmp_path)
    text = (ROOT / "sample_data" / "scenario.toml").read_text(encoding="utf-8")
    text = text.replace('path = "weather/pvgis_tmy_45N_8E.epw"', "")
    functional = text.replace('[boundary]\ntype = "geographical"', '[boundary]\ntype = "functional"\nmembers = ["001195", "999999"]')
    (tmp_path / "s.toml").write_text(functional, encoding="utf-8")
    problems = check_scenario(tmp_path / "s.toml")
    assert any(p.startswith("boundary.members: 1 id(s) not found in the buildings: 999999") for p in problems), problems
    bad = text.replace('[boundary]\ntype = "geographical"', '[boundary]\ntype = "geographical"\nrule = "area"')
    (tmp_path / "bad.toml").write_text(bad, encoding="utf-8")
    assert any(p.startswith("boundary.rule:") for p in check_scenario(tmp_path / "bad.toml"))


def test_config_default_use_must_be_known():
    from pedgis.config import validate

    _, errors = validate({"buildings": {"path": "b.shp", "default_use": "castle"},
                          "systems": {"hp": {"kind": "heat_pump", "services": ["sh"], "default": True}}})
    assert any(e.key == "buildings.default_use" and "not a known use type" in str(e) for e in errors)
