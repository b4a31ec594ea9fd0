"""Hourly weather for the solar model and degree-days.

Readers for EPW (EnergyPlus), TMY3 (NREL) and PVGIS TMY (CSV, JSON, EPW), all through
:mod:`pvlib.iotools`, with checks that turn broken files into clear :class:`InputDataError`
messages (wrong length, missing columns, a leap day squeezed into 8760 rows, missing station
fields, gaps) and a PVGIS download (``--weather pvgis``) cached on disk.

Every reader returns a :class:`Weather`: 8760 hourly rows with a tz-aware index, ``ghi``, ``dni``,
``dhi`` [W m⁻²], ``temp_air`` [°C], ``wind_speed`` [m s⁻¹] and ``albedo`` [-] when the file has a
valid one (EPW's missing marker 999 is never taken as a value).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataQualityWarning, InputDataError, warnings_about

REQUIRED_COLUMNS = ("ghi", "dni", "dhi", "temp_air", "wind_speed")
OPTIONAL_COLUMNS = ("albedo",)
PVGIS_URL = "https://re.jrc.ec.europa.eu/api/"

#: Where in its hour a row's irradiance belongs, as minutes after the row's timestamp, by format.
#: EPW rows (pvlib labels hour 1 as 00:00) and TMY3 rows (labelled at the hour's end) are hourly
#: means, so the representative sun position is at the middle of the hour. PVGIS gives the
#: instant itself in its metadata (``irradiance_time_offset``).
NOMINAL_OFFSET_MIN = {"epw": 30.0, "tmy3": -30.0}


@dataclass(frozen=True)
class Weather:
    """An hourly weather year.

    ``data`` has a tz-aware hourly index (8760 rows) and columns ``ghi``, ``dni``, ``dhi``
    [W m⁻²], ``temp_air`` [°C], ``wind_speed`` [m s⁻¹] and, when the file gives it, ``albedo`` [-].
    ``time_offset_min`` [min] is where the sun should be computed for a row: at
    ``index + time_offset_min`` (30 for EPW hourly means labelled at the hour's start).
    """

    data: pd.DataFrame
    latitude: float
    longitude: float
    altitude: float
    name: str
    source: str
    format: str = "epw"
    time_offset_min: float = 30.0

    @property
    def sun_times(self) -> pd.DatetimeIndex:
        """The instants [tz-aware] at which the sun position represents each row."""
        return self.data.index + pd.Timedelta(minutes=self.time_offset_min)

    @cached_property
    def sun_position(self) -> pd.DataFrame:
        """pvlib's sun position (SPA; pressure from the site's altitude) at :attr:`sun_times`,
        computed once per weather year: the roof model, the PV yield and shape and the dark hours
        of public lighting all read it (each computation is about 0.04 s)."""
        import pvlib

        return pvlib.solarposition.get_solarposition(self.sun_times, self.latitude, self.longitude,
                                                     altitude=self.altitude)


def read_weather(path: str | Path, fmt: str | None = None, location: tuple[float, float] | None = None) -> Weather:
    """Read an hourly weather year: EPW, TMY3, PVGIS TMY (CSV, JSON or EPW) or a UMEP/SUEWS
    meteorological forcing file (:mod:`pedgis.io.umep`).

    Parameters
    ----------
    path : str or Path
        The weather file.
    fmt : {'epw', 'tmy3', 'pvgis_csv', 'pvgis_json', 'umep'}, optional
        Format; by default a file whose header starts with ``iy id it imin`` is UMEP/SUEWS, else
        from the suffix (``.epw``, ``.json``) and, for ``.csv``, from the first line (PVGIS CSV
        starts with ``Latitude (decimal degrees):``).
    location : (latitude, longitude) [° WGS84], optional
        Where the weather stands: needed by a UMEP/SUEWS file, which has no coordinates (pedgis
        passes the district's centroid); the other formats carry their station's.

    Returns
    -------
    Weather

    Raises
    ------
    InputDataError
        When the file is missing, unreadable, not 8760 hourly rows (8784 with Feb 29 are
        accepted, Feb 29 is dropped with a warning), lacks a column or a station field.
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(
            f"{path}: weather file not found. Give an EPW, TMY3, PVGIS TMY (CSV/JSON/EPW) or UMEP/SUEWS "
            "file; PVGIS gives a typical year for any site: https://re.jrc.ec.europa.eu/pvg_tools/ "
            "(`pedgis pv --weather pvgis` downloads it by itself)."
        )
    fmt = fmt or _detect_format(path)
    with warnings_about(str(path)):  # pvlib's and pandas' warnings name the file
        data, meta, offset = _read_raw(path, fmt, location)
    return _build(path, fmt, data, meta, offset)


def _detect_format(path: Path) -> str:
    from .umep import is_umep_file

    suffix = path.suffix.lower()
    if is_umep_file(path):
        return "umep"
    if suffix == ".epw":
        return "epw"
    if suffix == ".json":
        return "pvgis_json"
    if suffix == ".csv":
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
        if first.lower().startswith("latitude"):
            return "pvgis_csv"
        return "tmy3"
    raise InputDataError(
        f"{path}: unknown weather format '{suffix}'. Use an .epw (EnergyPlus / PVGIS), a TMY3 "
        ".csv, a PVGIS TMY .csv/.json file, or a UMEP/SUEWS forcing file (header iy id it imin ...)."
    )


def _epw_irradiance_offset(path: Path) -> float:
    """Minutes after a row's timestamp (pvlib's hour start) where an EPW's irradiance belongs.

    EPW files written by PVGIS (through Weather Analytics' writer) say it in a header comment,
    ``COMMENTS 2,Irradiance Time Offset (h):-0.8239``: hours from the end of the labelled hour
    (-0.5 is the middle, the EPW default). Other files get the middle of the hour.
    """
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = [next(fh, "") for _ in range(8)]
    for line in header:
        m = re.match(r"COMMENTS \d,Irradiance Time Offset \(h\):\s*([-+0-9.eE]+)", line)
        if m:
            try:
                hours = float(m.group(1))
            except ValueError:
                break
            if -1.0 <= hours <= 0.0:  # within the labelled hour; anything else is not this convention
                return 60.0 * (1.0 + hours)
    return NOMINAL_OFFSET_MIN["epw"]


def _read_raw(path: Path, fmt: str, location: tuple[float, float] | None = None):
    import pvlib

    if fmt == "umep":  # no coordinates in the file: the district's location
        from .umep import read_umep_raw

        if location is None:
            raise InputDataError(f"{path}: a UMEP/SUEWS forcing file has no coordinates; pedgis places it at the "
                                 "district's centroid. Use it as [weather] path of a scenario or with `pedgis pv "
                                 "--weather`, which give the location.")
        return read_umep_raw(path, float(location[0]), float(location[1]))
    if fmt == "epw":
        _check_epw_location(path)
    try:
        if fmt == "epw":
            data, meta = pvlib.iotools.read_epw(path)
            offset = _epw_irradiance_offset(path)
        elif fmt == "tmy3":
            data, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
            offset = NOMINAL_OFFSET_MIN["tmy3"]
            # pvlib moves 29 February to 1 March; the raw dates say which rows were the leap day
            dates = pd.read_csv(path, skiprows=1, usecols=[0], dtype=str).iloc[:, 0]
            meta["feb29_rows"] = dates.str.strip().str.startswith("02/29").to_numpy()
        elif fmt in ("pvgis_csv", "pvgis_json"):
            data, meta = pvlib.iotools.read_pvgis_tmy(path, pvgis_format=fmt.split("_")[1])
            inputs = meta.get("inputs", {}) if isinstance(meta, dict) else {}
            loc = inputs.get("location", inputs)
            meta = {
                "latitude": loc.get("latitude"),
                "longitude": loc.get("longitude"),
                "altitude": loc.get("elevation"),
                "city": f"PVGIS TMY {loc.get('latitude')}, {loc.get('longitude')}",
            }
            t_off = loc.get("irradiance_time_offset", loc.get("irradiance time offset", 0.0))
            offset = 60.0 * float(t_off or 0.0)
        else:
            raise InputDataError(
                f"{path}: unknown weather format '{fmt}'; use epw, tmy3, pvgis_csv or pvgis_json."
            )
    except InputDataError:
        raise
    except Exception as exc:  # pvlib raises many kinds on broken files
        raise InputDataError(
            f"{path}: not a readable {fmt.upper()} weather file ({type(exc).__name__}: "
            f"{exc}). Check the file is complete and in that format."
        ) from exc
    return data, meta, offset


EPW_LOCATION_FIELDS = ("latitude", "longitude", "time zone", "elevation")


def _check_epw_location(path: Path) -> None:
    """The EPW LOCATION line must give latitude, longitude, time zone and elevation."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline().strip().split(",")
    if not first or first[0].strip().upper() != "LOCATION":
        return  # not an EPW header at all: pvlib's error is clearer
    values = first[6:10] + [""] * (4 - len(first[6:10]))
    for name, value in zip(EPW_LOCATION_FIELDS, values, strict=False):
        try:
            ok = np.isfinite(float(value))
        except ValueError:
            ok = False
        if not ok:
            raise InputDataError(
                f"{path}: the station field '{name}' is missing or not a number ({value!r}) in "
                "the LOCATION line. Fill it in: LOCATION,city,state,country,source,WMO,latitude,"
                "longitude,time zone,elevation."
            )


def _build(path: Path, fmt: str, data: pd.DataFrame, meta: dict, offset: float) -> Weather:
    # station fields
    for key in ("latitude", "longitude"):
        value = meta.get(key) if isinstance(meta, dict) else None
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = float("nan")
        if not np.isfinite(value):
            raise InputDataError(
                f"{path}: the station field '{key}' is missing or not a number. Fill in the "
                "location line of the header (EPW: LOCATION,city,state,country,source,WMO,"
                "latitude,longitude,timezone,elevation)."
            )
    lat, lon = float(meta["latitude"]), float(meta["longitude"])
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise InputDataError(
            f"{path}: station latitude {lat} / longitude {lon} out of range; check the header."
        )
    try:
        alt = float(meta.get("altitude", 0.0))
    except (TypeError, ValueError):
        alt = float("nan")
    if not np.isfinite(alt):
        warnings.warn(
            f"{path}: station altitude missing; 0 m used (it only affects the air mass).",
            DataQualityWarning,
            stacklevel=3,
        )
        alt = 0.0

    # columns
    missing = [c for c in REQUIRED_COLUMNS if c not in data.columns]
    if missing:
        raise InputDataError(
            f"{path}: weather columns missing: {', '.join(missing)} (found: "
            f"{', '.join(map(str, data.columns))}). The file must give global, direct normal and "
            "diffuse horizontal irradiance, air temperature and wind speed."
        )
    cols = list(REQUIRED_COLUMNS)
    if "albedo" in data.columns:
        alb = pd.to_numeric(data["albedo"], errors="coerce")
        if alb.between(0.0, 1.0).all():
            cols.append("albedo")
        # EPW writes 999 for a missing albedo: never take it as a value (fallback in the model)
    out = data[cols].apply(pd.to_numeric, errors="coerce").astype(float)

    # leap day / length (before any change of the dates)
    is_feb29 = (out.index.month == 2) & (out.index.day == 29)
    raw_feb29 = meta.get("feb29_rows") if isinstance(meta, dict) else None  # TMY3, before pvlib moved them
    if raw_feb29 is not None and len(raw_feb29) == len(out):
        is_feb29 = is_feb29 | raw_feb29
    n = len(out)
    if is_feb29.any() and n == 8760:
        raise InputDataError(
            f"{path}: 8760 rows but the dates include 29 February ({int(is_feb29.sum())} rows), so another "
            f"day is missing ({_missing_days(out.index + pd.Timedelta(minutes=offset), is_feb29)}): a leap year squeezed into 8760 rows. "
            "Give a full 8784-row leap year (29 February is then dropped), or a typical year without "
            "29 February (e.g. the PVGIS TMY of the site)."
        )
    if n == 8784 and is_feb29.sum() == 24:
        warnings.warn(
            f"{path}: leap year with 8784 rows; the 24 rows of 29 February are dropped to make a "
            "standard 8760-hour year.",
            DataQualityWarning,
            stacklevel=3,
        )
        out = out[~is_feb29]
        n = len(out)

    # PVGIS TMY months come from different years: put them on one non-leap year, in order
    if fmt.startswith("pvgis") and out.index.year.nunique() > 1:
        idx = out.index
        out.index = pd.DatetimeIndex(
            [t.replace(year=1990) for t in idx], tz=idx.tz
        )
        out = out.sort_index()
    if n != 8760:
        raise InputDataError(
            f"{path}: {n} weather rows, expected 8760 hourly rows (one year). Give a complete "
            "hourly typical year (TMY) without gaps."
        )
    if out.index.duplicated().any():
        first = out.index[out.index.duplicated()][0]
        raise InputDataError(
            f"{path}: duplicated timestamp {first}; the file must have one row per hour."
        )

    # values
    bad = out[list(REQUIRED_COLUMNS)].isna()
    if bad.any().any():
        col = bad.any()[bad.any()].index[0]
        first = out.index[bad[col]][0]
        raise InputDataError(
            f"{path}: {int(bad[col].sum())} missing values in '{col}' (first at {first}). "
            "Fill the gaps (e.g. with the PVGIS TMY for the site)."
        )
    for col in ("ghi", "dni", "dhi"):
        neg = out[col] < -1.0
        if neg.any():
            warnings.warn(
                f"{path}: {int(neg.sum())} negative values in '{col}' set to 0.",
                DataQualityWarning,
                stacklevel=3,
            )
        out[col] = out[col].clip(lower=0.0)

    weather = Weather(
        data=out,
        latitude=lat,
        longitude=lon,
        altitude=alt,
        name=str(meta.get("city", path.stem)),
        source=str(path),
        format=fmt,
        time_offset_min=float(offset),
    )
    return _check_timing(weather)


def _missing_days(index: pd.DatetimeIndex, is_feb29: np.ndarray) -> str:
    """The calendar days of a leap year no row stands for, as text ("31 December"); ``index`` are
    the instants the rows stand for (within their hour)."""
    present = {(2, 29) if leap else (m, d) for m, d, leap in zip(index.month, index.day, is_feb29, strict=True)}
    days = pd.date_range("2000-01-01", "2000-12-31", freq="D")  # a leap year's calendar
    missing = [f"{t.day} {t.strftime('%B')}" for t in days if (t.month, t.day) not in present]
    if not missing:
        return "no calendar day is missing, so some hours are"
    return "missing: " + ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")


def _hour_angle(times: pd.DatetimeIndex, longitude: float, equation_of_time) -> np.ndarray:
    """pvlib's ``solarposition.hour_angle`` [°], the same arithmetic with the UTC offsets taken
    vectorised (pvlib asks each timestamp in a Python loop: ~15 ms per call on 8,760 hours)."""
    from pvlib.solarposition import _times_to_hours_after_local_midnight

    tzs = ((times.tz_localize(None) - times.tz_convert("UTC").tz_localize(None)) / pd.Timedelta("1h")).to_numpy()
    hrs_minus_tzs = _times_to_hours_after_local_midnight(times) - tzs
    return 15. * (hrs_minus_tzs - 12.) + longitude + equation_of_time / 4.


def estimate_time_offset(weather: Weather, step_min: int = 10, max_min: int = 180) -> float:
    """Shift [min] of the row timestamps that best lines ``ghi`` up with the sun.

    The correlation between ``ghi`` and the cosine of the solar zenith angle computed at
    ``index + shift`` is highest at the right shift; for EPW hourly means it is about +30 min.

    Returns
    -------
    float
        The shift [min], a multiple of ``step_min``.
    """
    from pvlib import solarposition as spos

    idx = weather.data.index
    ghi = weather.data["ghi"].to_numpy()
    if ghi.std() == 0:
        return weather.time_offset_min
    doy = idx.day_of_year.to_numpy()
    decl = spos.declination_spencer71(doy)
    eot = spos.equation_of_time_spencer71(doy)
    lat = np.radians(weather.latitude)
    # a shift of `off` minutes turns the sun by off/4 degrees of hour angle (15° an hour)
    hour_angle = _hour_angle(idx, weather.longitude, eot)
    best, best_r = weather.time_offset_min, -np.inf
    for off in range(-max_min, max_min + 1, step_min):
        cz = np.cos(spos.solar_zenith_analytical(lat, np.radians(hour_angle + off / 4.0), decl))
        r = np.corrcoef(np.clip(cz, 0.0, None), ghi)[0, 1]
        if r > best_r:
            best, best_r = float(off), r
    return best


def _check_timing(weather: Weather) -> Weather:
    """Warn and correct when the timestamps are off by about an hour or more.

    PVGIS EPW files hold UTC data but declare the local time zone, so the sun would be an hour
    off; the irradiance itself tells where the sun was.
    """
    est = estimate_time_offset(weather, step_min=10, max_min=150)
    if abs(est - weather.time_offset_min) >= 35.0:
        warnings.warn(
            f"{weather.source}: the irradiance peaks {est - weather.time_offset_min:+.0f} min away "
            "from where the timestamps and time zone put the sun (PVGIS EPW files are in UTC "
            f"although their header gives a local zone); sun positions use a {est:+.0f} min "
            "offset. Fix the time zone in the header to silence this.",
            DataQualityWarning,
            stacklevel=3,
        )
        weather = Weather(
            data=weather.data,
            latitude=weather.latitude,
            longitude=weather.longitude,
            altitude=weather.altitude,
            name=weather.name,
            source=weather.source,
            format=weather.format,
            time_offset_min=est,
        )
    return weather


# --------------------------------------------------------------------------- PVGIS download


def default_cache_dir() -> Path:
    """``$PEDGIS_CACHE`` or ``~/.cache/pedgis``."""
    return Path(os.environ.get("PEDGIS_CACHE", Path.home() / ".cache" / "pedgis"))


def download_pvgis_tmy(
    latitude: float,
    longitude: float,
    cache_dir: str | Path | None = None,
    timeout: float = 30.0,
    url: str = PVGIS_URL,
) -> Path:
    """Download the PVGIS typical meteorological year for a location (cached).

    Parameters
    ----------
    latitude, longitude : float
        Location [°, WGS84].
    cache_dir : path, optional
        Where responses are kept (``default_cache_dir()/pvgis``); a cached file is used
        without network.
    timeout : float
        [s].

    Returns
    -------
    Path
        The cached PVGIS JSON file, readable by :func:`read_weather`.

    Notes
    -----
    Same request as :func:`pvlib.iotools.get_pvgis_tmy` (``/api/tmy``, JSON output, with the
    PVGIS DEM horizon), kept raw so the cache holds exactly what PVGIS answered.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "pvgis"
    target = cache / f"pvgis_tmy_{latitude:.3f}_{longitude:.3f}.json"
    if target.exists():
        return target
    import requests

    params = {"lat": round(latitude, 4), "lon": round(longitude, 4), "outputformat": "json"}
    try:
        res = requests.get(url + "tmy", params=params, timeout=timeout)
    except requests.RequestException as exc:
        raise InputDataError(
            f"--weather pvgis: cannot reach PVGIS ({exc}). Work online once (the answer is "
            f"cached in {cache}) or give a weather file with --weather PATH."
        ) from exc
    if not res.ok:
        try:
            msg = res.json().get("message", res.text)
        except Exception:
            msg = res.text[:200]
        raise InputDataError(
            f"--weather pvgis: PVGIS refused the request for {latitude:.4f}, {longitude:.4f} "
            f"(HTTP {res.status_code}: {msg}). Check the location is covered by PVGIS or give "
            "a weather file with --weather PATH."
        )
    try:
        payload = res.json()
        payload["outputs"]["tmy_hourly"]
    except Exception as exc:
        raise InputDataError(
            "--weather pvgis: PVGIS answered without an hourly TMY; give a weather file with "
            "--weather PATH."
        ) from exc
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    tmp.write_text(json.dumps(payload))
    tmp.replace(target)
    return target


def resolve_weather(
    spec: str | Path,
    latitude: float | None = None,
    longitude: float | None = None,
    cache_dir: str | Path | None = None,
) -> Weather:
    """A weather file path, or ``"pvgis"`` to download (cached) the PVGIS TMY at a location."""
    if str(spec).strip().lower() == "pvgis":
        if latitude is None or longitude is None:
            raise InputDataError(
                "--weather pvgis needs the district's location; give buildings with a CRS."
            )
        return read_weather(download_pvgis_tmy(latitude, longitude, cache_dir), "pvgis_json")
    return read_weather(spec, location=None if latitude is None or longitude is None else (latitude, longitude))
