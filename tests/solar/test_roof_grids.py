"""A city's irradiation and sky-view grids on disk (issue 12, item 2: memory bounded by the tile):
the same pixels as in memory, never a whole grid in the calling process, and ``pedgis pv``'s
``irradiation.tif`` unchanged."""

from __future__ import annotations

import tracemalloc
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from pedgis.cli import main
from pedgis.io import roof_grids
from pedgis.io.roof_grids import GridFile, remove_scratch
from pedgis.solar.rooftop import Grid, SolarParams, rooftop_solar

EPW = Path(__file__).resolve().parents[2] / "sample_data" / "weather" / "pvgis_tmy_45N_8E.epw"
CRS = "EPSG:32632"
X0, Y0 = 421000.0, 4983600.0


def _footprint(r0, r1, c0, c1):
    return box(X0 + c0, Y0 - r1, X0 + c1, Y0 - r0)


def _whole(grid):
    return grid.read(0, grid.height, 0, grid.width) if isinstance(grid, GridFile) else grid


def test_on_disk_grids_equal_in_memory(weather, tmp_path, monkeypatch):
    # 200 × 200 m at 1 m in tiles of 64. "west" (rows 30-49, cols 40-75, centroid col 58: tile 0)
    # reaches into tile 1, whose roofs ("northeast", "east") span rows 10-59, cols 66-119: the window
    # tile 1 writes back covers west's pixels in cols 66-75, so a tile writing its window over the
    # pixels another tile set (not read-modify-write) would erase them.
    z = np.zeros((200, 200), np.float32)
    spans = {"west": (30, 50, 40, 76), "northeast": (10, 25, 66, 90), "east": (40, 60, 100, 120),
             "south": (120, 150, 100, 130)}
    for r0, r1, c0, c1 in spans.values():
        z[r0:r1, c0:c1] = 12.0
    z[120:150, 100:130] += np.linspace(0.0, 8.0, 30, dtype=np.float32)[:, None]  # a roof sloping north
    b = gpd.GeoDataFrame({"building_id": list(spans)},
                         geometry=[_footprint(*s) for s in spans.values()], crs=CRS)
    grid = Grid(z, Affine(1.0, 0, X0, 0, -1.0, Y0), CRS)
    params = SolarParams(tile_size=64, max_distance_m=20.0, keep_hourly=False)
    mem = rooftop_solar(b, grid, weather, params)
    monkeypatch.setattr(roof_grids, "ON_DISK_MIN_PIXELS", 0)
    disk = rooftop_solar(b, grid, weather, params, grid_folder=tmp_path)
    assert isinstance(disk.irradiation, GridFile) and isinstance(disk.sky_view, GridFile)
    for name in ("irradiation", "sky_view"):
        np.testing.assert_array_equal(_whole(getattr(disk, name)), getattr(mem, name))
    # the roof crossing the tile border (col 64) has its pixels on both sides, also under tile 1's window
    west = mem.irradiation[30:50, 40:76]
    assert np.isfinite(west[:, :24]).any() and np.isfinite(west[:, 26:]).any()
    assert disk.profile["width"] == 200 and disk.profile["height"] == 200
    # the scratch folder is pedgis's own, inside the given folder, and removed whole
    (scratch,) = tmp_path.iterdir()
    assert scratch.name.startswith(roof_grids.SCRATCH_PREFIX)
    remove_scratch(disk, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_on_disk_path_never_holds_a_whole_grid(weather, tmp_path, monkeypatch):
    # 3000 × 3000 pixels: one float32 grid is 36 MB. Nine 12 × 12 m roofs, one per 1000 m, in tiles
    # of 512: in memory the two grids alone are 72 MB; on disk a tile's window (a few hundred
    # pixels a side) and the sky model (a few MB) are all the calling process holds.
    # Measured (tracemalloc's peak): in memory 92.0 MB, on disk 3.8 MB.
    n = 3000
    z = np.zeros((n, n), np.float32)
    polys = []
    for r in (400, 1400, 2400):
        for c in (400, 1400, 2400):
            z[r:r + 12, c:c + 12] = 10.0
            polys.append(_footprint(r, r + 12, c, c + 12))
    b = gpd.GeoDataFrame({"building_id": [f"b{i}" for i in range(len(polys))]}, geometry=polys, crs=CRS)
    grid = Grid(z, Affine(1.0, 0, X0, 0, -1.0, Y0), CRS)
    params = SolarParams(tile_size=512, max_distance_m=20.0, keep_hourly=False)
    whole = n * n * 4

    def peak(**kw):
        tracemalloc.start()
        try:
            res = rooftop_solar(b, grid, weather, params, **kw)
            return res, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    mem, in_memory = peak()
    monkeypatch.setattr(roof_grids, "ON_DISK_MIN_PIXELS", 0)
    disk, on_disk = peak(grid_folder=tmp_path)
    assert in_memory > 2 * whole  # the test can fail: the in-memory path holds both grids
    assert on_disk < whole / 4, f"{on_disk / 1e6:.1f} MB traced"
    np.testing.assert_array_equal(_whole(disk.irradiation), mem.irradiation)


def test_pv_command_on_disk_writes_the_same_irradiation_tif(weather, tmp_path, monkeypatch):
    # 300 × 300 pixels (a tiled irradiation.tif): two roofs, one across a 64-pixel tile border
    z = np.zeros((300, 300), np.float32)
    z[40:70, 50:90] = 10.0
    z[200:230, 150:260] = 15.0
    dsm = tmp_path / "dsm.tif"
    with rasterio.open(dsm, "w", driver="GTiff", width=300, height=300, count=1, dtype="float32", crs=CRS,
                       transform=Affine(1.0, 0, X0, 0, -1.0, Y0), nodata=-9999.0) as ds:
        ds.write(z, 1)
    shp = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"ID": ["a", "b"]}, geometry=[_footprint(40, 70, 50, 90), _footprint(200, 230, 150, 260)],
                     crs=CRS).to_file(shp, driver="GPKG")
    cfg = tmp_path / "solar.toml"
    cfg.write_text("[solar]\ntile_size = 64\nmax_distance_m = 30.0\n", encoding="utf-8")

    def pv(out):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert main(["pv", "--buildings", str(shp), "--id-column", "ID", "--dsm", str(dsm), "--config",
                         str(cfg), "--weather", str(EPW), "--out", str(out), "--quiet"]) == 0
        return out

    mem = pv(tmp_path / "mem")
    monkeypatch.setattr(roof_grids, "ON_DISK_MIN_PIXELS", 0)
    disk = pv(tmp_path / "disk")
    # the same files (no scratch left behind), the same raster: profile, tags and pixels
    assert sorted(p.name for p in disk.iterdir()) == sorted(p.name for p in mem.iterdir())
    with rasterio.open(mem / "irradiation.tif") as a, rasterio.open(disk / "irradiation.tif") as d:
        assert d.profile == a.profile and d.tags(1) == a.tags(1)
        assert a.profile["compress"] == "deflate" and a.profile["tiled"]
        np.testing.assert_array_equal(d.read(1), a.read(1))
        assert (a.read(1) != -9999.0).sum() == 30 * 40 + 30 * 110


