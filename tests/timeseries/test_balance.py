"""Netting rules, indicators and the chunked driver on hand-checkable cases."""

import numpy as np
import pandas as pd
import pytest

from pedgis.errors import ConfigError, InputDataError
from pedgis.timeseries import balance as bl
from pedgis.timeseries.profiles import Calendar, use_shapes
from pedgis.timeseries.series import HeatPumpSeries, SeriesSpec, chunk_factory

ELEC = {"electricity": bl.CarrierFactors(pef_nren=2.0)}


def day_calendar(n_days=1):
    H = 24 * n_days
    return Calendar(month=np.ones(H, int), day_type=np.zeros(H, int), hour=np.arange(H) % 24)


def toy_chunk(a, b):
    """A: load 1 kWh/h, PV 4 kWh in hours 8-15; B: load 2 kWh/h, no PV."""
    load = np.vstack([np.ones(24), np.full(24, 2.0)])[a:b]
    pv = np.zeros((2, 24))
    pv[0, 8:16] = 4.0
    return bl.ChunkInput(carriers={"electricity": (load, pv[a:b])})


def test_grid_indicators_by_hand():
    load = np.array([1.0, 1.0, 1.0, 1.0])
    pv = np.array([0.0, 3.0, 3.0, 0.0])
    imp = np.array([1.0, 0.0, 0.0, 1.0])
    exp_ = np.array([0.0, 2.0, 2.0, 0.0])
    g = bl.grid_indicators(load, pv, imp, exp_)
    assert g["self_consumption_kwh"] == 2.0       # 6 generated - 4 exported
    assert g["self_consumption"] == pytest.approx(2 / 6)
    assert g["self_sufficiency"] == pytest.approx((4 - 2) / 4)
    assert g["peak_import_kw"] == 1.0 and g["peak_export_kw"] == 2.0
    assert g["hours_net_export"] == 2
    # net exchange / max|net| = [-0.5, 1, 1, -0.5]: std = 0.75
    assert g["grid_interaction"] == pytest.approx(0.75)
    z = bl.grid_indicators(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3))
    assert np.isnan(z["self_consumption"]) and np.isnan(z["self_sufficiency"]) and z["grid_interaction"] == 0


def test_two_buildings_building_by_building():
    cal = day_calendar()
    r = bl.run_balance(toy_chunk, 2, cal, ELEC, "hourly", chunk_size=1)
    e = r.district["electricity"]
    # by hand: load 24 + 48 = 72, PV 32, import A 16 + B 48 = 64, export A 24
    assert e["load_kwh"] == 72 and e["onsite_kwh"] == 32
    assert e["import_kwh"] == 64 and e["export_kwh"] == 24
    assert e["self_consumption"] == pytest.approx(8 / 32)
    assert e["self_sufficiency"] == pytest.approx(8 / 72)
    assert e["peak_import_kw"] == 3.0  # night: 1 + 2
    assert e["community_potential_kwh"] == 16  # what sharing would pass on
    b = r.buildings
    np.testing.assert_allclose(b["ts_import_kwh"], [16, 48])
    np.testing.assert_allclose(b["self_consumption"], [0.25, np.nan])
    # PED balance (constant PEF 2): PEI 2*64 = 128, PEE 2*24 = 48 -> 80 in every netting
    v = r.district["netting"]
    assert v["hourly"]["ped_balance_kwh"] == pytest.approx(80)
    assert v["annual"]["ped_balance_kwh"] == pytest.approx(80)
    # annual netting building by building: A 24 - 32 = -8 (export 8), B 48 -> PEI 96, PEE 16
    assert v["annual"]["pei_kwh"] == pytest.approx(96) and v["annual"]["pee_kwh"] == pytest.approx(16)
    np.testing.assert_allclose(b["ped_balance_hourly_kwh"], [2 * 16 - 2 * 24, 2 * 48])


