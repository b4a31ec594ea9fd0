"""Raster I/O of the rooftop solar step: DSM/DTM/irradiation rasters read by windows, the
``irradiation.tif`` output and the hourly profiles. The solar step itself
(:mod:`pedgis.solar.rooftop`) never touches files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import CRSError, InputDataError, warnings_about
from .roof_grids import (
    IRRADIATION_NODATA,
    IRRADIATION_TAGS,
    GridFile,
    copy_irradiation,
    irradiation_profile,
)


class WindowedRaster:
    """Band 1 of a raster file behind ``read(row0, row1, col0, col1)`` (float32, NaN = nodata)."""

    def __init__(self, path: str | Path, what: str = "raster"):
        import rasterio

        self.path = Path(path)
        self.name = f"{what} {self.path.name}"
        if not self.path.exists():
            raise InputDataError(f"{self.path}: {what} file not found; check the path.")
        try:
            with warnings_about(str(self.path)):
                self.ds = rasterio.open(self.path)
        except Exception as exc:  # rasterio raises several kinds
            raise InputDataError(f"{self.path}: cannot be read as a raster ({exc}); give a GeoTIFF.") from exc
        if self.ds.crs is None:
            self.ds.close()
            raise CRSError(
                f"{self.path}: the {what} has no coordinate reference system. pedgis never guesses "
                "one: assign it (`gdal_edit.py -a_srs EPSG:xxxx FILE`)."
            )
        t = self.ds.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            self.ds.close()
            raise InputDataError(
                f"{self.path}: rotated or south-up rasters are not supported; warp it to a north-up "
                "grid first (`gdalwarp IN OUT`)."
            )
        from pyproj import CRS

        self.crs = CRS.from_user_input(self.ds.crs.to_wkt())
        self.transform = t
        self.width, self.height = self.ds.width, self.ds.height
        self.nodata = self.ds.nodata

    def read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        from rasterio.windows import Window

        from .raster import read_window

        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r1, self.height), min(c1, self.width)
        a = read_window(self.ds, 1, Window(c0, r0, c1 - c0, r1 - r0), self.path, out_dtype="float32")
        if self.nodata is not None and not np.isnan(self.nodata):
            a[a == np.float32(self.nodata)] = np.nan
        return a

    def close(self) -> None:
        self.ds.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_grid(path: str | Path, what: str = "DSM"):
    """A :class:`pedgis.solar.rooftop.Grid` over a raster file, read window by window."""
    from ..solar.rooftop import Grid

    src = WindowedRaster(path, what)
    return Grid(src, src.transform, src.crs, name=f"{what} ({src.path})")


def write_irradiation(result, path: str | Path) -> Path:
    """Write the annual irradiation per roof pixel [kWh m⁻² a⁻¹] as a float32 GeoTIFF.

    ``result`` has ``irradiation`` (array, NaN off the roofs, or the scratch
    :class:`~pedgis.io.roof_grids.GridFile` of a city's grid, copied block by block), ``transform``
    and ``crs`` (a :class:`pedgis.solar.rooftop.RooftopResult`). Off-roof pixels are nodata
    (−9999), never 0.
    """
    import rasterio

    path = Path(path)
    if isinstance(result.irradiation, GridFile):
        copy_irradiation(result.irradiation, path)
        return path
    a = np.where(np.isfinite(result.irradiation), result.irradiation, IRRADIATION_NODATA).astype("float32")
    crs = result.crs.to_wkt() if hasattr(result.crs, "to_wkt") else result.crs
    with rasterio.open(path, "w", **irradiation_profile(*a.shape, crs, result.transform)) as ds:
        ds.write(a, 1)
        ds.update_tags(1, **IRRADIATION_TAGS)
    return path


def write_hourly(frame, path: str | Path) -> Path:
    """Hourly per-building profiles (8760 × buildings) as gzip'd CSV.

    Building ids are column names: user text, written safe for spreadsheets (:func:`write_csv`).
    """
    from ..escaping import write_csv

    path = Path(path)
    write_csv(frame, path, float_format="%.4g", compression="gzip")
    return path
