"""Step 3: energy use (paper §2.3, Eq. 6–8, Table 3).

Thermal needs become thermal use through emitter and distribution efficiencies (Eq. 6); the
conversion system assigned to each building and service then turns the use into the input of
an energy carrier: heat pumps and electric resistances into electricity use (Eq. 8), boilers
into fuel, district-heating/cooling substations into district heat/cooling, thermally driven
heat pumps into fuel or heat plus auxiliary electricity. Lighting and ventilation electricity
use equals the need (Eq. 7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputDataError

SERVICES = ("sh", "sc", "dhw")
ELECTRIC_SERVICES = ("lighting", "ventilation", "appliances")
ELECTRICITY = "electricity"


def thermal_use(ten_kwh, eta_emitter, eta_distribution=1.0):
    """Thermal energy use from thermal energy need (Eq. 6).

    Parameters
    ----------
    ten_kwh : array_like
        Thermal energy need TEN [kWh a⁻¹].
    eta_emitter, eta_distribution : float
        Emitter and distribution/storage efficiencies [-], in (0, 1].

    Returns
    -------
    array_like
        Thermal energy use TEU [kWh a⁻¹].

    Notes
    -----
    Eq. 6: EU = TEN / η_emitter. pedgis takes η = η_emitter · η_distribution, since the paper
    counts pipe and storage losses in the same step (§2.3).
    """
    return np.asarray(ten_kwh, dtype=float) / (float(eta_emitter) * float(eta_distribution))


def electric_use_lighting_ventilation(een_kwh):
    """Electric use of lighting and ventilation equals their need (Eq. 7): EEU ≅ EEN [kWh a⁻¹]."""
    return np.asarray(een_kwh, dtype=float)


def heat_pump_electricity(teu_kwh, scop_or_seer):
    """Electricity use of a heat pump (Eq. 8 terms TEN/SCOP, TEN/SEER).

    Parameters
    ----------
    teu_kwh : array_like
        Heat or cold the heat pump delivers [kWh a⁻¹].
    scop_or_seer : float
        SCOP (SH, DHW) or SEER (SC) [-], > 0.

    Notes
    -----
    Eq. 8 divides the need TEN by SCOP/SEER; pedgis divides the use TEU (need plus emitter and
    distribution losses, Eq. 6), which equals the paper when η = 1 (docs/methodology.md).
    """
    return np.asarray(teu_kwh, dtype=float) / float(scop_or_seer)


def electric_use_total(eeu_vent_light, ten_sh_over_scop=0.0, ten_sc_over_seer=0.0, ten_dhw_over_scop=0.0):
    """Total electric use (Eq. 8): EEU = EEU_(vent+light) + TEN_SH/SCOP_SH + TEN_SC/SEER_SC + TEN_DHW/SCOP_DHW."""
    return (np.asarray(eeu_vent_light, dtype=float) + np.asarray(ten_sh_over_scop, dtype=float)
            + np.asarray(ten_sc_over_seer, dtype=float) + np.asarray(ten_dhw_over_scop, dtype=float))


def fuel_input(teu_kwh, eta):
    """Carrier input of a boiler, resistance or substation: TEU / η [kWh a⁻¹] (Table 3)."""
    return np.asarray(teu_kwh, dtype=float) / float(eta)


@dataclass(frozen=True)
class System:
    """A conversion system (a `[systems.<name>]` of the scenario) with every parameter resolved."""

    name: str
    kind: str
    services: tuple[str, ...]
    carrier: str
    eta_emitter: float = 1.0
    eta_distribution: float = 1.0
    scop: float | None = None
    scop_dhw: float | None = None
    seer: float | None = None
    eta: float | None = None
    gue: float | None = None
    cop_thermal: float | None = None
    aux_electric_share: float = 0.0
    network: str | None = None
    uses: tuple[str, ...] = ()
    buildings: tuple[str, ...] = ()
    default: bool = False


def clean_labels(values) -> np.ndarray:
    """Text labels as a stripped object array ("" for missing), in one pass over the distinct values."""
    codes, uniques = pd.factorize(pd.Series(values, copy=False), use_na_sentinel=True)
    labels = np.array([str(u).strip() for u in uniques] + [""], dtype=object)
    return labels[np.where(codes < 0, len(uniques), codes)]


def assign_systems(buildings: pd.DataFrame, systems: list[System], system_column: str | None = "system") -> pd.DataFrame:
    """Which system covers each service of each building.

    Precedence: ``buildings`` ids of a system, then the building's ``system`` column, then the
    system's ``uses``, then a ``default`` system. Returns a DataFrame (same index, columns
    ``sh``, ``sc``, ``dhw``) of system names, ``""`` where none applies.
    """
    n = len(buildings)
    ids = clean_labels(buildings["building_id"])
    use = clean_labels(buildings["use"])
    col = None
    if system_column and system_column in buildings:
        col = clean_labels(buildings[system_column])
    out = {}
    for s in SERVICES:
        name = np.full(n, "", dtype=object)
        layers = []
        layers.append([(sys, np.isin(ids, sys.buildings)) for sys in systems if sys.buildings])
        if col is not None:
            layers.append([(sys, col == sys.name) for sys in systems])
        layers.append([(sys, np.isin(use, sys.uses)) for sys in systems if sys.uses])
        layers.append([(sys, np.ones(n, bool)) for sys in systems if sys.default])
        for layer in layers:  # a later layer only fills what an earlier one left empty
            for sys, mask in layer:
                if s in sys.services:
                    name = np.where((name == "") & mask, sys.name, name)
        out[s] = name
    return pd.DataFrame(out, index=buildings.index)


USE_ROW_COLUMNS = ["building", "service", "system", "kind", "need_kwh", "use_kwh", "carrier", "input_kwh"]


def system_column_problem(values, system_names) -> str | None:
    """The problem with a buildings' system column (buildings.columns.system) whose values are
    not systems of the scenario, or None."""
    names = set(system_names)
    vals = sorted(set(clean_labels(values)) - {""} - names)
    if not vals:
        return None
    return (f"buildings: system column (buildings.columns.system) names {', '.join(repr(v) for v in vals)}, which "
            f"{'is' if len(vals) == 1 else 'are'} not a [systems.<name>] of the scenario; define [systems.{vals[0]}] "
            f"or use one of: {', '.join(sorted(names)) or '(no systems defined)'}.")


def check_coverage(buildings: pd.DataFrame, needs: pd.DataFrame, assignment: pd.DataFrame,
                   services=("dhw", "sh", "sc")) -> None:
    """Raise :class:`InputDataError` when an included building has a need (step 2) that no
    assigned system (:func:`assign_systems`) covers."""
    included = buildings["included"].to_numpy(dtype=bool)
    for s in services:
        ten = needs[f"ten_{s}_kwh"].to_numpy(dtype=float)
        uncovered = included & (assignment[s].to_numpy() == "") & (np.nan_to_num(ten) > 0)
        if uncovered.any():
            uses = sorted(set(buildings["use"].to_numpy()[uncovered]))
            ex = buildings["building_id"].to_numpy()[uncovered][:5]
            raise InputDataError(
                f"{int(uncovered.sum())} included buildings have a {s.upper()} need but no system covers '{s}' "
                f"(use types: {', '.join(map(str, uses))}; e.g. {', '.join(map(str, ex))}). Add \"{s}\" to the `services` "
                f"of a [systems.<name>] assigned to them (by `uses`, `buildings`, `default = true` or the system column)"
                + (", or set `sc_kwh_m2 = 0` in [needs.overrides.<use>] if these buildings are not cooled." if s == "sc" else ".")
            )


def building_uses(buildings: pd.DataFrame, needs: pd.DataFrame, assignment: pd.DataFrame,
                  systems: list[System], solar_heat_kwh=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step 3 for every building.

    Parameters
    ----------
    buildings : DataFrame with ``building_id``, ``use``, ``included``
    needs : step-2 table (:func:`pedgis.needs.building_needs`)
    assignment : :func:`assign_systems` output
    systems : resolved systems
    solar_heat_kwh : array_like, optional
        Useful heat of each building's own solar thermal (or PVT) collectors [kWh a⁻¹]. It covers
        the building's DHW use first, then SH use, before the assigned system (paper §2.4: the
        more RES heat, the less the boiler needs); what the building cannot use is returned as
        ``solar_thermal_unused_kwh``.

    Returns
    -------
    per_building : DataFrame
        ``teu_sh_kwh``, ``teu_sc_kwh``, ``teu_dhw_kwh``, ``teu_kwh`` (Eq. 6), ``teu_thermal_kwh``
        (use covered by fuel- or heat-driven systems and solar heat, the TEU of Eq. 11), ``eeu_kwh``
        (Eq. 8 incl. auxiliaries), ``solar_thermal_used_kwh``, ``solar_thermal_unused_kwh``; NaN
        for excluded buildings.
    rows : DataFrame
        Long table, one row per building × service × input carrier: :data:`USE_ROW_COLUMNS`
        (``building`` is the positional row number). Heat pumps add an ``ambient_air`` row
        (heat taken from the environment = output − electricity) for heating services.

    Raises
    ------
    InputDataError
        When an included building has a need no system covers.
    """
    by_name = {s.name: s for s in systems}
    included = buildings["included"].to_numpy(dtype=bool)
    pos = np.arange(len(buildings))
    per = pd.DataFrame(index=buildings.index)
    thermal_supplied = np.zeros(len(buildings))
    solar = np.zeros(len(buildings)) if solar_heat_kwh is None else np.nan_to_num(np.asarray(solar_heat_kwh, dtype=float))
    solar = np.where(included, np.clip(solar, 0.0, None), 0.0)
    solar_left = solar.copy()
    frames = []
    for s in ("dhw", "sh", "sc"):  # solar heat covers DHW first, then SH
        ten = needs[f"ten_{s}_kwh"].to_numpy(dtype=float)
        teu = np.full(len(buildings), np.nan)
        teu[included] = 0.0
        names = assignment[s].to_numpy()
        check_coverage(buildings, needs, assignment, (s,))
        for name in pd.unique(names[included]):
            if name == "":
                continue
            sys = by_name[name]
            sel = included & (names == name)
            p = pos[sel]
            need = ten[sel]
            use_all = thermal_use(need, sys.eta_emitter, sys.eta_distribution)  # Eq. 6
            teu[sel] = use_all
            covered = np.zeros_like(use_all)
            if s != "sc" and solar_left[sel].any():
                covered = np.minimum(solar_left[sel], use_all)
                solar_left[sel] -= covered
                thermal_supplied[sel] += covered
                frac = np.divide(covered, use_all, out=np.zeros_like(covered), where=use_all > 0)
                frames.append(pd.DataFrame({"building": p, "service": s, "system": "solar_thermal", "kind": "solar_thermal",
                                            "need_kwh": need * frac, "use_kwh": covered, "carrier": "solar_thermal",
                                            "input_kwh": covered}))
                need = need * (1.0 - frac)
            use = use_all - covered
            inputs: list[tuple[str, np.ndarray]] = []
            if sys.kind == "heat_pump":
                cop = sys.seer if s == "sc" else (sys.scop_dhw or sys.scop) if s == "dhw" else sys.scop
                el = heat_pump_electricity(use, cop)  # Eq. 8
                inputs.append((ELECTRICITY, el))
                if s != "sc":
                    inputs.append(("ambient_air", use - el))
            elif sys.kind == "electric_resistance":
                inputs.append((ELECTRICITY, fuel_input(use, sys.eta)))
            elif sys.kind in ("boiler", "district_heating", "district_cooling"):
                inputs.append((sys.carrier, fuel_input(use, sys.eta)))
                thermal_supplied[sel] += use
            elif sys.kind == "thermally_driven_heat_pump":
                eff = sys.cop_thermal if s == "sc" else sys.gue
                inputs.append((sys.carrier, fuel_input(use, eff)))
                if sys.aux_electric_share:
                    inputs.append((ELECTRICITY, use * sys.aux_electric_share))
                thermal_supplied[sel] += use
            else:  # pragma: no cover - validated in config
                raise ValueError(sys.kind)
            for k, (carrier, value) in enumerate(inputs):
                frames.append(pd.DataFrame({
                    "building": p, "service": s, "system": name, "kind": sys.kind,
                    "need_kwh": need if k == 0 else 0.0, "use_kwh": use if k == 0 else 0.0,
                    "carrier": carrier, "input_kwh": value}))
        per[f"teu_{s}_kwh"] = teu
    for s, col in (("lighting", "een_light_kwh"), ("ventilation", "een_vent_kwh"), ("appliances", "een_appliances_kwh")):
        v = needs[col].to_numpy(dtype=float)
        sel = included & (np.nan_to_num(v) > 0)
        if sel.any():
            use = electric_use_lighting_ventilation(v[sel])  # Eq. 7
            frames.append(pd.DataFrame({"building": pos[sel], "service": s, "system": "direct", "kind": "electric",
                                        "need_kwh": v[sel], "use_kwh": use, "carrier": ELECTRICITY, "input_kwh": use}))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=USE_ROW_COLUMNS)
    rows = rows[USE_ROW_COLUMNS]
    per["teu_kwh"] = per[[f"teu_{s}_kwh" for s in SERVICES]].sum(axis=1, min_count=1)
    el = rows.loc[rows["carrier"] == ELECTRICITY].groupby("building")["input_kwh"].sum()
    eeu = np.zeros(len(buildings))
    eeu[el.index.to_numpy(dtype=int)] = el.to_numpy()
    per["eeu_kwh"] = np.where(included, eeu, np.nan)
    per["teu_thermal_kwh"] = np.where(included, thermal_supplied, np.nan)
    per["solar_thermal_used_kwh"] = np.where(included, solar - solar_left, np.nan)
    per["solar_thermal_unused_kwh"] = np.where(included, solar_left, np.nan)
    per = per[[f"teu_{s}_kwh" for s in SERVICES] + [c for c in per.columns if not c.startswith("teu_") or c in ("teu_kwh", "teu_thermal_kwh")]]
    return per, rows
