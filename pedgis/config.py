"""The scenario file (TOML): one declarative schema that drives validation and ``docs/config.md``.

Every key has a dotted path (``*`` stands for a name the user chooses, e.g. a system name), a
type, a unit, a default, allowed values or a range, a description and the source of its default.
:func:`validate` walks a parsed TOML document against the schema and reports **every** problem
(unknown keys with a suggestion, wrong types, numbers given with units, values out of range,
references to unknown use types, carriers, systems or factor sets), each as a
:class:`~pedgis.errors.ConfigError` naming the key path and the fix.

``load_scenario(path)`` reads a file (relative paths are resolved against the file's folder);
``scenario_from_dict(data, base_dir)`` builds the same object from a dict (the QGIS plugin does).
"""

from __future__ import annotations

import difflib
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from . import data as _data
from .bounds import (  # noqa: F401  (re-exported: the schema's physical bounds)
    AIR_TEMP_RANGE,
    BLC_MAX,
    CDD_MAX,
    COLLECTOR_M2_MAX,
    COP_MAX,
    DD_TEMP_RANGE,
    DHW_PER_UNIT_MAX,
    DISTRICT_KWH_MAX,
    HDD_MAX,
    PLANT_KW_MAX,
    PV_KWP_MAX,
    SPECIFIC_KWH_M2_MAX,
    STORAGE_KWH_MAX,
)
from .errors import ConfigError, InputDataError, describe_os_error

REQUIRED = object()

SERVICES = ("sh", "sc", "dhw")
NEEDS = ("sh", "sc", "dhw", "lighting", "ventilation", "appliances")
SYSTEM_KINDS = ("heat_pump", "electric_resistance", "boiler", "district_heating",
                "district_cooling", "thermally_driven_heat_pump")
TECHNOLOGIES = ("chp", "wind", "hydro", "pv_field", "bipv", "solar_thermal", "pvt",
                "waste_heat", "geothermal", "heat_network")
BOUNDARY_TYPES = ("geographical", "functional", "virtual", "none")
OBJECTIVES = ("positive_energy_balance", "self_sufficient", "net_ghg")
DHW_BASES = ("area", "person", "bed", "user")
CHP_FUELS = ("natural_gas", "biomass", "biogas", "oil")
SYSTEM_VARIANTS = ("air_water", "water_water", "ground_source", "condensing", "non_condensing")


@dataclass(frozen=True)
class Key:
    """One scenario key: dotted path (``*`` = user-chosen name), type, unit, default, limits."""

    path: str
    type: str  # str, float, int, bool, path, list[str]
    doc: str
    unit: str = "-"
    default: Any = None
    allowed: tuple | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    source: str = ""

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))


def _k(path, type_, doc, **kw) -> Key:
    return Key(path=path, type=type_, doc=doc, **kw)


_USE_NEEDS = [
    _k(f"needs.overrides.*.{n}_kwh_m2", "float", f"specific {n} need of this use type (Eq. {'1' if n in ('sh', 'sc') else '3' if n == 'dhw' else '4'})",
       unit="kWh m⁻² a⁻¹", min=0, max=SPECIFIC_KWH_M2_MAX, source="replaces the value of the needs set")
    for n in NEEDS
]

def _solar_keys() -> list[Key]:
    """``[solar]``: rooftop PV, solar thermal and PVT from the DSM (see pedgis/solar/params.py)."""
    from .solar.params import SCHEMA as SOLAR
    from .solar.params import SOURCES, schema_defaults

    dflt = schema_defaults()
    return [_k(f"solar.{name}", t, doc, unit=unit, default=dflt.get(name), min=lo, max=hi, allowed=allowed,
               source=SOURCES.get(name, ""))
            for name, (t, unit, doc, lo, hi, allowed) in SOLAR.items()]


