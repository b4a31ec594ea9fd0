"""Rooftop PV potential through processing.run: what `pedgis pv` computes, as styled layers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import (
    LAYER_KINDS,
    SAMPLE,
    artifacts_dir,
    render_canvas,
    sample_buildings_input,
    subprocess_env,
)

pytestmark = pytest.mark.skipif(not (SAMPLE / "dsm.tif").exists(), reason="sample DSM not merged")

WEATHER = SAMPLE / "weather" / "pvgis_tmy_45N_8E.epw"
#: a coarser horizon (12 sectors, 60 m search) keeps the test fast; both sides use it
FAST = "[solar]\nn_sectors = 12\nmax_distance_m = 60.0\n"


@pytest.fixture(scope="module")
def pv_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("pvcfg") / "solar.toml"
    path.write_text(FAST, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cli_pv(pv_config, tmp_path_factory):
    """`pedgis pv` on the sample district (the reference): pv.json and the buildings layer."""
    import geopandas as gpd

    out = tmp_path_factory.mktemp("clipv") / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pedgis.cli", "pv", "--buildings", str(SAMPLE / "buildings.shp"), "--id-column", "CAD_ID",
         "--dsm", str(SAMPLE / "dsm.tif"), "--dtm", str(SAMPLE / "dtm.tif"), "--weather", str(WEATHER),
         "--config", str(pv_config), "--out", str(out), "--quiet"],
        capture_output=True, text=True, env=subprocess_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "pv.json").read_text(encoding="utf-8"))
    return summary, gpd.read_file(out / "buildings.gpkg", layer="buildings")


def rasters(project):
    from qgis.core import QgsRasterLayer

    dsm = QgsRasterLayer(str(SAMPLE / "dsm.tif"), "dsm")
    dtm = QgsRasterLayer(str(SAMPLE / "dtm.tif"), "dtm")
    assert dsm.isValid() and dtm.isValid()
    project.addMapLayers([dsm, dtm])
    return dsm, dtm


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_same_potential_as_the_command_line(kind, plugin, project, cli_pv, pv_config, tmp_path):
    import geopandas as gpd
    from qgis import processing

    expected, expected_buildings = cli_pv
    dsm, dtm = rasters(project)
    result = processing.run("pedgis:rooftoppv", {
        "BUILDINGS": sample_buildings_input(kind, project, tmp_path / "in"), "ID_FIELD": "CAD_ID",
        "DSM": dsm, "DTM": dtm, "WEATHER": str(WEATHER), "SCENARIO": str(pv_config),
        "OUTPUT": str(tmp_path / "out")})
    got = json.loads((tmp_path / "out" / "pv.json").read_text(encoding="utf-8"))
    for key in ("n_buildings", "n_with_estimate"):
        assert got[key] == expected[key], key
    for key in ("pv_area_m2", "pv_kwp", "pv_kwh"):
        assert got[key] == pytest.approx(expected[key], rel=1e-9), key
    assert result["PV_KWH"] == pytest.approx(expected["pv_kwh"], rel=1e-9)
    per_building = gpd.read_file(tmp_path / "out" / "buildings.gpkg", layer="buildings")
    a = per_building.set_index("building_id")["pv_kwh"].sort_index()
    b = expected_buildings.set_index("building_id")["pv_kwh"].sort_index()
    assert list(a.index) == list(b.index)
    assert a.to_numpy() == pytest.approx(b.to_numpy(), rel=1e-9, nan_ok=True)
    assert (tmp_path / "out" / "irradiation.tif").is_file()


def test_outputs_loaded_styled(plugin, project, pv_config, tmp_path):
    from qgis import processing
    from qgis.core import QgsRuleBasedRenderer, QgsSingleBandPseudoColorRenderer

    dsm, dtm = rasters(project)
    processing.runAndLoadResults("pedgis:rooftoppv", {
        "BUILDINGS": sample_buildings_input("shapefile", project, tmp_path), "ID_FIELD": "CAD_ID",
        "DSM": dsm, "WEATHER": str(WEATHER), "SCENARIO": str(pv_config), "OUTPUT": str(tmp_path / "out")})
    names = {lyr.name(): lyr for lyr in project.mapLayers().values()}
    raster = names["Roof irradiation [kWh/m²·a]"]
    assert isinstance(raster.renderer(), QgsSingleBandPseudoColorRenderer)
    assert isinstance(names["Roof segments (irradiation)"].renderer(), QgsRuleBasedRenderer)
    assert isinstance(names["PV potential per building"].renderer(), QgsRuleBasedRenderer)
    tree = [n.layer() for n in project.layerTreeRoot().findLayers() if n.isVisible()]
    order = [lyr.name() for lyr in tree]
    assert order.index("Roof segments (irradiation)") < order.index("PV potential per building") \
        < order.index("Roof irradiation [kWh/m²·a]")

    # screenshot: roof segments over the buildings' PV; the raster is under both
    from qgis.core import QgsRectangle
    from qgis.PyQt.QtGui import QColor

    segments = names["Roof segments (irradiation)"]
    extent = QgsRectangle(names["PV potential per building"].extent())
    extent.grow(20.0)
    shown = [segments, names["PV potential per building"], raster]
    image, transform = render_canvas(shown, extent, artifacts_dir() / "qgis_canvas_rooftop_pv.png")
    # a large roof segment shows its class colour inside
    seg = max(segments.getFeatures(), key=lambda f: f.geometry().area())
    p = transform.transform(seg.geometry().buffer(-1.0, 4).pointOnSurface().asPoint())
    colour = QColor(image.pixel(int(p.x()), int(p.y())))
    ctx_rules = [r for r in segments.renderer().rootRule().children() if r.symbol() is not None]
    assert any(abs(colour.red() - r.symbol().color().red()) <= 3 and abs(colour.green() - r.symbol().color().green()) <= 3
               and abs(colour.blue() - r.symbol().color().blue()) <= 3 for r in ctx_rules), colour.name()


def test_weather_is_required(plugin, project, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException

    dsm, _ = rasters(project)
    with pytest.raises(QgsProcessingException, match="Rooftop PV needs an hourly weather year"):
        processing.run("pedgis:rooftoppv", {"BUILDINGS": sample_buildings_input("shapefile", project, tmp_path),
                                            "DSM": dsm, "OUTPUT": str(tmp_path / "out")})
    assert not (tmp_path / "out").exists()


def test_cancelled_pv_run_writes_nothing(plugin, project, pv_config, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()

    def cancel_early(percent):
        if percent > 10:
            feedback.cancel()

    feedback.progressChanged.connect(cancel_early)
    dsm, _ = rasters(project)
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("pedgis:rooftoppv", {
            "BUILDINGS": sample_buildings_input("shapefile", project, tmp_path / "in"), "ID_FIELD": "CAD_ID",
            "DSM": dsm, "WEATHER": str(WEATHER), "SCENARIO": str(pv_config), "OUTPUT": str(tmp_path / "out")},
            feedback=feedback)
    assert not (tmp_path / "out").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temporary folder
