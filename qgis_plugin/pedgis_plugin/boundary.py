"""District boundaries drawn in QGIS (paper §2.1, Fig. 3).

Two ways to make the boundary the PED balance algorithm uses by default:

* :class:`DrawBoundaryTool` — a map tool: left clicks add vertices, a right click (or Enter)
  closes the polygon, Backspace removes the last vertex, Esc starts over. The polygon is a
  *geographical* boundary.
* :func:`boundary_from_selected` — the selected buildings of a layer: their ids (a *functional*
  boundary, e.g. the members of a heat network) and their convex or concave hull as the
  geographical polygon.

Both write into one boundary layer per project (:func:`boundary_layer`), a memory layer created
on first use in the project's CRS and found again through a custom layer property.

Only the QGIS API is used here (and shapely, when present, for concave hulls on QGIS < 3.28), so
the tools work even when the pedgis library's dependencies are missing.
"""

from __future__ import annotations

from qgis.core import (
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureRequest,
    QgsField,
    QgsFillSymbol,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.gui import QgsMapTool, QgsRubberBand
from qgis.PyQt.QtCore import QCoreApplication, QMetaType, Qt, QVariant, pyqtSignal
from qgis.PyQt.QtGui import QColor

#: custom layer property marking the project's PED boundary layer
BOUNDARY_PROPERTY = "pedgis/boundary_layer"

GEOGRAPHICAL = "geographical"
FUNCTIONAL = "functional"
HULLS = ("convex", "concave")


def tr(message: str) -> str:
    return QCoreApplication.translate("pedgis", message)


def _string_field(name: str, length: int = 0) -> QgsField:
    try:  # QGIS >= 3.38 prefers QMetaType
        return QgsField(name, QMetaType.Type.QString, len=length)
    except TypeError:
        return QgsField(name, QVariant.String, len=length)


def find_boundary_layer(project: QgsProject | None = None) -> QgsVectorLayer | None:
    """The project's PED boundary layer, or None when none was made yet."""
    project = project or QgsProject.instance()
    for layer in project.mapLayers().values():
        if isinstance(layer, QgsVectorLayer) and layer.customProperty(BOUNDARY_PROPERTY):
            return layer
    return None


def style_boundary_layer(layer: QgsVectorLayer) -> None:
    """No fill, a dark dashed outline: the boundary never hides the buildings below it."""
    symbol = QgsFillSymbol.createSimple(
        {
            "color": "0,0,0,0",
            "style": "no",
            "outline_color": "35,35,35,255",
            "outline_width": "0.8",
            "outline_style": "dash",
            "joinstyle": "round",
        }
    )
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))


def boundary_layer(project: QgsProject | None = None, create: bool = True) -> QgsVectorLayer | None:
    """The project's PED boundary layer, created in the project's CRS on first use.

    Fields: ``name``, ``boundary_type`` (``geographical`` or ``functional``),
    ``building_ids`` (``;``-separated, functional boundaries), ``id_field`` and ``source``
    (the buildings layer the ids come from), ``hull``.
    """
    project = project or QgsProject.instance()
    layer = find_boundary_layer(project)
    if layer is not None or not create:
        return layer
    layer = QgsVectorLayer("MultiPolygon", tr("PED boundary"), "memory")
    layer.setCrs(project.crs())
    layer.dataProvider().addAttributes(
        [
            _string_field("name"),
            _string_field("boundary_type"),
            _string_field("building_ids"),
            _string_field("id_field"),
            _string_field("source"),
            _string_field("hull"),
        ]
    )
    layer.updateFields()
    layer.setCustomProperty(BOUNDARY_PROPERTY, True)
    style_boundary_layer(layer)
    project.addMapLayer(layer)
    return layer


def add_boundary(
    geometry: QgsGeometry,
    crs,
    *,
    boundary_type: str = GEOGRAPHICAL,
    name: str = "",
    building_ids=(),
    id_field: str = "",
    source: str = "",
    hull: str = "",
    project: QgsProject | None = None,
) -> QgsFeature:
    """Add a polygon (given in ``crs``) to the boundary layer; returns the stored feature."""
    project = project or QgsProject.instance()
    layer = boundary_layer(project)
    geom = QgsGeometry(geometry)
    if crs.isValid() and crs != layer.crs():
        geom.transform(QgsCoordinateTransform(crs, layer.crs(), project))
    if not geom.isGeosValid():
        geom = geom.makeValid()
    geom.convertToMultiType()
    feature = QgsFeature(layer.fields())
    feature.setGeometry(geom)
    n = layer.featureCount() + 1
    feature["name"] = name or tr("Boundary {n}").format(n=n)
    feature["boundary_type"] = boundary_type
    feature["building_ids"] = ";".join(str(i) for i in building_ids)
    feature["id_field"] = id_field
    feature["source"] = source
    feature["hull"] = hull
    ok, added = layer.dataProvider().addFeatures([feature])
    if not ok:
        raise RuntimeError(tr("Could not add the polygon to the boundary layer."))
    layer.updateExtents()
    layer.triggerRepaint()
    return added[0]


