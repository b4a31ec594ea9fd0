"""QGIS default styles in buildings.gpkg (layer_styles table)."""

import re
import shutil
import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import pyogrio
import pytest

from pedgis.errors import InputDataError
from pedgis.viz.common import EXCLUDED_COLOR, NODATA_COLOR, RDBU_DIVERGING, class_index
from pedgis.viz.styles import write_styles


def _styles(gpkg):
    with sqlite3.connect(gpkg) as con:
        return con.execute("SELECT f_table_name, styleName, styleQML, useAsDefault, "
                           "f_geometry_column FROM layer_styles").fetchall()


def _eval(expr, row):
    """Evaluate the tiny QGIS expression subset the rules use, on one feature."""
    py = re.sub(r'"(\w+)"', lambda m: f"row[{m.group(1)!r}]", expr)
    py = py.replace(" AND ", " and ").replace("NOT ", "not ").replace("IS NOT NULL",
                                                                      "is not None")
    return bool(eval(py, {"row": row}))  # noqa: S307 - expressions written by pedgis


def _hex(rgb):
    r, g, b, _ = (int(x) for x in rgb.split(","))
    return f"#{r:02x}{g:02x}{b:02x}"


def test_styles_written_and_rules_match_the_web_map(out_folder, tmp_path):
    gpkg = tmp_path / "buildings.gpkg"
    shutil.copy(out_folder / "buildings.gpkg", gpkg)
    assert write_styles(gpkg) == ["buildings", "roof_segments"]
    rows = _styles(gpkg)
    assert {(r[0], r[3]) for r in rows} == {("buildings", 1), ("roof_segments", 1)}
    assert all(r[4] == "geom" for r in rows)
    qml = {r[0]: r[2] for r in rows}
    root = ET.fromstring(qml["buildings"].split("\n", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "RuleRenderer"
    rules = renderer.find("rules").findall("rule")
    symbols = {s.get("name"): s for s in renderer.find("symbols").findall("symbol")}
    colour = {name: _hex(s.find("layer").find("prop[@k='color']").get("v"))
              for name, s in symbols.items()}
    b = gpd.read_file(gpkg, layer="buildings")
    from pedgis.viz.common import diverging_breaks

    breaks = diverging_breaks(b["ped_balance_kwh"].to_numpy())
    for _, r in b.iterrows():
        feat = {"ped_balance_kwh": r.ped_balance_kwh, "included": bool(r.included)}
        # QGIS rule renderer draws a feature with the first matching rule ("ELSE" otherwise)
        match = next((x for x in rules if x.get("filter") != "ELSE"
                      and _eval(x.get("filter"), feat)), rules[-1])
        if not r.included:
            assert colour[match.get("symbol")] == EXCLUDED_COLOR
        else:
            assert colour[match.get("symbol")] == RDBU_DIVERGING[
                class_index(r.ped_balance_kwh, breaks)]
    # a NULL balance falls to the grey "no data" rule, so no feature goes undrawn
    assert rules[-1].get("filter") == "ELSE"
    assert colour[rules[-1].get("symbol")] == NODATA_COLOR
    # the layers are still readable and the styles table is registered as attributes
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"buildings", "boundary", "roof_segments", "layer_styles"} <= layers
    roof = ET.fromstring(qml["roof_segments"].split("\n", 1)[1])
    assert '"irradiation_kwh_m2"' in roof.find("renderer-v2/rules/rule").get("filter")


def test_styles_rewritten_not_duplicated(out_folder, tmp_path):
    gpkg = tmp_path / "buildings.gpkg"
    shutil.copy(out_folder / "buildings.gpkg", gpkg)
    write_styles(gpkg)
    write_styles(gpkg)
    assert len(_styles(gpkg)) == 2


def test_not_a_geopackage(tmp_path):
    bad = tmp_path / "buildings.gpkg"
    bad.write_text("not sqlite")
    with pytest.raises(InputDataError, match="not a GeoPackage"):
        write_styles(bad)
    with pytest.raises(InputDataError, match="no such GeoPackage"):
        write_styles(tmp_path / "missing.gpkg")


def _columns(expr):
    """Column names a QGIS expression refers to: "…" identifiers, "" inside is one quote."""
    return {m.replace('""', '"') for m in re.findall(r'"((?:[^"]|"")*)"', expr)}


@pytest.mark.parametrize("k", range(4))
def test_rule_qml_keeps_hostile_field_names_and_units_as_data(k):
    from payloads import PAYLOADS, SHORT

    from pedgis.viz.styles import rule_qml

    field, included = SHORT[k], SHORT[k + 4]
    unit = PAYLOADS[k * 11] + " \x07\x1b"  # control characters: XML 1.0 cannot carry them
    qml = rule_qml(field, [0.0, 10.0], RDBU_DIVERGING[:3], unit, included)
    root = ET.fromstring(qml.split("\n", 1)[1])  # parses: every value escaped for XML
    rules = root.find("renderer-v2").find("rules").findall("rule")
    filters = {r.get("key"): r.get("filter") for r in rules}
    # each filter refers to the two columns and nothing else (no text spliced into it)
    for key in ("class0", "class1", "class2"):
        assert _columns(filters[key]) == {field, included}
    assert _columns(filters["excluded"]) == {included}
    # labels by hand (class_labels, 3 significant digits): "< 0 UNIT", "0 – 10.0 UNIT",
    # "≥ 10.0 UNIT"; the control characters come back as U+FFFD, everything else literally
    shown = unit.replace("\x07", "\ufffd").replace("\x1b", "\ufffd")
    labels = [r.get("label") for r in rules if r.get("key").startswith("class")]
    assert labels == [f"< 0 {shown}", f"0 – 10.0 {shown}", f"≥ 10.0 {shown}"]
