"""Step 7: the PED balance and the indicators (paper §2.7, Eq. 17; §2.9, Eq. 18–22)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import delivered as dlv
from . import primary as pri


def ped_balance(pei_kwh, pee_kwh):
    """MAKING-CITY PED balance (Eq. 17): PED balance = PEI − PEE [kWh a⁻¹].

    Negative means the district exports more non-renewable primary energy than it imports:
    it is a positive energy district.
    """
    return np.asarray(pei_kwh, dtype=float) - np.asarray(pee_kwh, dtype=float)


def is_positive(balance_kwh) -> bool | np.ndarray:
    """True where the PED balance is negative (Eq. 17: PEE > PEI)."""
    b = np.asarray(balance_kwh, dtype=float)
    out = b < 0
    return bool(out) if out.ndim == 0 else out


def pe_nren(delivered_kwh, pef_nren, exported_kwh, pef_nren_export):
    """Net non-renewable primary energy (Eq. 18) [kWh a⁻¹].

    PE_nren = Σ_c ED_c · PEF_nren,c − Σ_c EX_c · PEF_nren,export,c, which equals the PED balance
    of Eq. 17.
    """
    return (np.sum(np.asarray(delivered_kwh, float) * np.asarray(pef_nren, float), axis=-1)
            - np.sum(np.asarray(exported_kwh, float) * np.asarray(pef_nren_export, float), axis=-1))


def pe_ren(delivered_kwh, pef_ren, exported_kwh, pef_ren_export):
    """Net renewable primary energy (Eq. 19) [kWh a⁻¹].

    PE_ren = Σ_c ED_c · PEF_ren,c − Σ_c EX_c · PEF_ren,export,c.
    """
    return (np.sum(np.asarray(delivered_kwh, float) * np.asarray(pef_ren, float), axis=-1)
            - np.sum(np.asarray(exported_kwh, float) * np.asarray(pef_ren_export, float), axis=-1))


def pe_total(pe_nren_kwh, pe_ren_kwh):
    """Total primary energy balance (Eq. 20): PE_total = PE_nren + PE_ren [kWh a⁻¹]."""
    return np.asarray(pe_nren_kwh, dtype=float) + np.asarray(pe_ren_kwh, dtype=float)


def renewable_energy_ratio(pe_ren_kwh, pe_total_kwh):
    """Renewable energy ratio (Eq. 21): RER = PE_ren / PE_total [-].

    Returns NaN where PE_total ≤ 0: a net exporter of total primary energy has no meaningful
    ratio (the quotient would flip sign or divide by zero); district.json then holds null.
    """
    ren = np.asarray(pe_ren_kwh, dtype=float)
    tot = np.asarray(pe_total_kwh, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(tot > 0, ren / np.where(tot > 0, tot, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def onsite_renewable_share(tep_res_kwh, eep_res_kwh, thermal_use_kwh, electric_use_kwh):
    """On-site renewable share: on-site RES production over the energy use it can cover [-].

    S = (TEP_RES + EEP_RES) / (TEU + EEU), with TEP_RES and EEP_RES the on-site renewable heat and
    electricity of Eq. 9 and 10, TEU the thermal use that Eq. 11 compares them with (use of
    boilers, substations and thermally driven heat pumps, plus heat-network and substation
    losses) and EEU the electric use of Eq. 8/12 (heat-pump electricity included, so heat-pump
    heat is not counted twice). NaN when the use is not positive; above 1 when the district
    produces more renewable energy than it uses.

    Notes
    -----
    A pedgis indicator shown beside RER (Eq. 21), which counts only renewable primary energy that
    crosses the boundary (Eq. 19) and so can be 0 or negative however much is produced on site
    (docs/methodology.md).
    """
    prod = np.asarray(tep_res_kwh, dtype=float) + np.asarray(eep_res_kwh, dtype=float)
    use = np.asarray(thermal_use_kwh, dtype=float) + np.asarray(electric_use_kwh, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(use > 0, prod / np.where(use > 0, use, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def co2_equivalent(delivered_kwh, exported_kwh, ef_kg_per_kwh, ef_export_kg_per_kwh=None):
    """Net CO2-equivalent emissions (Eq. 22) [kg CO2eq a⁻¹].

    CO2eq = Σ_c ED_c · f_c − Σ_c EX_c · f_exp,c, with f_c the emissions per delivered kWh and
    f_exp,c the emissions avoided per exported kWh (default f_c: substitution, paper §2.6).

    Notes
    -----
    The paper writes Σ PEI_c · f'_c − Σ PEE_c · f'_c with one factor f'_c per kWh of
    non-renewable primary energy, so its credit for exports is EX_c · PEF_nren,exp,c · f'_c. The
    delivered-kWh form equals it for imports with f'_c = f_c / PEF_nren,c, and for exports only
    when f_exp,c = f_c · PEF_nren,exp,c / PEF_nren,c: with PEF_nren,exp = 0 the paper's credit is 0,
    so set ``co2_kg_per_kwh_export = 0`` too (docs/methodology.md). The per-kWh form is kept
    because published factors are per delivered kWh and it stays defined for PEF_nren = 0.
    """
    ef_exp = ef_kg_per_kwh if ef_export_kg_per_kwh is None else ef_export_kg_per_kwh
    return (np.sum(np.asarray(delivered_kwh, float) * np.asarray(ef_kg_per_kwh, float), axis=-1)
            - np.sum(np.asarray(exported_kwh, float) * np.asarray(ef_exp, float), axis=-1))


def objective_met(objective: str, ped_balance_kwh: float, delivered_total_kwh: float, co2eq_kg: float) -> bool:
    """Whether the district meets the scenario's objective (paper Fig. 3).

    - ``positive_energy_balance``: PED balance < 0 (Eq. 17).
    - ``self_sufficient``: no energy of any carrier is delivered over the year (Σ ED = 0).
    - ``net_ghg``: net CO2eq ≤ 0 (Eq. 22).
    """
    if objective == "positive_energy_balance":
        return bool(ped_balance_kwh < 0)
    if objective == "self_sufficient":
        return bool(delivered_total_kwh <= 1e-9)
    if objective == "net_ghg":
        return bool(co2eq_kg <= 0)
    raise ValueError(f"unknown objective {objective!r}")


# --------------------------------------------------------------------------- steps 5-7 per entity


def building_balance(D: np.ndarray, ONS: np.ndarray, carriers: list[str], factors: pd.DataFrame,
                     green_share: float = 0.0, network_pef: dict[str, float] | None = None):
    """Steps 5–7 for each building on its own: delivered/exported per carrier and PEI, PEE, balance.

    Heat from one of the district's networks is the pseudo-carrier ``heat_network:<name>``,
    valued with that network's factor (:func:`pedgis.delivered.network_factor`); ``green_share``
    (0 unless the boundary is virtual) of the delivered electricity is green-contract electricity.
    """
    exportable = np.array([c == "electricity" for c in carriers])
    delivered, exported, _ = dlv.net_carriers(D, ONS, exportable)
    if green_share:
        ge = carriers.index("electricity")
        grid, green = dlv.split_green_contract(delivered[:, ge], green_share, True)
        delivered[:, ge] = grid
        carriers = carriers + ["green_electricity"]
        delivered = np.column_stack([delivered, green])
        exported = np.column_stack([exported, np.zeros(len(D))])
    f = factors.reindex(carriers)
    for name, value in (network_pef or {}).items():
        if f"heat_network:{name}" in f.index:
            f.loc[f"heat_network:{name}", ["pef_nren", "pef_nren_export"]] = 0.0 if value is None else value
    pei = pri.primary_energy_imported(delivered, f["pef_nren"].to_numpy())       # Eq. 14
    pee = pri.primary_energy_exported(exported, f["pef_nren_export"].to_numpy())  # Eq. 15
    return carriers, delivered, exported, pei, pee, ped_balance(pei, pee)    # Eq. 17


def district_systems_balance(demand: pd.Series, onsite: pd.Series, network_rows: list[dict], pef: pd.DataFrame) -> float:
    """PED balance of the district systems and loads as one entity [kWh a⁻¹].

    Its own carriers (fuels, electricity of loads and assets) are netted like a building's. Heat
    of the networks: the entity delivers Q to the substations (exported at the network's factor,
    the counterpart of the buildings' import), imports a deficit from external district heating
    and exports surplus heat where allowed.
    """
    d = demand.drop("district_heat", errors="ignore")
    o = onsite.drop("district_heat", errors="ignore")
    idx = d.index.union(o.index)
    wt = pri.weigh_carriers(dlv.carrier_table(d, o, pd.Series(True, index=idx)), pef)
    pei, pee = float(wt["pei_kwh"].sum()), float(wt["pee_kwh"].sum())
    if network_rows:
        dh_in = float(pef.loc["district_heat", "pef_nren"]) if "district_heat" in pef.index else 0.0
        dh_out = float(pef.loc["district_heat", "pef_nren_export"]) if "district_heat" in pef.index else 0.0
        for r in network_rows:
            pei += r["deficit_kwh"] * dh_in
            pee += r["substation_input_kwh"] * (r["pef_nren"] or 0.0) + r["exported_kwh"] * dh_out
    return pei - pee
