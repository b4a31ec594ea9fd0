"""Boundary tools: "Draw PED boundary" from simulated canvas clicks; "Boundary from selected
buildings" (functional ids + convex/concave hull)."""

from __future__ import annotations

import pytest

EXTENT = (421000.0, 4983000.0, 421800.0, 4983600.0)  # EPSG:32632, near 45° N 8° E


@pytest.fixture
def canvas(qgis_canvas, project):
    from qgis.core import QgsCoordinateReferenceSystem, QgsRectangle

    qgis_canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:32632"))
    qgis_canvas.setExtent(QgsRectangle(*EXTENT))
    qgis_canvas.refresh()
    return qgis_canvas


def click(tool, canvas, px, py, button="left"):
    from qgis.gui import QgsMapMouseEvent
    from qgis.PyQt.QtCore import QEvent, QPoint, Qt

    b = Qt.MouseButton.LeftButton if button == "left" else Qt.MouseButton.RightButton
    tool.canvasMoveEvent(QgsMapMouseEvent(canvas, QEvent.Type.MouseMove, QPoint(px, py), Qt.MouseButton.NoButton,
                                          Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
    tool.canvasReleaseEvent(QgsMapMouseEvent(canvas, QEvent.Type.MouseButtonRelease, QPoint(px, py), b, b,
                                             Qt.KeyboardModifier.NoModifier))


def key(tool, qt_key):
    from qgis.PyQt.QtCore import QEvent, Qt
    from qgis.PyQt.QtGui import QKeyEvent

    tool.keyPressEvent(QKeyEvent(QEvent.Type.KeyPress, qt_key, Qt.KeyboardModifier.NoModifier))


def pixel_to_map(canvas, px, py):
    """Map coordinates of a pixel by hand: x = xmin + px·mupp, y = ymax − py·mupp."""
    settings = canvas.mapSettings()
    ext, mupp = settings.visibleExtent(), settings.mapUnitsPerPixel()
    return ext.xMinimum() + px * mupp, ext.yMaximum() - py * mupp


def flat(points):
    return [c for p in points for c in p]


def shoelace(points):
    return 0.5 * abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True)))


def test_draw_boundary_from_canvas_clicks(plugin, canvas, project):
    from pedgis_plugin.boundary import BOUNDARY_PROPERTY, find_boundary_layer

    assert find_boundary_layer(project) is None
    tool = plugin.activate_draw_tool()
    pixels = [(100, 80), (420, 90), (400, 330), (120, 300)]
    for px, py in pixels:
        click(tool, canvas, px, py)
    assert tool.rubber.numberOfVertices() == 4
    click(tool, canvas, 10, 10, "right")  # closes the polygon; the right-click position is not a vertex

    layer = find_boundary_layer(project)
    assert layer is not None and layer.customProperty(BOUNDARY_PROPERTY)
    assert layer.crs().authid() == "EPSG:32632"  # created in the project's CRS
    assert layer.featureCount() == 1
    feature = next(layer.getFeatures())
    assert feature["boundary_type"] == "geographical"
    ring = feature.geometry().asMultiPolygon()[0][0]
    expected = [pixel_to_map(canvas, px, py) for px, py in pixels]
    got = [(p.x(), p.y()) for p in ring[:-1]]
    assert flat(got) == pytest.approx(flat(expected), abs=1e-6)
    assert feature.geometry().area() == pytest.approx(shoelace(expected), rel=1e-9)
    assert tool.points == [] and tool.rubber.numberOfVertices() == 0
    assert any("added to the PED boundary layer" in m
               for m in plugin.iface.messageBar().get_messages(3))  # Qgis.Success

    # a second polygon goes into the same layer
    for px, py in [(10, 10), (60, 10), (60, 60)]:
        click(tool, canvas, px, py)
    key(tool, 0x01000004)  # Qt.Key_Return
    assert find_boundary_layer(project) is layer and layer.featureCount() == 2
    assert len([lyr for lyr in project.mapLayers().values() if lyr.customProperty(BOUNDARY_PROPERTY)]) == 1


def test_draw_tool_backspace_escape_and_too_few_points(plugin, canvas, project):
    from pedgis_plugin.boundary import find_boundary_layer
    from qgis.PyQt.QtCore import Qt

    tool = plugin.activate_draw_tool()
    messages = []
    tool.message.connect(messages.append)
    click(tool, canvas, 100, 100)
    click(tool, canvas, 200, 100)
    click(tool, canvas, 999, 999)
    key(tool, Qt.Key.Key_Backspace)  # removes the stray vertex
    assert len(tool.points) == 2
    click(tool, canvas, 0, 0, "right")  # two vertices: not a polygon
    assert messages == ["A boundary needs at least three vertices; keep clicking."]
    assert find_boundary_layer(project) is None
    key(tool, Qt.Key.Key_Escape)
    assert tool.points == []


