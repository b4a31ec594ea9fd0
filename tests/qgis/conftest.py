"""QGIS plugin tests: Debian's python3-qgis headless through pytest-qgis.

Run with ``make test-qgis`` (QT_QPA_PLATFORM=offscreen, the venv of scripts/make-qgis-venv.sh).
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

SAMPLE = ROOT / "sample_data"


def artifacts_dir() -> Path:
    """Where screenshots go: $PEDGIS_ARTIFACTS (set by `make test-qgis`) or ./test-artifacts."""
    path = Path(os.environ.get("PEDGIS_ARTIFACTS", ROOT / "test-artifacts")) / "qgis"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def cli_output(tmp_path_factory):
    """The reference: the output folder of `pedgis run sample_data/scenario.toml` (the command
    line, in a separate process, in this venv)."""
    import subprocess

    out = tmp_path_factory.mktemp("cli") / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pedgis.cli", "run", str(SAMPLE / "scenario.toml"), "--out", str(out), "--quiet"],
        capture_output=True, text=True,
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
    import pedgis_plugin

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
