"""Rooftop PV, solar thermal and PVT potential per roof pixel, roof plane and building.

Pipeline (pure: arrays and GeoDataFrames in, arrays and GeoDataFrames out):

1. footprints rasterised onto the DSM grid (roof pixels per building), buildings outside the DSM
   or without a valid pixel flagged, their results NaN (never 0);
2. slope/aspect (Horn), horizon angles from the whole DSM (:mod:`pedgis.solar.horizon`);
3. annual plane-of-array irradiation per pixel with the cumulative anisotropic sky
   (:mod:`pedgis.solar.sky`): roof pixels flatter than ``flat_max_slope_deg`` carry modules at
   ``flat_tilt_deg`` facing ``flat_azimuth_deg`` in rows (ground cover ratio from the row
   spacing), the others lie on the roof plane;
4. usable area: irradiation ≥ threshold, slope ≤ maximum, at least ``edge_setback_m`` from the
   footprint's edge, on roof planes with at least ``min_panel_area_m2`` of modules;
5. kWp from module efficiency (STC 1 kW m⁻²); yearly kWh by PVWatts (pvlib, hourly, cell
   temperature by Faiman, system losses, inverter) or by efficiency × performance ratio; solar
   thermal and PVT heat by the EN ISO 9806 collector equation on the same hourly irradiance.

Large DSMs are processed in tiles: every building belongs to the tile holding its centroid and
is computed on a window that holds the whole building plus the search distance of the horizon
and a pyramid block, so tiled and untiled runs give the same numbers. A city's two per-pixel grids
go to scratch files filled tile by tile (``grid_folder``, :mod:`pedgis.io.roof_grids`), so the
calling process's memory is bounded by the tile, not the city.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ..errors import (
    CRSError,
    CRSWarning,
    InputDataError,
    ResolutionWarning,
)
from ..heights import ELEVATION_RANGE_M, outside_physical_range
from ..io.roof_grids import RoofGrids
from ..io.roof_grids import on_disk as grids_on_disk
from ..io.weather import Weather
from ..progress import ProgressCallback, no_progress, scaled
from ..units import wh_to_kwh
from . import horizon as hz
from . import sky as skymod
from .params import SOURCES, SolarParams, default_row_spacing  # noqa: F401 (re-exported)
from .terrain import slope_aspect

# --------------------------------------------------------------------------- grids


@dataclass
class Grid:
    """A north-up raster in memory or behind a ``read(row0, row1, col0, col1)`` source.

    ``source`` may be an ndarray or any object with ``read``, ``width``, ``height`` (e.g.
    ``pedgis.io.raster.RasterSource``). NaN is nodata.
    """

    source: object
    transform: object  # affine.Affine
    crs: object
    name: str = "DSM"

    @property
    def shape(self) -> tuple[int, int]:
        if isinstance(self.source, np.ndarray):
            return self.source.shape
        return (self.source.height, self.source.width)

    @property
    def res(self) -> tuple[float, float]:
        return float(self.transform.a), float(-self.transform.e)

    def read(self, r0, r1, c0, c1) -> np.ndarray:
        if isinstance(self.source, np.ndarray):
            return np.array(self.source[max(r0, 0):r1, max(c0, 0):c1], dtype=np.float32)
        return self.source.read(r0, r1, c0, c1)

    @classmethod
    def of(cls, obj, name: str = "DSM") -> Grid:
        """Wrap a RasterSource-like object (``transform``, ``crs``, ``read``)."""
        if isinstance(obj, Grid):
            return obj if obj.name not in ("DSM", "array") else Grid(obj.source, obj.transform, obj.crs, name)
        return cls(obj, obj.transform, obj.crs, name=getattr(obj, "name", name))


# --------------------------------------------------------------------------- results


@dataclass
class RooftopResult:
    """Results of :func:`rooftop_solar`.

    Attributes
    ----------
    buildings : DataFrame
        One row per input building (index ``building_id``): ``pv_area_m2``, ``pv_kwp``,
        ``pv_kwh``, ``roof_irradiation_kwh_m2``, ``roof_area_m2``, ``usable_area_m2``,
        ``solar_thermal_area_m2``, ``solar_thermal_kwh``, ``pvt_area_m2``, ``pvt_kwh``,
        ``pvt_heat_kwh``, ``dsm_coverage``, ``solar_flags``; monthly PV in ``pv_kwh_m01`` … ``_m12``.
        NaN (never 0) where the DSM gives no roof.
    irradiation : ndarray float32 or GridFile
        Annual plane-of-array irradiation per roof pixel [kWh m⁻² a⁻¹] on the DSM grid, NaN
        elsewhere. A city's grid (``grid_folder``) is a :class:`pedgis.io.roof_grids.GridFile`
        (``read(row0, row1, col0, col1)``) over a scratch file the caller removes
        (:func:`pedgis.io.roof_grids.remove_scratch`) once its outputs are written.
    sky_view : ndarray float32 or GridFile
        Sky view factor of the (array) plane per roof pixel [-], NaN elsewhere.
    segments : GeoDataFrame or None
        Roof planes (layer ``roof_segments``).
    hourly_pv_kwh : DataFrame or None
        8760 × buildings PV AC energy per hour [kWh] (when ``keep_hourly``).
    hourly_poa_w_m2 : DataFrame or None
        8760 × buildings mean irradiance on the usable modules [W m⁻²].
    transform, crs
        Georeferencing of ``irradiation``.
    params : SolarParams
    assumptions : dict
    """

    buildings: pd.DataFrame
    irradiation: object  # ndarray or GridFile
    sky_view: object
    segments: object
    hourly_pv_kwh: pd.DataFrame | None
    hourly_poa_w_m2: pd.DataFrame | None
    transform: object
    crs: object
    params: SolarParams
    assumptions: dict

    @property
    def array(self):
        """The irradiation grid [kWh m⁻² a⁻¹] (NaN off the roofs), for map/report writers: an
        ndarray, or a city's :class:`~pedgis.io.roof_grids.GridFile`."""
        return self.irradiation

    @property
    def profile(self) -> dict:
        """Georeferencing of :attr:`array` in rasterio's profile keys."""
        h, w = self.irradiation.shape
        return {"transform": self.transform, "crs": self.crs, "nodata": None, "width": w,
                "height": h, "count": 1, "dtype": "float32"}


