"""The time-resolved balance of an engine run: from the annual steps 2-7 to hourly series.

:func:`time_resolved` takes what :func:`pedgis.pipeline.run` has (the step-1 table, the resolved
:class:`~pedgis.pipeline.EngineModel`, the weather year and the annual results) and returns the
``timeseries`` block of ``district.json``, per-building columns and the district's hourly series.

Every hourly series is an annual quantity of the engine spread with a profile whose sum is 1, so
the time-resolved run conserves the engine's annual energies exactly; only the netting period
changes. Included buildings are rows; the district's own loads and assets (public lighting, EV
charging, CHP, PV fields, wind, heat-network losses) form one more node, ``district systems``.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..delivered import EXPORTABLE, NATURAL_CARRIERS  # the engine's
from ..errors import ConfigError, DataQualityWarning, InputDataError
from . import balance as bl
from . import evs
from . import profiles as pr

SERVICE_SHAPE = {"sh": "sh", "sc": "sc", "dhw": "dhw", "lighting": "lighting", "ventilation": "ventilation",
                 "appliances": "appliances"}
DISTRICT_NODE = "district systems"
NETWORK_PREFIX = "heat_network:"  # the engine's per-building carrier of a district heat network

#: Generic pitch-regulated wind turbine: cut-in 3, rated 12, cut-out 25 m s⁻¹; wind speed moved
#: from 10 m to the hub with the 1/7 power law (Peterson & Hennessey 1978, J. Appl. Meteor. 17:390).
WIND_CUT_IN, WIND_RATED, WIND_CUT_OUT, WIND_SHEAR = 3.0, 12.0, 25.0, 1.0 / 7.0


def wind_shape(wind_speed_10m, hub_height_m: float = 80.0) -> np.ndarray:
    """Hourly output shape (sum 1) of a generic wind turbine from the weather file's wind speed.

    Notes
    -----
    v_hub = v_10 (h/10)^(1/7); P/P_rated = (v³ − v_in³)/(v_r³ − v_in³) for v_in ≤ v < v_r, 1 up to
    the cut-out speed, 0 otherwise. Only the *shape* is used: the annual output stays the
    engine's ``capacity_kw × full_load_hours`` or ``output_kwh``.
    """
    v = np.asarray(wind_speed_10m, dtype=float)
    if np.isnan(v).any():
        raise InputDataError(f"weather wind_speed: {int(np.isnan(v).sum())} missing hour(s); fill them for the wind profile.")
    vh = v * (hub_height_m / 10.0) ** WIND_SHEAR
    p = np.where((vh >= WIND_CUT_IN) & (vh < WIND_RATED),
                 (vh ** 3 - WIND_CUT_IN ** 3) / (WIND_RATED ** 3 - WIND_CUT_IN ** 3), 0.0)
    p = np.where((vh >= WIND_RATED) & (vh < WIND_CUT_OUT), 1.0, p)
    if p.sum() <= 0:
        return np.full(v.size, 1.0 / v.size)
    return p / p.sum()


def dark_hours_shape(weather) -> np.ndarray:
    """Shape (sum 1) of dusk-to-dawn operation (public lighting): hours with the sun below the
    horizon at the row's sun instant (``Weather.sun_position``)."""
    el = weather.sun_position["apparent_elevation"].to_numpy()
    dark = (el < 0).astype(float)
    return dark / dark.sum()


@dataclass
class Options:
    """Time-resolved options read from the scenario (see docs/config.md)."""

    timestep: str
    sharing: bool
    battery: bl.BatterySpec | None
    thermal: dict | None
    ev: dict | None
    cop_curves: dict
    factor_series: dict
    chunk_size: int
    pv_tilt_deg: float = 30.0
    pv_azimuth_deg: float = 180.0
    degree_hours: dict | None = None
    base_dir: object = None
    network_storage: object = None
    use_aliases: dict | None = None
    indicators: bool = True  # the informative block of an annual run


