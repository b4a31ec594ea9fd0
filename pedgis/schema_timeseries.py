"""Scenario keys of the time-resolved balance, variants and uncertainty (issue 7).

:data:`pedgis.config.SCHEMA` appends ``keys(_k)``; the same declarative entries drive validation
and ``docs/config.md``. Kept here so the engine's schema file only gains one line.
"""

from __future__ import annotations

TIMESTEPS = ("annual", "monthly", "hourly")
FACTOR_NAMES = ("pef_nren", "pef_nren_export", "pef_ren", "pef_ren_export", "co2_kg_per_kwh", "co2_kg_per_kwh_export")


def keys(k) -> list:
    """Schema entries, built with the engine's key factory ``k(path, type, doc, **kw)``."""
    from .bounds import (  # the physical bounds, with their sources
        AIR_TEMP_RANGE,
        COP_MAX,
        PLANT_KW_MAX,
        PV_KWP_MAX,
        SPECIFIC_KWH_M2_MAX,
        STORAGE_KWH_MAX,
    )

    out = [
        # [sharing]
        k("sharing.enabled", "bool", "electricity netted every hour on the district's summed position (an energy community, and the "
          "paper's district-level netting); false: building by building, each building meters alone. Fuels and heat networks are "
          "always netted at district level", default=True, source="paper §2.7; REDII art. 22 (renewable energy communities)"),
        # [storage.battery]
        k("storage.battery.capacity_kwh", "float", "usable battery capacity, district total (0: no battery)", unit="kWh",
          default=0.0, min=0, max=STORAGE_KWH_MAX),
        k("storage.battery.power_kw", "float", "charge and discharge power, district total (default capacity × c_rate)", unit="kW",
          min=0, max=PLANT_KW_MAX),
        k("storage.battery.c_rate", "float", "power per kWh of capacity when power_kw is not given", unit="h⁻¹", default=0.5,
          min=0, max=10, min_exclusive=True, source="typical stationary Li-ion systems 0.5–1 C"),
        k("storage.battery.round_trip_efficiency", "float", "AC-to-AC round-trip efficiency (√ on charge and on discharge)",
          default=0.9, min=0, max=1, min_exclusive=True, source="typical AC-coupled Li-ion systems 0.85–0.95"),
        k("storage.battery.level", "str", "`building`: a battery in every building with PV, the capacity shared out by PV yield; "
          "`district`: one community battery on the shared net position (needs [sharing] enabled)", default="building",
          allowed=("building", "district")),
        k("storage.battery.initial_soc", "float", "state of charge at the first hour of the year", default=0.0, min=0, max=1),
        k("storage.battery.self_discharge_per_h", "float", "share of the stored energy lost per hour", unit="h⁻¹", default=0.0,
          min=0, max=0.1),
        # [storage.thermal]
        k("storage.thermal.capacity_kwh", "float", "heat storage of the heat-pump buildings, total, shared out by their heat "
          "demand; the heat pumps charge it with on-site electricity surplus (a 1 m³ water tank at ΔT = 30 K holds ≈ 35 kWh)",
          unit="kWh", default=0.0, min=0, max=STORAGE_KWH_MAX),
        k("storage.thermal.hp_oversizing", "float", "heat-pump thermal power as a multiple of the building's peak hourly heat demand",
          default=1.5, min=1, max=5),
        k("storage.thermal.loss_per_h", "float", "share of the stored heat lost per hour", unit="h⁻¹", default=0.005, min=0, max=0.1),
        # [storage.heat_network]
        k("storage.heat_network.capacity_kwh", "float", "heat buffer on the district heat network (e.g. a tank or pit for "
          "solar thermal): stores the network's hourly surplus and gives it back when the network needs heat "
          "(0: none)", unit="kWh", default=0.0, min=0, max=STORAGE_KWH_MAX),
        k("storage.heat_network.power_kw", "float", "charge and discharge power (default capacity / 6 h)", unit="kW", min=0,
          max=PLANT_KW_MAX),
        k("storage.heat_network.loss_per_h", "float", "share of the stored heat lost per hour", unit="h⁻¹", default=0.001,
          min=0, max=0.1, source="pedgis assumption for a large insulated tank; set the design value"),
        # [ev]
        k("ev.vehicles", "float", "electric vehicles charged in the district (0: none); with checklist.ev_charging = true their "
          "annual charging sets checklist.ev_charging_kwh", default=0.0, min=0, max=1e7,
          source="paper Fig. 3 (mobility, optional); at most 10 million, more cars than any metropolitan area registers"),
        k("ev.km_per_year", "float", "distance per vehicle and year", unit="km a⁻¹", default=12000.0, min=0, max=100000,
          source="order of magnitude of EU passenger-car mileage (11,000–13,000 km a⁻¹); set the local value"),
        k("ev.kwh_per_km", "float", "consumption at the battery", unit="kWh km⁻¹", default=0.18, min=0, max=1,
          source="compact to mid-size battery EVs, WLTP 0.15–0.20 kWh km⁻¹"),
        k("ev.charging_efficiency", "float", "grid-to-battery efficiency of the charger", default=0.9, min=0, max=1,
          min_exclusive=True, source="AC charging 0.85–0.95"),
        k("ev.charging", "str", "charging profile: `home` (plug-in 17–22 h, full power until charged), `work` (plug-in 8–10 h), "
          "`flat`, or `custom` (ev.profile)", default="home", allowed=("home", "work", "flat", "custom")),
        k("ev.charger_kw", "float", "charging power per vehicle", unit="kW", default=11.0, min=0, max=350, min_exclusive=True),
        k("ev.profile", "list[float]", "24 hourly weights of the `custom` charging profile (relative: only their shares "
          "matter)", min=0, max=1e6),
        # [timeseries]
        k("timeseries.indicators", "bool", "with timestep = \"annual\" and a weather year, also compute the time-resolved "
          "block (monthly/hourly netting side by side, self-sufficiency, peaks, chart data); the verdict and every annual "
          "number stay the engine's", default=True),
        k("timeseries.chunk_size", "int", "buildings per block of hourly arrays (memory ≈ chunk × 8760 × 8 B × ~10)", default=512,
          min=1, max=100000),
        k("timeseries.cop_curves.*.temp_c", "list[float]", "outdoor temperatures of the heat pump's COP curve points (the `*` is "
          "a heat-pump system name)", unit="°C", min=AIR_TEMP_RANGE[0], max=AIR_TEMP_RANGE[1]),
        k("timeseries.cop_curves.*.cop", "list[float]", "COP at those temperatures (e.g. an EN 14825 data sheet); the curve sets "
          "the hourly shape, the annual electricity stays heat / scop", min=0, max=COP_MAX, min_exclusive=True,
          source="paper Eq. 8 per hour"),
        *[k(f"timeseries.factors.*.{f}_monthly", "list[float]", f"12 monthly values of {f} for this carrier (replace the "
            "constant factor in monthly and hourly netting)", source="paper §2.6: factors depend on time",
            unit="kg CO2eq kWh⁻¹" if f == "co2_kg_per_kwh" else "kWh kWh⁻¹",
            min=-5 if f == "co2_kg_per_kwh" else 0, max=5 if f == "co2_kg_per_kwh" else 10) for f in FACTOR_NAMES],
        k("timeseries.factors.*.hourly_path", "path", "CSV with 8760 rows and columns named like the factors (pef_nren, "
          "pef_nren_export, pef_ren, pef_ren_export, co2_kg_per_kwh, co2_kg_per_kwh_export): hourly factors for hourly netting"),
        # [variants.<name>]
        k("variants.*", "table", "a variant: any scenario keys that override the base (same sections and names, e.g. "
          "`storage.battery.capacity_kwh = 200`), plus the shortcuts `retrofit_share` (share of floor area retrofitted to the "
          "`nzeb` needs set), `heat_pumps_replace_boilers = true`, `pv_all_roofs = true` and `extra_pv_kwp`; `pedgis compare` "
          "runs them side by side"),
        # [gap]
        k("gap.pv_kwp_max", "float", "upper end of the search for extra PV in `pedgis gap --lever pv_kwp` (default: 20 kWp per "
          "included building)", unit="kWp", min=0, min_exclusive=True,
          max=PV_KWP_MAX),
        k("gap.storage_kwh_max", "float", "upper end of the search for battery capacity (default: one day of the district's "
          "electricity use)", unit="kWh", min=0, min_exclusive=True,
          max=STORAGE_KWH_MAX),
        # [uncertainty]
        k("uncertainty.method", "str", "`bounds` (one at a time + corners of the box) or `monte_carlo` (Latin hypercube)",
          default="bounds", allowed=("bounds", "monte_carlo")),
        k("uncertainty.samples", "int", "Monte Carlo runs", default=50, min=2, max=10000),
        k("uncertainty.seed", "int", "random seed of the Monte Carlo samples (numpy's seeds are 32-bit)", default=0, min=0,
          max=2**32 - 1),
        k("uncertainty.pef_sets", "list[str]", "primary energy factor sets to try (e.g. [\"IT\", \"iso52000_default\"])",
          default=[], source="paper §2.6: national factors vs ISO 52000-1 defaults"),
        k("uncertainty.sh_kwh_m2", "list[float]", "[low, high] specific space-heating need applied to every use type",
          unit="kWh m⁻² a⁻¹", default=[], min=0, max=SPECIFIC_KWH_M2_MAX, source="paper Table 1: NZEB 9–34 kWh m⁻² a⁻¹"),
        k("uncertainty.usable_roof_fraction", "list[float]", "[low, high] share of the modelled rooftop PV that can really be "
          "installed (usable roof area; multiplies every building's rooftop kWp and kWh, 1 = as modelled)", default=[],
          min=0, max=1),
        k("uncertainty.weather", "list[str]", "alternative weather files (weather years) to try", default=[]),
    ]
    return out