@pytest.mark.parametrize("chunk", [1, 2])
def test_two_buildings_sharing(chunk):
    r = bl.run_balance(toy_chunk, 2, day_calendar(), ELEC, "hourly", chunk_size=chunk, sharing=True)
    e = r.district["electricity"]
    # hours 8-15: A's surplus 3 covers B's deficit 2 -> 16 kWh shared, 8 exported; import 48
    assert e["shared_kwh"] == 16
    assert e["import_kwh"] == 48 and e["export_kwh"] == 8
    assert e["self_consumption"] == pytest.approx(24 / 32)
    assert e["self_sufficiency"] == pytest.approx(24 / 72)
    assert e["building_by_building"]["import_kwh"] == 64
    np.testing.assert_allclose(r.buildings["shared_in_kwh"], [0, 16])
    np.testing.assert_allclose(r.buildings["shared_out_kwh"], [16, 0])
    assert r.district["netting_level"].startswith("district")


def test_battery_in_the_driver():
    bat = bl.BatterySpec(capacity_kwh=[10.0, 0.0], power_kw=5.0, round_trip_efficiency=1.0)
    r = bl.run_balance(toy_chunk, 2, day_calendar(), ELEC, "hourly", battery=bat)
    # A (see test_storage): import 8, export 14, 10 charged, 8 discharged, 2 left at the end
    np.testing.assert_allclose(r.buildings["ts_import_kwh"], [8, 48])
    np.testing.assert_allclose(r.buildings["ts_export_kwh"], [14, 0])
    assert r.district["storage"]["battery"]["charge_kwh"] == pytest.approx(10)
    assert r.district["storage"]["battery"]["discharge_kwh"] == pytest.approx(8)


def test_district_battery_needs_sharing_and_works_with_it():
    bat = bl.BatterySpec(capacity_kwh=10.0, power_kw=5.0, round_trip_efficiency=1.0, level="district")
    with pytest.raises(ConfigError, match="enable \\[sharing\\]"):
        bl.run_balance(toy_chunk, 2, day_calendar(), ELEC, "hourly", battery=bat)
    r = bl.run_balance(toy_chunk, 2, day_calendar(), ELEC, "hourly", battery=bat, sharing=True)
    # shared net: +3 in hours 0-7 and 16-23, -1 in hours 8-15: battery stores 8, gives it back at 16-23
    e = r.district["electricity"]
    assert e["export_kwh"] == 0 and e["import_kwh"] == pytest.approx(48 - 8)
    assert r.district["storage"]["battery"]["discharge_kwh"] == pytest.approx(8)


def test_monthly_netting_annual_positive_monthly_not(calendar):
    """Load 1 kWh every hour; PV 10,000 kWh spread evenly over June-August only.

    Annual: U 8760, P 10000 -> export 1240; B = 2.0 * (0 - 1240) = -2480 < 0: positive.
    Monthly (DB-HE): in the 9 months without PV each hour is imported: B_m = 2 * hours > 0,
    uncompensated = 2 * (8760 - 2208) = 13104; not positive.
    """
    summer = np.isin(calendar.month, [6, 7, 8])
    assert summer.sum() == 2208

    def chunk(a, b):
        pv = np.where(summer, 10000.0 / 2208, 0.0)[None, :]
        return bl.ChunkInput(carriers={"electricity": (np.ones((1, 8760)), pv)})

    r = bl.run_balance(chunk, 1, calendar, ELEC, "monthly")
    ann, mon = r.district["netting"]["annual"], r.district["netting"]["monthly"]
    assert ann["ped_balance_kwh"] == pytest.approx(-2480) and ann["is_ped"]
    assert mon["uncompensated_pei_kwh"] == pytest.approx(13104)
    assert not mon["is_ped"] and r.district["verdict"]["is_ped"] is False
    assert mon["worst_month"] in (1, 3, 5, 10, 12) and mon["worst_month_balance_kwh"] == pytest.approx(2 * 744)
    assert mon["months_positive"] == 3
    # Σ B_m equals the annual balance with constant factors; January B = 2 * 744
    assert mon["ped_balance_kwh"] == pytest.approx(-2480)
    assert r.district["monthly"]["balance_kwh"][0] == pytest.approx(1488)


