"""Rooftop PV on synthetic DSMs with known geometry: shading by a wall against an hourly
geometric reference, tiling, nodata, resolution, CRS, buildings outside the DSM, yields."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pvlib
import pytest
from affine import Affine
from shapely.geometry import box

from pedgis.errors import ConfigError, CRSError, CRSWarning, InputDataError, ResolutionWarning
from pedgis.solar.rooftop import (
    Grid,
    SolarParams,
    _collector_kwh,
    default_row_spacing,
    rooftop_solar,
)

CRS = "EPSG:32632"
X0, Y0 = 421000.0, 4983600.0  # near the sample district (45° N 8° E)


def _grid(z, cell=1.0, crs=CRS):
    return Grid(np.asarray(z, dtype=np.float32), Affine(cell, 0, X0, 0, -cell, Y0), crs)


def _footprint(r0, r1, c0, c1, cell=1.0):
    """Polygon of pixel rows r0..r1-1, cols c0..c1-1."""
    return box(X0 + c0 * cell, Y0 - r1 * cell, X0 + c1 * cell, Y0 - r0 * cell)


def _buildings(polys, crs=CRS):
    return gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(len(polys))]}, geometry=polys, crs=crs
    )


# ---------------------------------------------------------------- wall south of a flat roof


def test_wall_shadow_matches_hourly_geometric_reference(weather):
    # ground 0 m; flat roof at 10 m (rows 60-139, cols 100-299); a 400 m long wall 20 m high
    # (rows 150-151): its face is at row index 149.5, 10 m above the roof.
    z = np.zeros((260, 400), np.float32)
    z[60:140, 100:300] = 10.0
    z[150:152, :] = 20.0
    params = SolarParams(flat_tilt_deg=0.0, albedo=0.2, sky_model="perez", keep_hourly=False,
                         edge_setback_m=0.0)
    res = rooftop_solar(_buildings([_footprint(60, 140, 100, 300)]), _grid(z), weather, params)

    # hourly reference from the geometry: sun (A, e) is behind the wall when the ray towards
    # it crosses the wall plane (distance L = D / -cos A) within the wall's length and
    # tan e < ΔH / L; the isotropic sky is scaled by the horizontal sky view factor
    # SVF = mean over 3600 azimuths of cos² h(φ), h = atan(ΔH / L(φ)) where the ray meets the wall.
    sp = pvlib.solarposition.get_solarposition(weather.sun_times, weather.latitude,
                                               weather.longitude, altitude=weather.altitude)
    zen, az = sp["apparent_zenith"].to_numpy(), sp["azimuth"].to_numpy()
    d = weather.data
    comp = pvlib.irradiance.perez(
        0.0, 180.0, d["dhi"].to_numpy(), d["dni"].to_numpy(),
        pvlib.irradiance.get_extra_radiation(weather.sun_times).to_numpy(), zen, az,
        pvlib.atmosphere.get_relative_airmass(zen), return_components=True)
    beam = np.where(zen < 90, d["dni"].to_numpy() * np.cos(np.radians(zen)), 0.0)
    beam_circ = beam + np.nan_to_num(comp["poa_circumsolar"])
    iso = np.nan_to_num(comp["poa_isotropic"])
    dH = 10.0
    phis = np.radians(np.arange(3600) / 10.0)
    for r, c in [(139, 200), (130, 200), (120, 150), (100, 250), (80, 200)]:
        D = 149.5 - r

        def behind(a_rad, D=D, c=c):
            toward_south = -np.cos(a_rad)
            with np.errstate(divide="ignore", invalid="ignore"):
                L = np.where(toward_south > 1e-9, D / toward_south, np.inf)
                x_hit = c + L * np.sin(a_rad)
            return L, (toward_south > 1e-9) & (x_hit >= -0.5) & (x_hit <= 399.5)

        L, hits = behind(np.radians(az))
        shaded = hits & (np.tan(np.radians(90 - zen)) < dH / L) & (zen < 90)
        Lp, hp = behind(phis)
        h = np.where(hp, np.arctan(dH / Lp), 0.0)
        svf = np.mean(np.cos(h) ** 2)
        unshaded = (beam_circ.sum() + iso.sum()) / 1000.0
        ref = ((beam_circ * ~shaded).sum() + iso.sum() * svf) / 1000.0
        got = float(res.irradiation[r, c])
        assert got == pytest.approx(ref, rel=0.02), (r, c, got, ref)
        # annual loss to the wall: within 2 % of the unshaded irradiation
        assert abs((unshaded - got) - (unshaded - ref)) <= 0.02 * unshaded
        # and the shading is real: the nearest row loses more than 20 %
        if r == 139:
            assert (unshaded - ref) / unshaded > 0.2


# ---------------------------------------------------------------- a small city


def _city(n=240, seed=3):
    rng = np.random.default_rng(seed)
    z = np.zeros((n, n), np.float32) + np.linspace(0, 3, n, dtype=np.float32)[None, :]
    polys = []
    for r0 in range(4, n - 30, 30):
        for c0 in range(4, n - 30, 30):
            h, w = rng.integers(12, 24, 2)
            height = rng.uniform(5, 25)
            yy, xx = np.mgrid[0:h, 0:w] + 0.5
            if rng.random() < 0.5:  # gable, faces north and south, 30°
                roof = (h / 2 - np.abs(yy - h / 2)) * math.tan(math.radians(30))
            else:
                roof = np.zeros((h, w))
            z[r0 : r0 + h, c0 : c0 + w] = z[r0, c0] + height + roof
            polys.append(_footprint(r0, r0 + h, c0, c0 + w))
    return z, polys


def test_tiled_equals_untiled(weather):
    z, polys = _city()
    b = _buildings(polys)
    base = dict(max_distance_m=80.0, keep_hourly=False)
    one = rooftop_solar(b, _grid(z), weather, SolarParams(tile_size=4096, **base))
    tiled = rooftop_solar(b, _grid(z), weather, SolarParams(tile_size=64, **base))
    assert np.array_equal(np.isnan(one.irradiation), np.isnan(tiled.irradiation))
    m = np.isfinite(one.irradiation)
    assert np.nanmax(np.abs(tiled.irradiation[m] / one.irradiation[m] - 1)) < 1e-3
    pv1 = one.buildings["pv_kwh"].to_numpy()
    pv2 = tiled.buildings["pv_kwh"].to_numpy()
    assert np.all(pv1 > 0)
    assert np.max(np.abs(pv2 / pv1 - 1)) < 1e-3


def test_nodata_hole_stays_nan_and_building_flagged(weather):
    z = np.zeros((60, 60), np.float32)
    z[10:40, 10:40] = 8.0
    z[15:30, 15:30] = np.nan  # 225 of 900 roof pixels unknown
    r = rooftop_solar(_buildings([_footprint(10, 40, 10, 40)]), _grid(z), weather,
                      SolarParams(keep_hourly=False))
    assert np.isnan(r.irradiation[20, 20])
    assert np.isfinite(r.irradiation[35, 35]) and r.irradiation[35, 35] > 0
    row = r.buildings.loc["b0"]
    assert row["dsm_coverage"] == pytest.approx(675 / 900)
    assert "covers 75% of the roof" in row["solar_flags"]
    # nothing outside the roofs is ever 0: NaN
    assert np.isnan(r.irradiation[0, 0])


def test_coarse_dsm_warns(weather):
    z = np.zeros((40, 40), np.float32)
    z[10:20, 10:20] = 6.0
    with pytest.warns(ResolutionWarning, match="2.5 m pixels are coarser than 2 m"):
        rooftop_solar(_buildings([_footprint(10, 20, 10, 20, cell=2.5)]), _grid(z, cell=2.5),
                      weather, SolarParams(keep_hourly=False))


def test_buildings_in_another_crs_are_reprojected(weather):
    z = np.zeros((60, 60), np.float32)
    z[10:40, 10:40] = 8.0
    utm = _buildings([_footprint(10, 40, 10, 40)])
    ref = rooftop_solar(utm, _grid(z), weather, SolarParams(keep_hourly=False))
    with pytest.warns(CRSWarning, match="reprojected to the DSM's CRS"):
        other = rooftop_solar(utm.to_crs("EPSG:4326"), _grid(z), weather,
                              SolarParams(keep_hourly=False))
    assert other.buildings.loc["b0", "pv_kwh"] == pytest.approx(ref.buildings.loc["b0", "pv_kwh"], rel=1e-6)


def test_missing_crs(weather):
    z = np.zeros((20, 20), np.float32)
    b = _buildings([_footprint(5, 10, 5, 10)], crs=None)
    with pytest.raises(CRSError, match="buildings: no coordinate reference system"):
        rooftop_solar(b, _grid(z), weather)
    with pytest.raises(CRSError, match="DSM: the raster has no coordinate reference system"):
        rooftop_solar(_buildings([_footprint(5, 10, 5, 10)]), _grid(z, crs=None), weather)


def test_building_outside_dsm_is_nan_and_flagged(weather):
    z = np.zeros((40, 40), np.float32)
    z[10:20, 10:20] = 6.0
    b = _buildings([_footprint(10, 20, 10, 20), _footprint(100, 110, 100, 110)])
    r = rooftop_solar(b, _grid(z), weather, SolarParams(keep_hourly=True))
    out = r.buildings.loc["b1"]
    assert np.isnan(out["pv_kwh"]) and np.isnan(out["pv_kwp"]) and np.isnan(out["roof_irradiation_kwh_m2"])
    assert "outside the DSM extent" in out["solar_flags"]
    assert r.buildings.loc["b0", "pv_kwh"] > 0
    assert r.hourly_pv_kwh["b1"].isna().all()


def test_duplicate_ids_and_missing_column(weather):
    z = np.zeros((20, 20), np.float32)
    b = _buildings([_footprint(5, 10, 5, 10), _footprint(12, 15, 12, 15)])
    b["building_id"] = "x"
    with pytest.raises(InputDataError, match="building_id 'x' appears more than once"):
        rooftop_solar(b, _grid(z), weather)
    with pytest.raises(InputDataError, match="column 'building_id' missing"):
        rooftop_solar(b.drop(columns="building_id"), _grid(z), weather)


# ---------------------------------------------------------------- yields


def _flat_open_roof(weather, **kw):
    # one 20 m × 20 m flat roof at 10 m, nothing around: unshaded modules
    z = np.zeros((80, 80), np.float32)
    z[30:50, 30:50] = 10.0
    p = SolarParams(edge_setback_m=0.0, min_irradiation_kwh_m2=0.0, **kw)
    return rooftop_solar(_buildings([_footprint(30, 50, 30, 50)]), _grid(z), weather, p)


def test_pr_yield_by_hand(weather):
    # E = Σ_pixels H_poa · A_module · η · PR with A_module = 1 m² × GCR per pixel
    r = _flat_open_roof(weather, yield_model="pr", module_efficiency=0.2, performance_ratio=0.8)
    gcr = 1.1 / default_row_spacing(45.0, 15.0, 1.1)
    h = r.irradiation[30:50, 30:50]
    expected = float((h * gcr * 0.2 * 0.8).sum())
    row = r.buildings.loc["b0"]
    assert row["pv_area_m2"] == pytest.approx(400 * gcr)
    assert row["pv_kwp"] == pytest.approx(400 * gcr * 0.2)
    assert row["pv_kwh"] == pytest.approx(expected, rel=0.01)  # hourly vs annual binning
    assert row[[f"pv_kwh_m{m:02d}" for m in range(1, 13)]].sum() == pytest.approx(row["pv_kwh"])


def test_pvwatts_yield_against_pvlib(weather):
    # the roof's modules (15°, south) are unshaded except by the roof edge below them: compare
    # with pvlib's chain on the same plane: Perez POA → Faiman → PVWatts DC → losses → inverter
    r = _flat_open_roof(weather, yield_model="pvwatts", albedo=0.2)
    row = r.buildings.loc["b0"]
    kwp = row["pv_kwp"]
    sp = pvlib.solarposition.get_solarposition(weather.sun_times, weather.latitude,
                                               weather.longitude, altitude=weather.altitude)
    d = weather.data
    zen = sp["apparent_zenith"].to_numpy()
    poa = pvlib.irradiance.get_total_irradiance(
        15.0, 180.0, zen, sp["azimuth"].to_numpy(), d["dni"].to_numpy(), d["ghi"].to_numpy(),
        d["dhi"].to_numpy(), dni_extra=pvlib.irradiance.get_extra_radiation(weather.sun_times).to_numpy(),
        airmass=pvlib.atmosphere.get_relative_airmass(zen), albedo=0.2, model="perez")["poa_global"]
    poa = np.nan_to_num(np.asarray(poa))
    tc = pvlib.temperature.faiman(poa, d["temp_air"].to_numpy(), d["wind_speed"].to_numpy())
    pdc = pvlib.pvsystem.pvwatts_dc(poa, tc, kwp * 1000, -0.0035) * (1 - 0.14)
    pac = pvlib.inverter.pvwatts(pdc, kwp * 1000 / 1.2 / 0.96, 0.96)
    expected = np.clip(np.nan_to_num(pac), 0, None).sum() / 1000
    assert row["pv_kwh"] == pytest.approx(expected, rel=0.01)
    # hourly profile sums to the annual yield
    assert r.hourly_pv_kwh["b0"].sum() == pytest.approx(row["pv_kwh"], rel=1e-5)


def test_collector_equation_by_hand():
    # q = η0 G - a1 ΔT - a2 ΔT²: G = 800, Ta = 20, Tm = 50: 0.78·800 - 3.5·30 - 0.015·900
    # = 624 - 105 - 13.5 = 505.5 W/m² → 2 m² for 1 h = 1.011 kWh; at G = 100 negative → 0
    q = _collector_kwh(np.array([800.0, 100.0]), np.array([20.0, 20.0]), 2.0, 0.78, 3.5, 0.015, 50.0)
    assert q[0] == pytest.approx(1.011)
    assert q[1] == 0.0


def test_row_spacing_by_hand():
    # 45° N: winter-solstice noon elevation 90 - 45 - 23.44 = 21.56°;
    # d = 1.1 (cos 15° + sin 15° / tan 21.56°) = 1.1 (0.96593 + 0.25882 / 0.39513) = 1.7830 m
    assert default_row_spacing(45.0, 15.0, 1.1) == pytest.approx(1.7830, abs=1e-3)


def test_allocation_between_pv_thermal_pvt(weather):
    r = _flat_open_roof(weather, share_pv=0.5, share_solar_thermal=0.3, share_pvt=0.2)
    row = r.buildings.loc["b0"]
    assert row["pv_area_m2"] / row["usable_area_m2"] == pytest.approx(0.5)
    assert row["solar_thermal_area_m2"] / row["usable_area_m2"] == pytest.approx(0.3)
    assert row["pvt_area_m2"] / row["usable_area_m2"] == pytest.approx(0.2)
    assert row["solar_thermal_kwh"] > 0 and row["pvt_heat_kwh"] > 0 and row["pvt_kwh"] > 0
    # PVT electricity per m² equals PV's (same modules, same model)
    assert row["pvt_kwh"] / row["pvt_area_m2"] == pytest.approx(row["pv_kwh"] / row["pv_area_m2"])


def test_params_errors():
    with pytest.raises(ConfigError, match=r"solar.module_efficiency: 2.0 out of range"):
        SolarParams.from_dict({"module_efficiency": 2.0})
    with pytest.raises(ConfigError, match=r"solar.tilt: unknown key\(s\) tilt"):
        SolarParams.from_dict({"tilt": 30})
    with pytest.raises(ConfigError, match=r"solar.share_pv: share_pv \+ share_solar_thermal"):
        SolarParams.from_dict({"share_pv": 0.8, "share_pvt": 0.5})
    with pytest.raises(ConfigError, match="solar.yield_model: 'sam' unknown"):
        SolarParams.from_dict({"yield_model": "sam"})
    with pytest.raises(ConfigError, match="solar.sky_model: 'iso' unknown"):
        SolarParams.from_dict({"sky_model": "iso"})
    with pytest.raises(ConfigError, match="solar.flat_row_spacing_m: row spacing 0.5 m is shorter"):
        SolarParams.from_dict({"flat_row_spacing_m": 0.5})


# ---------------------------------------------------------------- segments, usable area


def test_gable_roof_gives_two_planes(weather):
    # gable 20 m (N-S) × 30 m (E-W), ridge along E-W, 30° pitch: two planes facing S and N,
    # each 10 m × 30 m in plan = 300 m², 300 / cos 30° = 346.4 m² of roof
    z = np.zeros((60, 60), np.float32)
    yy = np.arange(20) + 0.5
    roof = 8.0 + (10 - np.abs(yy - 10)) * math.tan(math.radians(30))
    z[20:40, 15:45] = roof[:, None]
    r = rooftop_solar(_buildings([_footprint(20, 40, 15, 45)]), _grid(z), weather,
                      SolarParams(keep_hourly=False, min_irradiation_kwh_m2=0.0),
                      dtm=_grid(np.zeros_like(z)))
    # with a DTM at 0 m: roof height = 90th percentile of the DSM over the roof
    assert r.buildings.loc["b0", "roof_height_m"] == pytest.approx(np.percentile(z[20:40, 15:45], 90))
    seg = r.segments.sort_values("area_m2", ascending=False)
    big = seg.head(2)
    assert set(np.round(big["azimuth"] / 90) % 4) == {0.0, 2.0}  # north and south
    assert np.allclose(big["tilt"], 30.0, atol=1.5)
    assert seg["area_m2"].sum() == pytest.approx(600 / math.cos(math.radians(30)), rel=0.03)
    south = big.loc[(big["azimuth"] - 180).abs() < 45].iloc[0]
    north = big.loc[(big["azimuth"] - 180).abs() >= 45].iloc[0]
    assert south["irradiation_kwh_m2"] > north["irradiation_kwh_m2"]
    assert seg["pv_kwh"].sum() == pytest.approx(r.buildings.loc["b0", "pv_kwh"], rel=1e-6)
    assert set(seg.columns) >= {"building_id", "tilt", "azimuth", "area_m2",
                                "irradiation_kwh_m2", "usable", "pv_kwp", "pv_kwh", "geometry"}


def test_threshold_excludes_north_plane(weather):
    z = np.zeros((60, 60), np.float32)
    yy = np.arange(20) + 0.5
    z[20:40, 15:45] = (8.0 + (10 - np.abs(yy - 10)) * math.tan(math.radians(45)))[:, None]
    r = rooftop_solar(_buildings([_footprint(20, 40, 15, 45)]), _grid(z), weather,
                      SolarParams(keep_hourly=False, min_irradiation_kwh_m2=900.0))
    seg = r.segments
    north = seg.loc[(seg["azimuth"] - 180).abs() > 90]
    assert not north.loc[north["area_m2"] > 50, "usable"].any()
    assert seg.loc[seg["area_m2"] > 50, "usable"].any()


def test_precomputed_irradiation_raster(weather):
    # a SEBE/r.sun raster of 1000 kWh/m²a on a flat roof: E = 1000 · A · η · PR by hand
    irr = np.full((40, 40), np.nan, np.float32)
    irr[10:20, 10:20] = 1000.0
    p = SolarParams(yield_model="pr", edge_setback_m=0.0, flat_tilt_deg=0.0, keep_hourly=False)
    r = rooftop_solar(_buildings([_footprint(10, 20, 10, 20)]), None, weather, p,
                      irradiation=_grid(irr))
    gcr = 1.1 / default_row_spacing(45.0, 0.0, 1.1)
    assert r.buildings.loc["b0", "pv_kwh"] == pytest.approx(1000 * 100 * gcr * 0.2 * 0.8, rel=1e-6)


def test_grids_must_match(weather):
    z = np.zeros((40, 40), np.float32)
    with pytest.raises(InputDataError, match="DTM: not on the same grid as the DSM"):
        rooftop_solar(_buildings([_footprint(10, 20, 10, 20)]), _grid(z), weather,
                      dtm=_grid(np.zeros((30, 30))))
    with pytest.raises(InputDataError, match="needs a DSM or a precomputed irradiation raster"):
        rooftop_solar(_buildings([_footprint(10, 20, 10, 20)]), None, weather)
