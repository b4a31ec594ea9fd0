"""Shipped data tables: primary energy factors, specific needs, DHW per unit, system defaults.

Every table is a long-format CSV in this folder with a ``source`` column on every row. The
loaders return plain DataFrames (cached; callers get a copy) and check the columns, so a broken
table fails loudly with the file name.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from ..errors import InputDataError

DATA_DIR = Path(__file__).resolve().parent

PEF_COLUMNS = ["set", "carrier", "pef_nren", "pef_ren", "pef_nren_export", "pef_ren_export",
               "co2_kg_per_kwh", "co2_kg_per_kwh_export", "source"]
NEEDS_COLUMNS = ["set", "use", "need", "value", "unit", "source"]
DHW_COLUMNS = ["use", "unit", "kwh_per_unit", "source"]
SYSTEMS_COLUMNS = ["kind", "parameter", "value", "unit", "source"]
STOREY_COLUMNS = ["use", "storey_height_m", "source"]


def _path(name: str) -> Path:
    return DATA_DIR / name


@cache
def _read(name: str, columns: tuple[str, ...], numeric: tuple[str, ...]) -> pd.DataFrame:
    path = _path(name)
    if not path.exists():
        raise InputDataError(f"{path}: shipped data table missing; reinstall pedgis.")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputDataError(f"{path}: columns {missing} missing (expected {list(columns)}).")
    df = df[list(columns) + [c for c in df.columns if c not in columns]]
    for col in numeric:
        df[col] = pd.to_numeric(df[col].replace("", None), errors="raise").astype(float)
    for col in df.columns:
        if col not in numeric and df[col].dtype == object:
            df[col] = df[col].str.strip()
    if (df["source"] == "").any():
        raise InputDataError(f"{path}: every row needs a source; rows {list(df.index[df['source'] == ''])} have none.")
    return df


def primary_energy_factors() -> pd.DataFrame:
    """All primary energy factor sets, long format (columns ``PEF_COLUMNS``).

    ``pef_*`` [kWh_PE kWh⁻¹] per delivered (or exported) kWh; ``co2_kg_per_kwh`` and
    ``co2_kg_per_kwh_export`` [kg CO2eq kWh⁻¹] per delivered and per exported kWh (an empty
    export column means "same as delivered", the substitution assumption).
    """
    return _read("primary_energy_factors.csv", tuple(PEF_COLUMNS),
                 ("pef_nren", "pef_ren", "pef_nren_export", "pef_ren_export", "co2_kg_per_kwh",
                  "co2_kg_per_kwh_export")).copy()


def pef_sets() -> list[str]:
    """Names of the shipped primary energy factor sets (e.g. ``iso52000_default``, ``IT``)."""
    return sorted(primary_energy_factors()["set"].unique())


def pef_table(set_name: str) -> pd.DataFrame:
    """Factors of one set, indexed by carrier.

    Carriers the national set does not give are taken from ``iso52000_default`` (ISO 52000-1
    Annex B) and their ``source`` says so.
    """
    df = primary_energy_factors()
    if set_name not in set(df["set"]):
        raise InputDataError(f"primary energy factor set '{set_name}' unknown; shipped sets: {', '.join(pef_sets())}.")
    df["pef_nren_export"] = df["pef_nren_export"].fillna(df["pef_nren"])
    df["pef_ren_export"] = df["pef_ren_export"].fillna(df["pef_ren"])
    df["co2_kg_per_kwh_export"] = df["co2_kg_per_kwh_export"].fillna(df["co2_kg_per_kwh"])
    own = df[df["set"] == set_name].set_index("carrier")
    base = df[df["set"] == "iso52000_default"].set_index("carrier")
    extra = base.loc[~base.index.isin(own.index)].copy()
    if len(extra):
        extra["source"] = extra["source"] + f" (not in set {set_name}: ISO 52000-1 default)"
    out = pd.concat([own, extra]).drop(columns=["set"])
    out.index.name = "carrier"
    return out


def specific_needs() -> pd.DataFrame:
    """Specific needs per set, use type and need [kWh m⁻² a⁻¹] (paper Tables 1–2 and extensions)."""
    return _read("specific_needs.csv", tuple(NEEDS_COLUMNS), ("value",)).copy()


def needs_sets() -> list[str]:
    """Names of the shipped specific-needs sets (e.g. ``eu27_existing``, ``nzeb``)."""
    return sorted(specific_needs()["set"].unique())


def needs_table(set_name: str) -> pd.DataFrame:
    """Specific needs of one set: index use, columns need names, values [kWh m⁻² a⁻¹].

    A ``source`` table with the same shape is in ``.attrs["source"]``.
    """
    df = specific_needs()
    if set_name not in set(df["set"]):
        raise InputDataError(f"specific-needs set '{set_name}' unknown; shipped sets: {', '.join(needs_sets())}.")
    sub = df[df["set"] == set_name]
    values = sub.pivot(index="use", columns="need", values="value")
    sources = sub.pivot(index="use", columns="need", values="source")
    values.attrs["source"] = sources
    return values


def dhw_per_unit() -> pd.DataFrame:
    """DHW need per person, bed or user [kWh a⁻¹ unit⁻¹] per use type (paper §2.2.1, Eq. 3)."""
    return _read("dhw_per_unit.csv", tuple(DHW_COLUMNS), ("kwh_per_unit",)).copy()


def system_defaults() -> pd.DataFrame:
    """Default parameters of conversion and district systems (efficiencies, SCOP, losses)."""
    return _read("systems.csv", tuple(SYSTEMS_COLUMNS), ("value",)).copy()


def system_default(kind: str, parameter: str) -> tuple[float, str] | None:
    """``(value, source)`` of a default system parameter, or None when the table has none."""
    df = system_defaults()
    hit = df[(df["kind"] == kind) & (df["parameter"] == parameter)]
    if hit.empty:
        return None
    return float(hit["value"].iloc[0]), str(hit["source"].iloc[0])


def storey_heights() -> pd.DataFrame:
    """Default floor-to-floor height per use type [m] with its source."""
    return _read("storey_heights.csv", tuple(STOREY_COLUMNS), ("storey_height_m",)).copy()
