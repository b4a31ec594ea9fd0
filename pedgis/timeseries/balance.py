"""Annual, monthly and hourly netting of the PED balance, with time-resolved grid indicators.

The paper (Gabaldón Moreno et al. 2021) nets imports against exports over the year (Eqs. 11-17).
Its §3 notes that Spanish DB-HE 2019 lets exports offset non-renewable imports only within the
same month, and that simultaneous operation and grid stress deserve study. This module computes
the same balance with the netting period as a parameter:

``annual``
    per carrier, delivered = max(ΣU − ΣP, 0), exported = max(ΣP − ΣU, 0) over the year (Eqs. 11-13).
``monthly``
    the same within each month; the month's primary-energy balance B_m = PEI_m − PEE_m
    (Eqs. 14, 15, 17). Following DB-HE 2019, a month's surplus cannot offset another month's
    deficit: the district is positive under monthly netting only when no month has B_m > 0 and
    Σ B_m < 0; ``uncompensated_pei_kwh`` = Σ_m max(B_m, 0) is what the monthly rule leaves unpaid.
``hourly``
    the same within each hour.

Netting is done building by building (each building meters against the grid) or, with sharing
(an energy community), on the district's summed net position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..progress import no_progress, scaled
from . import sharing as _sharing
from .profiles import Calendar
from .storage import battery_dispatch, thermal_buffer_dispatch

TIMESTEPS = ("annual", "monthly", "hourly")
ELECTRICITY = "electricity"
#: |net| below this per period is rounding noise of equal annual use and production [kWh]
NET_TOLERANCE_KWH = 1e-6


# --------------------------------------------------------------------------------------------
# periods and factors
# --------------------------------------------------------------------------------------------
def check_timestep(timestep: str) -> str:
    """Return ``timestep`` or raise a ConfigError naming ``scenario.timestep``."""
    if timestep not in TIMESTEPS:
        raise ConfigError(f"unknown timestep {timestep!r}; use one of {', '.join(TIMESTEPS)}", key="scenario.timestep")
    return timestep


def period_index(timestep: str, calendar: Calendar):
    """Period of each hour and the number of periods.

    Returns
    -------
    (ndarray of int (H,), int)
        annual: all 0, 1 period; monthly: month − 1, 12 periods; hourly: 0..H−1, H periods.
    """
    check_timestep(timestep)
    H = calendar.n_hours
    if timestep == "annual":
        return np.zeros(H, dtype=np.int64), 1
    if timestep == "monthly":
        return calendar.month - 1, 12
    return np.arange(H, dtype=np.int64), H


def to_periods(x, timestep: str, calendar: Calendar) -> np.ndarray:
    """Sum hourly values (last axis) into the periods of ``timestep``."""
    x = np.asarray(x, dtype=float)
    if timestep == "hourly":
        return x
    if timestep == "annual":
        return x.sum(axis=-1, keepdims=True)
    onehot = np.zeros((calendar.n_hours, 12))
    onehot[np.arange(calendar.n_hours), calendar.month - 1] = 1.0
    return x @ onehot


def resolve_factor(value, timestep: str, calendar: Calendar, key: str) -> np.ndarray:
    """A primary-energy or emission factor per period of ``timestep``.

    Parameters
    ----------
    value : float, or sequence of 12 (monthly) or 8760 (hourly) floats
    timestep : str
    calendar : Calendar
    key : str
        Scenario key path for messages (e.g. ``factors.electricity.pef_nren``).

    Returns
    -------
    ndarray (n_periods,)

    Notes
    -----
    A constant factor applies to every timestep. Monthly factors apply to monthly and (expanded
    by month) hourly netting; for annual netting they are averaged. Hourly factors apply to
    hourly netting; for monthly netting they are averaged per month, for annual over the year.
    Averages are plain means (the paper, §2.6: factors "usually a constant national value").
    """
    _, n = period_index(timestep, calendar)
    v = np.asarray(value, dtype=float)
    if v.ndim == 0:
        if not np.isfinite(v):
            raise ConfigError(f"factor is {value!r}; give a number", key=key)
        return np.full(n, float(v))
    if np.any(~np.isfinite(v)):
        raise ConfigError("a time-varying factor has missing values; give a number for every period", key=key)
    if v.size == 12:
        if timestep == "monthly":
            return v.copy()
        if timestep == "hourly":
            return v[calendar.month - 1]
        return np.array([v.mean()])
    if v.size == calendar.n_hours:
        if timestep == "hourly":
            return v.copy()
        if timestep == "monthly":
            return np.array([v[calendar.month == m].mean() for m in range(1, 13)])
        return np.array([v.mean()])
    raise ConfigError(f"a time-varying factor needs 12 (monthly) or {calendar.n_hours} (hourly) values, got {v.size}",
                      key=key)


@dataclass
class CarrierFactors:
    """Weighting factors of one carrier (constant, monthly or hourly; see :func:`resolve_factor`).

    Attributes
    ----------
    pef_nren : float or array
        Non-renewable primary energy factor of delivered energy (paper Eq. 14).
    pef_nren_exp : float or array, optional
        Of exported energy (Eq. 15); default: same as delivered (substitution, §2.6).
    pef_ren, pef_ren_exp : float or array
        Renewable primary energy factors (Eq. 19).
    co2_kg_per_kwh, co2_exp_kg_per_kwh : float or array
        Emissions per kWh of delivered / exported energy [kg kWh⁻¹] (Eq. 22 with the factor
        already expressed per kWh of delivered energy).
    """

    pef_nren: object
    pef_nren_exp: object = None
    pef_ren: object = 0.0
    pef_ren_exp: object = None
    co2_kg_per_kwh: object = 0.0
    co2_exp_kg_per_kwh: object = None

    def get(self, name):
        v = getattr(self, name)
        if v is None and name.endswith("_exp"):
            return getattr(self, name[: -len("_exp")])
        if v is None and name == "co2_exp_kg_per_kwh":
            return self.co2_kg_per_kwh
        return v


@dataclass
class PeriodBalance:
    """Primary-energy balance per period (paper Eqs. 14-22 applied to each period)."""

    timestep: str
    delivered_kwh: dict
    exported_kwh: dict
    pei_kwh: np.ndarray
    pee_kwh: np.ndarray
    pe_ren_kwh: np.ndarray
    co2eq_kg: np.ndarray

    @property
    def balance_kwh(self) -> np.ndarray:
        """B_p = PEI_p − PEE_p (Eq. 17 per period)."""
        return self.pei_kwh - self.pee_kwh

    def summary(self) -> dict:
        """Totals and the verdict of this netting rule.

        ``is_ped``: annual and hourly netting, Σ B < 0 (Eq. 17); monthly netting (DB-HE 2019), no
        month with B_m > 0 and Σ B < 0.
        """
        b = self.balance_kwh
        pei, pee = float(self.pei_kwh.sum()), float(self.pee_kwh.sum())
        pe_nren = pei - pee  # Eq. 18 equals Eq. 17 with PEF_nren
        pe_ren = float(self.pe_ren_kwh.sum())
        total = pe_nren + pe_ren  # Eq. 20
        out = {
            "ped_balance_kwh": float(b.sum()),
            "pei_kwh": pei,
            "pee_kwh": pee,
            "pe_nren_kwh": pe_nren,
            "pe_ren_kwh": pe_ren,
            "pe_total_kwh": total,
            "rer": (pe_ren / total) if total != 0 else None,  # Eq. 21
            "co2eq_kg": float(self.co2eq_kg.sum()),
            "ed_kwh": {c: float(np.sum(v)) for c, v in self.delivered_kwh.items()},
            "exported_kwh": {c: float(np.sum(v)) for c, v in self.exported_kwh.items()},
        }
        if self.timestep == "monthly":
            out["uncompensated_pei_kwh"] = float(np.clip(b, 0, None).sum())
            out["worst_month"] = int(np.argmax(b)) + 1
            out["worst_month_balance_kwh"] = float(b.max())
            out["months_positive"] = int((b < 0).sum())
            out["is_ped"] = bool(b.max() <= 0 and b.sum() < 0)
        else:
            out["is_ped"] = bool(b.sum() < 0)
        if self.timestep == "hourly":
            out["hours_positive"] = int((b < 0).sum())
        return out


def primary_balance(delivered: Mapping, exported: Mapping, factors: Mapping, timestep: str,
                    calendar: Calendar) -> PeriodBalance:
    """Weight delivered and exported energy per period with each carrier's factors.

    Parameters
    ----------
    delivered, exported : dict carrier → ndarray (n_periods,)
        Netted energy per period [kWh].
    factors : dict carrier → CarrierFactors
    timestep : str
    calendar : Calendar

    Returns
    -------
    PeriodBalance

    Notes
    -----
    PEI_p = Σ_c ED_c,p · PEF_nren,c,p (Eq. 14); PEE_p = Σ_c EX_c,p · PEF_nren,exp,c,p (Eq. 15);
    PE_ren,p = Σ_c (ED·PEF_ren − EX·PEF_ren,exp) (Eq. 19); CO2eq_p = Σ_c (ED·ef − EX·ef_exp)
    (Eq. 22).
    """
    _, n = period_index(timestep, calendar)
    pei = np.zeros(n)
    pee = np.zeros(n)
    ren = np.zeros(n)
    co2 = np.zeros(n)
    for c in sorted(set(delivered) | set(exported)):
        if c not in factors:
            raise ConfigError(f"no primary energy factor for carrier '{c}'; add it to the factor set",
                              key=f"factors.{c}")
        f = factors[c]
        d = np.asarray(delivered.get(c, np.zeros(n)), dtype=float)
        e = np.asarray(exported.get(c, np.zeros(n)), dtype=float)

        def fac(name, c=c, f=f):
            return resolve_factor(f.get(name), timestep, calendar, f"factors.{c}.{name}")

        pei += d * fac("pef_nren")
        pee += e * fac("pef_nren_exp")
        ren += d * fac("pef_ren") - e * fac("pef_ren_exp")
        co2 += d * fac("co2_kg_per_kwh") - e * fac("co2_exp_kg_per_kwh")
    return PeriodBalance(timestep, dict(delivered), dict(exported), pei, pee, ren, co2)


def net_flows(use_kwh, prod_kwh, timestep: str, calendar: Calendar):
    """Delivered and exported energy per period for one node (Eqs. 11-12 per period).

    Parameters
    ----------
    use_kwh, prod_kwh : ndarray (..., H)
        Hourly use and on-site production of one carrier [kWh].

    Returns
    -------
    (ndarray, ndarray)
        delivered = max(U_p − P_p, 0), exported = max(P_p − U_p, 0) per period.
    """
    n = to_periods(np.asarray(use_kwh, float) - np.asarray(prod_kwh, float), timestep, calendar)
    return np.clip(n, 0, None), np.clip(-n, 0, None)


# --------------------------------------------------------------------------------------------
# grid indicators
# --------------------------------------------------------------------------------------------
def grid_indicators(load_kwh, onsite_kwh, import_kwh, export_kwh, dt_h: float = 1.0) -> dict:
    """Load matching and grid interaction indicators of one or many nodes.

    Parameters
    ----------
    load_kwh, onsite_kwh, import_kwh, export_kwh : ndarray (..., H)
        Hourly load, on-site generation, and grid import/export after storage/sharing [kWh].
    dt_h : float
        Step [h]; power = energy / dt.

    Returns
    -------
    dict of float or ndarray
        ``load_kwh``, ``onsite_kwh``, ``import_kwh``, ``export_kwh``, ``self_consumption_kwh``
        (on-site generation used within the node, directly or via storage), ``self_consumption``
        (= supply cover factor), ``self_sufficiency`` (= load cover factor),
        ``peak_import_kw``, ``peak_export_kw``, ``hours_net_export``, ``grid_interaction``.

    Notes
    -----
    Self-consumption = (G − X)/G and self-sufficiency = (L − I)/L, with G generation, X export,
    L load, I import (Salom et al. 2014, "Analysis of load match and grid interaction indicators
    in net zero energy buildings with simulated and monitored data", Applied Energy 136:119-131).
    Grid interaction index f_grid = std(n_h / max|n|), n_h = X_h − I_h (Salom et al. 2011,
    Proc. Building Simulation 2011, Sydney). Ratios are NaN when the denominator is 0.
    """
    L = np.asarray(load_kwh, float).sum(axis=-1)
    G = np.asarray(onsite_kwh, float).sum(axis=-1)
    imp = np.asarray(import_kwh, float)
    exp_ = np.asarray(export_kwh, float)
    Imp = imp.sum(axis=-1)
    X = exp_.sum(axis=-1)
    sc = G - X
    with np.errstate(invalid="ignore", divide="ignore"):
        scr = np.where(G > 0, sc / np.where(G > 0, G, 1.0), np.nan)
        ss = np.where(L > 0, (L - Imp) / np.where(L > 0, L, 1.0), np.nan)
        netx = exp_ - imp
        m = np.maximum(netx.max(axis=-1), -netx.min(axis=-1))  # max |n|
        gi = np.where(m > 0, netx.std(axis=-1) / np.where(m > 0, m, 1.0), 0.0)  # std(n / max|n|)
    out = {
        "load_kwh": L, "onsite_kwh": G, "import_kwh": Imp, "export_kwh": X,
        "self_consumption_kwh": sc, "self_consumption": scr, "self_sufficiency": ss,
        "peak_import_kw": imp.max(axis=-1) / dt_h, "peak_export_kw": exp_.max(axis=-1) / dt_h,
        "hours_net_export": (exp_ > 0).sum(axis=-1), "grid_interaction": gi,
    }
    if np.ndim(L) == 0:
        return {k: (float(v) if k != "hours_net_export" else int(v)) for k, v in out.items()}
    return out


def typical_day(hourly_kwh, calendar: Calendar, dt_h: float = 1.0) -> list:
    """Mean power per hour of day for each month: 12 × 24 nested list [kW], rounded to 1 W.

    The data of the typical-day load/PV chart (``district.json → timeseries.typical_day``).
    """
    v = np.asarray(hourly_kwh, dtype=float) / dt_h
    arr = np.zeros((12, 24))
    cnt = np.zeros((12, 24))
    np.add.at(arr, (calendar.month - 1, calendar.hour), v)
    np.add.at(cnt, (calendar.month - 1, calendar.hour), 1.0)
    return np.round(arr / np.maximum(cnt, 1), 3).tolist()


# --------------------------------------------------------------------------------------------
# the chunked driver
# --------------------------------------------------------------------------------------------
@dataclass
class ChunkInput:
    """Hourly series of a block of buildings.

    Attributes
    ----------
    carriers : dict carrier → (use (n, H), production (n, H))
        Hourly use and on-site production per carrier [kWh]; ``electricity`` includes heat-pump
        electricity, EV charging, etc.
    hp_heat_kwh, hp_elec_kwh : ndarray (n, H), optional
        Heat delivered by heat pumps and the electricity they take (part of the electricity use);
        needed for a thermal buffer.
    cop : ndarray (H,) or (n, H), optional
        Heat-pump COP per hour.
    """

    carriers: dict
    hp_heat_kwh: np.ndarray | None = None
    hp_elec_kwh: np.ndarray | None = None
    cop: np.ndarray | None = None


@dataclass
class BatterySpec:
    """Electric battery. ``level``: ``building`` (one per building, capacity per building, arrays
    allowed) or ``district`` (one community battery on the shared net position)."""

    capacity_kwh: object
    power_kw: object
    round_trip_efficiency: float = 0.9
    level: str = "building"
    initial_soc: float = 0.0
    self_discharge_per_h: float = 0.0


@dataclass
class ThermalSpec:
    """Thermal buffer for heat pumps at each building (capacity per building, arrays allowed)."""

    capacity_kwh: object
    hp_power_kw: object
    loss_per_h: float = 0.005


@dataclass
class TimeseriesResult:
    """What the time-resolved balance returns.

    Attributes
    ----------
    district : dict
        JSON-ready content of ``district.json["timeseries"]`` (see docs/outputs.md).
    buildings : DataFrame
        One row per building of the run (same order as the input), time-resolved columns.
    hourly : DataFrame
        District hourly series [kWh]: electricity load, on-site generation, import, export
        (after storage and sharing) and building-by-building import/export.
    """

    district: dict
    buildings: pd.DataFrame
    hourly: pd.DataFrame
    balances: dict = field(default_factory=dict)


def _slice(v, a, b, n):
    arr = np.asarray(v, dtype=float)
    if arr.ndim == 0:
        return np.full(b - a, float(arr))
    if arr.shape[0] != n:
        raise ConfigError(f"gives {arr.shape[0]} values, one per building needs {n}", key="storage")
    return arr[a:b]


def _electric_grid(ci: ChunkInput, a, b, n, battery, thermal):
    """Electricity of one chunk after the thermal buffer and building batteries."""
    use, prod = ci.carriers[ELECTRICITY]
    use = np.asarray(use, float)
    prod = np.asarray(prod, float)
    info = {}
    if thermal is not None and ci.hp_heat_kwh is not None:
        if ci.hp_elec_kwh is None or ci.cop is None:
            raise ConfigError("a thermal buffer needs the heat pumps' hourly heat, electricity and COP",
                              key="storage.thermal")
        other = use - ci.hp_elec_kwh - prod
        tb = thermal_buffer_dispatch(ci.hp_heat_kwh, ci.cop, other, _slice(thermal.capacity_kwh, a, b, n),
                                     _slice(thermal.hp_power_kw, a, b, n), thermal.loss_per_h)
        use = use - ci.hp_elec_kwh + tb.hp_elec_kwh
        info["thermal_stored_kwh"] = tb.stored_heat_kwh
        info["thermal_losses_kwh"] = tb.losses_kwh
    grid = use - prod
    if battery is not None and battery.level == "building":
        br = battery_dispatch(grid, _slice(battery.capacity_kwh, a, b, n), _slice(battery.power_kw, a, b, n),
                              battery.round_trip_efficiency, battery.initial_soc, battery.self_discharge_per_h)
        grid = br.grid_kwh
        info["battery_charge_kwh"] = br.charge_kwh
        info["battery_discharge_kwh"] = br.discharge_kwh
        info["battery_losses_kwh"] = br.losses_kwh
    return use, prod, grid, info


@dataclass
class _ChunkShared:
    """What every chunk's balance needs besides its rows (sent once to each Dask worker)."""

    make_chunk: Callable[[int, int], ChunkInput]
    n_buildings: int
    calendar: Calendar
    factors: Mapping
    battery: BatterySpec | None
    thermal: ThermalSpec | None
    internal: set
    exportable: object
    green_share: float
    keep_grid: bool


@dataclass
class ChunkBalance:
    """One chunk's share of the balance: its rows' per-building columns and primary energy, and
    its sums over buildings of the district's hourly series (reduced in chunk order)."""

    a: int
    b: int
    per_b: dict
    pe: dict  # timestep -> {"pei": (b-a,), "pee": (b-a,)}
    sums: dict  # carrier (not internal) -> U, P, I, E hourly sums over the chunk's rows
    periods: dict  # carrier -> timestep -> [delivered, exported] summed over the chunk's rows
    grid: tuple | None = None  # electricity (import, export) per row, when sharing needs them again


def chunk_balance(rows: tuple[int, int], s: _ChunkShared) -> ChunkBalance:
    """The balance of buildings ``rows`` = (start, stop): pure, here or on a Dask worker."""
    a, b = rows
    n, calendar, factors, exportable, internal = s.n_buildings, s.calendar, s.factors, s.exportable, s.internal
    H = calendar.n_hours
    ci = s.make_chunk(a, b)
    if ELECTRICITY not in ci.carriers:
        raise ConfigError("the hourly series need an 'electricity' carrier", key="timeseries")
    out = ChunkBalance(a=a, b=b, per_b={}, pe={t: {"pei": np.zeros(b - a), "pee": np.zeros(b - a)} for t in TIMESTEPS},
                       sums={}, periods={})
    for c, (u, p) in ci.carriers.items():
        if c == ELECTRICITY:
            use, prod, grid, info = _electric_grid(ci, a, b, n, s.battery, s.thermal)
            out.per_b.update(info)
        else:
            use, prod = np.asarray(u, float), np.asarray(p, float)
            grid = use - prod
        if use.shape != (b - a, H) or prod.shape != (b - a, H):
            raise ConfigError(f"carrier '{c}' series have shape {use.shape}/{prod.shape}, expected {(b - a, H)}",
                              key="timeseries")
        fb_month = to_periods(grid, "monthly", calendar)
        fb_year = grid.sum(axis=1, keepdims=True)
        imp = np.maximum(grid, 0.0)
        exp_ = imp - grid  # = max(-grid, 0)
        if c not in internal:  # district totals and netting
            out.sums[c] = {"U": use.sum(axis=0), "P": prod.sum(axis=0), "I": imp.sum(axis=0), "E": exp_.sum(axis=0)}
            out.periods[c] = {t: [np.maximum(F, 0.0).sum(axis=0), np.maximum(-F, 0.0).sum(axis=0)]
                              for t, F in (("annual", fb_year), ("monthly", fb_month))}
        # each building's own primary energy under every netting rule (Eqs. 14, 15, 17)
        f = factors.get(c)
        if f is None:
            raise ConfigError(f"no primary energy factor for carrier '{c}'; add it to the factor set",
                              key=f"factors.{c}")
        for t, F in (("annual", fb_year), ("monthly", fb_month), ("hourly", grid)):
            fd = resolve_factor(f.get("pef_nren"), t, calendar, f"factors.{c}.pef_nren")
            fe = resolve_factor(f.get("pef_nren_exp"), t, calendar, f"factors.{c}.pef_nren_exp")
            if c == ELECTRICITY and s.green_share:  # the contract's share of the delivered electricity
                if "green_electricity" not in factors:
                    raise ConfigError("no primary energy factor for carrier 'green_electricity'; add it to the "
                                      "factor set", key="factors.green_electricity")
                fg = resolve_factor(factors["green_electricity"].get("pef_nren"), t, calendar,
                                    "factors.green_electricity.pef_nren")
                fd = (1.0 - s.green_share) * fd + s.green_share * fg
            out.pe[t]["pei"] += np.maximum(F, 0.0) @ fd
            if exportable is None or c in exportable or c in internal:
                out.pe[t]["pee"] += np.maximum(-F, 0.0) @ fe
        if c == ELECTRICITY:
            out.per_b.update(grid_indicators(use, prod, imp, exp_))
            if s.keep_grid:
                out.grid = (imp, exp_)
    return out


def _map_chunks(chunks, shared: _ChunkShared, reduce, progress) -> None:
    """``reduce(k, rows, chunk_balance(rows))`` for every chunk: here, or on the Dask cluster of
    :func:`pedgis.cluster.current_client` when there is one and more than one chunk."""
    from ..cluster import current_client, map_bounded

    client = current_client()
    if client is None or len(chunks) < 2:
        for k, (a, b) in enumerate(chunks):
            progress(0.8 * k / len(chunks), f"hourly balance, buildings {a + 1}-{b} of {shared.n_buildings}")
            reduce(k, (a, b), chunk_balance((a, b), shared))
        return
    map_bounded(client, chunk_balance, chunks, len(chunks), shared, reduce, scaled(progress, 0.0, 0.8),
                what="hourly balance chunks")


def run_balance(make_chunk: Callable[[int, int], ChunkInput], n_buildings: int, calendar: Calendar,
                factors: Mapping, timestep: str = "hourly", *, chunk_size: int = 512,
                battery: BatterySpec | None = None, thermal: ThermalSpec | None = None,
                sharing: bool = False, exportable=None, green_share: float = 0.0,
                network_storage: BatterySpec | None = None, progress=None,
                internal=()) -> TimeseriesResult:
    """Time-resolved PED balance of a district, processed in chunks of buildings.

    Parameters
    ----------
    make_chunk : callable (start, stop) → ChunkInput
        Builds the hourly series of buildings ``start:stop``; called once per chunk (twice when
        sharing needs per-building allocations and there is more than one chunk).
    n_buildings : int
    calendar : Calendar
    factors : dict carrier → CarrierFactors
    timestep : {'annual', 'monthly', 'hourly'}
        The netting rule of the headline verdict; the three rules are all reported.
    chunk_size : int
        Buildings per chunk: memory ≈ chunk_size × H × 8 bytes × ~10 arrays.
    battery, thermal : BatterySpec, ThermalSpec, optional
    sharing : bool
        Electricity: net on the district's summed position (energy community, and the paper's
        district-level netting) instead of building by building (each building meters alone).
        Other carriers (fuels, heat networks) are always netted at district level, as in the
        annual engine: a heat network is shared by construction.
    exportable : set of str, optional
        Carriers whose surplus may be exported (default: all). A non-exportable surplus is
        reported as ``unused_kwh`` and earns no credit (paper §2.5, Eq. 11-12).
    green_share : float
        Share of the delivered grid electricity bought under a green contract (virtual boundary
        only, paper §2.1): moved to the carrier ``green_electricity`` in every period.
    network_storage : BatterySpec, optional
        A heat-network buffer (e.g. a district tank for solar thermal): stores the district's
        hourly ``district_heat`` surplus and gives it back when the network needs heat; its
        standing loss is ``self_discharge_per_h``.
    progress : callable(fraction, message), optional
    internal : collection of str, optional
        Carriers traded inside the district only, e.g. ``heat_network:<name>``, the heat a
        district heat network (one row) delivers to the substations of the buildings (other
        rows): they enter each row's own balance with their own factors (the network's factor,
        as in the annual engine) and never the district's, which nets the network's fuels and
        its external heat instead.

    Returns
    -------
    TimeseriesResult
    """
    check_timestep(timestep)
    progress = progress or no_progress
    if battery is not None and battery.level not in ("building", "district"):
        raise ConfigError(f"unknown level {battery.level!r}; use 'building' or 'district'", key="storage.battery.level")
    if battery is not None and battery.level == "district" and not sharing:
        raise ConfigError("a district (community) battery serves the shared net position; enable [sharing] "
                          "or set level = \"building\"", key="storage.battery.level")
    if n_buildings <= 0:
        raise ConfigError("no included building to balance", key="boundary")
    H = calendar.n_hours
    chunks = [(a, min(a + chunk_size, n_buildings)) for a in range(0, n_buildings, chunk_size)]
    shared = _ChunkShared(make_chunk, n_buildings, calendar, factors, battery, thermal, set(internal),
                          exportable, green_share, keep_grid=sharing and len(chunks) == 1)
    # map: each chunk's own balance (pure); reduce: summed in chunk order, as one loop would
    per_b: dict[str, np.ndarray] = {}
    carriers_seen: list[str] = []
    hourly: dict[str, dict[str, np.ndarray]] = {}   # carrier → U, P, I, E (building by building)
    bb_periods: dict[str, dict[str, list]] = {}      # carrier → timestep → [delivered, exported]
    bb_pe = {t: {"pei": np.zeros(n_buildings), "pee": np.zeros(n_buildings)} for t in TIMESTEPS}
    cached = None
    waiting: dict[int, ChunkBalance] = {}
    next_k = 0

    def reduce(k: int, _rows, out: ChunkBalance) -> None:
        nonlocal cached, next_k
        waiting[k] = out
        while next_k in waiting:  # summed in chunk order, however they finish: bit for bit
            o = waiting.pop(next_k)
            next_k += 1
            for key, v in o.per_b.items():
                per_b.setdefault(key, np.zeros(n_buildings))[o.a:o.b] = v
            for t in TIMESTEPS:
                bb_pe[t]["pei"][o.a:o.b] = o.pe[t]["pei"]
                bb_pe[t]["pee"][o.a:o.b] = o.pe[t]["pee"]
            for c, sums in o.sums.items():
                if c not in carriers_seen:
                    carriers_seen.append(c)
                    hourly[c] = {k2: np.zeros(H) for k2 in ("U", "P", "I", "E")}
                    bb_periods[c] = {t: [0.0, 0.0] for t in TIMESTEPS}
                hs, periods = hourly[c], bb_periods[c]
                for k2 in ("U", "P", "I", "E"):
                    hs[k2] += sums[k2]
                for t in ("annual", "monthly"):
                    periods[t][0] = periods[t][0] + o.periods[c][t][0]
                    periods[t][1] = periods[t][1] + o.periods[c][t][1]
                periods["hourly"] = [hs["I"], hs["E"]]
            if o.grid is not None:
                cached = o.grid

    _map_chunks(chunks, shared, reduce, progress)
    # ---- district level -------------------------------------------------------------------
    el = hourly[ELECTRICITY]
    totals = _sharing.SharingTotals(surplus_kwh=el["E"].copy(), deficit_kwh=el["I"].copy())
    district_net = {c: hourly[c]["I"] - hourly[c]["E"] for c in carriers_seen}
    battery_district = None
    if battery is not None and battery.level == "district":
        br = battery_dispatch(district_net[ELECTRICITY], float(np.sum(battery.capacity_kwh)),
                              float(np.sum(battery.power_kw)), battery.round_trip_efficiency,
                              battery.initial_soc, battery.self_discharge_per_h)
        district_net[ELECTRICITY] = br.grid_kwh
        battery_district = {"charge_kwh": float(br.charge_kwh[0]), "discharge_kwh": float(br.discharge_kwh[0]),
                            "losses_kwh": float(br.losses_kwh[0]), "soc_end_kwh": float(br.soc_end_kwh[0])}
    network_out = None
    if network_storage is not None and "district_heat" in district_net:
        hr = battery_dispatch(district_net["district_heat"], float(np.sum(network_storage.capacity_kwh)),
                              float(np.sum(network_storage.power_kw)), network_storage.round_trip_efficiency,
                              network_storage.initial_soc, network_storage.self_discharge_per_h)
        district_net["district_heat"] = hr.grid_kwh
        network_out = {"charge_kwh": float(hr.charge_kwh[0]), "discharge_kwh": float(hr.discharge_kwh[0]),
                       "losses_kwh": float(hr.losses_kwh[0]), "soc_end_kwh": float(hr.soc_end_kwh[0])}
    balances = {}
    unused = {}
    for t in TIMESTEPS:
        dl, ex = {}, {}
        for c in carriers_seen:
            if sharing or c != ELECTRICITY:
                F = to_periods(district_net[c], t, calendar)
                F = np.where(np.abs(F) < NET_TOLERANCE_KWH, 0.0, F)  # rounding noise of equal use and production
                dl[c], ex[c] = np.maximum(F, 0.0), np.maximum(-F, 0.0)
            else:
                dl[c], ex[c] = np.asarray(bb_periods[c][t][0], float), np.asarray(bb_periods[c][t][1], float)
            if exportable is not None and c not in exportable:
                unused.setdefault(t, {})[c] = float(np.sum(ex[c]))
                ex[c] = np.zeros_like(ex[c])
        if green_share and ELECTRICITY in dl:
            dl["green_electricity"] = dl[ELECTRICITY] * green_share
            ex["green_electricity"] = np.zeros_like(dl[ELECTRICITY])
            dl[ELECTRICITY] = dl[ELECTRICITY] * (1.0 - green_share)
        balances[t] = primary_balance(dl, ex, factors, t, calendar)
    # ---- sharing allocation (second pass when several chunks) --------------------------------
    if sharing:
        progress(0.85, "allocating shared energy to buildings")
        per_b["shared_in_kwh"] = np.zeros(n_buildings)
        per_b["shared_out_kwh"] = np.zeros(n_buildings)
        for a, b in chunks:
            if cached is not None:
                imp, exp_ = cached
            else:
                _, _, grid, _ = _electric_grid(make_chunk(a, b), a, b, n_buildings, battery, thermal)
                imp, exp_ = np.maximum(grid, 0.0), np.maximum(-grid, 0.0)
            al = _sharing.allocate(imp, exp_, totals)
            per_b["shared_in_kwh"][a:b] = al.received_kwh
            per_b["shared_out_kwh"][a:b] = al.given_kwh
    progress(0.95, "time-resolved indicators")
    # ---- district indicators -------------------------------------------------------------------
    dn = district_net[ELECTRICITY]
    d_imp = np.maximum(dn, 0.0) if sharing else el["I"]
    d_exp = np.maximum(-dn, 0.0) if sharing else el["E"]
    ind = grid_indicators(el["U"], el["P"], d_imp, d_exp)
    bb = grid_indicators(el["U"], el["P"], el["I"], el["E"])
    ind["shared_kwh"] = float(totals.shared_kwh.sum()) if sharing else 0.0
    ind["building_by_building"] = {k: bb[k] for k in ("import_kwh", "export_kwh", "self_consumption",
                                                      "self_sufficiency", "peak_import_kw", "peak_export_kw")}
    ind["community_potential_kwh"] = float(totals.shared_kwh.sum())
    mb = balances["monthly"]
    el_month = {k: to_periods(v, "monthly", calendar) for k, v in
                (("load_kwh", el["U"]), ("onsite_kwh", el["P"]), ("import_kwh", d_imp), ("export_kwh", d_exp))}
    typical = {key: typical_day(v, calendar) for key, v in
               (("load_kw", el["U"]), ("onsite_kw", el["P"]), ("import_kw", d_imp), ("export_kw", d_exp))}
    storage_out = {}
    if battery is not None:
        storage_out["battery"] = {"level": battery.level, "round_trip_efficiency": battery.round_trip_efficiency}
        if battery.level == "building":
            for k2 in ("charge_kwh", "discharge_kwh", "losses_kwh"):
                storage_out["battery"][k2] = float(per_b[f"battery_{k2}"].sum())
        else:
            storage_out["battery"].update(battery_district)
    if network_out is not None:
        storage_out["heat_network"] = network_out
    if thermal is not None and "thermal_stored_kwh" in per_b:
        storage_out["thermal"] = {"stored_heat_kwh": float(per_b["thermal_stored_kwh"].sum()),
                                  "losses_kwh": float(per_b["thermal_losses_kwh"].sum())}
    district = {
        "timestep": timestep,
        "netting_level": "district (energy community)" if sharing else "building by building",
        "verdict": balances[timestep].summary(),
        "netting": {t: {**balances[t].summary(), "unused_kwh": unused.get(t, {})} for t in TIMESTEPS},
        "electricity": ind,
        "storage": storage_out,
        "monthly": {
            "month": list(range(1, 13)),
            "pei_kwh": mb.pei_kwh.tolist(), "pee_kwh": mb.pee_kwh.tolist(),
            "balance_kwh": mb.balance_kwh.tolist(),
            **{k: v.tolist() for k, v in el_month.items()},
        },
        "typical_day": {"hour": list(range(24)), "month": list(range(1, 13)), **typical},
        "totals_kwh": {c: {"use": float(hourly[c]["U"].sum()), "production": float(hourly[c]["P"].sum())}
                       for c in carriers_seen},
    }
    buildings = pd.DataFrame({
        "ts_load_kwh": per_b["load_kwh"], "ts_onsite_kwh": per_b["onsite_kwh"],
        "ts_import_kwh": per_b["import_kwh"], "ts_export_kwh": per_b["export_kwh"],
        "self_consumption_kwh": per_b["self_consumption_kwh"],
        "self_consumption": per_b["self_consumption"], "self_sufficiency": per_b["self_sufficiency"],
        "peak_import_kw": per_b["peak_import_kw"], "peak_export_kw": per_b["peak_export_kw"],
        "hours_net_export": per_b["hours_net_export"].astype(int),
        "grid_interaction": per_b["grid_interaction"],
        **{f"{k}_{t}_kwh": v for t in TIMESTEPS for k, v in (("pei", bb_pe[t]["pei"]), ("pee", bb_pe[t]["pee"]),
                                                              ("ped_balance", bb_pe[t]["pei"] - bb_pe[t]["pee"]))},
    })
    for k in ("shared_in_kwh", "shared_out_kwh", "battery_charge_kwh", "battery_discharge_kwh",
              "battery_losses_kwh", "thermal_stored_kwh", "thermal_losses_kwh"):
        if k in per_b:
            buildings[k] = per_b[k]
    hourly_df = pd.DataFrame({
        "load_kwh": el["U"], "onsite_kwh": el["P"], "import_kwh": d_imp, "export_kwh": d_exp,
        "import_building_by_building_kwh": el["I"], "export_building_by_building_kwh": el["E"],
    })
    progress(1.0, "time-resolved balance done")
    return TimeseriesResult(district=district, buildings=buildings, hourly=hourly_df, balances=balances)
