"""Loading a result or an output folder; `pedgis map` / `python -m pedgis.viz`."""

import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
from district_fixture import pedgis_output, write_folder
from rasterio.transform import from_origin

from pedgis.errors import CRSError, InputDataError
from pedgis.viz import cli, write_all
from pedgis.viz.inputs import load_inputs, read_raster


def test_result_object_and_folder_give_the_same_inputs(out_folder):
    f = load_inputs(out_folder)
    prof = {"transform": f.irradiation.transform, "crs": f.irradiation.crs, "nodata": None}
    result = SimpleNamespace(buildings=f.buildings, boundary=f.boundary,
                             roof_segments=f.roof_segments,
                             district={**f.district, "n_buildings": np.int64(24)},
                             irradiation=(f.irradiation.array, prof))
    r = load_inputs(result)
    assert r.district == f.district  # numpy scalars become plain JSON values
    np.testing.assert_array_equal(r.irradiation.array, f.irradiation.array)
    # nodata read as NaN, never 0
    assert np.isnan(f.irradiation.array).any() and not (f.irradiation.array == 0).any()


def test_rooftop_result_as_irradiation(out_folder):
    f = load_inputs(out_folder)
    # the shape of pedgis.solar.rooftop.RooftopResult: irradiation array + transform + crs
    rooftop = SimpleNamespace(irradiation=f.irradiation.array.astype("float32"),
                              sky_view=np.zeros(2), transform=f.irradiation.transform,
                              crs=f.irradiation.crs, buildings=None)
    r = load_inputs(SimpleNamespace(buildings=f.buildings, district=f.district,
                                    irradiation=rooftop))
    np.testing.assert_array_equal(r.irradiation.array, f.irradiation.array)
    assert r.irradiation.transform == f.irradiation.transform


def test_bad_result_objects():
    with pytest.raises(InputDataError, match="has no 'district' and 'buildings'"):
        load_inputs(SimpleNamespace(foo=1))
    with pytest.raises(InputDataError, match="result.irradiation: expected"):
        load_inputs(SimpleNamespace(buildings=[], district={}, irradiation=42))
    with pytest.raises(InputDataError, match="has no 'transform' or 'crs'"):
        load_inputs(SimpleNamespace(buildings=[], district={},
                                    irradiation=(np.zeros((2, 2)), {"crs": None})))


def test_folder_errors(tmp_path):
    with pytest.raises(InputDataError, match="no such output folder"):
        load_inputs(tmp_path / "nope")
    with pytest.raises(InputDataError, match="district.json: missing"):
        load_inputs(tmp_path)
    folder = write_folder(tmp_path / "f", n=3, raster=False)
    (folder / "district.json").write_text("{broken")
    with pytest.raises(InputDataError, match="district.json: not valid JSON"):
        load_inputs(folder)


def test_gpkg_without_buildings_layer(tmp_path, out_folder):
    import geopandas as gpd

    folder = tmp_path / "g"
    folder.mkdir()
    shutil.copy(out_folder / "district.json", folder)
    gpd.read_file(out_folder / "buildings.gpkg", layer="boundary").to_file(
        folder / "buildings.gpkg", layer="boundary")
    with pytest.raises(InputDataError, match="has no layer 'buildings'"):
        load_inputs(folder)


def test_raster_without_crs(tmp_path):
    p = tmp_path / "irradiation.tif"
    with rasterio.open(p, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32",
                       transform=from_origin(0, 2, 1, 1)) as dst:
        dst.write(np.ones((2, 2), "float32"), 1)
    with pytest.raises(CRSError, match="the raster has no coordinate reference system"):
        read_raster(p)


def test_cli_rerenders_with_another_indicator(tmp_path, out_folder, capsys):
    folder = pedgis_output(out_folder, tmp_path / "out")
    assert cli.main([str(folder), "--indicator", "pv_kwh_m2", "--title", "Quartiere <Nord>"]) == 0
    out = capsys.readouterr().out
    for name in ("map.html", "sankey.html", "report.html"):
        assert f"wrote {folder / name}" in out
        assert (folder / name).stat().st_size > 1000
    text = (folder / "map.html").read_text("utf-8")
    cfg = json.loads(text.split("var cfg = ", 1)[1].split(";\n", 1)[0])
    assert cfg["indicators"][cfg["initial"]]["key"] == "pv_kwh_m2"
    assert "Quartiere &lt;Nord&gt;" in text
    assert oct((folder / "map.html").stat().st_mode & 0o777) != "0o600"


def test_cli_bad_folder_exit_2(tmp_path, capsys):
    assert cli.main([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "no such output folder" in err and "Fix:" in err


def test_cli_bad_indicator_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as e:
        cli.main([str(tmp_path), "--indicator", "bogus"])
    assert e.value.code == 2


def test_pedgis_map_subcommand(tmp_path, out_folder, capsys):
    from pedgis.cli import main

    folder = pedgis_output(out_folder, tmp_path / "o")
    assert main(["map", str(folder), "--indicator", "flags"]) == 0
    assert "report.html" in capsys.readouterr().out
    assert main(["map", str(tmp_path / "nothing")]) == 2
    assert "no such output folder" in capsys.readouterr().err


def test_write_all_reports_progress(tmp_path, out_folder):
    folder = tmp_path / "o"
    shutil.copytree(out_folder, folder)
    seen = []
    files = write_all(folder, folder, progress=lambda f, m: seen.append(f))
    assert [p.name for p in files] == ["map.html", "sankey.html", "report.html"]
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_pedgis_map_images(tmp_path, out_folder, capsys, monkeypatch):
    """`--images` adds sankey.png/svg to the folder and its manifest; without kaleido it is refused
    with exit 2 and the folder is left as it was."""
    import sys

    from pedgis.cli import main
    from pedgis.io.outdir import MANIFEST

    folder = pedgis_output(out_folder, tmp_path / "o")
    assert main(["map", str(folder)]) == 0
    assert not (folder / "sankey.png").exists()  # only when asked for
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    monkeypatch.setitem(sys.modules, "kaleido", None)  # import kaleido -> ImportError
    assert main(["map", str(folder), "--images"]) == 2
    assert "--images: the kaleido package is not installed" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    monkeypatch.delitem(sys.modules, "kaleido")
    assert main(["map", str(folder), "--images"]) == 0
    listed = {f["path"] for f in json.loads((folder / MANIFEST).read_text())["files"]}
    assert {"sankey.png", "sankey.svg"} <= listed
    assert (folder / "sankey.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pedgis_map_city_tiles_written_and_replaced(tmp_path, out_folder, monkeypatch):
    """`pedgis map` of a city writes map_tiles/ into the folder (listed in its manifest); drawn
    again as a small map, the tiles it no longer needs are gone and the folder verifies."""
    from pedgis.io.outdir import read_manifest, verify
    from pedgis.viz import maps, redraw

    folder = pedgis_output(out_folder, tmp_path / "out")
    monkeypatch.setattr(maps, "CITY_THRESHOLD", 10)  # the fixture's 24 buildings are a "city"
    redraw(folder)
    tiles = sorted(p.name for p in (folder / maps.TILE_DIR).iterdir())
    listed = {e["path"] for e in read_manifest(folder)["files"]}
    assert tiles and {f"{maps.TILE_DIR}/{t}" for t in tiles} <= listed and verify(folder) == []
    monkeypatch.setattr(maps, "CITY_THRESHOLD", 20000)
    redraw(folder)
    assert not (folder / maps.TILE_DIR).exists() and verify(folder) == []
    assert "pedgisTile" not in (folder / "map.html").read_text("utf-8")
