"""Orchestration of the 8 steps: ``run(scenario) -> DistrictResult``.

Reading inputs happens here (through :mod:`pedgis.io`); the steps themselves are the pure
functions of :mod:`pedgis.needs`, :mod:`pedgis.uses`, :mod:`pedgis.generation`,
:mod:`pedgis.delivered`, :mod:`pedgis.primary` and :mod:`pedgis.balance`. :func:`resolve_model`
turns a scenario into an :class:`EngineModel` (every factor resolved, with its source), and
:func:`compute` runs steps 2–7 on a step-1 table; the benchmark and the QGIS plugin can call both.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import data as pdata
from . import generation as gen
from . import needs as nd
from . import per_building
from . import uses as us
from .cluster import CLUSTER_PARTITION, current_client, map_partitions
from .config import NEEDS, Scenario
from .district_netting import district_netting, with_buildings_balance
from .engine_model import EngineModel
from .errors import ConfigError, DataQualityWarning, InputDataError, PedgisWarning, issue_again
from .progress import ProgressCallback, no_progress

BUILDING_RESULT_COLUMNS = [
    "ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_kwh", "eeu_kwh", "teu_kwh", "pv_area_m2", "pv_kwp",
    "pv_kwh", "roof_irradiation_kwh_m2", "pei_kwh", "pee_kwh", "ped_balance_kwh",
]


@dataclass
class DistrictResult:
    """Everything a run produces (see docs/architecture.md)."""

    buildings: Any  # GeoDataFrame
    boundary: Any  # GeoDataFrame
    district: dict
    roof_segments: Any = None
    irradiation: Any = None
    scenario: Scenario | None = None
    hourly: Any = None  # district hourly series of a monthly/hourly run (pedgis.timeseries), or None


# ---------------------------------------------------------------------------------------------
# resolving a scenario


def _needs_table(doc: dict) -> tuple[pd.DataFrame, dict]:
    base = pdata.needs_table(doc["needs"]["set"])
    src = base.attrs["source"]
    table = base.reindex(columns=list(NEEDS)).copy()
    table.attrs = {}  # the source table rides in attrs; pandas 3 compares attrs when rows are added
    sources = src.reindex(columns=list(NEEDS)).copy()
    dhw = pdata.dhw_per_unit()
    # DHW per unit (Eq. 3): with dhw_basis != "area", each use type takes the unit of its
    # dhw_per_unit row (person, bed or user); use types without a row stay per area.
    basis = doc["needs"]["dhw_basis"]
    table["dhw_basis"] = "area"
    table["dhw_kwh_per_unit"] = np.nan
    sources["dhw_kwh_per_unit"] = ""
    for _, r in dhw.iterrows():
        if r["use"] in table.index:
            table.loc[r["use"], "dhw_kwh_per_unit"] = r["kwh_per_unit"]
            sources.loc[r["use"], "dhw_kwh_per_unit"] = f"{r['source']} (per {r['unit']})"
            if basis != "area":
                table.loc[r["use"], "dhw_basis"] = r["unit"]
    table["blc_heating_w_m2k"] = doc["needs"]["blc_heating_w_m2k"]
    table["blc_cooling_w_m2k"] = doc["needs"]["blc_cooling_w_m2k"]
    # existing use types first, so that `based_on` copies the scenario's own version of its base
    overrides = sorted(doc["needs"].get("overrides", {}).items(), key=lambda kv: kv[0] not in base.index)
    for use, over in overrides:
        if use not in table.index:
            basis = over.get("based_on")
            table.loc[use] = table.loc[basis] if basis else np.nan
            sources.loc[use] = sources.loc[basis].astype(str) + f" (copied from {basis})" if basis else ""
        for key, value in over.items():
            if value is None or key == "based_on":
                continue
            col = key[: -len("_kwh_m2")] if key.endswith("_kwh_m2") else key
            table.loc[use, col] = value
            sources.loc[use, col] = f"scenario [needs.overrides.{use}]"
    missing = table[list(NEEDS)].isna()
    if missing.any().any():
        use, need = next((u, n) for u in table.index for n in NEEDS if missing.loc[u, n])
        raise InputDataError(f"needs: use type '{use}' has no '{need}' value in set '{doc['needs']['set']}'; "
                             f"add `{need}_kwh_m2 = ...` to [needs.overrides.{use}].")
    return table, sources.fillna("").to_dict(orient="index")


def _factors(doc: dict) -> pd.DataFrame:
    f = pdata.pef_table(doc["scenario"]["country"]).copy()
    for name, over in doc.get("carriers", {}).items():
        over = {k: v for k, v in over.items() if v is not None and k != "contract_share"}
        if name not in f.index:
            f.loc[name] = {"pef_nren": over["pef_nren"], "pef_ren": over["pef_ren"], "pef_nren_export": np.nan,
                           "pef_ren_export": np.nan, "co2_kg_per_kwh": over["co2_kg_per_kwh"],
                           "co2_kg_per_kwh_export": np.nan, "source": ""}
        given = [k for k in over if k != "source"]
        for k in given:
            f.loc[name, k] = over[k]
        if given:
            f.loc[name, "source"] = f"{over.get('source', 'scenario file')} ([carriers.{name}]: {', '.join(given)})"
        if "pef_nren" in given and "pef_nren_export" not in given:
            f.loc[name, "pef_nren_export"] = f.loc[name, "pef_nren"]
        if "pef_ren" in given and "pef_ren_export" not in given:
            f.loc[name, "pef_ren_export"] = f.loc[name, "pef_ren"]
        if "co2_kg_per_kwh" in given and "co2_kg_per_kwh_export" not in given:
            f.loc[name, "co2_kg_per_kwh_export"] = f.loc[name, "co2_kg_per_kwh"]
    f["pef_nren_export"] = f["pef_nren_export"].fillna(f["pef_nren"])
    f["pef_ren_export"] = f["pef_ren_export"].fillna(f["pef_ren"])
    f["co2_kg_per_kwh_export"] = f["co2_kg_per_kwh_export"].fillna(f["co2_kg_per_kwh"])
    return f


_BOILER_ROWS = {"natural_gas": "gas_boiler", "biogas": "gas_boiler", "oil": "oil_boiler", "lpg": "lpg_boiler",
                "biomass": "biomass_boiler"}


def system_default(kind: str, param: str, carrier: str | None = None, variant: str | None = None) -> tuple[float, str] | None:
    """Default ``(value, source)`` of a system parameter from ``pedgis/data/systems.csv``.

    The most specific row wins: a heat pump's variant (``heat_pump_water_water``), a boiler's fuel
    and variant (``gas_boiler_condensing``, ``oil_boiler``, ``biomass_boiler``), a CHP's fuel
    (``chp_biomass``), then the generic row of the kind (``heat_pump``, ``boiler``, ``chp``, ...).
    A heat pump's ``seer`` may come from an ``eer`` row of its variant.
    """
    rows: list[str] = []
    if kind == "heat_pump" and variant:
        rows.append(f"heat_pump_{variant}")
    if kind == "boiler":
        stem = _BOILER_ROWS.get(carrier or "", "gas_boiler")
        if variant:
            rows.append(f"{stem}_{variant}")
            if variant == "non_condensing":
                rows.append(stem)  # oil/lpg rows without a suffix are non-condensing
        else:
            rows.append(stem)
    if kind == "chp" and carrier:
        rows.append(f"chp_{carrier}")
    rows.append(kind)
    params = [param, "eer"] if param == "seer" else [param]
    for row in rows:
        for prm in params:
            hit = pdata.system_default(row, prm)
            if hit is not None:
                return hit
    return None


def _param(kind: str, name: str, given, param: str, used: dict, required: bool = True, key_prefix: str = "systems",
           carrier: str | None = None, variant: str | None = None):
    if given is not None:
        used[param] = {"value": given, "source": "scenario file"}
        return float(given)
    d = system_default(kind, param, carrier, variant)
    if d is None:
        if required:
            raise InputDataError(f"{key_prefix}.{name}.{param}: no value given and no default for a {kind} in "
                                 f"pedgis/data/systems.csv; add `{param} = ...` to [{key_prefix}.{name}].")
        return None
    used[param] = {"value": d[0], "source": d[1]}
    return d[0]


def _systems(doc: dict) -> tuple[list[us.System], dict]:
    out, used_all = [], {}
    default_carrier = {"heat_pump": "electricity", "electric_resistance": "electricity",
                       "district_heating": "district_heat", "district_cooling": "district_cooling"}
    specs = list(doc.get("systems", {}).items())
    # a heat network's `members` get a district-heating substation on that network (SH and DHW);
    # listed after the scenario's systems, so an explicit assignment by id wins
    for net, ds in doc.get("district_systems", {}).items():
        if ds.get("technology") == "heat_network" and ds.get("members"):
            specs.append((f"{net}_substations", {"kind": "district_heating", "services": ["sh", "dhw"],
                                                 "buildings": list(ds["members"]), "network": net,
                                                 "source": f"district_systems.{net}.members"}))
    for name, s in specs:
        kind = s["kind"]
        used: dict = {}
        services = tuple(s["services"])
        carrier = s.get("carrier") or default_carrier.get(kind)
        opt = {"carrier": carrier, "variant": s.get("variant")}
        kw = dict(
            eta_emitter=_param(kind, name, s.get("eta_emitter"), "eta_emitter", used, **opt),
            eta_distribution=_param(kind, name, s.get("eta_distribution"), "eta_distribution", used, **opt),
        )
        if kind == "heat_pump":
            if "sh" in services or "dhw" in services:
                kw["scop"] = _param(kind, name, s.get("scop"), "scop", used, **opt)
            if "dhw" in services:
                if s.get("scop_dhw") is None and s.get("scop") is not None:
                    kw["scop_dhw"] = kw["scop"]
                    used["scop_dhw"] = {"value": kw["scop"], "source": "= scop (scenario file)"}
                else:
                    kw["scop_dhw"] = _param(kind, name, s.get("scop_dhw"), "scop_dhw", used, required=False, **opt) or kw["scop"]
            if "sc" in services:
                kw["seer"] = _param(kind, name, s.get("seer"), "seer", used, **opt)
        elif kind in ("electric_resistance", "boiler", "district_heating", "district_cooling"):
            kw["eta"] = _param(kind, name, s.get("eta"), "eta", used, **opt)
        elif kind == "thermally_driven_heat_pump":
            if "sh" in services or "dhw" in services:
                kw["gue"] = _param(kind, name, s.get("gue"), "gue", used, **opt)
            if "sc" in services:
                kw["cop_thermal"] = _param(kind, name, s.get("cop_thermal"), "cop_thermal", used, **opt)
            kw["aux_electric_share"] = _param(kind, name, s.get("aux_electric_share"), "aux_electric_share", used,
                                              required=False, **opt) or 0.0
        used["carrier"] = {"value": carrier, "source": "scenario file" if s.get("carrier") else "default for the kind"}
        out.append(us.System(name=name, kind=kind, services=services, carrier=carrier, network=s.get("network"),
                             uses=tuple(s.get("uses") or ()), buildings=tuple(s.get("buildings") or ()),
                             default=bool(s.get("default")), **kw))
        used_all[name] = {"kind": kind, "services": list(services), **used, "source": s.get("source", "scenario file")}
    return out, used_all


def _district_systems(doc: dict) -> tuple[list[gen.DistrictSystem], dict]:
    out, used_all = [], {}
    fields = set(gen.DistrictSystem.__dataclass_fields__)
    for name, s in doc.get("district_systems", {}).items():
        tech = s["technology"]
        used: dict = {}
        kw = {k: v for k, v in s.items() if k in fields and v is not None and k not in ("technology",)}
        if tech == "chp":
            kw["eta_el"] = _param("chp", name, s.get("eta_el"), "eta_el", used, key_prefix="district_systems", carrier=s.get("fuel"))
            kw["eta_th"] = _param("chp", name, s.get("eta_th"), "eta_th", used, key_prefix="district_systems", carrier=s.get("fuel"))
        if tech == "heat_network":
            kw["losses"] = _param("heat_network", name, s.get("losses"), "losses", used, key_prefix="district_systems")
        out.append(gen.DistrictSystem(name=name, technology=tech, **kw))
        used_all[name] = {**{k: v for k, v in s.items() if v is not None}, **used}
    return out, used_all


def resolve_model(scenario: Scenario, weather=None, ev_charging_kwh: float | None = None) -> EngineModel:
    """Every parameter of steps 2–7 from the scenario, the shipped tables and the weather.

    Parameters
    ----------
    scenario : validated scenario
    weather : :class:`pedgis.io.weather.Weather` or None (needed for computed degree days and
        the computed PV specific yield)
    ev_charging_kwh : the annual EV charging ``[ev]`` gives the checklist
        (:func:`pedgis.timeseries.integrate.ev_charging_from_ev`); None: ``checklist.ev_charging_kwh``
    """
    doc = scenario.doc
    notes: list[str] = []
    table, need_sources = _needs_table(doc)
    n = doc["needs"]
    hdd, cdd, dd_source = n.get("hdd_kd"), n.get("cdd_kd"), "scenario file"
    if n["method"] == "degree_days":
        if hdd is None or cdd is None:
            if weather is None:
                raise InputDataError("needs.method = \"degree_days\" needs hdd_kd and cdd_kd or a [weather] path.")
            t = weather.data["temp_air"]
            if hdd is None:
                hdd = nd.degree_days(t, n["heating_base_c"], n["heating_threshold_c"], "heating")
            if cdd is None:
                cdd = nd.degree_days(t, n["cooling_base_c"], n["cooling_threshold_c"], "cooling")
            dd_source = f"computed from {weather.source} (Eurostat method)"
    params = nd.NeedsParameters(table=table, method=n["method"], hdd_kd=hdd, cdd_kd=cdd,
                                include_appliances=doc["checklist"]["appliances"])
    systems, sys_used = _systems(doc)
    dsys, dsys_used = _district_systems(doc)
    factors = _factors(doc)
    boundary_type = doc["boundary"]["type"]
    green = doc.get("carriers", {}).get("green_electricity", {}).get("contract_share") or 0.0
    if green and boundary_type != "virtual":
        notes.append(f"carriers.green_electricity.contract_share = {green:g} not counted: green-electricity contracts "
                     f"count only for a virtual boundary (paper §2.1); boundary.type is \"{boundary_type}\".")
        warnings.warn(notes[-1], PedgisWarning, stacklevel=2)
    pv = doc["pv"]
    yld, yld_src = pv.get("specific_yield_kwh_kwp"), "scenario [pv] specific_yield_kwh_kwp"
    if yld is None and weather is not None:
        yld = gen.specific_pv_yield(weather.data, weather.latitude, weather.longitude, pv["tilt_deg"],
                                    pv["azimuth_deg"], pv["performance_ratio"], weather.altitude,
                                    sun_times=weather.sun_times, sun_position=weather.sun_position)
        yld_src = (f"computed from {weather.source}: pvlib Hay–Davies POA at tilt {pv['tilt_deg']:g}°, "
                   f"azimuth {pv['azimuth_deg']:g}°, × PR {pv['performance_ratio']:g}")
    loads = {}
    if doc["checklist"]["ev_charging"]:
        loads["ev_charging"] = doc["checklist"]["ev_charging_kwh"] if ev_charging_kwh is None else ev_charging_kwh
    if doc["checklist"]["public_lighting"]:
        loads["public_lighting"] = doc["checklist"]["public_lighting_kwh"]
    assumptions = {
        "scenario": doc["scenario"]["name"],
        "timestep": doc["scenario"]["timestep"],
        "pef_set": doc["scenario"]["country"],
        "boundary_type": boundary_type,
        "objective": doc["objective"]["type"],
        "checklist": {"epb_uses": ["sh", "sc", "dhw", "lighting", "ventilation"],
                      "appliances": doc["checklist"]["appliances"], "ev_charging": doc["checklist"]["ev_charging"],
                      "public_lighting": doc["checklist"]["public_lighting"],
                      "ev_charging_kwh": loads.get("ev_charging", 0.0), "public_lighting_kwh": loads.get("public_lighting", 0.0),
                      "source": "paper Fig. 3"},
        "needs": {"method": n["method"], "set": n["set"], "dhw_basis": n["dhw_basis"],
                  "hdd_kd": hdd, "cdd_kd": cdd, "degree_days_source": dd_source if n["method"] == "degree_days" else None,
                  "per_use": {u: {k: {"value": (None if pd.isna(table.loc[u, k]) else table.loc[u, k]),
                                      "unit": ("kWh/(m2 a)" if k in NEEDS else "kWh/(unit a)" if k == "dhw_kwh_per_unit" else "W/(m2 K)" if k.startswith("blc") else "-"),
                                      "source": need_sources.get(u, {}).get(k, "scenario [needs]")}
                                  for k in table.columns} for u in table.index}},
        "heights": dict(doc["heights"]),
        "pv": {"specific_yield_kwh_kwp": yld, "source": yld_src if yld is not None else "not needed (no pv_kwp without pv_kwh)"},
        "systems": sys_used,
        "district_systems": dsys_used,
        "green_electricity_share": green, "green_electricity_counted": bool(green and boundary_type == "virtual"),
    }
    return EngineModel(needs=params, systems=systems, district_systems=dsys, factors=factors, boundary_type=boundary_type,
                       objective=doc["objective"]["type"], checklist=dict(doc["checklist"]), district_loads_kwh=loads,
                       green_share=float(green), pv_specific_yield=yld, pv_specific_yield_source=yld_src,
                       system_column="system", assumptions=assumptions, notes=notes)


# ---------------------------------------------------------------------------------------------
# steps 2-7


def _check_table(b: pd.DataFrame, model: EngineModel) -> None:
    """Errors and warnings about the step-1 table before any step runs."""
    inc = b["included"].to_numpy()
    known = set(model.needs.table.index)
    bad = inc & ~b["use"].isin(known).to_numpy()
    if "use_shares" in b:  # every use of a mixed-use building needs its row of the needs table too
        from .mixed_use import UNCONDITIONED, parse_shares

        bad |= inc & np.array([any(u not in known and u != UNCONDITIONED for u, _ in parse_shares(t))
                               for t in b["use_shares"]], dtype=bool)
    if bad.any():
        vals = sorted(set(b.loc[bad, "use"].astype(str)))
        ex = b.loc[bad, "building_id"].astype(str).head(3).tolist()
        raise InputDataError(
            f"buildings: unknown use type(s) {', '.join(repr(v) for v in vals)} (field buildings.columns.use; e.g. buildings "
            f"{', '.join(ex)}). Map each to a pedgis use type in [buildings.use_map] (e.g. `\"{vals[0]}\" = \"residential\"`) "
            f"or define it in [needs.overrides.{vals[0]}] with `based_on`. Known use types: {', '.join(sorted(known))}.")
    area = b["floor_area_m2"].to_numpy(dtype=float)
    neg = inc & ~(np.isfinite(area) & (area >= 0))
    if neg.any():
        ex = b.loc[neg, "building_id"].astype(str).head(3).tolist()
        raise InputDataError(f"buildings: {int(neg.sum())} buildings have a negative or missing floor area "
                             f"(floor_area_m2; e.g. {', '.join(ex)}). Fix the footprint geometry or the floors/height "
                             f"fields, or exclude these buildings from the boundary.")
    if model.system_column and model.system_column in b:
        problem = us.system_column_problem(b.loc[inc, model.system_column], [s.name for s in model.systems])
        if problem:
            raise InputDataError(problem)
    if any(s.buildings for s in model.systems):
        ids = pd.Index(us.clean_labels(b["building_id"]))
        for s in model.systems:
            wanted = pd.Index(list(s.buildings), dtype=object)
            missing_ids = [str(i) for i in wanted[~wanted.isin(ids)]]
            if missing_ids:
                warnings.warn(f"systems.{s.name}.buildings: {len(missing_ids)} id(s) not in the buildings "
                              f"(e.g. {', '.join(missing_ids[:3])}); check them against buildings.columns.building_id.",
                              DataQualityWarning, stacklevel=3)


def compute(buildings: pd.DataFrame, model: EngineModel, progress: ProgressCallback | None = None,
            partition_size: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Steps 2–7 on a step-1 table: a map per building, a reduce for the district, a map per building.

    Parameters
    ----------
    buildings : the step-1 table (docs/architecture.md); optional ``pv_kwp``, ``pv_kwh``,
        ``solar_thermal_kwh``, ``persons``, ``beds``, ``system`` columns are used when present
    model : :func:`resolve_model` output
    progress : callback ``progress(fraction, message)``
    partition_size : buildings per partition (default: all in one in this process,
        :data:`CLUSTER_PARTITION` on a cluster, :mod:`pedgis.cluster`)

    Returns
    -------
    buildings : the table with the per-building result columns (NaN for excluded buildings)
    district : the content of ``district.json`` without the run metadata
    """
    progress = progress or no_progress
    b = buildings.copy()
    b["included"] = b["included"].astype(bool) if "included" in b else True
    _check_table(b, model)
    parts = _partitions(b, partition_size or (CLUSTER_PARTITION if current_client() else len(b)))
    progress(0.05, "steps 2-4 per building: needs, uses, own PV")
    steps = map_partitions(per_building.building_steps, parts, model, keep=True)
    progress(0.5, "steps 4-7 for the district: generation, netting, primary energy, balance")
    district, context = district_netting(map_partitions(per_building.totals_of, steps), model)
    progress(0.8, "steps 5-7 per building: each building's own balance")
    results = map_partitions(per_building.building_results, steps, context, model)
    out = results[0][0] if len(results) == 1 else pd.concat([table for table, _ in results])
    progress(1.0, "steps 2-7 done")
    return out, with_buildings_balance(district, float(sum(balance for _, balance in results)))


