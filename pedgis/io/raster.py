"""Single-band rasters (DSM, DTM, nDSM) read in windows, so rasters larger than memory work.

:class:`RasterSource` wraps either an open rasterio dataset or an in-memory array behind the same
``read(window)`` call, which returns float32 with NaN where the raster has nodata (nodata is
never 0). A DTM on a different grid than its DSM is warped onto the DSM grid on the fly
(``rasterio.vrt.WarpedVRT``, bilinear), window by window.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS

from ..errors import CRSError, InputDataError, warnings_about

try:  # rasterio is a core dependency; the import is kept lazy-safe for docs builds
    import rasterio
    from rasterio.windows import Window
except ImportError:  # pragma: no cover
    rasterio = None
    Window = None


#: GDAL block cache while reading windows [bytes].
READ_CACHE_BYTES = 64 * 2**20


def read_window(dataset, band: int, window: Window, path, **kwargs) -> np.ndarray:
    """``dataset.read(band, window=window)``; a damaged or cut file is an :class:`InputDataError`
    naming the file and the rows, not a library error in the middle of a run."""
    try:
        return dataset.read(band, window=window, **kwargs)
    except rasterio.errors.RasterioIOError as exc:
        rows = f"rows {int(window.row_off)}–{int(window.row_off + window.height) - 1}"
        raise InputDataError(f"{path}: the raster cannot be read ({rows}: {exc}); the file is damaged or "
                             "incomplete (cut short by a download or a copy). Copy or export it again.") from exc


@dataclass
class RasterSource:
    """A single-band raster readable by windows.

    Create with :meth:`open` (a file, kept open; use as a context manager or call
    :meth:`close`) or :meth:`from_array` (an in-memory array, e.g. in tests).

    Attributes
    ----------
    name : file name or label, for messages
    crs : pyproj CRS
    transform : affine transform (north-up; rotated rasters are rejected)
    width, height : size [pixels]
    nodata : the nodata value, or None (NaN is always treated as nodata)
    """

    name: str
    crs: CRS | None
    transform: Affine
    width: int
    height: int
    nodata: float | None = None
    _array: np.ndarray | None = None
    _dataset: object | None = None
    _owned: list | None = None
    _band: int = 1

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_array(cls, array, transform, crs, nodata=None, name: str = "array") -> RasterSource:
        """Wrap a 2-D array with its georeferencing."""
        arr = np.asarray(array)
        if arr.ndim != 2:
            raise InputDataError(f"{name}: a 2-D array is needed, got shape {arr.shape}.")
        tr = transform if isinstance(transform, Affine) else Affine(*transform)
        src = cls(name=name, crs=CRS.from_user_input(crs) if crs is not None else None, transform=tr,
                  width=arr.shape[1], height=arr.shape[0], nodata=nodata, _array=arr)
        src._check_north_up()
        return src

    @classmethod
    def open(cls, path: str | Path, what: str = "raster", band: int = 1) -> RasterSource:
        """Open a raster file (GeoTIFF or anything GDAL reads) for windowed reading.

        Raises
        ------
        InputDataError
            missing or unreadable file, band out of range
        CRSError
            the raster has no CRS
        """
        path = Path(path)
        if not path.exists():
            raise InputDataError(
                f"{path}: file not found. Check `{what}` in the scenario file (paths are relative to "
                "the scenario file) or on the command line."
            )
        try:
            with warnings_about(str(path)):  # e.g. rasterio's NotGeoreferencedWarning
                ds = rasterio.open(path)
        except Exception as exc:  # noqa: BLE001 - rasterio raises RasterioIOError and others
            raise InputDataError(f"{path}: cannot be read as a raster ({exc}). Give a GeoTIFF.") from exc
        if band < 1 or band > ds.count:
            ds.close()
            raise InputDataError(f"{path}: band {band} does not exist (the raster has {ds.count}).")
        if ds.crs is None:
            ds.close()
            raise CRSError(
                f"{path}: the raster has no coordinate reference system. pedgis never guesses one: "
                "assign it (e.g. `gdal_edit.py -a_srs EPSG:xxxx FILE`)."
            )
        src = cls(name=str(path), crs=CRS.from_user_input(ds.crs.to_wkt()), transform=ds.transform,
                  width=ds.width, height=ds.height, nodata=ds.nodatavals[band - 1], _dataset=ds,
                  _owned=[ds], _band=band)
        src._check_north_up()
        return src

    def warped_to(self, other: RasterSource) -> RasterSource:
        """This raster on ``other``'s grid (CRS, transform, size), resampled bilinearly on read.

        Returns ``self`` when the grids already agree.
        """
        if self.same_grid(other):
            return self
        from rasterio.enums import Resampling
        from rasterio.vrt import WarpedVRT

        if self._dataset is None:
            from rasterio.io import MemoryFile

            mem = MemoryFile()
            arr = self._array.astype("float32")
            ds = mem.open(driver="GTiff", width=self.width, height=self.height, count=1,
                          dtype="float32", crs=self.crs.to_wkt(), transform=self.transform,
                          nodata=self.nodata if self.nodata is not None else np.nan)
            ds.write(arr, 1)
            base, owned = ds, [ds, mem]
        else:
            base, owned = self._dataset, []
        # float32 output with NaN outside this raster's extent and where it has nodata: a DTM that
        # does not cover the whole DSM must give "unknown", never 0 (which would read as a roof
        # as high as the terrain's elevation)
        vrt = WarpedVRT(base, crs=other.crs.to_wkt(), transform=other.transform, width=other.width,
                        height=other.height, resampling=Resampling.bilinear, dtype="float32",
                        nodata=np.nan, src_nodata=self.nodata)
        src = RasterSource(name=f"{self.name} (warped to the grid of {other.name})", crs=other.crs,
                           transform=other.transform, width=other.width, height=other.height,
                           nodata=None, _dataset=vrt, _owned=[vrt, *owned],
                           _band=self._band if self._dataset is not None else 1)
        return src

    # ------------------------------------------------------------------ properties
    def _check_north_up(self) -> None:
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise InputDataError(
                f"{self.name}: rotated or south-up rasters are not supported (transform {tuple(t)[:6]}). "
                "Warp it to a north-up grid first (`gdalwarp IN OUT`)."
            )

    @property
    def res(self) -> tuple[float, float]:
        """Pixel size (x, y) [CRS units, m for a projected CRS]."""
        return self.transform.a, -self.transform.e

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in the raster's CRS."""
        t = self.transform
        return (t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)

    def same_grid(self, other: RasterSource) -> bool:
        """True when both rasters share CRS, transform and size."""
        return (self.width == other.width and self.height == other.height
                and self.transform.almost_equals(other.transform)
                and (self.crs is None and other.crs is None
                     or self.crs is not None and other.crs is not None and self.crs.equals(other.crs)))

    # ------------------------------------------------------------------ reading
    def read(self, row0: int, row1: int, col0: int, col1: int) -> np.ndarray:
        """Pixels ``[row0:row1, col0:col1]`` as float32, NaN where nodata (clipped to the raster)."""
        row0, col0 = max(row0, 0), max(col0, 0)
        row1, col1 = min(row1, self.height), min(col1, self.width)
        if row1 <= row0 or col1 <= col0:
            return np.empty((max(row1 - row0, 0), max(col1 - col0, 0)), dtype="float32")
        if self._array is not None:
            out = np.array(self._array[row0:row1, col0:col1], dtype="float32")
        else:
            # each window is read once: a small GDAL block cache keeps memory flat (GDAL's default,
            # 5 % of RAM, would fill with blocks that are never read again)
            with rasterio.Env(GDAL_CACHEMAX=READ_CACHE_BYTES):
                out = read_window(self._dataset, self._band, Window(col0, row0, col1 - col0, row1 - row0),
                                  self.name, out_dtype="float32")
        if self.nodata is not None and not np.isnan(self.nodata):
            out[out == np.float32(self.nodata)] = np.nan
        return out

    def window_transform(self, row0: int, col0: int) -> Affine:
        """The affine transform of a window starting at ``(row0, col0)``."""
        return self.transform @ Affine.translation(col0, row0)

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close the file(s) behind this source (no-op for arrays)."""
        for obj in self._owned or []:
            try:
                obj.close()
            except Exception:  # noqa: BLE001, S110 - closing twice is harmless
                pass
        self._owned = []

    def __enter__(self) -> RasterSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def raster_problems(path: str | Path, what: str) -> list[str]:
    """Every problem with a raster file that can be found without reading its pixels."""
    path = Path(path)
    if not path.exists():
        return [f"{what}: {path} not found. Check the path (relative to the scenario file)."]
    try:
        with warnings_about(str(path)), rasterio.open(path) as ds:
            out = []
            if ds.crs is None:
                out.append(f"{what}: {path} has no coordinate reference system; assign it "
                           "(e.g. `gdal_edit.py -a_srs EPSG:xxxx FILE`).")
            elif not CRS.from_user_input(ds.crs.to_wkt()).is_projected:
                out.append(f"{what}: {path} is in a geographic CRS ({ds.crs.to_string()}); heights "
                           "and areas need metres: warp it to a projected CRS (`gdalwarp -t_srs`).")
            if ds.nodata is None and not ds.dtypes[0].startswith("float"):
                out.append(f"{what}: {path} declares no nodata value; if it has gaps, set one "
                           "(`gdal_edit.py -a_nodata VALUE FILE`) so they are not read as heights.")
            t = ds.transform
            if t.b != 0 or t.d != 0:
                out.append(f"{what}: {path} is rotated; warp it to a north-up grid (`gdalwarp`).")
            return out
    except Exception as exc:  # noqa: BLE001
        return [f"{what}: {path} cannot be read as a raster ({exc}). Give a GeoTIFF."]


def physical_range_problems(path: str | Path, what: str, kind: str = "elevation") -> list[str]:
    """Warnings about pixels outside the physical range of ``kind`` (``"elevation"`` for a DSM
    or DTM, ``"height"`` for an nDSM; :func:`pedgis.heights.outside_physical_range`): steps 1 and 4
    take them as nodata and flag the buildings on them. A file that cannot be opened gives none
    (:func:`raster_problems` says why). The scan of a file is kept while the file is unchanged
    (runs of variants and solver steps check the same rasters again).
    """
    from ..heights import ELEVATION_RANGE_M, HEIGHT_RANGE_M

    path = Path(path)
    try:
        n_bad, n_valid, lo_bad, hi_bad = _range_scan(str(path), path.stat().st_mtime_ns, kind)
    except OSError:
        return []
    if not n_bad:
        return []
    lo, hi = ELEVATION_RANGE_M if kind == "elevation" else HEIGHT_RANGE_M
    seen = f"{lo_bad:g}" if lo_bad == hi_bad else f"from {lo_bad:g} to {hi_bad:g}"
    return [f"{what}: {path}: {n_bad:,} of {n_valid:,} pixels ({n_bad / n_valid:.1%}) lie outside the physical "
            f"range of {'an elevation' if kind == 'elevation' else 'a height above ground'} ({lo:g} to {hi:g} m; "
            f"values {seen}): they are taken as nodata and the buildings on them are flagged. An undeclared "
            "nodata value? Declare it (`gdal_edit.py -a_nodata VALUE FILE`) or fix the raster."]


@lru_cache(maxsize=16)
def _range_scan(path: str, mtime_ns: int, kind: str, rows_per_read: int = 512) -> tuple[int, int, float, float]:
    """Pixels outside the range, valid pixels, and the lowest and highest of the former, of one
    version of a file (read in strips of rows; zeros when it cannot be opened)."""
    from ..heights import outside_physical_range

    n_bad, n_valid, lo_bad, hi_bad = 0, 0, np.inf, -np.inf
    try:
        with warnings_about(path):
            ds = rasterio.open(path)
    except Exception:  # noqa: BLE001 - missing or unreadable: reported by raster_problems
        return 0, 0, lo_bad, hi_bad
    with ds, rasterio.Env(GDAL_CACHEMAX=READ_CACHE_BYTES):
        for r in range(0, ds.height, rows_per_read):
            window = Window(0, r, ds.width, min(rows_per_read, ds.height - r))
            a = read_window(ds, 1, window, path, masked=True).astype("float64").filled(np.nan)  # nodata → NaN
            bad = outside_physical_range(a, kind)
            n_valid += int(np.isfinite(a).sum())
            if bad.any():
                n_bad += int(bad.sum())
                lo_bad, hi_bad = min(lo_bad, float(a[bad].min())), max(hi_bad, float(a[bad].max()))
    return n_bad, n_valid, lo_bad, hi_bad
