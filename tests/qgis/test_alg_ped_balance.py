"""PED balance through processing.run on the sample district, from three kinds of QGIS layer,
gives the same district.json numbers as the command line; a cancelled run writes nothing."""

from __future__ import annotations

import json

import pytest
from conftest import LAYER_KINDS, SAMPLE, sample_buildings_input

pytestmark = pytest.mark.skipif(not (SAMPLE / "scenario.toml").exists(), reason="sample_data not merged")

SCENARIO = SAMPLE / "scenario.toml"


@pytest.fixture(scope="module")
def cli_district(cli_output):
    """district.json of `pedgis run sample_data/scenario.toml` (the reference)."""
    return json.loads((cli_output / "district.json").read_text(encoding="utf-8"))


NUMBERS = ["pei_kwh", "pee_kwh", "ped_balance_kwh", "pe_nren_kwh", "pe_ren_kwh", "pe_total_kwh", "rer",
           "co2eq_kg", "ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_kwh", "teu_kwh", "eeu_kwh",
           "tep_res_kwh", "eep_res_kwh", "ste_kwh", "see_kwh"]


def assert_same_district(got: dict, expected: dict):
    for key in NUMBERS:
        assert got[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-6), key
    for key in ("ed_kwh", "exported_kwh"):
        assert got[key].keys() == expected[key].keys(), key
        for carrier, value in expected[key].items():
            assert got[key][carrier] == pytest.approx(value, rel=1e-9, abs=1e-6), (key, carrier)
    assert (got["n_buildings"], got["n_included"], got["is_ped"]) == (
        expected["n_buildings"], expected["n_included"], expected["is_ped"])


def shapefile_layer(project=None):
    """The sample shapefile as a layer; owned by ``project`` when given (a layer Python still
    owns when exitQgis() runs crashes QGIS at exit)."""
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(str(SAMPLE / "buildings.shp"), "buildings (shapefile)", "ogr")
    assert layer.isValid()
    if project is not None:
        project.addMapLayer(layer)
    return layer


def run_balance(buildings, out_dir, **extra):
    from qgis import processing

    params = {"BUILDINGS": buildings, "SCENARIO": str(SCENARIO), "OUTPUT": str(out_dir), **extra}
    return processing.run("pedgis:pedbalance", params)