def test_time_varying_factors(calendar):
    """Monthly factors: PEF 3 in January, 1 otherwise; load 1 kWh/h, no PV: PEI = 744*3 + 8016."""
    f = np.ones(12)
    f[0] = 3.0
    fac = {"electricity": bl.CarrierFactors(pef_nren=f)}

    def chunk(a, b):
        return bl.ChunkInput(carriers={"electricity": (np.ones((1, 8760)), np.zeros((1, 8760)))})

    r = bl.run_balance(chunk, 1, calendar, fac, "monthly")
    assert r.district["netting"]["monthly"]["pei_kwh"] == pytest.approx(744 * 3 + 8016)
    assert r.district["netting"]["hourly"]["pei_kwh"] == pytest.approx(744 * 3 + 8016)
    # annual netting uses the plain mean factor (14/12)
    assert r.district["netting"]["annual"]["pei_kwh"] == pytest.approx(8760 * 14 / 12)


def test_resolve_factor_errors(calendar):
    with pytest.raises(ConfigError, match="12 \\(monthly\\) or 8760"):
        bl.resolve_factor([1.0, 2.0], "monthly", calendar, "factors.electricity.pef_nren")
    with pytest.raises(ConfigError, match="factors.gas.pef_nren: factor is nan"):
        bl.resolve_factor(float("nan"), "annual", calendar, "factors.gas.pef_nren")
    with pytest.raises(ConfigError, match="missing values"):
        bl.resolve_factor([np.nan] * 12, "annual", calendar, "k")
    h = np.arange(8760.0)
    assert bl.resolve_factor(h, "annual", calendar, "k")[0] == pytest.approx(h.mean())
    assert bl.resolve_factor(h, "monthly", calendar, "k")[0] == pytest.approx(h[:744].mean())
    with pytest.raises(ConfigError, match="scenario.timestep: unknown timestep 'daily'"):
        bl.check_timestep("daily")


def test_driver_errors():
    cal = day_calendar()
    with pytest.raises(ConfigError, match="no primary energy factor for carrier 'gas'"):
        bl.run_balance(lambda a, b: bl.ChunkInput(carriers={"electricity": (np.ones((1, 24)), np.zeros((1, 24))),
                                                            "gas": (np.ones((1, 24)), np.zeros((1, 24)))}),
                       1, cal, ELEC)
    with pytest.raises(ConfigError, match="need an 'electricity' carrier"):
        bl.run_balance(lambda a, b: bl.ChunkInput(carriers={}), 1, cal, ELEC)
    with pytest.raises(ConfigError, match="no included building"):
        bl.run_balance(toy_chunk, 0, cal, ELEC)
    with pytest.raises(ConfigError, match="unknown level 'street'"):
        bl.run_balance(toy_chunk, 2, cal, ELEC, battery=bl.BatterySpec(1, 1, level="street"))
    with pytest.raises(ConfigError, match="expected \\(1, 24\\)"):
        bl.run_balance(lambda a, b: bl.ChunkInput(carriers={"electricity": (np.ones((1, 23)), np.zeros((1, 23)))}),
                       1, cal, ELEC)
    with pytest.raises(ConfigError, match="one per building needs 2"):
        bl.run_balance(toy_chunk, 2, cal, ELEC, battery=bl.BatterySpec([1.0, 2.0, 3.0], 1.0))
    with pytest.raises(ConfigError, match="needs the heat pumps' hourly heat"):
        bl.run_balance(lambda a, b: bl.ChunkInput(carriers={"electricity": (np.ones((1, 24)), np.zeros((1, 24)))},
                                                  hp_heat_kwh=np.ones((1, 24))),
                       1, cal, ELEC, thermal=bl.ThermalSpec(10.0, 5.0))


