"""``pedgis pv`` and the rooftop step inside ``pedgis run`` (outputs, merge, errors)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from pedgis.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
EPW = SAMPLE / "weather" / "pvgis_tmy_45N_8E.epw"
X0, Y0 = 421000.0, 4983600.0


@pytest.fixture()
def small_inputs(tmp_path):
    # 80 × 80 m DSM at 1 m: a flat roof (10 m) and a 30° gable (8–13.8 m); one building outside
    z = np.zeros((80, 80), np.float32)
    z[10:30, 10:40] = 10.0
    yy = np.arange(20) + 0.5
    z[45:65, 20:60] = (8.0 + (10 - np.abs(yy - 10)) * np.tan(np.radians(30)))[:, None]
    z[70:75, 70:75] = -9999.0  # nodata
    tr = Affine(1.0, 0, X0, 0, -1.0, Y0)
    dsm = tmp_path / "dsm.tif"
    with rasterio.open(dsm, "w", driver="GTiff", width=80, height=80, count=1, dtype="float32",
                       crs="EPSG:32632", transform=tr, nodata=-9999.0) as ds:
        ds.write(z, 1)
    polys = [box(X0 + 10, Y0 - 30, X0 + 40, Y0 - 10), box(X0 + 20, Y0 - 65, X0 + 60, Y0 - 45),
             box(X0 + 500, Y0 - 520, X0 + 510, Y0 - 510)]
    b = gpd.GeoDataFrame({"ID": ["flat", "gable", "away"]}, geometry=polys, crs="EPSG:32632")
    shp = tmp_path / "b.gpkg"
    b.to_file(shp, driver="GPKG")
    return dsm, shp


def test_pv_command_writes_everything(small_inputs, tmp_path, capsys):
    dsm, shp = small_inputs
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["pv", "--buildings", str(shp), "--id-column", "ID", "--dsm", str(dsm),
                   "--weather", str(EPW), "--out", str(out), "--quiet"])
    assert rc == 0
    assert "2 of 3 buildings" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"buildings.gpkg", "buildings.parquet", "roof_segments.parquet",
                                               "irradiation.tif", "pv.json", "pv_hourly_kwh.parquet",
                                               ".pedgis-manifest.json"}  # no CSV unless --csv
    layers = {name for name, _ in pyogrio.list_layers(out / "buildings.gpkg")}
    assert layers == {"buildings", "roof_segments"}
    # the GeoParquet copies hold the GeoPackage layers (same rows, values, geometries, CRS)
    for layer in ("buildings", "roof_segments"):
        g, p = gpd.read_file(out / "buildings.gpkg", layer=layer), gpd.read_parquet(out / f"{layer}.parquet")
        assert set(p.columns) == set(g.columns) and p.crs == g.crs
        attrs = [c for c in g.columns if c != "geometry"]
        pd.testing.assert_frame_equal(pd.DataFrame(p[attrs]), pd.DataFrame(g[attrs]), check_dtype=False)
        assert p.geometry.geom_equals_exact(g.geometry, tolerance=0).all()
    hourly = pd.read_parquet(out / "pv_hourly_kwh.parquet")
    assert hourly.shape == (8760, 3) and list(hourly.columns) == ["flat", "gable", "away"]
    b = gpd.read_file(out / "buildings.gpkg", layer="buildings").set_index("building_id")
    # each building's hours add up to its annual PV (the roof model sums the same hourly values)
    np.testing.assert_allclose(hourly[["flat", "gable"]].sum().to_numpy(), b.loc[["flat", "gable"], "pv_kwh"], rtol=1e-5)
    assert b.loc["flat", "pv_kwh"] > 0 and b.loc["gable", "pv_kwh"] > 0
    assert np.isnan(b.loc["away", "pv_kwh"]) and "outside the DSM" in b.loc["away", "flags"]
    seg = gpd.read_file(out / "buildings.gpkg", layer="roof_segments")
    for c in ("building_id", "tilt", "azimuth", "area_m2", "irradiation_kwh_m2", "usable", "pv_kwp", "pv_kwh"):
        assert c in seg.columns
    with rasterio.open(out / "irradiation.tif") as ds:
        a = ds.read(1)
        assert ds.nodata == -9999.0 and str(ds.crs) == "EPSG:32632"
    roof = a != -9999.0
    assert roof.sum() == 600 + 800  # the two roofs' pixels, nothing else
    assert (a[roof] > 500).all()  # never 0 on a roof
    summary = json.loads((out / "pv.json").read_text())
    assert summary["pv_kwh"] == pytest.approx(b["pv_kwh"].sum(), rel=1e-6)
    assert summary["assumptions"]["solar"]["sources"]["module_efficiency"]


def test_pv_command_csv_on_request(small_inputs, tmp_path):
    """``--csv`` adds the old gzip'd CSV (4 significant digits) beside the Parquet file."""
    dsm, shp = small_inputs
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["pv", "--buildings", str(shp), "--id-column", "ID", "--dsm", str(dsm),
                   "--weather", str(EPW), "--out", str(out), "--quiet", "--csv"])
    assert rc == 0
    exact = pd.read_parquet(out / "pv_hourly_kwh.parquet")
    text = pd.read_csv(out / "pv_hourly_kwh.csv.gz", index_col=0)
    assert list(text.columns) == list(exact.columns) and len(text) == 8760
    np.testing.assert_allclose(text.to_numpy(), exact.to_numpy(), rtol=5e-4, atol=1e-12)  # %.4g