def options_from_doc(doc: dict) -> Options:
    """Read ``[scenario] timestep``, ``[sharing]``, ``[storage]``, ``[ev]`` and ``[timeseries]``."""
    ts = doc.get("timeseries", {}) or {}
    st = doc.get("storage", {}) or {}
    bat = st.get("battery", {}) or {}
    battery = None
    if (bat.get("capacity_kwh") or 0) > 0:
        cap = float(bat["capacity_kwh"])
        power = bat.get("power_kw")
        battery = bl.BatterySpec(capacity_kwh=cap, power_kw=float(power) if power is not None else cap * float(bat.get("c_rate", 0.5)),
                                 round_trip_efficiency=float(bat.get("round_trip_efficiency", 0.9)),
                                 level=bat.get("level", "building"), initial_soc=float(bat.get("initial_soc", 0.0)),
                                 self_discharge_per_h=float(bat.get("self_discharge_per_h", 0.0)))
    th = st.get("thermal", {}) or {}
    thermal = dict(th) if (th.get("capacity_kwh") or 0) > 0 else None
    hn = st.get("heat_network", {}) or {}
    network = None
    if (hn.get("capacity_kwh") or 0) > 0:
        cap = float(hn["capacity_kwh"])
        network = bl.BatterySpec(capacity_kwh=cap, power_kw=float(hn["power_kw"]) if hn.get("power_kw") is not None
                                 else cap / 6.0, round_trip_efficiency=1.0, level="district",
                                 self_discharge_per_h=float(hn.get("loss_per_h", 0.001)))
    ev = doc.get("ev", {}) or {}
    curves = {}
    for name, c in (ts.get("cop_curves") or {}).items():
        if not isinstance(c, dict) or c.get("temp_c") is None or c.get("cop") is None:
            raise ConfigError("a COP curve needs `temp_c = [...]` and `cop = [...]`", key=f"timeseries.cop_curves.{name}")
        curves[name] = (list(c["temp_c"]), list(c["cop"]))
    return Options(timestep=doc["scenario"].get("timestep", "annual"),
                   sharing=bool((doc.get("sharing") or {}).get("enabled", True)),
                   battery=battery, thermal=thermal, ev=dict(ev) if (ev.get("vehicles") or 0) > 0 else None,
                   cop_curves=curves, factor_series=dict(ts.get("factors") or {}), network_storage=network,
                   chunk_size=int(ts.get("chunk_size") or 512),
                   pv_tilt_deg=float((doc.get("pv") or {}).get("tilt_deg", 30.0)),
                   pv_azimuth_deg=float((doc.get("pv") or {}).get("azimuth_deg", 180.0)),
                   degree_hours={k: float(v) for k, v in (doc.get("needs") or {}).items()
                                 if k in ("heating_base_c", "heating_threshold_c", "cooling_base_c",
                                          "cooling_threshold_c") and v is not None},
                   use_aliases={u: o["based_on"] for u, o in ((doc.get("needs") or {}).get("overrides") or {}).items()
                                if isinstance(o, dict) and o.get("based_on")},
                   indicators=bool(ts.get("indicators", True)))


def ev_annual_from_doc(doc: dict) -> float | None:
    """Annual EV charging electricity from ``[ev]`` [kWh a⁻¹], or None without vehicles."""
    ev = doc.get("ev", {}) or {}
    if not (ev.get("vehicles") or 0) > 0:
        return None
    return float(evs.ev_annual_kwh(ev["vehicles"], ev.get("km_per_year", 12000.0), ev.get("kwh_per_km", 0.18),
                                   ev.get("charging_efficiency", 0.9)))


def ev_charging_from_ev(doc: dict) -> tuple[float | None, list[str]]:
    """The annual EV charging the balance counts when ``[ev]`` describes the vehicles.

    ``[ev]`` with vehicles gives the checklist's EV charging when the checklist includes it and
    gives no annual value; the scenario document is not changed. Returns that value (None: the
    checklist's own ``ev_charging_kwh`` stands) and notes for ``assumptions``.
    """
    ev_kwh = ev_annual_from_doc(doc)
    if ev_kwh is None:
        return None, []
    ck = doc.get("checklist") or {}
    if not ck.get("ev_charging"):
        msg = (f"[ev] describes {doc['ev']['vehicles']:g} vehicles ({ev_kwh:,.0f} kWh a-1) but checklist.ev_charging is "
               "false: EV charging is not in the balance (paper Fig. 3). Set checklist.ev_charging = true to include it.")
        warnings.warn(msg, DataQualityWarning, stacklevel=2)
        return None, [msg]
    if ck.get("ev_charging_kwh"):
        return None, []
    return ev_kwh, [f"checklist.ev_charging_kwh = {ev_kwh:,.0f} kWh a-1 from [ev]: vehicles x km_per_year x kwh_per_km "
                    "/ charging_efficiency."]


