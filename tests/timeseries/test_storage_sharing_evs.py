"""Battery, thermal buffer, sharing and EV charging on toy profiles computed by hand."""

import numpy as np
import pytest

from pedgis.errors import ConfigError
from pedgis.timeseries import evs, sharing
from pedgis.timeseries.profiles import Calendar
from pedgis.timeseries.storage import battery_dispatch, thermal_buffer_dispatch


def test_battery_dispatch_by_hand():
    # capacity 4 kWh, power 2.5 kW, round trip 0.81 -> 0.9 each way
    net = np.array([-3.0, -3.0, 2.0, 2.0, 2.0, -1.0])
    r = battery_dispatch(net, 4.0, 2.5, 0.81)
    # h0: charge min(3, 2.5, 4/0.9) = 2.5 -> SOC 2.25, export 0.5
    # h1: room (4-2.25)/0.9 = 1.9444 -> SOC 4, export 3-1.9444
    # h2: discharge min(2, 2.5, 4*0.9=3.6) = 2 -> SOC 4-2/0.9 = 1.7778, import 0
    # h3: discharge min(2, 1.7778*0.9 = 1.6) -> SOC 0, import 0.4
    # h4: empty -> import 2 ; h5: charge 1 -> SOC 0.9, export 0
    room = 1.75 / 0.9
    np.testing.assert_allclose(r.grid_kwh, [-0.5, -3 + room, 0.0, 0.4, 2.0, 0.0], atol=1e-12)
    assert r.charge_kwh[0] == pytest.approx(2.5 + room + 1.0)
    assert r.discharge_kwh[0] == pytest.approx(3.6)
    assert r.soc_end_kwh[0] == pytest.approx(0.9)
    # losses: 10 % of what went in, plus 1/0.9 - 1 of what came out
    assert r.losses_kwh[0] == pytest.approx(0.1 * (3.5 + room) + 3.6 / 0.9 - 3.6)


def test_battery_per_building_arrays_and_self_discharge():
    net = np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]])
    r = battery_dispatch(net, [0.0, 5.0], 5.0, 1.0, self_discharge_per_h=0.5)
    np.testing.assert_allclose(r.grid_kwh[0], net[0])  # no capacity: nothing changes
    # SOC 1 after h0, halves each hour: 0.5 after h0, 0.25 after h1, discharge 0.25 at h2
    np.testing.assert_allclose(r.grid_kwh[1], [0.0, 0.0, 0.75])
    assert r.losses_kwh[1] == pytest.approx(0.75)


@pytest.mark.parametrize("kw,match", [
    (dict(capacity_kwh=-1), "capacity must be a number"),
    (dict(power_kw=np.nan), "power must be a number"),
    (dict(round_trip_efficiency=1.2), "round-trip efficiency"),
    (dict(initial_soc=2), "initial state of charge"),
    (dict(self_discharge_per_h=1), "self-discharge"),
])
def test_battery_errors(kw, match):
    args = dict(capacity_kwh=1.0, power_kw=1.0)
    args.update(kw)
    with pytest.raises(ConfigError, match=match):
        battery_dispatch(np.zeros(3), **args)


def test_thermal_buffer_by_hand():
    heat = np.array([[0.0, 0.0, 6.0]])
    other = np.array([[-3.0, 0.0, 0.0]])  # 3 kWh PV surplus in hour 0
    r = thermal_buffer_dispatch(heat, 3.0, other, 10.0, 10.0, loss_per_h=0.0)
    # h0: surplus 3 kWh_el * COP 3 = 9 kWh heat stored; h2: 6 kWh from the tank, HP off
    np.testing.assert_allclose(r.hp_elec_kwh, [[3.0, 0.0, 0.0]])
    np.testing.assert_allclose(r.hp_heat_kwh, [[9.0, 0.0, 0.0]])
    assert r.stored_heat_kwh[0] == 9.0
    r2 = thermal_buffer_dispatch(heat, 3.0, other, 10.0, 10.0, loss_per_h=0.1)
    # SOC 9 -> 8.1 -> 7.29 -> (-6) 1.29 -> 1.161 ; losses 0.9 + 0.81 + 0.129
    assert r2.losses_kwh[0] == pytest.approx(0.9 + 0.81 + 0.129)
    # without surplus nothing is stored: E = Q/COP
    r3 = thermal_buffer_dispatch(heat, 3.0, np.zeros((1, 3)), 10.0, 10.0)
    np.testing.assert_allclose(r3.hp_elec_kwh, [[0.0, 0.0, 2.0]])


@pytest.mark.parametrize("kw,match", [
    (dict(cop=0.0), "COP must be > 0"),
    (dict(capacity_kwh=-1.0), "capacity must be"),
    (dict(hp_power_kw=-1.0), "power must be"),
    (dict(loss_per_h=1.0), "loss must be"),
])
def test_thermal_buffer_errors(kw, match):
    args = dict(heat_kwh=np.ones((1, 2)), cop=3.0, other_net_kwh=np.zeros((1, 2)), capacity_kwh=1.0,
                hp_power_kw=1.0)
    args.update(kw)
    with pytest.raises(ConfigError, match=match):
        thermal_buffer_dispatch(**args)


