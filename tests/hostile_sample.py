"""The sample district with a payload (tests/payloads.py) in every text a user controls.

``write_hostile_sample(folder)`` copies ``sample_data`` into a folder whose name is hostile,
writes the footprints as a GeoPackage (long text, any Unicode) with payloads in the id, name,
use and an extra column, a payload attribute on the boundary, and a scenario whose name,
description, system and district-system names, ``source`` texts, use-type names and variant
names are payloads. The run's numbers are not the point here; the sample's structure is kept
(same systems, same buildings on each) so that it runs like the sample.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
from payloads import ALL, MARKER, PAYLOADS, SHORT

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"

#: a folder name with template, markup and quote characters (no "/", no NUL: the OS forbids them)
HOSTILE_DIR = "in {{7*7}} {#3} {% x %} <b>bold &amp; ' \" =1+2"

#: the scenario name (the pages' title): every short payload and the side-effect one at once
TITLE = " | ".join(SHORT) + f" {{{{ cycler.__init__.__globals__.os.mkdir('{MARKER}') }}}}"

#: names that are TOML keys and become labels (systems, networks, use types, variants)
SYSTEM_HP, SYSTEM_BOILER = SHORT[0] + " hp " + SHORT[3], SHORT[1] + " boiler " + SHORT[5]
NETWORK, CHP = SHORT[2] + " net " + SHORT[6], SHORT[4] + " chp " + SHORT[9]
NEW_USE = SHORT[7] + " use " + SHORT[3]
VARIANTS = [SHORT[8] + " variant " + SHORT[0] + SHORT[3], SHORT[4] + " v2 " + SHORT[6]]


def toml_str(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, plus DEL, which TOML wants escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _gpkg_text(text: str) -> str:
    return text.replace("\x00", "")  # GeoPackage (SQLite via OGR) text ends at NUL


def write_buildings(src: Path, dest: Path, reserved: set[str]) -> dict:
    """Footprints with payloads; returns ``{column: [payload per row]}`` written."""
    b = gpd.read_file(src)
    n = len(b)
    free = [i for i in range(n) if b.loc[i, "CAD_ID"] not in reserved]  # not named in [systems]
    ids = list(b["CAD_ID"].astype(str))
    for k, p in enumerate(PAYLOADS):
        ids[free[k % len(free)]] = p if k < len(free) else ids[free[k % len(free)]]
    b["CAD_ID"] = ids
    b["INDIRIZZO"] = [_gpkg_text(PAYLOADS[i % len(PAYLOADS)]) for i in range(n)]
    b["NOTE"] = [_gpkg_text(PAYLOADS[(i + 7) % len(PAYLOADS)]) for i in range(n)]
    uses = list(b["CATEGORIA"].astype(str))
    for i in free[-6:]:  # some buildings of a use type the scenario defines, from a hostile code
        uses[i] = SHORT[7]
    b["CATEGORIA"] = uses
    b.to_file(dest, layer="buildings", driver="GPKG", engine="pyogrio")
    return {"building_id": ids, "name": list(b["INDIRIZZO"]), "use_code": uses}


def scenario_text(variants: bool = False) -> str:
    """The sample scenario (sample_data/scenario.toml) with hostile strings."""
    from pedgis.config import NEEDS

    q = toml_str
    needs = "\n".join(f"{n}_kwh_m2 = {v}" for n, v in zip(
        NEEDS, (80.0, 10.0, 20.0, 10.0, 5.0, 20.0), strict=True))
    text = f"""
[scenario]
name = {q(TITLE)}
description = {q(chr(10).join(ALL))}
country = "IT"
timestep = "annual"

[buildings]
path = "buildings.gpkg"
layer = "buildings"

[buildings.columns]
building_id = "CAD_ID"
use = "CATEGORIA"
floors = "N_PIANI"
height_m = "ALTEZZA"
persons = "N_ABIT"
beds = "N_LETTI"
pv_kwp = "PV_KWP"
name = "INDIRIZZO"

[buildings.use_map]
"A/2" = "residential"
"A/3" = "residential"
"A/7" = "residential"
"A/10" = "office"
"B/2" = "health"
"B/5" = "education"
"C/1" = "commercial"
"D/2" = "hotel"
"D/6" = "sports"
"D/8" = "commercial"
{q(SHORT[7])} = {q(NEW_USE)}