def test_hourly_totals_equal_annual_engine_numbers(calendar, temp_air):
    """Every hourly series sums to the annual number it was spread from."""
    table = pd.DataFrame({
        "use": ["residential", "office", "education"],
        "een_light_kwh": [1200.0, 5000.0, 800.0], "een_vent_kwh": [300.0, 2500.0, 400.0],
        "een_app_kwh": [2500.0, 6000.0, 700.0],
        "ten_sh_kwh": [9000.0, 12000.0, 8000.0], "eeu_sh_kwh": [3000.0, 4000.0, 0.0],
        "gas_kwh": [0.0, 0.0, 9000.0], "pv_kwh": [4000.0, 0.0, 15000.0],
    })
    shapes = use_shapes(table["use"], calendar, temp_air)
    pv = np.where((calendar.hour >= 8) & (calendar.hour < 16), 1.0, 0.0)
    pv /= pv.sum()
    spec = SeriesSpec(electricity={"een_light_kwh": "lighting", "een_vent_kwh": "ventilation",
                                   "een_app_kwh": "appliances"},
                      heat_pumps=[HeatPumpSeries("ten_sh_kwh", "eeu_sh_kwh", "sh")],
                      fuels={"gas": {"gas_kwh": "sh"}})
    cop = np.interp(temp_air, [-10, 15], [2.0, 4.5])
    factors = {"electricity": bl.CarrierFactors(2.0), "gas": bl.CarrierFactors(1.1)}
    mk = chunk_factory(table, spec, shapes, pv, cop=cop)
    ci = mk(0, 3)
    u, p = ci.carriers["electricity"]
    np.testing.assert_allclose(u.sum(axis=1), table[["een_light_kwh", "een_vent_kwh", "een_app_kwh",
                                                     "eeu_sh_kwh"]].sum(axis=1), rtol=1e-10)
    np.testing.assert_allclose(p.sum(axis=1), table["pv_kwh"], rtol=1e-10)
    np.testing.assert_allclose(ci.hp_heat_kwh.sum(axis=1), [9000, 12000, 8000], rtol=1e-10)
    np.testing.assert_allclose(ci.carriers["gas"][0].sum(axis=1), table["gas_kwh"], rtol=1e-10)
    r = bl.run_balance(mk, 3, calendar, factors, "hourly", chunk_size=2)
    tot = r.district["totals_kwh"]
    assert tot["electricity"]["use"] == pytest.approx(1200 + 5000 + 800 + 300 + 2500 + 400 + 2500 + 6000 + 700 + 7000)
    assert tot["electricity"]["production"] == pytest.approx(19000)
    assert tot["gas"]["use"] == pytest.approx(9000)
    # annual netting (building by building) from hourly series equals the annual arithmetic:
    # electricity per building: 7000-4000=3000 ; 17500 ; 1900-15000=-13100 -> ED 20500, EX 13100
    ann = r.district["netting"]["annual"]
    assert ann["ed_kwh"]["electricity"] == pytest.approx(20500)
    assert ann["exported_kwh"]["electricity"] == pytest.approx(13100)
    assert ann["pei_kwh"] == pytest.approx(2 * 20500 + 1.1 * 9000)
    assert r.hourly["load_kwh"].sum() == pytest.approx(tot["electricity"]["use"])
    assert len(r.district["typical_day"]["load_kw"]) == 12 and len(r.district["typical_day"]["load_kw"][0]) == 24


def test_thermal_buffer_in_the_driver(calendar, temp_air):
    table = pd.DataFrame({"use": ["residential"], "app": [3000.0], "q": [8000.0], "e": [2500.0],
                          "pv_kwh": [6000.0]})
    shapes = use_shapes(table["use"], calendar, temp_air)
    pv = np.where((calendar.hour >= 9) & (calendar.hour < 15), 1.0, 0.0)
    spec = SeriesSpec(electricity={"app": "appliances"}, heat_pumps=[HeatPumpSeries("q", "e", "sh")])
    mk = chunk_factory(table, spec, shapes, pv / pv.sum(), cop=np.full(8760, 3.2))
    fac = {"electricity": bl.CarrierFactors(2.0)}
    r0 = bl.run_balance(mk, 1, calendar, fac)
    r1 = bl.run_balance(mk, 1, calendar, fac, thermal=bl.ThermalSpec(30.0, 6.0, 0.0))
    # storing PV surplus as heat raises self-consumption and lowers imports
    assert r1.district["electricity"]["self_consumption"] > r0.district["electricity"]["self_consumption"]
    assert r1.district["electricity"]["import_kwh"] < r0.district["electricity"]["import_kwh"]
    assert r1.district["storage"]["thermal"]["stored_heat_kwh"] > 0


