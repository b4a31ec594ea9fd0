"""One input checker serves `pedgis validate` and `pedgis run` (issue 11, item 5), and the
silent wrong results it now catches (item 4).

The corpus below passes every bad input of the test suite that a scenario and its files can
express (each case names the test it comes from) and the new ones through both commands,
in-process, and asserts the same verdict: validate exits 1 exactly when run exits 2, and both
name the same problem. The cases use a 3-building district (no rasters unless the case needs
them) so the whole corpus runs in seconds.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import struct
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon, box
from test_cli import SCENARIO  # the CLI tests' district: a heat pump for everything, PV from kWp

from pedgis.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_EPW = ROOT / "sample_data" / "weather" / "pvgis_tmy_45N_8E.epw"
#: the district sits where the sample weather file's station is: 45° N 8° E, in UTM 32N
X0, Y0 = (round(v) for v in Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True).transform(8.0, 45.0))


def footprints(**columns) -> gpd.GeoDataFrame:
    data = {"ID": ["a", "b", "c"], "USE": ["residential", "office", "residential"], "FLOORS": [2.0, 3.0, 1.0],
            "KWP": [3.0, 0.0, 10.0], **columns}
    return gpd.GeoDataFrame(data, geometry=[box(X0, Y0, X0 + 10, Y0 + 10), box(X0 + 20, Y0, X0 + 40, Y0 + 10),
                                            box(X0 + 50, Y0, X0 + 60, Y0 + 10)], crs="EPSG:32632")


def district(tmp_path, text: str = SCENARIO, gdf=None) -> Path:
    """The 3-building district in ``tmp_path``; returns the scenario file."""
    (footprints() if gdf is None else gdf).to_file(tmp_path / "b.gpkg")
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    return tmp_path / "s.toml"


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(map(str, args)))
    out = capsys.readouterr()
    return code, out.out, out.err


def validate_and_run(capsys, scenario: Path) -> tuple[int, str, int, str]:
    vcode, vout, _ = cli(capsys, "validate", scenario)
    rcode, _, rerr = cli(capsys, "run", scenario, "--out", scenario.parent / "out", "--quiet")
    return vcode, vout, rcode, rerr


def write_weather(path: Path, lat: float = 45.0, lon: float = 8.0, rows=None) -> Path:
    """The sample EPW with its station moved to (lat, lon), optionally cut to ``rows`` data rows."""
    lines = SAMPLE_EPW.read_text().splitlines(keepends=True)
    head = lines[0].split(",")
    head[6], head[7] = f"{lat:.6f}", f"{lon:.6f}"
    body = lines[8:] if rows is None else lines[8:8 + rows]
    path.write_text(",".join(head) + "".join(lines[1:8]) + "".join(body))
    return path


def write_raster(path: Path, array, x0=X0 - 20, y1=Y0 + 40, nodata=-9999.0, crs="EPSG:32632", georeferenced=True):
    profile = dict(driver="GTiff", width=array.shape[1], height=array.shape[0], count=1, dtype="float32", nodata=nodata)
    if georeferenced:
        profile.update(crs=crs, transform=Affine(1, 0, x0, 0, -1, y1))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.asarray(array, dtype="float32"), 1)
    return path


def with_weather(text: str, name: str = "w.epw") -> str:
    return text + f'[weather]\npath = "{name}"\n'


# ---------------------------------------------------------------------------------------------
# the corpus: (id, how to make the case from the 3-building district, what both must name);
# None: a good input both accept


def _gdf_edit(**cols):
    def make(d):
        footprints(**cols).to_file(d / "b.gpkg")
    return make


def _text(old, new, count=1):
    def make(d):
        s = d / "s.toml"
        t = s.read_text()
        assert old in t, old
        s.write_text(t.replace(old, new, count))
    return make


def _append(extra):
    def make(d):
        s = d / "s.toml"
        s.write_text(s.read_text() + extra)
    return make


def _both(*makers):
    def make(d):
        for m in makers:
            m(d)
    return make


def _weather(**kw):
    return _both(lambda d: write_weather(d / "w.epw", **kw), _append('[weather]\npath = "w.epw"\n'))


def _points(d):
    g = footprints()
    g["geometry"] = g.geometry.centroid
    g.to_file(d / "b.gpkg")


def _boundary_between(d):
    # overlaps the footprints' extent but holds no centroid
    gpd.GeoDataFrame(geometry=[box(X0 + 11, Y0 - 5, X0 + 19, Y0 + 15)], crs="EPSG:32632").to_file(d / "area.gpkg")
    _text('[boundary]\ntype = "none"', '[boundary]\ntype = "geographical"\npath = "area.gpkg"')(d)


def _far_boundary(d):
    gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)], crs="EPSG:32632").to_file(d / "far.gpkg")
    _text('[boundary]\ntype = "none"', '[boundary]\ntype = "geographical"\npath = "far.gpkg"')(d)


def _no_crs(d):
    footprints().to_file(d / "b.shp")
    (d / "b.prj").unlink()
    _text('path = "b.gpkg"', 'path = "b.shp"')(d)


def _cpg_mismatch(d):
    g = footprints(NAME=["Via Città", "Piazza Né", "Corso"])
    g.to_file(d / "b.shp", encoding="cp1252")
    (d / "b.cpg").write_text("UTF-8")
    _text('path = "b.gpkg"', 'path = "b.shp"')(d)


def _cp1252_without_cpg(d):
    _cpg_mismatch(d)
    (d / "b.cpg").unlink()  # and no language driver in the DBF: the encoding is guessed from the bytes


def _dsm_without_crs(d):
    write_raster(d / "dsm.tif", np.full((60, 100), 260.0), crs=None)
    write_raster(d / "dtm.tif", np.full((60, 100), 250.0))
    _append('[rasters]\ndsm = "dsm.tif"\ndtm = "dtm.tif"\n')(d)
    write_weather(d / "w.epw")
    _append('[weather]\npath = "w.epw"\n')(d)


def _dsm_cut_short(d):
    """A DSM whose header is whole but whose pixels end half-way (an interrupted download): found by
    tests/test_properties.py, it crashed the roof model with rasterio's 'Read failed'."""
    write_raster(d / "dsm.tif", np.full((600, 400), 260.0))
    write_raster(d / "dtm.tif", np.full((600, 400), 250.0))
    raw = (d / "dsm.tif").read_bytes()
    (d / "dsm.tif").write_bytes(raw[: len(raw) // 2])
    _append('[rasters]\ndsm = "dsm.tif"\ndtm = "dtm.tif"\n')(d)
    write_weather(d / "w.epw")
    _append('[weather]\npath = "w.epw"\n')(d)


def _empty_epw(d):
    (d / "w.epw").write_text("")
    _append('[weather]\npath = "w.epw"\n')(d)


def _leap_squeezed(d):
    import pandas as pd

    lines = SAMPLE_EPW.read_text().splitlines(keepends=True)
    out = []
    for t, row in zip(pd.date_range("2020-01-01", periods=8760, freq="h"), lines[8:], strict=True):
        f = row.split(",")
        f[0], f[1], f[2], f[3] = str(t.year), str(t.month), str(t.day), str(t.hour + 1)
        out.append(",".join(f))
    (d / "w.epw").write_text("".join(lines[:8] + out))
    _append('[weather]\npath = "w.epw"\n')(d)


def _station_field(d):
    write_weather(d / "w.epw")
    t = (d / "w.epw").read_text().split("\n", 1)
    head = t[0].split(",")
    head[6] = ""
    (d / "w.epw").write_text(",".join(head) + "\n" + t[1])
    _append('[weather]\npath = "w.epw"\n')(d)


def _garbage_epw(d):
    (d / "w.epw").write_text("LOCATION,x,-,x,x,x,45,8,1,250\nthis is not a weather file\n")
    _append('[weather]\npath = "w.epw"\n')(d)


def _float_ids(d):
    g = footprints(MI_PRINX=[100006475.0, 100006476.0, 100006477.0])
    g.to_file(d / "b.shp")
    _text('path = "b.gpkg"', 'path = "b.shp"')(d)
    _text('building_id = "ID"', 'building_id = "MI_PRINX"')(d)
    _text("default = true", 'buildings = ["100006475"]\ndefault = true')(d)


def _two_layers(d):
    footprints().to_file(d / "b.gpkg", layer="edifici")
    footprints().to_file(d / "b.gpkg", layer="altri")


def _shapefile(d, **kw):
    footprints().to_file(d / "b.shp", **kw)
    _text('path = "b.gpkg"', 'path = "b.shp"')(d)


def _zip_two(d):
    import zipfile

    for name in ("edifici", "altri"):
        footprints().to_file(d / f"{name}.shp")
    with zipfile.ZipFile(d / "b.zip", "w") as z:
        for f in d.iterdir():
            if f.stem in ("edifici", "altri"):
                z.write(f, f.name)
    _text('path = "b.gpkg"', 'path = "b.zip"')(d)


def _lines_boundary(d):
    gpd.GeoDataFrame(geometry=[LineString([(X0, Y0), (X0 + 60, Y0 + 10)])], crs="EPSG:32632").to_file(d / "area.gpkg")
    _text('[boundary]\ntype = "none"', '[boundary]\ntype = "geographical"\npath = "area.gpkg"')(d)


def _weather_rows(edit):
    """The sample EPW with ``edit(fields_of_data_row_13)`` applied."""
    def make(d):
        write_weather(d / "w.epw")
        lines = (d / "w.epw").read_text().splitlines(keepends=True)
        f = lines[8 + 12].split(",")
        edit(f, lines)
        lines[8 + 12] = ",".join(f)
        (d / "w.epw").write_text("".join(lines))
        _append('[weather]\npath = "w.epw"\n')(d)
    return make


NEW_USE = '[needs.overrides.retail_park]\nbased_on = "commercial"\nsh_kwh_m2 = 90.0\n[buildings.use_map]\n"office" = "retail_park"\n'

CORPUS = [
    # tests/test_cli.py
    ("missing_file", _text('path = "b.gpkg"', 'path = "missing.gpkg"'), "missing.gpkg"),
    ("unknown_key", _text("[pv]", "[pv]\nyield = 3"), "pv.yield: unknown key"),
    ("negative_area", _append('[district_systems.net]\ntechnology = "heat_network"\n[district_systems.st]\n'
                              'technology = "solar_thermal"\nnetwork = "net"\narea_m2 = -20.0\nyield_kwh_m2 = 400.0\n'),
     "district_systems.st.area_m2"),
    ("unknown_use_value", _gdf_edit(USE=["residential", "Uffici", "residential"]), "'uffici'"),
    ("unknown_carrier", _append('[systems.b]\nkind = "boiler"\ncarrier = "coal_gas"\nservices = ["sh"]\nuses = ["office"]\n'),
     'unknown carrier "coal_gas"'),
    ("scop_zero", _text("default = true", "default = true\nscop = 0.0"), "systems.hp.scop"),
    ("negative_yield", _text("1200.0", "-1.0"), "pv.specific_yield_kwh_kwp"),
    ("bad_toml", _text("[pv]", "[pv\n"), "not valid TOML"),
    # tests/test_pipeline.py
    ("sc_need_without_system", _text('services = ["sh", "sc", "dhw"]', 'services = ["sh", "dhw"]'), "no system covers 'sc'"),
    ("system_column_unknown", _both(_gdf_edit(SYS=["", "hp", "steam"]), _text('pv_kwp = "KWP"', 'pv_kwp = "KWP"\nsystem = "SYS"')),
     "names 'steam'"),
    ("system_ids_unknown", _text("default = true", 'buildings = ["a", "zz"]\ndefault = true'), "zz not in column 'ID'"),
    ("kwp_without_yield", _text("[pv]\nspecific_yield_kwh_kwp = 1200.0\n", ""), "pv_kwp without pv_kwh"),
    ("new_use_without_values", _both(_append('[needs.overrides.castle]\nsh_kwh_m2 = 10.0\n[buildings.use_map]\n'
                                             '"office" = "castle"\n')), 'new use type "castle"'),
    # tests/test_step1_inputs.py
    ("percentile", _append("[heights]\npercentile = 150.0\n"), "heights.percentile"),
    ("use_map_unknown_type", _append('[buildings.use_map]\n"office" = "palace"\n'), "palace"),
    ("boundary_far_away", _far_boundary, "do not overlap"),
    ("member_not_found", _text('[boundary]\ntype = "none"', '[boundary]\ntype = "functional"\nmembers = ["a", "99"]'),
     "boundary.members: 1 id(s) not found in the buildings: 99"),
    ("filter_column_missing", _text('[boundary]\ntype = "none"',
                                    '[boundary]\ntype = "functional"\n[boundary.filter]\nNETWORK = ["x"]'),
     "boundary.filter.NETWORK"),
    ("dsm_without_crs", _dsm_without_crs, "rasters.dsm"),
    # tests/test_vector_io.py
    ("buildings_without_crs", _no_crs, "no coordinate reference system"),
    ("two_layers", _two_layers, "pedgis cannot tell which holds the buildings"),
    ("unknown_layer", _both(_two_layers, _text('path = "b.gpkg"', 'path = "b.gpkg"\nlayer = "nope"')),
     "layer 'nope' not found"),
    ("not_a_vector_file", lambda d: (d / "b.gpkg").write_text("not a GeoPackage"), "b.gpkg"),
    ("unknown_encoding", _both(_shapefile, _text('path = "b.shp"', 'path = "b.shp"\nencoding = "nope"')),
     "buildings.encoding: unknown encoding 'nope'"),
    ("dbf_missing", _both(_shapefile, lambda d: (d / "b.dbf").unlink()), "attribute table (.dbf) is missing"),
    ("bad_crs_given", _both(_no_crs, _text('path = "b.shp"', 'path = "b.shp"\ncrs = "EPSG:999999"')),
     "buildings.crs: 'EPSG:999999' is not a CRS"),
    ("zip_with_two_shapefiles", _zip_two, "the archive holds 2 shapefiles"),
    ("unparseable_crs_beside_the_files_own", _text('path = "b.gpkg"', 'path = "b.gpkg"\ncrs = "x"'),
     "buildings.crs: 'x' is not a CRS"),  # found by mutating the scenario: used to be a pyproj traceback
    ("column_not_in_file", _text('use = "USE"', 'use = "USO"'), "buildings.columns.use: column 'USO' not in"),
    # tests/test_boundaries.py
    ("functional_without_members", _text('[boundary]\ntype = "none"', '[boundary]\ntype = "functional"'),
     "a functional boundary needs its members"),
    ("boundary_of_lines", _lines_boundary, "no usable polygon"),
    ("storey_height_of_unknown_use", _append("[heights.storey_height_m_by_use]\ncastle = 3.0\n"),
     "heights.storey_height_m_by_use.castle"),
    # tests/solar/test_weather_io.py
    ("leap_year_squeezed", _leap_squeezed, "29 February"),
    ("station_field_missing", _station_field, "station field 'latitude'"),
    ("garbage_epw", _garbage_epw, "0 weather rows, expected 8760"),
    ("weather_gap", _weather_rows(lambda f, lines: f.__setitem__(13, "")), "1 missing values in 'ghi'"),
    ("weather_duplicated_hour", _weather_rows(lambda f, lines: f.__setitem__(3, lines[8 + 11].split(",")[3])),
     "duplicated timestamp"),
    ("weather_latitude_95", _weather(lat=95.0), "latitude 95.0 / longitude 8.0 out of range"),
    ("weather_unknown_format", _both(lambda d: (d / "w.txt").write_text("x"), _append('[weather]\npath = "w.txt"\n')),
     "unknown weather format '.txt'"),
    # tests/solar/test_solar_cli_pipeline.py
    ("rooftop_without_weather", _both(lambda d: write_raster(d / "dsm.tif", np.full((60, 100), 260.0)),
                                      _append('[rasters]\ndsm = "dsm.tif"\n')),
     "weather.path: rooftop PV from [rasters] needs an hourly weather year"),
    ("solar_key_typo", _append("[solar]\nmodule_eficiency = 0.2\n"), "solar.module_eficiency: unknown key"),
    # tests/timeseries (schema cross checks)
    ("district_battery_without_sharing", _append('[storage.battery]\ncapacity_kwh = 100.0\nlevel = "district"\n'
                                                 '[sharing]\nenabled = false\n'), "storage.battery.level"),
    ("custom_ev_profile_missing", _append('[ev]\ncharging = "custom"\n'), "ev.profile"),
    ("cop_curve_of_a_boiler", _append('[systems.gas_boilers]\nkind = "boiler"\ncarrier = "natural_gas"\nservices = ["dhw"]\n'
                                      'uses = ["office"]\n[timeseries.cop_curves.gas_boilers]\ntemp_c = [-7.0, 7.0]\n'
                                      'cop = [2.5, 3.5]\n'), "timeseries.cop_curves.gas_boilers"),
    ("monthly_factors_11_values", _append("[timeseries.factors.electricity]\npef_nren_monthly = "
                                          "[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]\n"),
     "give 12 monthly values, got 11"),
    ("variant_named_baseline", _append("[variants.baseline]\npv.tilt_deg = 20.0\n"), '"baseline" is the base scenario'),
    ("unknown_factor_set_to_try", _append('[uncertainty]\npef_sets = ["XX"]\n'), "uncertainty.pef_sets"),
    # tests/test_config.py
    ("degree_days_without_data", _append('[needs]\nmethod = "degree_days"\n'), "degree_days needs"),
    ("chp_without_fuel", _append('[district_systems.net]\ntechnology = "heat_network"\n[district_systems.chp]\n'
                                 'technology = "chp"\nnetwork = "net"\n'), "district_systems.chp.fuel"),
    ("flat_tilt_75", _append("[solar]\nflat_tilt_deg = 75.0\n"), "solar.flat_tilt_deg: must be ≤ 60"),
    # issue 11, items 4 and 5
    ("truncated_epw", _weather(rows=5000), "5000 weather rows, expected 8760"),
    ("based_on", _append(NEW_USE), None),
    ("all_points", _points, "none of its 3 features is a footprint polygon"),
    ("no_building_included", _boundary_between, "none of the 3 buildings is included"),
    ("weather_other_hemisphere", _weather(lat=-33.9, lon=18.4), "in the other hemisphere"),
    ("weather_2000_km", _weather(lat=63.0, lon=8.0), "far_from_site = true"),
    ("weather_60_km_warns", _weather(lat=45.55, lon=8.0), None),
    ("weather_far_intended", _both(_weather(lat=-33.9, lon=18.4), _append("far_from_site = true\n")), None),
    ("negative_pv_kwp", _gdf_edit(KWP=[3.0, -5.0, 10.0]), "buildings.columns.pv_kwp"),
    ("public_lighting_1e300", _append("[checklist]\npublic_lighting = true\npublic_lighting_kwh = 1e300\n"),
     "checklist.public_lighting_kwh: must be ≤ 1e+11"),
    ("cpg_mismatch", _cpg_mismatch, 'buildings.encoding = "cp1252"'),
    ("float_id_column", _float_ids, None),
    ("shapefile_without_cpg", _cp1252_without_cpg, None),  # a warning of step 1
    # issue 12: the [solar] section is parsed by the checker (it was parsed by the run: validate said OK)
    ("solar_shares_over_one", _both(lambda d: write_raster(d / "dsm.tif", np.full((60, 100), 260.0)),
                                    _append('[rasters]\ndsm = "dsm.tif"\n[solar]\nshare_pv = 0.8\nshare_solar_thermal = 0.4\n')),
     "solar.share_pv: share_pv + share_solar_thermal + share_pvt = 1.200 > 1"),
    # found by the property-based tests (tests/test_properties.py)
    ("dsm_cut_short", _dsm_cut_short, "the file is damaged or incomplete"),
    ("empty_epw", _empty_epw, "w.epw"),
]


@pytest.mark.parametrize("make, names", [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_validate_and_run_give_the_same_verdict(tmp_path, capsys, make, names):
    scenario = district(tmp_path)
    make(tmp_path)
    vcode, vout, rcode, rerr = validate_and_run(capsys, scenario)
    assert vcode in (0, 1) and rcode in (0, 2), (vcode, rcode, vout, rerr)
    assert (vcode == 1) == (rcode == 2), f"validate {vcode}, run {rcode}\n--- validate\n{vout}\n--- run\n{rerr}"
    assert "Traceback" not in vout + rerr
    if names is None:
        assert vcode == 0 and rcode == 0, vout + rerr
        assert (tmp_path / "out" / "district.json").exists()
    else:
        assert vcode == 1, vout
        assert names in vout, vout
        assert names in rerr, rerr
        assert rerr.startswith("pedgis: error:") or "\npedgis: error:" in rerr
        assert not (tmp_path / "out").exists(), "nothing is written on bad input"


# ---------------------------------------------------------------------------------------------
# item 4, point by point


def test_point_footprints_are_an_error_and_mixed_rows_are_kept_excluded(tmp_path, capsys):
    scenario = district(tmp_path)
    _points(tmp_path)
    vcode, vout, rcode, rerr = validate_and_run(capsys, scenario)
    assert (vcode, rcode) == (1, 2)
    assert "b.gpkg: none of its 3 features is a footprint polygon (3 × not a polygon (Point))" in rerr
    assert "give the footprint file in buildings.path" in rerr
    # a mixed file: the point and the open line stay as excluded rows, with their reason
    g = footprints()
    g.loc[0, "geometry"] = Point(X0 + 5, Y0 + 5)
    g.loc[2, "geometry"] = LineString([(X0 + 50, Y0), (X0 + 60, Y0), (X0 + 60, Y0 + 10)])  # an open outline
    g.to_file(tmp_path / "b.gpkg")
    vcode, vout, rcode, rerr = validate_and_run(capsys, scenario)
    assert (vcode, rcode) == (0, 0), vout + rerr
    out = gpd.read_file(tmp_path / "out" / "buildings.gpkg", layer="buildings").set_index("building_id")
    assert len(out) == 3  # nothing dropped
    assert not out.loc["a", "included"] and out.loc["a", "exclusion_reason"] == "not a polygon (Point)"
    assert not out.loc["c", "included"] and out.loc["c", "exclusion_reason"].startswith("not a polygon (LineString")
    assert out.loc["b", "included"]


def _excluded_district(tmp_path, extra=""):
    """The 3 buildings computed with every one excluded (the engine's library call)."""
    from pedgis.boundaries import STEP1_COLUMNS
    from pedgis.config import load_scenario
    from pedgis.pipeline import compute, resolve_model, run

    scenario = load_scenario(district(tmp_path, SCENARIO + extra))
    result = run(scenario)
    b = result.buildings[[*STEP1_COLUMNS, "pv_kwp", "geometry"]].copy()
    b["included"] = False
    b["exclusion_reason"] = "outside"
    return result, *compute(b, resolve_model(scenario))


def test_a_district_without_buildings_is_never_positive_and_every_page_draws(tmp_path):
    from pedgis.cli import summary_text
    from pedgis.io.outputs import write_outputs
    from pedgis.pipeline import DistrictResult

    # a PV field exports 100,000 kWh: the balance is negative, yet no building is included
    field = ('[district_systems.field]\ntechnology = "pv_field"\noutput_kwh = 100000.0\n')
    base, buildings, d = _excluded_district(tmp_path, field)
    assert d["ped_balance_kwh"] < 0
    assert d["is_ped"] is False and d["objective_met"] is False
    assert "a PED is made of buildings" in d["verdict_note"]
    result = DistrictResult(buildings=buildings, boundary=base.boundary, district=d, scenario=base.scenario)
    assert "NOT a positive energy district (no building is included" in summary_text(result)
    out = write_outputs(result, tmp_path / "out")
    for page in ("map.html", "report.html"):
        assert "Not (yet) a Positive Energy District" in (out / page).read_text(encoding="utf-8"), page
    assert "not (yet) a Positive Energy District" in (out / "sankey.html").read_text(encoding="utf-8")
    # nothing at all flows (no district system, no building): every page still draws
    (tmp_path / "bare").mkdir()
    base, buildings, d = _excluded_district(tmp_path / "bare")
    result = DistrictResult(buildings=buildings, boundary=base.boundary, district=d, scenario=base.scenario)
    out = write_outputs(result, tmp_path / "out2")
    assert "No energy flows" in (out / "sankey.html").read_text(encoding="utf-8")
    assert (out / "map.html").exists() and (out / "report.html").exists()
    assert "NOT a positive energy district" in summary_text(result)


def _haversine_km(lat1, lon1, lat2, lon2, r=6371.0088):
    """Great-circle distance on the mean-radius sphere (IUGG), an independent check of the
    geodesic the checker computes on the WGS84 ellipsoid (they agree within 0.5 %)."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _km_in(text):
    return float(re.search(r"lies ([\d,]+) km", text).group(1).replace(",", ""))


def test_weather_far_from_the_district(tmp_path, capsys):
    # the district's centroid: footprint centroids x = 5, 30, 55 m weighted by 100, 200, 100 m² -> 30 m; y = 5 m
    lon, lat = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True).transform(X0 + 30, Y0 + 5)
    scenario = district(tmp_path, with_weather(SCENARIO))
    write_weather(tmp_path / "w.epw", lat=45.55, lon=8.0)  # ≈ 61 km north: a warning
    code, out, _ = cli(capsys, "validate", scenario)
    assert code == 0 and "weather station (45.550°, 8.000°) lies" in out and "more than 50 km" in out
    assert _km_in(out) == pytest.approx(_haversine_km(lat, lon, 45.55, 8.0), rel=0.005)
    code, _, err = cli(capsys, "run", scenario, "--out", tmp_path / "out", "--quiet")
    assert code == 0 and "pedgis: warning:" in err and "more than 50 km" in err
    write_weather(tmp_path / "w.epw", lat=58.5, lon=8.0)  # ≈ 1,500 km: refused
    code, out, _ = cli(capsys, "validate", scenario)
    assert code == 1 and "far_from_site = true" in out
    assert _km_in(out) == pytest.approx(_haversine_km(lat, lon, 58.5, 8.0), rel=0.005)
    write_weather(tmp_path / "w.epw", lat=-0.3, lon=8.0)  # across the equator, 5,000 km
    code, out, _ = cli(capsys, "validate", scenario)
    assert code == 1 and "in the other hemisphere" in out
    # said to be intended: a warning, no more
    (tmp_path / "s.toml").write_text(with_weather(SCENARIO) + "far_from_site = true\n", encoding="utf-8")
    code, out, _ = cli(capsys, "validate", scenario)
    assert code == 0 and "in the other hemisphere" in out


def test_dsm_values_outside_the_physical_range_are_nodata_with_a_warning(tmp_path, capsys):
    dtm = np.full((60, 100), 250.0)
    dsm = dtm + 0.2
    dsm[30:40, 20:30] = 250.0 + 9.0  # building a (x 0–10, y 0–10 from X0, Y0): 9 m high
    dsm[30:40, 40:60] = -9999.0  # building b: an undeclared nodata value
    write_raster(tmp_path / "dsm.tif", dsm, nodata=None)
    write_raster(tmp_path / "dtm.tif", dtm)
    text = SCENARIO.replace('floors = "FLOORS"\n', "") + '[rasters]\ndsm = "dsm.tif"\ndtm = "dtm.tif"\n[solar]\n' \
        'apply_potential = false\nmax_distance_m = 20.0\n'
    scenario = district(tmp_path, with_weather(text), gdf=footprints().drop(columns="FLOORS"))
    write_weather(tmp_path / "w.epw")
    code, out, _ = cli(capsys, "validate", scenario)
    assert code == 0
    assert re.search(r"rasters.dsm: \S*dsm.tif: 200 of 6,000 pixels \(3.3%\) lie outside the physical range of an "
                     r"elevation \(-500 to 9000 m; values -9999\)", out), out
    code, _, err = cli(capsys, "run", scenario, "--out", tmp_path / "out", "--quiet")
    assert code == 0 and "dsm.tif: 200 of 6,000 pixels" in err
    b = gpd.read_file(tmp_path / "out" / "buildings.gpkg", layer="buildings").set_index("building_id")
    assert "values outside the physical range of the raster (-500 to 9000 m, taken as nodata)" in b.loc["b", "flags"]
    assert "raster nodata" not in b.loc["b", "flags"] and b.loc["b", "height_source"] == "default", b.loc["b", "flags"]
    assert b.loc["a", "height_m"] == pytest.approx(9.0)  # its pixels are fine


def test_negative_pv_attributes_are_refused(tmp_path, capsys):
    scenario = district(tmp_path, gdf=footprints(KWP=[3.0, -5.0, -1.5]))
    vcode, vout, rcode, rerr = validate_and_run(capsys, scenario)
    assert (vcode, rcode) == (1, 2)
    assert ("b.gpkg: column 'KWP' (buildings.columns.pv_kwp, the installed PV peak power [kWp]) has 2 negative "
            "value(s) in feature(s) 2, 3 (building ids b, c): e.g. -5") in rerr


def test_every_numeric_key_has_a_documented_range(tmp_path, capsys):
    from pedgis import config

    numeric = [k for k in config.SCHEMA if k.type in ("float", "int", "list[float]")]
    assert len(numeric) > 100
    missing = [k.path for k in numeric if k.min is None or k.max is None]
    assert not missing, f"numeric keys without a min and a max: {missing}"
    doc = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    rows = {}
    section = None
    for line in doc.splitlines():
        if line.startswith("## `["):
            section = line[5:-2]
        elif line.startswith("| `") and section:
            rows[f"{section}.{line.split('`')[1]}"] = line
    for k in numeric:
        row = rows[k.path]
        assert re.search(r"[≥>] -?[\d.e+]+, [≤<] -?[\d.e+]+", row), row
    scenario = district(tmp_path, SCENARIO + "[checklist]\npublic_lighting = true\npublic_lighting_kwh = 1e300\n")
    vcode, vout, rcode, rerr = validate_and_run(capsys, scenario)
    assert (vcode, rcode) == (1, 2) and "checklist.public_lighting_kwh: must be ≤ 1e+11 [kWh a⁻¹], got 1e+300" in rerr


def _polygon_m_shapefile(src: Path, dst: Path) -> Path:
    """``src`` (a Polygon shapefile) rewritten as PolygonM (shape type 25, M = 0), as cadastral
    exports often are: pyogrio cannot write M, so the .shp and .shx are written here (ESRI
    Shapefile Technical Description, 1998)."""
    data = src.read_bytes()
    records, pos = [], 100
    while pos < len(data):
        n = struct.unpack(">i", data[pos + 4:pos + 8])[0] * 2
        content = data[pos + 8:pos + 8 + n]
        n_points = struct.unpack("<i", content[40:44])[0]
        records.append(struct.pack("<i", 25) + content[4:] + struct.pack("<2d", 0.0, 0.0) + bytes(8 * n_points))
        pos += 8 + n
    shp, shx, offset = [], [], 50
    for i, c in enumerate(records):
        shp.append(struct.pack(">2i", i + 1, len(c) // 2) + c)
        shx.append(struct.pack(">2i", offset, len(c) // 2))
        offset += 4 + len(c) // 2

    def header(length_words):
        return (struct.pack(">i", 9994) + bytes(20) + struct.pack(">i", length_words) + struct.pack("<2i", 1000, 25)
                + data[36:68] + struct.pack("<4d", 0.0, 0.0, 0.0, 0.0))

    body = b"".join(shp)
    dst.with_suffix(".shp").write_bytes(header(50 + len(body) // 2) + body)
    dst.with_suffix(".shx").write_bytes(header(50 + 4 * len(shx)) + b"".join(shx))
    for ext in (".dbf", ".prj", ".cpg"):
        shutil.copy(src.with_suffix(ext), dst.with_suffix(ext))
    return dst.with_suffix(".shp")


def test_library_warnings_reach_the_user_as_pedgis_warnings(tmp_path, capsys):
    # a PolygonM shapefile (pyogrio: "Measured (M) geometry types are not supported"), a
    # self-intersecting footprint, and a DSM without any georeferencing (rasterio's
    # NotGeoreferencedWarning)
    g = footprints()
    g.loc[1, "geometry"] = Polygon([(X0 + 20, Y0), (X0 + 40, Y0 + 10), (X0 + 40, Y0), (X0 + 20, Y0 + 10)])  # a bow-tie
    g.to_file(tmp_path / "plain.shp")
    _polygon_m_shapefile(tmp_path / "plain.shp", tmp_path / "b.shp")
    write_raster(tmp_path / "dsm.tif", np.full((60, 100), 260.0), georeferenced=False)
    write_weather(tmp_path / "w.epw")
    scenario = district(tmp_path, with_weather(SCENARIO.replace('path = "b.gpkg"', 'path = "b.shp"'))
                        + '[rasters]\ndsm = "dsm.tif"\n', gdf=footprints())
    vcode, vout, rcode, rerr = validate_and_run(capsys, scenario)
    assert (vcode, rcode) == (1, 2)  # the DSM has no CRS
    for text in (vout, rerr):
        assert "b.shp: Measured (M) geometry types are not supported" in text and "(UserWarning from pyogrio)" in text
        assert "dsm.tif: Dataset has no geotransform" in text and "(NotGeoreferencedWarning from rasterio)" in text
    # no Python-style warning: no "file.py:123:" prefix, no "SomeWarning:" line, no source line
    for line in rerr.splitlines():
        assert line.startswith("pedgis: "), line
        assert not re.search(r"\.py:\d+:|^\w*Warning:", line), line


def _epw_tmy3_leap(tmp_path) -> Path:
    """pvlib's TMY3 sample re-dated to 2020 from 1 January on: 29 February in, 31 December out."""
    import pandas as pd
    import pvlib

    lines = (Path(pvlib.__file__).parent / "data" / "723170TYA.CSV").read_text().splitlines(keepends=True)
    out = []
    for t, row in zip(pd.date_range("2020-01-01 01:00", periods=8760, freq="h"), lines[2:], strict=True):
        f = row.split(",")
        day = t - pd.Timedelta(days=1) if t.hour == 0 else t  # TMY3 labels the hour's end: 24:00
        f[0], f[1] = day.strftime("%m/%d/%Y"), f"{24 if t.hour == 0 else t.hour:02d}:00"
        out.append(",".join(f))
    p = tmp_path / "leap_tmy3.csv"
    p.write_text("".join(lines[:2] + out))
    return p


def test_leap_day_in_8760_rows_is_named(tmp_path):
    import json as _json

    from pedgis.errors import InputDataError
    from pedgis.io.weather import read_weather

    # TMY3: pvlib moves 29 February to 1 March, which used to read "duplicated timestamp 2020-03-01"
    with pytest.raises(InputDataError, match=r"8760 rows but the dates include 29 February \(24 rows\), so another "
                                             r"day is missing \(missing: 31 December\).*full 8784-row leap year"):
        read_weather(_epw_tmy3_leap(tmp_path))
    # PVGIS JSON whose February comes from 2020 with its 29th (and no 28th): used to crash
    pl = _json.loads((ROOT / "tests" / "solar" / "data" / "pvgis_tmy_45.000_8.000.json").read_text())
    for r in pl["outputs"]["tmy_hourly"]:
        if r["time(UTC)"][4:6] == "02":
            r["time(UTC)"] = "2020" + r["time(UTC)"][4:].replace("28:", "29:", 1) if r["time(UTC)"][6:8] == "28" \
                else "2020" + r["time(UTC)"][4:]
    (tmp_path / "leap.json").write_text(_json.dumps(pl))
    with pytest.raises(InputDataError, match=r"29 February \(24 rows\).*missing: 28 February"):
        read_weather(tmp_path / "leap.json")


def test_validate_notes_show_numbers(tmp_path, capsys):
    # building c has no floors: default 3 floors (heights.default_floors); two rows share id "b"
    g = footprints(FLOORS=[2.0, 3.0, np.nan])
    g = gpd.GeoDataFrame(
        [*g.to_dict("records"), {**g.iloc[1].to_dict(), "geometry": box(X0 + 40, Y0, X0 + 45, Y0 + 10)}], crs=g.crs)
    code, out, _ = cli(capsys, "validate", district(tmp_path, gdf=g))
    assert code == 0
    assert "height and floors unknown: default 3 floors for use residential" in out
    assert "building split over 2 rows: parts merged" in out
    assert not re.search(r"\bn (floors|rows|m)\b", out), out


def test_summary_says_why_a_ratio_is_not_available():
    from pedgis.timeseries.report import summary_lines

    ts = {"timestep": "annual",
          "netting": {"annual": {"is_ped": False}, "hourly": {"is_ped": False},
                      "monthly": {"is_ped": False, "worst_month": 1, "worst_month_balance_kwh": 1.0,
                                  "uncompensated_pei_kwh": 1.0}},
          "electricity": {"self_sufficiency": 0.0, "self_consumption": float("nan"), "peak_import_kw": 5.0,
                          "peak_export_kw": 0.0, "hours_net_export": 0}}
    text = "\n".join(summary_lines(ts, lambda v: f"{v:g} kWh"))
    assert "self-consumption n/a (no on-site generation)" in text and "nan" not in text
    assert "self-sufficiency 0 %" in text


def test_run_leaves_pv_unknown_outside_the_dsm(tmp_path, capsys):
    # the DSM covers buildings a and b; c lies east of it
    dtm = np.full((60, 65), 250.0)  # x from X0 - 20 to X0 + 45: c (X0 + 50 to 60) is outside
    dsm = dtm.copy()
    dsm[30:40, 20:30] += 6.0
    dsm[30:40, 40:60] += 9.0
    write_raster(tmp_path / "dsm.tif", dsm)
    write_raster(tmp_path / "dtm.tif", dtm)
    write_weather(tmp_path / "w.epw")
    text = with_weather(SCENARIO.replace('pv_kwp = "KWP"\n', "")) + \
        '[rasters]\ndsm = "dsm.tif"\ndtm = "dtm.tif"\n[solar]\nmax_distance_m = 20.0\n'
    scenario = district(tmp_path, text)
    code, out, _ = cli(capsys, "validate", scenario)  # said before the run
    assert code == 0 and "dsm.tif covers 2 of the 3 included buildings; 1 lie outside it and get no rooftop PV" in out
    code, out, err = cli(capsys, "run", scenario, "--out", tmp_path / "out", "--quiet")
    assert code == 0, err
    b = gpd.read_file(tmp_path / "out" / "buildings.gpkg", layer="buildings").set_index("building_id")
    assert b.loc["a", "pv_kwh"] > 0 and b.loc["b", "pv_kwh"] > 0
    assert math.isnan(b.loc["c", "pv_kwh"]) and math.isnan(b.loc["c", "pv_kwp"])  # unknown, not 0
    assert b.loc["c", "pv_no_estimate"] and "no rooftop PV estimate (NaN)" in b.loc["c", "flags"]
    d = json.loads((tmp_path / "out" / "district.json").read_text())
    assert d["n_pv_no_estimate"] == 1
    # the district counts the PV of a and b only
    assert d["eep_res_kwh"] == pytest.approx(b.loc["a", "pv_kwh"] + b.loc["b", "pv_kwh"], rel=1e-9)
    assert "rooftop PV: 1 included building(s) without an estimate" in out


def test_float_id_column_gives_integer_ids(tmp_path, capsys):
    g = footprints(MI_PRINX=[100006475.0, 100006476.0, 12.5])
    g.to_file(tmp_path / "b.shp")  # a DBF numeric field, read back as float
    assert gpd.read_file(tmp_path / "b.shp")["MI_PRINX"].dtype.kind == "f"
    text = SCENARIO.replace('path = "b.gpkg"', 'path = "b.shp"').replace('building_id = "ID"', 'building_id = "MI_PRINX"')
    scenario = district(tmp_path, text.replace("default = true", 'buildings = ["100006476"]\ndefault = true'), gdf=g)
    vcode, vout, rcode, rerr = validate_and_run(capsys, scenario)
    assert (vcode, rcode) == (0, 0), vout + rerr
    ids = gpd.read_file(tmp_path / "out" / "buildings.gpkg", layer="buildings")["building_id"].tolist()
    assert ids == ["100006475", "100006476", "12.5"]
    # pedgis pv --id-column writes the same ids
    dsm = np.full((60, 100), 256.0)
    write_raster(tmp_path / "dsm.tif", dsm)
    write_weather(tmp_path / "w.epw")
    code, _, err = cli(capsys, "pv", "--buildings", tmp_path / "b.shp", "--dsm", tmp_path / "dsm.tif", "--weather",
                       tmp_path / "w.epw", "--id-column", "MI_PRINX", "--out", tmp_path / "pv", "--quiet")
    assert code == 0, err
    ids = gpd.read_file(tmp_path / "pv" / "buildings.gpkg", layer="buildings")["building_id"].tolist()
    assert sorted(ids) == ["100006475", "100006476", "12.5"]


def test_step1_run_ahead_in_the_page_process_gives_the_same_check(tmp_path):
    """`pedgis run` has its page process check step 1 while it reads the weather and the model
    (pipeline.Step1Ahead): over the whole corpus, the check is the same as done in one process,
    problem by problem (severity, key, text, warning class) and the step-1 table. A fork needs a
    process without other threads, so the comparison runs in a fresh interpreter."""
    import subprocess
    import sys
    import textwrap

    cases = []
    for name, make, _ in CORPUS:
        d = tmp_path / name
        d.mkdir()
        scenario = district(d)
        make(d)
        cases.append(str(scenario))
    code = textwrap.dedent("""
        import json, sys, warnings
        import pandas as pd
        from pedgis.config import load_scenario
        from pedgis.errors import PedgisError
        from pedgis.io.page_worker import page_process
        from pedgis.pipeline import Step1Ahead, check_inputs

        def seen(chk):
            return [[p.severity, p.where, p.message, getattr(p.category, "__name__", str(p.category))]
                    for p in chk.problems]

        out = {}
        for path in sys.argv[1:]:
            try:
                scenario = load_scenario(path)
            except PedgisError:
                out[path] = "not loaded"  # `pedgis run` stops here too, before any check
                continue
            here = check_inputs(scenario)
            ahead = Step1Ahead(scenario)  # whatever the buildings file (for_district asks for a small one)
            with page_process(print, first=ahead) as pages:
                assert pages is not None
                ahead.outcome = pages.first_outcome
                forked = check_inputs(scenario, step1_ahead=ahead)
            same_table = (here.step1 is None) == (forked.step1 is None)
            if same_table and here.step1 is not None:
                try:
                    pd.testing.assert_frame_equal(here.step1.buildings, forked.step1.buildings)
                except AssertionError:
                    same_table = False
            out[path] = {"here": seen(here), "forked": seen(forked), "same_table": same_table}
        print(json.dumps(out))
    """)
    r = subprocess.run([sys.executable, "-c", code, *cases], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    checked = set()
    for (name, _, _), path in zip(CORPUS, cases, strict=True):
        got = out[path]
        if got == "not loaded":
            continue
        checked.add(name)
        assert got["forked"] == got["here"], name
        assert got["same_table"], name
    # step 1's own problems and warnings among them (file, columns, uses, boundary, rasters, encoding)
    assert {"two_layers", "unknown_use_value", "boundary_far_away", "dsm_without_crs", "cpg_mismatch",
            "float_id_column", "all_points", "no_building_included", "member_not_found",
            "shapefile_without_cpg"} <= checked, sorted(checked)
    assert any("no .cpg file" in p[2] for p in out[cases[[c[0] for c in CORPUS].index("shapefile_without_cpg")]]["here"])


def test_step1_runs_ahead_only_for_a_districts_gpkg_or_shapefile(tmp_path):
    """Only a GeoPackage or Shapefile whose header counts at most the page process's limit of
    buildings has its step 1 checked ahead; a city, an archive or an unreadable file stays in
    the command's process (where the check says what is wrong)."""
    from pedgis.config import load_scenario
    from pedgis.pipeline import Step1Ahead

    scenario = load_scenario(district(tmp_path))
    ahead = Step1Ahead.for_district(scenario, max_buildings=3)
    assert ahead is not None and ahead.setup.buildings.path.name == "b.gpkg"
    assert Step1Ahead.for_district(scenario, max_buildings=2) is None  # 3 footprints: a "city" here
    for make in (_zip_two, lambda d: (d / "b.gpkg").write_text("not a GeoPackage")):
        d = tmp_path / f"case{id(make)}"
        d.mkdir()
        s = district(d)
        make(d)
        assert Step1Ahead.for_district(load_scenario(s), max_buildings=10) is None


def test_the_warnings_of_checks_made_ahead_are_collected_where_they_belong(tmp_path):
    """The warnings each part of the ahead check raised (step 1, the rasters' range scan) become
    the check's problems under that part's file, as when raised here; a library's keeps its
    library's name (the file it came from travels with it)."""
    import warnings as w

    from pedgis.config import load_scenario
    from pedgis.errors import DataQualityWarning, portable, recorded_warnings
    from pedgis.pipeline import AheadChecks, Step1Ahead, check_inputs

    scenario = load_scenario(district(tmp_path))
    ahead = Step1Ahead(scenario)
    checked = ahead()
    with recorded_warnings() as step1_caught:
        w.warn("b.gpkg: a repair step 1 made", DataQualityWarning, stacklevel=2)
    with recorded_warnings() as ranges_caught:
        w.warn_explicit("odd tag", UserWarning, "/x/site-packages/rasterio/__init__.py", 1)
    made = AheadChecks(checked.step1, portable(step1_caught), checked.ranges, portable(ranges_caught))
    calls = []
    ahead.outcome = lambda replay=True: calls.append(replay) or made
    chk = check_inputs(scenario, step1_ahead=ahead)
    assert calls == [True]
    got = {(p.where, p.message) for p in chk.problems}
    assert (str(tmp_path / "b.gpkg"), "b.gpkg: a repair step 1 made") in got
    assert (chk.where, f"{chk.where}: odd tag (UserWarning from rasterio)") in got
