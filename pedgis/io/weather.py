"""Hourly weather for the solar model and degree-days.

Minimal first version: EPW through pvlib. TMY3, PVGIS and error handling extend it (issue 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputDataError


@dataclass(frozen=True)
class Weather:
    """An hourly weather year.

    ``data`` has a tz-aware hourly index (8760 rows) and columns ``ghi``, ``dni``, ``dhi``
    [W m⁻²], ``temp_air`` [°C], ``wind_speed`` [m s⁻¹] and, when the file gives it, ``albedo`` [-].
    """

    data: pd.DataFrame
    latitude: float
    longitude: float
    altitude: float
    name: str
    source: str


def read_weather(path: str | Path) -> Weather:
    """Read an hourly weather file (EPW)."""
    import pvlib

    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path}: weather file not found. Give an EPW, TMY3 or PVGIS TMY file.")
    try:
        data, meta = pvlib.iotools.read_epw(path)
    except Exception as exc:
        raise InputDataError(f"{path}: cannot be read as an EPW weather file ({exc}).") from exc
    cols = [c for c in ("ghi", "dni", "dhi", "temp_air", "wind_speed", "albedo") if c in data.columns]
    return Weather(
        data=data[cols].astype(float),
        latitude=float(meta["latitude"]),
        longitude=float(meta["longitude"]),
        altitude=float(meta.get("altitude", 0.0)),
        name=str(meta.get("city", path.stem)),
        source=str(path),
    )
