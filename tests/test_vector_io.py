"""Readers, encodings, CRS handling and attribute presets on small files written by the tests."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from pedgis.errors import CRSError, DataQualityWarning, InputDataError
from pedgis.io.presets import (
    detect_preset,
    find_column,
    map_uses,
    normalise_use_value,
    parse_number,
    resolve_columns,
    use_type_table,
)
from pedgis.io.vector import detect_shapefile_encoding, read_vector, read_vector_data

ITALIAN_NAMES = [
    "Via Sant’Antonio, Città",
    "Piazza della Libertà",
    "Corso Vittorio Emanuele II, Più",
    "Località Pré-Saint-Didier",
    "Viale dell’Università — Forlì",
]


def _gdf(crs="EPSG:32632", **cols):
    n = len(next(iter(cols.values()))) if cols else 3
    return gpd.GeoDataFrame(cols or {"ID": list(range(n))},
                            geometry=[box(i * 20, 0, i * 20 + 10, 10) for i in range(n)], crs=crs)


# ----------------------------------------------------------------------------- formats

@pytest.mark.parametrize("suffix,driver", [(".shp", None), (".gpkg", None), (".geojson", None),
                                           (".fgb", None), (".gml", "GML")])
def test_each_format_roundtrips(tmp_path, suffix, driver):
    gdf = _gdf(ID=[1, 2, 3], CATEGORIA=["A/2", "C/1", "B/5"])
    path = tmp_path / f"b{suffix}"
    kwargs = {"driver": driver} if driver else {}
    if suffix == ".geojson":  # RFC 7946: GeoJSON is WGS 84
        gdf = gdf.to_crs("EPSG:4326")
    gdf.to_file(path, engine="pyogrio", **kwargs)
    data = read_vector_data(path)
    assert len(data.gdf) == 3
    # FlatGeobuf's spatial index may reorder features: compare by id
    got = data.gdf.sort_values("ID")
    assert list(got["CATEGORIA"]) == ["A/2", "C/1", "B/5"]
    assert data.gdf.crs is not None
    # areas survive the round trip (10 m × 10 m boxes), measured in the original CRS
    area = data.gdf.to_crs("EPSG:32632").geometry.area.to_numpy()
    np.testing.assert_allclose(area, 100.0, rtol=1e-6)


def test_geopackage_any_layer_and_ambiguous_layers(tmp_path):
    path = tmp_path / "city.gpkg"
    _gdf(ID=[1, 2]).to_file(path, layer="edifici", engine="pyogrio")
    _gdf(ID=[7, 8, 9]).to_file(path, layer="altri", engine="pyogrio")
    assert list(read_vector_data(path, layer="altri").gdf["ID"]) == [7, 8, 9]
    assert list(read_vector_data(path, layer=0).gdf["ID"]) == [1, 2]
    with pytest.raises(InputDataError, match=r"2 layers \(edifici \[Polygon\], altri \[Polygon\]\) and pedgis cannot tell which holds the buildings. Set `buildings.layer"):
        read_vector_data(path)
    with pytest.raises(InputDataError, match="layer 'nope' not found; available layers: edifici, altri"):
        read_vector_data(path, layer="nope")
    with pytest.raises(InputDataError, match="layer index 5 does not exist"):
        read_vector_data(path, layer=5)


def test_missing_file_and_unreadable_file(tmp_path):
    with pytest.raises(InputDataError, match="file not found.*buildings.path"):
        read_vector_data(tmp_path / "nothing.shp")
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(InputDataError, match="cannot be opened as a vector file"):
        read_vector_data(bad)


# ----------------------------------------------------------------------------- encodings

def _write_cp1252_shapefile(tmp_path, name="it"):
    gdf = _gdf(ID=[1, 2, 3, 4, 5], VIA=ITALIAN_NAMES, CATEGORIA=["A/2"] * 5)
    path = tmp_path / f"{name}.shp"
    gdf.to_file(path, engine="pyogrio", encoding="cp1252")
    return path


def _strip_encoding_hints(path):
    """Delete the .cpg and zero the DBF language-driver byte, like many municipal exports."""
    path.with_suffix(".cpg").unlink(missing_ok=True)
    with open(path.with_suffix(".dbf"), "r+b") as fh:
        fh.seek(29)
        fh.write(b"\x00")


def test_cp1252_shapefile_without_cpg_is_detected_and_reported(tmp_path):
    path = _write_cp1252_shapefile(tmp_path)
    _strip_encoding_hints(path)
    assert detect_shapefile_encoding(path) == ("cp1252", "detected")
    with pytest.warns(DataQualityWarning, match=r"no \.cpg file; attribute text decoded as cp1252"):
        data = read_vector_data(path)
    assert list(data.gdf["VIA"]) == ITALIAN_NAMES
    assert data.encoding == "cp1252" and data.encoding_source == "detected"
    assert any("decoded as cp1252" in m for m in data.messages)


def test_cpg_is_honoured(tmp_path):
    path = _write_cp1252_shapefile(tmp_path)
    assert path.with_suffix(".cpg").read_text().strip().upper() in ("CP1252", "1252")
    data = read_vector_data(path)
    assert data.encoding_source == "cpg" and data.encoding == "cp1252"
    assert list(data.gdf["VIA"]) == ITALIAN_NAMES


def test_utf8_without_cpg_and_ascii(tmp_path):
    p = tmp_path / "u.shp"
    _gdf(ID=[1, 2, 3, 4, 5], VIA=ITALIAN_NAMES).to_file(p, engine="pyogrio", encoding="UTF-8")
    _strip_encoding_hints(p)
    assert detect_shapefile_encoding(p) == ("utf-8", "detected")
    with pytest.warns(DataQualityWarning, match="decoded as utf-8"):
        assert list(read_vector_data(p).gdf["VIA"]) == ITALIAN_NAMES
    q = tmp_path / "a.shp"
    _gdf(ID=[1, 2], VIA=["Via Roma", "Via Po"]).to_file(q, engine="pyogrio")
    _strip_encoding_hints(q)
    assert detect_shapefile_encoding(q) == ("ascii", "ascii")


def test_dbf_language_driver_id_is_used(tmp_path):
    path = _write_cp1252_shapefile(tmp_path)
    _strip_encoding_hints(path)
    with open(path.with_suffix(".dbf"), "r+b") as fh:  # 0x57 = ANSI (Windows-1252)
        fh.seek(29)
        fh.write(b"\x57")
    assert detect_shapefile_encoding(path) == ("cp1252", "dbf language driver")
    assert list(read_vector_data(path).gdf["VIA"]) == ITALIAN_NAMES


def test_bad_cpg_and_bad_given_encoding(tmp_path):
    path = _write_cp1252_shapefile(tmp_path)
    path.with_suffix(".cpg").write_text("KLINGON-7")
    with pytest.raises(InputDataError, match="unknown code page 'KLINGON-7'"):
        read_vector_data(path)
    with pytest.raises(InputDataError, match="buildings.encoding: unknown encoding 'nope'"):
        read_vector_data(path, encoding="nope")
    data = read_vector_data(path, encoding="latin-1")  # the user's word wins over the .cpg
    assert data.encoding_source == "given"


def test_missing_dbf(tmp_path):
    path = _write_cp1252_shapefile(tmp_path)
    path.with_suffix(".cpg").unlink()
    path.with_suffix(".dbf").unlink()
    with pytest.raises(InputDataError, match=r"attribute table \(\.dbf\) is missing"):
        read_vector_data(path)


# ----------------------------------------------------------------------------- CRS

def test_shapefile_without_prj_is_an_error_unless_crs_given(tmp_path):
    path = _write_cp1252_shapefile(tmp_path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(CRSError, match=r"no coordinate reference system \(the \.prj file is missing\)"):
        read_vector_data(path)
    data = read_vector_data(path, crs="EPSG:32632")
    assert data.gdf.crs.to_epsg() == 32632 and data.crs_source == "given"
    with pytest.raises(CRSError, match="buildings.crs: 'EPSG:999999' is not a CRS"):
        read_vector_data(path, crs="EPSG:999999")


def test_given_crs_does_not_override_the_files(tmp_path):
    p = tmp_path / "b.gpkg"
    _gdf().to_file(p, engine="pyogrio")
    data = read_vector_data(p, crs="EPSG:3003")
    assert data.gdf.crs.to_epsg() == 32632
    assert any("is ignored here" in m for m in data.messages)


def test_read_vector_keeps_reading_info_in_attrs(tmp_path):
    path = _write_cp1252_shapefile(tmp_path)
    gdf = read_vector(path)
    assert gdf.attrs["pedgis_read"]["encoding"] == "cp1252"


# ----------------------------------------------------------------------------- presets

def test_find_column_matches_case_punctuation_and_shapefile_truncation():
    cols = ["numberOfFl", "heightAbov", "BUILDING_L", "gebruiksdo"]
    assert find_column(cols, ["numberOfFloorsAboveGround"]) == "numberOfFl"
    assert find_column(cols, ["heightAboveGround"]) == "heightAbov"
    assert find_column(cols, ["building:levels"]) == "BUILDING_L"
    assert find_column(cols, ["gebruiksdoel"]) == "gebruiksdo"
    assert find_column(cols, ["height"]) is None


PRESET_SAMPLES = {
    "inspire": ({"localId": ["ES1", "ES2"], "currentUse": ["residential", "4_2_retail"],
                 "numberOfFloorsAboveGround": [3, 1], "dateOfConstruction": ["1965-01-01", "2001"]},
                ["residential", "commercial"]),
    "osm": ({"osm_id": [11, 12], "building": ["apartments", "school"], "building:levels": ["4", "2"],
             "height": ["12 m", None], "roof:shape": ["flat", "gabled"]}, ["residential", "education"]),
    "bag": ({"identificatie": ["0363100012", "0363100013"], "gebruiksdoel": ["woonfunctie,winkelfunctie", "kantoorfunctie"],
             "bouwjaar": [1930, 1990], "b3_h_maaiveld": [-1.2, 0.5], "b3_h_dak_70p": [10.8, 20.5],
             "b3_bouwlagen": [3, 6]}, ["residential", "office"]),
    "cea": ({"Name": ["B1001", "B1002"], "floors_ag": [5, 2], "height_ag": [15.0, 8.0], "floors_bg": [1, 0],
             "height_bg": [3.0, 0.0], "use_type1": ["MULTI_RES", "HOSPITAL"]}, ["residential", "health"]),
    "it_catasto": ({"ID_EDIF": [1, 2], "CATEGORIA": ["A/3", "D/2"]}, ["residential", "hotel"]),
}


@pytest.mark.parametrize("preset", sorted(PRESET_SAMPLES))
def test_presets_are_detected_and_map_uses(preset):
    cols, uses = PRESET_SAMPLES[preset]
    assert detect_preset(list(cols)) == preset
    cm = resolve_columns(list(cols))
    assert cm.preset == preset and cm.detected
    values = pd.Series(cols[cm.columns["use"]])
    um = map_uses(values, preset, ["residential"])
    assert list(um.use) == uses


def test_presets_survive_shapefile_truncation(tmp_path):
    # INSPIRE names are longer than the 10 characters a DBF allows
    cols, _ = PRESET_SAMPLES["inspire"]
    p = tmp_path / "inspire.shp"
    _gdf(**cols).to_file(p, engine="pyogrio")
    gdf = read_vector(p)
    cm = resolve_columns(gdf.columns)
    assert cm.preset == "inspire"
    assert cm.columns["floors"] == "numberOfFl"


def test_generic_and_overrides():
    assert detect_preset(["fid", "use", "floors"]) == "generic"
    cm = resolve_columns(["codice", "destinaz", "n_pian"], columns={"building_id": "codice", "use": "destinaz"})
    assert cm.preset == "generic" and cm.columns == {"building_id": "codice", "use": "destinaz"}
    # a forced preset and a column removed from the mapping with ""
    cm = resolve_columns(["osm_id", "building", "height"], preset="osm", columns={"height_m": ""})
    assert "height_m" not in cm.columns


def test_column_mapping_errors_list_every_problem():
    with pytest.raises(InputDataError, match=r"columns.use: column 'USO' not in the file.*columns.floorz: unknown pedgis field"):
        resolve_columns(["ID", "CATEGORIA"], columns={"use": "USO", "floorz": "PIANI"})
    with pytest.raises(InputDataError, match="buildings.preset: unknown preset 'ign'"):
        resolve_columns(["ID"], preset="ign")


def test_use_type_table_covers_every_italian_category_with_a_source():
    t = use_type_table()
    it = t[t["preset"] == "it_catasto"]
    expected = ([f"A/{i}" for i in range(1, 12)] + [f"B/{i}" for i in range(1, 9)]
                + [f"C/{i}" for i in range(1, 8)] + [f"D/{i}" for i in range(1, 11)])
    assert set(expected) <= set(it["source_value"])
    assert (t["source"].str.len() > 10).all()
    allowed = {"residential", "office", "commercial", "education", "health", "hotel", "sports",
               "industrial", "unconditioned", ""}
    assert set(t["pedgis_use"]) <= allowed


@pytest.mark.parametrize("raw,expected", [("A/2", "A/2"), ("a2", "A/2"), ("A02", "A/2"), ("A 10", "A/10"),
                                          (" c/6 ", "C/6"), ("D-8", "D/8")])
def test_italian_category_spellings(raw, expected):
    assert normalise_use_value(raw, "it_catasto") == expected


def test_use_mapping_defaults_overrides_and_errors():
    values = pd.Series(["A/2", "Z/9", None, "C/6", "SCUOLA", "yes"])
    um = map_uses(values, "it_catasto", ["residential", "education"], overrides={"SCUOLA": "education"},
                  default_use="residential")
    assert list(um.use) == ["residential", "residential", "residential", "unconditioned", "education", "residential"]
    assert um.notes[1] == "use 'Z/9' not in the use-type map: default use residential"
    assert um.notes[2] == "use missing: default use residential"
    assert um.unknown == {"Z/9": 1, "yes": 1}
    with pytest.raises(InputDataError, match=r"unknown use type\(s\) 'YES' \(1×\), 'Z/9' \(1×\); 1 building\(s\) have no use value"):
        map_uses(values, "it_catasto", ["residential"], overrides={"SCUOLA": "education"}, default_use=None)
    with pytest.raises(InputDataError, match="buildings.use_map.SCUOLA: 'school' is not a pedgis use type"):
        map_uses(values, "it_catasto", ["residential"], overrides={"SCUOLA": "school"}, default_use="residential")
    # OSM building=yes says nothing about the use: default, flagged
    um = map_uses(pd.Series(["yes", "house"]), "osm", ["residential"], default_use="office")
    assert list(um.use) == ["office", "residential"]
    assert "says nothing about the use" in um.notes[0]


def test_generic_preset_finds_the_matching_table():
    um = map_uses(pd.Series(["A/3", "C/1"]), "generic", ["residential"])
    assert um.table == "it_catasto" and list(um.use) == ["residential", "commercial"]


def test_parse_number_reads_text_heights():
    num, bad = parse_number(pd.Series(["12 m", "12,5", "7", None, "tall", "3.5m"]))
    np.testing.assert_array_equal(num.to_numpy()[[0, 1, 2, 5]], [12.0, 12.5, 7.0, 3.5])
    assert np.isnan(num[3]) and np.isnan(num[4])
    assert list(bad) == [False, False, False, False, True, False]


def test_no_warning_for_clean_files(tmp_path):
    p = tmp_path / "b.gpkg"
    _gdf().to_file(p, engine="pyogrio")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_vector_data(p)


def test_damaged_files(tmp_path):
    path = _write_cp1252_shapefile(tmp_path)
    path.with_suffix(".cpg").unlink()
    path.with_suffix(".dbf").write_bytes(b"\x03\x01")  # a truncated DBF header
    with pytest.raises(InputDataError, match=r"truncated DBF header"):
        read_vector_data(path)
    q = _write_cp1252_shapefile(tmp_path, "q")
    q.write_bytes(b"not a shapefile at all")
    with pytest.raises(InputDataError, match=r"cannot be read as a Shapefile .* \.shp, \.shx and \.dbf side by side"):
        read_vector_data(q)


PRESET_FILES = {  # preset → (format, CRS, where): each family in a format and CRS it is shipped in
    "inspire": (".gml", "EPSG:25830", (440_000, 4_474_000)),   # Spanish cadastre INSPIRE BU, Madrid
    "osm": (".geojson", "EPSG:32632", (400_000, 5_000_000)),   # written as WGS 84 GeoJSON below
    "bag": (".gpkg", "EPSG:28992", (121_000, 487_000)),        # 3D BAG tile, Amsterdam, RD New
    "cea": (".shp", "EPSG:32632", (400_000, 5_000_000)),       # City Energy Analyst zone.shp
    "it_catasto": (".fgb", "EPSG:32632", (400_000, 5_000_000)),
}


@pytest.mark.parametrize("preset", sorted(PRESET_FILES))
def test_each_preset_from_a_file_through_step1(tmp_path, preset):
    """Write each preset's sample as a file, read it back and run step 1 on it (preset detected)."""
    from pedgis.boundaries import prepare_district

    cols, uses = PRESET_SAMPLES[preset]
    suffix, crs, (x0, y0) = PRESET_FILES[preset]
    gdf = _gdf(crs=crs, **cols)  # 10 × 10 m boxes
    gdf.geometry = gdf.geometry.translate(x0, y0)
    if suffix == ".geojson":
        gdf = gdf.to_crs("EPSG:4326")  # step 1 projects it back to UTM 32N
    path = tmp_path / f"{preset}{suffix}"
    kwargs = {"driver": "GML"} if suffix == ".gml" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # column names cut to 10 characters (.shp)
        gdf.to_file(path, engine="pyogrio", **kwargs)
    data = read_vector_data(path)
    uses_known = ["residential", "office", "commercial", "education", "health", "hotel", "sports", "industrial"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CRS and data-quality notes are tested elsewhere
        res = prepare_district(data.gdf, storey_height_m={u: 3.0 for u in uses_known},
                               default_floors={u: 2.0 for u in uses_known}, gross_to_conditioned=0.85)
    assert res.preset == preset
    b = res.buildings.sort_values("building_id")
    assert sorted(res.buildings["use"]) == sorted(uses)
    np.testing.assert_allclose(b["footprint_area_m2"], 100.0, rtol=1e-3)
    if preset == "bag":  # height = roof − ground elevation (NAP): 10.8 − (−1.2) = 12.0 m, 20.5 − 0.5 = 20 m
        np.testing.assert_allclose(sorted(b["height_m"]), [12.0, 20.0])
        assert sorted(b["floors"]) == [3, 6]  # b3_bouwlagen wins for floors
    if preset == "osm":  # "12 m" parsed; building:levels as text
        assert sorted(b["floors"]) == [2, 4] and 12.0 in set(b["height_m"])
    if preset == "cea":  # floors_ag / height_ag
        assert sorted(b["floors"]) == [2, 5] and sorted(b["height_m"]) == [8.0, 15.0]


def test_zipped_shapefile(tmp_path):
    import zipfile

    path = _write_cp1252_shapefile(tmp_path, "edifici")
    _strip_encoding_hints(path)  # and no .cpg inside the archive either
    z = tmp_path / "catasto.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in tmp_path.glob("edifici.*"):
            zf.write(f, f"export/{f.name}")
    with pytest.warns(DataQualityWarning, match=r"catasto.zip!export/edifici.shp: no \.cpg file; attribute text decoded as cp1252"):
        data = read_vector_data(z)
    assert list(data.gdf["VIA"]) == ITALIAN_NAMES and data.layer == "edifici"
    assert any("catasto.zip!export/edifici" in m for m in data.messages)
    # two shapefiles: the layer names one
    with zipfile.ZipFile(z, "a") as zf:
        for f in tmp_path.glob("edifici.*"):
            zf.write(f, f"export/altri{f.suffix}")
    with pytest.raises(InputDataError, match=r"holds 2 shapefiles \(edifici, altri\); name the one with the buildings in `buildings.layer`"):
        read_vector_data(z)
    with pytest.warns(DataQualityWarning):
        assert len(read_vector_data(z, layer="altri").gdf) == 5
    with pytest.raises(InputDataError, match="no shapefile 'nope' in the archive"):
        read_vector_data(z, layer="nope")
    # without the .prj inside the archive: the CRS error names the archive member
    z2 = tmp_path / "noprj.zip"
    with zipfile.ZipFile(z2, "w") as zf:
        for f in tmp_path.glob("edifici.*"):
            if f.suffix != ".prj":
                zf.write(f, f.name)
    with pytest.raises(CRSError, match=r"noprj.zip!edifici.shp: no coordinate reference system"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        read_vector_data(z2)
    (tmp_path / "bad.zip").write_text("no zip")
    with pytest.raises(InputDataError, match="not a readable .zip archive"):
        read_vector_data(tmp_path / "bad.zip")
