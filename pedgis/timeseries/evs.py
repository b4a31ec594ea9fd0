"""Electric-vehicle charging: annual energy and hourly charging profiles.

EV charging is an optional element of the paper's Figure 3 checklist ("mobility"); when chosen
it is added to the electricity use and reported separately (``ev_kwh``).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .profiles import Calendar

#: Arrival windows [h, h) of uncontrolled charging: at home after work, at the workplace.
ARRIVAL_WINDOWS = {"home": (17, 22), "work": (8, 10)}
CHARGING_MODES = ("home", "work", "flat", "custom")


def ev_annual_kwh(vehicles, km_per_year, kwh_per_km, charging_efficiency: float = 0.9):
    """Annual electricity drawn from the grid connection for EV charging [kWh a⁻¹].

    Parameters
    ----------
    vehicles : float or array
        Number of vehicles charged in the district (or per building).
    km_per_year : float
        Distance driven per vehicle [km a⁻¹].
    kwh_per_km : float
        Consumption at the battery [kWh km⁻¹] (e.g. 0.15-0.20 for a compact car, WLTP).
    charging_efficiency : float
        Grid-to-battery efficiency of the charger (AC charging ≈ 0.85-0.95).

    Returns
    -------
    float or ndarray
        E_EV = vehicles · km · kWh/km / η_charge.
    """
    for key, v in (("ev.km_per_year", km_per_year), ("ev.kwh_per_km", kwh_per_km)):
        if not np.all(np.isfinite(v)) or np.any(np.asarray(v) < 0):
            raise ConfigError(f"must be a number ≥ 0, got {v!r}", key=key)
    if np.any(np.asarray(vehicles) < 0) or not np.all(np.isfinite(vehicles)):
        raise ConfigError(f"must be a number ≥ 0, got {vehicles!r}", key="ev.vehicles")
    if not (0.0 < charging_efficiency <= 1.0):
        raise ConfigError(f"must be in (0, 1], got {charging_efficiency!r}", key="ev.charging_efficiency")
    return np.asarray(vehicles, dtype=float) * km_per_year * kwh_per_km / charging_efficiency


def daily_charging_profile(mode: str = "home", daily_kwh_per_vehicle: float = 7.0,
                           charger_kw: float = 11.0, custom=None) -> np.ndarray:
    """Share of a day's charging energy in each hour (24 values summing to 1).

    Parameters
    ----------
    mode : {'home', 'work', 'flat', 'custom'}
        ``home``/``work``: uncontrolled charging at full power from plug-in until the day's
        energy is in, with plug-in times spread evenly over the arrival window (home 17-22 h,
        work 8-10 h); ``flat``: constant; ``custom``: the 24 values of ``custom``.
    daily_kwh_per_vehicle : float
        Energy charged per vehicle and day [kWh].
    charger_kw : float
        Charging power [kW].
    custom : sequence of 24 float, optional

    Returns
    -------
    ndarray, shape (24,)

    Notes
    -----
    A vehicle plugged in at hour a charges P for ⌊E/P⌋ hours and the remainder in the next hour;
    charging past midnight wraps to the early hours (the profile repeats every day). The fleet
    profile is the mean over arrival hours in the window.
    """
    if mode == "flat":
        return np.full(24, 1.0 / 24)
    if mode == "custom":
        if custom is None or len(custom) != 24:
            raise ConfigError("give 24 hourly values for a custom charging profile", key="ev.profile")
        c = np.asarray(custom, dtype=float)
        if np.any(~np.isfinite(c)) or np.any(c < 0) or c.sum() <= 0:
            raise ConfigError("the 24 values must be ≥ 0 and not all 0", key="ev.profile")
        return c / c.sum()
    if mode not in ARRIVAL_WINDOWS:
        raise ConfigError(f"unknown charging mode {mode!r}; use one of {CHARGING_MODES}", key="ev.charging")
    if not (charger_kw > 0):
        raise ConfigError(f"must be > 0, got {charger_kw!r}", key="ev.charger_kw")
    if daily_kwh_per_vehicle <= 0:
        return np.full(24, 1.0 / 24)
    if daily_kwh_per_vehicle > 24 * charger_kw:
        raise ConfigError(
            f"a vehicle needs {daily_kwh_per_vehicle:.1f} kWh a day, more than a {charger_kw} kW charger gives in 24 h",
            key="ev.charger_kw")
    start, stop = ARRIVAL_WINDOWS[mode]
    prof = np.zeros(24)
    for a in range(start, stop):
        e = daily_kwh_per_vehicle
        h = a
        while e > 1e-12:
            step = min(charger_kw, e)
            prof[h % 24] += step
            e -= step
            h += 1
    return prof / prof.sum()


def ev_hourly_shape(calendar: Calendar, daily_profile: np.ndarray) -> np.ndarray:
    """Annual hourly shape (sum 1) repeating the daily charging profile every day."""
    s = np.asarray(daily_profile, dtype=float)[calendar.hour]
    return s / s.sum()
