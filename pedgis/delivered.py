"""Step 5: delivered and exported energy per carrier (paper §2.5, Eq. 11–13).

The surplus indicators compare use with on-site production (Eq. 11–12). Delivered and exported
energy are then netted per energy carrier over the year: what a carrier's on-site production
does not cover is delivered from outside the boundary, what it produces beyond its demand is
exported (when the carrier can be exported). Fuels for boilers and CHPs are delivered; the CHP
fuel is counted once for both outputs (Eq. 13, :func:`pedgis.generation.chp_fuel_input`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputDataError

#: natural sources, harvested where they are used: never delivered, never exported
NATURAL_CARRIERS = ("pv_electricity", "solar_thermal", "wind", "hydropower", "geothermal", "ambient_air", "waste_heat")
#: carriers whose surplus may leave the district (district heat only where a network allows it)
EXPORTABLE = ("electricity", "district_heat", "district_cooling", "biogas")
#: Relative difference of demand and production below which they are equal (float64 sums of the
#: same flows in another order differ by ~1e-16 relative; 1e-12 is 1 Wh in 1 TWh).
ROUND_OFF = 1e-12


def thermal_surplus(teu_kwh, tep_res_kwh, losses_kwh=0.0):
    """Surplus of thermal energy (Eq. 11): STE = (TEU + L) − TEP_RES [kWh a⁻¹].

    Parameters
    ----------
    teu_kwh : thermal use supplied by thermal systems [kWh a⁻¹]
    tep_res_kwh : on-site heat production [kWh a⁻¹]
    losses_kwh : heat lost between the production and the use: heat-network distribution and
        substation losses [kWh a⁻¹]. They are a use of the district's production (paper §2.4:
        mean DH loss 13.7 %), so a surplus is only what is really left over.

    Notes
    -----
    STE > 0: thermal energy to be delivered (boilers, district heat); STE < 0: thermal surplus,
    exported or, where it may not leave, unused. pedgis also subtracts non-RES on-site heat (gas
    CHP) so the indicator describes what crosses the boundary (docs/methodology.md).
    """
    return (np.asarray(teu_kwh, dtype=float) + np.asarray(losses_kwh, dtype=float)
            - np.asarray(tep_res_kwh, dtype=float))


def electric_surplus(eeu_kwh, eep_res_kwh):
    """Surplus of electric energy (Eq. 12): SEE = EEU − EEP_RES [kWh a⁻¹] (> 0 import, < 0 export)."""
    return np.asarray(eeu_kwh, dtype=float) - np.asarray(eep_res_kwh, dtype=float)


def net_carriers(demand, onsite, exportable=True):
    """Annual netting of one or many carriers (Eq. 11–12 per carrier).

    Parameters
    ----------
    demand, onsite : array_like or DataFrame
        Carrier demand (inputs of conversion systems and direct uses) and on-site production of
        the same carrier [kWh a⁻¹]; same shape (e.g. buildings × carriers).
    exportable : bool or array_like
        Whether a surplus of the carrier may leave the boundary; a surplus that may not is
        returned as ``unused``.

    Returns
    -------
    delivered, exported, unused : arrays of the same shape [kWh a⁻¹]

    Notes
    -----
    delivered = max(demand − onsite, 0); exported = max(onsite − demand, 0) where exportable.
    A difference within :data:`ROUND_OFF` of the larger of the two is float round-off: none.
    """
    d = np.asarray(demand, dtype=float)
    o = np.asarray(onsite, dtype=float)
    diff = d - o
    # equal flows summed in another order (a heat network's supply and its substations' demand)
    # differ by a few ulps: round-off, not a flow in or out
    diff = np.where(np.abs(diff) <= ROUND_OFF * np.maximum(np.abs(d), np.abs(o)), 0.0, diff)
    delivered = np.clip(diff, 0.0, None)
    surplus = np.clip(-diff, 0.0, None)
    exp = np.broadcast_to(np.asarray(exportable, dtype=bool), surplus.shape)
    exported = np.where(exp, surplus, 0.0)
    unused = np.where(exp, 0.0, surplus)
    return delivered, exported, unused


def split_green_contract(delivered_electricity_kwh, share, allowed: bool):
    """Split delivered grid electricity into grid and green-contract electricity.

    Returns (grid, green) [kWh a⁻¹]. ``green = share × delivered`` only when the boundary type
    allows contracts (virtual boundary, paper §2.1), else 0.
    """
    d = np.asarray(delivered_electricity_kwh, dtype=float)
    s = float(share) if allowed else 0.0
    return d * (1.0 - s), d * s


def carrier_table(demand: pd.Series, onsite: pd.Series, exportable: pd.Series) -> pd.DataFrame:
    """District carrier balance [kWh a⁻¹], index carrier.

    Columns: ``demand_kwh``, ``onsite_kwh`` (on-site production), ``onsite_used_kwh`` (the part
    used within the boundary, min(demand, production)), ``delivered_kwh``, ``exported_kwh``,
    ``unused_kwh``. Identities: demand = delivered + onsite_used; onsite = onsite_used +
    exported + unused.
    """
    idx = demand.index.union(onsite.index)
    d = demand.reindex(idx, fill_value=0.0).astype(float)
    o = onsite.reindex(idx, fill_value=0.0).astype(float)
    e = exportable.reindex(idx, fill_value=False).astype(bool)
    delivered, exported, unused = net_carriers(d.to_numpy(), o.to_numpy(), e.to_numpy())
    used = np.minimum(d.to_numpy(), o.to_numpy())
    return pd.DataFrame({"demand_kwh": d.to_numpy(), "onsite_kwh": o.to_numpy(), "onsite_used_kwh": used,
                         "delivered_kwh": delivered, "exported_kwh": exported, "unused_kwh": unused}, index=idx)


# --------------------------------------------------------------------------- step 5 in the engine


def carrier_matrix(rows: pd.DataFrame, n: int, carriers: list[str]) -> np.ndarray:
    """Energy input per building and carrier [kWh a⁻¹] (n × carriers) from step 3's use rows."""
    m = np.zeros((n, len(carriers)))
    if len(rows):
        c = pd.Index(carriers).get_indexer(rows["carrier"])
        flat = rows["building"].to_numpy(dtype=np.int64) * len(carriers) + c
        m += np.bincount(flat, weights=rows["input_kwh"].to_numpy(dtype=float), minlength=n * len(carriers)).reshape(n, -1)
    return m


