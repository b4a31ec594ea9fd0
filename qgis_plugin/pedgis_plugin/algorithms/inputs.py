"""Turn the dialog's parameters into a pedgis scenario (a dict validated by the library).

A scenario file is optional: the dialog's values override its keys (buildings, boundary,
rasters, weather, column mapping, heat supply, PV parameters, factor set); without one, the
library's defaults apply. Keys are the scenario file's own (``docs/config.md``).
"""

from __future__ import annotations

import copy
from pathlib import Path

#: dialog choice → conversion system replacing the scenario's space heating and DHW systems
#: (None keeps the scenario's); parameters not given come from ``pedgis/data/systems.csv``
HEAT_SUPPLY = [
    ("as in the scenario file", None),
    ("air-source heat pump", {"kind": "heat_pump", "carrier": "electricity"}),
    ("gas boiler", {"kind": "boiler", "carrier": "natural_gas"}),
    ("biomass boiler", {"kind": "boiler", "carrier": "biomass"}),
    ("district heating", {"kind": "district_heating", "carrier": "district_heat"}),
]

#: dialog choice → ``scenario.country`` (primary energy factor set); None keeps the scenario's
FACTOR_SETS = [
    ("as in the scenario file", None),
    ("ISO 52000-1 defaults", "iso52000_default"),
    ("Spain (ES)", "ES"),
    ("Germany (DE)", "DE"),
    ("Finland (FI)", "FI"),
    ("Norway (NO)", "NO"),
    ("Ireland (IE)", "IE"),
    ("Netherlands (NL)", "NL"),
    ("Italy (IT)", "IT"),
]

DIALOG_SYSTEM = "qgis_heat_supply"


def read_scenario_file(path: str | None) -> tuple[dict, Path | None]:
    """The raw scenario document of ``path`` (or an empty one) and its folder."""
    if not path:
        return {}, None
    from pedgis.config import read_toml

    return read_toml(path), Path(path).resolve().parent


def _section(doc: dict, name: str) -> dict:
    node = doc.get(name)
    if not isinstance(node, dict):
        node = {}
        doc[name] = node
    return node


def _set_source(doc: dict, name: str, path: str | None, layer: str | None) -> None:
    """Point section ``name`` at ``path`` (and its layer; none: the file's only layer)."""
    if not path:
        return
    sec = _section(doc, name)
    sec["path"] = str(path)
    if layer:
        sec["layer"] = layer
    else:
        sec.pop("layer", None)


def apply_inputs(
    doc: dict,
    *,
    buildings: tuple[str | None, str | None] = (None, None),
    boundary: tuple[str | None, str | None] = (None, None),
    members: list[str] | None = None,
    dsm: str | None = None,
    dtm: str | None = None,
    weather: str | None = None,
    columns: dict[str, str] | None = None,
    heat_supply: int = 0,
    factor_set: int = 0,
    performance_ratio: float | None = None,
    storey_height_m: float | None = None,
    gross_to_conditioned: float | None = None,
) -> dict:
    """A copy of the scenario document ``doc`` with the dialog's inputs written in.

    Parameters
    ----------
    buildings, boundary : (path, layer name) of the vector inputs as QGIS passed them
    members : building ids of a functional boundary (``boundary.members``)
    columns : pedgis field → source column, for the fields the user picked
    heat_supply, factor_set : indices into :data:`HEAT_SUPPLY` and :data:`FACTOR_SETS`
    performance_ratio : PV performance ratio [-] (``pv.performance_ratio``)
    storey_height_m : storey height for every use type [m] (``heights.storey_height_m``)
    gross_to_conditioned : conditioned share of gross floor area [-]
        (``heights.gross_to_conditioned``)
    """
    doc = copy.deepcopy(doc)
    _set_source(doc, "buildings", *buildings)
    for field, column in (columns or {}).items():
        if column:
            _section(_section(doc, "buildings"), "columns")[field] = column
    _set_source(doc, "boundary", *boundary)
    if members:
        sec = _section(doc, "boundary")
        sec["members"] = [str(m) for m in members]
        if sec.get("type", "geographical") == "geographical":
            sec["type"] = "functional"
    if dsm:
        _section(doc, "rasters")["dsm"] = str(dsm)
    if dtm:
        _section(doc, "rasters")["dtm"] = str(dtm)
    if weather:
        _section(doc, "weather")["path"] = str(weather)
    system = HEAT_SUPPLY[heat_supply][1]
    if system is not None:
        systems = _section(doc, "systems")
        for name in list(systems):
            services = set(systems[name].get("services", []))
            remaining = sorted(services - {"sh", "dhw"})
            if services & {"sh", "dhw"}:
                if remaining:
                    systems[name]["services"] = remaining
                else:
                    del systems[name]
        systems[DIALOG_SYSTEM] = {
            **system,
            "services": ["sh", "dhw"],
            "default": True,
            "source": "QGIS dialog (heat supply); efficiencies from pedgis/data/systems.csv",
        }
    country = FACTOR_SETS[factor_set][1]
    if country is not None:
        _section(doc, "scenario")["country"] = country
    if performance_ratio is not None:
        _section(doc, "pv")["performance_ratio"] = float(performance_ratio)
    if storey_height_m is not None:
        heights = _section(doc, "heights")
        heights["storey_height_m"] = float(storey_height_m)
        heights.pop("storey_height_m_by_use", None)  # "for every use type"
    if gross_to_conditioned is not None:
        _section(doc, "heights")["gross_to_conditioned"] = float(gross_to_conditioned)
    return doc
