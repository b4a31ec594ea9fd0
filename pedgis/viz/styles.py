"""Default QGIS styles stored in the GeoPackage (``layer_styles`` table).

QGIS reads the ``layer_styles`` table of a GeoPackage and applies the row marked
``useAsDefault`` when a layer is loaded. pedgis writes two rule-based styles: buildings by
``ped_balance_kwh`` (diverging around zero: blue exporters, red importers, grey excluded or
no data) and roof segments by ``irradiation_kwh_m2``. The class edges come from the data
(:mod:`pedgis.viz.common`), the same as on the web map.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from pedgis.errors import InputDataError
from pedgis.escaping import qgis_field, xml_attr
from pedgis.viz.common import (
    EXCLUDED_COLOR,
    NODATA_COLOR,
    RDBU_DIVERGING,
    VIRIDIS,
    class_labels,
    diverging_breaks,
    sequential_breaks,
)

_CREATE = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256),
  f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
  useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT CURRENT_TIMESTAMP
)
"""


def _rgb(hex_color: str, alpha: int = 255) -> str:
    return ",".join(str(int(hex_color[i:i + 2], 16)) for i in (1, 3, 5)) + f",{alpha}"


def _fill_symbol(name: str, color: str, outline: str = "#505050", width: float = 0.2,
                 style: str = "solid", outline_style: str = "solid") -> str:
    props = {
        "color": _rgb(color), "outline_color": _rgb(outline), "outline_width": str(width),
        "outline_width_unit": "MM", "outline_style": outline_style, "style": style,
        "joinstyle": "bevel",
    }
    prop_xml = "".join(f"<prop k={xml_attr(k)} v={xml_attr(v)}/>" for k, v in props.items())
    opt_xml = "".join(f'<Option name={xml_attr(k)} type="QString" value={xml_attr(v)}/>'
                      for k, v in props.items())
    return (f'<symbol type="fill" name={xml_attr(name)} alpha="1" clip_to_extent="1" '
            f'force_rhr="0"><layer class="SimpleFill" enabled="1" pass="0" locked="0">'
            f'<Option type="Map">{opt_xml}</Option>{prop_xml}</layer></symbol>')


def rule_qml(field: str, breaks: list[float], colors: list[str], unit: str,
             included_field: str | None = None) -> str:
    """QML of a rule-based renderer: one rule per class of ``field`` between ``breaks``.

    With ``included_field`` a first rule draws rows where it is false as excluded (light grey,
    dashed outline); an ``ELSE`` rule draws NULL values as "no data" grey, so no feature is
    left undrawn.
    """
    labels = class_labels(breaks, unit) if breaks else [f"all {unit}"]
    q = qgis_field(field)
    rules, symbols = [], []
    inc = f" AND {qgis_field(included_field)}" if included_field else ""
    for k in range(len(breaks) + 1):
        parts = []
        if k > 0:
            parts.append(f"{q} >= {breaks[k - 1]!r}")
        if k < len(breaks):
            parts.append(f"{q} < {breaks[k]!r}")
        expr = " AND ".join(parts) or f"{q} IS NOT NULL"
        rules.append(f'<rule key="class{k}" filter={xml_attr(expr + inc)} '
                     f'label={xml_attr(labels[k])} symbol="{k}"/>')
        symbols.append(_fill_symbol(str(k), colors[k]))
    n = len(breaks) + 1
    if included_field:
        rules.insert(0, f'<rule key="excluded" filter={xml_attr("NOT " + qgis_field(included_field))} '
                     f'label="excluded from the district" symbol="{n}"/>')
        symbols.append(_fill_symbol(str(n), EXCLUDED_COLOR, outline="#777777",
                                    outline_style="dash"))
        n += 1
    rules.append(f'<rule key="else" filter="ELSE" label="no data" symbol="{n}"/>')
    symbols.append(_fill_symbol(str(n), NODATA_COLOR))
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22.0" styleCategories="Symbology">'
        '<renderer-v2 type="RuleRenderer" symbollevels="0" forceraster="0" enableorderby="0">'
        f'<rules key="root">{"".join(rules)}</rules><symbols>{"".join(symbols)}</symbols>'
        "</renderer-v2><blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
        "<layerGeometryType>2</layerGeometryType></qgis>"
    )


def _values(gpkg: Path, layer: str, field: str) -> np.ndarray | None:
    with sqlite3.connect(gpkg) as con:
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{layer}")')]
        if field not in cols:
            return None
        rows = con.execute(f'SELECT "{field}" FROM "{layer}"').fetchall()
    return np.array([np.nan if r[0] is None else float(r[0]) for r in rows], dtype="float64")


def _geometry_column(con: sqlite3.Connection, layer: str) -> str:
    row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                      (layer,)).fetchone()
    return row[0] if row else "geom"


def write_styles(gpkg: str | Path) -> list[str]:
    """Store default QGIS styles for ``buildings`` and ``roof_segments`` in ``gpkg``.

    Returns the layers styled. Existing pedgis styles are replaced; styles the user saved
    under other names are kept.

    Raises
    ------
    InputDataError
        ``gpkg`` is not a GeoPackage.
    """
    gpkg = Path(gpkg)
    if not gpkg.is_file():
        raise InputDataError(f"{gpkg}: no such GeoPackage. Fix: run pedgis first.")
    with sqlite3.connect(gpkg) as con:
        try:
            layers = {r[0] for r in con.execute(
                "SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")}
        except sqlite3.DatabaseError as exc:
            raise InputDataError(
                f"{gpkg}: not a GeoPackage ({exc}). Fix: give the buildings.gpkg pedgis wrote."
            ) from exc
    styles = []
    if "buildings" in layers:
        v = _values(gpkg, "buildings", "ped_balance_kwh")
        if v is not None:
            inc = "included" if _values(gpkg, "buildings", "included") is not None else None
            breaks = diverging_breaks(v[np.isfinite(v)])
            styles.append(("buildings", "pedgis PED balance", rule_qml(
                "ped_balance_kwh", breaks, RDBU_DIVERGING, "kWh/a", inc),
                "Buildings by PED balance PEI − PEE [kWh/a]: blue exporters, red importers"))
    if "roof_segments" in layers:
        v = _values(gpkg, "roof_segments", "irradiation_kwh_m2")
        if v is not None and np.isfinite(v).any():
            breaks = sequential_breaks(v[np.isfinite(v)], len(VIRIDIS))
            styles.append(("roof_segments", "pedgis irradiation", rule_qml(
                "irradiation_kwh_m2", breaks, VIRIDIS, "kWh/m²a"),
                "Roof segments by annual irradiation [kWh/m²a]"))
    with sqlite3.connect(gpkg) as con:
        con.execute(_CREATE)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', "
            "'QGIS layer styles', strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
        )
        for layer, name, qml, desc in styles:
            con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?",
                        (layer, name))
            con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?",
                        (layer,))
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'pedgis', '')",
                (layer, _geometry_column(con, layer), name, qml, desc),
            )
    return [s[0] for s in styles]