def _partitions(b: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    """The table in consecutive partitions of ``size`` rows (the table itself when it fits one)."""
    if len(b) <= size:
        return [b]
    return [b.iloc[i:i + size].copy() for i in range(0, len(b), size)]


def preflight(buildings: pd.DataFrame, model: EngineModel) -> None:
    """What steps 2–7 check on a step-1 table before computing (:func:`compute` runs it first):
    use types, floor areas, the system column, PV data without a yield, and that every need of
    an included building has a system. Raises :class:`InputDataError`."""
    b = buildings
    if "included" not in b:
        b = b.assign(included=True)
    _check_table(b, model)
    per_building.check_pv_yield(*per_building.pv_columns(b), b["included"].to_numpy(dtype=bool), model)
    us.check_coverage(b, nd.building_needs(b, model.needs), us.assign_systems(b, model.systems, model.system_column))


@dataclass
class AheadChecks:
    """What :class:`Step1Ahead` checked, each part with the warnings it raised
    (:func:`pedgis.errors.portable`), issued again where :func:`check_inputs` collects them."""

    step1: Any  # pedgis.io.step1_inputs.Step1Check
    step1_warnings: list
    ranges: list  # checks.raster_range_problems
    ranges_warnings: list


class Step1Ahead:
    """Step 1 of a scenario (:func:`pedgis.io.step1_inputs.check_step1_setup`) and the rasters'
    range scan (:func:`pedgis.checks.raster_range_problems`), run by another process while this
    one reads the weather and the engine model: the command line's page process runs them
    (calling this object) as it starts, when it is otherwise idle.

    :func:`check_inputs` takes their outcome when its own step-1 setup, folder and use types are
    the ones this was started with (the use types come from the needs table, as the model's
    do), else checks them itself. ``outcome(replay)`` is set by whoever runs it: the
    :class:`AheadChecks`, its error raised (``replay=False``: only taken off the pipe).
    """

    def __init__(self, scenario: Scenario):
        from .config import known_uses
        from .io.step1_inputs import step1_setup

        self.doc = scenario.doc
        self.uses = known_uses(scenario.doc)
        self.setup = step1_setup(scenario.doc, self.uses)
        self.base_dir = scenario.base_dir
        self.outcome = None

    #: buildings files whose header says how many features they hold (read in a few ms)
    COUNTED_FORMATS = (".gpkg", ".shp")

    @classmethod
    def for_district(cls, scenario: Scenario, max_buildings: int) -> Step1Ahead | None:
        """A :class:`Step1Ahead` when the buildings are a GeoPackage or Shapefile of at most
        ``max_buildings`` features, else None: a city's step 1 stays in the process that computes
        it (copying its table back would cost more than it saves), and so do a database's, a 3D
        city model's or an archive's, whose size only reading them tells."""
        import pyogrio

        from .io.step1_inputs import input_path

        ahead = cls(scenario)
        path = input_path(scenario.base_dir, ahead.setup.buildings.path)
        if not isinstance(path, Path) or path.suffix.lower() not in cls.COUNTED_FORMATS:
            return None
        try:
            n = pyogrio.read_info(path, layer=ahead.setup.buildings.layer)["features"]
        except Exception:  # noqa: BLE001 - unreadable here: the check itself says why, in this process
            return None
        return ahead if 0 <= n <= max_buildings else None

    def __call__(self) -> AheadChecks:
        from .checks import raster_range_problems
        from .errors import portable, recorded_warnings
        from .io.step1_inputs import check_step1_setup

        with recorded_warnings() as step1_caught:
            step1 = check_step1_setup(self.setup, self.base_dir, self.uses)
        with recorded_warnings() as ranges_caught:
            ranges = raster_range_problems(self.doc)
        return AheadChecks(step1, portable(step1_caught), ranges, portable(ranges_caught))

    def serves(self, doc, setup, base_dir, uses) -> bool:
        return self.outcome is not None and self.doc is doc and (self.setup, self.base_dir, list(self.uses)) == (
            setup, base_dir, list(uses))


def check_inputs(source, *, base_dir=None, progress: ProgressCallback | None = None, pg_out: str | None = None,
                 pg_schema: str | None = None, step1_ahead: Step1Ahead | None = None):
    """The one input checker of ``pedgis validate`` and ``pedgis run``: every check a run makes
    before computing, each problem reported in one pass.

    In order: the scenario file (TOML, schema, cross references, input files exist); the weather
    file, parsed by the same reader a run uses; the engine model (needs table with ``based_on``,
    systems, factors); the step-1 inputs (buildings, boundary, rasters) and step 1 itself
    (:func:`pedgis.io.step1_inputs.check_step1`); building ids the scenario names; the weather
    station's distance from the district; raster values outside their physical range; and what
    :func:`compute` checks on the step-1 table (:func:`preflight`). Warnings raised on the way
    become warnings of the check.

    Parameters
    ----------
    source : a scenario file (str or Path), a :class:`pedgis.config.Scenario`, or a dict
        (relative paths resolved against ``base_dir``)
    progress : callback ``progress(fraction, message)`` for step 1
    pg_out, pg_schema : a PostGIS target of the command line (``--pg-out``, ``--pg-schema``), which
        wins over ``[output] postgis``; the target is checked before computing (connection, tables
        pedgis did not write) and returned as ``.postgis``
    step1_ahead : step 1 already running in another process (:class:`Step1Ahead`, the command
        line's); the same checks, their warnings and problems as when run here

    Returns
    -------
    :class:`pedgis.checks.InputCheck` (never raises for bad input: ``.problems`` says what is wrong;
    ``.raise_errors()`` raises them)
    """
    from . import checks
    from .config import known_uses, missing_files, read_scenario
    from .io.step1_inputs import check_step1_setup, step1_setup
    from .solar.scenario import rooftop_setup, wants_rooftop

    chk = checks.InputCheck()
    if isinstance(source, Scenario):  # validated when it was made; its files may have gone since
        scenario = source
        chk.where = str(scenario.path or "scenario")
        for e in missing_files(scenario.doc):
            chk.error(e.key, e)
    else:
        doc, errors, missing, path = read_scenario(source, base_dir)
        chk.where = str(path or "scenario")
        for e in [*errors, *missing]:
            chk.error(getattr(e, "key", None) or chk.where, e)
        if errors:
            return chk  # the inputs cannot be checked against a scenario that does not hold
        base = Path(path).resolve().parent if path else Path(base_dir or ".").expanduser().resolve()
        scenario = Scenario(doc=doc, base_dir=base, path=Path(path).resolve() if path else None)
    chk.scenario = scenario
    doc = scenario.doc
    try:  # the roofs' solar model, parsed once for the run
        chk.rooftop = rooftop_setup(doc)
    except ConfigError as exc:
        chk.error(exc.key or "solar", exc)
    wpath = doc["weather"].get("path")
    from .io.umep import is_umep_file

    # a UMEP/SUEWS forcing file has no coordinates: read at the district's centroid, after step 1
    umep = wpath is not None and Path(wpath).exists() and is_umep_file(wpath)

    def weather_and_model(location=None):
        if wpath is not None and Path(wpath).exists() and (location is not None or not umep):
            from .io.weather import read_weather

            with checks.collecting(chk, str(wpath)):
                try:
                    chk.weather = read_weather(wpath, location=location)
                except InputDataError as exc:
                    chk.error("weather.path", exc)
        elif wpath is None and wants_rooftop(doc):
            chk.error("weather.path", ConfigError("rooftop PV from [rasters] needs an hourly weather year: add "
                                                  "`path = \"...epw\"` to [weather].", key="weather.path"))
        with checks.collecting(chk, chk.where):
            from .timeseries.integrate import ev_charging_from_ev, options_from_doc

            try:
                ev_kwh, chk.run_notes = ev_charging_from_ev(doc)
                chk.model = resolve_model(scenario, chk.weather, ev_charging_kwh=ev_kwh)
            except InputDataError as exc:
                chk.error("scenario", exc)
            try:  # the time-resolved sections, parsed once for the run
                chk.timeseries = options_from_doc(doc)
            except ConfigError as exc:
                chk.error(exc.key or "timeseries", exc)

    if not umep:
        weather_and_model()
    uses = list(chk.model.needs.table.index) if chk.model is not None else known_uses(doc)
    step1 = step1_setup(doc, uses)
    chk.buildings_source = step1.buildings.path
    ahead = None
    if step1_ahead is not None and step1_ahead.serves(doc, step1, scenario.base_dir, uses):
        ahead = step1_ahead.outcome()
    elif step1_ahead is not None and step1_ahead.outcome is not None:
        step1_ahead.outcome(replay=False)  # started with other use types (the model failed): not this one
    if "buildings.path" in {p.where for p in chk.errors}:
        return chk  # no buildings file: nothing more to check against
    with checks.collecting(chk, str(step1.buildings.path)):
        if ahead is not None:
            issue_again(ahead.step1_warnings)
            s1 = ahead.step1
        else:
            s1 = check_step1_setup(step1, scenario.base_dir, uses, progress)
    reported = {p.where for p in chk.errors}  # e.g. a raster file not found, reported above
    for p in s1.problems:
        if p.where in reported:
            continue
        if p.severity == "error":
            chk.error(p.where, p.message)
        else:
            chk.problems.append(p)
    chk.step1 = s1.result
    if umep:
        lonlat = checks.district_lonlat(s1.data.gdf) if s1.data is not None else None
        weather_and_model(None if lonlat is None else (lonlat[1], lonlat[0]))
    if s1.data is not None:
        chk.problems += checks.building_id_problems(doc, s1.data.gdf, s1.columns, s1.data.path)
        lonlat = checks.district_lonlat(s1.data.gdf)
        if chk.weather is not None and lonlat is not None:
            p = checks.weather_site_problem(chk.weather, lonlat, doc["weather"].get("far_from_site", False))
            if p is not None:
                chk.problems.append(p)
    with checks.collecting(chk, chk.where):
        if ahead is not None:
            issue_again(ahead.ranges_warnings)
            chk.problems += ahead.ranges
        else:
            chk.problems += checks.raster_range_problems(doc)
        if chk.step1 is not None and chk.rooftop is not None and chk.rooftop.dsm is not None:
            p = checks.roof_coverage_problem(chk.step1.buildings, chk.rooftop.dsm)
            chk.problems += [p] if p is not None else []
    try:  # results into PostGIS: refused now, before computing, if pedgis may not replace the tables
        from .io.postgis import target_from, target_problems

        chk.postgis = target_from(doc.get("output"), pg_out, pg_schema)
        for message in target_problems(chk.postgis) if chk.postgis is not None else []:
            chk.error("output.postgis", message)
    except InputDataError as exc:
        chk.error("output.postgis", exc)
    if chk.step1 is not None and chk.model is not None and not chk.errors:
        with checks.collecting(chk, str(step1.buildings.path)):
            try:
                preflight(chk.step1.buildings, chk.model)
            except InputDataError as exc:
                chk.error("buildings", exc)
    return chk


def run(scenario: Scenario, progress: ProgressCallback | None = None, *, step1_hook=None, checked=None,
        grid_folder=None, on_roof_model=None) -> DistrictResult:
    """Run the 8 steps on a validated scenario (steps 1–7 here; step 8, the Sankey, draws
    ``district["breakdown"]`` in :mod:`pedgis.viz`).

    Every input is checked first by :func:`check_inputs`, the checker of ``pedgis validate``;
    any error stops the run (one :class:`InputDataError` listing them all), its warnings are
    issued again, and the run goes on from what the checker read (weather, model, step 1).

    Parameters
    ----------
    scenario : :class:`pedgis.config.Scenario`
    progress : callback ``progress(fraction, message)``; may raise Cancelled
    step1_hook : optional ``f(buildings) -> buildings`` applied to the step-1 table before steps
        2-7 (variants that change rooftop PV, :mod:`pedgis.variants`)
    checked : the :func:`check_inputs` result of this scenario when the caller has it already
        (the caller then shows its warnings)
    grid_folder : the temporary output folder: a city's rooftop irradiation and sky-view grids go
        to scratch files there (:mod:`pedgis.io.roof_grids`), removed by
        :func:`pedgis.io.outputs.write_outputs` once the outputs are written
    on_roof_model : optional ``f(rooftop_result)``, called as soon as the roof model is done (the
        command line sends its irradiation grid to the page process, which draws the map's
        overlay while steps 2-7 and the hourly balance run)
    """
    from .progress import scaled

    progress = progress or no_progress
    chk = checked
    if chk is None:
        progress(0.0, "step 1: checking the inputs, buildings, boundary and heights")
        chk = check_inputs(scenario, progress=scaled(progress, 0.0, 0.2))
        chk.emit_warnings()
    chk.raise_errors()
    from .timeseries.integrate import attach_timeseries  # time-resolved balance (issue 7)

    weather, model, step1, ts_notes = chk.weather, chk.model, chk.step1, chk.run_notes
    step1_notes: list[str] = []
    if step1_hook is not None:
        step1.buildings = step1_hook(step1.buildings)
    # step 4 from the roof rasters (pedgis.solar): PV potential merged in before step 2
    solar = None
    if chk.rooftop is not None:
        from .solar.scenario import rooftop_for_scenario

        step1.buildings, solar, solar_notes = rooftop_for_scenario(chk.rooftop, step1.buildings, weather,
                                                                   scaled(progress, 0.2, 0.35), grid_folder)
        step1_notes += solar_notes
        if on_roof_model is not None:
            on_roof_model(solar)
    buildings, district = compute(step1.buildings, model, scaled(progress, 0.2 if solar is None else 0.35, 0.95))
    if solar is not None:
        district["assumptions"]["solar"] = solar.assumptions["solar"]
    district = {"scenario": scenario.name, "pedgis_version": __import__("pedgis").__version__, **district}
    district["assumptions"]["step1_messages"] = list(step1.messages) + step1_notes
    for m in list(step1.messages) + step1_notes:
        district["assumptions"]["notes"].append(m)
    district["assumptions"]["notes"].extend(ts_notes)
    if weather is not None and weather.format == "umep":  # no station: where it stands and how DNI/DHI were got
        district["assumptions"]["notes"].append(f"weather {weather.source}: {weather.name}.")
    result = DistrictResult(buildings=buildings, boundary=step1.boundary, district=district, scenario=scenario,
                            roof_segments=None if solar is None else solar.segments, irradiation=solar)
    # hourly PV per building: the roof model's shape (orientation, shading), the engine's annual kWh
    attach_timeseries(result, step1.buildings, model, weather, scaled(progress, 0.95, 1.0),
                      hourly_pv=None if solar is None else solar.hourly_pv_kwh, options=chk.timeseries)
    _warn_flagged(result, chk.buildings_source)
    progress(1.0, "done")
    return result


def _warn_flagged(result: DistrictResult, source) -> None:
    """One warning with the count of flagged buildings of the final table, the count the report
    and ``buildings.gpkg`` show (steps after step 1 add flags, e.g. DHW from the floor area)."""
    from .geometry import flagged_count

    n = flagged_count(result.buildings)
    if n:
        warnings.warn(f"{Path(str(source or 'buildings')).name}: {n} of {len(result.buildings)} buildings have data-quality flags "
                      "(repairs, defaults, missing data); see the `flags` column of buildings.gpkg and the "
                      "report.", DataQualityWarning, stacklevel=2)
