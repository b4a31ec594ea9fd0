"""`pedgis pv` finds the building ids the way `pedgis run` does (pedgis/io/presets.py): a small
file of each data family, no --id-column, and the output joins back to the source on the source's
own id column (under its own name), with the name and address columns beside it."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from pedgis.cli import main

EPW = Path(__file__).resolve().parents[2] / "sample_data" / "weather" / "pvgis_tmy_45N_8E.epw"
X0, Y0 = 421000.0, 4983600.0
ROOFS = [box(X0 + 10, Y0 - 30, X0 + 40, Y0 - 10), box(X0 + 10, Y0 - 70, X0 + 30, Y0 - 50)]


@pytest.fixture(scope="module")
def dsm(tmp_path_factory):
    """Two flat roofs, 10 m and 7 m high, on a 1 m DSM."""
    z = np.zeros((80, 80), np.float32)
    z[10:30, 10:40] = 10.0
    z[50:70, 10:30] = 7.0
    path = tmp_path_factory.mktemp("dsm") / "dsm.tif"
    with rasterio.open(path, "w", driver="GTiff", width=80, height=80, count=1, dtype="float32", crs="EPSG:32632",
                       transform=Affine(1.0, 0, X0, 0, -1.0, Y0), nodata=-9999.0) as ds:
        ds.write(z, 1)
    return path


def _bag(folder: Path) -> Path:  # 3D BAG (tile export): pand ids, NAP heights
    p = folder / "3dbag.gpkg"
    gpd.GeoDataFrame({"identificatie": ["NL.IMBAG.Pand.0363100012185598", "NL.IMBAG.Pand.0363100012185599"],
                      "status": ["Pand in gebruik"] * 2, "oorspronkelijkbouwjaar": [1931, 1968],
                      "b3_h_maaiveld": [0.4, 0.5], "b3_h_dak_70p": [10.4, 7.5], "b3_bouwlagen": [3, 2]},
                     geometry=ROOFS, crs="EPSG:32632").to_file(p, layer="pand")
    return p


def _inspire(folder: Path) -> Path:  # INSPIRE Buildings, flattened (e.g. the Spanish cadastre)
    p = folder / "inspire.gpkg"
    gpd.GeoDataFrame({"gml_id": ["ES.SDGC.BU.9872023VH5797S", "ES.SDGC.BU.9872024VH5797S"],
                      "localId": ["9872023VH5797S", "9872024VH5797S"],
                      "currentUse": ["1_residential", "4_1_office"], "numberOfFloorsAboveGround": [3, 2],
                      "beginLifespanVersion": ["2005-01-01", "2010-06-01"], "name": ["Casa Norte", "Oficinas Sur"]},
                     geometry=ROOFS, crs="EPSG:32632").to_file(p)
    return p


def _osm(folder: Path) -> Path:  # an OpenStreetMap extract (Overpass / QuickOSM GeoJSON)
    p = folder / "osm.geojson"
    gpd.GeoDataFrame({"osm_id": [265014623, 265014624], "building": ["apartments", "retail"],
                      "building:levels": ["3", "2"], "name": ["Casa Bianca", None],
                      "addr:street": ["Via Roma", "Via Po"], "addr:housenumber": ["12", "3b"]},
                     geometry=ROOFS, crs="EPSG:32632").to_file(p)
    return p


def _cea3(folder: Path) -> Path:  # a CEA 3.x scenario folder (zone.shp + typology.dbf)
    root = folder / "cea3"
    (root / "inputs" / "building-geometry").mkdir(parents=True)
    (root / "inputs" / "building-properties").mkdir(parents=True)
    gpd.GeoDataFrame({"Name": ["B1001", "B1002"], "floors_ag": [3, 2], "floors_bg": [0, 0], "height_ag": [10.0, 7.0],
                      "height_bg": [0.0, 0.0]}, geometry=ROOFS, crs="EPSG:32632").to_file(
        root / "inputs" / "building-geometry" / "zone.shp")
    pyogrio.write_dataframe(pd.DataFrame({"Name": ["B1001", "B1002"], "YEAR": [1990, 2005], "STANDARD": ["STANDARD1"] * 2,
                                          "1ST_USE": ["MULTI_RES", "OFFICE"], "1ST_USE_R": [1.0, 1.0],
                                          "2ND_USE": ["NONE"] * 2, "2ND_USE_R": [0.0, 0.0],
                                          "3RD_USE": ["NONE"] * 2, "3RD_USE_R": [0.0, 0.0]}),
                            root / "inputs" / "building-properties" / "typology.dbf", driver="ESRI Shapefile")
    return root


def _cea4(folder: Path) -> Path:  # CEA 4: the typology and the address inside zone.shp
    p = folder / "zone.shp"
    gpd.GeoDataFrame({"name": ["B001", "B002"], "floors_ag": [3, 2], "floors_bg": [0, 0], "height_ag": [10.0, 7.0],
                      "height_bg": [0.0, 0.0], "year": [1990, 2005], "const_type": ["STANDARD1"] * 2,
                      "use_type1": ["MULTI_RES", "OFFICE"], "use_type1r": [1.0, 1.0],
                      "house_no": ["7", "9"], "street": ["Clementi Ave", "Clementi Ave"]},
                     geometry=ROOFS, crs="EPSG:32632").to_file(p)
    return p


CASES = {  # family: (maker, preset detected, id column, source ids, name/address columns)
    "bag": (_bag, "bag", "identificatie", ["NL.IMBAG.Pand.0363100012185598", "NL.IMBAG.Pand.0363100012185599"], []),
    "inspire": (_inspire, "inspire", "localId", ["9872023VH5797S", "9872024VH5797S"], ["name"]),
    "osm": (_osm, "osm", "osm_id", ["265014623", "265014624"], ["name", "addr:street", "addr:housenumber"]),
    "cea3": (_cea3, "cea", "Name", ["B1001", "B1002"], []),
    "cea4": (_cea4, "cea", "name", ["B001", "B002"], ["street", "house_no"]),
}


@pytest.mark.parametrize("family", list(CASES))
def test_pv_takes_the_ids_of_the_preset(family, dsm, tmp_path, capsys):
    make, preset, id_col, ids, extra = CASES[family]
    src = make(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["pv", "--buildings", str(src), "--dsm", str(dsm), "--weather", str(EPW), "--out",
                     str(tmp_path / "out"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    pv = json.loads((tmp_path / "out" / "pv.json").read_text())
    assert (pv["buildings"]["preset"], pv["buildings"]["id_column"]) == (preset, id_col)
    out = gpd.read_file(tmp_path / "out" / "buildings.gpkg", layer="buildings")
    assert sorted(out["building_id"]) == ids
    assert out["pv_kwh"].gt(0).all()  # both roofs computed, under their own ids
    source = pyogrio.read_dataframe(src / "inputs" / "building-geometry" / "zone.shp" if src.is_dir() else src)
    # the results join back to the source on its own id column, which the output carries by name
    joined = source.merge(pd.DataFrame(out.drop(columns="geometry")), on=[id_col, *extra], how="inner")
    assert len(joined) == 2 and joined["pv_kwh"].gt(0).all()
    assert out[id_col].dtype == source[id_col].dtype


def test_id_column_still_wins(dsm, tmp_path, capsys):
    src = _osm(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["pv", "--buildings", str(src), "--id-column", "addr:housenumber", "--dsm", str(dsm),
                     "--weather", str(EPW), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 0, capsys.readouterr().err
    out = gpd.read_file(tmp_path / "out" / "buildings.gpkg", layer="buildings")
    assert sorted(out["building_id"]) == ["12", "3b"] and "addr:housenumber" in out