def hull_of(geometries, hull: str = "convex", concavity: float = 0.3) -> QgsGeometry:
    """The convex or concave hull of building footprints, always covering every footprint.

    Parameters
    ----------
    geometries : footprints (QgsGeometry), in one CRS
    hull : ``convex`` or ``concave``
    concavity : for ``concave``: 0 (tightest) .. 1 (convex) — the ratio of GEOS's concave hull
        (``QgsGeometry.concaveHull`` on QGIS ≥ 3.28, else shapely's ``concave_hull``)

    Notes
    -----
    A concave hull of the footprint vertices can cut corners of footprints; it is unioned with
    each footprint's convex hull so every building (and its centroid) lies inside.
    """
    if hull not in HULLS:
        raise ValueError(tr("hull must be 'convex' or 'concave', not {hull!r}").format(hull=hull))
    geoms = [QgsGeometry(g) for g in geometries if g is not None and not g.isEmpty()]
    if not geoms:
        raise ValueError(tr("No building geometries to make a boundary from."))
    collected = QgsGeometry.collectGeometry(geoms)
    if hull == "convex":
        return collected.convexHull()
    if hasattr(QgsGeometry, "concaveHull"):
        shape = collected.concaveHull(concavity, False)
    else:
        import shapely
        import shapely.wkb

        shp = shapely.wkb.loads(bytes(collected.asWkb()))
        shape = QgsGeometry.fromWkt(shapely.concave_hull(shp, ratio=concavity).wkt)
    parts = [shape] + [g.convexHull() for g in geoms]
    return QgsGeometry.unaryUnion(parts)


def boundary_from_selected(
    layer: QgsVectorLayer,
    id_field: str,
    hull: str = "convex",
    concavity: float = 0.3,
    project: QgsProject | None = None,
) -> QgsFeature:
    """A functional boundary from the selected buildings of ``layer``.

    The feature stores the selected ids (``building_ids``) and their hull as the polygon, so the
    PED balance can use either definition.
    """
    if layer.selectedFeatureCount() == 0:
        raise ValueError(
            tr("No building is selected in layer '{name}'. Select the district's buildings first.").format(
                name=layer.name()
            )
        )
    if layer.fields().indexOf(id_field) < 0:
        raise ValueError(
            tr("Layer '{name}' has no field '{field}'.").format(name=layer.name(), field=id_field)
        )
    ids, geoms = [], []
    request = QgsFeatureRequest().setFilterFids(layer.selectedFeatureIds())
    for feature in layer.getFeatures(request):
        ids.append(feature[id_field])
        if feature.hasGeometry():
            geoms.append(feature.geometry())
    shape = hull_of(geoms, hull, concavity)
    return add_boundary(
        shape,
        layer.crs(),
        boundary_type=FUNCTIONAL,
        building_ids=ids,
        id_field=id_field,
        source=layer.source(),
        hull=hull,
        name=tr("{n} selected buildings of {layer}").format(n=len(ids), layer=layer.name()),
        project=project,
    )


class DrawBoundaryTool(QgsMapTool):
    """Draw a polygon on the map canvas into the PED boundary layer.

    Left click: add a vertex (snapped when snapping is on). Right click or Enter: close the
    polygon (at least three vertices). Backspace: remove the last vertex. Esc: start over.
    """

    boundaryCreated = pyqtSignal(QgsFeature)  # noqa: N815 (Qt naming)
    message = pyqtSignal(str)

    def __init__(self, canvas, project: QgsProject | None = None):
        super().__init__(canvas)
        self._project = project
        self.points: list[QgsPointXY] = []
        self.rubber = QgsRubberBand(canvas, QgsWkbTypes.GeometryType.PolygonGeometry)
        self.rubber.setStrokeColor(QColor(200, 40, 40, 220))
        self.rubber.setFillColor(QColor(200, 40, 40, 50))
        self.rubber.setWidth(2)
        self.setCursor(Qt.CursorShape.CrossCursor)

    # -- geometry ---------------------------------------------------------------------------
    def _redraw(self, moving: QgsPointXY | None = None) -> None:
        pts = list(self.points) + ([moving] if moving is not None else [])
        self.rubber.reset(QgsWkbTypes.GeometryType.PolygonGeometry)
        for i, p in enumerate(pts):
            self.rubber.addPoint(p, i == len(pts) - 1)

    def reset(self) -> None:
        self.points = []
        self.rubber.reset(QgsWkbTypes.GeometryType.PolygonGeometry)

    def finish(self) -> QgsFeature | None:
        """Close the polygon and store it; returns the new feature (None when too few points)."""
        if len(self.points) < 3:
            self.message.emit(tr("A boundary needs at least three vertices; keep clicking."))
            return None
        geometry = QgsGeometry.fromPolygonXY([self.points + [self.points[0]]])
        crs = self.canvas().mapSettings().destinationCrs()
        feature = add_boundary(geometry, crs, boundary_type=GEOGRAPHICAL, project=self._project)
        self.reset()
        self.boundaryCreated.emit(feature)
        return feature

    # -- events -----------------------------------------------------------------------------
    def canvasMoveEvent(self, event):  # noqa: N802
        if self.points:
            self._redraw(event.snapPoint())

    def canvasReleaseEvent(self, event):  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.points.append(QgsPointXY(event.snapPoint()))
            self._redraw()
        elif event.button() == Qt.MouseButton.RightButton:
            self.finish()

    def keyPressEvent(self, event):  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Escape:
            self.reset()
        elif key == Qt.Key.Key_Backspace and self.points:
            self.points.pop()
            self._redraw()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish()
        else:
            event.ignore()
            return
        event.accept()

    def deactivate(self):
        self.reset()
        super().deactivate()

    def remove(self) -> None:
        """Remove the rubber band from the canvas (plugin unload)."""
        self.reset()
        scene = self.canvas().scene() if self.canvas() else None
        if scene is not None:
            scene.removeItem(self.rubber)
