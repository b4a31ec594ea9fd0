"""User text in QGIS expressions and styles, checked by QGIS itself (tests/payloads.py).

The reference is QGIS: ``QgsExpression.quotedString`` / ``quotedColumnRef`` and its expression
parser, and a QML style loaded into a layer. A payload must stay a value (a string literal or a
column name), never become expression text, and come back literally.
"""

from __future__ import annotations

import pytest
from payloads import ALL, PAYLOADS, SHORT


@pytest.fixture
def qgs(qgis_app):
    return qgis_app


def test_qgis_string_is_qgis_own_literal(qgs):
    from qgis.core import QgsExpression

    from pedgis.escaping import qgis_string

    for text in ALL:
        literal = qgis_string(text)
        # the parser cannot read NUL (not even QGIS' own quotedString): it becomes U+FFFD
        readable = text.replace("\x00", "\ufffd")
        assert literal == QgsExpression.quotedString(readable), text[:40]
        expr = QgsExpression(literal)
        assert not expr.hasParserError(), expr.parserErrorString()
        assert expr.evaluate() == readable  # a value, whatever its characters


def test_qgis_field_is_one_column_reference(qgs):
    from qgis.core import QgsExpression

    from pedgis.escaping import qgis_field

    for name in PAYLOADS:
        ref = qgis_field(name)
        assert ref == QgsExpression.quotedColumnRef(name), name[:40]
        expr = QgsExpression(f"{ref} IS NULL")
        assert not expr.hasParserError(), expr.parserErrorString()
        assert set(expr.referencedColumns()) == {name}


def _memory_layer(fields: dict, rows: list[dict]):
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    layer = QgsVectorLayer("Polygon?crs=EPSG:32632", SHORT[3], "memory")
    kinds = {"double": QVariant.Double, "bool": QVariant.Bool}
    layer.dataProvider().addAttributes([QgsField(n, kinds[t]) for n, t in fields.items()])
    layer.updateFields()
    feats = []
    for k, row in enumerate(rows):
        f = QgsFeature(layer.fields())
        f.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({k} 0, {k + 1} 0, {k + 1} 1, {k} 0))"))
        for n, v in row.items():
            f[n] = v
        feats.append(f)
    layer.dataProvider().addFeatures(feats)
    return layer


def _rule_for(renderer, layer, feature):
    """The labels of the rules QGIS draws ``feature`` with."""
    from qgis.core import QgsExpressionContext, QgsExpressionContextUtils, QgsRenderContext

    ctx = QgsRenderContext()
    ctx.setExpressionContext(QgsExpressionContext(
        QgsExpressionContextUtils.globalProjectLayerScopes(layer)))
    ctx.expressionContext().setFeature(feature)
    renderer.startRender(ctx, layer.fields())
    rules = renderer.rootRule().children()
    labels = [r.label() for r in rules if not r.isElse() and r.isFilterOK(feature, ctx)]
    renderer.stopRender(ctx)
    return labels or [r.label() for r in rules if r.isElse()]  # ELSE: when no other matches


@pytest.mark.parametrize("k", range(3))
def test_qml_with_hostile_field_and_unit_loads_into_qgis(qgs, k):
    from qgis.PyQt.QtXml import QDomDocument

    from pedgis.viz.common import RDBU_DIVERGING
    from pedgis.viz.styles import rule_qml

    field, included, unit = SHORT[k], SHORT[k + 4], PAYLOADS[k * 13]
    layer = _memory_layer({field: "double", included: "bool"},
                          [{field: -5.0, included: True}, {field: 5.0, included: True},
                           {field: 50.0, included: True}, {field: 5.0, included: False}])
    doc = QDomDocument()
    assert doc.setContent(rule_qml(field, [0.0, 10.0], RDBU_DIVERGING[:3], unit, included))
    ok, err = layer.importNamedStyle(doc)
    assert ok, err
    renderer = layer.renderer()
    assert renderer.type() == "RuleRenderer"
    for rule in renderer.rootRule().children():
        if rule.filterExpression() not in ("ELSE", ""):
            from qgis.core import QgsExpression

            assert set(QgsExpression(rule.filterExpression()).referencedColumns()) <= {field, included}
    # by hand: -5 < 0, 0 ≤ 5 < 10, 50 ≥ 10 (class_labels, 3 significant digits); excluded first
    got = [_rule_for(renderer, layer, f) for f in layer.getFeatures()]
    assert got == [[f"< 0 {unit}"], [f"0 – 10.0 {unit}"], [f"≥ 10.0 {unit}"],
                   ["excluded from the district"]]
    del renderer, layer


def test_plugin_rules_quote_any_field_name(qgs):
    from pedgis_plugin.styles import HEAT_COLOURS, _sequential_rules

    field = SHORT[4]  # '" onmouseover="alert(15)': a quote ends a naively quoted identifier
    layer = _memory_layer({field: "double", "included": "bool"},
                          [{field: float(v), "included": True} for v in range(1, 21)])
    renderer = _sequential_rules(layer, field, HEAT_COLOURS, "kWh")
    # every building falls in exactly one class: the rules read the field's values
    for f in layer.getFeatures():
        assert len(_rule_for(renderer, layer, f)) == 1
    del renderer, layer


def test_boundary_dialog_shows_layer_name_as_text(qgs):
    from pedgis_plugin.dialogs import BoundaryFromSelectionDialog
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtWidgets import QLabel

    layer = _memory_layer({"building_id": "double"}, [])
    layer.setName("<b>Lotto {#3}</b> <img src=x>")
    dialog = BoundaryFromSelectionDialog(layer)
    label = dialog.findChildren(QLabel)[0]
    assert "<b>Lotto {#3}</b> <img src=x>" in label.text()
    assert label.textFormat() == Qt.TextFormat.PlainText  # not read as rich text (HTML)
    dialog.deleteLater()
    del layer