def test_draw_in_another_canvas_crs_is_stored_in_the_project_crs(plugin, canvas, project):
    """The canvas shows EPSG:4326; the boundary layer (project CRS EPSG:32632) gets UTM
    coordinates, checked against pyproj."""
    import pyproj
    from pedgis_plugin.boundary import find_boundary_layer
    from qgis.core import QgsCoordinateReferenceSystem, QgsRectangle

    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    canvas.setExtent(QgsRectangle(7.99, 44.99, 8.01, 45.01))
    tool = plugin.activate_draw_tool()
    pixels = [(50, 50), (300, 60), (200, 250)]
    for px, py in pixels:
        click(tool, canvas, px, py)
    click(tool, canvas, 0, 0, "right")
    ring = next(find_boundary_layer(project).getFeatures()).geometry().asMultiPolygon()[0][0]
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True)
    expected = [to_utm.transform(*pixel_to_map(canvas, px, py)) for px, py in pixels]
    assert flat((p.x(), p.y()) for p in ring[:-1]) == pytest.approx(flat(expected), abs=0.01)


@pytest.fixture
def l_shaped_buildings(project):
    """Five 10 m squares in an L (bottom row x = 0, 20, 40; left column y = 20, 40) and one
    more at (40, 40) that is not selected."""
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:32632&field=bldg_id:string&field=use:string", "buildings", "memory")
    origins = {"A": (0, 0), "B": (20, 0), "C": (40, 0), "D": (0, 20), "E": (0, 40), "F": (40, 40)}
    features = []
    for bid, (x, y) in origins.items():
        f = QgsFeature(layer.fields())
        f.setGeometry(QgsGeometry.fromWkt(f"POLYGON(({x} {y},{x + 10} {y},{x + 10} {y + 10},{x} {y + 10},{x} {y}))"))
        f["bldg_id"], f["use"] = bid, "residential"
        features.append(f)
    layer.dataProvider().addFeatures(features)
    project.addMapLayer(layer)
    layer.selectByExpression("\"bldg_id\" <> 'F'")
    return layer


def test_boundary_from_selected_buildings_convex(l_shaped_buildings, project):
    from pedgis_plugin.boundary import boundary_from_selected, find_boundary_layer
    from qgis.core import QgsGeometry, QgsPointXY

    feature = boundary_from_selected(l_shaped_buildings, "bldg_id", "convex", project=project)
    assert feature["boundary_type"] == "functional"
    assert sorted(feature["building_ids"].split(";")) == ["A", "B", "C", "D", "E"]
    assert feature["id_field"] == "bldg_id" and feature["hull"] == "convex"
    # hull of the L by hand: (0,0) (50,0) (50,10) (10,50) (0,50) → shoelace
    # (0·0−50·0 + 50·10−50·0 + 50·50−10·10 + 10·50−0·50 + 0·0−0·50) / 2 = (500+2400+500)/2 = 1700 m²
    geom = feature.geometry()
    assert geom.area() == pytest.approx(1700.0)
    assert find_boundary_layer(project).featureCount() == 1
    assert not geom.contains(QgsGeometry.fromPointXY(QgsPointXY(45, 45)))  # F's centroid


def test_boundary_from_selected_buildings_concave(l_shaped_buildings, project):
    from pedgis_plugin.boundary import boundary_from_selected
    from qgis.core import QgsGeometry, QgsPointXY

    feature = boundary_from_selected(l_shaped_buildings, "bldg_id", "concave", concavity=0.0, project=project)
    geom = feature.geometry()
    # tighter than the convex hull (1700 m²), never smaller than the five footprints (500 m²)
    assert 500.0 <= geom.area() < 1700.0
    for f in l_shaped_buildings.getFeatures():
        covered = geom.contains(f.geometry().centroid())
        assert covered == (f["bldg_id"] != "F"), f["bldg_id"]
        if f["bldg_id"] != "F":
            assert geom.buffer(1e-6, 4).contains(f.geometry())
    assert not geom.contains(QgsGeometry.fromPointXY(QgsPointXY(30, 30)))  # inside the L's bend


def test_boundary_from_selected_errors(l_shaped_buildings, project):
    from pedgis_plugin.boundary import boundary_from_selected, hull_of

    with pytest.raises(ValueError, match="has no field 'gml_id'"):
        boundary_from_selected(l_shaped_buildings, "gml_id", project=project)
    with pytest.raises(ValueError, match="hull must be 'convex' or 'concave'"):
        hull_of([next(l_shaped_buildings.getFeatures()).geometry()], "alpha")
    l_shaped_buildings.removeSelection()
    with pytest.raises(ValueError, match="No building is selected in layer 'buildings'"):
        boundary_from_selected(l_shaped_buildings, "bldg_id", project=project)


def test_selection_dialog_guesses_the_id_field(l_shaped_buildings):
    from pedgis_plugin.dialogs import BoundaryFromSelectionDialog

    dialog = BoundaryFromSelectionDialog(l_shaped_buildings)
    assert dialog.id_field() == "bldg_id"
    assert dialog.hull() == "convex" and not dialog.concavity_spin.isEnabled()
    dialog.hull_combo.setCurrentIndex(1)
    assert dialog.hull() == "concave" and dialog.concavity_spin.isEnabled()
    dialog.deleteLater()


def test_boundary_from_selection_action_without_selection_warns(plugin, l_shaped_buildings, qgis_iface):
    l_shaped_buildings.removeSelection()
    qgis_iface.setActiveLayer(l_shaped_buildings)
    assert plugin.boundary_from_selection() is None
    assert any("Select buildings" in m for m in qgis_iface.messageBar().get_messages(1))