def substation_inputs(rows: pd.DataFrame) -> dict[str, float]:
    """Heat the buildings' district-heating substations draw, per building system [kWh a⁻¹]
    (from step 3's use rows; summed per partition of buildings)."""
    dh = rows[rows["kind"] == "district_heating"] if len(rows) else rows
    if not len(dh):
        return {}
    return {str(k): float(v) for k, v in dh.groupby("system")["input_kwh"].sum().items()}


def network_inputs(by_system: dict[str, float], networks: list[str], system_network: dict) -> dict[str, float]:
    """Heat each heat network delivers to its substations [kWh a⁻¹], from
    :func:`substation_inputs`. ``system_network``: building system name -> the network it draws
    from (or None)."""
    out = {name: 0.0 for name in networks}
    for sname, v in by_system.items():
        if system_network.get(sname):
            out[system_network[sname]] += v
    return out


def district_systems_flows(g: pd.DataFrame, district_systems, district_loads_kwh: dict, factors: pd.DataFrame,
                           network_input: dict, net_demand: dict, notes: list[str]) -> tuple[pd.Series, pd.Series, list[dict]]:
    """Carrier demand and on-site production of the district systems and loads (one entity).

    Demand: district loads (electricity), heat-network losses, CHP fuels, natural sources
    harvested by district assets. On-site: counted district electricity, heat fed to networks
    (used or exported where allowed). Also returns one summary row per heat network.
    """
    demand = pd.Series(dtype=float)
    onsite = pd.Series(dtype=float)
    loads_total = float(sum(district_loads_kwh.values()))
    if loads_total:
        demand = demand.add(pd.Series({"electricity": loads_total}), fill_value=0.0)
    counted = g[g["counted"]] if len(g) else g
    network_rows = []
    for s in district_systems:
        if s.technology != "heat_network":
            continue
        supply = float(counted.loc[(counted["network"] == s.name) & (counted["output"] == "heat"), "output_kwh"].sum()) if len(counted) else 0.0
        dem = net_demand[s.name]
        used = min(supply, dem)
        surplus = supply - used
        exported = surplus if s.export_allowed else 0.0
        losses = dem - network_input[s.name]
        deficit = max(dem - supply, 0.0)
        network_rows.append({"name": s.name, "substation_input_kwh": network_input[s.name], "losses_kwh": losses,
                             "plant_demand_kwh": dem, "supply_kwh": supply, "exported_kwh": exported,
                             "unused_kwh": surplus - exported, "deficit_kwh": deficit,
                             "pef_nren": network_factor(counted, s.name, network_input[s.name], used, supply, deficit,
                                                        factors)})
        demand = demand.add(pd.Series({"district_heat": losses}), fill_value=0.0)
        onsite = onsite.add(pd.Series({"district_heat": used + exported}), fill_value=0.0)
        if surplus - exported > 0:
            notes.append(f"district_systems.{s.name}: {surplus - exported:,.0f} kWh of surplus heat not counted: "
                         "export to an external network is not allowed (set export_allowed = true).")
    if len(counted):
        el = counted[counted["output"] == "electricity"]
        onsite = onsite.add(pd.Series({"electricity": float(el["output_kwh"].sum())}), fill_value=0.0)
        fuel = counted.groupby("input_carrier")["input_kwh"].sum()
        nat = fuel[fuel.index.isin(NATURAL_CARRIERS)]
        demand = demand.add(fuel, fill_value=0.0)
        onsite = onsite.add(nat, fill_value=0.0)
    return demand, onsite, network_rows


