"""Steps 4–7 for the district: the reduce of the engine (docs/architecture.md).

:func:`district_netting` takes the sums of every partition of buildings
(:class:`pedgis.per_building.PartTotals`) and the district's own systems and loads, and nets the
carriers over the boundary: district generation (step 4), the heat networks and the carrier
table (step 5), primary energy (step 6), the balance and the indicators (step 7). It returns the
content of ``district.json`` and what each building's own balance needs of it
(:class:`~pedgis.per_building.NettingContext`); :func:`with_buildings_balance` adds the sum of
those balances once the second map has run.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from . import balance as bal
from . import delivered as dlv
from . import generation as gen
from . import primary as pri
from .delivered import NATURAL_CARRIERS
from .engine_model import EngineModel
from .errors import InputDataError, PedgisWarning
from .per_building import NEED_TOTALS, USE_ROW_KEYS, USE_TOTALS, NettingContext, PartTotals

#: The order of step 3's use rows (pedgis.uses.building_uses): thermal services, then electric ones.
SERVICE_ORDER = ("dhw", "sh", "sc", "lighting", "ventilation", "appliances")


def _merge(totals: list[PartTotals]) -> PartTotals:
    """The partitions' sums as one (one partition: itself, so a single-process run adds nothing)."""
    if len(totals) == 1:
        return totals[0]

    def add_series(items):
        out = items[0]
        for s in items[1:]:
            out = out.add(s, fill_value=0.0)
        return out

    network_inputs: dict[str, float] = {}
    for t in totals:
        for k, v in t.network_inputs.items():
            network_inputs[k] = network_inputs.get(k, 0.0) + v
    use_rows = pd.concat([t.use_rows for t in totals], ignore_index=True)
    if len(use_rows):  # service by service, as one partition lists them (step 3 runs service by service)
        use_rows = use_rows.groupby(USE_ROW_KEYS, sort=False)[["need_kwh", "use_kwh", "input_kwh"]].sum().reset_index()
        rank = use_rows["service"].map({s: i for i, s in enumerate(SERVICE_ORDER)}).fillna(len(SERVICE_ORDER))
        use_rows = use_rows.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
    carriers = list(dict.fromkeys(c for t in totals for c in t.carriers))
    return PartTotals(
        n=sum(t.n for t in totals), n_included=sum(t.n_included for t in totals),
        n_pv_no_estimate=sum(t.n_pv_no_estimate for t in totals),
        needs={c: float(sum(t.needs[c] for t in totals)) for c in NEED_TOTALS},
        uses={c: float(sum(t.uses[c] for t in totals)) for c in USE_TOTALS},
        solar_heat=any(t.solar_heat for t in totals), n_solar_unused=sum(t.n_solar_unused for t in totals),
        pv_kwh=float(sum(t.pv_kwh for t in totals)),
        floor_area_m2=float(sum(t.floor_area_m2 for t in totals)),
        carriers=carriers,
        building_carriers=list(dict.fromkeys(carriers + [c for t in totals for c in t.building_carriers])),
        demand=add_series([t.demand for t in totals]).reindex(carriers),
        onsite=add_series([t.onsite for t in totals]).reindex(carriers),
        use_rows=use_rows,
        network_inputs=network_inputs,
        substation_losses_kwh=float(sum(t.substation_losses_kwh for t in totals)),
        present_uses=set().union(*(t.present_uses for t in totals)),
    )


