"""Acceptance: unshaded planes against pvlib's hourly transposition on the sample weather.

The reference is computed here with pvlib (sun positions at the same instants, the same
Perez / Hay–Davies model, albedo 0.2): Σ_h poa_global [Wh/m²] / 1000. pedgis bins the hours
into a cumulative sky; the issue's target is 1 %.
"""

from __future__ import annotations

import numpy as np
import pvlib
import pytest

from pedgis.solar.sky import annual_poa, cumulative_sky, hourly_sky

PLANES = [(0.0, 180.0)] + [(t, a) for t in (20.0, 35.0, 50.0) for a in (180.0, 90.0, 270.0, 0.0)]


def _pvlib_reference(weather, model, tilt, azimuth, sp):
    times = weather.sun_times
    d = weather.data
    tot = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, sp["apparent_zenith"].to_numpy(), sp["azimuth"].to_numpy(),
        d["dni"].to_numpy(), d["ghi"].to_numpy(), d["dhi"].to_numpy(),
        dni_extra=pvlib.irradiance.get_extra_radiation(times).to_numpy(),
        airmass=pvlib.atmosphere.get_relative_airmass(sp["apparent_zenith"].to_numpy()),
        albedo=0.2, model=model,
    )
    return np.nansum(tot["poa_global"]) / 1000.0


@pytest.mark.parametrize("model", ["perez", "haydavies"])
def test_unshaded_planes_within_1_percent_of_pvlib(weather, model):
    csky = cumulative_sky(hourly_sky(weather, model, albedo=0.2))
    tilt = np.array([p[0] for p in PLANES])
    az = np.array([p[1] for p in PLANES])
    got = annual_poa(tilt, az, np.zeros((len(PLANES), 36), np.float32), csky).total
    sp = pvlib.solarposition.get_solarposition(
        weather.sun_times, weather.latitude, weather.longitude, altitude=weather.altitude
    )
    for (t, a), g in zip(PLANES, got, strict=False):
        ref = _pvlib_reference(weather, model, t, a, sp)
        assert g == pytest.approx(ref, rel=0.01), (model, t, a, g, ref)


def test_open_sky_view_is_isotropic_factor(weather):
    # with an open horizon the tilted plane's sky view is (1 + cos β)/2 exactly
    csky = cumulative_sky(hourly_sky(weather, "perez"))
    tilt = np.array([0.0, 30.0, 60.0, 90.0])
    r = annual_poa(tilt, np.full(4, 200.0), np.zeros((4, 36), np.float32), csky)
    assert np.allclose(r.sky_view, (1 + np.cos(np.radians(tilt))) / 2, rtol=1e-9)


def test_uniform_horizon_reduces_isotropic_by_cos2(weather):
    # a horizontal plane under a uniform 20° horizon sees cos²(20°) = 0.883 of the sky
    csky = cumulative_sky(hourly_sky(weather, "perez"))
    r = annual_poa(np.array([0.0]), np.array([180.0]), np.full((1, 36), 20.0, np.float32), csky)
    assert r.sky_view[0] == pytest.approx(np.cos(np.radians(20.0)) ** 2, rel=1e-6)


def test_nodata_plane_is_nan(weather):
    csky = cumulative_sky(hourly_sky(weather, "perez"))
    h = np.zeros((2, 36), np.float32)
    h[1] = np.nan
    r = annual_poa(np.array([10.0, 10.0]), np.array([180.0, 180.0]), h, csky)
    assert np.isfinite(r.total[0]) and np.isnan(r.total[1])


def test_unknown_sky_model(weather):
    from pedgis.errors import ConfigError

    with pytest.raises(ConfigError, match="solar.sky_model: unknown sky model 'isotropic'"):
        hourly_sky(weather, "isotropic")


def test_hourly_groups_reuse_the_annual_thresholds(weather):
    # the shading thresholds binned by annual_poa give the very hourly sums hourly_groups
    # computes on its own; and each plane's hours add up to its annual irradiation (the annual
    # sum interpolates within 0.25° bins, the hourly one within 0.5° bins: within 1 %)
    from pedgis.solar.sky import hourly_groups

    sky = hourly_sky(weather, "perez")
    csky = cumulative_sky(sky)
    rng = np.random.default_rng(3)
    n = 60
    tilt = rng.uniform(0.0, 60.0, n)
    az = rng.uniform(0.0, 360.0, n)
    hor = rng.uniform(0.0, 35.0, (n, 36)).astype(np.float32)
    pi = annual_poa(tilt, az, hor, csky, keep_hourly_bins=True)
    group = np.arange(n)
    own = hourly_groups(tilt, az, hor, pi.sky_view, np.ones(n), group, n, csky, sky)
    reused = hourly_groups(tilt, az, hor, pi.sky_view, np.ones(n), group, n, csky, sky,
                           hourly_bins=pi.hourly_bins)
    assert np.array_equal(own, reused)
    assert np.allclose(own.sum(axis=0) / 1000.0, pi.total, rtol=0.01)
