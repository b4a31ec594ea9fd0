"""What every pedgis algorithm shares: dependency check, progress/cancel, errors, layer paths.

The algorithms stay thin: they turn Processing parameters into file paths and scenario values,
call the pedgis library and hand its outputs back to QGIS as styled layers.
"""

from __future__ import annotations

import os
import warnings

from qgis.core import (
    QgsFeatureRequest,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingUtils,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .. import deps

ICON = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons", "pedgis.svg")

#: vector formats the pedgis readers take directly; anything else (memory layers, selections,
#: PostGIS, WFS, ...) is exported by QGIS to a temporary GeoPackage first
VECTOR_FORMATS = ["gpkg", "shp", "geojson", "json", "fgb", "gml"]

_DEPENDENCIES: deps.DependencyReport | None = None

#: the plugin's "install with consent" (``(report) -> bool``), offered when an algorithm is started
#: from QGIS's window and packages are missing; None headless
INSTALL_OFFER = None
_OFFERED = False


def dependency_report(refresh: bool = False) -> deps.DependencyReport:
    """The full (importing) dependency check, done once per session."""
    global _DEPENDENCIES
    if _DEPENDENCIES is None or refresh:
        from .. import deps_folder

        _DEPENDENCIES = deps.check_dependencies(deep=True, folder=deps_folder())
    return _DEPENDENCIES


def dependencies_ready() -> tuple[bool, str]:
    """(True, "") when pedgis can run. Otherwise, the first time in a session an algorithm is
    started from QGIS's window, the plugin offers to install what is missing; then (False, the
    install message) if it is still missing."""
    global _OFFERED
    report = dependency_report()
    if not report.ok and report.installable and INSTALL_OFFER is not None and not _OFFERED:
        _OFFERED = True
        INSTALL_OFFER(report)
        report = dependency_report(refresh=True)
    return (True, "") if report.ok else (False, deps.install_message(report))


class LayerStyler(QgsProcessingLayerPostProcessorInterface):
    """Applies a pedgis style to an output layer when Processing loads it into the project.

    Processing keeps only a C++ pointer to a post-processor: the Python object must stay alive
    until the layer is loaded (in batch runs, after every algorithm has run), so all are kept in
    a class list for the session (a few hundred bytes each).
    """

    _alive: list[LayerStyler] = []

    def __init__(self, style_function):
        super().__init__()
        self.style_function = style_function

    @classmethod
    def create(cls, style_function) -> LayerStyler:
        styler = cls(style_function)
        cls._alive.append(styler)
        return styler

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        if layer is not None and layer.isValid():
            self.style_function(layer)
            layer.triggerRepaint()


class PedgisAlgorithm(QgsProcessingAlgorithm):
    """Base class: subclasses define ``NAME``, ``DISPLAY``, ``HELP``, ``initAlgorithm`` and
    :meth:`process` (what ``processAlgorithm`` runs once the dependencies are checked)."""

    NAME = ""
    DISPLAY = ""
    HELP = ""

    def tr(self, message: str) -> str:
        return QCoreApplication.translate("pedgis", message)

    def createInstance(self):  # noqa: N802
        return type(self)()

    def name(self):
        return self.NAME

    def displayName(self):  # noqa: N802
        return self.tr(self.DISPLAY)

    def shortHelpString(self):  # noqa: N802
        return self.tr(self.HELP)

    def helpUrl(self):  # noqa: N802
        return "https://github.com/pedgis/pedgis/blob/main/docs/qgis.md"

    def icon(self):
        return QIcon(ICON)

    # -- dependencies -----------------------------------------------------------------------
    def canExecute(self):  # noqa: N802
        """Called by QGIS's window (toolbox, locator, menus) before it opens the algorithm."""
        return dependencies_ready()

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        """Check the dependencies (``processing.run`` does not call :meth:`canExecute`), then
        :meth:`process`. The message of a QgsProcessingException raised here reaches the caller
        (one raised in ``prepareAlgorithm`` would be replaced by a generic one)."""
        report = dependency_report()
        ok, message = (True, "") if report.ok else (False, deps.install_message(report))
        if not ok:
            raise QgsProcessingException(message)
        return self.process(parameters, context, feedback)

    def process(self, parameters, context, feedback):
        raise NotImplementedError

    # -- progress, cancel, errors -----------------------------------------------------------
    def progress_callback(self, feedback):
        """``progress(fraction, message)`` for the library, mapped onto ``feedback``.

        Raises :class:`pedgis.errors.Cancelled` when the user pressed Cancel, which the
        library lets through its loops (and its output writer cleans up after).
        """
        from pedgis.errors import Cancelled

        last = {"message": None}

        def progress(fraction: float, message: str) -> None:
            if feedback.isCanceled():
                raise Cancelled(self.tr("Cancelled by the user."))
            feedback.setProgress(100.0 * min(max(float(fraction), 0.0), 1.0))
            if message and message != last["message"]:
                last["message"] = message
                feedback.setProgressText(message)

        return progress

    def call_library(self, function, feedback, *args, **kwargs):
        """Call a pedgis function; its warnings go to ``feedback``, its errors become
        :class:`QgsProcessingException` with the library's message (no traceback)."""
        from pedgis.errors import Cancelled, PedgisError

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = function(*args, **kwargs)
            except Cancelled as exc:
                raise QgsProcessingException(self.tr("Cancelled by the user.")) from exc
            except PedgisError as exc:
                raise QgsProcessingException(str(exc)) from exc
            finally:
                for w in caught:
                    feedback.pushWarning(f"{w.category.__name__}: {w.message}")
        return result

    # -- inputs -----------------------------------------------------------------------------
    def vector_path(self, parameters, name, context, feedback):
        """(path, layer name or None) of a vector input, honouring "selected features only".

        Files pedgis reads directly are passed as they are; other sources (memory layers,
        selections, databases, web services) are exported by QGIS to a temporary GeoPackage.
        Processing's invalid-geometry filter is switched off for that export: pedgis repairs
        invalid footprints and flags them, where the default filter would drop them silently.
        """
        if parameters.get(name) in (None, ""):
            return None, None
        context.setInvalidGeometryCheck(QgsFeatureRequest.InvalidGeometryCheck.GeometryNoCheck)
        path, layer_name = self.parameterAsCompatibleSourceLayerPathAndLayerName(
            parameters, name, context, VECTOR_FORMATS, "gpkg", feedback
        )
        if not path:
            return None, None
        return path, (layer_name or None)

    def raster_path(self, parameters, name, context):
        """Path of a raster input (a GDAL file layer), or None when not given."""
        if parameters.get(name) in (None, ""):
            return None
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            return None
        if layer.providerType() != "gdal":
            raise QgsProcessingException(
                self.tr("Raster '{name}' is not a file (provider {p}); save it as a GeoTIFF first.").format(
                    name=layer.name(), p=layer.providerType()
                )
            )
        return layer.source()

    # -- outputs ----------------------------------------------------------------------------
    def load_on_completion(self, context, uri: str, name: str, style_function, kind: str = "vector"):
        """Ask Processing to load ``uri`` into the project when the run ends, styled.

        Only the URI is handed over: the layer is opened in the main thread when Processing
        loads the results, not in the worker thread the algorithm may run in.
        """
        path = uri.split("|", 1)[0]
        if not os.path.exists(path):
            raise QgsProcessingException(self.tr("pedgis did not write '{path}'.").format(path=path))
        details = QgsProcessingContext.LayerDetails(name, context.project(), name)
        details.layerTypeHint = (
            QgsProcessingUtils.LayerHint.Raster if kind == "raster" else QgsProcessingUtils.LayerHint.Vector
        )
        details.forceName = True
        details.setPostProcessor(LayerStyler.create(style_function))
        context.addLayerToLoadOnCompletion(uri, details)


def list_gpkg_layers(path: str) -> list[str]:
    """Layer names of a GeoPackage (empty when the file is missing)."""
    if not os.path.exists(path):
        return []
    from qgis.core import QgsProviderRegistry

    meta = QgsProviderRegistry.instance().providerMetadata("ogr")
    names = []
    for sub in meta.querySublayers(path) if hasattr(meta, "querySublayers") else []:
        names.append(sub.name())
    if not names:
        from osgeo import ogr

        ds = ogr.Open(path)
        if ds is None:
            raise QgsProcessingException(f"{path}: not a GeoPackage QGIS can read.")
        names = [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())]
    return names
