"""Step 4: on-site generation (paper §2.4, Eq. 9–10, Table 3).

Rooftop PV per building (``pv_kwh`` given, else ``pv_kwp`` × specific yield until the roof-raster
model provides ``pv_kwh``), and district assets: CHP on natural gas, biomass or biogas (fuel
counted once, Eq. 13), wind, hydro, ground-mounted PV, BIPV, solar thermal, hybrid PVT, waste
heat, geothermal, feeding the grid or a heat network. Off-site assets of a virtual boundary
count only when the scenario's boundary type is ``virtual``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .units import wh_to_kwh

RES_FUELS = ("biomass", "biogas")
GEN_COLUMNS = ["technology", "name", "output", "output_kwh", "res", "virtual", "counted", "input_carrier",
               "input_kwh", "network"]


def pv_yield(kwp, specific_yield_kwh_kwp):
    """PV electricity from peak power and specific yield [kWh a⁻¹] (the EEP_PV term of Eq. 10).

    Notes
    -----
    EEP_PV = P_peak [kWp] × Y_f [kWh kWp⁻¹ a⁻¹].
    """
    return np.asarray(kwp, dtype=float) * np.asarray(specific_yield_kwh_kwp, dtype=float)


def building_pv(pv_kwh, pv_kwp, specific_yield_kwh_kwp):
    """Per-building PV [kWh a⁻¹]: the given annual yield, else kWp × specific yield, else 0.

    A building without PV data has no PV (0), which is what the input says; NaN would mean
    "unknown" and the roof-raster model fills that case.
    """
    given = np.asarray(pv_kwh, dtype=float)
    kwp = np.asarray(pv_kwp, dtype=float)
    from_kwp = pv_yield(np.nan_to_num(kwp), specific_yield_kwh_kwp if specific_yield_kwh_kwp is not None else np.nan)
    out = np.where(np.isfinite(given), given, np.where(np.isfinite(kwp) & (kwp > 0), from_kwp, 0.0))
    return out


def specific_pv_yield(weather_data: pd.DataFrame, latitude: float, longitude: float, tilt_deg: float,
                      azimuth_deg: float, performance_ratio: float, altitude: float = 0.0,
                      sun_times: pd.DatetimeIndex | None = None, sun_position: pd.DataFrame | None = None) -> float:
    """Annual PV specific yield [kWh kWp⁻¹ a⁻¹] of a fixed plane from hourly weather.

    Plane-of-array irradiation from pvlib (Hay–Davies transposition, ground albedo 0.2) times
    the performance ratio, per kWp at the STC irradiance of 1 kW m⁻²:
    Y_f = PR · Σ G_poa [kWh m⁻²] / 1 kW m⁻².
    ``sun_times``: where in each row's hour the sun stands (``Weather.sun_times``: mid-hour for
    EPW, PVGIS's own instant); default the row timestamps. ``sun_position``: pvlib's sun position
    at those instants when the caller has it (``Weather.sun_position``).
    """
    import pvlib

    times = weather_data.index if sun_times is None else sun_times
    solpos = (pvlib.solarposition.get_solarposition(times, latitude, longitude, altitude=altitude)
              if sun_position is None else sun_position)
    dni_extra = pvlib.irradiance.get_extra_radiation(times)
    # arrays: the sun's instants and the rows' labels differ, and pandas would align them on the index
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg, azimuth_deg, solpos["apparent_zenith"].to_numpy(), solpos["azimuth"].to_numpy(),
        weather_data["dni"].to_numpy(), weather_data["ghi"].to_numpy(), weather_data["dhi"].to_numpy(),
        dni_extra=np.asarray(dni_extra), model="haydavies", albedo=0.2)
    annual_kwh_m2 = wh_to_kwh(float(np.nansum(np.clip(poa["poa_global"], 0.0, None))))
    return performance_ratio * annual_kwh_m2  # / 1 kW m⁻² STC


def chp_fuel_input(heat_output_kwh, eta_th):
    """Fuel delivered to a CHP to produce a given heat output (Eq. 13): ED_CHP = TEP_CHP,th / η_CHP,th."""
    return np.asarray(heat_output_kwh, dtype=float) / float(eta_th)


def chp_electricity(fuel_kwh, eta_el):
    """CHP electricity from its fuel input: EEP_CHP,el = ED_CHP · η_el [kWh a⁻¹]."""
    return np.asarray(fuel_kwh, dtype=float) * float(eta_el)


def thermal_res_production(gen: pd.DataFrame) -> float:
    """TEP_RES (Eq. 9): Σ useful RES heat counted on site (PVT_th + CHP_bio,th + geothermal + ...) [kWh a⁻¹]."""
    sel = gen["counted"] & gen["res"] & (gen["output"] == "heat")
    return float(gen.loc[sel, "output_kwh"].sum())


def electric_res_production(gen: pd.DataFrame) -> float:
    """EEP_RES (Eq. 10): Σ RES electricity counted on site (PVT_el + PV + CHP_bio,el + ...) [kWh a⁻¹]."""
    sel = gen["counted"] & gen["res"] & (gen["output"] == "electricity")
    return float(gen.loc[sel, "output_kwh"].sum())


@dataclass(frozen=True)
class DistrictSystem:
    """A `[district_systems.<name>]` with every parameter resolved."""

    name: str
    technology: str
    fuel: str | None = None
    eta_el: float | None = None
    eta_th: float | None = None
    mode: str = "heat_led"
    output_kwh: float | None = None
    heat_output_kwh: float | None = None
    capacity_kw: float | None = None
    full_load_hours: float | None = None
    kwp: float | None = None
    specific_yield_kwh_kwp: float | None = None
    area_m2: float | None = None
    yield_kwh_m2: float | None = None
    network: str | None = None
    virtual: bool = False
    owned_share: float = 1.0
    losses: float = 0.0
    export_allowed: bool = False


_INPUT = {"pv_field": "pv_electricity", "bipv": "pv_electricity", "wind": "wind", "hydro": "hydropower",
          "solar_thermal": "solar_thermal", "waste_heat": "waste_heat", "geothermal": "geothermal"}


def _main_output(s: DistrictSystem, pv_specific_yield: float | None) -> float:
    if s.output_kwh is not None:
        return s.output_kwh
    if s.technology in ("wind", "hydro"):
        return s.capacity_kw * s.full_load_hours
    if s.technology in ("pv_field", "bipv", "pvt"):
        y = s.specific_yield_kwh_kwp if s.specific_yield_kwh_kwp is not None else pv_specific_yield
        return float(pv_yield(s.kwp, y))
    if s.technology == "solar_thermal":
        return s.area_m2 * s.yield_kwh_m2
    raise ValueError(f"{s.name}: no output")  # pragma: no cover - validated in config


def network_plant_demand(substation_input_kwh, losses):
    """Heat a network must be fed to deliver ``substation_input_kwh`` with a loss share: Q / (1 − losses)."""
    return np.asarray(substation_input_kwh, dtype=float) / (1.0 - float(losses))


def district_generation(systems: list[DistrictSystem], network_demand_kwh: dict[str, float],
                        boundary_type: str, pv_specific_yield: float | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Step 4 for district assets.

    Parameters
    ----------
    systems : district systems (heat networks included; they produce nothing themselves)
    network_demand_kwh : heat each heat network must be fed (plant level, losses included) [kWh a⁻¹]
    boundary_type : "geographical", "functional" or "virtual"
    pv_specific_yield : [kWh kWp⁻¹ a⁻¹] for PV assets without their own

    Returns
    -------
    gen : DataFrame, one row per asset output (:data:`GEN_COLUMNS`); a CHP has an electricity and a
        heat row and its fuel is split over them in proportion to the outputs (Σ = fuel, counted
        once, Eq. 13). ``counted`` is False for virtual assets outside a virtual boundary.
    notes : list of messages (assets not counted and why)

    Notes
    -----
    Heat sources on a network are used in this order: fixed sources (solar thermal, PVT, waste
    heat, geothermal, CHP in `given` mode), then heat-led CHPs cover what is left (in file order).
    An owned share < 1 scales a (virtual) asset's outputs and inputs.
    """
    rows = []
    notes: list[str] = []
    remaining = dict(network_demand_kwh)

    def counted(s):
        if s.virtual and boundary_type != "virtual":
            notes.append(f"district_systems.{s.name}: off-site (virtual) asset not counted: boundary.type is "
                         f"\"{boundary_type}\"; set boundary.type = \"virtual\" to count it.")
            return False
        return True

    def add(s, output, kwh, res, carrier, inp, is_counted):
        rows.append({"technology": s.technology, "name": s.name, "output": output, "output_kwh": float(kwh),
                     "res": bool(res), "virtual": bool(s.virtual), "counted": bool(is_counted),
                     "input_carrier": carrier, "input_kwh": float(inp), "network": s.network or ""})

    fixed = [s for s in systems if s.technology not in ("heat_network",) and not (s.technology == "chp" and s.mode == "heat_led")]
    led = [s for s in systems if s.technology == "chp" and s.mode == "heat_led"]
    for s in fixed:
        c = counted(s)
        share = s.owned_share
        if s.technology == "chp":
            heat = s.heat_output_kwh * share
            fuel = chp_fuel_input(heat, s.eta_th)  # Eq. 13
            el = chp_electricity(fuel, s.eta_el)
            res = s.fuel in RES_FUELS
            tot = float(el + heat) or 1.0
            add(s, "electricity", el, res, s.fuel, fuel * float(el) / tot, c)
            add(s, "heat", heat, res, s.fuel, fuel * heat / tot, c)
        elif s.technology == "pvt":
            el = _main_output(s, pv_specific_yield) * share
            heat = (s.heat_output_kwh if s.heat_output_kwh is not None else s.area_m2 * s.yield_kwh_m2) * share
            add(s, "electricity", el, True, "pv_electricity", el, c)
            add(s, "heat", heat, True, "solar_thermal", heat, c)
        else:
            out = _main_output(s, pv_specific_yield) * share
            output = "heat" if s.technology in ("solar_thermal", "waste_heat", "geothermal") else "electricity"
            add(s, output, out, True, _INPUT[s.technology], out, c)
        if c and s.network:
            heat_rows = [r for r in rows if r["name"] == s.name and r["output"] == "heat"]
            remaining[s.network] = remaining.get(s.network, 0.0) - sum(r["output_kwh"] for r in heat_rows)
    for s in led:
        c = counted(s)
        need = max(remaining.get(s.network, 0.0), 0.0) if c else 0.0
        heat = need
        fuel = float(chp_fuel_input(heat, s.eta_th))  # Eq. 13
        el = float(chp_electricity(fuel, s.eta_el))
        res = s.fuel in RES_FUELS
        tot = (el + heat) or 1.0
        add(s, "electricity", el, res, s.fuel, fuel * el / tot, c)
        add(s, "heat", heat, res, s.fuel, fuel * heat / tot, c)
        if c:
            remaining[s.network] = remaining.get(s.network, 0.0) - heat
    gen = pd.DataFrame(rows, columns=GEN_COLUMNS)
    return gen, notes