# --------------------------------------------------------------------------- helpers


def _prepare_buildings(buildings, grid: Grid):
    import geopandas as gpd
    from pyproj import CRS

    if "building_id" not in buildings.columns:
        raise InputDataError("buildings: column 'building_id' missing; give each building an id.")
    if buildings.crs is None:
        raise CRSError(
            "buildings: no coordinate reference system. pedgis never guesses one: set it in the "
            "file (e.g. a .prj next to the shapefile)."
        )
    if grid.crs is None:
        raise CRSError(
            f"{grid.name}: the raster has no coordinate reference system; assign it "
            "(`gdal_edit.py -a_srs EPSG:xxxx FILE`)."
        )
    rcrs = CRS.from_user_input(grid.crs)
    if rcrs.is_geographic:
        raise CRSError(
            f"{grid.name}: a geographic CRS ({rcrs.name}); the DSM must be in a projected CRS "
            "in metres (e.g. `gdalwarp -t_srs EPSG:326xx`)."
        )
    bcrs = CRS.from_user_input(buildings.crs)
    if not bcrs.equals(rcrs):
        warnings.warn(
            f"buildings are in {bcrs.name} and the {grid.name} in {rcrs.name}: the footprints "
            f"were reprojected to the {grid.name}'s CRS.",
            CRSWarning,
            stacklevel=3,
        )
        buildings = buildings.to_crs(rcrs)
    b = gpd.GeoDataFrame(
        {"building_id": buildings["building_id"].astype(str).to_numpy()},
        geometry=buildings.geometry.to_numpy(),
        crs=rcrs,
    )
    if b["building_id"].duplicated().any():
        dup = b.loc[b["building_id"].duplicated(), "building_id"].iloc[0]
        raise InputDataError(
            f"buildings: building_id '{dup}' appears more than once; merge the parts first "
            "(step 1 does)."
        )
    return b


def _setback_fraction(bid: np.ndarray, cell: float, setback: float) -> np.ndarray:
    """Fraction [0, 1] of each pixel farther than ``setback`` from its footprint's edge."""
    from scipy import ndimage

    if setback <= 0:
        return np.ones(bid.shape, dtype=np.float32)
    p = np.pad(bid, 1, constant_values=-1)
    inner = bid >= 0
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        inner &= p[1 + dr : p.shape[0] - 1 + dr, 1 + dc : p.shape[1] - 1 + dc] == bid
    edge = (bid >= 0) & ~inner
    dist = ndimage.distance_transform_edt(~edge)  # pixels to the nearest edge pixel
    # an edge pixel spans 0..1 pixel from the outline: usable part beyond the setback
    frac = np.clip(((dist + 1.0) * cell - setback) / cell, 0.0, 1.0)
    return frac.astype(np.float32)


# --------------------------------------------------------------------------- main entry