SCHEMA: list[Key] = [
    # [scenario]
    _k("scenario.name", "str", "name shown in outputs and the report", default="pedgis scenario"),
    _k("scenario.description", "str", "free text kept in district.json", default=""),
    _k("scenario.country", "str", "primary energy factor set: `iso52000_default` or a country code (ES, DE, FI, NO, IE, NL, IT)",
       default="iso52000_default", source="pedgis/data/primary_energy_factors.csv"),
    _k("scenario.timestep", "str", "netting period of the balance: `annual` (the paper), `monthly` (exports offset imports only "
       "within the month, DB-HE 2019) or `hourly` (8,760 steps of the weather year); monthly/hourly add the `timeseries` block",
       default="annual", allowed=("annual", "monthly", "hourly"), source="paper §2.7, §3"),
    # [buildings]
    _k("buildings.path", "path", "footprint file (Shapefile, also zipped; GeoPackage, GeoJSON, FlatGeobuf, GML), or a 3D city model (CityGML 1.0/2.0, CityJSON, CityJSONSeq: footprints, heights, floors and roof planes, rooftop PV without a DSM), relative to the scenario file; "
       "or a PostGIS database: `postgresql://user@host:5432/db` or `PG:dbname=db host=... user=...`, with `layer` or `sql` "
       "(the password is masked in every message; prefer ~/.pgpass or PGPASSWORD)",
       default=REQUIRED),
    _k("buildings.layer", "str", "layer name for multi-layer files; for a PostGIS `path`, the table (`schema.table`)"),
    _k("buildings.sql", "str", "for a PostGIS `path`: a read-only query returning the footprints with one geometry column "
       "(instead of `layer`); run as one statement in a read-only transaction", source="pedgis/io/postgis.py"),
    _k("buildings.crs", "str", "CRS to assume when the file has none (e.g. `EPSG:32632`); never guessed"),
    _k("buildings.encoding", "str", "text encoding of a shapefile's attributes (e.g. `cp1252`); default: the .cpg file, else detected and reported"),
    _k("buildings.preset", "str", "attribute preset: which columns hold id, use, floors, heights and which use-type table applies; `auto` detects it from the column names; `columns` and `use_map` override it",
       default="auto", allowed=("auto", "inspire", "osm", "bag", "cea", "it_catasto", "generic"), source="pedgis/io/presets.py, pedgis/data/use_type_map.csv"),
    _k("buildings.default_use", "str", "use type for buildings whose use value is missing or not in the use-type map (flagged per building); unset: such values are an error"),
    _k("buildings.group_parts", "bool", "rows sharing a building id are one building (parts united, duplicates counted once, flagged); false: ids suffixed `#n`", default=True),
    _k("buildings.columns.building_id", "str", "column with a unique building id (else B00001, ...)"),
    _k("buildings.columns.use", "str", "column with the use type (default: from the preset)"),
    _k("buildings.columns.floors", "str", "column with the number of floors above ground"),
    _k("buildings.columns.height_m", "str", "column with the building height above ground [m]; taken as the eave height, which storeys divide (e.g. the Italian *altezza in gronda*)"),
    _k("buildings.columns.persons", "str", "column with the number of occupants (DHW per person, Eq. 3)"),
    _k("buildings.columns.beds", "str", "column with the number of beds (DHW per bed, Eq. 3)"),
    _k("buildings.columns.system", "str", "column naming the conversion system group (a `[systems.<name>]`)"),
    _k("buildings.columns.pv_kwp", "str", "column with installed PV peak power [kWp]"),
    _k("buildings.columns.pv_kwh", "str", "column with annual PV yield [kWh a⁻¹]"),
    _k("buildings.columns.name", "str", "column with a name or address"),
    _k("buildings.columns.roof_elevation_m", "str", "column with the absolute roof elevation [m] (height = roof − ground elevation)"),
    _k("buildings.columns.ground_elevation_m", "str", "column with the absolute ground elevation [m] (with rasters.dsm alone: height = DSM − ground)"),
    _k("buildings.columns.year", "str", "column with the year (or date) of construction"),
    _k("buildings.mixed_use.uses", "list[str]", "columns holding a building's uses (first, second, ...); each value is "
       "translated like the use column ([buildings.use_map], the preset's table); default: the preset's (CEA 1ST_USE, "
       "2ND_USE, 3RD_USE or use_type1-3)", source="pedgis/mixed_use.py"),
    _k("buildings.mixed_use.shares", "list[str]", "columns holding each use's share of the floor area, one per use column "
       "(CEA 1ST_USE_R ...); a building's shares add up to 1; step 2 computes each use's needs on its share, the "
       "unconditioned share (parking, storage) has none", source="paper Eq. 1-5 (M = the use's floor area)"),
    _k("buildings.mixed_use.percent", "bool", "the share columns are in percent (add up to 100)", default=False),
    _k("buildings.use_map.*", "str", "source use value (left) → pedgis use type (right), e.g. `\"A/2\" = \"residential\"`; `unconditioned` keeps the building as an excluded row (garages, sheds); wins over the preset's table"),
    # [boundary]
    _k("boundary.type", "str", "PED boundary type (Fig. 3): decides whether virtual assets and green-electricity contracts count; `none` includes every building",
       default="geographical", allowed=BOUNDARY_TYPES, source="paper §2.1"),
    _k("boundary.path", "path", "polygon file of the geographical boundary (else: hull of all footprints), or a PostGIS "
       "connection like `buildings.path`"),
    _k("boundary.layer", "str", "layer of the boundary file; for a PostGIS `path`, the table (`schema.table`)"),
    _k("boundary.sql", "str", "for a PostGIS `path`: a read-only query returning the boundary polygon(s) (instead of `layer`)"),
    _k("boundary.crs", "str", "CRS to assume when the boundary file has none"),
    _k("boundary.members", "list[str]", "building ids of a functional boundary (network members)", default=[]),
    _k("boundary.rule", "str", "geographical boundary: a building is in when its footprint centroid is inside, or when at least `min_share_inside` of its footprint is",
       default="centroid", allowed=("centroid", "share"), source="paper §2.1"),
    _k("boundary.min_share_inside", "float", "share of the footprint inside the boundary polygon for rule = \"share\"", default=0.5,
       min=0, max=1, min_exclusive=True),
    _k("boundary.filter.*", "list[str]", "functional boundary by attribute: column (left) → accepted values (right), e.g. `RETE = [\"TLR\"]`; a building is a member when it matches every column"),
    # [rasters], [weather]
    _k("rasters.dsm", "path", "digital surface model (GeoTIFF) for heights and rooftop PV"),
    _k("rasters.dtm", "path", "digital terrain model (GeoTIFF); with the DSM, building heights come from nDSM = DSM − DTM (on another grid it is resampled onto the DSM's)"),
    _k("rasters.ndsm", "path", "normalised DSM (heights above ground, GeoTIFF) instead of DSM and DTM"),
    _k("rasters.irradiation", "path", "precomputed annual irradiation raster [kWh m⁻² a⁻¹] (UMEP SEBE, GRASS r.sun) used for rooftop PV instead of the DSM's sky model"),
    _k("weather.path", "path", "hourly weather year: EPW, TMY3, PVGIS TMY (CSV/JSON), or a UMEP/SUEWS meteorological forcing "
       "file (`*_data_60.txt`, located at the district's centroid); used for degree days and the PV specific yield",
       source="pedgis/io/weather.py, pedgis/io/umep.py"),
    _k("weather.far_from_site", "bool", "the weather station may lie more than 1,000 km from the district or in the other "
       "hemisphere (a what-if with another climate); otherwise such weather is refused (beyond 50 km: a warning)",
       default=False, source="pedgis/checks.py"),
    # [output]
    _k("output.postgis", "str", "also write the results as PostGIS tables (buildings, roof_segments, district) into this database "
       "(`postgresql://user@host:5432/db` or `PG:...`), in one transaction; pedgis replaces only tables it wrote there "
       "(`pedgis run --pg-out` wins)", source="pedgis/io/postgis.py"),
    _k("output.postgis_schema", "str", "schema of the PostGIS tables (made when missing; `pedgis run --pg-schema` wins)", default="pedgis"),
    # [checklist]
    _k("checklist.appliances", "bool", "include appliances (not an EPB use) in the balance", default=False, source="paper Fig. 3"),
    _k("checklist.ev_charging", "bool", "include EV charging (not an EPB use)", default=False, source="paper Fig. 3"),
    _k("checklist.public_lighting", "bool", "include public lighting (not an EPB use)", default=False, source="paper Fig. 3"),
    _k("checklist.ev_charging_kwh", "float", "annual EV charging electricity of the district", unit="kWh a⁻¹", default=0.0, min=0, max=DISTRICT_KWH_MAX),
    _k("checklist.public_lighting_kwh", "float", "annual public lighting electricity of the district", unit="kWh a⁻¹", default=0.0, min=0,
       max=DISTRICT_KWH_MAX),
    # [objective]
    _k("objective.type", "str", "PED objective (Fig. 3); `objective_met` in district.json tests it",
       default="positive_energy_balance", allowed=OBJECTIVES, source="paper §2.1, Fig. 3"),
    # [heights]
    _k("heights.storey_height_m", "float", "storey height of every use type (floors from height and vice versa); default: per use type from the data table",
       unit="m", min=2.0, max=10.0, source="pedgis/data/storey_heights.csv"),
    _k("heights.storey_height_m_by_use.*", "float", "storey height of one use type", unit="m", min=2.0, max=10.0),
    _k("heights.default_floors", "float", "floors when neither floors nor height is known (flagged)", default=3.0,
       min=1, max=200, source="engineering assumption"),
    _k("heights.default_floors_by_use.*", "float", "default floors of one use type", min=1, max=200),
    _k("heights.percentile", "float", "percentile of the nDSM pixels inside a footprint taken as its (eave) height; the median when p95 lies > 6 m higher (a lower wing or tower)",
       unit="%", default=5.0, min=0, max=100, min_exclusive=True, source="pedgis/heights.py (sample district: storeys of 96.5 % of the buildings)"),
    _k("heights.edge_buffer_m", "float", "negative buffer before reading roof pixels (facades, eaves, overhanging trees)", unit="m", default=0.5, min=0, max=10),
    _k("heights.ground_threshold_m", "float", "nDSM below this is ground, not roof (misaligned footprints)", unit="m", default=1.0, min=0, max=10),
    _k("heights.tile_size", "int", "raster tile edge for windowed reading (memory use grows with its square)", unit="pixels", default=2048, min=64, max=16384),
    _k("heights.gross_to_conditioned", "float", "conditioned share of gross floor area (footprint × floors)", default=0.85,
       min=0, max=1, min_exclusive=True, source="engineering assumption (net/gross 0.80–0.90)"),
    # [needs]
    _k("needs.method", "str", "thermal SH/SC needs from specific needs × area (Eq. 1) or BLC·24·DD (Eq. 2)",
       default="specific", allowed=("specific", "degree_days"), source="paper §2.2.1"),
    _k("needs.set", "str", "specific-needs set (e.g. `eu27_existing`, `nzeb`)", default="eu27_existing",
       source="pedgis/data/specific_needs.csv"),
    _k("needs.dhw_basis", "str", "DHW per floor area, or per unit (Eq. 3): each use type then takes the unit of its row in dhw_per_unit.csv "
       "(person and user counts from the persons column, beds from the beds column); falls back to area (flagged) when the count is missing",
       default="area", allowed=DHW_BASES, source="paper §2.2.1, EN 15316-3-1"),
    _k("needs.hdd_kd", "float", "heating degree days (else computed from the weather file)", unit="K d", min=0, max=HDD_MAX),
    _k("needs.cdd_kd", "float", "cooling degree days (else computed from the weather file)", unit="K d", min=0, max=CDD_MAX),
    _k("needs.heating_base_c", "float", "HDD base temperature", unit="°C", default=18.0, min=DD_TEMP_RANGE[0],
       max=DD_TEMP_RANGE[1], source="Eurostat nrg_chdd method"),
    _k("needs.heating_threshold_c", "float", "a day counts for HDD when its mean ≤ this", unit="°C", default=15.0,
       min=DD_TEMP_RANGE[0], max=DD_TEMP_RANGE[1], source="Eurostat nrg_chdd method"),
    _k("needs.cooling_base_c", "float", "CDD base temperature", unit="°C", default=21.0, min=DD_TEMP_RANGE[0],
       max=DD_TEMP_RANGE[1], source="Eurostat nrg_chdd method"),
    _k("needs.cooling_threshold_c", "float", "a day counts for CDD when its mean ≥ this", unit="°C", default=24.0,
       min=DD_TEMP_RANGE[0], max=DD_TEMP_RANGE[1], source="Eurostat nrg_chdd method"),
    _k("needs.blc_heating_w_m2k", "float", "building heat loss coefficient per conditioned floor area for heating (Eq. 2)",
       unit="W m⁻² K⁻¹", default=2.4, min=0, max=BLC_MAX,
       source="derived: Table 1 EU-27 144 kWh m⁻² a⁻¹ / (24 h × 2,500 K d EU-average HDD)"),
    _k("needs.blc_cooling_w_m2k", "float", "heat gain coefficient per floor area for cooling (Eq. 2)", unit="W m⁻² K⁻¹",
       default=2.4, min=0, max=BLC_MAX, source="assumption: same as heating; calibrate locally"),
    *_USE_NEEDS,
    _k("needs.overrides.*.based_on", "str", "copy the needs of this use type before applying the overrides (for a new use type)"),
    _k("needs.overrides.*.dhw_basis", "str", "DHW basis for this use type", allowed=DHW_BASES),
    _k("needs.overrides.*.dhw_kwh_per_unit", "float", "DHW need per person/bed/user", unit="kWh a⁻¹ unit⁻¹", min=0,
       max=DHW_PER_UNIT_MAX),
    _k("needs.overrides.*.blc_heating_w_m2k", "float", "BLC for heating of this use type", unit="W m⁻² K⁻¹", min=0, max=BLC_MAX),
    _k("needs.overrides.*.blc_cooling_w_m2k", "float", "BLC for cooling of this use type", unit="W m⁻² K⁻¹", min=0, max=BLC_MAX),
    # [pv]
    _k("pv.specific_yield_kwh_kwp", "float", "PV yield per kWp for buildings with `pv_kwp` (else computed from the weather file)",
       unit="kWh kWp⁻¹ a⁻¹", min=0, max=3000, min_exclusive=True),
    _k("pv.tilt_deg", "float", "module tilt for the computed specific yield", unit="°", default=30.0, min=0, max=90),
    _k("pv.azimuth_deg", "float", "module azimuth (180 = south)", unit="°", default=180.0, min=0, max=360),
    _k("pv.performance_ratio", "float", "PV performance ratio (AC yield / POA irradiation at 1 kW m⁻²)", default=0.8,
       min=0, max=1, min_exclusive=True, source="IEC 61724 typical PR 0.75–0.85"),
    *_solar_keys(),
    # [systems.<name>]
    _k("systems.*.kind", "str", "conversion system kind (Table 3)", default=REQUIRED, allowed=SYSTEM_KINDS, source="paper Table 3"),
    _k("systems.*.services", "list[str]", "services it covers: `sh`, `sc`, `dhw`", default=REQUIRED, allowed=SERVICES),
    _k("systems.*.uses", "list[str]", "assign to every building of these use types", default=[]),
    _k("systems.*.buildings", "list[str]", "assign to these building ids (wins over `uses` and the system column)", default=[]),
    _k("systems.*.default", "bool", "assign to every building with no other system for these services", default=False),
    _k("systems.*.variant", "str", "picks the default parameters: heat_pump `air_water` (default), `water_water`, `ground_source`; boiler `condensing` (default), `non_condensing`",
       allowed=SYSTEM_VARIANTS, source="pedgis/data/systems.csv"),
    _k("systems.*.carrier", "str", "input energy carrier (boiler fuel; electricity for heat pumps; district_heat / district_cooling)"),
    _k("systems.*.network", "str", "district_heating: the `[district_systems.<name>]` heat network it is connected to (else external DH)"),
    _k("systems.*.eta_emitter", "float", "emitter efficiency η_emitter (Eq. 6)", min=0, max=1, min_exclusive=True, source="pedgis/data/systems.csv"),
    _k("systems.*.eta_distribution", "float", "distribution/storage efficiency (Eq. 6)", min=0, max=1, min_exclusive=True, source="pedgis/data/systems.csv"),
    _k("systems.*.scop", "float", "heat pump seasonal COP for SH (Eq. 8)", min=0, min_exclusive=True, max=10, source="pedgis/data/systems.csv"),
    _k("systems.*.scop_dhw", "float", "heat pump seasonal COP for DHW (Eq. 8; default: scop)", min=0, min_exclusive=True, max=10),
    _k("systems.*.seer", "float", "seasonal energy efficiency ratio for SC (Eq. 8)", min=0, min_exclusive=True, max=15, source="pedgis/data/systems.csv"),
    _k("systems.*.eta", "float", "generator efficiency: boiler (on NCV), resistance, substation heat exchanger",
       min=0, max=1.2, min_exclusive=True, source="pedgis/data/systems.csv"),
    _k("systems.*.gue", "float", "thermally driven heat pump gas/heat utilisation efficiency for heating", min=0, max=3, min_exclusive=True),
    _k("systems.*.cop_thermal", "float", "thermally driven (absorption) chiller thermal COP for cooling", min=0, max=3, min_exclusive=True),
    _k("systems.*.aux_electric_share", "float", "auxiliary electricity per kWh of thermal output", unit="kWh kWh⁻¹", min=0, max=1),
    _k("systems.*.source", "str", "where the parameters come from (kept in assumptions)", default="scenario file"),
    # [district_systems.<name>]
    _k("district_systems.*.technology", "str", "district generation asset or heat network (Table 3)", default=REQUIRED,
       allowed=TECHNOLOGIES, source="paper Table 3, Eq. 9–10"),
    _k("district_systems.*.fuel", "str", "CHP fuel carrier (biomass and biogas count as RES)", allowed=CHP_FUELS),
    _k("district_systems.*.eta_el", "float", "CHP electrical efficiency", min=0, max=1, min_exclusive=True, source="pedgis/data/systems.csv"),
    _k("district_systems.*.eta_th", "float", "CHP thermal efficiency (Eq. 13)", min=0, max=1, min_exclusive=True, source="pedgis/data/systems.csv"),
    _k("district_systems.*.mode", "str", "CHP: `heat_led` (covers what its network still needs) or `given` (`heat_output_kwh`)",
       default="heat_led", allowed=("heat_led", "given")),
    _k("district_systems.*.output_kwh", "float", "annual main output (electricity; heat for solar_thermal, waste_heat, geothermal)", unit="kWh a⁻¹", min=0,
       max=DISTRICT_KWH_MAX),
    _k("district_systems.*.heat_output_kwh", "float", "annual heat output (CHP `given` mode, PVT)", unit="kWh a⁻¹", min=0,
       max=DISTRICT_KWH_MAX),
    _k("district_systems.*.capacity_kw", "float", "rated power (with `full_load_hours`)", unit="kW", min=0, max=PLANT_KW_MAX),
    _k("district_systems.*.full_load_hours", "float", "equivalent full-load hours per year", unit="h a⁻¹", min=0, max=8760),
    _k("district_systems.*.kwp", "float", "PV / BIPV / PVT peak power", unit="kWp", min=0, max=PV_KWP_MAX),
    _k("district_systems.*.specific_yield_kwh_kwp", "float", "PV yield per kWp (else [pv] / weather)", unit="kWh kWp⁻¹ a⁻¹", min=0, max=3000),
    _k("district_systems.*.area_m2", "float", "solar thermal / PVT collector area", unit="m²", min=0, max=COLLECTOR_M2_MAX),
    _k("district_systems.*.yield_kwh_m2", "float", "solar thermal / PVT useful heat per collector area", unit="kWh m⁻² a⁻¹", min=0, max=1500),
    _k("district_systems.*.network", "str", "heat network (`[district_systems.<name>]` with technology heat_network) this heat source feeds"),
    _k("district_systems.*.virtual", "bool", "off-site asset (virtual boundary): counted only when boundary.type = \"virtual\"", default=False,
       source="paper §2.1"),
    _k("district_systems.*.owned_share", "float", "share of an off-site asset owned by the district", default=1.0, min=0, max=1),
    _k("district_systems.*.losses", "float", "heat network: distribution loss share of the heat fed in", min=0, max=1, max_exclusive=True,
       source="paper §2.4: EU28 mean DH heat loss 13.7 %"),
    _k("district_systems.*.members", "list[str]", "heat network: building ids connected through a district-heating substation "
       "(SH and DHW, defaults from the data table); an explicit [systems.<name>] with `network` does the same with its own parameters",
       default=[]),
    _k("district_systems.*.export_allowed", "bool", "heat network: surplus heat may be exported to an external DH network", default=False),
    _k("district_systems.*.source", "str", "where the values come from (kept in assumptions)", default="scenario file"),
    # [carriers.<name>]
    _k("carriers.*.pef_nren", "float", "non-renewable primary energy factor of delivered energy (Eq. 14)", unit="kWh kWh⁻¹", min=0, max=10),
    _k("carriers.*.pef_ren", "float", "renewable primary energy factor of delivered energy (Eq. 19)", unit="kWh kWh⁻¹", min=0, max=10),
    _k("carriers.*.pef_nren_export", "float", "non-renewable factor of exported energy (Eq. 15; default pef_nren: substitution)", unit="kWh kWh⁻¹", min=0, max=10),
    _k("carriers.*.pef_ren_export", "float", "renewable factor of exported energy (Eq. 19; default pef_ren)", unit="kWh kWh⁻¹", min=0, max=10),
    _k("carriers.*.co2_kg_per_kwh", "float", "emission factor per delivered kWh (Eq. 22)", unit="kg CO2eq kWh⁻¹", min=-5, max=5),
    _k("carriers.*.co2_kg_per_kwh_export", "float", "emissions avoided per exported kWh, the credit of Eq. 22 (default "
       "co2_kg_per_kwh: substitution; 0: exports earn no CO2 credit)", unit="kg CO2eq kWh⁻¹", min=-5, max=5,
       source="paper Eq. 22; EN 17423:2020 (export coefficients may differ from delivered ones)"),
    _k("carriers.*.source", "str", "source of the overriding values", default="scenario file"),
    _k("carriers.*.contract_share", "float", "green_electricity only: share of grid electricity under a green contract (counted only for a virtual boundary)",
       min=0, max=1, source="paper §2.1 (PPAs / certificates)"),
]