def district_netting(totals: list[PartTotals], model: EngineModel) -> tuple[dict, NettingContext]:
    """Steps 4–7 for the district from the partitions' sums.

    Returns the content of ``district.json`` (without the run metadata and the buildings' own
    balances, :func:`with_buildings_balance`) and the context of each building's own balance.
    """
    t = _merge(totals)
    notes = list(model.notes)
    st_used, st_unused = t.uses["solar_thermal_used_kwh"], t.uses["solar_thermal_unused_kwh"]
    pv_total = t.pv_kwh

    # step 4 for the district: its assets, the heat-led CHPs sized on the networks' demand
    network_input = dlv.network_inputs(t.network_inputs,
                                       [s.name for s in model.district_systems if s.technology == "heat_network"],
                                       {s.name: s.network for s in model.systems})
    net_demand = {s.name: float(gen.network_plant_demand(network_input[s.name], s.losses))
                  for s in model.district_systems if s.technology == "heat_network"}
    g, gen_notes = gen.district_generation(model.district_systems, net_demand, model.boundary_type, model.pv_specific_yield)
    for note in gen_notes:
        warnings.warn(note, PedgisWarning, stacklevel=3)

    # step 5: the carriers netted over the boundary
    missing = [c for c in t.carriers if c not in model.factors.index]
    if missing:
        raise InputDataError(f"carriers {missing} have no primary energy factors in set '{model.assumptions.get('pef_set')}'; "
                             f"add [carriers.{missing[0]}] with pef_nren, pef_ren and co2_kg_per_kwh.")
    sys_demand, sys_onsite, network_rows = dlv.district_systems_flows(g, model.district_systems, model.district_loads_kwh,
                                                                       model.factors, network_input, net_demand, notes)
    green_share = model.counted_green_share
    demand, onsite = t.demand, t.onsite
    if pv_total:  # the buildings' PV harvest as a natural-source row
        demand = demand.add(pd.Series({"pv_electricity": pv_total}), fill_value=0.0)
        onsite = onsite.add(pd.Series({"pv_electricity": pv_total}), fill_value=0.0)
    table = dlv.district_carrier_table(demand.add(sys_demand, fill_value=0.0), onsite.add(sys_onsite, fill_value=0.0),
                                       model.factors, model.district_systems, green_share)

    # step 6: primary energy (Eq. 14-16)
    pef = model.factors
    wt = pri.weigh_carriers(table, pef)
    pei = float(pri.primary_energy_imported(wt["delivered_kwh"], wt["pef_nren"]))
    pee = float(pri.primary_energy_exported(wt["exported_kwh"], wt["pef_nren_export"]))

    # step 7: balance and indicators (Eq. 17-22)
    balance = float(bal.ped_balance(pei, pee))
    penren = float(bal.pe_nren(wt["delivered_kwh"], wt["pef_nren"], wt["exported_kwh"], wt["pef_nren_export"]))
    peren = float(bal.pe_ren(wt["delivered_kwh"], wt["pef_ren"], wt["exported_kwh"], wt["pef_ren_export"]))
    petot = float(bal.pe_total(penren, peren))
    rer = bal.renewable_energy_ratio(peren, petot)
    co2 = float(bal.co2_equivalent(wt["delivered_kwh"], wt["exported_kwh"], wt["co2_kg_per_kwh"],
                                   wt["co2_kg_per_kwh_export"]))
    notes.extend(_co2_export_notes(wt))
    if t.solar_heat and st_unused > 0.5:
        notes.append(f"{t.n_solar_unused} buildings have more solar heat than DHW+SH use; "
                     f"{st_unused:,.0f} kWh not counted (no heat network to take it).")
    sys_balance = bal.district_systems_balance(sys_demand, sys_onsite, network_rows, pef)

    any_included = t.n_included > 0
    eeu = t.uses["eeu_kwh"] + float(sum(model.district_loads_kwh.values()))
    counted = g[g["counted"]] if len(g) else g
    tep_res = (gen.thermal_res_production(g) if len(g) else 0.0) + st_used                  # Eq. 9
    eep_res = (gen.electric_res_production(g) if len(g) else 0.0) + pv_total                # Eq. 10
    tep_nonres = float(counted.loc[~counted["res"] & (counted["output"] == "heat"), "output_kwh"].sum()) if len(g) else 0.0
    eep_nonres = float(counted.loc[~counted["res"] & (counted["output"] == "electricity"), "output_kwh"].sum()) if len(g) else 0.0
    teu_thermal = t.uses["teu_thermal_kwh"]
    heat_losses = t.substation_losses_kwh + float(sum(r["losses_kwh"] for r in network_rows))
    onsite_share = bal.onsite_renewable_share(tep_res, eep_res, teu_thermal + heat_losses, eeu)
    if (tep_res + eep_res) > 0 and peren <= 0:
        share_txt = f"{onsite_share:.2f}" if np.isfinite(onsite_share) else "undefined: no energy use"
        notes.append(f"RER (Eq. 21) = {'null' if rer is None or not np.isfinite(rer) else f'{rer:.2f}'} although "
                     f"{tep_res + eep_res:,.0f} kWh of renewable energy are produced on site: RER counts only the renewable "
                     f"primary energy crossing the boundary (Eq. 19: delivered minus exported = {peren:,.0f} kWh here), "
                     f"not the on-site production; onsite_renewable_share = {share_txt} (docs/outputs.md).")
    district = {
        # a PED is made of buildings (paper §2.1): without one it is not declared positive
        "pei_kwh": pei, "pee_kwh": pee, "ped_balance_kwh": balance, "is_ped": bool(bal.is_positive(balance)) and any_included,
        "verdict_note": "" if any_included else ("no building is included in the district: a PED is made of buildings "
                                                 "(paper §2.1), so it is not declared positive whatever the balance"),
        "objective": model.objective,
        "objective_met": any_included and bal.objective_met(model.objective, balance, float(wt["delivered_kwh"].sum()), co2),
        "pe_nren_kwh": penren, "pe_ren_kwh": peren, "pe_total_kwh": petot,
        "rer": None if (rer is None or not np.isfinite(rer)) else float(rer), "co2eq_kg": co2,
        "onsite_renewable_share": float(onsite_share) if np.isfinite(onsite_share) else None,
        "ten_sh_kwh": t.needs["ten_sh_kwh"], "ten_sc_kwh": t.needs["ten_sc_kwh"], "ten_dhw_kwh": t.needs["ten_dhw_kwh"],
        "een_kwh": t.needs["een_kwh"], "teu_kwh": t.uses["teu_kwh"], "eeu_kwh": eeu,
        "tep_res_kwh": tep_res, "eep_res_kwh": eep_res, "tep_nonres_kwh": tep_nonres, "eep_nonres_kwh": eep_nonres,
        "ste_kwh": float(dlv.thermal_surplus(teu_thermal, tep_res + tep_nonres, heat_losses)),         # Eq. 11
        "see_kwh": float(dlv.electric_surplus(eeu, eep_res + eep_nonres)),                                      # Eq. 12
        "ed_kwh": {c: float(v) for c, v in wt["delivered_kwh"].items() if c not in NATURAL_CARRIERS},
        "exported_kwh": {c: float(v) for c, v in wt["exported_kwh"].items() if c not in NATURAL_CARRIERS},
        "unused_kwh": _unused(wt, network_rows, st_unused),
        "n_buildings": int(t.n), "n_included": int(t.n_included),
        "n_pv_no_estimate": int(t.n_pv_no_estimate),
        "floor_area_m2": t.floor_area_m2,
        "district_loads_kwh": {k: float(v) for k, v in model.district_loads_kwh.items()},
        "buildings_ped_balance_kwh": None,   # the Σ of the buildings' own balances: with_buildings_balance
        "district_systems_ped_balance_kwh": sys_balance,
        "netting_effect_kwh": None,
        "heat_networks": network_rows,
        "gap_to_positive": _gap(balance, pef, model.pv_specific_yield),
        "breakdown": _breakdown(t, g, wt, model, network_rows, pv_total, st_used),
        "assumptions": _assumptions(model, t.present_uses, wt, notes + gen_notes),
    }
    context = NettingContext(carriers=t.carriers, building_carriers=t.building_carriers,
                             network_pef={r["name"]: r["pef_nren"] for r in network_rows}, green_share=green_share)
    return district, context


