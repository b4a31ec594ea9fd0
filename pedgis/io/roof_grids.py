"""Where the rooftop solar step's two grids go: the annual irradiation [kWh m⁻² a⁻¹] and the sky view
factor [-] per roof pixel, NaN off the roofs.

A district keeps them in memory (two float32 arrays). A city's grids (400 km² at 1 m: 1.6 GB each)
go to two tiled float32 GeoTIFFs that :class:`RoofGrids` fills tile by tile as the tiles are merged
(read the window of the tile's roof pixels, set them, write the window back: two tiles' windows may
overlap, a roof reaching past its tile's core), so the calling process holds a tile's window, never
the city's grid. The files are uncompressed scratch files of pedgis's own, in a folder it creates
inside the caller's folder (the temporary output folder of :mod:`pedgis.io.outdir`): a compressed
GeoTIFF block rewritten in place is appended to the file, not replaced, so ``irradiation.tif``
(deflate) is copied from the complete scratch grid, block by block, by
:func:`pedgis.io.solar_rasters.write_irradiation`. The caller removes the scratch folder
(:func:`remove_scratch`) once its outputs are written.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import numpy as np

#: Grids with more pixels than this go on disk: 25,000,000 pixels is 100 MB per float32 grid, two
#: grids plus the writer's temporaries about 0.5 GB in the calling process. A district (a few km²
#: at 0.5-1 m, the sample's few hundred thousand pixels) stays far below and keeps the in-memory
#: path and its byte-identical outputs; a city (100 km² at 1 m: 100,000,000) goes on disk.
ON_DISK_MIN_PIXELS = 25_000_000

IRRADIATION_NODATA = -9999.0
IRRADIATION_TAGS = {"units": "kWh m-2 a-1", "quantity": "annual plane-of-array irradiation on the roof modules"}
SCRATCH_PREFIX = ".pedgis-roof-grids-"
_BLOCK = 256


def on_disk(shape: tuple[int, int]) -> bool:
    """Whether grids of ``shape`` go to files (more than :data:`ON_DISK_MIN_PIXELS` pixels)."""
    return int(shape[0]) * int(shape[1]) > ON_DISK_MIN_PIXELS


class GridFile:
    """A float32 grid in a GeoTIFF, read window by window (nodata → NaN).

    Holds only the path and georeferencing (picklable: the page process and Dask can receive it);
    every read opens the file."""

    def __init__(self, path: str | Path, transform, crs, shape: tuple[int, int]):
        self.path = Path(path)
        self.transform = transform
        self.crs = crs
        self.shape = (int(shape[0]), int(shape[1]))

    @property
    def height(self) -> int:
        return self.shape[0]

    @property
    def width(self) -> int:
        return self.shape[1]

    def read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        import rasterio
        from rasterio.windows import Window

        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r1, self.height), min(c1, self.width)
        with rasterio.open(self.path) as ds:
            a = ds.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
            if ds.nodata is not None and not np.isnan(ds.nodata):
                a[a == np.float32(ds.nodata)] = np.nan
        return a

    def __repr__(self) -> str:
        return f"GridFile({str(self.path)!r}, shape={self.shape})"


def _create(path: Path, shape, transform, crs, nodata: float) -> None:
    """An empty tiled float32 GeoTIFF: blocks never written are absent (``SPARSE_OK``) and read as
    ``nodata`` (GDAL GTiff driver, "Sparse files": https://gdal.org/drivers/raster/gtiff.html)."""
    import rasterio

    with rasterio.open(path, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="float32",
                       crs=crs, transform=transform, nodata=nodata, tiled=True, blockxsize=_BLOCK,
                       blockysize=_BLOCK, sparse_ok=True, bigtiff="if_safer"):
        pass


class RoofGrids:
    """The irradiation and sky-view grids of one rooftop run, filled tile by tile (:meth:`put`).

    ``folder`` None: two arrays in memory. Else two scratch GeoTIFFs in a new folder
    ``.pedgis-roof-grids-<id>`` inside ``folder``; :meth:`grids` then gives :class:`GridFile` s.
    """

    def __init__(self, shape: tuple[int, int], transform, crs, folder: str | Path | None = None):
        self.shape = (int(shape[0]), int(shape[1]))
        self.transform, self.crs = transform, crs
        self.scratch = None
        if folder is None:
            self.irradiation = np.full(self.shape, np.nan, dtype=np.float32)
            self.sky_view = np.full(self.shape, np.nan, dtype=np.float32)
            return
        self.scratch = Path(folder) / f"{SCRATCH_PREFIX}{secrets.token_hex(6)}"
        self.scratch.mkdir()
        wkt = crs.to_wkt() if hasattr(crs, "to_wkt") else crs
        # the irradiation scratch is in the output's format (nodata −9999): copied as it is
        _create(self.scratch / "irradiation.tif", self.shape, transform, wkt, IRRADIATION_NODATA)
        _create(self.scratch / "sky_view.tif", self.shape, transform, wkt, float("nan"))
        self.irradiation = GridFile(self.scratch / "irradiation.tif", transform, crs, self.shape)
        self.sky_view = GridFile(self.scratch / "sky_view.tif", transform, crs, self.shape)

    def put(self, rows: np.ndarray, cols: np.ndarray, irradiation: np.ndarray, sky_view: np.ndarray) -> None:
        """Set the pixels ``(rows, cols)`` of both grids."""
        if self.scratch is None:
            self.irradiation[rows, cols] = irradiation
            self.sky_view[rows, cols] = sky_view
            return
        if len(rows) == 0:
            return
        import rasterio
        from rasterio.windows import Window

        r0, c0 = int(rows.min()), int(cols.min())
        win = Window(c0, r0, int(cols.max()) + 1 - c0, int(rows.max()) + 1 - r0)
        irr = np.where(np.isfinite(irradiation), irradiation, np.float32(IRRADIATION_NODATA)).astype(np.float32)
        for grid, values in ((self.irradiation, irr), (self.sky_view, sky_view)):
            # opened per tile: closing flushes the window, so GDAL's block cache never holds the city
            with rasterio.open(grid.path, "r+") as ds:
                a = ds.read(1, window=win)  # read-modify-write: windows of two tiles may overlap
                a[rows - r0, cols - c0] = values
                ds.write(a, 1, window=win)

    def grids(self):
        """``(irradiation, sky_view)``: arrays, or :class:`GridFile` s on disk."""
        return self.irradiation, self.sky_view


def remove_scratch(result, folder: str | Path) -> None:
    """Remove the scratch files of ``result`` (a ``RooftopResult``) that :class:`RoofGrids` made in
    ``folder``; arrays, and files anywhere else, are left alone."""
    for grid in (getattr(result, "irradiation", None), getattr(result, "sky_view", None)):
        scratch = grid.path.parent if isinstance(grid, GridFile) else None
        if scratch is not None and scratch.name.startswith(SCRATCH_PREFIX) and scratch.parent == Path(folder) \
                and scratch.is_dir():
            shutil.rmtree(scratch)


def irradiation_profile(height: int, width: int, crs, transform) -> dict:
    """How ``irradiation.tif`` is written: float32, nodata −9999, deflate, tiled when both sides
    reach 256 pixels."""
    return dict(driver="GTiff", width=width, height=height, count=1, dtype="float32", crs=crs,
                transform=transform, nodata=IRRADIATION_NODATA, compress="deflate",
                tiled=height >= 256 and width >= 256)


def copy_irradiation(src: GridFile, path: str | Path) -> None:
    """Write ``irradiation.tif`` (:func:`irradiation_profile`) from the scratch grid, block by block."""
    import rasterio

    with rasterio.open(src.path) as s:
        profile = irradiation_profile(s.height, s.width, s.crs, s.transform)
        with rasterio.open(path, "w", bigtiff="if_safer", **profile) as d:
            for _, win in d.block_windows(1):
                d.write(s.read(1, window=win), 1, window=win)
            d.update_tags(1, **IRRADIATION_TAGS)