# time-resolved balance, storage, sharing, EV, variants, uncertainty (issue 7)
from .schema_timeseries import keys as _timeseries_keys  # noqa: E402

SCHEMA += _timeseries_keys(_k)

_BY_PATH = {k.path: k for k in SCHEMA}


# --------------------------------------------------------------------------------------------
# schema walking


def _match(schema_parts: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    return len(schema_parts) == len(parts) and all(s == "*" or s == p for s, p in zip(schema_parts, parts, strict=True))


def _leaf(parts: tuple[str, ...]) -> Key | None:
    exact = _BY_PATH.get(".".join(parts))
    if exact:
        return exact
    for k in SCHEMA:
        if _match(k.parts, parts):
            return k
    return None


def _is_section(parts: tuple[str, ...]) -> bool:
    n = len(parts)
    return any(len(k.parts) > n and _match(k.parts[:n], parts) for k in SCHEMA)


def _children(parts: tuple[str, ...]) -> list[str]:
    n = len(parts)
    names = []
    for k in SCHEMA:
        if len(k.parts) > n and _match(k.parts[:n], parts) and k.parts[n] != "*":
            if k.parts[n] not in names:
                names.append(k.parts[n])
    return names


def _dotted(parts) -> str:
    return ".".join(str(p) for p in parts)


_UNIT_RE = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*([^\d\s].*)$")


def _check_value(key: Key, value: Any, path: str) -> tuple[Any, ConfigError | None]:
    """Type-check and range-check one value; returns (normalised value, error or None)."""
    t = key.type
    if t == "list[float]" and isinstance(value, list) and key.min is not None:
        value, err = _check_value(Key(key.path, "list[float]", key.doc, key.unit), value, path)  # the type first
        if err:
            return value, err
        for i, v in enumerate(value):  # then each element, in the key's range
            _, err = _check_value(Key(key.path, "float", key.doc, key.unit, None, None, key.min, key.max,
                                      key.min_exclusive, key.max_exclusive), v, f"{path}[{i}]")
            if err:
                return value, ConfigError(f"value {i + 1}: {str(err).split(': ', 1)[1]}", key=path)
        return value, None
    if t in ("float", "int"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str) and _UNIT_RE.match(value):
                num, unit = _UNIT_RE.match(value).groups()
                return value, ConfigError(
                    f"'{value}' carries a unit ('{unit.strip()}'); write a plain number in [{key.unit}], "
                    f"e.g. `{path.split('.')[-1]} = {num}` after converting to [{key.unit}].", key=path)
            return value, ConfigError(f"expected a number [{key.unit}], got {type(value).__name__} {value!r}.", key=path)
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            return value, ConfigError(f"must be a finite number [{key.unit}], got {value}.", key=path)
        if key.min is not None and (value < key.min or (key.min_exclusive and value == key.min)):
            op = ">" if key.min_exclusive else "≥"
            return value, ConfigError(f"must be {op} {key.min:g} [{key.unit}], got {value:g}. {key.doc}.", key=path)
        if key.max is not None and (value > key.max or (key.max_exclusive and value == key.max)):
            op = "<" if key.max_exclusive else "≤"
            return value, ConfigError(f"must be {op} {key.max:g} [{key.unit}], got {value:g}. {key.doc}.", key=path)
        return value, None
    if t == "bool":
        if not isinstance(value, bool):
            return value, ConfigError(f"expected true or false, got {value!r}.", key=path)
        return value, None
    if t in ("str", "path"):
        if not isinstance(value, str):
            return value, ConfigError(f"expected a text value in quotes, got {type(value).__name__} {value!r}.", key=path)
        if key.allowed and value not in key.allowed:
            hint = difflib.get_close_matches(value, key.allowed, n=1)
            did = f" Did you mean \"{hint[0]}\"?" if hint else ""
            return value, ConfigError(f"\"{value}\" is not allowed; use one of: {', '.join(key.allowed)}.{did}", key=path)
        return value, None
    if t == "list[str]":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
            return value, ConfigError(f"expected a list of texts, e.g. [\"a\", \"b\"], got {value!r}.", key=path)
        value = [str(v) for v in value]
        if key.allowed:
            bad = [v for v in value if v not in key.allowed]
            if bad:
                return value, ConfigError(f"{bad} not allowed; use values from: {', '.join(key.allowed)}.", key=path)
        return value, None
    if t == "list[float]":
        if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return value, ConfigError(f"expected a list of numbers [{key.unit}], e.g. [1.0, 2.5], got {value!r}.", key=path)
        value = [float(v) for v in value]
        if any(math.isnan(v) or math.isinf(v) for v in value):
            return value, ConfigError(f"every value must be a finite number [{key.unit}], got {value}.", key=path)
        return value, None
    if t == "table":
        if not isinstance(value, dict):
            return value, ConfigError(f"must be a table (`[{path}]` with scenario keys), got {value!r}.", key=path)
        return value, None
    raise AssertionError(t)  # pragma: no cover


def _walk(node: Mapping, prefix: tuple[str, ...], out: dict, errors: list[ConfigError]) -> None:
    for raw_key, value in node.items():
        name = str(raw_key)
        parts = prefix + (name,)
        path = _dotted(parts)
        key = _leaf(parts)
        if key is not None and not (isinstance(value, dict) and _is_section(parts)):
            norm, err = _check_value(key, value, path)
            if err:
                errors.append(err)
            out[name] = norm
            continue
        if _is_section(parts):
            if not isinstance(value, dict):
                errors.append(ConfigError(f"must be a table (`[{path}]` with keys {', '.join(_children(parts)) or '...'}), got {value!r}.", key=path))
                continue
            out[name] = {}
            _walk(value, parts, out[name], errors)
            continue
        siblings = _children(prefix)
        hint = difflib.get_close_matches(name, siblings, n=1, cutoff=0.5)
        did = f" Did you mean `{hint[0]}`?" if hint else ""
        where = f"[{_dotted(prefix)}]" if prefix else "the top level"
        allowed = f" Keys allowed in {where}: {', '.join(siblings)}." if siblings else ""
        errors.append(ConfigError(f"unknown key.{did}{allowed} See docs/config.md.", key=path))


def _fill_defaults(doc: dict, errors: list[ConfigError]) -> None:
    """Fill defaults of fixed keys and of every instance of a ``*`` section present."""

    def instances(parts: tuple[str, ...], node: dict, prefix: tuple[str, ...]):
        if not parts:
            yield prefix, node
            return
        head, rest = parts[0], parts[1:]
        if head == "*":
            for name, sub in list(node.items()):
                if isinstance(sub, dict):
                    yield from instances(rest, sub, prefix + (name,))
        else:
            if head not in node:
                if "*" in rest:
                    return
                node[head] = {}
            if isinstance(node[head], dict):
                yield from instances(rest, node[head], prefix + (head,))

    for key in SCHEMA:
        section_parts, leaf = key.parts[:-1], key.parts[-1]
        if leaf == "*":
            continue
        for prefix, node in instances(section_parts, doc, ()):
            if leaf in node:
                continue
            if key.default is REQUIRED:
                path = _dotted(prefix + (leaf,))
                errors.append(ConfigError(f"required key missing: {key.doc}. Add `{leaf} = ...` to [{_dotted(prefix)}].", key=path))
            else:
                node[leaf] = list(key.default) if isinstance(key.default, list) else key.default


# --------------------------------------------------------------------------------------------
# the scenario object


@dataclass
class Scenario:
    """A validated scenario: the normalised document (every default filled in) and its folder.

    ``doc`` mirrors the TOML sections (``doc["needs"]["set"]``, ``doc["systems"]["hp"]``, ...);
    path keys are absolute ``pathlib.Path`` objects.
    """

    doc: dict
    base_dir: Path
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, section: str) -> Any:
        return self.doc[section]

    @property
    def name(self) -> str:
        return self.doc["scenario"]["name"]

    @property
    def boundary_type(self) -> str:
        return self.doc["boundary"]["type"]


