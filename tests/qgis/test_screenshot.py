"""A headless map canvas with the styled result layers, saved under $PEDGIS_ARTIFACTS/qgis/.

The test checks what is drawn: buildings in the colour of their balance class, excluded
buildings grey, the boundary outline, a background elsewhere.
"""

from __future__ import annotations

import pytest
from conftest import SAMPLE, artifacts_dir

pytestmark = pytest.mark.skipif(not (SAMPLE / "scenario.toml").exists(), reason="sample_data not merged")


def wait_for_render(canvas):
    from qgis.PyQt.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    canvas.mapCanvasRefreshed.connect(loop.quit)
    QTimer.singleShot(30000, loop.quit)
    canvas.refresh()
    loop.exec()
    canvas.mapCanvasRefreshed.disconnect(loop.quit)


def matching_rule(layer, feature):
    from qgis.core import QgsExpression, QgsExpressionContext, QgsExpressionContextUtils

    ctx = QgsExpressionContext()
    ctx.appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
    ctx.setFeature(feature)
    rules = [r for r in layer.renderer().rootRule().children() if QgsExpression(r.filterExpression()).evaluate(ctx)]
    assert len(rules) == 1
    return rules[0]


@pytest.fixture
def result_layers(plugin, project, tmp_path):
    """The PED balance of the sample district, loaded as the dialog does (styled layers)."""
    from qgis import processing
    from qgis.core import QgsVectorLayer

    buildings = QgsVectorLayer(str(SAMPLE / "buildings.shp"), "buildings (input)", "ogr")
    project.addMapLayer(buildings, False)  # owned by the project, not shown
    params = {"BUILDINGS": buildings, "SCENARIO": str(SAMPLE / "scenario.toml"), "OUTPUT": str(tmp_path / "out")}
    processing.runAndLoadResults("pedgis:pedbalance", params)
    return project


