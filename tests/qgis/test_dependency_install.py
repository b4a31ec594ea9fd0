"""The plugin installs what it needs, for real.

From a clean folder and QGIS's Python without any of pedgis's packages, the plugin's installer
puts them into the profile's private folder with pip; the QGIS application itself (not a Python
process importing qgis) then loads the plugin, reads a raster through rasterio/affine (Debian's
attrs 22 crashed here) and runs a PED balance equal to the command line's. Also: the wheels'
own GDAL in QGIS's process, a missing wheel, an offline install, a folder that is not the
plugin's, cancelling, and the consent dialog on first use.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEPS_DIR, PLUGIN_PARENT, ROOT, SAMPLE
from test_alg_ped_balance import assert_same_district

QGIS_PYTHON = "/usr/bin/python3"
INSTALLER = PLUGIN_PARENT / "pedgis_plugin" / "installer.py"
HERE = Path(__file__).resolve().parent


def qgis_python_env(**extra) -> dict:
    """QGIS's Python as it starts: nothing of pedgis's on the path, no private folder named."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PEDGIS_DEPS_DIR")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def profile_with_packages(tmp_path_factory):
    """A QGIS profiles folder whose default profile has the plugin (a link to the checkout) and,
    installed by the plugin's installer into an empty private folder, the packages."""
    from pedgis_plugin import deps

    # the starting point is a user's: Debian's QGIS Python has none of the GIS packages
    for module in ("geopandas", "rasterio", "pyogrio", "pvlib", "folium", "numba"):
        proc = subprocess.run([QGIS_PYTHON, "-c", f"import {module}"], capture_output=True, text=True,
                              env=qgis_python_env())
        assert proc.returncode != 0 and "No module named" in proc.stderr, module
    root = tmp_path_factory.mktemp("qgis-profiles")
    profile = root / "profiles" / "default"
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "pedgis_plugin").symlink_to(PLUGIN_PARENT / "pedgis_plugin")
    # docs/qgis.md: <profile>/python/pedgis_deps/<python>-<platform>
    folder = profile / "python" / "pedgis_deps" / deps.folder_tag()
    assert not folder.exists()
    before = python_folders()
    proc = subprocess.run([QGIS_PYTHON, str(INSTALLER), "--target", str(folder)], capture_output=True,
                          text=True, env=qgis_python_env(), timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, folder, proc, before


def python_folders() -> dict[str, list[str]]:
    """What QGIS's Python (system and user site) holds: the installer must leave it as it is."""
    code = ("import json, site, sysconfig; print(json.dumps([*site.getsitepackages(), site.getusersitepackages(), "
            "sysconfig.get_paths()['purelib']]))")
    folders = json.loads(subprocess.run([QGIS_PYTHON, "-c", code], capture_output=True, text=True, check=True,
                                        env=qgis_python_env()).stdout)
    return {f: sorted(os.listdir(f)) if os.path.isdir(f) else [] for f in folders}


def test_installer_fills_the_private_folder(profile_with_packages):
    _root, folder, proc, before = profile_with_packages
    manifest = json.loads((folder / "pedgis-deps.json").read_text(encoding="utf-8"))
    installed = {i["name"].lower(): i["version"] for i in manifest["installed"]}
    for name in ("geopandas", "rasterio", "pyogrio", "pvlib", "folium", "numba", "affine", "attrs", "plotly"):
        assert name in installed, name
    # the undeclared floor is met: attrs >= 23.2 in the folder (Debian's 22.2 stays where it is)
    assert tuple(int(x) for x in installed["attrs"].split(".")[:2]) >= (23, 2)
    assert Path("/usr/lib/python3/dist-packages/attrs-22.2.0.dist-info").is_dir()
    # QGIS's own numpy (its GDAL bindings are built against it) is not replaced
    assert "numpy" not in installed
    # pyarrow for that NumPy 1 (26 needs NumPy 2 at import without declaring it: NUMPY1_LIMITS),
    # and it imports in QGIS's Python with the folder's packages
    assert tuple(int(x) for x in installed["pyarrow"].split(".")[:1]) < (26,)
    subprocess.run([QGIS_PYTHON, "-c", "import numpy, pyarrow.parquet; assert numpy.__version__ < '2'"],
                   env={**qgis_python_env(), "PYTHONPATH": str(folder)}, check=True)
    assert manifest["python"] == QGIS_PYTHON and manifest["pins"] == "strict"
    assert "Installed into" in proc.stdout
    # nothing beside the folder but the folder itself (no staging or pending leftovers), and
    # nothing written into QGIS's Python: system site-packages and the user site as they were
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]
    assert python_folders() == before