def _factor_map(model, opts: Options, calendar) -> dict:
    f = model.factors
    out = {}
    for c in f.index:
        extra = opts.factor_series.get(c, {}) or {}

        def pick(name, col, extra=extra, c=c):
            v = extra.get(f"{name}_monthly")
            if v is not None:
                if len(v) != 12:
                    raise ConfigError(f"give 12 monthly values, got {len(v)}", key=f"timeseries.factors.{c}.{name}_monthly")
                return np.asarray(v, dtype=float)
            return float(f.loc[c, col])

        # the export CO2 credit follows the delivered factor (and its series) unless set apart (Eq. 22)
        co2_exp = (pick("co2_kg_per_kwh_export", "co2_kg_per_kwh_export")
                   if extra.get("co2_kg_per_kwh_export_monthly") is not None
                   or f.loc[c, "co2_kg_per_kwh_export"] != f.loc[c, "co2_kg_per_kwh"] else None)
        out[c] = bl.CarrierFactors(pef_nren=pick("pef_nren", "pef_nren"), pef_nren_exp=pick("pef_nren_export", "pef_nren_export"),
                                   pef_ren=pick("pef_ren", "pef_ren"), pef_ren_exp=pick("pef_ren_export", "pef_ren_export"),
                                   co2_kg_per_kwh=pick("co2_kg_per_kwh", "co2_kg_per_kwh"), co2_exp_kg_per_kwh=co2_exp)
        path = extra.get("hourly_path")
        if path is not None:
            from pathlib import Path

            p = Path(path)
            if not p.is_absolute() and opts.base_dir is not None:
                p = Path(opts.base_dir) / p
            if not p.exists():
                raise ConfigError(f"file not found: {p}. Relative paths start from the scenario's folder.",
                                  key=f"timeseries.factors.{c}.hourly_path")
            out[c] = _hourly_factors(p, c, out[c], calendar)
    for c in opts.factor_series:
        if c not in f.index:
            raise ConfigError(f"carrier '{c}' has no factors in the factor set; known: {', '.join(f.index)}",
                              key=f"timeseries.factors.{c}")
    return out


def _hourly_factors(path, carrier, base: bl.CarrierFactors, calendar) -> bl.CarrierFactors:
    try:
        t = pd.read_csv(path)
    except Exception as exc:
        raise InputDataError(f"{path}: cannot read the hourly factor table ({exc}); give a CSV with one row per hour.") from exc
    if len(t) != calendar.n_hours:
        raise InputDataError(f"{path}: {len(t)} rows; the hourly factors of '{carrier}' need {calendar.n_hours} (one per hour of the weather year).")
    cols = {"pef_nren": "pef_nren", "pef_nren_export": "pef_nren_exp", "pef_ren": "pef_ren",
            "pef_ren_export": "pef_ren_exp", "co2_kg_per_kwh": "co2_kg_per_kwh", "co2_kg_per_kwh_export": "co2_exp_kg_per_kwh"}
    known = [c for c in cols if c in t.columns]
    if not known:
        raise InputDataError(f"{path}: no column of {list(cols)}; name the hourly factor columns like the carrier keys.")
    kw = {}
    for c in known:
        v = pd.to_numeric(t[c], errors="coerce")
        if v.isna().any():
            raise InputDataError(f"{path}: column '{c}' has {int(v.isna().sum())} missing or non-numeric value(s); give a number for every hour.")
        kw[cols[c]] = v.to_numpy(dtype=float)
    return bl.CarrierFactors(**{"pef_nren": base.pef_nren, "pef_nren_exp": base.pef_nren_exp, "pef_ren": base.pef_ren,
                                "pef_ren_exp": base.pef_ren_exp, "co2_kg_per_kwh": base.co2_kg_per_kwh,
                                "co2_exp_kg_per_kwh": base.co2_exp_kg_per_kwh, **kw})


