"""Step 4 (paper §2.4): Eq. 9-10, Eq. 13 (CHP fuel), PV yield, district assets."""

import numpy as np
import pandas as pd
import pytest

from pedgis import generation as gen


def test_pv_yield_and_building_pv():
    # 5 kWp × 1,300 kWh/kWp = 6,500 kWh
    assert gen.pv_yield(5.0, 1300.0) == pytest.approx(6500.0)
    # given kWh wins; else kWp × yield; no data → 0
    out = gen.building_pv([1000.0, np.nan, np.nan], [3.0, 2.0, np.nan], 1200.0)
    np.testing.assert_allclose(out, [1000.0, 2400.0, 0.0])


def test_specific_yield_horizontal_diffuse_only():
    # horizontal plane, DNI = 0: Hay-Davies sky diffuse on a 0° tilt is exactly DHI (anisotropy index 0,
    # view factor (1 + cos 0)/2 = 1) and the ground term is 0, so POA = DHI.
    # 8,760 h × 100 W m⁻² = 876 kWh m⁻²; × PR 0.8 = 700.8 kWh kWp⁻¹
    idx = pd.date_range("2021-01-01", periods=8760, freq="h", tz="UTC")
    w = pd.DataFrame({"ghi": 100.0, "dni": 0.0, "dhi": 100.0}, index=idx)
    assert gen.specific_pv_yield(w, 45.0, 8.0, 0.0, 180.0, 0.8) == pytest.approx(700.8, rel=1e-9)


def test_eq13_chp_fuel_counted_once():
    # Eq. 13: ED_CHP = TEP_th / η_th = 600 / 0.6 = 1,000 kWh fuel; electricity 1,000 × 0.25 = 250
    fuel = gen.chp_fuel_input(600.0, 0.6)
    assert fuel == pytest.approx(1000.0)
    assert gen.chp_electricity(fuel, 0.25) == pytest.approx(250.0)


def _systems():
    return [
        gen.DistrictSystem("net", "heat_network", losses=0.1),
        gen.DistrictSystem("st", "solar_thermal", area_m2=100.0, yield_kwh_m2=400.0, network="net"),
        gen.DistrictSystem("chp", "chp", fuel="biomass", eta_el=0.25, eta_th=0.6, network="net"),
        gen.DistrictSystem("gas_chp", "chp", fuel="natural_gas", eta_el=0.35, eta_th=0.5, mode="given",
                           heat_output_kwh=10000.0, network="net"),
        gen.DistrictSystem("wind", "wind", capacity_kw=100.0, full_load_hours=2000.0, virtual=True, owned_share=0.3),
        gen.DistrictSystem("field", "pv_field", kwp=50.0),
        gen.DistrictSystem("pvt", "pvt", kwp=10.0, specific_yield_kwh_kwp=1000.0, heat_output_kwh=5000.0, network="net"),
    ]


def test_district_generation_heat_led_and_eq9_eq10():
    # the network needs 100,000 kWh; fixed sources first: solar thermal 100 m² × 400 = 40,000,
    # gas CHP (given) 10,000, PVT heat 5,000 → the heat-led biomass CHP covers 45,000
    g, notes = gen.district_generation(_systems(), {"net": 100000.0}, "geographical", pv_specific_yield=1200.0)
    bio = g[g.name == "chp"].set_index("output")
    assert bio.loc["heat", "output_kwh"] == pytest.approx(45000.0)
    fuel = 45000 / 0.6                     # 75,000 (Eq. 13)
    el = fuel * 0.25                       # 18,750
    assert bio.loc["electricity", "output_kwh"] == pytest.approx(el)
    assert bio["input_kwh"].sum() == pytest.approx(fuel)                # fuel counted once over both rows
    assert bio.loc["heat", "input_kwh"] == pytest.approx(fuel * 45000 / (45000 + el))
    # the wind turbine is virtual: not counted outside a virtual boundary, with a note
    assert not g.loc[g.name == "wind", "counted"].iloc[0]
    assert any("district_systems.wind" in n and "not counted" in n for n in notes)
    # Eq. 9: TEP_RES = solar thermal 40,000 + PVT heat 5,000 + biomass CHP heat 45,000 (the gas CHP is not RES)
    assert gen.thermal_res_production(g) == pytest.approx(90000.0)
    # Eq. 10: EEP_RES = PV field 50 × 1,200 + PVT 10 × 1,000 + biomass CHP el 18,750
    assert gen.electric_res_production(g) == pytest.approx(60000 + 10000 + el)


def test_virtual_asset_counted_with_owned_share():
    g, notes = gen.district_generation(_systems(), {"net": 0.0}, "virtual", pv_specific_yield=1200.0)
    wind = g[g.name == "wind"].iloc[0]
    # 100 kW × 2,000 h × 0.3 owned = 60,000 kWh
    assert wind.counted and wind.output_kwh == pytest.approx(60000.0)
    assert notes == []
    # no remaining network demand: the heat-led CHP runs at 0
    assert g[g.name == "chp"]["output_kwh"].sum() == 0.0


def test_network_plant_demand():
    # 90,000 kWh at the substations with 10 % losses: 90,000 / 0.9 = 100,000 fed in
    assert gen.network_plant_demand(90000.0, 0.1) == pytest.approx(100000.0)


def test_specific_yield_puts_the_sun_where_the_weather_says():
    # the sample's PVGIS year: irradiance belongs 10.6 min after each row's timestamp (its header);
    # expected: pvlib's Hay-Davies POA computed here at those instants, x PR. Computing the sun at
    # the row timestamps instead (what the engine did) differs.
    from pathlib import Path

    import pvlib

    from pedgis.io.weather import read_weather

    w = read_weather(Path(__file__).resolve().parents[1] / "sample_data" / "weather" / "pvgis_tmy_45N_8E.epw")
    t = w.sun_times
    sp = pvlib.solarposition.get_solarposition(t, w.latitude, w.longitude, altitude=w.altitude)
    poa = pvlib.irradiance.get_total_irradiance(
        30.0, 180.0, sp["apparent_zenith"].to_numpy(), sp["azimuth"].to_numpy(), w.data["dni"].to_numpy(),
        w.data["ghi"].to_numpy(), w.data["dhi"].to_numpy(), dni_extra=pvlib.irradiance.get_extra_radiation(t).to_numpy(),
        model="haydavies", albedo=0.2)["poa_global"]
    expected = 0.8 * float(np.nansum(np.clip(poa, 0, None))) / 1000.0
    got = gen.specific_pv_yield(w.data, w.latitude, w.longitude, 30.0, 180.0, 0.8, w.altitude, sun_times=t)
    assert got == pytest.approx(expected, rel=1e-12)
    at_labels = gen.specific_pv_yield(w.data, w.latitude, w.longitude, 30.0, 180.0, 0.8, w.altitude)
    assert abs(at_labels / got - 1) > 1e-4  # 10.6 min of sun: 0.05 % of the year