def with_buildings_balance(district: dict, buildings_balance: float) -> dict:
    """Add the Σ of the included buildings' own balances and the netting effect (the district's
    balance minus the buildings' and the district systems' own balances)."""
    district["buildings_ped_balance_kwh"] = buildings_balance
    district["netting_effect_kwh"] = district["ped_balance_kwh"] - (buildings_balance
                                                                    + district["district_systems_ped_balance_kwh"])
    return district


def _breakdown(t: PartTotals, g, wt, model, network_rows, pv_total, st_used) -> dict:
    """The flows the Sankey (step 8) and the report are drawn from (docs/outputs.md)."""
    need_tot = {"sh": t.needs["ten_sh_kwh"], "sc": t.needs["ten_sc_kwh"], "dhw": t.needs["ten_dhw_kwh"],
                "lighting": t.needs["een_light_kwh"], "ventilation": t.needs["een_vent_kwh"]}
    if model.checklist.get("appliances"):
        need_tot["appliances"] = t.needs["een_appliances_kwh"]
    for k, v in model.district_loads_kwh.items():
        need_tot[k] = float(v)
    uses_bd = []
    if len(t.use_rows):
        for r in t.use_rows.itertuples(index=False):
            uses_bd.append({"service": r.service, "system": r.system, "kind": r.kind, "need_kwh": float(r.need_kwh),
                            "use_kwh": float(r.use_kwh), "carrier": r.carrier, "input_kwh": float(r.input_kwh)})
    for k, v in model.district_loads_kwh.items():
        uses_bd.append({"service": k, "system": "district", "kind": "electric", "need_kwh": float(v), "use_kwh": float(v),
                        "carrier": "electricity", "input_kwh": float(v)})
    for r in network_rows:
        if r["losses_kwh"] > 0:
            uses_bd.append({"service": "network_losses", "system": r["name"], "kind": "heat_network", "need_kwh": 0.0,
                            "use_kwh": 0.0, "carrier": "district_heat", "input_kwh": float(r["losses_kwh"])})
    gen_bd = []
    if pv_total:
        gen_bd.append({"technology": "pv", "name": "rooftop PV (buildings)", "output": "electricity", "output_kwh": pv_total,
                       "res": True, "virtual": False, "input_carrier": "pv_electricity", "input_kwh": pv_total})
    if st_used:
        # the harvest enters through the uses rows (carrier solar_thermal), so input_kwh is 0 here
        gen_bd.append({"technology": "solar_thermal", "name": "solar thermal (buildings)", "output": "heat",
                       "output_kwh": st_used, "res": True, "virtual": False, "input_carrier": "solar_thermal",
                       "input_kwh": 0.0})
    for r in g.itertuples(index=False):
        if r.counted:
            gen_bd.append({"technology": r.technology, "name": r.name, "output": r.output, "output_kwh": float(r.output_kwh),
                           "res": bool(r.res), "virtual": bool(r.virtual), "input_carrier": r.input_carrier,
                           "input_kwh": float(r.input_kwh)})
    carr_bd = []
    for c, r in wt.iterrows():
        # onsite_kwh is the on-site production used within the boundary (demand = delivered + onsite);
        # production is in `generation`, the surplus in `exported_kwh`
        carr_bd.append({"carrier": c, "demand_kwh": float(r["demand_kwh"]), "onsite_kwh": float(r["onsite_used_kwh"]),
                        **{k: float(r[k]) for k in ("delivered_kwh", "exported_kwh", "pef_nren", "pef_ren", "pef_nren_export",
                                                    "pef_ren_export", "co2_kg_per_kwh", "co2_kg_per_kwh_export",
                                                    "pei_kwh", "pee_kwh",
                                                    "pe_ren_delivered_kwh", "pe_ren_exported_kwh", "co2_kg")}})
    return {"needs": need_tot, "uses": uses_bd, "generation": gen_bd, "carriers": carr_bd}