def time_resolved(step1_buildings: pd.DataFrame, model, weather, district: dict, buildings_out: pd.DataFrame,
                  opts: Options, progress=None, hourly_pv: pd.DataFrame | None = None) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Time-resolved balance of an engine run.

    Parameters
    ----------
    step1_buildings : DataFrame
        The step-1 table given to :func:`pedgis.pipeline.compute`.
    model : EngineModel
    weather : Weather
        Hourly weather year (8760 rows).
    district : dict
        The annual engine's district dict.
    buildings_out : DataFrame
        The annual engine's buildings table (``pv_kwh`` per building).
    opts : Options
    hourly_pv : DataFrame, optional
        Hourly PV per building from the roof-raster model (8760 rows, one column per
        ``building_id``, kWh): its shape replaces the weather-year PV shape of that building; the
        annual total stays the engine's ``pv_kwh``.

    Returns
    -------
    (dict, DataFrame, DataFrame)
        The ``timeseries`` block of district.json, per-building columns (index of
        ``buildings_out``, NaN for excluded buildings) and the district's hourly series.
    """
    from .. import needs as nd
    from .. import uses as us
    from .series import HeatPumpSeries, SeriesSpec, chunk_factory

    if weather is None:
        raise ConfigError("a monthly or hourly balance needs an hourly weather year: add [weather] path", key="scenario.timestep")
    bl.check_timestep(opts.timestep)
    data = weather.data
    cal = pr.hourly_calendar(data.index)
    temp = data["temp_air"].to_numpy(dtype=float)
    H = cal.n_hours
    b = step1_buildings.copy()
    if "included" not in b:
        b["included"] = True
    b["included"] = b["included"].astype(bool)
    inc = b["included"].to_numpy()
    needs = nd.building_needs(b, model.needs)
    assignment = us.assign_systems(b, model.systems, model.system_column)
    # the buildings' own solar heat as the engine used it (it covers DHW, then SH, first)
    solar_used = (pd.to_numeric(buildings_out["solar_thermal_kwh"], errors="coerce").to_numpy(dtype=float)
                  if "solar_thermal_kwh" in buildings_out else None)
    _, rows = us.building_uses(b, needs, assignment, model.systems, solar_used)
    rows = rows[~rows["carrier"].isin(NATURAL_CARRIERS)].copy()
    by_name = {s.name: s for s in model.systems}
    # heat from one of the district's networks is a trade inside the district, as in the engine:
    # the network (district node) delivers it to the substations at the network's own factor
    # (pedgis.delivered.network_factor); the district nets the network's fuels and external heat
    net_of = {s.name: s.network for s in model.systems if s.kind == "district_heating" and s.network}
    on_net = rows["kind"].eq("district_heating") & rows["system"].isin(list(net_of))
    if on_net.any():  # (an empty float selection + text fails on pandas 2, QGIS's Python)
        rows.loc[on_net, "carrier"] = NETWORK_PREFIX + rows.loc[on_net, "system"].map(net_of)
    pos_inc = np.flatnonzero(inc)
    n_inc = len(pos_inc)
    # per-building annual columns: carrier|service|system
    rows["col"] = rows["carrier"] + "|" + rows["service"] + "|" + rows["system"]
    wide = rows.pivot_table(index="building", columns="col", values="input_kwh", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(pos_inc, fill_value=0.0)
    use_of = b["use"].astype(str).to_numpy()
    table = pd.DataFrame(index=np.arange(n_inc))
    table["use"] = use_of[pos_inc]
    for c in wide.columns:
        table[c] = wide[c].to_numpy()
    pv_b = pd.to_numeric(buildings_out["pv_kwh"], errors="coerce").to_numpy(dtype=float)
    table["pv_kwh"] = pv_b[pos_inc]
    # shapes: the schedules know the base use types; scenario-defined ones fall back (with a warning)
    dh = {"heating_base_c": pr.HEATING_BASE_C, "heating_threshold_c": pr.HEATING_THRESHOLD_C,
          "cooling_base_c": pr.COOLING_BASE_C, "cooling_threshold_c": pr.COOLING_THRESHOLD_C}
    dh.update(opts.degree_hours or {})
    shapes = pr.use_shapes(table["use"], cal, temp, aliases=opts.use_aliases, **dh)
    pv_assump = model.assumptions.get("pv", {})
    tilt, az = opts.pv_tilt_deg, opts.pv_azimuth_deg
    pv_shape = pr.pv_shape(data, weather.latitude, weather.longitude, weather.altitude, tilt, az,
                           sun_times=weather.sun_times, sun_position=weather.sun_position)
    # heat pumps: COP curves per system (shape only; annual electricity stays the engine's)
    cop = None
    hp_cols = [c for c in table.columns if "|" in c and by_name.get(c.split("|")[2]) is not None
               and by_name[c.split("|")[2]].kind == "heat_pump" and c.startswith("electricity|")
               and c.split("|")[1] in ("sh", "dhw")]
    extra = {"pv": pv_shape}
    spec_el, spec_fuel = {}, {}
    hp_series = []
    for c in table.columns:
        if "|" not in c:
            continue
        carrier, service, system = c.split("|")
        shape = SERVICE_SHAPE[service]
        if carrier == bl.ELECTRICITY:
            if c in hp_cols and system in opts.cop_curves:
                curve = pr.cop_curve(temp, *opts.cop_curves[system])
                key = f"cop:{system}:{service}"
                rows_shape = shapes.shapes[shape] / curve[None, :]
                rows_shape = rows_shape / rows_shape.sum(axis=1, keepdims=True)
                shapes.shapes[key] = rows_shape
                spec_el[c] = key
            else:
                spec_el[c] = shape
            if c in hp_cols:
                hp_series.append((c, service, system))
        else:
            spec_fuel.setdefault(carrier, {})[c] = shape
    unknown_curves = sorted(set(opts.cop_curves) - {s.name for s in model.systems if s.kind == "heat_pump"})
    if unknown_curves:
        raise ConfigError(f"\"{unknown_curves[0]}\" is not a heat-pump system of the scenario",
                          key=f"timeseries.cop_curves.{unknown_curves[0]}")
    spec = SeriesSpec(electricity=spec_el, fuels=spec_fuel, pv_column="pv_kwh")
    # thermal buffer: heat of the heat pumps per building (their electricity is in spec_el)
    thermal_spec = None
    extra_notes: list[str] = []
    if opts.thermal is not None and hp_series:
        heat_cols = {}
        for c, service, system in hp_series:
            s = by_name[system]
            scop = s.seer if service == "sc" else (s.scop_dhw or s.scop) if service == "dhw" else s.scop
            heat_cols[c] = table[c].to_numpy() * scop  # Eq. 8 inverted: heat = E × SCOP
        table["_hp_heat"] = np.sum(list(heat_cols.values()), axis=0)
        table["_hp_elec"] = table[[c for c, _, _ in hp_series]].sum(axis=1)
        spec.heat_pumps = []
        for c, _, _ in hp_series:
            spec.electricity.pop(c, None)
        services = {sv for _, sv, _ in hp_series}
        svc = "sh" if "sh" in services else hp_series[0][1]
        spec.heat_pumps = [HeatPumpSeries(heat_column="_hp_heat", elec_column="_hp_elec", shape=SERVICE_SHAPE[svc])]
        if len(services) > 1 or len({sy for _, _, sy in hp_series}) > 1:
            extra_notes.append("thermal buffer: the heat pumps' SH and DHW heat share one tank per building and follow the "
                               f"{svc.upper()} profile; their annual electricity can differ slightly from the engine's "
                               "(COP of the first heat-pump system, storage losses).")
        cap_total = float(opts.thermal["capacity_kwh"])
        heat = table["_hp_heat"].to_numpy()
        share = heat / heat.sum() if heat.sum() > 0 else np.zeros(n_inc)
        peak = heat * shapes.shapes["sh"][shapes.use_index(table["use"])].max(axis=1)
        thermal_spec = bl.ThermalSpec(capacity_kwh=np.append(cap_total * share, 0.0),
                                      hp_power_kw=np.append(peak * float(opts.thermal.get("hp_oversizing", 1.5)), 0.0),
                                      loss_per_h=float(opts.thermal.get("loss_per_h", 0.005)))
    elif opts.thermal is not None:
        warnings.warn("[storage.thermal] is set but no building has a heat pump for SH or DHW: the buffer is ignored.",
                      DataQualityWarning, stacklevel=2)
    # thermal-buffer path: the buffer recomputes E = Q / COP_h, so the curve is scaled to the
    # system's SCOP over the SH shape (seasonal E stays the engine's Q / SCOP)
    if thermal_spec is not None:
        s0 = by_name[hp_series[0][2]]
        name0 = next((n for n in opts.cop_curves if n in {sy for _, _, sy in hp_series}), None)
        if name0 is None:
            cop = np.full(H, float(s0.scop))
        else:
            curve = pr.cop_curve(temp, *opts.cop_curves[name0])
            s_sh = shapes.shapes["sh"][0]
            cop = curve * float(by_name[name0].scop) * float(np.sum(s_sh / curve))
    pv_hourly, pv_note = _pv_hourly_source(hourly_pv, b, pos_inc, table["pv_kwh"].to_numpy(dtype=float), pv_shape, H)
    make_b = chunk_factory(table, spec, shapes, pv_shape, extra_shapes=extra, cop=cop, pv_hourly=pv_hourly,
                           heat_pump_detail=thermal_spec is not None, name="buildings")
    node, node_notes, node_info = _district_node(district, model, weather, cal, pv_shape, shapes, table, opts, rows, b, pos_inc)
    carriers_all = sorted({bl.ELECTRICITY, *spec_fuel, *node.keys()})

    def make_chunk(a, stop):
        nb = min(stop, n_inc)
        parts = {}
        ci = make_b(a, nb) if nb > a else None
        for c in carriers_all:
            u = np.zeros((stop - a, H))
            p = np.zeros((stop - a, H))
            if ci is not None and c in ci.carriers:
                u[: nb - a], p[: nb - a] = ci.carriers[c]
            if stop > n_inc:  # the district node is the last row
                nu, npd = node.get(c, (np.zeros(H), np.zeros(H)))
                u[-1], p[-1] = nu, npd
            parts[c] = (u, p)
        hp_heat = hp_elec = None
        if thermal_spec is not None:
            hp_heat = np.zeros((stop - a, H))
            hp_elec = np.zeros((stop - a, H))
            if ci is not None:
                hp_heat[: nb - a] = ci.hp_heat_kwh
                hp_elec[: nb - a] = ci.hp_elec_kwh
        return bl.ChunkInput(carriers=parts, hp_heat_kwh=hp_heat, hp_elec_kwh=hp_elec, cop=cop)

    factors = _factor_map(model, opts, cal)
    internal = [c for c in carriers_all if c.startswith(NETWORK_PREFIX)]
    for r in district.get("heat_networks", []):  # used only in the rows' own balances (Eqs. 14, 15, 17)
        factors[NETWORK_PREFIX + r["name"]] = bl.CarrierFactors(pef_nren=float(r["pef_nren"] or 0.0))
    networks = [s for s in model.district_systems if s.technology == "heat_network"]
    exportable = set(EXPORTABLE) - ({"district_heat"} if not any(s.export_allowed for s in networks) else set())
    battery = opts.battery
    if battery is not None and battery.level == "building":
        # the total capacity and power go to buildings in proportion to their PV yield
        w = np.nan_to_num(table["pv_kwh"].to_numpy())
        if w.sum() <= 0:
            raise ConfigError("building batteries are shared out by PV yield, and no included building has PV; "
                              "use level = \"district\" or add PV", key="storage.battery.level")
        w = np.append(w / w.sum(), 0.0)
        battery = bl.BatterySpec(capacity_kwh=battery.capacity_kwh * w, power_kw=battery.power_kw * w,
                                 round_trip_efficiency=battery.round_trip_efficiency, level="building",
                                 initial_soc=battery.initial_soc, self_discharge_per_h=battery.self_discharge_per_h)
    green = model.counted_green_share
    res = bl.run_balance(make_chunk, n_inc + 1, cal, factors, opts.timestep, chunk_size=opts.chunk_size,
                         battery=battery, thermal=thermal_spec, sharing=opts.sharing, exportable=exportable,
                         green_share=green, network_storage=opts.network_storage, progress=progress,
                         internal=internal)
    ts = res.district
    ts["netting_level"] = ("district: every hour the buildings' surpluses cover the others' deficits first "
                           "(energy community / the paper's district balance)" if opts.sharing else
                           "building by building for electricity (each building meters alone); fuels and heat networks at district level")
    bpart = res.buildings.iloc[:n_inc].reset_index(drop=True)
    node_row = res.buildings.iloc[n_inc].to_dict()
    pv_node = node_info.pop("_pv_hourly")
    node_row["hours_net_export"] = int(node_row["hours_net_export"])
    ts["district_systems"] = {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                              for k, v in node_row.items()} | node_info
    ts["profiles"] = {
        "sources": {
            "space heating / cooling": "degree-hours of the weather year's temp_air (Eurostat nrg_chdd rule per hour)",
            "dhw, lighting, appliances": "SIA 2024:2015 hourly schedules per room type (pedgis/data/profiles_schedules.csv)",
            "ventilation": "EN 16798-1:2019 Annex B airflow (7 l/s per person + 0.7 l/(s m2)) on the occupancy schedule",
            "pv": f"pvlib Hay-Davies POA at tilt {tilt:g} deg, azimuth {az:g} deg, SAPM cell temperature, PVWatts"
                  if pv_hourly is None else "hourly PV per building from the roof-raster model " + pv_note,
            "public lighting": "dusk to dawn (sun below the horizon)",
            "wind": "generic turbine power curve on the weather file's wind speed",
            "heat-led CHP": "follows its heat network's hourly demand",
        },
        "weather": str(getattr(weather, "source", "")),
        "notes": shapes.notes + node_notes + extra_notes,
        "heat_pump_cop": {name: {"temp_c": t, "cop": c} for name, (t, c) in opts.cop_curves.items()},
    }
    ts["annual_check"] = _annual_check(ts, district)
    ts["pv_source"] = pv_assump.get("source", "")
    cols = pd.DataFrame(index=buildings_out.index)
    for c in bpart.columns:
        v = np.full(len(buildings_out), np.nan)
        v[pos_inc] = bpart[c].to_numpy(dtype=float)
        cols[c] = v
    # PV alone (rooftop + PV fields) for the typical-day load/PV chart: on-site electricity minus
    # the district node's other generators (CHP, wind, hydro)
    node_el = node.get(bl.ELECTRICITY, (np.zeros(H), np.zeros(H)))[1]
    pv = np.clip(res.hourly["onsite_kwh"].to_numpy() - node_el + pv_node, 0.0, None)
    ts["typical_day"]["pv_kw"] = bl.typical_day(pv, cal)
    ts["monthly"]["pv_kwh"] = bl.to_periods(pv, "monthly", cal).tolist()
    hourly = res.hourly.copy()
    hourly.insert(0, "time", data.index)
    hourly.insert(3, "pv_kwh", pv)
    return ts, cols, hourly


def _pv_hourly_source(hourly_pv, b, pos_inc, pv_annual, pv_shape, H):
    """``pv_hourly(a, b)`` from the roof model's hourly PV (shape per building, engine's annual)."""
    if hourly_pv is None:
        return None, ""
    if len(hourly_pv) != H:
        raise InputDataError(f"hourly PV per building has {len(hourly_pv)} rows; the weather year has {H}.")
    ids = b["building_id"].astype(str).to_numpy()[pos_inc]
    cols = {str(c): c for c in hourly_pv.columns}
    fallback = []

    def pv_hourly(a, stop):
        out = np.zeros((stop - a, H))
        for j in range(stop - a):
            e = pv_annual[a + j]
            if not np.isfinite(e) or e == 0:
                continue
            col = cols.get(ids[a + j])
            s = hourly_pv[col].to_numpy(dtype=float) if col is not None else None
            if s is None or not np.isfinite(s).all() or s.sum() <= 0:
                fallback.append(ids[a + j])
                out[j] = e * pv_shape
            else:
                out[j] = e * (s / s.sum())
        return out

    n_with = sum(1 for i in ids if i in cols)
    return pv_hourly, f"({n_with} of {len(ids)} included buildings; the others on the weather-year PV shape)"


def _annual_check(ts: dict, district: dict) -> dict:
    """Annual totals of the hourly series against the annual engine (must agree).

    The engine's production of a carrier is ``onsite_kwh`` (used within the boundary) +
    ``exported_kwh`` + ``unused_kwh`` (docs/outputs.md, ``breakdown.carriers``).
    """
    out = {}
    unused = district.get("unused_kwh") or {}
    for r in district["breakdown"]["carriers"]:
        c = r["carrier"]
        if c in NATURAL_CARRIERS or c == "green_electricity":
            continue
        t = ts["totals_kwh"].get(c, {"use": 0.0, "production": 0.0})
        prod = r["onsite_kwh"] + r["exported_kwh"] + float(unused.get(c, 0.0))
        out[c] = {"engine_demand_kwh": r["demand_kwh"], "hourly_use_kwh": t["use"],
                  "engine_production_kwh": prod, "hourly_production_kwh": t["production"]}
    return out


def _district_node(district, model, weather, cal, pv_shape, shapes, table, opts, rows, b, pos_inc):
    """Hourly use and production of the district's own loads and assets (one node)."""
    H = cal.n_hours
    node: dict[str, list] = {}
    notes: list[str] = []
    info: dict = {"loads_kwh": {}, "assets_kwh": {}}
    pv_node = np.zeros(H)  # PV fields, BIPV, PVT electricity of the district node

    def add(carrier, kind, shape, kwh):
        if not kwh:
            return
        u, p = node.setdefault(carrier, [np.zeros(H), np.zeros(H)])
        (u if kind == "use" else p)[:] += kwh * shape

    flat = np.full(H, 1.0 / H)
    for load, kwh in (district.get("district_loads_kwh") or {}).items():
        if load == "ev_charging":
            ev = opts.ev or {}
            vehicles = float(ev.get("vehicles") or 0.0)
            if vehicles > 0:
                daily = kwh / 365.0 / vehicles
            else:  # only checklist.ev_charging_kwh: the profile needs a daily energy per vehicle
                daily = min(kwh / 365.0, 7.0)
                notes.append("EV charging profile: [ev] vehicles not given; 7 kWh per vehicle and day assumed for the "
                             "shape of the charging (the annual energy is checklist.ev_charging_kwh).")
            prof = evs.daily_charging_profile(ev.get("charging", "home"), daily, float(ev.get("charger_kw", 11.0)),
                                              ev.get("profile"))
            shape = evs.ev_hourly_shape(cal, prof)
        elif load == "public_lighting":
            shape = dark_hours_shape(weather)
        else:
            shape = flat
            notes.append(f"district load '{load}' spread evenly over the year (no profile).")
        add(bl.ELECTRICITY, "use", shape, kwh)
        info["loads_kwh"][load] = float(kwh)
    # heat networks: hourly demand of the substations (buildings) + losses
    net_of = {s.name: s.network for s in model.systems if s.kind == "district_heating"}
    net_demand = {}
    use_idx = shapes.use_index(table["use"])
    for net in {v for v in net_of.values() if v}:
        d = np.zeros(H)
        for c in table.columns:
            if "|" not in c:
                continue
            carrier, service, system = c.split("|")
            if net_of.get(system) == net:
                vals = table[c].to_numpy()
                sh = shapes.shapes[SERVICE_SHAPE[service]]
                for u in np.unique(use_idx):
                    d += vals[use_idx == u].sum() * sh[u]
        net_demand[net] = d
        # the network takes this heat from the district's heat (sources, external DH) and delivers
        # it to the substations (the buildings' heat_network carrier)
        add("district_heat", "use", d, 1.0)
        add(NETWORK_PREFIX + net, "prod", d, 1.0)
    losses = {r["name"]: float(r["losses_kwh"]) for r in district.get("heat_networks", [])}
    for net, kwh in losses.items():
        add("district_heat", "use", flat, kwh)
        net_demand[net] = net_demand.get(net, np.zeros(H)) + kwh * flat
    ds = {s.name: s for s in model.district_systems}
    gens = [g for g in district["breakdown"]["generation"] if g["name"] in ds]
    fixed_heat = {net: np.zeros(H) for net in net_demand}
    shape_of = {}
    for g in gens:
        s = ds[g["name"]]
        if s.technology == "chp":
            continue
        if s.technology in ("pv_field", "bipv", "pvt", "solar_thermal"):
            sh = pv_shape
        elif s.technology == "wind":
            sh = wind_shape(weather.data["wind_speed"].to_numpy()) if "wind_speed" in weather.data else flat
        else:  # hydro, waste heat, geothermal: base load
            sh = flat
        shape_of[(g["name"], g["output"])] = sh
        if g["output"] == "heat" and s.network in fixed_heat:
            fixed_heat[s.network] += g["output_kwh"] * sh
    for g in gens:
        s = ds[g["name"]]
        if s.technology != "chp":
            continue
        dem = net_demand.get(s.network)
        if dem is None or dem.sum() <= 0:
            sh = flat
            notes.append(f"district_systems.{s.name}: no hourly heat demand on its network; CHP output spread evenly.")
        else:
            rest = np.clip(dem - fixed_heat.get(s.network, 0.0), 0.0, None) if s.mode == "heat_led" else dem
            sh = rest / rest.sum() if rest.sum() > 0 else dem / dem.sum()
        shape_of[(g["name"], g["output"])] = sh
    for g in gens:
        sh = shape_of[(g["name"], g["output"])]
        carrier = bl.ELECTRICITY if g["output"] == "electricity" else "district_heat"
        add(carrier, "prod", sh, g["output_kwh"])
        if carrier == bl.ELECTRICITY and ds[g["name"]].technology in ("pv_field", "bipv", "pvt"):
            pv_node += g["output_kwh"] * sh
        if g["input_carrier"] not in NATURAL_CARRIERS:
            add(g["input_carrier"], "use", sh, g["input_kwh"])
        info["assets_kwh"][f"{g['name']} ({g['output']})"] = float(g["output_kwh"])
    info["_pv_hourly"] = pv_node
    return {c: (v[0], v[1]) for c, v in node.items()}, notes, info


