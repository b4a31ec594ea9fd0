"""The dependency check: every version floor (pyproject.toml's, the undeclared ones that bite and
those the installed packages declare), not just imports; one clear message, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import tomllib
from conftest import PLUGIN_PARENT, ROOT

QGIS_PYTHON = "/usr/bin/python3"


def _clean_env(deps_dir) -> dict:
    """QGIS's Python as it starts (nothing of pedgis's on the path), the plugin's private folder
    being ``deps_dir``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PEDGIS_DEPS_DIR"] = str(deps_dir)
    return env


def _debian_version(name: str) -> str:
    """The version Debian's package records in its metadata file, read as text (the reference;
    e.g. python3-plotly 5.4.1+dfsg-1 installs plotly-5.4.0.egg-info)."""
    from pathlib import Path

    site = Path("/usr/lib/python3/dist-packages")
    for info in [*site.glob(f"{name}-*.dist-info/METADATA"), *site.glob(f"{name}-*.egg-info/PKG-INFO"),
                 *site.glob(f"{name}-*.egg-info")]:
        if info.is_file():
            for line in info.read_text(encoding="utf-8").splitlines():
                if line.startswith("Version: "):
                    return line.split(": ", 1)[1].strip()
    raise AssertionError(f"no Debian metadata for {name}")


def test_requirements_match_pyproject():
    """The plugin checks and installs exactly the library's dependencies (markers included),
    plus the undeclared floors, which name no package pyproject.toml already bounds."""
    from pedgis_plugin import deps

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert list(deps.REQUIREMENTS) == pyproject
    assert deps.all_requirements() == [*pyproject, *deps.UNDECLARED_FLOORS]
    declared = {deps.Requirement.parse(r).key for r in pyproject}
    assert not declared & {deps.Requirement.parse(r).key for r in deps.UNDECLARED_FLOORS}


VERSIONS = ["0.9", "1.0.dev1", "1.0a1", "1.0a2.dev3", "1.0b2", "1.0rc1", "1.0", "1.0.0", "1.0.post1",
            "1.0.1", "1.1", "1.10", "1.2.0+local", "2!0.5", "22.2.0", "23.1.0", "23.2.0", "26.1.0",
            "1.24.2", "1.24", "2.0.0rc1", "3.0.post0"]
SPECIFIERS = [">=1.0", ">1.0", "<=1.0", "<1.0", "==1.0", "!=1.0", "~=1.0", "~=1.0.0", "==1.*", "!=1.*",
              ">=23.2", ">=1.24", ">=2.0", "<2,>=1.0", ">=1.0a1"]


def test_version_comparison_without_packaging_agrees_with_packaging(monkeypatch):
    """The small PEP 440 comparison used when QGIS's Python has no ``packaging`` gives the
    answers ``packaging`` gives (the reference), pre-releases counted as releases."""
    from packaging.specifiers import SpecifierSet
    from pedgis_plugin import deps

    monkeypatch.setattr(deps, "_packaging", lambda: None)
    for spec in SPECIFIERS:
        req = deps.Requirement.parse(f"pkg{spec}")
        for version in VERSIONS:
            expected = SpecifierSet(spec).contains(version, prereleases=True)
            assert req.accepts(version) == expected, (spec, version)
    assert deps.Requirement.parse("tomli>=2.0; python_version < '3.11'").applies() == (sys.version_info < (3, 11))
    assert deps.Requirement.parse("x; python_version >= '3.8' and sys_platform == 'linux'").applies() == (
        sys.platform == "linux")