def network_factor(gen_rows: pd.DataFrame, network: str, delivered_kwh: float, used_kwh: float, supply_kwh: float,
                   deficit_kwh: float, factors: pd.DataFrame) -> float | None:
    """Non-renewable primary energy per kWh a heat network delivers to its substations [-].

    f_net = (PE_heat · used / supply + deficit · PEF_nren,district_heat) / Q_delivered, with
    PE_heat = Σ over the heat sources on the network of their input (a CHP's fuel share of its
    heat, Eq. 13) × PEF_nren of the input carrier; network losses are carried by the delivered
    heat. Used only to value each connected building's heat in its own balance; the district
    balance nets carriers and does not use it. None when the network delivers nothing.
    """
    if delivered_kwh <= 0:
        return None
    heat = gen_rows[(gen_rows["network"] == network) & (gen_rows["output"] == "heat")] if len(gen_rows) else gen_rows
    pe_heat = float(sum(r.input_kwh * float(factors.loc[r.input_carrier, "pef_nren"]) for r in heat.itertuples(index=False)))
    share = used_kwh / supply_kwh if supply_kwh > 0 else 0.0
    dh = float(factors.loc["district_heat", "pef_nren"]) if "district_heat" in factors.index else 0.0
    return (pe_heat * share + deficit_kwh * dh) / delivered_kwh


def district_carrier_table(demand: pd.Series, onsite: pd.Series, factors: pd.DataFrame, district_systems,
                           green_share: float) -> pd.DataFrame:
    """Step 5 at district level: annual netting per carrier, the green contract's share of the
    delivered electricity split off (``green_share``: 0 unless the boundary is virtual)."""
    pef = factors
    idx = demand.index.union(onsite.index)
    missing = [c for c in idx if c not in pef.index]
    if missing:
        raise InputDataError(f"carriers {missing} have no primary energy factors; add [carriers.{missing[0]}] with "
                             "pef_nren, pef_ren and co2_kg_per_kwh.")
    exportable = pd.Series({c: c in EXPORTABLE for c in idx}, dtype=bool)
    # district heat may leave only where a network allows it; an external DH import is netted
    networks = [s for s in district_systems if s.technology == "heat_network"]
    exportable["district_heat"] = any(s.export_allowed for s in networks)
    table = carrier_table(demand, onsite, exportable)
    if green_share and "electricity" in table.index:
        grid, green = split_green_contract(table.loc["electricity", "delivered_kwh"], green_share, True)
        table.loc["electricity", "delivered_kwh"] = float(grid)
        table.loc["electricity", "demand_kwh"] -= float(green)
        table.loc["green_electricity"] = {"demand_kwh": float(green), "onsite_kwh": 0.0, "onsite_used_kwh": 0.0,
                                          "delivered_kwh": float(green), "exported_kwh": 0.0, "unused_kwh": 0.0}
    return table
