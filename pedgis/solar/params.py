"""Parameters of the rooftop solar model (the scenario's ``[solar]`` section), their ranges,
defaults and sources. Light to import (no numba): the scenario schema is built from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from ..errors import ConfigError

SKY_MODELS = ("perez", "haydavies")
YIELD_MODELS = ("pvwatts", "pr")

#: Sources of the defaults of :class:`SolarParams`.
SOURCES = {
    "module_efficiency": "typical 2023–2024 mono-Si module, 20–22 % (Fraunhofer ISE, Photovoltaics Report 2024)",
    "performance_ratio": "0.75–0.85 for well-kept rooftop systems (IEA PVPS T13-22:2021; Reich et al. 2012, doi:10.1002/pip.1219)",
    "system_losses": "14 % PVWatts default (Dobos 2014, NREL/TP-6A20-62641, Table 3)",
    "gamma_pdc": "-0.35 %/K, typical crystalline silicon (PVWatts 'standard' module, Dobos 2014)",
    "inverter_efficiency": "0.96 nominal (PVWatts default, Dobos 2014)",
    "dc_ac_ratio": "1.2 (PVWatts default DC/AC ratio, Dobos 2014)",
    "min_irradiation_kwh_m2": "assumption: ≈ 55 % of the unshaded optimum at 45° N (≈ 1,750 kWh/m²a in the sample TMY); solar cadastres commonly grade roofs below 800–1,000 kWh/m²a as poorly suited",
    "max_slope_deg": "assumption: steeper than 60° is a facade (BIPV), not a roof",
    "min_panel_area_m2": "assumption: 5 m² ≈ 3 modules ≈ 1 kWp, the smallest practical array",
    "edge_setback_m": "assumption: 0.5 m from roof edges (edge wind-load zones, access)",
    "pitched_packing": "assumption: 0.9 of the usable pitched roof covered by modules (gaps, frames, fixings)",
    "flat_tilt_deg": "assumption: 15° south-facing racks on flat roofs (common ballasted systems)",
    "flat_row_spacing_m": "default: no inter-row shading at winter-solstice noon (common design rule of thumb)",
    "module_row_length_m": "1.1 m: one module in landscape per rack row",
    "st_eta0": "0.78, typical glazed flat-plate collector (order of Solar Keymark EN ISO 9806 certificates)",
    "st_a1": "3.5 W/(m²K), typical glazed flat-plate collector (Solar Keymark order of magnitude)",
    "st_a2": "0.015 W/(m²K²), typical glazed flat-plate collector (Solar Keymark order of magnitude)",
    "st_mean_temp_c": "50 °C mean fluid temperature for domestic hot water",
    "pvt_eta0": "0.50, assumption for a covered PVT collector (range of the collectors reviewed in IEA SHC Task 60)",
    "pvt_a1": "6.0 W/(m²K), assumption for a covered PVT collector (IEA SHC Task 60 range)",
    "pvt_a2": "0.02 W/(m²K²), assumption for a covered PVT collector (IEA SHC Task 60 range)",
    "pvt_mean_temp_c": "35 °C mean fluid temperature (low-temperature heat for heat pumps/preheating)",
    "albedo": "0.2 when the weather file has none (urban ground, pvlib SURFACE_ALBEDOS)",
    "n_sectors": "36 azimuth sectors (10°); r.horizon is commonly run at 15°",
}


@dataclass
class SolarParams:
    """Parameters of the rooftop solar model (scenario section ``[solar]``).

    Defaults and their sources: :data:`SOURCES`.
    """

    sky_model: str = "perez"
    albedo: float | None = None
    n_sectors: int = 36
    max_distance_m: float | None = None  # default: relief / tan(1°), at most 2000 m
    steps_per_distance: float = 16.0
    # usable area
    min_irradiation_kwh_m2: float = 800.0
    max_slope_deg: float = 60.0
    min_panel_area_m2: float = 5.0
    edge_setback_m: float = 0.5
    pitched_packing: float = 0.9
    # flat roofs
    flat_max_slope_deg: float = 10.0
    flat_tilt_deg: float = 15.0
    flat_azimuth_deg: float = 180.0
    flat_row_spacing_m: float | None = None
    module_row_length_m: float = 1.1
    # PV
    module_efficiency: float = 0.20
    yield_model: str = "pvwatts"  # or "pr"
    performance_ratio: float = 0.80
    system_losses: float = 0.14
    gamma_pdc: float = -0.0035
    inverter_efficiency: float = 0.96
    dc_ac_ratio: float = 1.2
    # allocation of the module area
    share_pv: float = 1.0
    share_solar_thermal: float = 0.0
    share_pvt: float = 0.0
    # collectors (EN ISO 9806 quadratic efficiency)
    st_eta0: float = 0.78
    st_a1: float = 3.5
    st_a2: float = 0.015
    st_mean_temp_c: float = 50.0
    pvt_eta0: float = 0.50
    pvt_a1: float = 6.0
    pvt_a2: float = 0.02
    pvt_mean_temp_c: float = 35.0
    # roof planes
    segment_aspect_step_deg: float = 45.0
    segment_slope_step_deg: float = 20.0
    min_segment_area_m2: float = 2.0
    # processing
    tile_size: int = 2048
    keep_hourly: bool = True
    clearsky: bool = False
    max_resolution_m: float = 2.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict | None, key: str = "solar") -> SolarParams:
        """Build from a scenario section, naming the key path of any unknown or bad value."""
        d = {k: v for k, v in dict(d or {}).items() if v is not None and k != "apply_potential"}
        for k in ("n_sectors", "tile_size"):
            if k in d and isinstance(d[k], float) and d[k].is_integer():
                d[k] = int(d[k])
        names = {f.name for f in fields(cls)} - {"extra"}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(
                f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}.",
                key=f"{key}.{unknown[0]}",
            )
        p = cls(**d)
        p.validate(key)
        return p

    def validate(self, key: str = "solar") -> None:
        """Raise :class:`ConfigError` naming the key of an out-of-range value."""
        def rng(name, lo, hi):
            v = getattr(self, name)
            if v is None:
                return
            try:
                ok = lo <= float(v) <= hi
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ConfigError(f"{v!r} out of range [{lo}, {hi}].", key=f"{key}.{name}")

        if self.sky_model not in SKY_MODELS:
            raise ConfigError(
                f"'{self.sky_model}' unknown; use one of {', '.join(SKY_MODELS)}.",
                key=f"{key}.sky_model",
            )
        if self.yield_model not in ("pvwatts", "pr"):
            raise ConfigError(
                f"'{self.yield_model}' unknown; use 'pvwatts' (hourly, pvlib) or 'pr' "
                "(efficiency × performance ratio).",
                key=f"{key}.yield_model",
            )
        for name, lo, hi in [
            ("module_efficiency", 0.01, 0.5), ("performance_ratio", 0.1, 1.0),
            ("system_losses", 0.0, 0.9), ("gamma_pdc", -0.02, 0.0),
            ("inverter_efficiency", 0.5, 1.0), ("dc_ac_ratio", 0.5, 3.0),
            ("min_irradiation_kwh_m2", 0.0, 3000.0), ("max_slope_deg", 0.0, 90.0),
            ("min_panel_area_m2", 0.0, 1e4), ("edge_setback_m", 0.0, 50.0),
            ("pitched_packing", 0.0, 1.0), ("flat_max_slope_deg", 0.0, 45.0),
            ("flat_tilt_deg", 0.0, 60.0), ("flat_azimuth_deg", 0.0, 360.0),
            ("flat_row_spacing_m", 0.1, 50.0), ("module_row_length_m", 0.1, 10.0),
            ("share_pv", 0.0, 1.0), ("share_solar_thermal", 0.0, 1.0), ("share_pvt", 0.0, 1.0),
            ("albedo", 0.0, 1.0), ("n_sectors", 8, 360), ("max_distance_m", 1.0, 1e5),
            ("steps_per_distance", 4.0, 256.0), ("tile_size", 64, 1 << 16),
            ("st_eta0", 0.0, 1.0), ("pvt_eta0", 0.0, 1.0),
        ]:
            rng(name, lo, hi)
        total = self.share_pv + self.share_solar_thermal + self.share_pvt
        if total > 1.0 + 1e-9:
            raise ConfigError(
                f"share_pv + share_solar_thermal + share_pvt = {total:.3f} > 1; the shares split "
                "the usable roof area, lower one of them.",
                key=f"{key}.share_pv",
            )
        if self.flat_row_spacing_m is not None and self.flat_row_spacing_m < self.module_row_length_m * math.cos(math.radians(self.flat_tilt_deg)):
            raise ConfigError(
                f"row spacing {self.flat_row_spacing_m} m is shorter than the rows' footprint "
                f"({self.module_row_length_m} m × cos {self.flat_tilt_deg}°); rows would overlap.",
                key=f"{key}.flat_row_spacing_m",
            )


def default_row_spacing(latitude: float, tilt_deg: float, row_length_m: float) -> float:
    """Row pitch [m] without inter-row shading at winter-solstice solar noon.

    Notes
    -----
    ``d = L (cos t + sin t / tan e_min)`` with ``e_min = 90° - |φ| - 23.44°`` (at least 10°), the
    sun's noon elevation at the winter solstice.
    """
    e_min = max(90.0 - abs(latitude) - 23.44, 10.0)
    t = math.radians(tilt_deg)
    return row_length_m * (math.cos(t) + math.sin(t) / math.tan(math.radians(e_min)))




#: Scenario schema of ``[solar]``: name → (type, unit, description, min, max, allowed).
SCHEMA = {
    "apply_potential": ("bool", "-", "use the DSM's PV potential as the buildings' PV in step 4 (false: report it in pv_potential_* columns only); default: true, unless the buildings give PV attributes (buildings.columns.pv_kwp / pv_kwh: existing PV wins)", None, None, None),
    "sky_model": ("str", "-", "anisotropic diffuse sky model", None, None, SKY_MODELS),
    "albedo": ("float", "-", "ground reflectance (default: the weather file's, else 0.2)", 0, 1, None),
    "n_sectors": ("int", "-", "azimuth sectors of the horizon", 8, 360, None),
    "max_distance_m": ("float", "m", "longest horizon search (default relief / tan 1°, at most 2000 m)", 1, 1e5, None),
    "steps_per_distance": ("float", "-", "horizon sampling: step = distance / this beyond the near field", 4, 256, None),
    "min_irradiation_kwh_m2": ("float", "kWh m⁻² a⁻¹", "usable: annual irradiation on the modules at least this", 0, 3000, None),
    "max_slope_deg": ("float", "°", "usable: roof slope at most this", 0, 90, None),
    "min_panel_area_m2": ("float", "m²", "usable: a roof plane needs at least this module area", 0, 1e4, None),
    "edge_setback_m": ("float", "m", "usable: distance from the footprint's edge", 0, 50, None),
    "pitched_packing": ("float", "-", "module area per usable pitched roof area", 0, 1, None),
    "flat_max_slope_deg": ("float", "°", "roofs flatter than this get racks", 0, 45, None),
    "flat_tilt_deg": ("float", "°", "module tilt on flat roofs", 0, 60, None),
    "flat_azimuth_deg": ("float", "°", "module azimuth on flat roofs (180 = south)", 0, 360, None),
    "flat_row_spacing_m": ("float", "m", "row pitch on flat roofs (default: no shading at winter-solstice noon)", 0.1, 50, None),
    "module_row_length_m": ("float", "m", "slant length of one rack row", 0.1, 10, None),
    "module_efficiency": ("float", "-", "module efficiency at STC (kWp = area × efficiency × 1 kW m⁻²)", 0.01, 0.5, None),
    "yield_model": ("str", "-", "hourly PVWatts (pvlib) or efficiency × performance ratio", None, None, YIELD_MODELS),
    "performance_ratio": ("float", "-", "performance ratio for yield_model = \"pr\"", 0.1, 1, None),
    "system_losses": ("float", "-", "PVWatts DC system losses", 0, 0.9, None),
    "gamma_pdc": ("float", "K⁻¹", "power temperature coefficient", -0.02, 0, None),
    "inverter_efficiency": ("float", "-", "nominal inverter efficiency", 0.5, 1, None),
    "dc_ac_ratio": ("float", "-", "DC/AC ratio", 0.5, 3, None),
    "share_pv": ("float", "-", "share of the usable module area given to PV", 0, 1, None),
    "share_solar_thermal": ("float", "-", "share given to solar thermal collectors", 0, 1, None),
    "share_pvt": ("float", "-", "share given to hybrid PVT collectors", 0, 1, None),
    "st_eta0": ("float", "-", "solar thermal zero-loss efficiency η0 (EN ISO 9806)", 0, 1, None),
    "st_a1": ("float", "W m⁻² K⁻¹", "solar thermal heat loss coefficient a1", 0, 50, None),
    "st_a2": ("float", "W m⁻² K⁻²", "solar thermal heat loss coefficient a2", 0, 1, None),
    "st_mean_temp_c": ("float", "°C", "solar thermal mean fluid temperature", 0, 150, None),
    "pvt_eta0": ("float", "-", "PVT thermal zero-loss efficiency", 0, 1, None),
    "pvt_a1": ("float", "W m⁻² K⁻¹", "PVT heat loss coefficient a1", 0, 50, None),
    "pvt_a2": ("float", "W m⁻² K⁻²", "PVT heat loss coefficient a2", 0, 1, None),
    "pvt_mean_temp_c": ("float", "°C", "PVT mean fluid temperature", 0, 150, None),
    "segment_aspect_step_deg": ("float", "°", "roof planes: aspect classes of this width", 5, 180, None),
    "segment_slope_step_deg": ("float", "°", "roof planes: slope bands of this height", 2, 90, None),
    "min_segment_area_m2": ("float", "m²", "roof planes smaller than this join a neighbour", 0, 1e3, None),
    "tile_size": ("int", "pixel", "tile size for large DSMs", 64, 65536, None),
    "keep_hourly": ("bool", "-", "keep hourly per-building profiles (8760 × buildings)", None, None, None),
}


def schema_defaults() -> dict:
    """Default of every ``[solar]`` key (None where computed at run time)."""
    p = SolarParams()
    out = {k: getattr(p, k, None) for k in SCHEMA}
    out["apply_potential"] = None  # decided at run time (see SCHEMA)
    return out