def attach_timeseries(result, step1_buildings, model, weather, progress=None, force: bool = False,
                      hourly_pv: pd.DataFrame | None = None, options: Options | None = None) -> None:
    """Add the time-resolved balance to an engine result (in place) when the scenario asks for it.

    With ``[scenario] timestep = "annual"`` (the paper's balance) the verdict and every annual
    number stay the engine's; the block is still added (``timestep = "annual"``, the monthly and
    hourly netting beside it, indicators and chart data) when there is a weather year and
    ``timeseries.indicators`` is true (default), or ``force``. Adds ``district["timeseries"]``, per-building columns
    and ``result.hourly`` (written to ``timeseries.parquet``). ``hourly_pv`` (or the result's
    ``hourly_pv_kwh``): the roof model's hourly PV per building (8760 × building_id), whose shape
    each building's PV then follows. ``options``: the time-resolved sections as the input checker
    parsed them (default: parsed here from the result's scenario).
    """
    if options is None:
        options = options_from_doc(result.scenario.doc if result.scenario is not None else {"scenario": {}})
    opts = dataclasses.replace(options, base_dir=getattr(result.scenario, "base_dir", None))
    informative = opts.timestep == "annual"
    if informative:
        wanted = force or opts.indicators
        if not wanted or weather is None:
            return
    try:
        ts, cols, hourly = time_resolved(step1_buildings, model, weather, result.district, result.buildings, opts,
                                         progress, hourly_pv=hourly_pv if hourly_pv is not None
                                         else getattr(result, "hourly_pv_kwh", None))
    except InputDataError as exc:
        if not informative:
            raise
        # an annual run never fails for its informative block: say why it is missing
        msg = (f"time-resolved indicators skipped: {exc} The annual balance is unaffected; set "
               "timeseries.indicators = false to silence this.")
        warnings.warn(msg, DataQualityWarning, stacklevel=2)
        result.district.setdefault("assumptions", {}).setdefault("notes", []).append(msg)
        return
    result.district["timeseries"] = ts
    for c in cols.columns:
        result.buildings[c] = cols[c].to_numpy()
    try:
        result.hourly = hourly
    except AttributeError:  # pragma: no cover - frozen result objects
        pass
