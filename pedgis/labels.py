"""One table of human names and colours for services, carriers and technologies.

The Sankey, the report and the time-series charts name a carrier and colour it from here, so
"pv_electricity" reads "PV electricity" and is the same yellow on every page. Unknown ids (a
user's own carrier) read with their underscores as spaces and get a neutral colour.
"""

from __future__ import annotations

#: energy services of step 2 (paper Table 1 order)
SERVICE_LABELS = {
    "sh": "Space heating",
    "sc": "Space cooling",
    "dhw": "Domestic hot water",
    "lighting": "Lighting",
    "ventilation": "Ventilation",
    "appliances": "Appliances",
    "ev_charging": "EV charging",
    "public_lighting": "Public lighting",
}

CARRIER_LABELS = {
    "electricity": "electricity",
    "pv_electricity": "PV electricity",
    "natural_gas": "natural gas",
    "biogas": "biogas",
    "biomass": "biomass",
    "wood_pellets": "wood pellets",
    "oil": "heating oil",
    "heating_oil": "heating oil",
    "lpg": "LPG",
    "district_heat": "district heat",
    "district_cooling": "district cooling",
    "ambient_air": "ambient heat (air)",
    "ambient_heat": "ambient heat",
    "ground": "ground heat",
    "solar_thermal": "solar heat",
    "wind_electricity": "wind electricity",
}

TECHNOLOGY_LABELS = {
    "pv": "rooftop PV",
    "chp": "CHP plant",
    "boiler": "boiler",
    "heat_pump": "heat pump",
    "solar_thermal": "solar thermal",
    "wind": "wind turbine",
}

#: (substring of the carrier id, colour); first match wins, so specific names come first
_CARRIER_COLORS = [
    ("pv", "#e0a800"), ("electric", "#f2b701"), ("biogas", "#7fbc41"), ("gas", "#8c6d5a"),
    ("bio", "#4d9221"), ("wood", "#4d9221"), ("oil", "#5b4636"), ("lpg", "#6f5b4c"),
    ("district_heat", "#d73027"), ("heat_network", "#d73027"), ("cool", "#4575b4"),
    ("solar", "#fdae61"), ("ambient", "#74add1"), ("ground", "#5e8fb0"), ("heat", "#f46d43"),
    ("hydro", "#2c7fb8"), ("wind", "#7fcdbb"), ("waste", "#b35806"),
]
OTHER_COLOR = "#9e9ac8"


def cap(text: str) -> str:
    """First letter upper case, the rest untouched (``LPG`` stays ``LPG``)."""
    return text[:1].upper() + text[1:]


def service_label(service: str) -> str:
    return SERVICE_LABELS.get(service, cap(str(service).replace("_", " ")))


def carrier_label(carrier: str) -> str:
    """``natural_gas`` → "natural gas"; a heat network ``heat_network:teleriscaldamento`` → "district
    heat (teleriscaldamento)"."""
    c = str(carrier)
    if c.startswith("heat_network:"):
        return f"district heat ({c.split(':', 1)[1]})"
    return CARRIER_LABELS.get(c, c.replace("_", " "))


def technology_label(technology: str) -> str:
    return TECHNOLOGY_LABELS.get(str(technology), str(technology).replace("_", " "))


def carrier_color(carrier: str) -> str:
    """The carrier's colour on every page (hex)."""
    c = str(carrier).lower()
    for key, col in _CARRIER_COLORS:
        if key in c:
            return col
    return OTHER_COLOR if c else "#bdbdbd"