_PATH_KEYS = [k for k in SCHEMA if k.type == "path"]


def _resolve_paths(doc: dict, base_dir: Path) -> None:
    for key in _PATH_KEYS:
        sec, leaf = key.parts[:-1], key.parts[-1]
        node = doc
        for p in sec:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        value = node.get(leaf) if isinstance(node, dict) else None
        if type(value) is not str:  # missing, or already a Path or a DatabaseSource
            continue
        if value.startswith(("postgresql://", "postgres://", "PG:")):
            # a table or query, not a file: its text has the password masked
            from .io.postgis import DatabaseSource

            node[leaf] = DatabaseSource(value, node.get("layer"), node.get("sql"))
        else:
            p = Path(value).expanduser()
            node[leaf] = p if p.is_absolute() else (base_dir / p).resolve()


def known_uses(doc: dict) -> list[str]:
    """Use types the scenario can compute: the needs set's uses and the ones `[needs.overrides]` defines."""
    try:
        table = _data.needs_table(doc["needs"]["set"])
        uses = list(table.index)
    except InputDataError:
        uses = []
    return uses + [u for u in doc.get("needs", {}).get("overrides", {}) if u not in uses]


def known_carriers(doc: dict) -> list[str]:
    """Carriers with factors: the factor set's carriers and the ones `[carriers]` defines fully."""
    try:
        carriers = list(_data.pef_table(doc["scenario"]["country"]).index)
    except InputDataError:
        carriers = []
    for name, over in doc.get("carriers", {}).items():
        if name not in carriers and isinstance(over, dict) and all(over.get(k) is not None for k in ("pef_nren", "pef_ren", "co2_kg_per_kwh")):
            carriers.append(name)
    return carriers


