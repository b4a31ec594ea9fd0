"""Floor areas and heights through processing.run: the step-1 table of the command line."""

from __future__ import annotations

import pytest
from conftest import LAYER_KINDS, SAMPLE, sample_buildings_input

pytestmark = pytest.mark.skipif(not (SAMPLE / "scenario.toml").exists(), reason="sample_data not merged")

SCENARIO = SAMPLE / "scenario.toml"
STEP1 = ["included", "use", "footprint_area_m2", "floors", "height_m", "floor_area_m2", "exclusion_reason", "flags"]


@pytest.fixture(scope="module")
def cli_buildings(cli_output):
    """buildings.gpkg of `pedgis run sample_data/scenario.toml` (the reference)."""
    import geopandas as gpd

    return gpd.read_file(cli_output / "buildings.gpkg", layer="buildings")


def read(path):
    import geopandas as gpd

    return gpd.read_file(path, layer="buildings")


def without_row_numbers(flags):
    """Flags name input row numbers ("rows 5, 6"); a selection exported by QGIS has its own row
    order, so those numbers are compared without the rows."""
    import re

    return [re.sub(r" \(rows? [0-9, ]+\)", "", f) for f in flags]


def assert_same_step1(got, expected):
    import pandas as pd

    key = ["building_id", "footprint_area_m2"]  # split buildings share an id: order by area too
    g = got.sort_values(key).reset_index(drop=True)
    e = expected.sort_values(key).reset_index(drop=True)
    assert list(g["building_id"]) == list(e["building_id"])
    for col in STEP1:
        if col == "flags":
            assert without_row_numbers(g[col]) == without_row_numbers(e[col])
        elif col in ("use", "exclusion_reason", "included"):
            assert list(g[col]) == list(e[col]), col
        else:
            pd.testing.assert_series_equal(g[col], e[col], check_names=False, rtol=1e-9)


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_floor_areas_from_qgis_layers(kind, plugin, project, cli_buildings, tmp_path):
    from qgis import processing

    buildings = sample_buildings_input(kind, project, tmp_path / "in")
    result = processing.run("pedgis:floorareas", {"BUILDINGS": buildings, "SCENARIO": str(SCENARIO),
                                                  "OUTPUT": str(tmp_path / "out" / "floors.gpkg")})
    got = read(tmp_path / "out" / "floors.gpkg")
    assert len(got) == len(cli_buildings)  # every input building, nothing dropped
    assert_same_step1(got, cli_buildings)
    inside = cli_buildings["included"].astype(bool)
    assert result["N_INCLUDED"] == int(inside.sum())
    assert result["TOTAL_FLOOR_AREA_M2"] == pytest.approx(cli_buildings.loc[inside, "floor_area_m2"].sum())
    assert "ped_balance_kwh" not in got.columns  # the step-1 table only
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["floors.gpkg"]  # no temporary file left


def test_storey_height_from_the_dialog(plugin, project, cli_buildings, tmp_path):
    """A storey height and a gross-to-conditioned share given in the dialog: buildings with a
    height (ALTEZZA) but no floor count (N_PIANI) get floors = max(1, round(ALTEZZA / 4 m));
    every floor area is footprint × floors × 0.8."""
    import geopandas as gpd
    import numpy as np
    from qgis import processing
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(str(SAMPLE / "buildings.shp"), "buildings", "ogr")
    project.addMapLayer(layer)
    processing.run("pedgis:floorareas", {"BUILDINGS": layer, "SCENARIO": str(SCENARIO), "STOREY_HEIGHT": 4.0,
                                         "GROSS_TO_CONDITIONED": 0.8, "OUTPUT": str(tmp_path / "floors.gpkg")})
    got = read(tmp_path / "floors.gpkg")
    # floor area follows footprint × floors × 0.8 for every building (Step 1 contract)
    np.testing.assert_allclose(got["floor_area_m2"], got["footprint_area_m2"] * got["floors"] * 0.8, rtol=1e-9)
    raw = gpd.read_file(SAMPLE / "buildings.shp")
    only_height = raw[raw["N_PIANI"].isna() & raw["ALTEZZA"].notna()]
    assert len(only_height) == 2  # sample_data/README.md: two detached houses
    for _, row in only_height.iterrows():
        floors = got.loc[got["building_id"] == row["CAD_ID"], "floors"]
        assert list(floors) == [max(1.0, float(np.round(row["ALTEZZA"] / 4.0)))], row["CAD_ID"]


def test_floor_areas_loaded_styled(plugin, project, tmp_path):
    from qgis import processing
    from qgis.core import QgsRuleBasedRenderer, QgsVectorLayer

    layer = QgsVectorLayer(str(SAMPLE / "buildings.shp"), "buildings", "ogr")
    project.addMapLayer(layer)
    processing.runAndLoadResults("pedgis:floorareas", {"BUILDINGS": layer, "SCENARIO": str(SCENARIO),
                                                       "OUTPUT": str(tmp_path / "floors.gpkg")})
    styled = project.mapLayersByName("Floor areas and heights")[0]
    assert isinstance(styled.renderer(), QgsRuleBasedRenderer)
    assert styled.renderer().rootRule().children()[0].label().endswith("m²")
