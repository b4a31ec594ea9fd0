"""UMEP / SUEWS meteorological forcing files as a weather year.

The format (SUEWS manual, "Meteorological Forcing Data"; UMEP's MetPreprocessor writes it): a
whitespace-separated text file, a header line of column names (matched case-insensitively,
any order), the canonical columns being ::

    iy id it imin qn qh qe qs qf U RH Tair pres rain kdown snow ldown fcld wuh xsmd lai kdiff kdir wdir

``iy id it imin`` (year, day of year, hour, minute) label the **end** of each interval (hourly data
at 13:00 cover 12:00–13:00; the last row of a year is ``iy+1 1 0 0``); values are means over the
interval; ``-999`` marks a missing value. pedgis needs ``kdown`` (global horizontal irradiance,
W m⁻²), ``Tair`` (°C) and ``U`` (wind speed, m s⁻¹); ``kdiff`` (diffuse horizontal) and ``kdir``
(direct beam on a plane normal to the sun, as UMEP's SEBE and SOLWEIG use it) when given. The
file has no coordinates: the caller gives the location (pedgis takes the district's centroid)
and the time zone is the longitude's (``round(lon / 15)`` h); the irradiance itself then tells
whether the sun is where the timestamps put it (:func:`pedgis.io.weather._check_timing`).

Sub-hourly files (5-, 10-, 15-, 30-minute) are averaged to hours; an hour with a missing sample
is missing (and an error, as for an EPW). Where ``kdiff``/``kdir`` are missing, the global
irradiance is split into beam and diffuse by the Erbs et al. (1982) model
(:func:`pvlib.irradiance.erbs`), and a warning says so.
"""

from __future__ import annotations

import datetime as dt
import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, InputDataError

COLUMNS = ("iy", "id", "it", "imin", "qn", "qh", "qe", "qs", "qf", "u", "rh", "tair", "pres", "rain", "kdown",
           "snow", "ldown", "fcld", "wuh", "xsmd", "lai", "kdiff", "kdir", "wdir")
REQUIRED = ("iy", "id", "it", "imin", "kdown", "tair", "u")
MISSING = -999.0
#: Valid input ranges of the SUEWS manual (df_forcing) for the columns pedgis uses; kdown below
#: 0 is clipped to 0 with a warning, as for every weather format.
RANGES = {"kdown": (-50.0, 1400.0), "tair": (-60.0, 90.0), "u": (0.0, 60.0), "kdiff": (0.0, 1000.0),
          "kdir": (0.0, 1400.0), "pres": (68.0, 130.0)}
STEPS_MIN = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
#: The rows stand for the hour before their (end) label: pedgis labels them at the hour's start,
#: so the sun is computed at the middle of the hour, +30 min after the label (as for an EPW).
OFFSET_MIN = 30.0


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8", errors="replace") if path.suffix == ".gz" else \
        open(path, encoding="utf-8", errors="replace")


def is_umep_file(path) -> bool:
    """True when the file's header line starts with SUEWS' time columns (``iy id it imin``)."""
    try:
        with _open(Path(path)) as fh:
            for line in fh:
                if line.strip():
                    return [t.lower() for t in line.split()[:4]] == ["iy", "id", "it", "imin"]
    except (OSError, EOFError, gzip.BadGzipFile):
        return False
    return False


