"""Steps 2–7 on one partition of buildings: the two maps of the engine (docs/architecture.md).

:func:`building_steps` runs steps 2–4 on the rows of a partition (needs, uses, each building's
own PV and solar heat) and sums what the district needs of them (:class:`PartTotals`);
:func:`building_results` runs steps 5–7 for each building on its own, once the district's netting
(:mod:`pedgis.district_netting`, the reduce) has valued its heat networks. Both are pure functions
of their arguments: :func:`pedgis.pipeline.compute` runs them in this process or on the workers
of a Dask cluster, one partition per task. Buildings are numbered by position within the
partition (the ``building`` column of the use rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import balance as bal
from . import delivered as dlv
from . import generation as gen
from . import needs as nd
from . import uses as us
from .delivered import NATURAL_CARRIERS
from .engine_model import EngineModel
from .errors import InputDataError

USE_ROW_KEYS = ["service", "system", "kind", "carrier"]
NEED_TOTALS = ("ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_kwh", "een_light_kwh", "een_vent_kwh",
               "een_appliances_kwh")
USE_TOTALS = ("teu_kwh", "eeu_kwh", "teu_thermal_kwh", "solar_thermal_used_kwh", "solar_thermal_unused_kwh")


@dataclass
class PartTotals:
    """What the district's netting needs of one partition: sums, not buildings."""

    n: int
    n_included: int
    n_pv_no_estimate: int
    needs: dict[str, float]          # Σ of NEED_TOTALS
    uses: dict[str, float]           # Σ of USE_TOTALS
    solar_heat: bool                 # the table gives the buildings' own solar heat
    n_solar_unused: int              # buildings with more solar heat than they can use
    pv_kwh: float                    # Σ of the buildings' own PV (and PVT electricity)
    floor_area_m2: float             # Σ over the included buildings
    carriers: list[str]              # carriers of the use rows, electricity first, in order of appearance
    building_carriers: list[str]     # the same with a network's heat as its own pseudo-carrier
    demand: pd.Series                # Σ of each carrier's input (step 5's D) [kWh]
    onsite: pd.Series                # Σ of each carrier harvested on site (PV, natural sources)
    use_rows: pd.DataFrame           # the use rows summed per service, system, kind and carrier
    network_inputs: dict[str, float]  # heat each building system draws from a network (delivered.substation_inputs)
    substation_losses_kwh: float     # Σ (input − use) of the district heating/cooling substations
    present_uses: set


@dataclass
class BuildingPart:
    """Steps 2–4 of one partition, kept for its steps 5–7 (:func:`building_results`)."""

    table: pd.DataFrame       # the partition's step-1 rows
    needs: pd.DataFrame       # step 2
    assignment: pd.DataFrame  # which system covers each service
    per: pd.DataFrame         # step 3 per building
    rows: pd.DataFrame        # step 3's use rows, a network's heat as its pseudo-carrier (_network_rows)
    pv: np.ndarray            # step 4: own PV [kWh]; NaN excluded or unknown
    kwp: np.ndarray
    no_pv_estimate: np.ndarray
    totals: PartTotals


@dataclass
class NettingContext:
    """What steps 5–7 per building take from the district's netting."""

    carriers: list[str]           # every partition's carriers, in order
    building_carriers: list[str]  # the same with the networks' pseudo-carriers
    network_pef: dict             # heat network name -> its PEF_nren (None: delivers nothing)
    green_share: float            # counted green contract share of delivered electricity


def column_sum(b, columns):
    """Σ of the given numeric columns of the table (NaN where all are NaN); None if none exists."""
    present = [c for c in columns if c in b]
    if not present:
        return None
    vals = np.array([pd.to_numeric(b[c], errors="coerce").to_numpy(dtype=float) for c in present])
    return np.where(np.isfinite(vals).any(axis=0), np.nansum(vals, axis=0), np.nan)


