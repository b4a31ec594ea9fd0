"""What would close the gap to a positive energy balance, computed from a result.

Two levers the paper names (§2.2, §2.4, §3): more on-site renewable electricity (PV) and
lower needs (retrofitting buildings to the NZEB specific needs of Table 1). Both are worked
out from the district's own carriers and factors, not guessed:

* the PED balance is ``PEI − PEE`` (Eq. 17) with ``PEI = Σ delivered·PEF_nren`` (Eq. 14) and
  ``PEE = Σ exported·PEF_nren,export`` (Eq. 15), delivered and exported per carrier from the
  annual surplus/deficit (Eq. 11–13);
* one more kWh of on-site electricity first replaces an imported kWh (saves PEF_nren of
  electricity) and, once nothing is imported any more, is exported (earns PEF_nren,export);
* one kWh less of carrier demand likewise first saves an import, then frees on-site
  production for export.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pedgis.viz.inputs import finite

#: Paper Table 1, "NZEB specific energy needs" [kWh m⁻² a⁻¹]; heating is given as the range
#: 9–34 depending on climate, the upper bound is used (a conservative, southern-EU value).
PAPER_NZEB_NEEDS = {"sh": 34.0, "sc": 15.0, "dhw": 10.0}
PAPER_NZEB_SOURCE = (
    "Gabaldón Moreno et al. 2021, Table 1, NZEB column: heating 9–34 (upper bound used; "
    "Zebra2020 nZEB tool), cooling 15 (Passive House requirement), DHW 10 (MAKING-CITY demos)"
)

_SERVICE_COLUMNS = {"sh": "ten_sh_kwh", "sc": "ten_sc_kwh", "dhw": "ten_dhw_kwh"}


def packaged_nzeb_needs() -> tuple[dict, str] | tuple[None, None]:
    """NZEB specific thermal needs per use type from ``pedgis/data/specific_needs.csv``.

    Returns ``({use: {"sh": .., "sc": .., "dhw": ..}}, source text)`` or ``(None, None)``
    when the table is not there.
    """
    from importlib import resources

    import pandas as pd

    try:
        path = resources.files("pedgis") / "data" / "specific_needs.csv"
        with resources.as_file(path) as p:
            df = pd.read_csv(p)
    except (FileNotFoundError, OSError):
        return None, None
    need = {"set", "use", "need", "value"}
    if not need <= set(df.columns):
        return None, None
    df = df[(df["set"] == "nzeb") & df["need"].isin(list(_SERVICE_COLUMNS))]
    if df.empty:
        return None, None
    table: dict = {}
    for row in df.itertuples():
        table.setdefault(str(row.use), {})[str(row.need)] = float(row.value)
    sources = sorted({str(s) for s in df.get("source", pd.Series(dtype=str)).dropna()})
    return table, "pedgis/data/specific_needs.csv, set 'nzeb' (" + " | ".join(sources[:3]) + (
        " …" if len(sources) > 3 else "") + ")"


def service_key(service: str) -> str | None:
    """Map a breakdown service name onto ``sh``/``sc``/``dhw`` (None for electric needs)."""
    s = str(service).lower().replace("-", "_").replace(" ", "_")
    if s in ("sh", "space_heating", "heating") or ("heat" in s and "water" not in s
                                                      and "dhw" not in s):
        return "sh"
    if s in ("sc", "space_cooling", "cooling") or "cool" in s:
        return "sc"
    if "dhw" in s or "hot_water" in s:
        return "dhw"
    return None


def electricity_carrier(carriers: list[dict]) -> dict | None:
    """The grid electricity row of ``breakdown.carriers`` (largest electric flow)."""
    rows = [c for c in carriers if "electric" in str(c.get("carrier", "")).lower()
            and "green" not in str(c.get("carrier", "")).lower()]
    if not rows:
        return None

    def size(c):
        return sum(finite(c.get(k)) or 0.0 for k in ("demand_kwh", "delivered_kwh",
                                                       "exported_kwh"))

    return max(rows, key=size)


def _saving(x: float, delivered: float, f_imp: float, f_exp: float,
            exported: float = 0.0) -> float:
    """Primary energy saved [kWh] by ``x`` kWh less net demand of one carrier (Eq. 14–15).

    ``x > 0``: first imports avoided (PEF_nren), then on-site supply freed for export (export
    factor). ``x < 0`` (less on-site production, e.g. a heat-led CHP's electricity): first
    exports lost (export factor), then more imports (PEF_nren); the saving is negative.
    """
    if x >= 0:
        return f_imp * min(x, delivered) + f_exp * max(0.0, x - delivered)
    y = -x
    return -(f_exp * min(y, exported) + f_imp * max(0.0, y - exported))


def demand_following_substitution(breakdown: dict) -> dict[str, dict[str, float]]:
    """Per carrier served by fuel-fired on-site generation that follows demand, what one kWh
    less of its demand changes in other carriers.

    A carrier counts as demand-following when nothing of it is imported or exported
    (``delivered_kwh`` = ``exported_kwh`` = 0) and generators with a fuel input produce it
    (e.g. district heat from a heat-led CHP). One kWh less then means
    ``Σ input / Σ output`` kWh less fuel (a demand reduction of the fuel carrier) and, for a
    CHP, ``other output / output`` kWh less of its co-products (a negative reduction, e.g. less
    on-site electricity). Returns ``{carrier: {other carrier: kWh per kWh}}``.

    Notes
    -----
    Eq. 13 (fuel to CHP counted once) with the generator's annual input/output ratios from
    ``breakdown.generation``; a generator without a fuel input (PV, solar thermal) does not
    follow demand, its surplus is exported instead.
    """
    car = {str(c.get("carrier")): c for c in breakdown.get("carriers") or []}
    gens = [g for g in breakdown.get("generation") or []
            if g.get("input_carrier") and (finite(g.get("input_kwh")) or 0) > 0
            and (finite(g.get("output_kwh")) or 0) > 0]
    out: dict[str, dict[str, float]] = {}
    resources = {str(g.get("input_carrier")) for g in breakdown.get("generation") or []}

    def serves(output: str, carrier: str) -> bool:  # "heat" serves "district_heat"
        return output == carrier or carrier.endswith("_" + output)

    for c, row in car.items():
        if (finite(row.get("delivered_kwh")) or 0) > 0 or (finite(row.get("exported_kwh")) or 0) > 0:
            continue
        if c in resources:  # a generator's own input (pv_electricity, ambient heat …)
            continue
        mine = [g for g in gens if serves(str(g.get("output")), c)
                and "pv" not in str(g.get("input_carrier"))
                and "solar" not in str(g.get("input_carrier"))]
        if not mine:
            continue
        produced = sum(finite(g["output_kwh"]) for g in mine)
        names = {str(g.get("name")) for g in mine}
        effects: dict[str, float] = {}
        for g in gens:
            if str(g.get("name")) not in names:
                continue
            fuel = str(g["input_carrier"])
            effects[fuel] = effects.get(fuel, 0.0) + finite(g["input_kwh"]) / produced
            o = str(g.get("output"))
            if not serves(o, c):  # a co-product (CHP electricity when heat leads)
                target = o if o in car else next((k for k in car if serves(o, k)
                                                  and k not in resources), o)
                effects[target] = effects.get(target, 0.0) - finite(g["output_kwh"]) / produced
        out[c] = effects
    return out


@dataclass
class PVGap:
    """Extra on-site PV electricity that brings the balance to zero.

    Attributes
    ----------
    balance_kwh : float
        Current PED balance PEI − PEE [kWh a⁻¹].
    additional_kwh : float or None
        Extra PV yield needed [kWh a⁻¹] (0 when already positive; None when impossible).
    additional_kwp : float or None
        The same at the district's current specific yield [kWp].
    additional_area_m2 : float or None
        The same at the current yield per m² of PV area [m²].
    note : str
        How it was computed or why it cannot be.
    """

    balance_kwh: float
    additional_kwh: float | None
    additional_kwp: float | None = None
    additional_area_m2: float | None = None
    specific_yield_kwh_kwp: float | None = None
    note: str = ""


def pv_gap(district: dict, buildings: Any = None) -> PVGap:
    """Additional PV electricity [kWh a⁻¹] needed for PEI − PEE = 0.

    Notes
    -----
    With ``B`` the balance (Eq. 17), ``D`` the electricity delivered, ``f_i`` its PEF_nren and
    ``f_e`` its export PEF_nren: if ``B ≤ D·f_i`` the extra PV only displaces imports,
    ``ΔPV = B / f_i``; otherwise all imports go and the rest is exported,
    ``ΔPV = D + (B − D·f_i) / f_e`` (Eq. 11–15 with annual netting per carrier).
    """
    bal = finite(district.get("ped_balance_kwh"))
    if bal is None:
        return PVGap(float("nan"), None, note="district.json has no ped_balance_kwh")
    if bal <= 0:
        return PVGap(bal, 0.0, note="the district is already positive; the margin is "
                     f"{-bal:,.0f} kWh of primary energy")
    el = electricity_carrier((district.get("breakdown") or {}).get("carriers") or [])
    if el is None:
        return PVGap(bal, None, note="no electricity carrier in district.json breakdown")
    d = finite(el.get("delivered_kwh")) or 0.0
    f_i = finite(el.get("pef_nren")) or 0.0
    f_e = finite(el.get("pef_nren_export"))
    f_e = f_i if f_e is None else f_e
    if d * f_i >= bal and f_i > 0:
        extra = bal / f_i
        how = (f"displaces imported electricity only: ΔPV = B / PEF_nren = {bal:,.0f} / "
               f"{f_i:g}")
    elif f_e > 0:
        extra = d + (bal - d * f_i) / f_e
        if d > 0:
            how = (f"replaces all {d:,.0f} kWh of imported electricity, the rest is exported: "
                   f"ΔPV = D + (B − D·PEF_nren) / PEF_nren,export = {d:,.0f} + "
                   f"({bal:,.0f} − {d:,.0f}·{f_i:g}) / {f_e:g}")
        else:
            how = (f"no electricity is imported, so every extra kWh is exported: "
                   f"ΔPV = B / PEF_nren,export = {bal:,.0f} / {f_e:g}")
    else:
        return PVGap(bal, None, note="exported electricity earns no primary energy "
                     "(PEF_nren,export = 0) and imports are too small: PV alone cannot close "
                     "the gap")
    out = PVGap(bal, extra, note=how)
    if buildings is not None and "pv_kwh" in buildings and "pv_kwp" in buildings:
        kwh = np.asarray(buildings["pv_kwh"], float)
        kwp = np.asarray(buildings["pv_kwp"], float)
        ok = np.isfinite(kwh) & np.isfinite(kwp) & (kwp > 0)
        if ok.any() and kwp[ok].sum() > 0:
            out.specific_yield_kwh_kwp = kwh[ok].sum() / kwp[ok].sum()
            out.additional_kwp = extra / out.specific_yield_kwh_kwp
        if "pv_area_m2" in buildings:
            area = np.asarray(buildings["pv_area_m2"], float)
            ok2 = np.isfinite(kwh) & np.isfinite(area) & (area > 0)
            if ok2.any() and area[ok2].sum() > 0:
                out.additional_area_m2 = extra / (kwh[ok2].sum() / area[ok2].sum())
    return out


@dataclass
class RetrofitGap:
    """Buildings to retrofit to NZEB needs (best first) to bring the balance to zero.

    Attributes
    ----------
    balance_kwh : float
        Current balance [kWh a⁻¹].
    n_needed : int or None
        Buildings to retrofit (None: even all together do not close the gap).
    n_candidates : int
        Included buildings whose thermal needs exceed the NZEB needs.
    n_included : int
        Included buildings.
    share_buildings : float or None
        ``n_needed / n_included``.
    share_floor_area : float or None
        Their share of the included floor area.
    saving_all_kwh : float
        Primary energy saved when every candidate is retrofitted [kWh a⁻¹].
    building_ids : list of str
        The buildings in the order chosen (largest saving first).
    """

    balance_kwh: float
    n_needed: int | None
    n_candidates: int
    n_included: int
    share_buildings: float | None
    share_floor_area: float | None
    saving_all_kwh: float
    building_ids: list = field(default_factory=list)
    nzeb_needs: dict = field(default_factory=dict)
    source: str = ""
    note: str = ""


def retrofit_gap(district: dict, buildings: Any, nzeb_needs: dict | None = None,
                 source: str | None = None) -> RetrofitGap:
    """Smallest number of buildings to retrofit to NZEB thermal needs for PEI − PEE ≤ 0.

    Parameters
    ----------
    district : dict
        ``district.json`` (uses ``breakdown.uses`` and ``breakdown.carriers``).
    buildings : DataFrame
        Buildings layer (``included``, ``floor_area_m2``, ``ten_sh_kwh``, ``ten_sc_kwh``,
        ``ten_dhw_kwh``, ``building_id``).
    nzeb_needs : dict, optional
        NZEB specific needs [kWh m⁻² a⁻¹] as ``{"sh": .., "sc": .., "dhw": ..}`` or per use
        type ``{use: {"sh": ..}}``. Default: the paper's Table 1 NZEB column.

    Notes
    -----
    For building ``b`` and thermal service ``s`` the need drops by
    ``ΔTEN = max(TEN_s − NZEB_s·A_floor, 0)`` (Eq. 1 with NZEB specific needs). The carrier
    input per kWh of need comes from ``breakdown.uses`` for the building's own system
    (columns ``system_sh``/``system_sc``/``system_dhw``), else from the district mix of the
    service (Eq. 6–8). Carriers made on site by demand-following generators (a heat-led CHP)
    pass the reduction on to their fuel and co-products
    (:func:`demand_following_substitution`). Carrier savings are turned into primary energy with the imported
    factor while the carrier is still imported and with the export factor beyond (Eq. 14–15).
    Buildings are taken largest saving first; the result is the first count for which the
    balance reaches zero.
    """
    bal = finite(district.get("ped_balance_kwh")) or 0.0
    bd = district.get("breakdown") or {}
    if nzeb_needs is None:
        nzeb_needs, source = dict(PAPER_NZEB_NEEDS), PAPER_NZEB_SOURCE
    source = source or "given by the caller"
    included = (np.asarray(buildings["included"].fillna(False), bool)
                if "included" in buildings else np.ones(len(buildings), bool))
    n_inc = int(included.sum())
    # carrier input per kWh of need: per (service, system) from breakdown.uses, and the
    # district mix per service for buildings whose system is not known
    need_s: dict[str, float] = {}
    input_sc: dict[tuple[str, str], float] = {}
    need_sys: dict[tuple[str, str], float] = {}
    input_sys: dict[tuple[str, str], dict[str, float]] = {}
    for row in bd.get("uses") or []:
        s = service_key(row.get("service", ""))
        if s is None:
            continue
        n, i = finite(row.get("need_kwh")) or 0.0, finite(row.get("input_kwh")) or 0.0
        c, sysname = str(row.get("carrier")), str(row.get("system", ""))
        need_s[s] = need_s.get(s, 0.0) + n
        input_sc[(s, c)] = input_sc.get((s, c), 0.0) + i
        need_sys[(s, sysname)] = need_sys.get((s, sysname), 0.0) + n
        per = input_sys.setdefault((s, sysname), {})
        per[c] = per.get(c, 0.0) + i
    ratio = {k: v / need_s[k[0]] for k, v in input_sc.items() if need_s.get(k[0], 0) > 0}
    ratio_sys = {k: {c: i / need_sys[k] for c, i in per.items()}
                 for k, per in input_sys.items() if need_sys.get(k, 0) > 0}
    car = {str(c.get("carrier")): c for c in bd.get("carriers") or []}
    area = np.asarray(buildings.get("floor_area_m2", np.nan), float) * np.ones(len(buildings))
    uses = (buildings["use"].astype(str).tolist() if "use" in buildings
            else [""] * len(buildings))
    deltas = {}
    for s, col in _SERVICE_COLUMNS.items():
        cur = (np.asarray(buildings[col], float) if col in buildings
               else np.zeros(len(buildings)))
        target = np.array([_nzeb_value(nzeb_needs, u, s) for u in uses]) * area
        d = np.where(np.isfinite(cur) & np.isfinite(target), cur - target, 0.0)
        deltas[s] = np.where(included, np.maximum(d, 0.0), 0.0)
    # carrier demand reduction per building
    n_b = len(buildings)
    carrier_delta: dict[str, np.ndarray] = {}
    for s in _SERVICE_COLUMNS:
        col = f"system_{s}"
        systems = (buildings[col].fillna("").astype(str).tolist() if col in buildings
                   else [""] * n_b)
        known = np.array([(s, x) in ratio_sys for x in systems])
        for c, r in ((c, r) for (s2, c), r in ratio.items() if s2 == s):
            # buildings without a known system: the district mix of this service
            carrier_delta[c] = carrier_delta.get(c, np.zeros(n_b)) + np.where(
                known, 0.0, r * deltas[s])
        for k, x in enumerate(systems):
            if known[k] and deltas[s][k] > 0:
                for c, r in ratio_sys[(s, x)].items():
                    carrier_delta.setdefault(c, np.zeros(n_b))[k] += r * deltas[s][k]
    # carriers made on site by demand-following generators pass the reduction on to the
    # fuel (and take the co-products with them)
    for c, effects in demand_following_substitution(bd).items():
        if c not in carrier_delta:
            continue
        x = carrier_delta.pop(c)
        for other, k in effects.items():
            carrier_delta[other] = carrier_delta.get(other, np.zeros(n_b)) + k * x

    def _factors(c):
        row = car.get(c, {})
        fi = finite(row.get("pef_nren")) or 0.0
        fe = finite(row.get("pef_nren_export"))
        return (finite(row.get("delivered_kwh")) or 0.0, fi, fi if fe is None else fe,
                finite(row.get("exported_kwh")) or 0.0)

    # ranking: each building's saving on its own at the current margins
    benefit = np.zeros(n_b)
    for c, v in carrier_delta.items():
        d, fi, fe, e = _factors(c)
        benefit += np.array([_saving(float(x), d, fi, fe, e) for x in v])
    order = [i for i in np.argsort(-benefit, kind="stable") if benefit[i] > 0]

    def saving(cum: dict[str, float]) -> float:
        return sum(_saving(x, *_factors(c)) for c, x in cum.items())

    ids = (buildings["building_id"].astype(str).tolist() if "building_id" in buildings
           else [str(i) for i in range(len(buildings))])
    cum = dict.fromkeys(carrier_delta, 0.0)
    n_needed = None
    chosen = []
    if bal <= 0:
        n_needed = 0
    for i in order:
        if n_needed is not None:
            break
        for c in cum:
            cum[c] += float(carrier_delta[c][i])
        chosen.append(ids[i])
        if saving(cum) >= bal:
            n_needed = len(chosen)
    all_cum = {c: float(v[order].sum()) for c, v in carrier_delta.items()}
    saving_all = saving(all_cum)
    inc_area = float(np.nansum(np.where(included, area, 0.0)))
    share_area = None
    if n_needed is not None and inc_area > 0:
        idx = [ids.index(b) for b in chosen[:n_needed]]
        share_area = float(np.nansum(area[idx])) / inc_area
    note = ("" if n_needed is not None else
            f"retrofitting all {len(order)} candidate buildings saves {saving_all:,.0f} kWh of "
            f"primary energy, {bal - saving_all:,.0f} kWh short of a zero balance")
    return RetrofitGap(
        balance_kwh=bal, n_needed=n_needed, n_candidates=len(order), n_included=n_inc,
        share_buildings=(n_needed / n_inc if n_needed is not None and n_inc else None),
        share_floor_area=share_area, saving_all_kwh=saving_all,
        building_ids=chosen[: n_needed or 0] if n_needed else [],
        nzeb_needs=nzeb_needs, source=source, note=note,
    )


def _nzeb_value(table: dict, use: str, service: str) -> float:
    if service in table and not isinstance(table[service], dict):
        return float(table[service])
    per_use = table.get(use) or table.get("default") or {}
    v = per_use.get(service) if isinstance(per_use, dict) else None
    return float(v) if v is not None else math.nan
