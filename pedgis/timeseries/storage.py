"""Electric batteries and thermal buffers with a simple self-consumption dispatch.

Both work hour by hour on arrays of buildings (or on one district node) and are compiled with
numba when it is available, so a year of 10,000 buildings takes well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

try:  # numba is a dependency; the pure-python fallback keeps the module importable without it
    from numba import njit
except ImportError:  # pragma: no cover
    def njit(*args, **kwargs):
        def wrap(f):
            return f
        return wrap(args[0]) if args and callable(args[0]) else wrap


@dataclass
class BatteryResult:
    """Hourly grid exchange after a battery.

    Attributes
    ----------
    grid_kwh : ndarray (n, H)
        Net exchange after the battery: > 0 import, < 0 export [kWh per step].
    charge_kwh, discharge_kwh : ndarray (n,)
        Energy taken from the surplus into the battery, and delivered by it to the load [kWh a⁻¹].
    losses_kwh : ndarray (n,)
        Conversion and standing losses [kWh a⁻¹].
    soc_end_kwh : ndarray (n,)
        State of charge at the end of the year [kWh].
    """

    grid_kwh: np.ndarray
    charge_kwh: np.ndarray
    discharge_kwh: np.ndarray
    losses_kwh: np.ndarray
    soc_end_kwh: np.ndarray


@njit(cache=True)
def _battery_kernel(net, cap, power, eta_c, eta_d, self_discharge, soc0):  # pragma: no cover - compiled
    n, H = net.shape
    grid = np.empty_like(net)
    charge = np.zeros(n)
    discharge = np.zeros(n)
    soc_end = np.empty(n)
    standing = np.zeros(n)
    for b in range(n):
        soc = soc0[b]
        for h in range(H):
            x = net[b, h]
            if x < 0.0:  # surplus: charge
                room = (cap[b] - soc) / eta_c
                c = -x
                if c > power[b]:
                    c = power[b]
                if c > room:
                    c = room
                if c < 0.0:
                    c = 0.0
                soc += c * eta_c
                charge[b] += c
                grid[b, h] = x + c
            elif x > 0.0:  # deficit: discharge
                d = x
                if d > power[b]:
                    d = power[b]
                avail = soc * eta_d
                if d > avail:
                    d = avail
                soc -= d / eta_d
                discharge[b] += d
                grid[b, h] = x - d
            else:
                grid[b, h] = 0.0
            if self_discharge > 0.0:
                loss = soc * self_discharge
                soc -= loss
                standing[b] += loss
        soc_end[b] = soc
    return grid, charge, discharge, soc_end, standing


def battery_dispatch(net_kwh, capacity_kwh, power_kw, round_trip_efficiency: float = 0.9,
                     initial_soc: float = 0.0, self_discharge_per_h: float = 0.0,
                     dt_h: float = 1.0) -> BatteryResult:
    """Self-consumption dispatch of an electric battery.

    Parameters
    ----------
    net_kwh : ndarray (n, H) or (H,)
        Load minus on-site generation per step [kWh]: > 0 deficit, < 0 surplus.
    capacity_kwh : float or array (n,)
        Usable capacity [kWh].
    power_kw : float or array (n,)
        Maximum charge and discharge power [kW] (AC side).
    round_trip_efficiency : float
        AC-to-AC round-trip efficiency η_rt in (0, 1]; charge and discharge each take √η_rt.
    initial_soc : float
        State of charge at the first hour as a fraction of capacity.
    self_discharge_per_h : float
        Fraction of the stored energy lost per hour.
    dt_h : float
        Step length [h].

    Returns
    -------
    BatteryResult

    Notes
    -----
    Greedy self-consumption rule (as in e.g. Weniger et al. 2014, Energy Procedia 46:78-87): in a
    surplus hour the battery charges min(surplus, P·Δt, (C − SOC)/η_c); in a deficit hour it
    discharges min(deficit, P·Δt, SOC·η_d); SOC ← SOC + η_c·charge − discharge/η_d. Energy
    left in the battery at the end of the year is reported (``soc_end_kwh``), not counted as
    delivered.
    """
    net = np.asarray(net_kwh, dtype=float)
    one = net.ndim == 1
    net2 = np.ascontiguousarray(net[None, :] if one else net)
    n = net2.shape[0]
    cap = np.broadcast_to(np.asarray(capacity_kwh, dtype=float), (n,)).copy()
    powr = np.broadcast_to(np.asarray(power_kw, dtype=float), (n,)).copy() * dt_h
    if np.any(~np.isfinite(cap)) or np.any(cap < 0):
        raise ConfigError("battery capacity must be a number ≥ 0 [kWh]", key="storage.battery.capacity_kwh")
    if np.any(~np.isfinite(powr)) or np.any(powr < 0):
        raise ConfigError("battery power must be a number ≥ 0 [kW]", key="storage.battery.power_kw")
    if not (0.0 < round_trip_efficiency <= 1.0):
        raise ConfigError(f"round-trip efficiency {round_trip_efficiency} must be in (0, 1]",
                          key="storage.battery.round_trip_efficiency")
    if not (0.0 <= initial_soc <= 1.0):
        raise ConfigError(f"initial state of charge {initial_soc} must be in [0, 1]", key="storage.battery.initial_soc")
    if not (0.0 <= self_discharge_per_h < 1.0):
        raise ConfigError("self-discharge must be in [0, 1) per hour", key="storage.battery.self_discharge_per_h")
    eta = float(np.sqrt(round_trip_efficiency))
    grid, charge, discharge, soc_end, standing = _battery_kernel(
        net2, cap, powr, eta, eta, float(self_discharge_per_h), cap * float(initial_soc))
    losses = charge - discharge - (soc_end - cap * initial_soc)
    if one:
        grid = grid[0]
    return BatteryResult(grid_kwh=grid, charge_kwh=charge, discharge_kwh=discharge,
                         losses_kwh=losses, soc_end_kwh=soc_end)


@dataclass
class ThermalBufferResult:
    """Heat-pump operation with a thermal buffer.

    Attributes
    ----------
    hp_elec_kwh : ndarray (n, H)
        Heat-pump electricity per step [kWh].
    hp_heat_kwh : ndarray (n, H)
        Heat produced by the heat pump per step [kWh].
    stored_heat_kwh : ndarray (n,)
        Heat put into the buffer from surplus electricity over the year [kWh a⁻¹].
    losses_kwh : ndarray (n,)
        Standing losses of the buffer [kWh a⁻¹ of heat].
    """

    hp_elec_kwh: np.ndarray
    hp_heat_kwh: np.ndarray
    stored_heat_kwh: np.ndarray
    losses_kwh: np.ndarray


@njit(cache=True)
def _buffer_kernel(heat, cop, other_net, cap, hp_max, loss):  # pragma: no cover - compiled
    n, H = heat.shape
    elec = np.empty_like(heat)
    made = np.empty_like(heat)
    stored = np.zeros(n)
    lost = np.zeros(n)
    for b in range(n):
        soc = 0.0
        for h in range(H):
            c = cop[b, h]
            from_tank = heat[b, h] if heat[b, h] < soc else soc
            soc -= from_tank
            q = heat[b, h] - from_tank
            e = q / c
            surplus = -(other_net[b, h] + e)
            extra = 0.0
            if surplus > 0.0:
                extra = surplus * c
                if extra > cap[b] - soc:
                    extra = cap[b] - soc
                head = hp_max[b] - q
                if extra > head:
                    extra = head
                if extra < 0.0:
                    extra = 0.0
            soc += extra
            stored[b] += extra
            made[b, h] = q + extra
            elec[b, h] = e + extra / c
            ls = soc * loss
            soc -= ls
            lost[b] += ls
    return elec, made, stored, lost


def thermal_buffer_dispatch(heat_kwh, cop, other_net_kwh, capacity_kwh, hp_power_kw,
                            loss_per_h: float = 0.005, dt_h: float = 1.0) -> ThermalBufferResult:
    """A heat pump that stores heat in a buffer when there is on-site electricity surplus.

    Parameters
    ----------
    heat_kwh : ndarray (n, H)
        Heat the heat pump must deliver per step [kWh].
    cop : ndarray (H,) or (n, H) or float
        Heat-pump COP per step [-].
    other_net_kwh : ndarray (n, H)
        Electric load without the heat pump minus on-site generation [kWh]; < 0 is surplus.
    capacity_kwh : float or array (n,)
        Buffer capacity [kWh of heat] (e.g. water tank: V·ρ·c_p·ΔT = 1 m³ × 1.163 kWh/(m³K) × 30 K
        ≈ 35 kWh).
    hp_power_kw : float or array (n,)
        Maximum thermal power of the heat pump [kW].
    loss_per_h : float
        Fraction of the stored heat lost per hour.

    Returns
    -------
    ThermalBufferResult

    Notes
    -----
    Rule-based "PV-surplus" control (SG-ready style): each hour the buffer first covers the heat
    demand; the heat pump covers the rest, E = Q/COP; if the building still has an electricity
    surplus, the heat pump runs extra, up to its power and the free buffer volume, and stores
    that heat. Heat delivered to the building equals ``heat_kwh`` exactly; the extra electricity
    for storage losses shows in ``hp_elec_kwh``.
    """
    heat = np.ascontiguousarray(np.atleast_2d(np.asarray(heat_kwh, dtype=float)))
    n, H = heat.shape
    other = np.ascontiguousarray(np.broadcast_to(np.asarray(other_net_kwh, dtype=float), (n, H)))
    c = np.ascontiguousarray(np.broadcast_to(np.asarray(cop, dtype=float), (n, H)))
    if np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise ConfigError("heat-pump COP must be > 0 in every hour", key="storage.thermal.cop")
    cap = np.broadcast_to(np.asarray(capacity_kwh, dtype=float), (n,)).copy()
    pmax = np.broadcast_to(np.asarray(hp_power_kw, dtype=float), (n,)).copy() * dt_h
    if np.any(cap < 0) or np.any(~np.isfinite(cap)):
        raise ConfigError("thermal buffer capacity must be ≥ 0 [kWh]", key="storage.thermal.capacity_kwh")
    if np.any(pmax < 0) or np.any(~np.isfinite(pmax)):
        raise ConfigError("heat-pump power must be ≥ 0 [kW]", key="storage.thermal.hp_power_kw")
    if not (0.0 <= loss_per_h < 1.0):
        raise ConfigError("buffer loss must be in [0, 1) per hour", key="storage.thermal.loss_per_h")
    elec, made, stored, lost = _buffer_kernel(heat, c, other, cap, pmax, float(loss_per_h))
    return ThermalBufferResult(hp_elec_kwh=elec, hp_heat_kwh=made, stored_heat_kwh=stored, losses_kwh=lost)
