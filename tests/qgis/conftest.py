"""QGIS plugin tests: Debian's python3-qgis headless through pytest-qgis.

Run with ``make test-qgis``: Debian's /usr/bin/python3 (QT_QPA_PLATFORM=offscreen), the library's
dependencies in the folder the plugin's own installer made (``$PEDGIS_DEPS_DIR``, activated by
the plugin as in QGIS), pytest from ``.venv-qgis/tools`` (scripts/make-qgis-venv.sh).
pytest-qgis starts one QgsApplication for the session and calls exitQgis() at its end; every
layer must be released before that (the project is cleared after each test and at the end of
the session here), or QGIS segfaults on exit.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# QGIS computing raster statistics must not leave .aux.xml files beside the sample rasters
os.environ.setdefault("GDAL_PAM_ENABLED", "NO")

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_PARENT = ROOT / "qgis_plugin"
if str(PLUGIN_PARENT) not in sys.path:
    sys.path.insert(0, str(PLUGIN_PARENT))


def qgis_symbols_global() -> None:
    """Give this process the symbol scope of the QGIS application.

    The ``qgis`` executable links QGIS's libraries, and with them GDAL, GEOS, PROJ and HDF5, into
    the global symbol scope; python3 importing ``qgis.core`` keeps them local. Promoting them
    makes the wheels of the plugin's folder meet QGIS's libraries as they do inside QGIS (where,
    without the plugin's deep binding, rasterio runs on QGIS's GDAL and h5py fails to import).
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import ctypes.util

        import qgis.core  # noqa: F401 - loads libqgis_core

        ctypes.CDLL(ctypes.util.find_library("qgis_core"), mode=os.RTLD_GLOBAL | os.RTLD_NOW)


qgis_symbols_global()
import pedgis_plugin  # noqa: E402,F401 - puts the private folder ($PEDGIS_DEPS_DIR) first, as QGIS does

DEPS_DIR = os.environ.get("PEDGIS_DEPS_DIR")


def subprocess_env(**extra) -> dict:
    """The environment of a plain Python run with the library and the packages the plugin
    installed (what a user's command line would need)."""
    paths = [p for p in (DEPS_DIR, str(ROOT), os.environ.get("PYTHONPATH")) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths), **extra)

SAMPLE = ROOT / "sample_data"


def artifacts_dir() -> Path:
    """Where screenshots go: $PEDGIS_ARTIFACTS (set by `make test-qgis`) or ./test-artifacts."""
    path = Path(os.environ.get("PEDGIS_ARTIFACTS", ROOT / "test-artifacts")) / "qgis"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def cli_output(tmp_path_factory):
    """The reference: the output folder of `pedgis run sample_data/scenario.toml` (the command
    line, in a separate process, with the same packages)."""
    import subprocess

    out = tmp_path_factory.mktemp("cli") / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pedgis.cli", "run", str(SAMPLE / "scenario.toml"), "--out", str(out), "--quiet"],
        capture_output=True, text=True, env=subprocess_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(autouse=True, scope="session")
def _release_layers_before_exit(qgis_app):
    """Clear the project after the session so no layer outlives exitQgis()."""
    yield
    import gc

    from qgis.core import QgsProject

    gc.collect()  # layers kept alive by reference cycles (e.g. exception tracebacks)
    QgsProject.instance().clear()
    QgsProject.instance().removeAllMapLayers()


@pytest.fixture
def project(qgis_new_project):
    """A fresh project in EPSG:32632 (the sample district's CRS); cleared afterwards."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsProject

    project = QgsProject.instance()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:32632"))
    yield project
    import gc

    gc.collect()
    project.clear()


@pytest.fixture
def plugin(qgis_iface, qgis_processing):
    """The plugin as QGIS loads it: classFactory(iface) → initGui(); unload() afterwards."""

    qgis_iface.messageBar().clear_messages()
    instance = pedgis_plugin.classFactory(qgis_iface)
    instance.initGui()
    yield instance
    instance.unload()


LAYER_KINDS = ["shapefile", "memory_selection", "geopackage"]


def sample_buildings_input(kind: str, project, tmp_path):
    """The sample buildings as a Processing input, from one kind of QGIS layer.

    * ``shapefile``: the .shp itself;
    * ``memory_selection``: a memory copy plus five decoy buildings 3 km away, only the
      originals selected, passed with "selected features only" (the bow-tie footprint must
      survive QGIS's export of the selection);
    * ``geopackage``: a copy in a GeoPackage layer named ``edifici``.

    Layers are owned by ``project`` (released before exitQgis()).
    """
    from qgis.core import (
        QgsFeatureRequest,
        QgsProcessingFeatureSourceDefinition,
        QgsVectorFileWriter,
        QgsVectorLayer,
    )

    shp = QgsVectorLayer(str(SAMPLE / "buildings.shp"), "buildings (shapefile)", "ogr")
    assert shp.isValid()
    if kind == "shapefile":
        project.addMapLayer(shp)
        return shp
    if kind == "memory_selection":
        memory = shp.materialize(QgsFeatureRequest())
        memory.setName("buildings (memory)")
        originals = memory.allFeatureIds()
        decoys = []
        for feature in list(memory.getFeatures())[:5]:
            geom = feature.geometry()
            geom.translate(3000.0, 0.0)
            feature.setGeometry(geom)
            feature["CAD_ID"] = "X" + str(feature["CAD_ID"])
            decoys.append(feature)
        assert memory.dataProvider().addFeatures(decoys)[0]
        project.addMapLayer(memory)
        memory.selectByIds(originals)
        assert memory.featureCount() == len(originals) + 5
        assert sum(not f.geometry().isGeosValid() for f in memory.getFeatures()) >= 1  # the bow-tie
        return QgsProcessingFeatureSourceDefinition(memory.id(), selectedFeaturesOnly=True)
    if kind == "geopackage":
        tmp_path.mkdir(parents=True, exist_ok=True)
        gpkg = tmp_path / "district.gpkg"
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        options.layerName = "edifici"
        error = QgsVectorFileWriter.writeAsVectorFormatV3(shp, str(gpkg), project.transformContext(), options)
        assert error[0] == QgsVectorFileWriter.NoError, error
        layer = QgsVectorLayer(f"{gpkg}|layername=edifici", "buildings (GeoPackage)", "ogr")
        assert layer.isValid()
        project.addMapLayer(layer)
        return layer
    raise ValueError(kind)


def render_canvas(layers, extent, path, size=(1400, 1100), background="#fbfbf8"):
    """Render ``layers`` (top first) on a headless QgsMapCanvas and save it as PNG; returns the
    image and the canvas' map-to-pixel transform."""
    from qgis.core import QgsCoordinateReferenceSystem
    from qgis.gui import QgsMapCanvas
    from qgis.PyQt.QtCore import QCoreApplication, QEventLoop, QSize, QTimer
    from qgis.PyQt.QtGui import QColor

    canvas = QgsMapCanvas()  # top level: a child of a hidden window is never laid out
    try:
        canvas.resize(QSize(*size))
        canvas.show()
        QCoreApplication.processEvents()
        canvas.setCanvasColor(QColor(background))
        canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:32632"))
        canvas.setLayers(layers)
        canvas.setExtent(extent)
        loop = QEventLoop()
        canvas.mapCanvasRefreshed.connect(loop.quit)
        QTimer.singleShot(60000, loop.quit)
        canvas.refresh()
        loop.exec()
        image = canvas.grab().toImage()
        assert image.save(str(path))
        return image, canvas.getCoordinateTransform()
    finally:
        canvas.hide()
        canvas.deleteLater()