def test_qgis_application_runs_a_balance_with_the_installed_packages(profile_with_packages, cli_output,
                                                                      tmp_path):
    """In the QGIS application: the plugin loads with no message, rasterio's affine transform
    gives QGIS's own GDAL's pixel centre, and the PED balance equals the command line's."""
    if shutil.which("qgis") is None or shutil.which("xvfb-run") is None:
        pytest.fail("the qgis application and xvfb-run are needed: run scripts/install-system-deps.sh")
    root, folder, _proc, _before = profile_with_packages
    plan = {"sample": str(SAMPLE), "out": str(tmp_path / "out"), "result": str(tmp_path / "result.json")}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    env = qgis_python_env(PEDGIS_TEST_PLAN=str(tmp_path / "plan.json"), PYTHONPATH=str(ROOT))
    env.pop("QT_QPA_PLATFORM", None)  # a real (virtual) display: QGIS's window needs a clipboard
    proc = subprocess.run(
        ["xvfb-run", "-a", "qgis", "--nologo", "--noversioncheck", "--profiles-path", str(root),
         "--code", str(HERE / "run_in_qgis.py")],
        capture_output=True, text=True, env=env, timeout=900)
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert "error" not in result, result.get("error")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]  # and no crash at exit
    assert result["plugin_loaded"] and result["plugin_started"] and result["unloaded"]
    assert result["dependency_message"] is None
    assert result["attrs"][1].startswith(str(folder)) and result["rasterio_file"].startswith(str(folder))
    assert result["rasterio_xy"] == pytest.approx(result["gdal_xy"], abs=1e-9)
    # inside QGIS, rasterio runs on the GDAL its wheel ships, not on QGIS's own
    assert result["rasterio_gdal"] == bundled_version(folder / "rasterio.libs", "libgdal")
    assert result["rasterio_gdal"] != result["qgis_gdal"]
    expected = json.loads((cli_output / "district.json").read_text(encoding="utf-8"))
    got = json.loads((tmp_path / "out" / "district.json").read_text(encoding="utf-8"))
    assert_same_district(got, expected)
    assert result["ped_balance_kwh"] == pytest.approx(expected["ped_balance_kwh"])


def bundled_version(libs: Path, library: str) -> str:
    """The version of a library a Linux wheel ships, from its file name
    (e.g. rasterio.libs/libgdal-c8c9c467.so.36.3.10.3 → 3.10.3)."""
    names = [p.name for p in libs.iterdir() if p.name.startswith(library + "-")]
    assert len(names) == 1, names
    return ".".join(names[0].split(".so.", 1)[1].split(".")[1:])


@pytest.mark.skipif(not DEPS_DIR, reason="needs the folder of make test-qgis")
def test_wheels_use_their_own_libraries_in_qgis_symbol_scope():
    """This process has QGIS's libraries in its global symbol scope, as the QGIS application has
    (conftest). The plugin loads its packages' compiled modules with deep binding: rasterio runs
    on the GDAL its wheel ships and h5py (pvlib's) imports. Without it (a plain folder on
    sys.path) rasterio would run on QGIS's GDAL and h5py would fail."""
    import h5py
    import rasterio
    from osgeo import gdal

    assert rasterio.__file__.startswith(DEPS_DIR) and h5py.__file__.startswith(DEPS_DIR)
    assert rasterio.__gdal_version__ == bundled_version(Path(DEPS_DIR) / "rasterio.libs", "libgdal")
    assert rasterio.__gdal_version__ != gdal.__version__  # QGIS's own GDAL (Debian's)
    without = subprocess.run(
        [QGIS_PYTHON, "-c",
         "import ctypes, ctypes.util, os, qgis.core; "
         "ctypes.CDLL(ctypes.util.find_library('qgis_core'), mode=os.RTLD_GLOBAL | os.RTLD_NOW); "
         "import rasterio; print(rasterio.__gdal_version__); import h5py"],
        capture_output=True, text=True, env=qgis_python_env(PYTHONPATH=DEPS_DIR, QT_QPA_PLATFORM="offscreen"))
    assert without.stdout.split() == [gdal.__version__]
    assert "Not a datatype" in without.stderr