class RecordingFeedback:
    """A QgsProcessingFeedback keeping the warnings pushed to it."""

    def __new__(cls):
        from qgis.core import QgsProcessingFeedback

        class Feedback(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.warnings = []

            def pushWarning(self, text):  # noqa: N802
                self.warnings.append(text)
                super().pushWarning(text)

        return Feedback()


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_same_numbers_as_the_command_line(kind, plugin, project, cli_district, tmp_path):
    from qgis import processing

    buildings = sample_buildings_input(kind, project, tmp_path / "in")
    feedback = RecordingFeedback()
    params = {"BUILDINGS": buildings, "SCENARIO": str(SCENARIO), "OUTPUT": str(tmp_path / "out")}
    if kind == "geopackage":
        # and the boundary as a QGIS layer instead of through the scenario file: same result
        from qgis.core import QgsVectorLayer

        boundary = QgsVectorLayer(f"{SAMPLE / 'boundary.gpkg'}|layername=boundary", "boundary", "ogr")
        assert boundary.isValid()
        project.addMapLayer(boundary)
        params["BOUNDARY"] = boundary
    result = processing.run("pedgis:pedbalance", params, feedback=feedback)
    # the library's warnings reach the Processing log (the sample has flagged buildings)
    assert any(w.startswith("DataQualityWarning: ") and "data-quality flags" in w for w in feedback.warnings)
    got = json.loads((tmp_path / "out" / "district.json").read_text(encoding="utf-8"))
    assert_same_district(got, cli_district)
    assert result["PED_BALANCE_KWH"] == pytest.approx(cli_district["ped_balance_kwh"])
    assert result["IS_PED"] == cli_district["is_ped"]
    assert result["OUTPUT_BUILDINGS"] == str(tmp_path / "out" / "buildings.gpkg")


def test_outputs_are_loaded_as_styled_layers(plugin, project, tmp_path, monkeypatch):
    """runAndLoadResults (what the dialog does) loads the buildings coloured by balance and the
    boundary as an outline, stacked boundary above buildings; the report opens when asked."""
    from qgis import processing
    from qgis.core import QgsRuleBasedRenderer
    from qgis.PyQt.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    layer = shapefile_layer(project)
    processing.runAndLoadResults("pedgis:pedbalance", {"BUILDINGS": layer, "SCENARIO": str(SCENARIO),
                                                       "OPEN_REPORT": True, "OUTPUT": str(tmp_path / "out")})
    assert opened == [str(tmp_path / "out" / "report.html")]
    by_name = {lyr.name(): lyr for lyr in project.mapLayers().values()}
    buildings = by_name["PED balance per building"]
    assert isinstance(buildings.renderer(), QgsRuleBasedRenderer)
    labels = [r.label() for r in buildings.renderer().rootRule().children()]
    assert labels[-1] == "outside the district"
    assert any(lbl.startswith("net import") for lbl in labels)
    # every building falls in exactly one class
    ctx_counts = _rule_counts(buildings)
    assert sum(ctx_counts.values()) == buildings.featureCount()
    order = [n.layer().name() for n in project.layerTreeRoot().findLayers()]
    assert order.index("District boundary") < order.index("PED balance per building")
    # the sample scenario has a DSM: roof segments and irradiation are loaded, below the
    # boundary, unticked (they would hide the balance colours)
    root = project.layerTreeRoot()
    for name in ("Roof segments (irradiation)", "Roof irradiation [kWh/m²·a]"):
        node = root.findLayer(by_name[name].id())
        assert node is not None and not node.isVisible(), name
    assert order.index("Roof segments (irradiation)") < order.index("PED balance per building") \
        < order.index("Roof irradiation [kWh/m²·a]")


def _rule_counts(layer):
    from qgis.core import QgsExpression, QgsExpressionContext, QgsExpressionContextUtils

    ctx = QgsExpressionContext()
    ctx.appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
    counts = {}
    for feature in layer.getFeatures():
        ctx.setFeature(feature)
        hits = [r.label() for r in layer.renderer().rootRule().children()
                if QgsExpression(r.filterExpression()).evaluate(ctx)]
        assert len(hits) == 1, (feature["building_id"], hits)
        counts[hits[0]] = counts.get(hits[0], 0) + 1
    return counts


def test_bad_scenario_value_is_a_processing_error_with_the_key(plugin, project, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    bad = tmp_path / "bad.toml"
    bad.write_text(SCENARIO.read_text(encoding="utf-8").replace('country = "IT"', 'country = "XX"'),
                   encoding="utf-8")
    # the relative paths of the sample scenario resolve against the scenario's folder
    for name in ("buildings.shp", "buildings.shx", "buildings.dbf", "buildings.prj", "buildings.cpg", "boundary.gpkg"):
        (tmp_path / name).symlink_to(SAMPLE / name)
    (tmp_path / "weather").symlink_to(SAMPLE / "weather")
    from qgis import processing

    feedback = QgsProcessingFeedback()
    with pytest.raises(QgsProcessingException, match=r"scenario\.country"):
        processing.run("pedgis:pedbalance", {"BUILDINGS": shapefile_layer(project), "SCENARIO": str(bad),
                                             "OUTPUT": str(tmp_path / "out")}, feedback=feedback)
    assert not (tmp_path / "out").exists()


class CancelAfter:
    """A feedback that presses Cancel once progress passes ``fraction``."""

    def __init__(self, fraction):
        from qgis.core import QgsProcessingFeedback

        self.feedback = QgsProcessingFeedback()
        self.fraction = fraction
        self.feedback.progressChanged.connect(self._check)

    def _check(self, percent):
        if percent >= 100 * self.fraction:
            self.feedback.cancel()


def test_cancelled_run_leaves_no_half_written_output(plugin, project, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException

    out = tmp_path / "out"
    cancel = CancelAfter(0.3)
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("pedgis:pedbalance", {"BUILDINGS": shapefile_layer(project), "SCENARIO": str(SCENARIO),
                                             "OUTPUT": str(out)}, feedback=cancel.feedback)
    assert cancel.feedback.isCanceled()
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left beside it either


def test_cancelled_rerun_keeps_the_previous_complete_output(plugin, project, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException

    out = tmp_path / "out"
    run_balance(shapefile_layer(project), out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    cancel = CancelAfter(0.5)  # keep a reference: the slot dies with it
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run("pedgis:pedbalance", {"BUILDINGS": shapefile_layer(project), "SCENARIO": str(SCENARIO),
                                             "OUTPUT": str(out)}, feedback=cancel.feedback)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_of_the_user_is_refused_before_computing(plugin, project, tmp_path):
    """The output folder rule (docs/outputs.md) holds in QGIS too: a non-empty folder pedgis did
    not write is refused before the engine reports any progress, and stays as it was."""
    from qgis import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    out = tmp_path / "Documents"
    out.mkdir()
    (out / "thesis.odt").write_bytes(b"years of work")
    feedback = QgsProcessingFeedback()
    with pytest.raises(QgsProcessingException, match="not empty and not a pedgis output folder"):
        processing.run("pedgis:pedbalance", {"BUILDINGS": shapefile_layer(project), "SCENARIO": str(SCENARIO),
                                             "OUTPUT": str(out)}, feedback=feedback)
    assert feedback.progress() == 0
    assert [p.name for p in out.iterdir()] == ["thesis.odt"] and (out / "thesis.odt").read_bytes() == b"years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Documents"]


@pytest.fixture(scope="module")
def scenario_without_rasters(tmp_path_factory):
    """The sample scenario without its `[rasters]` section (beside links to the sample files)."""
    import re

    folder = tmp_path_factory.mktemp("scn")
    for f in SAMPLE.iterdir():
        if f.name != "scenario.toml":
            (folder / f.name).symlink_to(f.resolve())
    text = SCENARIO.read_text(encoding="utf-8")
    stripped = re.sub(r"(?ms)^\[rasters\].*?(?=^\[)", "", text)
    assert stripped != text and "dsm.tif" not in stripped
    (folder / "scenario.toml").write_text(stripped, encoding="utf-8")
    return folder / "scenario.toml"


def test_dsm_and_dtm_as_raster_layers(plugin, project, cli_output, scenario_without_rasters, tmp_path):
    """DSM and DTM chosen as QGIS raster layers (scenario without [rasters]) give the command
    line's run of the sample scenario, which names them."""
    import geopandas as gpd
    from qgis import processing
    from qgis.core import QgsRasterLayer

    dsm = QgsRasterLayer(str(SAMPLE / "dsm.tif"), "dsm")
    dtm = QgsRasterLayer(str(SAMPLE / "dtm.tif"), "dtm")
    assert dsm.isValid() and dtm.isValid()
    project.addMapLayers([dsm, dtm])
    params = {"BUILDINGS": shapefile_layer(project), "SCENARIO": str(scenario_without_rasters)}
    processing.run("pedgis:pedbalance", {**params, "DSM": dsm, "DTM": dtm, "OUTPUT": str(tmp_path / "with")})
    processing.run("pedgis:pedbalance", {**params, "OUTPUT": str(tmp_path / "without")})
    expected = json.loads((cli_output / "district.json").read_text(encoding="utf-8"))
    assert_same_district(json.loads((tmp_path / "with" / "district.json").read_text(encoding="utf-8")), expected)
    with_rasters = gpd.read_file(tmp_path / "with" / "buildings.gpkg", layer="buildings")
    without = gpd.read_file(tmp_path / "without" / "buildings.gpkg", layer="buildings")
    # the rasters were used: some heights come from them, and only with them
    from_rasters = with_rasters["height_source"].isin(["ndsm", "dsm_minus_ground"])
    assert from_rasters.any()
    assert not without["height_source"].isin(["ndsm", "dsm_minus_ground"]).any()


def test_raster_that_is_not_a_file_is_refused(plugin, project, tmp_path):
    """A raster QGIS computes on the fly (virtual raster calculator) cannot be handed to pedgis:
    a message saying to save it as a GeoTIFF, not a crash."""
    from qgis.core import QgsProcessingException, QgsRasterLayer

    uri = (f"?crs=EPSG:32632&extent=420870,4983130,421470,4983710&width=100&height=100"
           f"&formula=%22dsm@1%22*1&dsm:uri={SAMPLE / 'dsm.tif'}&dsm:provider=gdal")
    virtual = QgsRasterLayer(uri, "dsm (virtual)", "virtualraster")
    assert virtual.isValid()
    project.addMapLayer(virtual)
    with pytest.raises(QgsProcessingException, match=r"Raster 'dsm \(virtual\)' is not a file \(provider "
                                                     r"virtualraster\); save it as a GeoTIFF first\."):
        run_balance(shapefile_layer(project), tmp_path / "out", DSM=virtual)
    assert not (tmp_path / "out").exists()


def test_functional_boundary_from_selected_buildings(plugin, project, tmp_path):
    """"Boundary from selected buildings" then PED balance with its default boundary: exactly
    the selected buildings are in the district (a functional boundary, paper §2.1)."""
    import geopandas as gpd
    from pedgis_plugin.boundary import boundary_from_selected, find_boundary_layer
    from qgis import processing

    layer = shapefile_layer(project)
    chosen = sorted({f["CAD_ID"] for f in layer.getFeatures() if f["CATEGORIA"] in ("A/7", "B/5", "D/6")})
    layer.selectByExpression("\"CATEGORIA\" IN ('A/7', 'B/5', 'D/6')")
    boundary_from_selected(layer, "CAD_ID", "concave", project=project)
    layer.removeSelection()
    from qgis.core import QgsApplication

    fresh = QgsApplication.processingRegistry().createAlgorithmById("pedgis:pedbalance")
    assert fresh.parameterDefinition("BOUNDARY").defaultValue() == find_boundary_layer(project).id()
    processing.run("pedgis:pedbalance", {"BUILDINGS": layer, "SCENARIO": str(SCENARIO),
                                         "BOUNDARY": find_boundary_layer(project).id(),
                                         "OUTPUT": str(tmp_path / "out")})
    got = json.loads((tmp_path / "out" / "district.json").read_text(encoding="utf-8"))
    table = gpd.read_file(tmp_path / "out" / "buildings.gpkg", layer="buildings")
    assert sorted(set(table.loc[table["included"].astype(bool), "building_id"])) == chosen
    assert got["assumptions"]["boundary_type"] == "functional"
    assert got["n_included"] == len(chosen)


def test_heat_supply_chosen_in_the_dialog(plugin, project, cli_district, tmp_path):
    """"Air-source heat pump" for space heating and hot water replaces the scenario's gas
    boilers and district-heating substations: no natural gas is delivered any more and more
    grid electricity is."""
    from pedgis_plugin.algorithms.inputs import DIALOG_SYSTEM, HEAT_SUPPLY

    index = [label for label, _ in HEAT_SUPPLY].index("air-source heat pump")
    run_balance(shapefile_layer(project), tmp_path / "out", HEAT_SUPPLY=index)
    got = json.loads((tmp_path / "out" / "district.json").read_text(encoding="utf-8"))
    assert cli_district["ed_kwh"].get("natural_gas", 0) > 0
    assert got["ed_kwh"].get("natural_gas", 0) == 0
    assert got["ed_kwh"]["electricity"] > cli_district["ed_kwh"]["electricity"]
    assert DIALOG_SYSTEM in json.dumps(got["assumptions"]["systems"])
