import numpy as np
import pandas as pd
import pytest

from pedgis.timeseries.profiles import hourly_calendar


@pytest.fixture(scope="session")
def year_index():
    """A non-leap hourly year (TMY-like; the file's own years are ignored by the calendar)."""
    return pd.date_range("2018-01-01 00:00", periods=8760, freq="h", tz="UTC")


@pytest.fixture(scope="session")
def calendar(year_index):
    return hourly_calendar(year_index)


@pytest.fixture(scope="session")
def temp_air(year_index):
    """A smooth synthetic year: 10 °C mean, ±12 K seasonal, ±4 K daily."""
    doy = np.arange(8760) / 24.0
    hod = np.arange(8760) % 24
    return 10 - 12 * np.cos(2 * np.pi * (doy - 15) / 365) - 4 * np.cos(2 * np.pi * (hod - 3) / 24)