def rooftop_solar(
    buildings,
    dsm,
    weather: Weather,
    params: SolarParams | None = None,
    *,
    dtm=None,
    irradiation=None,
    planes=None,
    progress: ProgressCallback | None = None,
    grid_folder=None,
) -> RooftopResult:
    """Rooftop solar potential per pixel, roof plane and building.

    Parameters
    ----------
    buildings : GeoDataFrame
        Footprints with ``building_id`` (one row per building) and a CRS.
    dsm : Grid or RasterSource-like
        Digital surface model [m] (north-up, projected CRS, NaN/nodata = unknown); may be None
        when ``irradiation`` is given.
    weather : Weather
        Hourly weather (:func:`pedgis.io.weather.read_weather`).
    params : SolarParams, optional
    dtm : Grid, optional
        Terrain model on the DSM grid: adds ``roof_height_m`` (90th percentile of DSM − DTM).
    irradiation : Grid, optional
        A precomputed annual irradiation raster [kWh m⁻² a⁻¹] (UMEP SEBE, GRASS r.sun) used
        instead of the DSM-based sky model; with a DSM too, slope/aspect still come from it.
    planes : :class:`pedgis.solar.model_roofs.ModelRoofs`, optional
        Roof planes of a 3D model (bound to ``buildings``): roof pixels, tilt, azimuth, areas and
        segments come from the planes instead of the footprints and the DSM's slope.
    progress : callable, optional
        ``progress(fraction, message)``.
    grid_folder : path, optional
        A folder of the caller's (the temporary output folder): grids of more than
        :data:`pedgis.io.roof_grids.ON_DISK_MIN_PIXELS` pixels go to scratch files in a folder
        created there, filled tile by tile, instead of memory.

    Returns
    -------
    RooftopResult
    """
    params = params or SolarParams()
    params.validate()
    progress = progress or no_progress
    if dsm is None and irradiation is None:
        raise InputDataError("rooftop PV needs a DSM or a precomputed irradiation raster.")
    base = Grid.of(dsm if dsm is not None else irradiation, "DSM" if dsm is not None else "irradiation raster")
    dsm_grid = Grid.of(dsm) if dsm is not None else None
    irr_grid = Grid.of(irradiation, "irradiation raster") if irradiation is not None else None
    dtm_grid = Grid.of(dtm, "DTM") if dtm is not None else None
    for other in (irr_grid, dtm_grid):
        if other is not None and (other.shape != base.shape or not other.transform.almost_equals(base.transform)):
            raise InputDataError(
                f"{other.name}: not on the same grid as the {base.name} (size {other.shape} vs "
                f"{base.shape}); resample it onto the {base.name} grid (`gdalwarp -te ... -tr ...`)."
            )
    b = _prepare_buildings(buildings, base)
    dx, dy = base.res
    if max(dx, dy) > params.max_resolution_m:
        warnings.warn(
            f"{base.name}: {max(dx, dy):g} m pixels are coarser than {params.max_resolution_m:g} m; "
            "roof planes, edges and small obstacles are blurred and PV potential is uncertain. "
            "Use a DSM of 1 m or finer.",
            ResolutionWarning,
            stacklevel=2,
        )
    nrow, ncol = base.shape

    progress(0.0, "sky model")
    sky = skymod.hourly_sky(weather, params.sky_model, params.albedo, clearsky=params.clearsky)
    csky = skymod.cumulative_sky(sky)
    spacing = params.flat_row_spacing_m or default_row_spacing(
        weather.latitude, params.flat_tilt_deg, params.module_row_length_m
    )
    gcr = min(params.module_row_length_m / spacing, 1.0)

    # search distance: as far as the tallest obstacle can matter (relief / tan 1°), ≤ 2000 m
    if params.max_distance_m is not None:
        max_dist = float(params.max_distance_m)
    elif dsm_grid is not None:
        relief = _relief(dsm_grid)
        max_dist = float(min(max(relief / math.tan(math.radians(1.0)), 10 * dx), 2000.0))
    else:
        max_dist = 0.0
    cell = min(dx, dy)
    levels = 1
    while (2**levels) * cell * params.steps_per_distance < max_dist and levels < 12:
        levels += 1
    align = 2 ** (levels - 1)
    margin = int(math.ceil(max_dist / cell)) + 2 * align + 2

    # --- building -> tile by centroid pixel
    inv = ~base.transform
    cent = b.geometry.representative_point()
    ccol, crow = inv @ (cent.x.to_numpy(), cent.y.to_numpy())
    bounds = b.geometry.bounds.to_numpy()  # minx, miny, maxx, maxy
    c0s, r0s = inv @ (bounds[:, 0], bounds[:, 3])
    c1s, r1s = inv @ (bounds[:, 2], bounds[:, 1])
    inside = (c1s > 0) & (r1s > 0) & (c0s < ncol) & (r0s < nrow)
    ts = int(params.tile_size)
    tile_key = np.floor(np.clip(crow, 0, nrow - 1) / ts).astype(int) * 100000 + np.floor(
        np.clip(ccol, 0, ncol - 1) / ts
    ).astype(int)

    nb_ = len(b)
    res = _empty_building_table(b["building_id"].to_numpy())
    out_grids = RoofGrids((nrow, ncol), base.transform, base.crs,
                          grid_folder if grid_folder is not None and grids_on_disk((nrow, ncol)) else None)
    hourly_poa = {}
    hourly_pv = {}
    flags = [[] for _ in range(nb_)]
    for i in np.nonzero(~inside)[0]:
        flags[i].append(f"outside the {base.name} extent: no rooftop PV estimate (NaN)")

    groups = [idx.to_numpy() for _, idx in pd.Series(np.arange(nb_))[inside].groupby(tile_key[inside])]
    x0, y0 = base.transform @ (0, nrow)
    x1, y1 = base.transform @ (ncol, 0)
    ctx = TileContext(params=params, csky=csky, sky=sky, gcr=gcr, max_dist=max_dist, base_name=base.name,
                      res=base.res, extent=(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    sindex = b.sindex

    def jobs():  # built one at a time: only the tiles in flight hold their windows
        for idx in groups:
            yield _tile_job(b, sindex, idx, base, dsm_grid, irr_grid, dtm_grid, planes, margin, align,
                            (r0s, r1s, c0s, c1s))

    seg_by_tile = {}

    def merge(ti, job, out):
        _merge_tile(job, out, res, flags, out_grids, hourly_poa, hourly_pv, params.keep_hourly)
        seg_by_tile[ti] = out.segments

    run_tiles(jobs(), len(groups), ctx, merge, progress)
    seg_frames = [seg_by_tile[k] for k in sorted(seg_by_tile)]  # tile order, however they finished

    res["solar_flags"] = ["; ".join(f) for f in flags]
    progress(0.97, "roof segments")
    segs = None
    if seg_frames:
        import geopandas as gpd

        segs = gpd.GeoDataFrame(pd.concat(seg_frames, ignore_index=True), geometry="geometry", crs=b.crs)
        segs["segment_id"] = segs["building_id"] + "-" + (
            segs.groupby("building_id").cumcount() + 1
        ).astype(str)
    else:
        from .segments import empty_segments

        segs = empty_segments(b.crs)
    hp = hpv = None
    if params.keep_hourly:
        hp = pd.DataFrame(hourly_poa, index=weather.data.index).reindex(columns=res.index)
        hpv = pd.DataFrame(hourly_pv, index=weather.data.index).reindex(columns=res.index)
    assumptions = {
        "solar": {
            **{f.name: getattr(params, f.name) for f in fields(params) if f.name != "extra"},
            "flat_row_spacing_m": spacing,
            "flat_ground_cover_ratio": gcr,
            "horizon_search_distance_m": max_dist,
            "weather": weather.source,
            "weather_time_offset_min": weather.time_offset_min,
            "sources": SOURCES,
        }
    }
    progress(1.0, "rooftop solar done")
    irr_out, svf_out = out_grids.grids()
    return RooftopResult(
        buildings=res,
        irradiation=irr_out,
        sky_view=svf_out,
        segments=segs,
        hourly_pv_kwh=hpv,
        hourly_poa_w_m2=hp,
        transform=base.transform,
        crs=base.crs,
        params=params,
        assumptions=assumptions,
    )


def _relief(grid: Grid, block: int = 512) -> float:
    """Highest minus lowest plausible elevation, read in strips of ``block`` rows (at 20,000 pixels
    a row: 41 MB, as the range scan of :func:`pedgis.io.raster.physical_range_problems`)."""
    nrow, ncol = grid.shape
    lo, hi = np.inf, -np.inf
    for r in range(0, nrow, block):
        a = grid.read(r, min(r + block, nrow), 0, ncol)
        f = a[np.isfinite(a) & ~outside_physical_range(a, "elevation")]
        if f.size:
            lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
    return hi - lo if np.isfinite(hi) else 0.0


MONTH_COLS = [f"pv_kwh_m{m:02d}" for m in range(1, 13)]
RESULT_COLS = [
    "pv_area_m2", "pv_kwp", "pv_kwh", "roof_irradiation_kwh_m2", "roof_area_m2",
    "usable_area_m2", "solar_thermal_area_m2", "solar_thermal_kwh", "pvt_area_m2", "pvt_kwh",
    "pvt_heat_kwh", "dsm_coverage", "roof_height_m", *MONTH_COLS,
]


def _empty_building_table(ids) -> pd.DataFrame:
    df = pd.DataFrame(np.nan, index=pd.Index(ids, name="building_id"), columns=RESULT_COLS)
    df["solar_flags"] = ""
    return df


@dataclass
class TileContext:
    """What every tile shares: the parameters, the sky of the weather, the horizon search distance.

    Sent once to each Dask worker (:func:`pedgis.cluster.run_tiles`)."""

    params: SolarParams
    csky: object
    sky: object
    gcr: float
    max_dist: float
    base_name: str
    res: tuple[float, float]
    extent: tuple[float, float, float, float]  # the base raster's (xmin, ymin, xmax, ymax)


@dataclass
class TileJob:
    """One tile, self-contained: its buildings and the raster windows its roofs and horizon need.

    ``buildings`` holds the tile's own buildings and every neighbour touching the core (their edges
    matter), in the order of the whole table; ``own`` are the local positions of the tile's
    buildings and ``positions`` the position of each local building in the whole table.
    """

    buildings: object
    own: np.ndarray
    positions: np.ndarray
    core: tuple[int, int, int, int]  # rows and columns of the tile's roofs on the base grid
    offset: tuple[int, int]  # the core's origin inside ``z``
    z: np.ndarray | None  # the DSM over the core plus the horizon search distance
    irradiation: np.ndarray | None  # a precomputed irradiation raster over the core
    ground: np.ndarray | None  # the DTM over the core
    planes: object = None  # PlaneWindow of a 3D model, buildings in local positions
    plane_columns: dict | None = None
    transform: object = None  # of the core


@dataclass
class TileResult:
    """What :func:`solve_tile` found, in the tile's local building positions."""

    local_ids: np.ndarray  # local positions of the buildings with roof pixels
    values: dict  # result column -> array over local_ids
    roof_height: dict  # local position -> 90th percentile of DSM − DTM
    flags: list  # (local position, text)
    rows: np.ndarray  # roof pixels on the base grid
    cols: np.ndarray
    irradiation: np.ndarray
    sky_view: np.ndarray
    hourly_poa: np.ndarray | None  # hours × local_ids, float32
    hourly_pv: np.ndarray | None
    segments: pd.DataFrame


def _tile_job(b, sindex, idx, base, dsm_grid, irr_grid, dtm_grid, planes, margin, align, spans) -> TileJob:
    """The tile of buildings ``idx``: its windows read from the rasters, its neighbours picked."""
    from affine import Affine
    from shapely import box

    r0s, r1s, c0s, c1s = spans
    nrow, ncol = base.shape
    # window: the tile's buildings + search distance, aligned to the coarsest pyramid block
    wr0 = int(math.floor(max(r0s[idx].min(), 0))) - margin
    wc0 = int(math.floor(max(c0s[idx].min(), 0))) - margin
    wr1 = int(math.ceil(min(r1s[idx].max(), nrow))) + margin
    wc1 = int(math.ceil(min(c1s[idx].max(), ncol))) + margin
    wr0 = max((wr0 // align) * align, 0)
    wc0 = max((wc0 // align) * align, 0)
    wr1, wc1 = min(wr1, nrow), min(wc1, ncol)
    # core: the tile's buildings (+2 pixels), where slope, planes and areas are computed
    kr0 = max(int(math.floor(r0s[idx].min())) - 2, 0)
    kr1 = min(int(math.ceil(r1s[idx].max())) + 2, nrow)
    kc0 = max(int(math.floor(c0s[idx].min())) - 2, 0)
    kc1 = min(int(math.ceil(c1s[idx].max())) + 2, ncol)
    h, w = kr1 - kr0, kc1 - kc0
    ctr = base.transform @ Affine.translation(kc0, kr0)
    cl, ct = ctr @ (0, 0)
    crr, cb = ctr @ (w, h)
    touching = sindex.query(box(cl, cb, crr, ct), predicate="intersects")
    pw = planes.window(ctr, (h, w)) if planes is not None else None
    near = [touching, idx]
    if pw is not None:
        near.append(pw.building[pw.building >= 0])
    positions = np.unique(np.concatenate(near).astype(np.int64))
    own = np.searchsorted(positions, idx)
    if pw is not None:  # the model's building per pixel, in local positions
        pw.building = np.where(pw.building >= 0, np.searchsorted(positions, np.maximum(pw.building, 0)), -1)
    return TileJob(
        buildings=b.iloc[positions].reset_index(drop=True), own=own, positions=positions,
        core=(kr0, kr1, kc0, kc1), offset=(kr0 - wr0, kc0 - wc0),
        z=dsm_grid.read(wr0, wr1, wc0, wc1) if dsm_grid is not None else None,
        irradiation=irr_grid.read(kr0, kr1, kc0, kc1) if irr_grid is not None else None,
        ground=dtm_grid.read(kr0, kr1, kc0, kc1) if dtm_grid is not None and dsm_grid is not None else None,
        planes=pw, plane_columns=planes.segment_columns(pw) if planes is not None else None,
        transform=ctr,
    )


def solve_tile(job: TileJob, ctx: TileContext, progress: ProgressCallback = no_progress) -> TileResult:
    """Roof pixels, planes, horizon, irradiation and yields of one tile (pure: the same inputs give
    the same numbers in this process or on any Dask worker)."""
    from rasterio import features

    b, idx, params, csky, sky = job.buildings, job.own, ctx.params, ctx.csky, ctx.sky
    kr0, kr1, kc0, kc1 = job.core
    h, w = kr1 - kr0, kc1 - kc0
    ctr = job.transform
    dx, dy = ctx.res
    cell = min(dx, dy)
    pw = job.planes
    if pw is not None:  # roof planes of a 3D model: the highest plane's building per pixel
        bid = pw.building.astype(np.int32)
    else:
        # rasterise so that the tile's own buildings win over neighbours
        geoms = b.geometry.to_numpy()
        own = set(int(i) for i in idx)
        order = [i for i in range(len(b)) if i not in own] + list(idx)
        bid = features.rasterize(
            ((geoms[i], int(i)) for i in order), out_shape=(h, w), transform=ctr, fill=-1,
            dtype="int32",
        )
    z = job.z
    oro, oco = job.offset
    implausible = np.zeros((h, w), dtype=bool)
    if z is not None:  # impossible elevations (an undeclared nodata value, spikes) are nodata
        bad_z = outside_physical_range(z, "elevation")
        if bad_z.any():
            z = np.where(bad_z, np.float32(np.nan), z)
            implausible = bad_z[oro : oro + h, oco : oco + w]
    zc = z[oro : oro + h, oco : oco + w] if z is not None else None
    irr_pre = job.irradiation
    valid_src = zc if zc is not None else irr_pre
    target_mask = np.isin(bid, idx) & np.isfinite(valid_src)
    if pw is not None:
        slope, aspect = pw.slope, pw.aspect
    elif zc is not None:
        # roof planes from roof pixels only: at a footprint's edge the drop to the street is a
        # wall, not a roof slope (Horn's missing neighbours are extrapolated from inside)
        slope, aspect = slope_aspect(np.where(bid >= 0, zc, np.nan), dx, dy)
    else:
        slope = np.zeros((h, w), np.float32)
        aspect = np.full((h, w), 180.0, np.float32)
    pix_area = dx * dy
    # roof planes: the model's, else connected pixels of one orientation class
    from .segments import adopt_plane_orientation, label_segments, segment_table

    if pw is not None:
        seg_label = np.where(target_mask, pw.segments, 0)
    else:
        seg_label, absorbed = label_segments(
            bid, target_mask, slope, aspect, params.flat_max_slope_deg,
            params.segment_aspect_step_deg, params.segment_slope_step_deg,
            min_pixels=max(int(round(params.min_segment_area_m2 / pix_area)), 1), return_absorbed=True,
        )
        # pixels absorbed by a plane (ridge and hip lines, slivers) lie on it: its orientation
        slope, aspect = adopt_plane_orientation(seg_label, absorbed, slope, aspect)
    rows, cols = np.nonzero(target_mask)
    pix_b = bid[rows, cols]
    sl = slope[rows, cols].astype(np.float64)
    asp = aspect[rows, cols].astype(np.float64)
    flat = sl < params.flat_max_slope_deg
    a_tilt = np.where(flat, params.flat_tilt_deg, sl)
    a_az = np.where(flat, params.flat_azimuth_deg, asp)

    if irr_pre is not None:
        poa = irr_pre[rows, cols].astype(np.float64)
        svf = np.full(len(rows), np.nan)
        horizon = None
    else:
        progress(0.1, "horizon angles")
        horizon = hz.horizon_angles(
            z, rows + oro, cols + oco, dx, dy, n_sectors=params.n_sectors, max_distance=ctx.max_dist,
            steps_per_distance=params.steps_per_distance,
        )
        progress(0.6, "irradiation")
        pi = skymod.annual_poa(a_tilt, a_az, horizon, csky, keep_hourly_bins=True)
        poa = pi.total
        svf = pi.sky_view
        hourly_bins = pi.hourly_bins

    # areas [m²]
    if pw is not None:  # each plane's pixels share its exact area
        factor = pw.area_factor[rows, cols]
        roof_area = pix_area / np.cos(np.radians(sl)) * factor
    else:
        factor = _footprint_area_factor(b, bid, pix_area, ctx.extent)[rows, cols]
        roof_area = np.where(flat, pix_area, pix_area / np.cos(np.radians(np.minimum(sl, 89.0)))) * factor
    setback = _setback_fraction(bid, cell, params.edge_setback_m)[rows, cols]
    ok = (poa >= params.min_irradiation_kwh_m2) & (sl <= params.max_slope_deg)
    module_area = np.where(flat, pix_area * factor * ctx.gcr, roof_area * params.pitched_packing) * setback * ok

    # the minimum panel area per plane
    pix_seg = seg_label[rows, cols]
    seg_mod = np.bincount(pix_seg, weights=module_area, minlength=int(seg_label.max()) + 1)
    small = seg_mod[pix_seg] < params.min_panel_area_m2
    module_area = np.where(small, 0.0, module_area)

    # per building sums over its pixels (vectorised)
    progress(0.75, "hourly per building")
    local_ids = np.unique(pix_b)
    pos = np.searchsorted(local_ids, pix_b)
    nl = len(local_ids)
    npix = np.bincount(pos, minlength=nl)
    A = np.bincount(pos, weights=module_area, minlength=nl)
    roof_a = np.bincount(pos, weights=roof_area, minlength=nl)
    mean_irr = np.bincount(pos, weights=poa * roof_area, minlength=nl) / roof_a
    exp_pix = b.geometry.iloc[local_ids].area.to_numpy() / pix_area
    cov = np.minimum(np.where(exp_pix > 0, npix / np.maximum(exp_pix, 1e-9), 1.0), 1.0)
    a_pv = A * params.share_pv
    a_st = A * params.share_solar_thermal
    a_pvt = A * params.share_pvt
    kwp_pv = a_pv * params.module_efficiency  # STC 1 kW/m²
    kwp_pvt = a_pvt * params.module_efficiency
    temp = sky.data["temp_air"].to_numpy()
    wind = sky.data["wind_speed"].to_numpy()
    month = sky.data.index.month.to_numpy()
    month_of_hour = (np.arange(1, 13)[:, None] == month[None, :]).astype(np.float64)  # (12, h)
    t2, w2 = temp[:, None], wind[:, None]

    # hourly irradiance on the modules and the yields, a batch of buildings at a time (memory)
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(nl + 1))
    sums = {k: np.zeros(nl) for k in ("pv", "st", "pvt", "pvt_th")}
    monthly = np.zeros((12, nl))
    keep = params.keep_hourly
    poa_h = np.zeros((len(temp), nl), np.float32) if keep else None
    pv_hourly = np.zeros((len(temp), nl), np.float32) if keep else None
    batch = 128
    for s0 in range(0, nl, batch):
        s1 = min(s0 + batch, nl)
        sel = order[bounds[s0] : bounds[s1]]
        grp = pos[sel] - s0
        if horizon is not None:
            w_h = skymod.hourly_groups(a_tilt[sel], a_az[sel], horizon[sel], svf[sel],
                                       module_area[sel], grp, s1 - s0, csky, sky,
                                       hourly_bins=hourly_bins[sel])
        else:
            w_h = _hourly_from_annual(poa[sel], module_area[sel], grp, s1 - s0, sky)
        Ab = A[s0:s1]
        with np.errstate(invalid="ignore", divide="ignore"):
            g = np.where(Ab[None, :] > 0, w_h / Ab[None, :], 0.0)  # W/m² on the modules
        # PV only in the hours with light on some module (no light, no AC power)
        lit = np.nonzero((g > 0.0).any(axis=1))[0]
        pv_h = np.zeros_like(g)
        pv_h[lit] = _pv_ac_kwh(g[lit], t2[lit], w2[lit], kwp_pv[None, s0:s1], params)
        sums["pv"][s0:s1] = pv_h.sum(axis=0)
        monthly[:, s0:s1] = month_of_hour @ pv_h
        if params.share_pvt > 0:
            sums["pvt"][s0:s1] = _pv_ac_kwh(g[lit], t2[lit], w2[lit], kwp_pvt[None, s0:s1],
                                             params).sum(axis=0)
            sums["pvt_th"][s0:s1] = _collector_kwh(
                g, t2, a_pvt[None, s0:s1], params.pvt_eta0, params.pvt_a1, params.pvt_a2,
                params.pvt_mean_temp_c).sum(axis=0)
        if params.share_solar_thermal > 0:
            sums["st"][s0:s1] = _collector_kwh(
                g, t2, a_st[None, s0:s1], params.st_eta0, params.st_a1, params.st_a2,
                params.st_mean_temp_c).sum(axis=0)
        if keep:
            poa_h[:, s0:s1] = g
            pv_hourly[:, s0:s1] = pv_h

    values = {
        "roof_area_m2": roof_a, "roof_irradiation_kwh_m2": mean_irr, "usable_area_m2": A,
        "dsm_coverage": cov, "pv_area_m2": a_pv, "pv_kwp": kwp_pv, "pv_kwh": sums["pv"],
        "solar_thermal_area_m2": a_st, "solar_thermal_kwh": sums["st"], "pvt_area_m2": a_pvt,
        "pvt_kwh": sums["pvt"], "pvt_heat_kwh": sums["pvt_th"],
        **{c: monthly[m] for m, c in enumerate(MONTH_COLS)},
    }
    flags = []
    n_implausible = np.bincount(bid[implausible & (bid >= 0)], minlength=len(b))
    lo, hi = ELEVATION_RANGE_M
    odd = f"values outside the physical range ({lo:g} to {hi:g} m, taken as nodata)"
    for k in np.nonzero(cov < 0.9)[0]:
        why = f"edge of the raster, nodata or {odd}" if n_implausible[local_ids[k]] else "edge of the raster or nodata"
        flags.append((int(local_ids[k]),
                      f"the {ctx.base_name} covers {cov[k]:.0%} of the roof ({why}); PV counts the covered part only"))
    roof_height = {}
    if job.ground is not None and zc is not None:
        ground = np.where(outside_physical_range(job.ground, "elevation"), np.float32(np.nan), job.ground)
        ndsm = (zc - ground)[rows, cols]
        for k in range(nl):
            v = ndsm[order[bounds[k] : bounds[k + 1]]]
            v = v[np.isfinite(v)]
            if v.size:
                roof_height[int(local_ids[k])] = float(np.percentile(v, 90))
    # buildings of this tile without a single valid pixel
    for bi in sorted(set(idx.tolist()) - set(local_ids.tolist())):
        why = f"{ctx.base_name} {odd}" if n_implausible[bi] else "nodata, or smaller than a pixel"
        flags.append((int(bi), f"no valid {ctx.base_name} pixel under the footprint ({why}): no rooftop PV estimate (NaN)"))

    # segments layer
    pv_kwh_local = np.full(len(b), np.nan)
    pv_kwh_local[local_ids] = sums["pv"]
    segments = segment_table(
        seg_label, ctr, pix_seg, pix_b, b["building_id"].to_numpy(), sl, asp, a_tilt, a_az,
        flat, roof_area, poa, module_area, params, pv_kwh_local, model_columns=job.plane_columns,
    )
    return TileResult(
        local_ids=local_ids, values=values, roof_height=roof_height, flags=flags,
        rows=kr0 + rows, cols=kc0 + cols, irradiation=poa.astype(np.float32),
        sky_view=np.asarray(svf, dtype=np.float32), hourly_poa=poa_h, hourly_pv=pv_hourly,
        segments=segments,
    )


def _merge_tile(job: TileJob, out: TileResult, res, flags, grids, hourly_poa, hourly_pv, keep_hourly):
    """Write one tile's results into the district's tables and grids (in the caller's process)."""
    grids.put(out.rows, out.cols, out.irradiation, out.sky_view)
    where = job.positions[out.local_ids]
    for col, v in out.values.items():
        res.iloc[where, res.columns.get_loc(col)] = v
    for k, v in out.roof_height.items():
        res.iloc[job.positions[k], res.columns.get_loc("roof_height_m")] = v
    for k, text in out.flags:
        flags[job.positions[k]].append(text)
    if keep_hourly:
        names = res.index[where]
        for k, name in enumerate(names):
            hourly_poa[name] = out.hourly_poa[:, k]
            hourly_pv[name] = out.hourly_pv[:, k]


def run_tiles(jobs, n_jobs: int, ctx: TileContext, merge, progress: ProgressCallback) -> None:
    """Solve every tile here, or on the Dask cluster of :func:`pedgis.cluster.current_client`.

    ``merge(i, job, result)`` is called in this process as each tile finishes."""
    from ..cluster import current_client

    client = current_client()
    if client is None:
        for ti, job in enumerate(jobs):
            rep = scaled(progress, 0.05 + 0.9 * ti / max(n_jobs, 1), 0.05 + 0.9 * (ti + 1) / max(n_jobs, 1))
            rep(0.05, "reading the DSM")
            merge(ti, job, solve_tile(job, ctx, rep))
        return
    from ..cluster import map_bounded

    map_bounded(client, solve_tile, jobs, n_jobs, ctx, merge, progress, what="DSM tiles")


def _footprint_area_factor(b, bid, pix_area, extent) -> np.ndarray:
    """Per pixel: the footprint's exact area over the area of its rasterised pixels.

    A footprint rasterised by pixel centres gains or loses up to half a pixel along every edge
    (±4 % on a 10 × 15 m roof at 0.5 m); each building's pixels share its exact area instead.
    Footprints reaching beyond the raster keep factor 1 (their missing part is reported by
    ``dsm_coverage``).
    """
    out = np.ones(bid.shape, dtype=np.float64)
    on = bid >= 0
    if not on.any():
        return out
    ids, inv, cnt = np.unique(bid[on], return_inverse=True, return_counts=True)
    geoms = b.geometry.iloc[ids]
    x0, y0, x1, y1 = geoms.bounds.to_numpy().T
    rx0, ry0, rx1, ry1 = extent
    whole = (x0 >= rx0) & (x1 <= rx1) & (y0 >= ry0) & (y1 <= ry1)
    f = np.where(whole, geoms.area.to_numpy() / (cnt * pix_area), 1.0)
    out[on] = f[inv]
    return out


def _hourly_from_annual(poa, weight, group, n_groups, sky):
    """Hourly shape for a precomputed annual irradiation raster: the horizontal global
    irradiance's shape scaled to each building's annual irradiation on its modules [W]."""
    annual_wh = np.bincount(group, weights=poa * weight * 1000.0, minlength=n_groups)
    ghi = sky.data["ghi"].to_numpy()
    shape = ghi / ghi.sum() if ghi.sum() > 0 else np.zeros_like(ghi)
    return shape[:, None] * annual_wh[None, :]


def _pv_ac_kwh(g, temp_air, wind, kwp, params):
    """Hourly AC energy [kWh] of ``kwp`` of modules under irradiance ``g`` [W m⁻²].

    Notes
    -----
    PVWatts (Dobos 2014, NREL/TP-6A20-62641): ``P_dc = G/1000 · P_dc0 (1 + γ (T_c - 25))``,
    ``T_c`` by Faiman (2008, doi:10.1002/pip.813) with pvlib's defaults, system losses, the
    PVWatts inverter curve (pvlib.inverter.pvwatts). With ``yield_model='pr'``:
    ``E = G · A · η · PR`` (IEC 61724-1 performance ratio).
    """
    import pvlib

    kwp = np.asarray(kwp, dtype=float)
    if params.yield_model == "pr":
        return g / 1000.0 * kwp * params.performance_ratio  # kW over 1 h = kWh
    tcell = pvlib.temperature.faiman(g, temp_air, wind)
    with np.errstate(invalid="ignore", divide="ignore"):
        pdc = pvlib.pvsystem.pvwatts_dc(g, tcell, kwp * 1000.0, params.gamma_pdc)
        pdc = np.asarray(pdc) * (1.0 - params.system_losses)
        pac0 = np.maximum(kwp * 1000.0 / params.dc_ac_ratio, 1e-9)
        pac = pvlib.inverter.pvwatts(pdc, pac0 / params.inverter_efficiency,
                                     params.inverter_efficiency)
    pac = np.where(kwp > 0, np.asarray(pac), 0.0)
    return wh_to_kwh(np.clip(np.nan_to_num(pac), 0.0, None))


def _collector_kwh(g, temp_air, area, eta0, a1, a2, t_mean):
    """Hourly useful heat [kWh] of a collector field.

    Notes
    -----
    EN ISO 9806:2017 quasi-steady model: ``q = η0 G - a1 (T_m - T_a) - a2 (T_m - T_a)²``
    [W m⁻²], zero when negative (the pump stops).
    """
    dT = t_mean - temp_air
    q = np.clip(eta0 * g - a1 * dT - a2 * dT * dT, 0.0, None)
    return wh_to_kwh(q * area)