@pytest.mark.parametrize("side", [400, 8000])
def test_map_reads_a_large_raster_decimated(tmp_path, side):
    from pedgis.viz.inputs import MAX_READ_PX, read_raster

    path = tmp_path / "irr.tif"
    with rasterio.open(path, "w", driver="GTiff", width=side, height=side, count=1, dtype="float32", crs=CRS,
                       transform=Affine(1.0, 0, X0, 0, -1.0, Y0), nodata=-9999.0, tiled=True,
                       compress="deflate", sparse_ok=True) as ds:
        ds.write(np.full((16, 16), 900.0, np.float32), 1, window=rasterio.windows.Window(0, 0, 16, 16))
    r = read_raster(path)
    assert max(r.array.shape) == min(side, MAX_READ_PX)
    # the same ground extent: the pixel grows by the decimation factor
    assert r.transform.a * r.array.shape[1] == pytest.approx(side)
    assert r.array[0, 0] == 900.0 and np.isnan(r.array[-1, -1])


def test_a_decimated_cell_is_the_mean_of_its_roof_pixels(tmp_path, monkeypatch):
    # 16 × 16 pixels read as 8 × 8 (MAX_READ_PX lowered): one roof pixel in each 2 × 2 cell, at its
    # upper left, of 900 or 1100 kWh/m²a by column, and one cell with two (800 and 1000: mean 900).
    # Nearest-pixel sampling shows no roof at all: it takes each cell's lower-right pixel.
    from pedgis.viz import inputs

    a = np.full((16, 16), -9999.0, np.float32)
    a[0::2, 0::2] = np.where(np.arange(8) % 2 == 0, 900.0, 1100.0)[None, :]
    a[0, 0], a[1, 0] = 800.0, 1000.0
    path = tmp_path / "irr.tif"
    with rasterio.open(path, "w", driver="GTiff", width=16, height=16, count=1, dtype="float32", crs=CRS,
                       transform=Affine(1.0, 0, X0, 0, -1.0, Y0), nodata=-9999.0) as ds:
        ds.write(a, 1)
    monkeypatch.setattr(inputs, "MAX_READ_PX", 8)
    r = inputs.read_raster(path)
    expected = np.tile(np.where(np.arange(8) % 2 == 0, 900.0, 1100.0), (8, 1))
    np.testing.assert_array_equal(r.array, expected)
    with rasterio.open(path) as src:  # what nearest-pixel sampling gives, so this test can fail
        nearest = src.read(1, out_shape=(8, 8), masked=True)
    assert nearest.mask.all()
