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
