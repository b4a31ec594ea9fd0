"""A missing Python package gives one clear message with install commands, never a traceback."""

from __future__ import annotations

import re
import sys

import pytest
import tomllib
from conftest import ROOT


def _pyproject_requirements() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    out = {}
    for req in deps:
        req = req.split(";")[0].strip()
        if "python_version" in req:
            continue
        name = re.split(r"[<>=!~ ]", req, maxsplit=1)[0]
        out[name.lower()] = req
    return out


def test_requirements_match_pyproject():
    """The plugin asks users to install exactly the library's dependencies."""
    from pedgis_plugin import deps

    listed = {re.split(r"[<>=!~ ]", r, maxsplit=1)[0].lower(): r for r in deps.REQUIREMENTS.values()}
    expected = {k: v for k, v in _pyproject_requirements().items() if k != "tomli"}
    assert listed == expected


def test_install_message_names_the_package_and_the_commands():
    from pedgis_plugin import deps

    report = deps.DependencyReport(missing={"pvlib": "ModuleNotFoundError: No module named 'pvlib'"},
                                   numpy_version="1.24.2")
    text = deps.install_message(report)
    assert text.startswith("pedgis needs Python packages that QGIS's Python cannot import: pvlib.")
    assert "Debian / Ubuntu" in text and "Windows" in text and "OSGeo4W Shell" in text and "macOS" in text
    # QGIS's NumPy is pinned so pip does not replace the one QGIS's GDAL is built against
    assert '"numpy==1.24.2"' in text
    assert "python3 -m pip install --user" in text
    assert "python -m pip install" in text
    assert "/Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install" in text
    for req in deps.REQUIREMENTS.values():
        if not req.startswith("numpy"):
            assert f'"{req}"' in text
    assert "No module named 'pvlib'" in text


def test_check_counts_any_import_failure(monkeypatch):
    """An ABI error (not an ImportError) in a compiled package counts as missing."""
    from pedgis_plugin import deps

    class Broken:
        def __getattr__(self, name):
            raise AttributeError("_ARRAY_API not found")

    monkeypatch.setitem(sys.modules, "rasterio", None)  # import raises ImportError
    report = deps.check_dependencies(["numpy", "rasterio"], deep=False)
    assert set(report.missing) == {"rasterio"}
    assert report.numpy_version
    monkeypatch.setitem(sys.modules, "pedgis_fake_broken", Broken())
    monkeypatch.setattr(deps.importlib, "import_module",
                        lambda name: (_ for _ in ()).throw(AttributeError("_ARRAY_API not found")))
    report = deps.check_dependencies(["rasterio"], deep=True)
    assert report.missing == {"rasterio": "AttributeError: _ARRAY_API not found"}


def test_quick_check_finds_a_package_that_is_not_installed(monkeypatch):
    from pedgis_plugin import deps

    monkeypatch.setitem(deps.REQUIREMENTS, "pedgis_no_such_package", "pedgis-no-such-package>=1")
    report = deps.check_dependencies(deep=False)
    assert list(report.missing) == ["pedgis_no_such_package"]


@pytest.fixture
def pvlib_missing(monkeypatch):
    """pvlib cannot be imported; the algorithms' cached check is reset around the test."""
    from pedgis_plugin.algorithms import base

    monkeypatch.setitem(sys.modules, "pvlib", None)
    monkeypatch.setattr(base, "_DEPENDENCIES", None)
    yield
    base._DEPENDENCIES = None


def test_missing_dependency_message_at_load_and_qgis_keeps_working(pvlib_missing, qgis_iface, qgis_processing):
    import pedgis_plugin
    from qgis.core import QgsApplication

    bar = qgis_iface.messageBar()
    bar.clearWidgets()
    plugin = pedgis_plugin.classFactory(qgis_iface)
    plugin.initGui()  # must not raise
    try:
        assert plugin.dependency_message.startswith(
            "pedgis needs Python packages that QGIS's Python cannot import: pvlib."
        )
        items = bar.items()
        assert len(items) == 1  # one message
        assert "pvlib" in items[0].text()
        assert items[0].level() == 1  # Qgis.Warning
        # the boundary tools still work, the provider is there but its algorithms say why not
        assert plugin.toolbar.actions()[0].isEnabled()
        alg = QgsApplication.processingRegistry().createAlgorithmById("pedgis:pedbalance")
        ok, message = alg.canExecute()
        assert not ok
        assert message.splitlines()[:12] == plugin.dependency_message.splitlines()[:12]
    finally:
        plugin.unload()
        bar.clearWidgets()


def test_missing_dependency_processing_run_raises_the_message(pvlib_missing, plugin, project):
    """processing.run gives QgsProcessingException with the install message, not a traceback."""
    from qgis import processing
    from qgis.core import QgsProcessingException, QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:32632&field=use:string", "b", "memory")
    project.addMapLayer(layer)  # owned by the project: released before exitQgis()
    with pytest.raises(QgsProcessingException, match=r"cannot import: pvlib\.") as err:
        processing.run("pedgis:pedbalance", {"BUILDINGS": layer, "OUTPUT": "TEMPORARY_OUTPUT"})
    assert "Traceback" not in str(err.value)
    assert "OSGeo4W Shell" in str(err.value)