def forget(package: str) -> None:
    """Drop a package and its submodules from sys.modules (tests import from temporary folders)."""
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def small_wheels(tmp_path_factory):
    """A folder with the wheel of a small package pedgis does not use (toolz), and one with only
    its source archive (a package without a wheel)."""
    root = tmp_path_factory.mktemp("wheels")
    for kind, flag in (("wheels", "--only-binary"), ("sdists", "--no-binary")):
        subprocess.run([QGIS_PYTHON, "-m", "pip", "download", "--quiet", "--no-deps", flag, ":all:", "-d",
                        str(root / kind), "toolz==1.0.0"], check=True, capture_output=True, env=qgis_python_env())
    return root


def test_offline_install_loads_without_restart(small_wheels, tmp_path):
    """``--no-index --find-links`` (the dialog's offline folder): installed, and importable at
    once in this running process."""
    from pedgis_plugin import deps, installer

    folder = tmp_path / "deps"
    seen = []
    result = installer.install(str(folder), ["toolz>=0.12"], python=QGIS_PYTHON,
                               pip_args=["--no-index", "--find-links", str(small_wheels / "wheels")],
                               progress=lambda fraction, text: seen.append((fraction, text)))
    assert result.installed == [("toolz", "1.0.0")] and not result.pending
    fractions = [f for f, _t in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(t.startswith("Downloading 1 of 1: ") and "toolz" in t for _f, t in seen)
    assert "toolz" not in sys.modules
    try:
        assert deps.activate(str(folder))
        import toolz

        assert toolz.__file__.startswith(str(folder)) and toolz.__version__ == "1.0.0"
    finally:
        deps.deactivate(str(folder))
        forget("toolz")


def test_a_missing_wheel_names_the_package_and_what_to_do(small_wheels, tmp_path):
    from pedgis_plugin import installer

    folder = tmp_path / "deps"
    with pytest.raises(installer.InstallError) as err:
        installer.install(str(folder), ["toolz>=0.12"], python=QGIS_PYTHON,
                          pip_args=["--no-index", "--find-links", str(small_wheels / "sdists")])
    text = str(err.value)
    assert text.startswith("No wheel of toolz fits this QGIS's Python 3.11 on linux-x86_64")
    assert "pedgis needs toolz>=0.12" in text and "https://pypi.org/project/toolz/#files" in text
    assert "python3-toolz" in text and "Offline" in text
    # versions exist, but none recent enough
    with pytest.raises(installer.InstallError, match=r"No wheel of toolz .* only these versions: 1\.0\.0"):
        installer.install(str(folder), ["toolz>=9"], python=QGIS_PYTHON,
                          pip_args=["--no-index", "--find-links", str(small_wheels / "wheels")])
    assert not folder.exists() and list(tmp_path.iterdir()) == []  # nothing left behind


def test_a_folder_that_is_not_the_plugins_is_never_replaced(tmp_path):
    from pedgis_plugin import installer

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(installer.InstallError, match="was not written by pedgis's installer"):
        installer.install(str(folder), ["toolz>=0.12"], python=QGIS_PYTHON)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_cancel_changes_nothing(small_wheels, tmp_path):
    from pedgis_plugin import installer

    folder = tmp_path / "deps"
    calls = []
    with pytest.raises(installer.InstallCancelled):
        installer.install(str(folder), ["toolz>=0.12"], python=QGIS_PYTHON,
                          pip_args=["--no-index", "--find-links", str(small_wheels / "wheels")],
                          progress=lambda f, t: calls.append(t), cancelled=lambda: len(calls) > 2)
    assert list(tmp_path.iterdir()) == []


def test_a_pending_install_replaces_the_folder_at_the_next_start(tmp_path):
    """When the folder was in use (Windows), the complete install waits beside it and takes its
    place when the plugin next starts; an incomplete one (no manifest) never does."""
    from pedgis_plugin import deps

    folder = tmp_path / "deps"
    pending = Path(deps.pending_folder(str(folder)))
    for path, text in ((folder, "old"), (pending, "new")):
        path.mkdir()
        (path / deps.MANIFEST).write_text("{}")
        (path / "which.txt").write_text(text)
    (tmp_path / "deps.old-12345").mkdir()  # a replaced copy an earlier start could not delete
    try:
        assert deps.activate(str(folder))
        assert (folder / "which.txt").read_text() == "new" and not pending.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["deps"]
        pending.mkdir()
        (pending / "which.txt").write_text("half")
        assert deps.activate(str(folder))
        assert (folder / "which.txt").read_text() == "new"
    finally:
        deps.deactivate(str(folder))


def test_first_use_offers_the_install_and_it_loads_without_restart(small_wheels, tmp_path, monkeypatch,
                                                                  qgis_iface, qgis_processing):
    """Starting an algorithm from QGIS's window with a package missing opens the consent dialog
    (once per session); with consent and an offline wheel folder the progress dialog runs pip and
    the algorithms are ready without a restart. Here the requirements are one small package."""
    import pedgis_plugin
    from pedgis_plugin import deps
    from pedgis_plugin.algorithms import base
    from pedgis_plugin.dialogs import InstallDependenciesDialog
    from qgis.core import Qgis, QgsApplication
    from qgis.PyQt.QtCore import QTimer
    from qgis.PyQt.QtWidgets import QApplication, QPlainTextEdit

    folder = tmp_path / "deps"
    monkeypatch.setenv("PEDGIS_DEPS_DIR", str(folder))
    monkeypatch.setattr(deps, "REQUIREMENTS", ("toolz>=0.12",))
    monkeypatch.setattr(deps, "UNDECLARED_FLOORS", {})
    monkeypatch.setattr(deps, "this_python", lambda: QGIS_PYTHON)
    monkeypatch.setattr(base, "_DEPENDENCIES", None)
    monkeypatch.setattr(base, "_OFFERED", False)
    shown = []

    def answer(consent: bool):
        dialogs = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, InstallDependenciesDialog) and w.isVisible()]
        if not dialogs:
            QTimer.singleShot(50, lambda: answer(consent))
            return
        dialog = dialogs[0]
        shown.append(dialog.findChild(QPlainTextEdit).toPlainText())
        if consent:
            dialog.offline.setChecked(True)
            dialog.wheels.setText(str(small_wheels / "wheels"))
            dialog.accept()
        else:
            dialog.reject()

    plugin = pedgis_plugin.classFactory(qgis_iface)
    plugin.initGui()
    try:
        alg = QgsApplication.processingRegistry().createAlgorithmById("pedgis:floorareas")
        QTimer.singleShot(0, lambda: answer(consent=False))
        ok, message = alg.canExecute()
        assert not ok and "toolz" in message
        assert shown == ["toolz: not installed; pedgis needs toolz>=0.12"]
        assert alg.canExecute()[0] is False and len(shown) == 1  # not asked twice
        QTimer.singleShot(0, lambda: answer(consent=True))
        assert plugin.install_dependencies() is True
        assert len(shown) == 2
        assert alg.canExecute() == (True, "")
        import toolz

        assert toolz.__file__.startswith(str(folder))
        success = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Success)
        assert any("Installed 1 Python packages" in text for text in success), success
    finally:
        plugin.unload()
        qgis_iface.messageBar().clearWidgets()
        deps.deactivate(str(folder))
        forget("toolz")
        base._DEPENDENCIES = None


def test_installer_command_line_lists_the_requirements():
    from pedgis_plugin import deps

    proc = subprocess.run([QGIS_PYTHON, str(INSTALLER), "--list"], capture_output=True, text=True,
                          env=qgis_python_env(), check=True)
    assert proc.stdout.splitlines() == deps.all_requirements()
    proc = subprocess.run([QGIS_PYTHON, str(INSTALLER)], capture_output=True, text=True, env=qgis_python_env())
    assert proc.returncode == 2 and "--target is required" in proc.stderr
    assert re.search(r"--find-links DIR", subprocess.run([QGIS_PYTHON, str(INSTALLER), "--help"],
                                                         capture_output=True, text=True).stdout)