def test_pv_command_needs_a_raster(small_inputs, tmp_path, capsys):
    _, shp = small_inputs
    rc = main(["pv", "--buildings", str(shp), "--weather", str(EPW), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "give --dsm PATH" in capsys.readouterr().err


def test_pv_command_unknown_id_column(small_inputs, tmp_path, capsys):
    dsm, shp = small_inputs
    rc = main(["pv", "--buildings", str(shp), "--id-column", "NOPE", "--dsm", str(dsm),
               "--weather", str(EPW), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "id field 'NOPE' (--id-column) not found" in capsys.readouterr().err


def test_pv_command_bad_dsm(small_inputs, tmp_path, capsys):
    _, shp = small_inputs
    bad = tmp_path / "bad.tif"
    bad.write_text("not a raster")
    rc = main(["pv", "--buildings", str(shp), "--dsm", str(bad), "--weather", str(EPW),
               "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "cannot be read as a raster" in capsys.readouterr().err


def test_pv_command_pvgis_download(small_inputs, tmp_path, monkeypatch):
    import requests

    dsm, shp = small_inputs
    recorded = json.loads((Path(__file__).parent / "data" / "pvgis_tmy_45.000_8.000.json").read_text())
    asked = []

    class R:
        ok, status_code = True, 200

        def json(self):
            return recorded

    def fake_get(url, params=None, timeout=None):
        asked.append(params)
        return R()

    monkeypatch.setattr(requests, "get", fake_get)
    monkeypatch.setenv("PEDGIS_CACHE", str(tmp_path / "cache"))
    rc = main(["pv", "--buildings", str(shp), "--id-column", "ID", "--dsm", str(dsm),
               "--weather", "pvgis", "--out", str(tmp_path / "o"), "--quiet"])
    assert rc == 0
    # the district's location, from the footprints' centroid in UTM 32N
    assert asked[0]["lat"] == pytest.approx(44.994, abs=0.01) and asked[0]["lon"] == pytest.approx(8.0, abs=0.05)
    assert list((tmp_path / "cache" / "pvgis").glob("pvgis_tmy_*.json"))


# ---------------------------------------------------------------- inside `pedgis run`


def _scenario(tmp_path, extra: str, with_weather: bool = True) -> Path:
    d = tmp_path / "scen"
    shutil.copytree(SAMPLE, d, ignore=shutil.ignore_patterns("*.py", "README.md", "trees.csv"))
    text = (d / "scenario.toml").read_text()
    if not with_weather:
        text = text.replace('[weather]\npath = "weather/pvgis_tmy_45N_8E.epw"\n', "")
    if "[rasters]" not in text:
        text += '\n[rasters]\ndsm = "dsm.tif"\ndtm = "dtm.tif"\n'
    text += extra
    (d / "scenario.toml").write_text(text)
    return d / "scenario.toml"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    from pedgis.config import load_scenario
    from pedgis.io.outputs import write_outputs
    from pedgis.pipeline import run

    tmp = tmp_path_factory.mktemp("solar_run")
    path = _scenario(tmp, "\n[solar]\nshare_pv = 0.8\nshare_solar_thermal = 0.2\nmax_distance_m = 150.0\n"
                          "apply_potential = true\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run(load_scenario(path))
        out = write_outputs(result, tmp / "out", viz=False)
    return result, out


def test_run_merges_rooftop_pv(sample_run):
    result, _ = sample_run
    b = result.buildings
    inc = b["included"].to_numpy()
    assert (b.loc[inc, "pv_kwh"] > 0).all()
    assert (b.loc[inc, "roof_irradiation_kwh_m2"] > 800).all()
    # the PV_KWP attribute (existing PV) is kept beside the DSM potential
    assert "pv_kwp_existing" in b.columns
    assert b.loc[inc, "pv_kwp"].sum() > b["pv_kwp_existing"].sum()
    assert (b["solar_thermal_kwh"].fillna(0) >= 0).all() and b["solar_thermal_kwh"].sum() > 0
    # the district's generation includes it, and the assumptions say how it was computed
    d = result.district
    assert d["assumptions"]["solar"]["sky_model"] == "perez"
    assert d["eep_res_kwh"] >= np.nansum(b.loc[inc, "pv_kwh"]) * 0.999


def test_run_writes_irradiation_and_segments(sample_run):
    result, out = sample_run
    assert (out / "irradiation.tif").exists()
    layers = {name for name, _ in pyogrio.list_layers(out / "buildings.gpkg")}
    assert "roof_segments" in layers
    with rasterio.open(out / "irradiation.tif") as ds:
        a = ds.read(1)
        with rasterio.open(SAMPLE / "dsm.tif") as dsm:
            assert ds.transform == dsm.transform and ds.shape == dsm.shape
    v = a[a != -9999.0]
    assert v.size > 1000 and v.min() > 0
    seg = gpd.read_file(out / "buildings.gpkg", layer="roof_segments")
    assert seg["pv_kwh"].sum() == pytest.approx(result.roof_segments["pv_kwh"].sum())


def test_existing_pv_attributes_win_by_default(tmp_path):
    # the sample maps PV_KWP (existing PV): without apply_potential the balance keeps it and the
    # DSM's potential goes to pv_potential_* columns
    from pedgis.config import load_scenario
    from pedgis.pipeline import run

    path = _scenario(tmp_path, "\n[solar]\nmax_distance_m = 60.0\nn_sectors = 12\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(load_scenario(path))
    b = res.buildings
    inc = b["included"].to_numpy()
    assert (b.loc[inc, "pv_potential_kwh"] > 0).all()
    # PV_KWP of the sample sums to 256.24 kWp (README: school 40, hall 60, supermarket 120, houses)
    assert 200.0 < b["pv_kwp"].fillna(0).sum() <= 256.24 + 1e-6
    assert "pv_kwp_existing" not in b.columns
    assert any("pv_potential_kwh" in n for n in res.district["assumptions"]["notes"])


def test_run_needs_weather_for_rooftop(tmp_path):
    from pedgis.config import load_scenario
    from pedgis.errors import ConfigError
    from pedgis.pipeline import run

    path = _scenario(tmp_path, "", with_weather=False)
    text = path.read_text().replace("[pv]\n", "[pv]\nspecific_yield_kwh_kwp = 1200.0\n")
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError, match="weather.path: rooftop PV from \\[rasters\\] needs an hourly weather year"):
            run(load_scenario(path))


def test_solar_section_is_validated(tmp_path):
    from pedgis.pipeline import check_inputs

    path = _scenario(tmp_path, "\n[solar]\nmodule_eficiency = 0.2\nflat_tilt_deg = 75.0\n")
    problems = "\n".join(p.message for p in check_inputs(path).errors)
    assert "solar.module_eficiency: unknown key. Did you mean `module_efficiency`?" in problems
    assert "solar.flat_tilt_deg: must be ≤ 60" in problems


# ---------------------------------------------------------------- raster inputs


def _tif(path, crs="EPSG:32632", transform=None):
    tr = transform or Affine(1.0, 0, X0, 0, -1.0, Y0)
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       crs=crs, transform=tr) as ds:
        ds.write(np.zeros((10, 10), np.float32), 1)
    return path


def test_raster_errors(tmp_path):
    from pedgis.errors import CRSError, InputDataError
    from pedgis.io.solar_rasters import open_grid

    with pytest.raises(InputDataError, match="DSM file not found"):
        open_grid(tmp_path / "none.tif", "DSM")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rasterio may warn about the missing georeferencing
        p = _tif(tmp_path / "nocrs.tif", crs=None)
    with pytest.raises(CRSError, match="the DSM has no coordinate reference system"):
        open_grid(p, "DSM")
    rot = _tif(tmp_path / "rot.tif", transform=Affine(1.0, 0.2, X0, 0.2, -1.0, Y0))
    with pytest.raises(InputDataError, match="rotated or south-up rasters are not supported"):
        open_grid(rot, "DSM")


def test_geographic_dsm_is_refused(tmp_path):
    from pedgis.errors import CRSError
    from pedgis.io.solar_rasters import open_grid
    from pedgis.io.weather import read_weather
    from pedgis.solar.rooftop import rooftop_solar

    p = _tif(tmp_path / "geo.tif", crs="EPSG:4326", transform=Affine(1e-5, 0, 8.0, 0, -1e-5, 45.0))
    g = open_grid(p, "DSM")
    b = gpd.GeoDataFrame({"building_id": ["a"]}, geometry=[box(8.00001, 44.99995, 8.00005, 44.99999)],
                         crs="EPSG:4326")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = read_weather(EPW)
    with pytest.raises(CRSError, match="a geographic CRS .* projected CRS in metres"):
        rooftop_solar(b, g, w)
    g.source.close()


def test_pv_command_rows_without_geometry(small_inputs, tmp_path, capsys):
    dsm, shp = small_inputs
    b = gpd.read_file(shp)
    b.loc[1, "geometry"] = None
    p = tmp_path / "holes.gpkg"
    b.to_file(p, driver="GPKG")
    rc = main(["pv", "--buildings", str(p), "--id-column", "ID", "--dsm", str(dsm),
               "--weather", str(EPW), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "1 rows without a usable footprint (e.g. id gable: empty geometry (no coordinates))" in capsys.readouterr().err


def test_pv_command_reads_solar_section(small_inputs, tmp_path, capsys):
    dsm, shp = small_inputs
    cfg = tmp_path / "s.toml"
    cfg.write_text('[solar]\nyield_model = "pr"\nperformance_ratio = 0.75\n')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["pv", "--buildings", str(shp), "--id-column", "ID", "--dsm", str(dsm), "--weather",
                   str(EPW), "--config", str(cfg), "--out", str(tmp_path / "o"), "--quiet"])
    assert rc == 0
    s = json.loads((tmp_path / "o" / "pv.json").read_text())["assumptions"]["solar"]
    assert (s["yield_model"], s["performance_ratio"]) == ("pr", 0.75)
    cfg.write_text("[solar]\nmodule_eff = 0.2\n")
    rc = main(["pv", "--buildings", str(shp), "--id-column", "ID", "--dsm", str(dsm), "--weather",
               str(EPW), "--config", str(cfg), "--out", str(tmp_path / "o2"), "--quiet"])
    assert rc == 2
    assert "solar.module_eff: unknown key(s) module_eff" in capsys.readouterr().err


def test_pv_buildings_are_repaired_like_step1(tmp_path):
    """`pedgis pv` repairs a bow-tie footprint (as step 1 does) and says so, instead of
    computing bow-tie roofs; the repaired polygon of a 10 m × 10 m square drawn with its last two
    corners swapped is that square again (100 m²)."""
    import argparse

    import geopandas as gpd
    from shapely.geometry import Polygon, box

    from pedgis.errors import DataQualityWarning
    from pedgis.solar.cli import _buildings

    bowtie = Polygon([(0, 0), (10, 0), (0, 10), (10, 10)])
    assert not bowtie.is_valid
    path = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"building_id": ["bow", "ok"]}, geometry=[bowtie, box(20, 0, 30, 10)], crs=32632).to_file(path)
    args = argparse.Namespace(buildings=path, layer=None, crs=None, id_column=None)
    with pytest.warns(DataQualityWarning, match=r"1 footprints repaired before the roof model \(bow: "):
        b = _buildings(args)
    assert b.geometry.is_valid.all()
    assert b.geometry.area.tolist() == pytest.approx([100.0, 100.0])
