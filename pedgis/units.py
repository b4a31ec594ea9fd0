"""The only place with unit conversion factors.

Canonical units: energy kWh, power kW, area m², length m, temperature °C (differences K),
irradiation kWh/m², mass kg CO2eq.
"""

from __future__ import annotations

WH_PER_KWH = 1000.0
KWH_PER_MWH = 1000.0
KWH_PER_GWH = 1.0e6
J_PER_KWH = 3.6e6
MJ_PER_KWH = 3.6
HOURS_PER_DAY = 24.0
HOURS_PER_YEAR = 8760.0
W_PER_KW = 1000.0
G_PER_KG = 1000.0


def wh_to_kwh(value):
    """Convert Wh (or Wh/m²) to kWh (or kWh/m²)."""
    return value / WH_PER_KWH


def kwh_to_mwh(value):
    """Convert kWh to MWh."""
    return value / KWH_PER_MWH


def w_to_kw(value):
    """Convert W (or W/K) to kW (or kW/K)."""
    return value / W_PER_KW


def mj_to_kwh(value):
    """Convert MJ to kWh."""
    return value / MJ_PER_KWH


def g_to_kg(value):
    """Convert g (e.g. g CO2eq/kWh) to kg."""
    return value / G_PER_KG