def read_umep_raw(path: Path, latitude: float, longitude: float) -> tuple[pd.DataFrame, dict, float]:
    """Hourly ``ghi``, ``dni``, ``dhi``, ``temp_air``, ``wind_speed`` from a forcing file, the station
    fields for :func:`pedgis.io.weather._build` (the given location; the altitude from the mean
    pressure, :func:`pvlib.atmosphere.pres2alt`) and the sun offset [min] of the rows.

    Raises
    ------
    InputDataError
        columns missing, text where numbers belong, timestamps that are not a regular series,
        incomplete hours, values outside the SUEWS manual's valid ranges
    """
    import pvlib

    try:
        with _open(path) as fh:
            raw = pd.read_csv(fh, sep=r"\s+", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputDataError(f"{path}: not a readable UMEP/SUEWS forcing file ({exc}); it must be whitespace-separated "
                             "columns under one header line (iy id it imin ... kdown ...).") from exc
    raw.columns = [str(c).lower() for c in raw.columns]
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputDataError(f"{path}: UMEP/SUEWS forcing columns missing: {', '.join(missing)} (found: "
                             f"{', '.join(raw.columns)}). pedgis needs the time columns iy id it imin, kdown, Tair and U.")
    if not len(raw):
        raise InputDataError(f"{path}: no data rows under the header; give a year of hourly (or finer) forcing data.")
    data = pd.DataFrame(index=raw.index)
    for col in raw.columns:
        num = pd.to_numeric(raw[col], errors="coerce")
        bad = num.isna() & (raw[col].str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputDataError(f"{path}, line {i + 2}: column '{col}' holds '{raw[col].iloc[i]}', not a number; "
                                 "write numbers only (-999 where a value is missing).")
        data[col] = num.where(num > MISSING + 0.5)  # -999 (and any lower sentinel) is missing, never a value
    for col in ("iy", "id", "it", "imin"):
        if data[col].isna().any() or (data[col] % 1 != 0).any():
            i = int(np.flatnonzero((data[col].isna() | (data[col] % 1 != 0)).to_numpy())[0])
            raise InputDataError(f"{path}, line {i + 2}: time column '{col}' must be a whole number, got "
                                 f"'{raw[col].iloc[i]}'.")
    end = _timestamps(path, data)
    step = _step_minutes(path, end)
    for col, (lo, hi) in RANGES.items():
        if col not in data:
            continue
        out = data[col].notna() & ((data[col] < lo) | (data[col] > hi))
        if out.any():
            i = int(np.flatnonzero(out.to_numpy())[0])
            raise InputDataError(f"{path}: {int(out.sum())} value(s) of '{col}' outside its valid range {lo:g} to {hi:g} "
                                 f"(SUEWS manual), the first {data[col].iloc[i]:g} at {end[i]:%Y-%m-%d %H:%M} (line {i + 2}). "
                                 "Check the column's unit and fix or gap-fill the values.")
    # hours: an interval (end - step, end] lies in the hour starting at floor(end - step)
    start = (end - pd.Timedelta(minutes=step)).floor("h")
    keep = [c for c in ("kdown", "tair", "u", "kdiff", "kdir", "pres") if c in data]
    grouped = data[keep].set_axis(start).groupby(level=0)
    hourly = grouped.mean()  # a missing sample leaves the hour's mean to the others: checked just below
    counts = grouped.count()
    n_per_hour = 60 // step
    size = grouped.size()
    if (size != n_per_hour).any():
        first = size.index[(size != n_per_hour).to_numpy()][0]
        raise InputDataError(f"{path}: the hour from {first:%Y-%m-%d %H:%M} has {int(size[first])} of its "
                             f"{n_per_hour} {step}-minute rows; give whole hours (the file must start and end on "
                             "the hour and have no gaps).")
    for col in keep:  # an hour with a missing sample is missing, like an EPW's missing value
        hourly.loc[counts[col] < n_per_hour, col] = np.nan
    tz = dt.timezone(dt.timedelta(hours=int(round(longitude / 15.0))))
    hourly.index = pd.DatetimeIndex(hourly.index).tz_localize(tz)
    ghi = hourly["kdown"].clip(lower=0.0)
    out = pd.DataFrame({"ghi": hourly["kdown"], "temp_air": hourly["tair"], "wind_speed": hourly["u"]})
    # beam and diffuse: the file's, else split from the global irradiance (Erbs et al. 1982)
    given = pd.Series(False, index=hourly.index)
    if "kdiff" in hourly and "kdir" in hourly:
        given = hourly["kdiff"].notna() & hourly["kdir"].notna()
        out["dni"] = hourly["kdir"]
        out["dhi"] = hourly["kdiff"]
    else:
        out["dni"] = np.nan
        out["dhi"] = np.nan
    split = ~given & ghi.notna()
    if split.any():
        times = hourly.index + pd.Timedelta(minutes=OFFSET_MIN)
        zen = pvlib.solarposition.get_solarposition(times[split.to_numpy()], latitude, longitude)["zenith"]
        parts = pvlib.irradiance.erbs(ghi[split].to_numpy(), zen.to_numpy(), times[split.to_numpy()])
        out.loc[split, "dni"] = np.asarray(parts["dni"])
        out.loc[split, "dhi"] = np.asarray(parts["dhi"])
        share = "every hour" if not given.any() else f"{int(split.sum())} hours"
        warnings.warn(f"{path}: kdiff/kdir missing (-999) in {share}; direct normal and diffuse irradiance are split "
                      "from kdown by the Erbs et al. (1982) model (pvlib.irradiance.erbs, sun at the middle of each "
                      "hour). Give kdiff and kdir (measured, or from UMEP's MetPreprocessor) to use your own.",
                      DataQualityWarning, stacklevel=3)
    altitude = float("nan")
    if "pres" in hourly and hourly["pres"].notna().any():
        altitude = float(pvlib.atmosphere.pres2alt(hourly["pres"].mean() * 1000.0))  # kPa → Pa
    how = ("kdiff/kdir as given" if not split.any() else "DNI/DHI split from kdown by Erbs et al. (1982)"
           if not given.any() else f"kdiff/kdir as given, {int(split.sum())} hours split by Erbs et al. (1982)")
    meta = {"latitude": latitude, "longitude": longitude, "altitude": altitude,
            "city": f"UMEP/SUEWS forcing, {step}-minute" + (" averaged to hours" if step < 60 else "")
                    + f", placed at {latitude:.4f}° {longitude:.4f}° (the district's centroid), {how}"
                    + (f", altitude {altitude:.0f} m from the mean pressure" if np.isfinite(altitude) else "")}
    return out[["ghi", "dni", "dhi", "temp_air", "wind_speed"]], meta, OFFSET_MIN


def _timestamps(path: Path, data: pd.DataFrame) -> pd.DatetimeIndex:
    iy, doy, hour, minute = (data[c].astype(int).to_numpy() for c in ("iy", "id", "it", "imin"))
    bad = (doy < 1) | (doy > 366) | (hour < 0) | (hour > 23) | (minute < 0) | (minute > 59)
    leap = (iy % 4 == 0) & ((iy % 100 != 0) | (iy % 400 == 0))
    bad |= (doy == 366) & ~leap
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{path}, line {i + 2}: no such time: year {iy[i]}, day {doy[i]}, hour {hour[i]}, minute "
                             f"{minute[i]} (day 1-365, 366 in leap years; hour 0-23; minute 0-59).")
    base = pd.to_datetime(pd.Series(iy).astype(str) + "-01-01")
    return pd.DatetimeIndex(base + pd.to_timedelta(doy - 1, "D") + pd.to_timedelta(hour, "h") + pd.to_timedelta(minute, "min"))


def _step_minutes(path: Path, end: pd.DatetimeIndex) -> int:
    """The interval [min] of a regular series; a gap, a repeat or a change of step is an error."""
    if len(end) < 2:
        return 60
    d = np.diff(end.to_numpy()) / np.timedelta64(1, "m")
    step = float(np.median(d))
    if step not in STEPS_MIN:
        raise InputDataError(f"{path}: rows {step:g} minutes apart; UMEP/SUEWS forcing must be hourly or a whole "
                             f"fraction of an hour ({', '.join(map(str, STEPS_MIN))} minutes).")
    off = np.flatnonzero(d != step)
    if len(off):
        i = int(off[0])
        what = "repeats" if d[i] == 0 else "goes back" if d[i] < 0 else f"jumps {d[i]:g} minutes"
        raise InputDataError(f"{path}, line {i + 3}: the time {what} after {end[i]:%Y-%m-%d %H:%M} (expected one row "
                             f"every {step:g} minutes); fill the gap (e.g. with UMEP's MetPreprocessor) or remove the repeat.")
    return int(step)