_NOTES = [
    "Energies are annual [kWh a-1]; carriers are netted over the year at district level (paper §2.7).",
    "RER (Eq. 21) is null when PE_total <= 0 (net exporter of total primary energy): the ratio is then undefined.",
    "CO2eq (Eq. 22) uses emission factors per delivered and per exported kWh: sum(ED*f) - sum(EX*f_export), "
    "f_export = f unless co2_kg_per_kwh_export is set (substitution); the paper's per-primary-energy form gives the same "
    "only when f_export = f * PEF_nren,export / PEF_nren (docs/methodology.md).",
    "Heat pump ambient heat is on-site renewable energy (carrier ambient_air); the heat pump's electricity is "
    "electric use (Eq. 8), not generation (paper §2.4).",
    "The CHP fuel is delivered once (Eq. 13) and split over its electricity and heat rows in proportion to the outputs.",
    "Non-RES on-site generation (e.g. gas CHP) is subtracted in STE/SEE (Eq. 11-12) like RES; its fuel is delivered.",
    "Per-building pei/pee/ped_balance are each building's own balance; netting_effect_kwh = district balance - "
    "(sum of buildings + district systems and loads).",
]


def _assumptions(model: EngineModel, present_uses: set, wt: pd.DataFrame, notes: list[str]) -> dict:
    """Every factor used with its source: only the use types present and the chosen needs method."""
    a = dict(model.assumptions)
    skip = {"blc_heating_w_m2k", "blc_cooling_w_m2k"} if model.needs.method == "specific" else {"sh", "sc"}
    if not model.checklist.get("appliances"):
        skip.add("appliances")
    needs_a = dict(a.get("needs", {}))
    needs_a["per_use"] = {u: {k: v for k, v in q.items() if k not in skip}
                          for u, q in needs_a.get("per_use", {}).items() if u in present_uses}
    a["needs"] = needs_a
    pef = model.factors
    a["carriers"] = {c: {k: (float(pef.loc[c, k]) if k != "source" else str(pef.loc[c, k]))
                         for k in (*pri.FACTOR_COLUMNS, "source")}
                     for c in wt.index}
    a["notes"] = list(_NOTES) + notes
    return a