def toy_two_buildings():
    """A: load 1 kWh every hour, PV 4 kWh in hours 8-15. B: load 2 kWh every hour, no PV."""
    load = np.vstack([np.ones(24), np.full(24, 2.0)])
    pv = np.zeros((2, 24))
    pv[0, 8:16] = 4.0
    return load, pv


def test_sharing_by_hand():
    load, pv = toy_two_buildings()
    net = load - pv
    imp, exp_ = np.clip(net, 0, None), np.clip(-net, 0, None)
    tot = sharing.sharing_totals(imp, exp_)
    # hours 8-15: A surplus 3, B deficit 2 -> 2 shared, 1 exported; other hours nothing shared
    assert tot.shared_kwh.sum() == 8 * 2
    assert tot.district_export_kwh.sum() == 8 * 1
    # district import: 16 h * (1 + 2) = 48 ; building by building: A 16 + B 48 = 64
    assert tot.district_import_kwh.sum() == 48
    assert imp.sum() == 64
    al = sharing.allocate(imp, exp_, tot)
    np.testing.assert_allclose(al.received_kwh, [0.0, 16.0])
    np.testing.assert_allclose(al.given_kwh, [16.0, 0.0])
    np.testing.assert_allclose(al.import_kwh, [16.0, 32.0])
    np.testing.assert_allclose(al.export_kwh, [8.0, 0.0])
    # chunks add up to the same totals
    t2 = sharing.add_totals(sharing.sharing_totals(imp[:1], exp_[:1]), sharing.sharing_totals(imp[1:], exp_[1:]))
    np.testing.assert_allclose(t2.shared_kwh, tot.shared_kwh)


def test_battery_on_toy_building():
    load, pv = toy_two_buildings()
    r = battery_dispatch((load - pv)[0], 10.0, 5.0, 1.0)
    # charges 3,3,3,1 in hours 8-11 (full), exports 2 + 4*3 = 14; discharges 1 kWh in hours 16-23
    assert np.clip(-r.grid_kwh, 0, None).sum() == pytest.approx(14.0)
    assert np.clip(r.grid_kwh, 0, None).sum() == pytest.approx(8.0)  # hours 0-7 only
    assert r.soc_end_kwh[0] == pytest.approx(2.0)


def test_ev_annual_and_profiles():
    # 10 vehicles * 12,000 km * 0.18 kWh/km / 0.9 = 24,000 kWh
    assert evs.ev_annual_kwh(10, 12000, 0.18, 0.9) == pytest.approx(24000)
    # 7 kWh with an 11 kW charger: one hour per arrival, arrivals 17..21
    p = evs.daily_charging_profile("home", 7.0, 11.0)
    np.testing.assert_allclose(p[17:22], 0.2)
    # 20 kWh: 11 + 9 per arrival -> h17 11, h18-21 20, h22 9 (total 100)
    p = evs.daily_charging_profile("home", 20.0, 11.0)
    np.testing.assert_allclose(p[17:23], [0.11, 0.2, 0.2, 0.2, 0.2, 0.09])
    # workplace, wrap-around never needed; flat and custom
    assert evs.daily_charging_profile("work", 7.0, 11.0)[8] == pytest.approx(0.5)
    np.testing.assert_allclose(evs.daily_charging_profile("flat"), 1 / 24)
    c = evs.daily_charging_profile("custom", custom=[1] * 12 + [3] * 12)
    assert c[0] == pytest.approx(1 / 48)
    # night charging wraps past midnight
    w = evs.daily_charging_profile("home", 44.0, 11.0)
    assert w[0] > 0
    cal = Calendar(month=np.ones(48, int), day_type=np.zeros(48, int), hour=np.tile(np.arange(24), 2))
    s = evs.ev_hourly_shape(cal, p)
    assert s.sum() == pytest.approx(1.0) and s[17] == pytest.approx(0.055)


@pytest.mark.parametrize("call,match", [
    (lambda: evs.ev_annual_kwh(-1, 1000, 0.2), "ev.vehicles"),
    (lambda: evs.ev_annual_kwh(1, -5, 0.2), "ev.km_per_year"),
    (lambda: evs.ev_annual_kwh(1, 5, np.nan), "ev.kwh_per_km"),
    (lambda: evs.ev_annual_kwh(1, 5, 0.2, 0), "ev.charging_efficiency"),
    (lambda: evs.daily_charging_profile("custom", custom=[1] * 5), "24 hourly values"),
    (lambda: evs.daily_charging_profile("custom", custom=[0] * 24), "not all 0"),
    (lambda: evs.daily_charging_profile("bus"), "unknown charging mode"),
    (lambda: evs.daily_charging_profile("home", 5, 0), "ev.charger_kw"),
    (lambda: evs.daily_charging_profile("home", 500, 11), "more than a 11"),
])
def test_ev_errors(call, match):
    with pytest.raises(ConfigError, match=match):
        call()