def _cross_checks(doc: dict, errors: list[ConfigError]) -> None:
    for sec in ("buildings", "boundary"):  # a query reads a database, never a file
        node = doc.get(sec) or {}
        if node.get("sql") is not None and not str(node.get("path") or "").startswith(("postgresql://", "postgres://", "PG:")):
            errors.append(ConfigError(f"`sql` reads a PostGIS database: set `{sec}.path` to its connection "
                                      "(postgresql://user@host:5432/db or PG:...), or remove `sql`.", key=f"{sec}.sql"))
    sets = _data.pef_sets()
    country = doc["scenario"].get("country")
    if isinstance(country, str) and country not in sets:
        errors.append(ConfigError(f"\"{country}\" has no primary energy factor set; use one of: {', '.join(sets)} "
                                  "(or keep a set and override factors in [carriers.<name>]).", key="scenario.country"))
    nsets = _data.needs_sets()
    nset = doc["needs"].get("set")
    if isinstance(nset, str) and nset not in nsets:
        errors.append(ConfigError(f"\"{nset}\" is not a specific-needs set; use one of: {', '.join(nsets)}.", key="needs.set"))
    uses = known_uses(doc)
    table_uses = set(_data.needs_table(nset).index) if nset in nsets else set()
    dflt = doc["buildings"].get("default_use")
    if isinstance(dflt, str) and dflt not in uses:
        errors.append(ConfigError(f"\"{dflt}\" is not a known use type; use one of: {', '.join(uses)}.", key="buildings.default_use"))
    for table in ("storey_height_m_by_use", "default_floors_by_use"):
        for u in doc["heights"].get(table, {}):
            if u not in uses:
                errors.append(ConfigError(f"\"{u}\" is not a known use type; use one of: {', '.join(uses)}.", key=f"heights.{table}.{u}"))
    for src, dst in doc["buildings"].get("use_map", {}).items():
        if isinstance(dst, str) and dst not in uses and dst != "unconditioned":
            errors.append(ConfigError(f"\"{dst}\" is not a known use type; use one of: {', '.join(uses)}, "
                                      f"or define it in [needs.overrides.{dst}] (with `based_on`).", key=f"buildings.use_map.{src}"))
    for use, over in doc["needs"].get("overrides", {}).items():
        base = over.get("based_on")
        if base is not None and base not in uses:
            errors.append(ConfigError(f"\"{base}\" is not a known use type; use one of: {', '.join(uses)}.",
                                      key=f"needs.overrides.{use}.based_on"))
        if use not in table_uses and base is None:
            missing = [f"{n}_kwh_m2" for n in NEEDS if over.get(f"{n}_kwh_m2") is None]
            if missing:
                errors.append(ConfigError(f"new use type \"{use}\" needs `based_on = \"<use>\"` or every need ({', '.join(missing)} missing).",
                                          key=f"needs.overrides.{use}"))
    carriers = known_carriers(doc)
    for name, over in doc.get("carriers", {}).items():
        if name not in carriers:
            errors.append(ConfigError(f"carrier \"{name}\" is not in factor set {country!r}; a new carrier needs pef_nren, pef_ren "
                                      f"and co2_kg_per_kwh. Known carriers: {', '.join(carriers)}.", key=f"carriers.{name}"))
        if over.get("contract_share") is not None and name != "green_electricity":
            errors.append(ConfigError("contract_share is only meaningful for [carriers.green_electricity].", key=f"carriers.{name}.contract_share"))
    if not doc.get("systems"):
        errors.append(ConfigError("no conversion system: every building's SH, SC and DHW needs one. Add e.g. "
                                  "[systems.boilers] with kind = \"boiler\", carrier = \"natural_gas\", services = [\"sh\", \"dhw\"], "
                                  "default = true (and one for \"sc\").", key="systems"))
    networks = [n for n, s in doc.get("district_systems", {}).items() if s.get("technology") == "heat_network"]
    for name, s in doc.get("systems", {}).items():
        kind = s.get("kind")
        p = f"systems.{name}"
        carrier = s.get("carrier")
        if carrier is not None and carrier not in carriers:
            errors.append(ConfigError(f"unknown carrier \"{carrier}\"; use one of: {', '.join(carriers)}, "
                                      f"or define it in [carriers.{carrier}] with pef_nren, pef_ren and co2_kg_per_kwh.", key=f"{p}.carrier"))
        if kind in ("boiler", "thermally_driven_heat_pump") and carrier is None:
            errors.append(ConfigError(f"a {kind} needs its fuel: add `carrier = \"natural_gas\"` (or oil, biomass, biogas, district_heat, ...).", key=f"{p}.carrier"))
        if kind == "district_cooling" and s.get("services") and set(s["services"]) - {"sc"}:
            errors.append(ConfigError("district_cooling covers only `sc`.", key=f"{p}.services"))
        if kind in ("boiler", "district_heating", "electric_resistance") and s.get("services") and "sc" in s["services"]:
            errors.append(ConfigError(f"a {kind} cannot cover `sc`; use a heat pump, district_cooling or a thermally driven heat pump.", key=f"{p}.services"))
        variant = s.get("variant")
        if variant is not None and kind is not None:
            ok = {"heat_pump": ("air_water", "water_water", "ground_source"), "boiler": ("condensing", "non_condensing")}.get(kind, ())
            if variant not in ok:
                errors.append(ConfigError(f"variant \"{variant}\" does not apply to a {kind}" +
                                          (f"; use one of: {', '.join(ok)}." if ok else "; remove it."), key=f"{p}.variant"))
        net = s.get("network")
        if net is not None:
            if kind != "district_heating":
                errors.append(ConfigError("only district_heating substations connect to a heat network.", key=f"{p}.network"))
            elif net not in networks:
                errors.append(ConfigError(f"\"{net}\" is not a heat network; define [district_systems.{net}] with technology = \"heat_network\""
                                          + (f" or use one of: {', '.join(networks)}." if networks else "."), key=f"{p}.network"))
        if not s.get("uses") and not s.get("buildings") and not s.get("default"):
            col = doc["buildings"]["columns"].get("system")
            if not col:
                errors.append(ConfigError("the system is assigned to no building: give `uses = [...]`, `buildings = [...]`, "
                                          "`default = true`, or name it in the column set by buildings.columns.system.", key=p))
        for u in s.get("uses", []) or []:
            if u not in uses:
                errors.append(ConfigError(f"\"{u}\" is not a known use type; use one of: {', '.join(uses)}.", key=f"{p}.uses"))
    for name, s in doc.get("district_systems", {}).items():
        tech = s.get("technology")
        p = f"district_systems.{name}"
        if tech == "chp" and s.get("fuel") is None:
            errors.append(ConfigError("a CHP needs `fuel = \"biomass\"` (or natural_gas, biogas, oil).", key=f"{p}.fuel"))
        if tech == "chp" and s.get("network") is None:
            errors.append(ConfigError("a CHP needs the heat network its heat feeds: `network = \"<heat_network name>\"` "
                                      "(define it as [district_systems.<name>] with technology = \"heat_network\").", key=f"{p}.network"))
        if tech == "chp" and s.get("mode") == "given" and s.get("heat_output_kwh") is None:
            errors.append(ConfigError("`mode = \"given\"` needs `heat_output_kwh`.", key=f"{p}.heat_output_kwh"))
        if tech in ("solar_thermal", "waste_heat", "geothermal", "pvt", "chp") and s.get("network") is not None and s["network"] not in networks:
            errors.append(ConfigError(f"\"{s['network']}\" is not a heat network; define [district_systems.{s['network']}] with technology = \"heat_network\".",
                                      key=f"{p}.network"))
        if tech in ("solar_thermal", "waste_heat", "geothermal") and s.get("network") is None:
            errors.append(ConfigError("district heat sources feed a heat network: add `network = \"<heat_network name>\"`.", key=f"{p}.network"))
        if s.get("members") and tech != "heat_network":
            errors.append(ConfigError("only a heat_network has members.", key=f"{p}.members"))
        if tech in ("wind", "hydro"):
            if s.get("output_kwh") is None and (s.get("capacity_kw") is None or s.get("full_load_hours") is None):
                errors.append(ConfigError("give `output_kwh`, or `capacity_kw` and `full_load_hours`.", key=f"{p}.output_kwh"))
        if tech in ("pv_field", "bipv", "pvt") and s.get("output_kwh") is None and s.get("kwp") is None:
            errors.append(ConfigError("give `output_kwh` or `kwp` (with a specific yield from [pv] or the weather file).", key=f"{p}.kwp"))
        if tech in ("solar_thermal",) and s.get("output_kwh") is None and (s.get("area_m2") is None or s.get("yield_kwh_m2") is None):
            errors.append(ConfigError("give `output_kwh`, or `area_m2` and `yield_kwh_m2`.", key=f"{p}.output_kwh"))
        if tech == "pvt" and s.get("heat_output_kwh") is None and (s.get("area_m2") is None or s.get("yield_kwh_m2") is None):
            errors.append(ConfigError("give the PVT heat: `heat_output_kwh`, or `area_m2` and `yield_kwh_m2`.", key=f"{p}.heat_output_kwh"))
        if tech == "pvt" and s.get("network") is None:
            errors.append(ConfigError("PVT heat feeds a heat network: add `network = \"<heat_network name>\"`.", key=f"{p}.network"))
        if tech in ("waste_heat", "geothermal") and s.get("output_kwh") is None:
            errors.append(ConfigError("give the annual heat delivered to the network: `output_kwh`.", key=f"{p}.output_kwh"))
        if s.get("fuel") is not None and s["fuel"] not in carriers:
            errors.append(ConfigError(f"fuel \"{s['fuel']}\" has no factors in set {country!r}.", key=f"{p}.fuel"))
    if doc["needs"].get("method") == "degree_days":
        if (doc["needs"].get("hdd_kd") is None or doc["needs"].get("cdd_kd") is None) and doc["weather"].get("path") is None:
            errors.append(ConfigError("degree_days needs `hdd_kd` and `cdd_kd`, or [weather] path to compute them.", key="needs.method"))
    if doc["boundary"].get("type") == "functional" and not doc["boundary"].get("members") and not networks \
            and not doc["boundary"].get("filter"):
        errors.append(ConfigError("a functional boundary needs its members: `members = [ids]`, a `[boundary.filter]`, or a heat network with connected buildings.",
                                  key="boundary.members"))