def _unused(wt: pd.DataFrame, network_rows: list[dict], solar_unused: float) -> dict:
    """On-site production that may not leave the boundary and is not counted, per carrier [kWh a⁻¹]."""
    out = {c: float(v) for c, v in wt["unused_kwh"].items() if v > 0}
    net = sum(r["unused_kwh"] for r in network_rows)
    if net > 0:
        out["district_heat"] = out.get("district_heat", 0.0) + float(net)
    if solar_unused > 0:
        out["solar_thermal"] = float(solar_unused)
    return out


def _co2_export_notes(wt: pd.DataFrame) -> list[str]:
    """Say where an exported carrier's CO2 credit keeps the delivered factor while its PEF export
    factor differs: the paper's Eq. 22 (factors per kWh of primary energy) would scale the credit."""
    out = []
    for c, r in wt.iterrows():
        if (r["exported_kwh"] > 0 and r["pef_nren_export"] != r["pef_nren"]
                and r["co2_kg_per_kwh_export"] == r["co2_kg_per_kwh"] and r["co2_kg_per_kwh"] != 0):
            paper = r["co2_kg_per_kwh"] * r["pef_nren_export"] / r["pef_nren"] if r["pef_nren"] > 0 else float("nan")
            out.append(f"carriers.{c}: exports are weighed with pef_nren_export = {r['pef_nren_export']:g} "
                       f"(pef_nren = {r['pef_nren']:g}) but credited {r['co2_kg_per_kwh']:g} kg CO2/kWh (the delivered "
                       f"factor) in Eq. 22; the paper's per-primary-energy form would credit {paper:.3g}. Set "
                       f"co2_kg_per_kwh_export in [carriers.{c}] to choose.")
    return out


def _gap(balance: float, pef: pd.DataFrame, pv_yield: float | None) -> dict:
    """How far the district is from positive, in quantities a planner can act on.

    The balance must fall below 0 (Eq. 17): that takes ``balance / PEF_nren,export,el`` more kWh of
    exported (or less imported) electricity, i.e. that much more on-site RES electricity at the
    grid's factor, or that many kWp of PV at the scenario's specific yield.
    """
    if balance < 0:
        return {"ped_balance_kwh": balance, "electricity_kwh": 0.0, "pv_kwp": 0.0, "pv_specific_yield_kwh_kwp": pv_yield}
    f = float(pef.loc["electricity", "pef_nren_export"]) if "electricity" in pef.index else float("nan")
    el = balance / f if f > 0 else float("nan")
    kwp = el / pv_yield if pv_yield else None
    return {"ped_balance_kwh": balance, "electricity_kwh": el, "pv_kwp": kwp, "pv_specific_yield_kwh_kwp": pv_yield}
