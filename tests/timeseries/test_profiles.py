"""Profiles: shapes sum to 1, annual totals survive, hand-checked degree-hours and schedules."""

import numpy as np
import pandas as pd
import pytest

from pedgis.errors import ConfigError, DataQualityWarning, InputDataError
from pedgis.timeseries import profiles as pr


def test_degree_hours_by_hand():
    # Eurostat rule per hour: 18 - T if T <= 15 else 0
    np.testing.assert_allclose(pr.heating_degree_hours([10, 16, 15, -2]), [8, 0, 3, 20])
    # T - 21 if T >= 24 else 0
    np.testing.assert_allclose(pr.cooling_degree_hours([25, 23, 24]), [4, 0, 3])


def test_degree_hours_nan_is_an_error():
    with pytest.raises(InputDataError, match="temp_air: 1 missing hour"):
        pr.heating_degree_hours([1.0, np.nan])
    with pytest.raises(InputDataError, match="temp_air: 1 missing hour"):
        pr.cooling_degree_hours([np.nan, 30.0])


def test_calendar_uses_reference_year_weekdays(calendar):
    # 2018-01-01 is a Monday: hours 0-23 weekday, 6 Jan Saturday, 7 Jan Sunday
    assert calendar.day_type[0] == 0
    assert calendar.day_type[5 * 24] == 1
    assert calendar.day_type[6 * 24 + 23] == 2
    assert calendar.month[-1] == 12 and calendar.hour[-1] == 23


def test_calendar_tmy_mixed_years_and_holidays():
    # a TMY mixes years; the week day comes from the reference year, not from 1999
    idx = pd.date_range("1999-01-01", periods=8760, freq="h")
    cal = pr.hourly_calendar(idx, holidays=[(1, 1)])
    assert cal.day_type[0] == 2  # holiday treated as Sunday
    assert cal.day_type[24] == 0  # 2 Jan 2018 is a Tuesday


def test_calendar_errors():
    with pytest.raises(InputDataError, match="8760"):
        pr.hourly_calendar(pd.date_range("2018-01-01", periods=100, freq="h"))
    with pytest.raises(ConfigError, match="leap year"):
        pr.hourly_calendar(pd.date_range("2018-01-01", periods=8760, freq="h"), reference_year=2020)


def test_schedule_shape_ratio_by_hand(calendar):
    s = pr.schedule_shape("office", "appliances", calendar)
    assert s.sum() == pytest.approx(1.0)
    # SIA 2024 office: appliances 1.0 at 10-11 h on weekdays, 0.1 on Sundays (same monthly factor)
    mon_10h = s[0 * 24 + 10]
    sun_10h = s[6 * 24 + 10]
    assert mon_10h / sun_10h == pytest.approx(10.0)


def test_school_has_no_dhw_in_july(calendar):
    s = pr.schedule_shape("education", "dhw", calendar)
    assert s[calendar.month == 7].sum() == 0.0
    assert s.sum() == pytest.approx(1.0)


def test_ventilation_follows_en16798(calendar):
    v = pr.ventilation_shape("office", calendar)
    # weekday 10 h: q = 0.7 + 7/14 * (occ 1.0 * monthly 0.8) = 1.1 ; 8 h: 0.7 + 0.5*0.6*0.8 = 0.94
    assert v[10] / v[8] == pytest.approx(1.1 / 0.94)
    # Sunday: heating mode off -> fans off
    assert v[6 * 24 + 10] == 0.0
    # residential runs all hours (setback at night is not off)
    r = pr.ventilation_shape("residential", calendar)
    assert (r > 0).all()


