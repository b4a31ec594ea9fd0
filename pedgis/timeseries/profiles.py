"""Hourly profiles that spread the engine's annual energies over the weather year.

Every profile is a *shape*: a non-negative series over the 8,760 hours that sums to 1, so that
``annual_kwh * shape`` has exactly the annual engine's total. Shapes come from

* space heating / cooling: heating and cooling degree-hours of the weather file's ``temp_air``
  (Eurostat's degree-day rule applied hour by hour);
* DHW, lighting, appliances: the SIA 2024:2015 hourly schedules per room type (weekday, Saturday,
  Sunday) and monthly presence, bundled in ``pedgis/data/profiles_schedules.csv`` and
  ``profiles_monthly.csv`` with a ``source`` column;
* ventilation: the EN 16798-1:2019 (Annex B) design airflow ``q = n·q_p + A·q_B`` following the
  occupancy schedule while the ventilation system runs;
* PV: plane-of-array irradiance of the weather year (pvlib) with the PVWatts temperature
  correction, until per-building hourly PV comes from the roof-raster model.

Heat pumps: the COP can vary with outdoor temperature when the scenario gives a curve.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataQualityWarning, InputDataError
from ..units import HOURS_PER_YEAR

HOURS = int(HOURS_PER_YEAR)
DAY_TYPES = ("weekday", "saturday", "sunday")
SCHEDULE_END_USES = ("dhw", "lighting", "appliances", "occupancy")
END_USES = ("sh", "sc", "dhw", "lighting", "ventilation", "appliances")

#: Eurostat degree-day rule (nrg_chdd): heating counts (18 °C − T) when T ≤ 15 °C,
#: cooling counts (T − 21 °C) when T ≥ 24 °C.
HEATING_BASE_C = 18.0
HEATING_THRESHOLD_C = 15.0
COOLING_BASE_C = 21.0
COOLING_THRESHOLD_C = 24.0

#: EN 16798-1:2019 Table B.6/B.7, category II: 7 l/s per person, 0.7 l/(s·m²) low-polluting building.
VENT_PER_PERSON_L_S = 7.0
VENT_PER_AREA_L_S_M2 = 0.7


@dataclass(frozen=True)
class Calendar:
    """Month, day type and hour of day of each hour of a (non-leap) weather year.

    Attributes
    ----------
    month : ndarray of int, shape (8760,)
        1..12.
    day_type : ndarray of int, shape (8760,)
        0 weekday, 1 Saturday, 2 Sunday (and public holidays, when given).
    hour : ndarray of int, shape (8760,)
        0..23, the hour starting at this time stamp.
    """

    month: np.ndarray
    day_type: np.ndarray
    hour: np.ndarray

    @property
    def n_hours(self) -> int:
        return int(self.month.size)


def hourly_calendar(index, reference_year: int = 2018, holidays=()) -> Calendar:
    """The calendar of an hourly weather index.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Hourly time stamps of the weather year (8760 rows). A typical meteorological year mixes
        months from different years, so week days are taken from ``reference_year`` at the same
        month, day and hour, never from the file's own years.
    reference_year : int
        A non-leap year whose week days are used (2018 starts on a Monday).
    holidays : iterable of (month, day)
        Days treated as Sundays.

    Returns
    -------
    Calendar
    """
    index = pd.DatetimeIndex(index)
    if len(index) != HOURS:
        raise InputDataError(
            f"the weather year has {len(index)} hourly rows; the time-resolved balance needs "
            f"{HOURS} (one non-leap year). Remove 29 February or use a TMY/EPW file."
        )
    if pd.Timestamp(year=reference_year, month=3, day=1).is_leap_year:
        raise ConfigError(f"{reference_year} is a leap year; give a non-leap year", key="scenario.calendar_year")
    month = np.asarray(index.month, dtype=np.int64)
    day = np.asarray(index.day, dtype=np.int64)
    hour = np.asarray(index.hour, dtype=np.int64)
    ref = pd.to_datetime({"year": np.full(HOURS, reference_year), "month": month, "day": day})
    dow = np.asarray(ref.dt.day_of_week, dtype=np.int64)  # Monday 0 .. Sunday 6
    day_type = np.where(dow == 5, 1, np.where(dow == 6, 2, 0))
    for m, d in holidays:
        day_type[(month == m) & (day == d)] = 2
    return Calendar(month=month, day_type=day_type, hour=hour)


def _data_path(name: str):
    return resources.files("pedgis.data").joinpath(name)


@lru_cache(maxsize=4)
def _read_table(name: str) -> pd.DataFrame:
    with resources.as_file(_data_path(name)) as p:
        return pd.read_csv(p)


def load_schedules(table: pd.DataFrame | None = None, monthly: pd.DataFrame | None = None,
                   name: str = "profiles_schedules.csv"):
    """Read and check the hourly schedule and monthly multiplier tables.

    Parameters
    ----------
    table, monthly : DataFrame, optional
        User tables with the bundled tables' columns; default: the bundled SIA 2024 tables.
    name : str
        Table name used in error messages.

    Returns
    -------
    (DataFrame, DataFrame)
        Schedules indexed by (use, day_type, hour) and monthly multipliers indexed by (use, month).

    Raises
    ------
    InputDataError
        A column is missing, a value is negative or not a number, or a (use, day type, hour)
        is missing.
    """
    sched = _read_table("profiles_schedules.csv").copy() if table is None else table.copy()
    mon = _read_table("profiles_monthly.csv").copy() if monthly is None else monthly.copy()
    need = {"use", "day_type", "hour", *SCHEDULE_END_USES, "heating_mode", "source"}
    missing = need - set(sched.columns)
    if missing:
        raise InputDataError(f"{name}: missing column(s) {sorted(missing)}; the schedule table needs {sorted(need)}.")
    for col in SCHEDULE_END_USES:
        vals = pd.to_numeric(sched[col], errors="coerce")
        bad = vals.isna() | (vals < 0)
        if bad.any():
            row = sched.index[bad.to_numpy()][0]
            raise InputDataError(
                f"{name}: column '{col}' row {row} ({sched.loc[row, 'use']}, {sched.loc[row, 'day_type']}, "
                f"hour {sched.loc[row, 'hour']}) is {sched.loc[row, col]!r}; give a number ≥ 0."
            )
        sched[col] = vals
    for use, grp in sched.groupby("use"):
        keys = set(zip(grp["day_type"], grp["hour"].astype(int), strict=True))
        want = {(d, h) for d in DAY_TYPES for h in range(24)}
        if keys != want:
            gap = sorted(want - keys)[:3]
            raise InputDataError(
                f"{name}: use '{use}' lacks rows for {gap}...; give 24 hours (0-23) for each of {DAY_TYPES}."
            )
    if not {"use", "month", "multiplier"} <= set(mon.columns):
        raise InputDataError("profiles_monthly.csv: needs columns use, month, multiplier, source.")
    mon["multiplier"] = pd.to_numeric(mon["multiplier"], errors="coerce")
    if (mon["multiplier"].isna() | (mon["multiplier"] < 0)).any():
        raise InputDataError("profiles_monthly.csv: every multiplier must be a number ≥ 0.")
    return (sched.set_index(["use", "day_type", "hour"]).sort_index(),
            mon.set_index(["use", "month"]).sort_index())


def _normalise(x: np.ndarray, what: str) -> np.ndarray:
    s = float(np.sum(x))
    if not np.isfinite(s) or s <= 0:
        raise InputDataError(f"{what}: the profile sums to {s}; it cannot carry an annual energy.")
    return x / s


def heating_degree_hours(temp_air, base_c: float = HEATING_BASE_C,
                         threshold_c: float = HEATING_THRESHOLD_C) -> np.ndarray:
    """Heating degree-hours per hour [K h].

    Parameters
    ----------
    temp_air : array_like
        Outdoor air temperature [°C], hourly.
    base_c, threshold_c : float
        Base temperature and heating threshold [°C].

    Returns
    -------
    ndarray
        ``base_c − T`` where ``T ≤ threshold_c``, else 0.

    Notes
    -----
    Eurostat's heating degree-day rule (indicator nrg_chdd, JRC MARS methodology) applied to
    hourly temperatures: HDH = 18 °C − T if T ≤ 15 °C, else 0. Missing temperatures raise, they
    are never read as 0.
    """
    t = np.asarray(temp_air, dtype=float)
    if np.isnan(t).any():
        raise InputDataError(f"weather temp_air: {int(np.isnan(t).sum())} missing hour(s); fill them before the hourly balance.")
    return np.where(t <= threshold_c, base_c - t, 0.0)


def cooling_degree_hours(temp_air, base_c: float = COOLING_BASE_C,
                         threshold_c: float = COOLING_THRESHOLD_C) -> np.ndarray:
    """Cooling degree-hours per hour [K h].

    Notes
    -----
    Eurostat's cooling degree-day rule (nrg_chdd): CDH = T − 21 °C if T ≥ 24 °C, else 0.
    """
    t = np.asarray(temp_air, dtype=float)
    if np.isnan(t).any():
        raise InputDataError(f"weather temp_air: {int(np.isnan(t).sum())} missing hour(s); fill them before the hourly balance.")
    return np.where(t >= threshold_c, t - base_c, 0.0)


@dataclass(frozen=True)
class UseSchedule:
    """One use type's rows of the schedule tables as arrays (:func:`use_schedule`): per schedule
    column its (day type, hour) values, the 12 monthly multipliers, and whether the fans run
    (heating mode not ``off``) per (day type, hour)."""

    daily: dict
    monthly: np.ndarray
    fans_on: np.ndarray


def use_schedule(use: str, schedules=None) -> UseSchedule:
    """A use type's schedules, read from the tables of :func:`load_schedules` once for all its
    end uses (a pandas lookup per column and day type cost 0.05 s of the sample's hourly run)."""
    sched, mon = schedules or load_schedules()
    tab = sched.loc[use]
    days = [tab.loc[d].sort_index() for d in DAY_TYPES]
    monthly = mon.loc[use, "multiplier"].reindex(range(1, 13)).to_numpy(dtype=float)
    if np.isnan(monthly).any():
        raise InputDataError(f"profiles_monthly.csv: use '{use}' lacks a multiplier for some month; give months 1-12.")
    return UseSchedule(
        daily={c: np.stack([day[c].to_numpy(dtype=float) for day in days]) for c in SCHEDULE_END_USES},
        monthly=monthly,
        fans_on=np.stack([(day["heating_mode"].astype(str).str.lower() != "off").to_numpy(dtype=float)
                          for day in days]))


def schedule_shape(use: str, column: str, calendar: Calendar, schedules=None,
                   table: UseSchedule | None = None) -> np.ndarray:
    """Hourly shape (sum 1) of one schedule column for a use type.

    Parameters
    ----------
    use : str
        pedgis use type (a ``use`` in the schedule table).
    column : {'dhw', 'lighting', 'appliances', 'occupancy'}
    calendar : Calendar
    schedules : tuple, optional
        Output of :func:`load_schedules`.
    table : UseSchedule, optional
        The use's schedules already read (:func:`use_schedule`).

    Returns
    -------
    ndarray, shape (8760,)

    Notes
    -----
    value(h) = schedule[use, day_type(h), hour(h)] × monthly[use, month(h)], normalised to sum
    1 (SIA 2024:2015 schedules, see the table's ``source`` column).
    """
    raw = _raw_schedule(table or use_schedule(use, schedules), column, calendar)
    return _normalise(raw, f"schedule '{column}' of use '{use}'")


def _raw_schedule(table: UseSchedule, column: str, calendar: Calendar) -> np.ndarray:
    return table.daily[column][calendar.day_type, calendar.hour] * table.monthly[calendar.month - 1]


def ventilation_shape(use: str, calendar: Calendar, schedules=None, params=None,
                      table: UseSchedule | None = None) -> np.ndarray:
    """Hourly shape (sum 1) of ventilation fan electricity.

    Notes
    -----
    EN 16798-1:2019, Annex B: design airflow q = n·q_p + A·q_B, with q_p = 7 l/(s·person) and
    q_B = 0.7 l/(s·m²) (category II, low-polluting building), n per m² = 1 / occupant area
    (SIA 2024:2015), n following the occupancy schedule. The fans run while the room type's
    heating mode is ``setpoint`` or ``setback`` and stop when it is ``off``. Fan power is taken
    proportional to airflow.
    """
    table = table or use_schedule(use, schedules)
    occ = _raw_schedule(table, "occupancy", calendar)
    run = table.fans_on[calendar.day_type, calendar.hour]
    p = params if params is not None else _read_table("profiles_use_params.csv").set_index("use")
    area_per_person = float(p.loc[use, "occupant_area_m2_per_person"]) if use in p.index else np.nan
    if not np.isfinite(area_per_person) or area_per_person <= 0:
        raise InputDataError(
            f"profiles_use_params.csv: use '{use}' needs occupant_area_m2_per_person > 0 for the ventilation profile."
        )
    # presence relative to the monthly multiplier's scale: occupancy already includes it
    q = run * (VENT_PER_AREA_L_S_M2 + VENT_PER_PERSON_L_S / area_per_person * occ)
    return _normalise(q, f"ventilation of use '{use}'")


@dataclass
class ProfileShapes:
    """Hourly shapes per use type.

    Attributes
    ----------
    uses : list of str
        Row order of every array.
    shapes : dict
        end use → ndarray (n_uses, 8760), rows summing to 1 (``sh``/``sc`` rows are identical:
        degree-hours do not depend on use).
    calendar : Calendar
    notes : list of str
        What fell back to a flat profile and why.
    """

    uses: list
    shapes: dict
    calendar: Calendar
    notes: list

    def use_index(self, uses) -> np.ndarray:
        pos = {u: i for i, u in enumerate(self.uses)}
        return np.array([pos[u] for u in uses], dtype=np.int64)


def use_shapes(uses, calendar: Calendar, temp_air, schedules=None, *,
               heating_base_c=HEATING_BASE_C, heating_threshold_c=HEATING_THRESHOLD_C,
               cooling_base_c=COOLING_BASE_C, cooling_threshold_c=COOLING_THRESHOLD_C,
               aliases: dict | None = None) -> ProfileShapes:
    """All end-use shapes for the given use types.

    Parameters
    ----------
    uses : iterable of str
        Use types present in the district.
    calendar : Calendar
    temp_air : array_like
        Hourly outdoor temperature [°C].
    schedules : tuple, optional
        Output of :func:`load_schedules`.
    aliases : dict, optional
        use type → use type whose schedules it takes (a scenario-defined use type ``based_on``
        a known one).

    Returns
    -------
    ProfileShapes

    Warns
    -----
    DataQualityWarning
        A use type has no schedule (a flat profile is used and noted), or the weather year has
        no heating/cooling degree-hours (a flat profile is used for that end use).
    """
    schedules = schedules or load_schedules()
    sched, _ = schedules
    known = set(sched.index.get_level_values("use"))
    uses = sorted({str(u) for u in uses})
    notes: list[str] = []
    flat = np.full(calendar.n_hours, 1.0 / calendar.n_hours)
    hdh = heating_degree_hours(temp_air, heating_base_c, heating_threshold_c)
    cdh = cooling_degree_hours(temp_air, cooling_base_c, cooling_threshold_c)
    sh = hdh / hdh.sum() if hdh.sum() > 0 else None
    sc = cdh / cdh.sum() if cdh.sum() > 0 else None
    for name, arr, rule in (("space heating", sh, f"T ≤ {heating_threshold_c} °C"),
                            ("space cooling", sc, f"T ≥ {cooling_threshold_c} °C")):
        if arr is None:
            msg = (f"the weather year has no hour with {rule}: the {name} profile is flat over the year. "
                   f"Check the weather file, or change the degree-hour thresholds.")
            warnings.warn(msg, DataQualityWarning, stacklevel=2)
            notes.append(msg)
    shapes = {k: np.empty((len(uses), calendar.n_hours)) for k in END_USES}
    params = _read_table("profiles_use_params.csv").set_index("use")
    aliases = dict(aliases or {})
    for i, use in enumerate(uses):
        shapes["sh"][i] = flat if sh is None else sh
        shapes["sc"][i] = flat if sc is None else sc
        seen = {use}
        while use not in known and use in aliases and aliases[use] not in seen:
            use = aliases[use]
            seen.add(use)
        if use not in known:
            msg = (f"use type '{use}' has no hourly schedule in profiles_schedules.csv: its DHW, lighting, "
                   f"ventilation and appliance profiles are flat. Map it to a known use "
                   f"({', '.join(sorted(known))}) or add its rows to the schedule table.")
            warnings.warn(msg, DataQualityWarning, stacklevel=2)
            notes.append(msg)
            for k in ("dhw", "lighting", "ventilation", "appliances"):
                shapes[k][i] = flat
            continue
        table = use_schedule(use, schedules)
        for k in ("dhw", "lighting", "appliances"):
            shapes[k][i] = schedule_shape(use, k, calendar, table=table)
        shapes["ventilation"][i] = ventilation_shape(use, calendar, params=params, table=table)
    return ProfileShapes(uses=uses, shapes=shapes, calendar=calendar, notes=notes)


def spread(annual_kwh, shape_rows: np.ndarray, use_idx: np.ndarray | None = None) -> np.ndarray:
    """Hourly energy per building: ``annual × shape`` [kWh per hour].

    Parameters
    ----------
    annual_kwh : array_like, shape (n,)
        Annual energy per building [kWh a⁻¹]; NaN raises (never read as 0).
    shape_rows : ndarray, shape (n_uses, 8760) or (8760,)
    use_idx : ndarray of int, shape (n,), optional
        Row of ``shape_rows`` for each building.

    Returns
    -------
    ndarray, shape (n, 8760)
        Sums over hours equal ``annual_kwh`` (to rounding).
    """
    a = np.asarray(annual_kwh, dtype=float)
    if np.isnan(a).any():
        raise InputDataError(f"{int(np.isnan(a).sum())} building(s) have no annual value (NaN) to spread over the hours.")
    rows = shape_rows if shape_rows.ndim == 1 else shape_rows[use_idx]
    return a[:, None] * rows if rows.ndim == 2 else a[:, None] * rows[None, :]


def cop_curve(temp_air, curve_temp_c, curve_cop) -> np.ndarray:
    """Hourly heat-pump COP from a curve of (outdoor temperature, COP) points.

    Parameters
    ----------
    temp_air : array_like
        Outdoor temperature [°C].
    curve_temp_c, curve_cop : sequence of float
        Points of the curve, temperatures strictly increasing, COP > 0 (e.g. from an EN 14511
        / EN 14825 data sheet). Linear between points, constant beyond the ends.

    Returns
    -------
    ndarray
        COP per hour [-].

    Raises
    ------
    ConfigError
        Fewer than two points, unsorted temperatures, or a COP ≤ 0.
    """
    t = np.asarray(curve_temp_c, dtype=float)
    c = np.asarray(curve_cop, dtype=float)
    if t.size < 2 or t.size != c.size:
        raise ConfigError("give at least two (temperature, COP) points of equal length", key="systems.cop_curve")
    if np.any(np.diff(t) <= 0):
        raise ConfigError("temperatures must increase strictly", key="systems.cop_curve.temp_c")
    if np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise ConfigError("every COP must be a number > 0", key="systems.cop_curve.cop")
    return np.interp(np.asarray(temp_air, dtype=float), t, c)


def heat_pump_electricity(heat_kwh, cop, annual_electricity_kwh=None) -> np.ndarray:
    """Hourly heat-pump electricity [kWh] for an hourly heat demand.

    Parameters
    ----------
    heat_kwh : ndarray, shape (n, 8760) or (8760,)
        Heat delivered by the heat pump per hour [kWh].
    cop : ndarray, shape (8760,) or scalar
        Hourly COP [-] (:func:`cop_curve`) or a seasonal value (SCOP).
    annual_electricity_kwh : array_like, shape (n,), optional
        When given (the annual engine's ``heat / SCOP``), the hourly electricity keeps the
        curve's *shape* and is scaled to this total, so the hourly and annual balances agree;
        when omitted the curve's absolute values set the annual electricity.

    Returns
    -------
    ndarray
        Electricity per hour [kWh].

    Notes
    -----
    E_h = Q_h / COP(T_h) (paper Eq. 8 with a time-varying COP). The seasonal performance factor
    implied by the curve is ΣQ / ΣE.
    """
    e = np.asarray(heat_kwh, dtype=float) / cop
    if annual_electricity_kwh is None:
        return e
    target = np.asarray(annual_electricity_kwh, dtype=float)
    tot = e.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(tot > 0, target / tot, 0.0)
    return e * (k[..., None] if e.ndim == 2 else k)


def pv_shape(weather_data: pd.DataFrame, latitude: float, longitude: float, altitude: float = 0.0,
             tilt_deg: float = 30.0, azimuth_deg: float = 180.0,
             gamma_pdc: float = -0.0047, sun_times: pd.DatetimeIndex | None = None,
             sun_position: pd.DataFrame | None = None) -> np.ndarray:
    """Hourly PV output shape (sum 1) of a plane for the weather year.

    Parameters
    ----------
    weather_data : DataFrame
        ``ghi``, ``dni``, ``dhi`` [W m⁻²], ``temp_air`` [°C], ``wind_speed`` [m s⁻¹], tz-aware index.
    latitude, longitude, altitude : float
    tilt_deg, azimuth_deg : float
        Plane orientation (azimuth 180° = south).
    gamma_pdc : float
        Power temperature coefficient [K⁻¹] (PVWatts v5 standard module: −0.47 %/K).
    sun_times : DatetimeIndex, optional
        Where in each row's hour the sun stands (``Weather.sun_times``); default the row
        timestamps.
    sun_position : DataFrame, optional
        pvlib's sun position at ``sun_times`` when the caller has it (``Weather.sun_position``).

    Returns
    -------
    ndarray, shape (8760,)

    Notes
    -----
    Sun positions (pvlib SPA), Hay–Davies transposition, SAPM cell temperature (open rack, glass/
    polymer) and PVWatts DC power (Dobos 2014, NREL/TP-6A20-62641). Used for buildings whose
    hourly PV does not come from the roof-raster model; their annual ``pv_kwh`` is spread on it.
    """
    import pvlib

    w = weather_data
    for c in ("ghi", "dni", "dhi", "temp_air"):
        if c not in w.columns:
            raise InputDataError(f"weather data lacks column '{c}' needed for the hourly PV profile.")
        if w[c].isna().any():
            raise InputDataError(f"weather column '{c}' has {int(w[c].isna().sum())} missing hour(s); fill them first.")
    times = w.index if sun_times is None else sun_times
    sp = (pvlib.solarposition.get_solarposition(times, latitude, longitude, altitude=altitude)
          if sun_position is None else sun_position)
    dni_extra = pvlib.irradiance.get_extra_radiation(times)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg, azimuth_deg, sp["apparent_zenith"].to_numpy(), sp["azimuth"].to_numpy(),
        w["dni"].to_numpy(), w["ghi"].to_numpy(), w["dhi"].to_numpy(),
        dni_extra=np.asarray(dni_extra), model="haydavies")
    g = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float), nan=0.0).clip(min=0.0)
    wind = w["wind_speed"].to_numpy() if "wind_speed" in w else np.ones(len(w))
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    tcell = pvlib.temperature.sapm_cell(g, w["temp_air"].to_numpy(), wind, **params)
    p = pvlib.pvsystem.pvwatts_dc(g, tcell, 1.0, gamma_pdc)
    p = np.clip(np.nan_to_num(np.asarray(p, dtype=float), nan=0.0), 0.0, None)
    return _normalise(p, "PV profile of the weather year")
