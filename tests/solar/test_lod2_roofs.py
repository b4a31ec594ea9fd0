"""Rooftop PV on the roof planes of LoD2 models: against pvlib on an unshaded plane, against the
DSM route on a generated city where both exist, shading from an added DSM, and the entry points
(`pedgis pv --buildings tile.gml`, a scenario whose buildings are a CityGML file).

References: pvlib's transposition (``get_total_irradiance``) and PVWatts chain on the plane's
tilt and azimuth, computed here; the same roofs rasterised into a DSM by their height functions
(``benchmarks.synth_lod2.dsm``), run through the DSM route.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib
import pytest
from affine import Affine

from benchmarks.synth_lod2 import Building, Part, dsm, grid_city, write_citygml, write_cityjson
from pedgis.io.citymodel import read_city_model
from pedgis.solar.model_roofs import rooftop_from_model
from pedgis.solar.rooftop import Grid, SolarParams, rooftop_solar

SAMPLE_EPW = __import__("pathlib").Path(__file__).resolve().parents[2] / "sample_data" / "weather" / "pvgis_tmy_45N_8E.epw"

X0, Y0 = 421000.0, 4983000.0  # near the weather year's site (45° N 8° E), EPSG:32632


def _pvlib_chain(weather, tilt, azimuth, kwp, albedo=0.2):
    """Annual POA [kWh/m²] and AC yield [kWh] on one plane by pvlib: Perez → Faiman → PVWatts DC
    → 14 % losses → PVWatts inverter (DC/AC 1.2, 96 %), pedgis' defaults."""
    sp = pvlib.solarposition.get_solarposition(weather.sun_times, weather.latitude, weather.longitude,
                                               altitude=weather.altitude)
    d = weather.data
    zen = sp["apparent_zenith"].to_numpy()
    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, zen, sp["azimuth"].to_numpy(), d["dni"].to_numpy(), d["ghi"].to_numpy(),
        d["dhi"].to_numpy(), dni_extra=pvlib.irradiance.get_extra_radiation(weather.sun_times).to_numpy(),
        airmass=pvlib.atmosphere.get_relative_airmass(zen), albedo=albedo, model="perez")["poa_global"]
    poa = np.nan_to_num(np.asarray(poa))
    tc = pvlib.temperature.faiman(poa, d["temp_air"].to_numpy(), d["wind_speed"].to_numpy())
    pdc = pvlib.pvsystem.pvwatts_dc(poa, tc, kwp * 1000, -0.0035) * (1 - 0.14)
    pac = pvlib.inverter.pvwatts(pdc, kwp * 1000 / 1.2 / 0.96, 0.96)
    return poa.sum() / 1000, np.clip(np.nan_to_num(pac), 0, None).sum() / 1000


@pytest.mark.parametrize("facing,tilt,azimuth", [("S", 30.0, 180.0), ("E", 20.0, 90.0), ("W", 40.0, 270.0)])
def test_unshaded_plane_within_1_percent_of_pvlib(weather, tmp_path, facing, tilt, azimuth):
    # one house, alone, with a 16 × 10 m mono-pitch roof: nothing but the roof itself is above it
    b = Building("H", [Part("H-p", 100.0, 6.0, "shed", rect=(X0, Y0, X0 + 16, Y0 + 10), tilt=tilt, facing=facing)])
    m = read_city_model(write_citygml([b], tmp_path / "h.gml", srs="EPSG:32632"))
    res = rooftop_from_model(m, weather, SolarParams(albedo=0.2, sky_model="perez"))
    seg = res.segments.iloc[0]
    # coordinates in the file are rounded to the millimetre
    assert seg["tilt"] == pytest.approx(tilt, abs=0.01) and seg["azimuth"] == pytest.approx(azimuth, abs=0.01)
    row = res.buildings.loc["H"]
    poa, kwh = _pvlib_chain(weather, tilt, azimuth, row["pv_kwp"])
    assert seg["irradiation_kwh_m2"] == pytest.approx(poa, rel=0.01)
    assert row["pv_kwh"] == pytest.approx(kwh, rel=0.01)
    # the plane's exact area: 16 × 10 m / cos(tilt)
    assert seg["area_m2"] == pytest.approx(160 / np.cos(np.radians(tilt)), rel=5e-4)


def _city():
    return grid_city(5, origin=(X0, Y0), ground=100.0, seed=7)


@pytest.fixture(scope="module")
def city(weather, tmp_path_factory):
    """25 houses of every roof kind (flat, shed S/E/W/N, gable both ways, hipped), 3–13 m eaves,
    written as CityGML and rasterised at 0.5 m into a DSM from their height functions; and the
    LoD2 route's result on the model alone."""
    bs = _city()
    m = read_city_model(write_citygml(bs, tmp_path_factory.mktemp("city") / "city.gml", srs="EPSG:32632"))
    tr = Affine(0.5, 0, X0 - 10, 0, -0.5, Y0 + 5 * 24 + 10)
    z = dsm(bs, tr, (280, 280), 100.0)
    return bs, m, rooftop_from_model(m, weather, SolarParams()).buildings, tr, z


def test_lod2_and_dsm_routes_agree_per_building(weather, city):
    bs, _, lod2, tr, z = city
    fp = gpd.GeoDataFrame({"building_id": [b.bid for b in bs]}, geometry=[b.parts[0].footprint() for b in bs],
                          crs="EPSG:32632")
    ref = rooftop_solar(fp, Grid(z, tr, "EPSG:32632"), weather, SolarParams()).buildings.loc[lod2.index]
    diff = (lod2["pv_kwh"] / ref["pv_kwh"] - 1).abs()
    assert (diff < 0.05).all(), diff.sort_values().tail()
    assert diff.median() < 0.01
    # mean irradiation of the whole roof: the raster's ridge row joins one of the two planes
    assert (lod2["roof_irradiation_kwh_m2"] / ref["roof_irradiation_kwh_m2"] - 1).abs().max() < 0.03