def _check_in_qgis_python(deps_dir, before: str = "", after: str = "") -> dict:
    """The plugin's quick check in QGIS's Python (a fresh process): ``before`` runs before the
    plugin is imported (and puts ``deps_dir`` first on sys.path), ``after`` after."""
    script = (f"import json, sys\n{before}\nsys.path.insert(0, {str(PLUGIN_PARENT)!r})\n"
              f"from pedgis_plugin import deps\n{after}\n"
              f"r = deps.check_dependencies(deep=False, folder={str(deps_dir)!r})\n"
              "print(json.dumps({'problems': [p.__dict__ for p in r.problems], "
              "'message': deps.install_message(r)}))")
    proc = subprocess.run([QGIS_PYTHON, "-c", script], capture_output=True, text=True, env=_clean_env(deps_dir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_floors_are_checked_not_just_imports(tmp_path):
    """Debian 12's QGIS Python imports attrs and plotly, but too old ones: the check names the
    version found (as Debian's metadata file records it) and the floor; the missing ones are
    listed too."""
    got = _check_in_qgis_python(tmp_path / "no-folder-yet")
    kinds = {p["name"]: p for p in got["problems"]}
    assert kinds["attrs"]["kind"] == "version" and kinds["attrs"]["found"] == _debian_version("attrs")
    assert kinds["attrs"]["requirement"] == "attrs>=23.2"
    assert "No '__dict__' attribute on 'Affine' instance" in kinds["attrs"]["detail"]
    assert kinds["plotly"]["kind"] == "version" and kinds["plotly"]["found"] == _debian_version("plotly")
    for name in ("geopandas", "rasterio", "pyogrio", "pvlib", "folium", "numba"):
        assert kinds[name]["kind"] == "missing", name
    # QGIS's numpy (Debian's) is recent enough and stays: not a problem
    assert "numpy" not in kinds
    assert got["message"].startswith("pedgis needs Python packages that QGIS's Python lacks or has too old: "
                                     "geopandas, rasterio, pyogrio, pvlib, folium")
    assert "plotly: 5.4.0 in /usr/lib/python3/dist-packages; needs plotly>=5.15" in got["message"]
    assert "installer.py\" --target" in got["message"]


@pytest.mark.skipif(not os.environ.get("PEDGIS_DEPS_DIR"), reason="needs the folder of make test-qgis")
def test_old_attrs_already_loaded_needs_a_restart():
    """With the private folder active, attrs comes from it (>= 23.2, Debian's is 22.2) — unless
    Debian's attrs was imported before the folder came first: then the check says QGIS must
    restart, naming the version loaded and where from."""
    folder = os.environ["PEDGIS_DEPS_DIR"]
    fine = _check_in_qgis_python(folder, after="import attr; assert attr.__file__.startswith("
                                 f"{folder!r}), attr.__file__")
    assert fine["problems"] == []
    stale = _check_in_qgis_python(folder, before="import attr")
    restart = [p for p in stale["problems"] if p["kind"] == "restart"]
    assert [p["name"] for p in restart] == ["attrs"]
    assert restart[0]["found"] == _debian_version("attrs")
    assert restart[0]["where"].startswith("/usr/lib/python3/dist-packages/attr")
    assert stale["message"].startswith("pedgis's Python packages are installed, but QGIS must restart")


def _fake_distribution(site, name: str, version: str, requires=()):
    """A real installed-distribution record (a .dist-info with METADATA) in ``site``."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
             *[f"Requires-Dist: {r}" for r in requires]]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    (info / "top_level.txt").write_text(name.replace("-", "_") + "\n")
    (site / f"{name.replace('-', '_')}.py").write_text("")


def test_declared_floors_of_installed_packages_are_followed(tmp_path, monkeypatch):
    """A package's own declared requirement (here: b>=2 declared by a) is checked too, and the
    message says who needs it; extras and markers for other Pythons are not."""
    from pedgis_plugin import deps

    site = tmp_path / "site"
    _fake_distribution(site, "pedgis-test-a", "1.0",
                       ["pedgis-test-b>=2", "pedgis-test-c; extra == 'docs'",
                        "pedgis-test-d; python_version < '3.0'"])
    _fake_distribution(site, "pedgis-test-b", "1.5")
    monkeypatch.syspath_prepend(str(site))
    report = deps.check_dependencies(["pedgis-test-a>=1"], deep=False)
    assert [(p.name, p.kind, p.found, p.required_by) for p in report.problems] == [
        ("pedgis-test-b", "version", "1.5", "pedgis-test-a 1.0")]
    assert "pedgis-test-b: 1.5 in " in report.problems[0].describe()
    assert report.problems[0].describe().endswith("needs pedgis-test-b>=2 (for pedgis-test-a 1.0)")


def test_check_counts_any_import_failure(monkeypatch):
    """An ABI error (not an ImportError) in a compiled package counts as broken."""
    from pedgis_plugin import deps

    monkeypatch.setitem(sys.modules, "rasterio", None)  # import raises ImportError
    report = deps.check_dependencies(["numpy>=1.24", "rasterio>=1.3"], deep=False)
    assert [(p.name, p.kind) for p in report.problems] == [("rasterio", "broken")]
    assert report.numpy_version
    monkeypatch.setattr(deps.importlib, "import_module",
                        lambda name: (_ for _ in ()).throw(AttributeError("_ARRAY_API not found")))
    report = deps.check_dependencies(["rasterio>=1.3"], deep=True)
    assert report.missing == {"rasterio": "rasterio: installed but does not import: "
                                          "AttributeError: _ARRAY_API not found"}


def test_quick_check_finds_a_package_that_is_not_installed(monkeypatch):
    from pedgis_plugin import deps

    monkeypatch.setattr(deps, "REQUIREMENTS", (*deps.REQUIREMENTS, "pedgis-no-such-package>=1"))
    report = deps.check_dependencies(deep=False)
    assert [(p.name, p.kind) for p in report.problems] == [("pedgis-no-such-package", "missing")]


@pytest.fixture
def pvlib_missing(monkeypatch):
    """pvlib cannot be imported; the algorithms' cached check is reset around the test."""
    from pedgis_plugin.algorithms import base

    monkeypatch.setitem(sys.modules, "pvlib", None)
    monkeypatch.setattr(base, "_DEPENDENCIES", None)
    yield
    base._DEPENDENCIES = None


def test_missing_dependency_message_at_load_and_qgis_keeps_working(pvlib_missing, qgis_iface, qgis_processing,
                                                                    monkeypatch):
    import pedgis_plugin
    from pedgis_plugin.algorithms import base
    from qgis.core import QgsApplication
    from qgis.PyQt.QtWidgets import QPushButton

    monkeypatch.setattr(base, "_OFFERED", True)  # the install offer is tested in test_dependency_install
    bar = qgis_iface.messageBar()
    bar.clearWidgets()
    plugin = pedgis_plugin.classFactory(qgis_iface)
    plugin.initGui()  # must not raise
    try:
        assert plugin.dependency_message.startswith(
            "pedgis needs Python packages that QGIS's Python lacks or has too old: pvlib."
        )
        items = bar.items()
        assert len(items) == 1  # one message
        assert "pvlib" in items[0].text()
        assert items[0].level() == 1  # Qgis.Warning
        buttons = items[0].findChildren(QPushButton, "pedgisDependencyButton")
        assert [b.text() for b in buttons] == ["Install…"]
        # the boundary tools still work, the provider is there but its algorithms say why not
        assert plugin.toolbar.actions()[0].isEnabled()
        alg = QgsApplication.processingRegistry().createAlgorithmById("pedgis:pedbalance")
        ok, message = alg.canExecute()
        assert not ok
        assert message.splitlines()[:5] == plugin.dependency_message.splitlines()[:5]
    finally:
        plugin.unload()
        bar.clearWidgets()


def test_missing_dependency_processing_run_raises_the_message(pvlib_missing, plugin, project):
    """processing.run gives QgsProcessingException with the install message, not a traceback,
    and never opens a dialog (it may run in a worker thread or headless)."""
    from qgis import processing
    from qgis.core import QgsProcessingException, QgsVectorLayer

    layer = QgsVectorLayer("Polygon?crs=EPSG:32632&field=use:string", "b", "memory")
    project.addMapLayer(layer)  # owned by the project: released before exitQgis()
    with pytest.raises(QgsProcessingException, match=r"lacks or has too old: pvlib\.") as err:
        processing.run("pedgis:pedbalance", {"BUILDINGS": layer, "OUTPUT": "TEMPORARY_OUTPUT"})
    assert "Traceback" not in str(err.value)
    assert "Install Python packages" in str(err.value)