def test_use_shapes_sum_to_one_and_spread_keeps_annuals(calendar, temp_air):
    uses = ["residential", "office", "commercial", "education", "health", "hotel", "sports", "industrial"]
    ps = pr.use_shapes(uses, calendar, temp_air)
    for k, arr in ps.shapes.items():
        np.testing.assert_allclose(arr.sum(axis=1), 1.0, err_msg=k)
        assert (arr >= 0).all()
    annual = np.array([1234.5, 99.0, 0.0])
    idx = ps.use_index(["office", "residential", "hotel"])
    for k in pr.END_USES:
        hourly = pr.spread(annual, ps.shapes[k], idx)
        np.testing.assert_allclose(hourly.sum(axis=1), annual, rtol=1e-12)
    # heating follows degree-hours: none in the warmest hour of the year
    assert ps.shapes["sh"][0, np.argmax(temp_air)] == 0.0


def test_unknown_use_and_no_degree_hours_warn(calendar):
    warm = np.full(8760, 20.0)  # never <= 15 nor >= 24
    with pytest.warns(DataQualityWarning) as rec:
        ps = pr.use_shapes(["chapel"], calendar, warm)
    msgs = " ".join(str(w.message) for w in rec)
    assert "space heating profile is flat" in msgs
    assert "space cooling profile is flat" in msgs
    assert "use type 'chapel' has no hourly schedule" in msgs
    np.testing.assert_allclose(ps.shapes["dhw"][0], 1 / 8760)
    assert len(ps.notes) == 3


def test_spread_refuses_nan():
    with pytest.raises(InputDataError, match="no annual value"):
        pr.spread([np.nan], np.full(8760, 1 / 8760))


def test_bad_schedule_tables():
    sched, mon = pr.load_schedules()
    t = sched.reset_index()
    with pytest.raises(InputDataError, match="missing column"):
        pr.load_schedules(t.drop(columns=["lighting"]))
    bad = t.copy()
    bad.loc[3, "dhw"] = -1
    with pytest.raises(InputDataError, match="column 'dhw' row 3"):
        pr.load_schedules(bad)
    with pytest.raises(InputDataError, match="lacks rows"):
        pr.load_schedules(t.iloc[:-1])
    m = mon.reset_index()
    with pytest.raises(InputDataError, match="needs columns"):
        pr.load_schedules(t, m.drop(columns=["multiplier"]))
    m2 = m.astype({"multiplier": object})
    m2.loc[0, "multiplier"] = "x"
    with pytest.raises(InputDataError, match="multiplier must be a number"):
        pr.load_schedules(t, m2)


def test_monthly_gap_and_zero_schedule(calendar):
    sched, mon = pr.load_schedules()
    m = mon.reset_index()
    m = m[~((m["use"] == "office") & (m["month"] == 3))]
    with pytest.raises(InputDataError, match="lacks a multiplier"):
        pr.schedule_shape("office", "dhw", calendar, (sched, m.set_index(["use", "month"])))
    t = sched.reset_index()
    t.loc[t["use"] == "office", "dhw"] = 0.0
    with pytest.raises(InputDataError, match="sums to 0"):
        pr.schedule_shape("office", "dhw", calendar, pr.load_schedules(t))


def test_ventilation_needs_occupant_density(calendar):
    params = pd.DataFrame({"occupant_area_m2_per_person": [0.0]}, index=pd.Index(["office"], name="use"))
    with pytest.raises(InputDataError, match="occupant_area_m2_per_person"):
        pr.ventilation_shape("office", calendar, params=params)


def test_profile_tables_name_their_sources():
    sched, mon = pr.load_schedules()
    assert sched["source"].str.contains("SIA 2024").all()
    assert mon["source"].str.contains("SIA 2024").all()


def test_cop_curve_and_heat_pump_electricity():
    cop = pr.cop_curve([-20, -7, 0, 7, 30], [-7, 7], [2.0, 4.0])
    np.testing.assert_allclose(cop, [2.0, 2.0, 3.0, 4.0, 4.0])  # linear, flat beyond ends
    heat = np.array([[6.0, 3.0, 4.0]])
    c = np.array([2.0, 3.0, 4.0])
    np.testing.assert_allclose(pr.heat_pump_electricity(heat, c), [[3.0, 1.0, 1.0]])
    # scaled to the annual engine's heat/SCOP = 13/2.6 = 5 kWh: shape 3:1:1 kept
    np.testing.assert_allclose(pr.heat_pump_electricity(heat, c, [5.0]), [[3.0, 1.0, 1.0]])
    np.testing.assert_allclose(pr.heat_pump_electricity(heat, c, [10.0]), [[6.0, 2.0, 2.0]])