def test_a_dsm_adds_shading_the_model_lacks(weather, city, tmp_path):
    import rasterio

    from pedgis.io.solar_rasters import open_grid

    bs, m, alone, tr, z = city
    z = z.copy()

    def with_dsm(z, name):
        with rasterio.open(tmp_path / name, "w", driver="GTiff", width=280, height=280, count=1,
                           dtype="float32", crs="EPSG:32632", transform=tr) as ds:
            ds.write(z, 1)
        g = open_grid(tmp_path / name)
        try:
            return rooftop_from_model(m, weather, SolarParams(), dsm=g).buildings
        finally:
            g.source.close()

    # a DSM of the same roofs changes nothing (the higher of both is the same surface)
    same = with_dsm(z, "same.tif")
    assert np.allclose(same["pv_kwh"], alone["pv_kwh"], rtol=2e-3)
    # a 30 m wall (a tower the model lacks) 6 m south of house B00006 shades it
    target = next(b for b in bs if b.bid == "B00006").parts[0]
    x0, y0, x1, _ = target.rect
    c0, c1 = int((x0 - tr.c) / 0.5), int((x1 - tr.c) / 0.5)
    r = int((tr.f - (y0 - 6)) / 0.5)
    z[r:r + 4, c0:c1] = 130.0
    walled = with_dsm(z, "wall.tif")
    assert walled.loc["B00006", "pv_kwh"] < 0.8 * alone.loc["B00006", "pv_kwh"]
    assert (walled["pv_kwh"] <= alone["pv_kwh"] * (1 + 2e-3)).all()  # a wall only takes light


def test_planes_too_small_for_a_pixel_are_listed(weather, tmp_path):
    b = [Building("A", [Part("A-p", 100.0, 6.0, "gable", rect=(X0, Y0, X0 + 12, Y0 + 10), tilt=30.0)]),
         Building("K", [Part("K-p", 100.0, 2.5, "flat", rect=(X0 + 40.3, Y0 + 0.3, X0 + 40.45, Y0 + 0.45))])]
    m = read_city_model(write_cityjson(b, tmp_path / "k.city.json", epsg=32632))
    res = rooftop_from_model(m, weather, SolarParams())
    segs = res.segments.set_index("building_id")
    assert set(res.buildings.index) == {"A", "K"}
    assert np.isnan(segs.loc["K", "irradiation_kwh_m2"]) and not segs.loc["K", "usable"]
    assert segs.loc["K", "area_m2"] == pytest.approx(0.0225, rel=1e-3)  # 0.15 × 0.15 m, between pixel centres
    assert np.isnan(res.buildings.loc["K", "pv_kwh"]) and "no valid" in res.buildings.loc["K", "solar_flags"]


# ----------------------------------------------------------------------------- entry points


def test_pv_command_with_a_citygml_tile(tmp_path, capsys):
    from pedgis.cli import main

    gml = write_citygml(_city()[:4], tmp_path / "tile.gml", srs="EPSG:32632")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["pv", "--buildings", str(gml), "--weather", str(SAMPLE_EPW), "--out", str(tmp_path / "o"),
                   "--quiet"])
    assert rc == 0
    segs = gpd.read_file(tmp_path / "o" / "buildings.gpkg", layer="roof_segments")
    assert {"surface_id", "part_id", "mean_height_m"} <= set(segs.columns)
    assert segs["surface_id"].str.startswith("UUID_").all()
    b = gpd.read_file(tmp_path / "o" / "buildings.gpkg", layer="buildings")
    assert len(b) == 4 and np.isfinite(b["pv_kwh"]).all()
    # a damaged tile: exit 2 and the file named
    bad = tmp_path / "bad.gml"
    bad.write_text(gml.read_text()[:5000])
    assert main(["pv", "--buildings", str(bad), "--weather", str(SAMPLE_EPW), "--out", str(tmp_path / "o2"),
                 "--quiet"]) == 2
    assert "bad.gml" in capsys.readouterr().err and not (tmp_path / "o2").exists()


def test_scenario_with_a_citygml_buildings_file(tmp_path):
    from pedgis.config import load_scenario
    from pedgis.io.outputs import write_outputs
    from pedgis.pipeline import run

    write_citygml(_city()[:6], tmp_path / "tile.gml", srs="EPSG:32632")
    (tmp_path / "s.toml").write_text(f"""
[scenario]
name = "lod2"
country = "IT"
[buildings]
path = "tile.gml"
default_use = "residential"
[weather]
path = "{SAMPLE_EPW}"
[systems.boilers]
kind = "boiler"
carrier = "natural_gas"
services = ["sh", "dhw"]
default = true
[systems.cooling]
kind = "heat_pump"
variant = "air_water"
services = ["sc"]
default = true
""")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(load_scenario(tmp_path / "s.toml"))
        out = write_outputs(res, tmp_path / "out")
    b = res.buildings.set_index("building_id")
    assert np.isfinite(b["pv_kwh"]).all() and (b["pv_kwh"] > 0).all()
    assert (b["height_source"] == "city_model").all()
    segs = gpd.read_file(out / "buildings.gpkg" if hasattr(out, "__truediv__") else tmp_path / "out" / "buildings.gpkg",
                         layer="roof_segments")
    assert set(segs["building_id"]) == set(b.index)
    assert pd.Series(segs["surface_id"]).notna().all()