[boundary]
type = "geographical"
path = "boundary.gpkg"
layer = "boundary"

[rasters]
dsm = "dsm.tif"
dtm = "dtm.tif"

[weather]
path = "weather/pvgis_tmy_45N_8E.epw"

[checklist]
appliances = false
ev_charging = false
public_lighting = true
public_lighting_kwh = 38000.0

[objective]
type = "positive_energy_balance"

[needs]
method = "specific"
set = "eu27_existing"
dhw_basis = "person"

[needs.overrides.{q(NEW_USE)}]
{needs}

[systems.{q(SYSTEM_HP)}]
kind = "heat_pump"
variant = "air_water"
services = ["sh", "dhw"]
source = {q(PAYLOADS[0] + " " + SHORT[3])}
buildings = {json.dumps(HP_BUILDINGS)}

[systems.dh_substations]
kind = "district_heating"
services = ["sh", "dhw"]
network = {q(NETWORK)}
uses = ["office", "education", "sports", "hotel", "health"]
buildings = {json.dumps(DH_BUILDINGS)}

[systems.{q(SYSTEM_BOILER)}]
kind = "boiler"
carrier = "natural_gas"
variant = "non_condensing"
services = ["sh", "dhw"]
default = true
source = {q(SHORT[5] + " " + SHORT[6])}

[systems.air_conditioning]
kind = "heat_pump"
variant = "air_water"
services = ["sc"]
default = true

[district_systems.{q(NETWORK)}]
technology = "heat_network"
export_allowed = false
source = {q(SHORT[2] + " " + SHORT[8])}

[district_systems.{q(CHP)}]
technology = "chp"
fuel = "biomass"
mode = "heat_led"
network = {q(NETWORK)}
source = {q(SHORT[1] + " " + SHORT[4])}

[carriers.electricity]
source = {q(SHORT[7] + " carrier " + SHORT[3])}
"""
    if variants:
        text += f"""
[variants.{q(VARIANTS[0])}]
retrofit_share = 0.5
scenario.description = {q(SHORT[3] + " " + SHORT[0])}

[variants.{q(VARIANTS[1])}]
heat_pumps_replace_boilers = true
"""
    return text


# buildings on the sample's systems (sample_data/scenario.toml), kept as they are
HP_BUILDINGS = ["001357", "001611", "001618", "001624", "001626", "001627", "001632", "001639",
                "001642", "001644", "001647", "001653", "001659", "001660", "001664", "001668",
                "001675", "001680", "001681", "001720", "001728", "001733", "001741", "001745",
                "001747"]
DH_BUILDINGS = ["001195", "001215", "001222", "001240", "001251", "001259", "001367", "001385",
                "001386", "001396", "001401", "001425", "001432", "001435", "001534", "001543",
                "001558", "001566", "001574", "001580"]


def write_hostile_sample(folder: Path, variants: bool = False) -> tuple[Path, dict]:
    """Write the hostile inputs under ``folder``; returns (scenario path, texts written)."""
    data = Path(folder) / HOSTILE_DIR
    data.mkdir(parents=True)
    for name in ("dsm.tif", "dtm.tif"):
        shutil.copy(SAMPLE / name, data / name)
    shutil.copytree(SAMPLE / "weather", data / "weather")
    bnd = gpd.read_file(SAMPLE / "boundary.gpkg", layer="boundary")
    bnd["name"] = _gpkg_text(TITLE)
    bnd["note"] = _gpkg_text(PAYLOADS[-1])
    bnd.to_file(data / "boundary.gpkg", layer="boundary", driver="GPKG", engine="pyogrio")
    texts = write_buildings(SAMPLE / "buildings.shp", data / "buildings.gpkg",
                            set(HP_BUILDINGS) | set(DH_BUILDINGS))
    scenario = data / "scenario.toml"
    scenario.write_text(scenario_text(variants), encoding="utf-8")
    return scenario, texts


def pedgis(*args) -> int:
    """``pedgis ARGS`` in this process; returns the exit code."""
    from pedgis.cli import main

    return main([str(a) for a in args])


def clip(text: str, n: int = 300) -> str:
    """What the map shows of a long text: its first n − 1 characters and "…" (maps.MAX_TEXT)."""
    return text if len(text) <= n else text[: n - 1] + "…"
