"""Web map through processing.run: the map `pedgis map OUT --indicator ...` draws."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from conftest import SAMPLE, subprocess_env

pytestmark = pytest.mark.skipif(not (SAMPLE / "scenario.toml").exists(), reason="sample_data not merged")


def normalised(path):
    """map.html without folium's random element ids (32 hex digits)."""
    return re.sub(r"[0-9a-f]{32}", "<id>", path.read_text(encoding="utf-8"))


def test_indicators_match_the_library():
    from pedgis_plugin.algorithms.web_map import INDICATORS as PLUGIN

    from pedgis.viz.maps import BASEMAPS, INDICATORS

    assert [key for key, _ in PLUGIN] == list(INDICATORS)
    assert "osm" in BASEMAPS


@pytest.mark.parametrize("index, key", [(0, "ped_balance_kwh"), (3, "pv_kwh")])
def test_same_map_as_the_command_line(index, key, plugin, project, cli_output, tmp_path):
    from qgis import processing

    cli, alg = tmp_path / "cli", tmp_path / "alg"
    shutil.copytree(cli_output, cli)
    shutil.copytree(cli_output, alg)
    subprocess.run([sys.executable, "-m", "pedgis.viz", str(cli), "--indicator", key], check=True,
                   capture_output=True, env=subprocess_env())
    result = processing.run("pedgis:webmap", {"FOLDER": str(alg), "INDICATOR": index})
    assert result["MAP"] == str(alg / "map.html")
    assert normalised(alg / "map.html") == normalised(cli / "map.html")
    assert (alg / "report.html").is_file() and (alg / "sankey.html").is_file()
    assert "tile.openstreetmap.org" not in (alg / "map.html").read_text(encoding="utf-8")  # offline


def test_basemap_and_title(plugin, project, cli_output, tmp_path):
    from qgis import processing

    folder = tmp_path / "out"
    shutil.copytree(cli_output, folder)
    processing.run("pedgis:webmap", {"FOLDER": str(folder), "BASEMAP": True, "TITLE": "Borgo <Nuovo> & co"})
    html = (folder / "map.html").read_text(encoding="utf-8")
    assert "tile.openstreetmap.org" in html
    assert "Borgo &lt;Nuovo&gt; &amp; co" in html and "Borgo <Nuovo>" not in html  # escaped


def test_folder_without_results_is_a_clear_error(plugin, project, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match=r"not a pedgis output folder .*Fix: give a folder that `pedgis run"):
        processing.run("pedgis:webmap", {"FOLDER": str(tmp_path)})
    assert list(tmp_path.iterdir()) == []
