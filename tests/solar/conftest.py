"""Shared fixtures for the rooftop solar tests: the sample district's weather year."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_EPW = ROOT / "sample_data" / "weather" / "pvgis_tmy_45N_8E.epw"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def weather():
    """The sample district's PVGIS TMY (EPW), read once (its UTC-vs-header warning is tested
    in test_weather.py)."""
    from pedgis.io.weather import read_weather

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_weather(SAMPLE_EPW)