def validate(data: Mapping) -> tuple[dict, list[ConfigError]]:
    """Validate a parsed scenario document; returns (normalised document, every problem found)."""
    if not isinstance(data, Mapping):
        return {}, [ConfigError("the scenario must be a TOML table of sections.")]
    errors: list[ConfigError] = []
    doc: dict = {}
    _walk(data, (), doc, errors)
    _fill_defaults(doc, errors)
    if not errors:
        _cross_checks(doc, errors)
        if not errors:
            from .schema_timeseries import (
                cross_checks,  # time-resolved sections and variants (issue 7)
            )

            errors.extend(cross_checks(data, doc, known_carriers, validate))
    else:
        # values that already failed may have any type; report what the cross checks can still
        # find, and never let a malformed value hide the problems found so far
        found: list[ConfigError] = []
        try:
            _cross_checks(doc, found)
        except (TypeError, AttributeError, KeyError, ValueError):
            pass
        bad_keys = {e.key for e in errors}
        errors += [e for e in found if e.key not in bad_keys]
    return doc, errors


def _raise(errors: list[ConfigError], where: str) -> None:
    if not errors:
        return
    if len(errors) == 1:
        err = ConfigError(f"{where}: {errors[0]}", key=None)
    else:
        lines = "\n".join(f"  - {e}" for e in errors)
        err = ConfigError(f"{where}: {len(errors)} problems:\n{lines}", key=None)
    err.key = errors[0].key
    err.problems = errors
    raise err