def pv_columns(b: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The buildings' own ``pv_kwp`` and ``pv_kwh`` as numbers (NaN where missing or not given)."""
    n = len(b)
    kwp = pd.to_numeric(b["pv_kwp"], errors="coerce").to_numpy(dtype=float) if "pv_kwp" in b else np.full(n, np.nan)
    pv_given = pd.to_numeric(b["pv_kwh"], errors="coerce").to_numpy(dtype=float) if "pv_kwh" in b else np.full(n, np.nan)
    return kwp, pv_given


def check_pv_yield(kwp, pv_given, included, model: EngineModel) -> None:
    if (~np.isfinite(pv_given) & np.isfinite(kwp) & (kwp > 0) & included).any() and model.pv_specific_yield is None:
        raise InputDataError("buildings: some buildings give pv_kwp without pv_kwh, and no PV specific yield is known: "
                             "add [weather] path (the yield is computed from it) or [pv] specific_yield_kwh_kwp.")


def present_uses(b: pd.DataFrame, inc: np.ndarray) -> set:
    """The use types of the included buildings, the uses of mixed-use buildings included."""
    uses = set(b.loc[inc, "use"].astype(str))
    if "use_shares" in b:
        from .mixed_use import parse_shares

        uses |= {u for t in b.loc[inc, "use_shares"] for u, _ in parse_shares(t)}
    return uses


def _network_rows(rows: pd.DataFrame, model: EngineModel) -> pd.DataFrame:
    """The use rows with a network's heat as the pseudo-carrier ``heat_network:<name>``: each
    building values it with the network's own factor."""
    net_of = {s.name: s.network for s in model.systems if s.kind == "district_heating" and s.network}
    if not (net_of and len(rows)):
        return rows
    on_net = rows["system"].isin(list(net_of)) & (rows["kind"] == "district_heating")
    rows_b = rows.copy()
    rows_b.loc[on_net, "carrier"] = "heat_network:" + rows_b.loc[on_net, "system"].map(net_of)
    return rows_b


def _onsite_matrix(D: np.ndarray, carriers: list[str], pv: np.ndarray) -> np.ndarray:
    """On-site harvest per building and carrier: its PV, and the natural sources (ambient heat,
    solar heat), harvested where they are used."""
    ONS = np.zeros_like(D)
    ONS[:, carriers.index("electricity")] = np.nan_to_num(pv)
    for j, c in enumerate(carriers):
        if c in NATURAL_CARRIERS:
            ONS[:, j] = D[:, j]
    return ONS


def building_steps(b: pd.DataFrame, model: EngineModel) -> BuildingPart:
    """Steps 2–4 for each building of a partition (``included`` already boolean), and its totals."""
    inc = b["included"].to_numpy()
    n = len(b)
    needs = nd.building_needs(b, model.needs)                                      # step 2 (Eq. 1-5)
    assignment = us.assign_systems(b, model.systems, model.system_column)          # step 3 (Eq. 6-8)
    # solar heat of the buildings' own collectors: solar thermal and the heat of hybrid PVT
    solar_heat = column_sum(b, ("solar_thermal_kwh", "pvt_heat_kwh"))
    per, rows = us.building_uses(b, needs, assignment, model.systems, solar_heat)

    # step 4 per building: rooftop PV (Eq. 10's on-site electricity)
    kwp, pv_given = pv_columns(b)
    check_pv_yield(kwp, pv_given, inc, model)
    pv = np.where(inc, gen.building_pv(pv_given, kwp, model.pv_specific_yield), np.nan)
    # the roof model gave no estimate (outside the DSM, nodata): unknown, not 0; no PV counted
    no_pv_estimate = inc & (b["pv_no_estimate"].fillna(False).to_numpy(dtype=bool) if "pv_no_estimate" in b
                            else np.zeros(n, dtype=bool)) & ~np.isfinite(pv_given)
    pv[no_pv_estimate] = np.nan
    pvt_el = column_sum(b, ("pvt_kwh",))  # the electricity of hybrid PVT collectors is PV too
    if pvt_el is not None:
        pv = np.where(inc & np.isfinite(pvt_el) & (pvt_el > 0), np.nan_to_num(pv) + np.nan_to_num(pvt_el), pv)

    # step 5's inputs per carrier (D) and on-site harvest (ONS), summed for the district
    carriers = list(dict.fromkeys(["electricity"] + (list(pd.unique(rows["carrier"])) if len(rows) else [])))
    D = dlv.carrier_matrix(rows, n, carriers)
    ONS = _onsite_matrix(D, carriers, pv)
    rows_b = _network_rows(rows, model)
    sub = rows[rows["kind"].isin(("district_heating", "district_cooling"))] if len(rows) else rows
    unused = np.nan_to_num(per["solar_thermal_unused_kwh"].to_numpy())
    totals = PartTotals(
        n=n, n_included=int(inc.sum()), n_pv_no_estimate=int(no_pv_estimate.sum()),
        needs={c: float(np.nansum(needs[c])) for c in NEED_TOTALS},
        uses={c: float(np.nansum(per[c])) for c in USE_TOTALS},
        solar_heat=solar_heat is not None, n_solar_unused=int((unused > 0.5).sum()),
        pv_kwh=float(np.nansum(pv)),
        floor_area_m2=float(np.nansum(np.where(inc, b["floor_area_m2"].to_numpy(dtype=float), np.nan))),
        carriers=carriers,
        building_carriers=list(dict.fromkeys(carriers + (list(pd.unique(rows_b["carrier"])) if len(rows_b) else []))),
        demand=pd.Series(D.sum(axis=0), index=carriers),
        onsite=pd.Series(ONS.sum(axis=0), index=carriers),
        use_rows=(rows.groupby(USE_ROW_KEYS, sort=False)[["need_kwh", "use_kwh", "input_kwh"]].sum().reset_index()
                  if len(rows) else rows[USE_ROW_KEYS + ["need_kwh", "use_kwh", "input_kwh"]]),
        network_inputs=dlv.substation_inputs(rows),
        substation_losses_kwh=float((sub["input_kwh"] - sub["use_kwh"]).sum()) if len(sub) else 0.0,
        present_uses=present_uses(b, inc),
    )
    return BuildingPart(table=b, needs=needs, assignment=assignment, per=per, rows=rows_b, pv=pv, kwp=kwp,
                        no_pv_estimate=no_pv_estimate, totals=totals)


def totals_of(part: BuildingPart) -> PartTotals:
    """What the district's netting takes of a partition (on a cluster, only this leaves the worker)."""
    return part.totals


def add_flags(flags: pd.Series, notes) -> pd.Series:
    """Append per-row notes (``""`` = none) to a flags column, joined by ``"; "``."""
    notes = np.asarray(notes, dtype=object)
    f = flags.to_numpy(dtype=object)
    return pd.Series(np.where(notes == "", f, np.where(f == "", notes, f + "; " + notes)), index=flags.index)


def building_results(part: BuildingPart, context: NettingContext, model: EngineModel) -> tuple[pd.DataFrame, float]:
    """Steps 5–7 for each building of a partition on its own, and the partition's result table.

    Returns the partition's rows with the per-building result columns (NaN for excluded
    buildings) and the Σ of the included buildings' own PED balances.
    """
    b, needs, per, pv = part.table, part.needs, part.per, part.pv
    inc = b["included"].to_numpy()
    n = len(b)
    cb = context.building_carriers
    Db = dlv.carrier_matrix(part.rows, n, cb)
    ONSb = np.zeros_like(Db)
    ONSb[:, : len(context.carriers)] = _onsite_matrix(Db[:, : len(context.carriers)], context.carriers, pv)
    carriers_b, del_b, exp_b, pei_b, pee_b, ped_b = bal.building_balance(Db, ONSb, cb, model.factors, context.green_share,
                                                                         context.network_pef)
    out = b
    for col in ("ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_kwh"):
        out[col] = needs[col].to_numpy()
    for col in ("teu_sh_kwh", "teu_sc_kwh", "teu_dhw_kwh", "teu_kwh", "eeu_kwh"):
        out[col] = per[col].to_numpy()
    out["pv_kwh"] = pv
    out["pv_kwp"] = np.where(inc & ~part.no_pv_estimate, np.where(np.isfinite(part.kwp), part.kwp, 0.0), np.nan)
    for col in ("pv_area_m2", "roof_irradiation_kwh_m2"):
        if col not in out:
            out[col] = np.nan
    out["pei_kwh"] = np.where(inc, pei_b, np.nan)
    out["pee_kwh"] = np.where(inc, pee_b, np.nan)
    out["ped_balance_kwh"] = np.where(inc, ped_b, np.nan)
    ed_cols: dict[str, np.ndarray] = {}
    for j, c in enumerate(carriers_b):
        if c not in NATURAL_CARRIERS:
            key = "district_heat" if c.startswith("heat_network:") else c
            ed_cols[key] = ed_cols.get(key, 0.0) + del_b[:, j]
    for c, v in ed_cols.items():
        out[f"ed_{c}_kwh"] = np.where(inc, v, np.nan)
    out["exported_electricity_kwh"] = np.where(inc, exp_b[:, carriers_b.index("electricity")], np.nan)
    flags = out["flags"].astype(str) if "flags" in out else pd.Series([""] * n, index=out.index)
    flags = add_flags(flags, needs["needs_flag"].to_numpy())
    if part.totals.solar_heat:
        out["solar_thermal_kwh"] = per["solar_thermal_used_kwh"].to_numpy()
        unused_b = np.nan_to_num(per["solar_thermal_unused_kwh"].to_numpy())
        flags = add_flags(flags, np.where(unused_b > 0.5, [f"solar heat {u:,.0f} kWh above DHW+SH use: not counted"
                                                             for u in unused_b], ""))
    out["flags"] = flags.to_numpy()
    for s in us.SERVICES:
        out[f"system_{s}"] = np.where(inc, part.assignment[s].to_numpy(), "")
    return out, float(np.nansum(ped_b[inc]))