def test_canvas_screenshot(result_layers):
    from qgis.core import QgsCoordinateReferenceSystem, QgsPointXY, QgsRectangle
    from qgis.gui import QgsMapCanvas
    from qgis.PyQt.QtCore import QCoreApplication, QSize
    from qgis.PyQt.QtGui import QColor

    project = result_layers
    tree_layers = [n.layer() for n in project.layerTreeRoot().findLayers() if n.isVisible()]
    names = [lyr.name() for lyr in tree_layers]
    assert "PED balance per building" in names and "District boundary" in names
    buildings = next(lyr for lyr in tree_layers if lyr.name() == "PED balance per building")
    boundary = next(lyr for lyr in tree_layers if lyr.name() == "District boundary")

    canvas = QgsMapCanvas()  # top level: a child of a hidden window is never laid out
    try:
        canvas.resize(QSize(1400, 1100))
        canvas.show()
        QCoreApplication.processEvents()
        canvas.setCanvasColor(QColor("#fbfbf8"))
        canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:32632"))
        canvas.setLayers(tree_layers)  # the project's stacking: boundary on top
        extent = QgsRectangle(buildings.extent())
        extent.grow(25.0)
        canvas.setExtent(extent)
        wait_for_render(canvas)
        image = canvas.grab().toImage()
        path = artifacts_dir() / "qgis_canvas_ped_balance.png"
        assert image.save(str(path))

        # every included building's inside shows its class colour (checked on the largest few)
        transform = canvas.getCoordinateTransform()
        features = sorted(buildings.getFeatures(), key=lambda f: -f["footprint_area_m2"])
        checked = 0
        for feature in features:
            if checked == 8:
                break
            inner = feature.geometry().buffer(-3.0, 4)
            if inner.isEmpty():
                continue
            p = transform.transform(inner.pointOnSurface().asPoint())
            colour = QColor(image.pixel(int(p.x()), int(p.y())))
            expected = matching_rule(buildings, feature).symbol().color()
            assert abs(colour.red() - expected.red()) <= 2 and abs(colour.green() - expected.green()) <= 2 \
                and abs(colour.blue() - expected.blue()) <= 2, (feature["building_id"], colour.name(), expected.name())
            checked += 1
        assert checked == 8
        # the boundary outline passes through its vertices: dark pixels there
        geom = next(boundary.getFeatures()).geometry()
        geom.convertToMultiType()
        ring = geom.asMultiPolygon()[0][0]
        dark = 0
        for vertex in ring[:-1]:
            p = transform.transform(QgsPointXY(vertex))
            colours = [QColor(image.pixel(int(p.x()) + dx, int(p.y()) + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
            dark += any(c.lightness() < 90 for c in colours)
        assert dark >= 0.8 * (len(ring) - 1)
        # the corner is background
        assert QColor(image.pixel(3, 3)).name() == "#fbfbf8"
    finally:
        canvas.hide()
        canvas.deleteLater()
    check_layout_with_legend(project)


def check_layout_with_legend(result_layers):
    """The same layers in a print layout with title, legend and scale bar (what a user exports
    for a report), saved as an artefact; checks the legend lists the balance classes."""
    import json

    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsLayoutExporter,
        QgsLayoutItemLabel,
        QgsLayoutItemLegend,
        QgsLayoutItemMap,
        QgsLayoutItemScaleBar,
        QgsLayoutPoint,
        QgsLayoutSize,
        QgsPrintLayout,
        QgsRectangle,
        QgsUnitTypes,
    )
    from qgis.PyQt.QtGui import QFont

    project = result_layers
    buildings = project.mapLayersByName("PED balance per building")[0]
    out_dir = buildings.source().split("|")[0].rsplit("/", 1)[0]
    district = json.loads(open(f"{out_dir}/district.json", encoding="utf-8").read())
    layers = [n.layer() for n in project.layerTreeRoot().findLayers() if n.isVisible()]

    layout = QgsPrintLayout(project)
    layout.initializeDefaults()  # one A4 landscape page
    mm = QgsUnitTypes.LayoutMillimeters

    title = QgsLayoutItemLabel(layout)
    title.setText(f"{district['scenario']} — PED balance per building (PEI − PEE, Eq. 17)")
    title.setFont(QFont("DejaVu Sans", 15, QFont.Bold))
    title.attemptMove(QgsLayoutPoint(10, 7, mm))
    title.attemptResize(QgsLayoutSize(277, 10, mm))
    layout.addLayoutItem(title)

    verdict = "a Positive Energy District" if district["is_ped"] else "not (yet) a Positive Energy District"
    sub = QgsLayoutItemLabel(layout)
    sub.setText(
        f"District balance {district['ped_balance_kwh'] / 1e6:,.2f} GWh/a of primary energy: {verdict}. "
        f"{district['n_included']} of {district['n_buildings']} buildings inside the boundary."
    )
    sub.setFont(QFont("DejaVu Sans", 9))
    sub.attemptMove(QgsLayoutPoint(10, 17, mm))
    sub.attemptResize(QgsLayoutSize(277, 6, mm))
    layout.addLayoutItem(sub)

    map_item = QgsLayoutItemMap(layout)
    map_item.attemptMove(QgsLayoutPoint(10, 25, mm))
    map_item.attemptResize(QgsLayoutSize(200, 178, mm))
    map_item.setCrs(QgsCoordinateReferenceSystem("EPSG:32632"))
    map_item.setLayers(layers)
    map_item.setKeepLayerSet(True)
    extent = QgsRectangle(buildings.extent())
    extent.grow(15.0)
    map_item.setExtent(extent)  # a new item has no extent: zoomToExtent alone gives NaN
    map_item.attemptResize(QgsLayoutSize(200, 178, mm))
    map_item.zoomToExtent(extent)
    map_item.setFrameEnabled(True)
    layout.addLayoutItem(map_item)

    legend = QgsLayoutItemLegend(layout)
    legend.setTitle("Legend")
    legend.setLinkedMap(map_item)
    legend.setAutoUpdateModel(False)
    root = legend.model().rootGroup()
    root.clear()
    for layer in layers:
        root.addLayer(layer)
    legend.attemptMove(QgsLayoutPoint(215, 25, mm))
    layout.addLayoutItem(legend)
    legend.adjustBoxSize()

    scale = QgsLayoutItemScaleBar(layout)
    scale.setStyle("Single Box")
    scale.setLinkedMap(map_item)
    scale.applyDefaultSize()
    scale.setUnits(QgsUnitTypes.DistanceMeters)
    scale.setNumberOfSegments(2)
    scale.setUnitsPerSegment(50)
    scale.setUnitLabel("m")
    scale.setBackgroundEnabled(False)
    scale.attemptMove(QgsLayoutPoint(215, 185, mm))
    layout.addLayoutItem(scale)

    note = QgsLayoutItemLabel(layout)
    note.setText(f"pedgis {district.get('pedgis_version', '')} · QGIS plugin · EPSG:32632")
    note.setFont(QFont("DejaVu Sans", 7))
    note.attemptMove(QgsLayoutPoint(215, 198, mm))
    note.attemptResize(QgsLayoutSize(72, 5, mm))
    layout.addLayoutItem(note)

    path = artifacts_dir() / "qgis_layout_ped_balance.png"
    settings = QgsLayoutExporter.ImageExportSettings()
    settings.dpi = 120
    assert QgsLayoutExporter(layout).exportToImage(str(path), settings) == QgsLayoutExporter.Success
    node = root.findLayer(buildings)
    labels = [n.data(0) for n in legend.model().layerLegendNodes(node)]
    assert labels == [r.label() for r in buildings.renderer().rootRule().children()]