@pytest.mark.parametrize("t,c,match", [
    ([0], [3], "at least two"),
    ([5, 0], [3, 3], "increase strictly"),
    ([0, 5], [3, 0], "COP must be a number > 0"),
])
def test_cop_curve_errors(t, c, match):
    with pytest.raises(ConfigError, match=match):
        pr.cop_curve([0.0], t, c)


def test_pv_shape_follows_the_sun(year_index, temp_air):
    import pvlib

    loc = pvlib.location.Location(47.0, 8.0)
    sun = year_index - pd.Timedelta(minutes=30)  # rows labelled at the end of their hour
    cs = loc.get_clearsky(sun)
    w = pd.DataFrame({"ghi": cs["ghi"].to_numpy(), "dni": cs["dni"].to_numpy(), "dhi": cs["dhi"].to_numpy(),
                      "temp_air": temp_air, "wind_speed": 1.0}, index=year_index)
    s = pr.pv_shape(w, 47.0, 8.0, sun_times=sun)
    assert s.sum() == pytest.approx(1.0)
    assert s[0:5].sum() == 0.0  # night (UTC ~ local at 8°E)
    jun = s[(year_index.month == 6)].sum()
    dec = s[(year_index.month == 12)].sum()
    assert jun > 1.5 * dec
    w2 = w.copy()
    w2.iloc[3, 0] = np.nan
    with pytest.raises(InputDataError, match="'ghi' has 1 missing"):
        pr.pv_shape(w2, 47.0, 8.0)
    with pytest.raises(InputDataError, match="lacks column 'dni'"):
        pr.pv_shape(w.drop(columns=["dni"]), 47.0, 8.0)


def test_pv_shape_is_computed_at_the_weather_years_sun_instants(year_index, temp_air):
    """EPW rows read by pvlib are labelled at the start of their hour (hour 1 is 00:00), so the
    sun stands at index + 30 min (``Weather.sun_times``). A clear-sky year built at those instants
    peaks, on a south plane, in the hour that holds solar noon: at 8° E, 11:28 UTC on 1 June
    (solar noon = 12:00 − 8°/15° h − equation of time, +2 min), the hour labelled 11:00."""
    import pvlib

    from pedgis.io.weather import Weather

    loc = pvlib.location.Location(47.0, 8.0)
    weather = Weather(data=pd.DataFrame(index=year_index), latitude=47.0, longitude=8.0, altitude=0.0,
                      name="clear sky", source="test", time_offset_min=30.0)
    cs = loc.get_clearsky(weather.sun_times)
    w = pd.DataFrame({"ghi": cs["ghi"].to_numpy(), "dni": cs["dni"].to_numpy(), "dhi": cs["dhi"].to_numpy(),
                      "temp_air": temp_air, "wind_speed": 1.0}, index=year_index)
    s = pr.pv_shape(w, 47.0, 8.0, sun_times=weather.sun_times, sun_position=weather.sun_position)
    june_1 = (year_index.month == 6) & (year_index.day == 1)
    assert year_index[june_1][np.argmax(s[june_1])].hour == 11
    # the hours around noon mirror each other (10 h and 12 h hold 10:30 and 12:30, ±1 h of 11:28)
    day = s[june_1]
    assert day[10] == pytest.approx(day[12], rel=0.05)
    # the same as without the precomputed sun position
    np.testing.assert_array_equal(s, pr.pv_shape(w, 47.0, 8.0, sun_times=weather.sun_times))
    # the sun an hour early (the labels read as hour ends) moves the peak off the sun's hour
    early = pr.pv_shape(w, 47.0, 8.0, sun_times=year_index - pd.Timedelta(minutes=30))
    assert abs(early[june_1][10] - early[june_1][12]) > 3 * abs(day[10] - day[12])
