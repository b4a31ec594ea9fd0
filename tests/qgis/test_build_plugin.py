"""`make plugin`: the zip QGIS's "Install from ZIP" accepts, carrying the pedgis library, and
that installs into a clean profile folder and loads."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_plugin.py"), "--out", str(out)],
                          capture_output=True, text=True, check=True)
    zips = list(out.glob("pedgis_plugin-*.zip"))
    assert len(zips) == 1, proc.stdout + proc.stderr
    return zips[0]


def test_zip_layout(plugin_zip):
    with zipfile.ZipFile(plugin_zip) as zf:
        names = zf.namelist()
        meta = configparser.ConfigParser(interpolation=None)
        meta.read_string(zf.read("pedgis_plugin/metadata.txt").decode("utf-8"))
    # one top folder, a valid Python package name (what QGIS and plugins.qgis.org require)
    assert {n.split("/")[0] for n in names} == {"pedgis_plugin"}
    assert [n for n in names if n.endswith("metadata.txt")] == ["pedgis_plugin/metadata.txt"]
    for required in ("__init__.py", "metadata.txt", "LICENSE", "provider.py", "plugin.py", "deps.py", "installer.py",
                     meta["general"]["icon"]):
        assert f"pedgis_plugin/{required}" in names
    # the library, with every module of the checkout, and nothing compiled or cached
    library = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pedgis").rglob("*.py")
                     if "__pycache__" not in p.parts)
    for module in library:
        assert f"pedgis_plugin/libs/{module}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".so")) or "/tests/" in n]
    assert plugin_zip.name == f"pedgis_plugin-{meta['general']['version']}.zip"


def test_build_is_reproducible(plugin_zip, tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_plugin.py"), "--out", str(tmp_path)],
                   capture_output=True, check=True)
    again = tmp_path / plugin_zip.name
    assert again.read_bytes() == plugin_zip.read_bytes()


def test_version_mismatch_is_an_error(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_plugin
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    monkeypatch.setattr(build_plugin, "metadata_version", lambda: "9.9.9")
    with pytest.raises(build_plugin.BuildError, match=r"version=9\.9\.9 but pedgis.__version__ is"):
        build_plugin.build(tmp_path)
    assert build_plugin.main(["--out", str(tmp_path)]) == 2


def test_installs_into_a_clean_profile_and_loads(plugin_zip, tmp_path):
    profile_root = tmp_path / "qgis-config"
    profile_root.mkdir()
    env = dict(os.environ, QGIS_CUSTOM_CONFIG_PATH=str(profile_root), QT_QPA_PLATFORM="offscreen")
    # pyplugin_installer and processing, as inside QGIS
    env["PYTHONPATH"] = "/usr/share/qgis/python:/usr/share/qgis/python/plugins"
    args = [str(plugin_zip)]
    if (SAMPLE / "scenario.toml").exists():
        args += [str(SAMPLE), str(tmp_path)]
    proc = subprocess.run([sys.executable, str(HERE / "install_and_load.py"), *args],
                          capture_output=True, text=True, env=env, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    plugin_dir = Path(result["settings_dir"]) / "python" / "plugins" / "pedgis_plugin"
    assert Path(result["settings_dir"]).resolve().is_relative_to(profile_root.resolve())
    assert result["available"] and result["loaded"] and result["started"]
    # the plugin and the library it runs are the installed copies, not the checkout
    assert Path(result["plugin_file"]).resolve() == (plugin_dir / "__init__.py").resolve()
    assert Path(result["pedgis_file"]).resolve() == (plugin_dir / "libs" / "pedgis" / "__init__.py").resolve()
    assert "pedgis:pedbalance" in result["algorithms"]
    assert result["dependency_message"] is None and result["warnings"] == []
    assert result["unloaded"] and not result["provider_after_unload"]
    if len(args) > 1:  # the installed copy computes: Floor areas on the sample district
        assert result["n_included"] > 0
        assert result["modules_outside_plugin"] == []  # every pedgis module came from the zip