def test_chunk_factory_errors(calendar, temp_air):
    table = pd.DataFrame({"use": ["office"], "a": [1.0], "pv_kwh": [np.nan]})
    shapes = use_shapes(["office"], calendar, temp_air)
    with pytest.raises(InputDataError, match="missing column\\(s\\) \\['b'\\]"):
        chunk_factory(table, SeriesSpec(electricity={"b": "lighting"}), shapes, None)
    with pytest.raises(InputDataError, match="missing column 'kind'"):
        chunk_factory(table, SeriesSpec(electricity={"a": "lighting"}), shapes, None, use_column="kind")
    other = use_shapes(["hotel"], calendar, temp_air)
    with pytest.raises(InputDataError, match="have no profile shapes"):
        chunk_factory(table, SeriesSpec(electricity={"a": "lighting"}), other, None)
    with pytest.raises(InputDataError, match="unknown profile shape 'bogus'"):
        chunk_factory(table, SeriesSpec(electricity={"a": "bogus"}), shapes, None)
    with pytest.raises(InputDataError, match="no PV shape"):
        chunk_factory(table, SeriesSpec(electricity={"a": "lighting"}), shapes, None)(0, 1)
    t2 = table.assign(a=np.nan)
    with pytest.raises(InputDataError, match="column 'a': 1 building\\(s\\) have no annual value"):
        chunk_factory(t2, SeriesSpec(electricity={"a": "lighting"}, pv_column=None), shapes, None)(0, 1)


def test_heat_network_buffer_by_hand():
    """Network heat: 10 kWh produced in hours 0-11, 5 kWh used every hour (not exportable).

    Without a buffer: 12 h x 5 kWh surplus unused, 12 h x 5 kWh delivered = 60.
    With a 100 kWh buffer, 10 kW, no loss: the 60 kWh surplus is stored and covers hours 12-23.
    With 1 %/h standing loss: stored 5, 9.95, ... ; delivered = 60 - what is left to give back.
    """
    prod = np.r_[np.full(12, 10.0), np.zeros(12)]

    def chunk(a, b):
        return bl.ChunkInput(carriers={"electricity": (np.ones((1, 24)), np.zeros((1, 24))),
                                       "district_heat": (np.full((1, 24), 5.0), prod[None, :])})

    fac = {"electricity": bl.CarrierFactors(2.0), "district_heat": bl.CarrierFactors(1.0)}
    r0 = bl.run_balance(chunk, 1, day_calendar(), fac, "hourly", exportable={"electricity"})
    h0 = r0.district["netting"]["hourly"]
    assert h0["ed_kwh"]["district_heat"] == pytest.approx(60)
    assert h0["unused_kwh"]["district_heat"] == pytest.approx(60)
    buf = bl.BatterySpec(capacity_kwh=100.0, power_kw=10.0, round_trip_efficiency=1.0, level="district")
    r1 = bl.run_balance(chunk, 1, day_calendar(), fac, "hourly", exportable={"electricity"}, network_storage=buf)
    h1 = r1.district["netting"]["hourly"]
    assert h1["ed_kwh"]["district_heat"] == pytest.approx(0)
    assert h1["pei_kwh"] == pytest.approx(h0["pei_kwh"] - 60)
    assert r1.district["storage"]["heat_network"]["discharge_kwh"] == pytest.approx(60)
    lossy = bl.BatterySpec(capacity_kwh=100.0, power_kw=10.0, round_trip_efficiency=1.0, level="district",
                           self_discharge_per_h=0.01)
    r2 = bl.run_balance(chunk, 1, day_calendar(), fac, "hourly", exportable={"electricity"}, network_storage=lossy)
    soc = 0.0
    for _ in range(12):  # charge 5 per hour, then lose 1 %
        soc = (soc + 5.0) * 0.99
    given = 0.0
    for _ in range(12):  # give up to 5 per hour, then lose 1 % of the rest
        d = min(5.0, soc)
        given += d
        soc = (soc - d) * 0.99
    assert r2.district["netting"]["hourly"]["ed_kwh"]["district_heat"] == pytest.approx(60 - given)
