"""Step 2: energy needs (paper §2.2, Eq. 1–5, Tables 1–2).

Pure functions over arrays and DataFrames. Thermal needs of space heating (SH) and cooling
(SC) come from a specific need per floor area (Eq. 1) or from a building loss coefficient and
degree days (Eq. 2); domestic hot water (DHW) from floor area, persons, beds or users (Eq. 3);
electric needs of lighting and ventilation from floor area (Eq. 4–5). Appliances are an
optional load of the Fig. 3 checklist, computed like Eq. 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .mixed_use import UNCONDITIONED, use_terms
from .units import HOURS_PER_DAY, w_to_kw


def thermal_needs_specific(area_m2, spec_kwh_m2):
    """Thermal energy need of SH or SC from a specific need (Eq. 1).

    Parameters
    ----------
    area_m2 : array_like
        Conditioned floor area to heat or cool, M_H&C [m²].
    spec_kwh_m2 : array_like
        Specific need Spec_SH or Spec_SC [kWh m⁻² a⁻¹].

    Returns
    -------
    array_like
        TEN_H&C [kWh a⁻¹].

    Notes
    -----
    Eq. 1 of Gabaldón Moreno et al. (2021): TEN_H&C = M_H&C · Spec_SH or SC.
    """
    return np.asarray(area_m2, dtype=float) * np.asarray(spec_kwh_m2, dtype=float)


def thermal_needs_degree_days(blc_kw_k, degree_days_kd):
    """Building energy need for heating or cooling from degree days (Eq. 2).

    Parameters
    ----------
    blc_kw_k : array_like
        Overall building heat loss coefficient BLC [kW K⁻¹].
    degree_days_kd : float
        Heating or cooling degree days DD [K d].

    Returns
    -------
    array_like
        BEN_H&C [kWh a⁻¹].

    Notes
    -----
    Eq. 2: BEN_H&C = BLC · 24 · DD (24 h per day).
    """
    return np.asarray(blc_kw_k, dtype=float) * HOURS_PER_DAY * float(degree_days_kd)


def blc_from_area(area_m2, blc_w_m2k):
    """BLC [kW K⁻¹] of a building from its floor area [m²] and a loss coefficient per area [W m⁻² K⁻¹]."""
    return w_to_kw(np.asarray(area_m2, dtype=float) * np.asarray(blc_w_m2k, dtype=float))


def dhw_needs(m, spec_dhw):
    """Domestic hot water need (Eq. 3).

    Parameters
    ----------
    m : array_like
        Floor area [m²] or number of persons, beds or users [-].
    spec_dhw : array_like
        Specific DHW need [kWh m⁻² a⁻¹] or [kWh a⁻¹ unit⁻¹].

    Returns
    -------
    array_like
        TEN_DHW [kWh a⁻¹].

    Notes
    -----
    Eq. 3: TEN_DHW = M · Spec_DHW.
    """
    return np.asarray(m, dtype=float) * np.asarray(spec_dhw, dtype=float)


def electric_needs(area_m2, spec_el_kwh_m2):
    """Electric energy need of one electric service (lighting, ventilation) (Eq. 4).

    Notes
    -----
    Eq. 4: EEN = M · Spec_el, with M [m²] and Spec_el [kWh m⁻² a⁻¹]; returns [kWh a⁻¹].
    """
    return np.asarray(area_m2, dtype=float) * np.asarray(spec_el_kwh_m2, dtype=float)


def electric_needs_total(een_vent, een_light):
    """Electric energy needs of ventilation plus lighting (Eq. 5).

    Notes
    -----
    Eq. 5: EEN_(vent.+light.) = EEN_vent. + EEN_light. [kWh a⁻¹].
    """
    return np.asarray(een_vent, dtype=float) + np.asarray(een_light, dtype=float)


def degree_days(temp_air: pd.Series, base_c: float, threshold_c: float, kind: str = "heating") -> float:
    """Annual heating or cooling degree days from hourly air temperature [K d].

    Parameters
    ----------
    temp_air : pandas.Series
        Hourly (or finer) outdoor air temperature [°C] with a DatetimeIndex.
    base_c, threshold_c : float
        Base and threshold temperatures [°C]. Heating: a day with mean Tm ≤ threshold counts
        base − Tm; cooling: a day with Tm ≥ threshold counts Tm − base.
    kind : {"heating", "cooling"}

    Notes
    -----
    Eurostat's method (nrg_chdd): HDD with base 18 °C and threshold 15 °C, CDD with base 21 °C
    and threshold 24 °C. Daily means are taken over the calendar days of the index.
    """
    t = pd.Series(np.asarray(temp_air, dtype=float), index=temp_air.index)
    daily = t.groupby(t.index.date).mean()
    if kind == "heating":
        dd = np.where(daily <= threshold_c, base_c - daily, 0.0)
    elif kind == "cooling":
        dd = np.where(daily >= threshold_c, daily - base_c, 0.0)
    else:
        raise ValueError("kind must be 'heating' or 'cooling'")
    return float(np.nansum(dd))


@dataclass(frozen=True)
class NeedsParameters:
    """Per-use-type parameters of step 2.

    ``table`` is indexed by use type with columns ``sh``, ``sc``, ``dhw``, ``lighting``,
    ``ventilation``, ``appliances`` [kWh m⁻² a⁻¹], ``dhw_basis`` (area|person|bed|user),
    ``dhw_kwh_per_unit`` [kWh a⁻¹ unit⁻¹], ``blc_heating_w_m2k``, ``blc_cooling_w_m2k``
    [W m⁻² K⁻¹].
    """

    table: pd.DataFrame
    method: str = "specific"  # or "degree_days"
    hdd_kd: float | None = None
    cdd_kd: float | None = None
    include_appliances: bool = False


NEED_COLUMNS = ["ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_light_kwh", "een_vent_kwh",
                "een_appliances_kwh", "een_kwh"]


def building_needs(buildings: pd.DataFrame, params: NeedsParameters) -> pd.DataFrame:
    """Step 2 for every building: thermal and electric needs [kWh a⁻¹].

    Parameters
    ----------
    buildings : DataFrame
        ``use``, ``floor_area_m2``, ``included`` and optional ``persons``, ``beds`` and
        ``use_shares`` (several uses with their shares of the floor area,
        :mod:`pedgis.mixed_use`).
    params : NeedsParameters

    Returns
    -------
    DataFrame
        Same index; columns :data:`NEED_COLUMNS` and ``dhw_basis_used``, ``needs_flag``. Rows not
        included are NaN (never 0). ``een_kwh`` is lighting + ventilation (Eq. 5) plus appliances
        when the checklist includes them.

    Notes
    -----
    A building with several uses is the sum of its uses, each computed on its share of the floor
    area (M in Eq. 1–4 is the use's floor area): the ``unconditioned`` share has no needs. DHW
    per person, bed or user (Eq. 3) shares the building's occupants (or beds) among the uses
    counted in them, by floor area. One use is one term with share 1.0: the same numbers as a
    building without ``use_shares``.
    """
    t = params.table
    n = len(buildings)
    area = buildings["floor_area_m2"].to_numpy(dtype=float)
    included = buildings["included"].to_numpy(dtype=bool) if "included" in buildings else np.ones(n, bool)
    rows, term_use, share = use_terms(buildings["use"], buildings["use_shares"] if "use_shares" in buildings else None)
    single = len(rows) == n  # one term per building, in order: the sums are the terms themselves
    uncond = term_use == UNCONDITIONED
    m = area[rows] * share  # each use's floor area [m²]

    codes, uniques = pd.factorize(pd.Series(term_use, dtype=object))  # one hash pass; per-use values by integer indexing

    def per_use(col):
        vals = t[col].reindex(uniques).to_numpy(dtype=float)
        v = np.where(codes >= 0, vals[np.clip(codes, 0, None)], np.nan)
        return np.where(uncond, 0.0, v) if uncond.any() else v  # the unconditioned share needs nothing

    def per_building(x):
        return np.asarray(x, dtype=float) if single else np.bincount(rows, weights=x, minlength=n)

    out = pd.DataFrame(index=buildings.index)
    if params.method == "degree_days":
        out["ten_sh_kwh"] = per_building(thermal_needs_degree_days(blc_from_area(m, per_use("blc_heating_w_m2k")), params.hdd_kd))
        out["ten_sc_kwh"] = per_building(thermal_needs_degree_days(blc_from_area(m, per_use("blc_cooling_w_m2k")), params.cdd_kd))
    else:
        out["ten_sh_kwh"] = per_building(thermal_needs_specific(m, per_use("sh")))
        out["ten_sc_kwh"] = per_building(thermal_needs_specific(m, per_use("sc")))

    basis = t["dhw_basis"].reindex(uniques).fillna("area").to_numpy(dtype=object)[np.clip(codes, 0, None)]
    basis = np.where(uncond, "area", basis)
    per_unit = per_use("dhw_kwh_per_unit")
    count = np.full(len(rows), np.nan)
    for b, col in (("person", "persons"), ("bed", "beds"), ("user", "persons")):
        sel = basis == b
        if sel.any() and col in buildings:
            count[sel] = pd.to_numeric(buildings[col], errors="coerce").to_numpy(dtype=float)[rows][sel]
    if not single:  # a building's occupants (beds) shared among its uses counted in them, by floor area
        key = rows * 3 + np.where(basis == "bed", 2, np.where(basis == "area", 0, 1))
        counted = np.bincount(key, weights=share, minlength=3 * n)[key]
        count = count * (share / counted)
    by_unit = (basis != "area") & np.isfinite(count) & (count >= 0) & np.isfinite(per_unit)
    fallback = (basis != "area") & ~by_unit
    out["ten_dhw_kwh"] = per_building(np.where(by_unit, dhw_needs(np.where(by_unit, count, 0.0), np.where(by_unit, per_unit, 0.0)),
                                               dhw_needs(m, per_use("dhw"))))
    used = np.where(by_unit, basis, "area")
    if single:
        out["dhw_basis_used"] = used
        out["needs_flag"] = np.where(fallback, "DHW per area: occupant count missing", "")
    else:
        terms = pd.DataFrame({"row": rows, "used": used})[~uncond].drop_duplicates()  # first occurrences, in order
        basis_used = np.full(n, "area", dtype=object)
        r, u = terms["row"].to_numpy(), terms["used"].to_numpy(dtype=object)
        if len(r):  # each building's units joined: "person+area" (its terms are consecutive)
            starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
            piece = u + "+"
            piece[np.r_[starts[1:] - 1, len(r) - 1]] = u[np.r_[starts[1:] - 1, len(r) - 1]]
            basis_used[r[starts]] = np.add.reduceat(piece, starts)
        flagged = np.bincount(rows, weights=(fallback & ~uncond).astype(float), minlength=n) > 0
        out["dhw_basis_used"] = basis_used
        out["needs_flag"] = np.where(flagged, "DHW per area: occupant count missing", "")

    out["een_light_kwh"] = per_building(electric_needs(m, per_use("lighting")))
    out["een_vent_kwh"] = per_building(electric_needs(m, per_use("ventilation")))
    out["een_appliances_kwh"] = per_building(electric_needs(m, per_use("appliances"))) if params.include_appliances else 0.0
    out["een_kwh"] = electric_needs_total(out["een_vent_kwh"], out["een_light_kwh"]) + out["een_appliances_kwh"]
    num = [c for c in NEED_COLUMNS]
    out.loc[~included, num] = np.nan
    return out