def scenario_from_dict(data: Mapping, base_dir: str | Path = ".", path: str | Path | None = None) -> Scenario:
    """Validate a scenario given as a dict (e.g. from the QGIS dialog) and return it.

    Raises
    ------
    ConfigError
        naming the first problem's key path in ``.key``; ``.problems`` lists every problem.
    """
    doc, errors = validate(data)
    _raise(errors, str(path) if path else "scenario")
    base = Path(base_dir).expanduser().resolve()
    _resolve_paths(doc, base)
    return Scenario(doc=doc, base_dir=base, path=Path(path).resolve() if path else None)


def read_toml(path: str | Path) -> dict:
    """Parse a scenario file; a missing or malformed file is an InputDataError naming it."""
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path}: scenario file not found. Check the path (try `pedgis demo` for a working example).")
    if path.is_dir():
        raise InputDataError(f"{path}: is a folder, not a scenario file. Give the scenario's .toml file "
                             f"(e.g. {path / 'scenario.toml'}).")
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        reason, fix = describe_os_error(exc, writing=False)
        raise InputDataError(f"{path}: cannot read the scenario file: {reason}. Fix: {fix}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the syntax at that line.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc}). Save the file as UTF-8.") from exc


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and normalise a scenario TOML file; relative paths are resolved against its folder."""
    path = Path(path)
    data = read_toml(path)
    return scenario_from_dict(data, base_dir=path.resolve().parent, path=path)


def missing_files(doc: dict) -> list[ConfigError]:
    """Every input file of a (path-resolved) scenario document that does not exist."""
    out = []
    for key in _PATH_KEYS:
        node = doc
        for p in key.parts[:-1]:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        value = node.get(key.parts[-1]) if isinstance(node, dict) else None
        if isinstance(value, Path) and not value.exists():
            out.append(ConfigError(f"file not found: {value}. Check the path (relative paths start from the scenario's "
                                   "folder).", key=key.path))
    return out


def read_scenario(source: str | Path | Mapping, base_dir: str | Path | None = None
                  ) -> tuple[dict, list[InputDataError], list[ConfigError], Path | None]:
    """The scenario document with its paths resolved, and every problem of the file itself.

    ``source``: a scenario file, or a dict (then ``base_dir`` resolves its relative paths).
    Returns ``(doc, errors, missing, path)``: ``errors`` of the file (not readable, not valid
    TOML, schema and cross references; ``doc`` is ``{}`` when it cannot be read) and ``missing``,
    the input files that do not exist.
    """
    path = None
    if isinstance(source, Mapping):
        data, base = source, Path(base_dir or ".")
    else:
        path = Path(source)
        try:
            data = read_toml(path)
        except InputDataError as exc:
            return {}, [exc], [], path
        base = path.resolve().parent
    doc, errors = validate(data)
    if not doc:
        return doc, list(errors), [], path
    _resolve_paths(doc, base.expanduser().resolve())
    return doc, list(errors), missing_files(doc), path


# --------------------------------------------------------------------------------------------
# documentation


def schema_markdown() -> str:
    """The content of ``docs/config.md``, generated from :data:`SCHEMA`."""
    lines = [
        "# Scenario file reference",
        "",
        "<!-- generated by `python scripts/gen_config_docs.py` from pedgis/config.py; do not edit by hand -->",
        "",
        "A scenario is a TOML file. Paths are relative to the scenario file's folder. `*` stands for a",
        "name you choose (a system, a district system, a use type, a carrier). Unknown keys, wrong",
        "types, numbers written with units (`\"3 m\"`) and values out of range are errors that name the",
        "key path and the fix. `pedgis validate SCENARIO.toml` lists every problem at once.",
        "",
        "A minimal scenario (the bundled `sample_data/scenario.toml` is a complete one):",
        "",
        "```toml",
        "[scenario]",
        "country = \"IT\"                  # primary energy factor set",
        "",
        "[buildings]",
        "path = \"buildings.shp\"",
        "[buildings.columns]",
        "building_id = \"CAD_ID\"",
        "use = \"CATEGORIA\"",
        "floors = \"N_PIANI\"",
        "[buildings.use_map]",
        "\"A/2\" = \"residential\"",
        "",
        "[boundary]",
        "type = \"geographical\"",
        "path = \"boundary.gpkg\"",
        "",
        "[systems.boilers]",
        "kind = \"boiler\"",
        "carrier = \"natural_gas\"",
        "services = [\"sh\", \"dhw\"]",
        "default = true",
        "",
        "[systems.cooling]",
        "kind = \"heat_pump\"",
        "services = [\"sc\"]",
        "default = true",
        "```",
        "",
        "Systems are assigned per building and service: ids in `buildings` win over the building's",
        "`system` column, which wins over `uses`, which wins over `default = true`. Every included",
        "building with a need must get a system for it.",
        "",
    ]
    section = None
    for k in SCHEMA:
        sec = ".".join(k.parts[:-1])
        if sec != section:
            section = sec
            lines += ["", f"## `[{sec}]`", "", "| key | type | unit | default | allowed | description | source |",
                      "|---|---|---|---|---|---|---|"]
        if k.default is REQUIRED:
            default = "**required**"
        elif k.default is None:
            default = "—"
        else:
            shown = str(k.default).lower() if isinstance(k.default, bool) else '""' if k.default == "" else k.default
            default = f"`{shown}`"
        allowed = ", ".join(f"`{a}`" for a in k.allowed) if k.allowed else ""
        if k.min is not None or k.max is not None:
            lo = "" if k.min is None else f"{'>' if k.min_exclusive else '≥'} {k.min:g}"
            hi = "" if k.max is None else f"{'<' if k.max_exclusive else '≤'} {k.max:g}"
            allowed = ", ".join(x for x in (lo, hi) if x)
        lines.append(f"| `{k.parts[-1]}` | {k.type} | {k.unit} | {default} | {allowed} | {k.doc} | {k.source} |")
    return "\n".join(lines) + "\n"