def cross_checks(data, doc, known_carriers, validate) -> list:
    """Checks across keys of the time-resolved sections (run by :func:`pedgis.config.validate`,
    which passes its ``known_carriers`` and itself, for the variants: this module imports no
    part of the scenario loader, and the loader none of the time series).

    Returns a list of :class:`~pedgis.errors.ConfigError`, each naming its key path.
    """
    from . import data as pdata
    from .errors import ConfigError

    errors = []
    systems = doc.get("systems") or {}
    ts = doc.get("timeseries") or {}
    for name, c in (ts.get("cop_curves") or {}).items():
        key = f"timeseries.cop_curves.{name}"
        if (systems.get(name) or {}).get("kind") != "heat_pump":
            hps = [n for n, s in systems.items() if (s or {}).get("kind") == "heat_pump"]
            errors.append(ConfigError(f"\"{name}\" is not a heat-pump system of the scenario; use one of: "
                                      f"{', '.join(hps) or '(none)'}.", key=key))
        t, cop = c.get("temp_c"), c.get("cop")
        if t is None or cop is None:
            errors.append(ConfigError("give `temp_c = [...]` and `cop = [...]`.", key=key))
        elif len(t) < 2 or len(t) != len(cop):
            errors.append(ConfigError(f"temp_c and cop need the same number (≥ 2) of points, got {len(t)} and {len(cop)}.",
                                      key=key))
        elif any(b <= a for a, b in zip(t[:-1], t[1:], strict=True)):
            errors.append(ConfigError("temp_c must increase strictly.", key=f"{key}.temp_c"))
    carriers = known_carriers(doc)
    for carrier, f in (ts.get("factors") or {}).items():
        if carrier not in carriers:
            errors.append(ConfigError(f"carrier \"{carrier}\" has no factors in the set; known: {', '.join(carriers)}.",
                                      key=f"timeseries.factors.{carrier}"))
        for name in FACTOR_NAMES:
            v = (f or {}).get(f"{name}_monthly")
            if v is not None and len(v) != 12:
                errors.append(ConfigError(f"give 12 monthly values, got {len(v)}.",
                                          key=f"timeseries.factors.{carrier}.{name}_monthly"))
    bat = (doc.get("storage") or {}).get("battery") or {}
    if (bat.get("capacity_kwh") or 0) > 0 and bat.get("level") == "district" and not (doc.get("sharing") or {}).get("enabled", True):
        errors.append(ConfigError("a district (community) battery serves the shared net position: set [sharing] enabled = "
                                  "true or level = \"building\".", key="storage.battery.level"))
    ev = doc.get("ev") or {}
    if ev.get("charging") == "custom" and (ev.get("profile") is None or len(ev["profile"]) != 24):
        errors.append(ConfigError("charging = \"custom\" needs `profile = [...]` with 24 hourly weights.", key="ev.profile"))
    unc = doc.get("uncertainty") or {}
    for k in ("sh_kwh_m2", "usable_roof_fraction"):
        v = unc.get(k)
        if v and (len(v) != 2 or v[1] < v[0]):
            errors.append(ConfigError(f"give [low, high] with low ≤ high, got {v}.", key=f"uncertainty.{k}"))
    sets = pdata.pef_sets()
    for s in unc.get("pef_sets") or []:
        if s not in sets:
            errors.append(ConfigError(f"\"{s}\" is not a factor set; use one of: {', '.join(sets)}.", key="uncertainty.pef_sets"))
    if doc.get("variants"):
        from .variants import check_variants

        errors.extend(check_variants(data, doc, validate))
    return errors
