"""Rooftop solar on the roof planes of a 3D city model (CityGML / CityJSON LoD2).

The model's roof surfaces are the roof planes: each pixel of a plane takes the plane's exact tilt
and azimuth (no slope from a raster), and the plane's exact area. Shading comes from the model
itself, rasterised at :data:`MODEL_RESOLUTION_M` (or finer, on the DSM's grid) into a surface
grid — every roof at its height, the ground between buildings interpolated from the buildings'
ground heights (or a DTM) — and, when a DSM is also given, from the DSM too (the higher of both on
roofs; trees, terrain and buildings missing from the model come from the DSM). The horizon,
sky, PVWatts and solar-thermal chain is :func:`pedgis.solar.rooftop.rooftop_solar`'s.

:func:`rooftop_from_model` returns a :class:`~pedgis.solar.rooftop.RooftopResult` whose
``roof_segments`` are the model's roof planes (``surface_id``, exact 3D ``area_m2``, 2D outline,
``mean_height_m`` above ground); planes too small to hold a pixel are listed with NaN yields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import CRSError, InputDataError
from ..progress import ProgressCallback

#: Surface grid resolution of the model [m] (the horizon and the roof pixels): fine enough that
#: a dormer or a 1 m parapet shades, and as fine as the LiDAR DSMs roof models are made from.
MODEL_RESOLUTION_M = 0.5
#: Cell of the ground surface interpolated between the buildings' ground heights [m].
GROUND_CELL_M = 8.0
#: Margin of the surface grid around the model [m].
GRID_MARGIN_M = 10.0


@dataclass
class PlaneWindow:
    """The roof planes on one window of the surface grid (see :meth:`ModelRoofs.window`)."""

    plane: np.ndarray  # (h, w) plane index, -1 none
    building: np.ndarray  # (h, w) building row of the caller's table, -1 none
    slope: np.ndarray  # (h, w) tilt [°], NaN off the planes
    aspect: np.ndarray  # (h, w) azimuth [°]
    area_factor: np.ndarray  # (h, w) exact projected area / rasterised area of the plane
    segments: np.ndarray  # (h, w) consecutive labels 1…n of the planes, 0 none
    label_plane: np.ndarray  # (n + 1,) plane index of each label


class ModelRoofs:
    """The roof planes of a :class:`pedgis.io.citymodel.CityModel`."""

    def __init__(self, model):
        from ..io.citymodel import part_heights

        self.model = model
        self.poly = model.roof_index
        pl = model.planes
        parts = model.parts
        self.part = model.poly_part[self.poly]
        b_of_part = parts["building"].to_numpy()
        self.building_id = model.buildings["building_id"].to_numpy(dtype=object)[b_of_part[self.part]]
        self.part_id = parts["part_id"].to_numpy(dtype=object)[self.part]
        self.surface_id = model.poly_id[self.poly]
        self.tilt = pl.tilt[self.poly]
        self.azimuth = pl.azimuth[self.poly]
        self.area_2d = pl.area_2d[self.poly]
        self.area_3d = pl.area_3d[self.poly]
        self.heights = part_heights(model)
        self.ground_z = self.heights["ground_z"].to_numpy()[self.part]
        self.mean_height = pl.mean_z[self.poly] - self.ground_z
        xy = model.coords[:, :2]
        r0 = model.ring_start[model.poly_ring[self.poly]]
        r1 = model.ring_start[model.poly_ring[self.poly + 1]]
        self.bbox = np.array([[*xy[a:b].min(axis=0), *xy[a:b].max(axis=0)] for a, b in zip(r0, r1, strict=True)]
                             ).reshape(-1, 4)
        self.plane_of_poly = np.full(len(model.poly_kind), -1, dtype=np.int64)
        self.plane_of_poly[self.poly] = np.arange(len(self.poly))
        self._geoms = None
        self._b_row = None

    def __len__(self) -> int:
        return len(self.poly)

    @property
    def geometries(self) -> np.ndarray:
        """2D outline of every plane (shapely)."""
        if self._geoms is None:
            self._geoms = self.model.polygons_2d(self.poly)
        return self._geoms

    def outlines(self):
        """Per building: the union of its roof planes' projections (where modules can go)."""
        import geopandas as gpd
        import shapely

        g = pd.Series(list(self.geometries)).groupby(self.building_id, sort=False).agg(
            lambda s: shapely.union_all(list(s)))
        return gpd.GeoDataFrame({"building_id": g.index.astype(str)}, geometry=list(g.to_numpy()),
                                crs=self.model.crs)

    def bind(self, building_ids) -> None:
        """Map each plane to its building's row in the table the solar model runs on."""
        self._b_row = pd.Index(pd.Series(building_ids, dtype=object).astype(str)).get_indexer(
            self.building_id.astype(str))

    def select(self, x0, y0, x1, y1) -> np.ndarray:
        """Planes whose bounding box meets the rectangle."""
        b = self.bbox
        return np.flatnonzero((b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0))

    def rasterise(self, transform, shape):
        """Plane heights on a grid: z (-inf off roofs), plane index (-1), pixel count per plane."""
        from ..roofs import rasterise_planes

        h, w = shape
        x0, y1 = transform.c, transform.f
        x1, y0 = x0 + w * transform.a, y1 + h * transform.e
        sel = self.select(x0, y0, x1, y1)
        m = self.model
        z, lab, counts = rasterise_planes(m.coords, m.ring_start, m.poly_ring, m.planes.coef, transform,
                                          shape, select=self.poly[sel])
        plane = np.where(lab >= 0, self.plane_of_poly[np.maximum(lab, 0)], -1)
        return z, plane, counts[self.poly]

    def window(self, transform, shape) -> PlaneWindow:
        """What :func:`pedgis.solar.rooftop.rooftop_solar` needs of the planes on a window."""
        _, plane, counts = self.rasterise(transform, shape)
        on = plane >= 0
        p = np.maximum(plane, 0)
        building = np.where(on, self._b_row[p], -1) if self._b_row is not None else np.where(on, 0, -1)
        pix = abs(transform.a * transform.e)
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = np.where(counts > 0, self.area_2d / (counts * pix), 1.0)
        present = np.unique(plane[on])
        label_of = np.zeros(len(self) + 1, dtype=np.int32)
        label_of[present] = np.arange(1, len(present) + 1, dtype=np.int32)
        return PlaneWindow(
            plane=plane, building=building,
            slope=np.where(on, self.tilt[p], np.nan).astype(np.float32),
            aspect=np.where(on, self.azimuth[p], np.nan).astype(np.float32),
            area_factor=np.where(on, factor[p], 1.0),
            segments=np.where(on, label_of[p], 0).astype(np.int32),
            label_plane=np.concatenate([[-1], present]).astype(np.int64))

    def segment_columns(self, win: PlaneWindow) -> dict:
        """Per segment label: the plane's own outline, id, exact area and height (for the layer)."""
        lp = win.label_plane
        p = np.maximum(lp, 0)
        return {
            "surface_id": self.surface_id[p], "part_id": self.part_id[p],
            "area_m2": self.area_3d[p], "mean_height_m": self.mean_height[p],
            "tilt": self.tilt[p], "geometry": self.geometries[p], "_plane": lp,
        }


# --------------------------------------------------------------------------- surface grid


class ModelSurface:
    """The model as a surface raster, rasterised window by window (a ``Grid`` source).

    Roof pixels carry the highest roof plane; other pixels the ground (a DTM when given, else
    interpolated between the buildings' ground heights); with a DSM, the DSM wherever it has data
    and the higher of roof and DSM on roofs.
    """

    def __init__(self, roofs: ModelRoofs, transform, shape, dsm=None, dsm_factor: int = 1,
                 dsm_offset=(0, 0), dtm=None):
        self.roofs = roofs
        self.transform = transform
        self.height, self.width = shape
        self.crs = roofs.model.crs
        self.dsm = dsm
        self.k = int(dsm_factor)
        self.offset = dsm_offset  # (rows, cols) of the DSM's origin on this grid
        self.dtm = dtm
        self.name = "3D model" + (" + DSM" if dsm is not None else "")
        self._ground = self._ground_grid() if dtm is None else None

    def _ground_grid(self):
        """Ground heights on a coarse grid: linear between the parts' ground points, nearest
        outside their hull."""
        from scipy.interpolate import griddata

        h = self.roofs.heights
        fp = h["footprint"].to_numpy()
        ok = np.array([g is not None for g in fp]) & np.isfinite(h["ground_z"].to_numpy())
        if not ok.any():
            return None
        pts = np.array([[g.centroid.x, g.centroid.y] for g in fp[ok]])
        z = h["ground_z"].to_numpy()[ok]
        t = self.transform
        x0, y1 = t.c, t.f
        w_m, h_m = self.width * t.a, -self.height * t.e
        nx, ny = max(int(math.ceil(w_m / GROUND_CELL_M)) + 1, 2), max(int(math.ceil(h_m / GROUND_CELL_M)) + 1, 2)
        gx = x0 + np.linspace(0, w_m, nx)
        gy = y1 - np.linspace(0, h_m, ny)
        GX, GY = np.meshgrid(gx, gy)
        if len(pts) >= 3 and np.linalg.matrix_rank(pts - pts.mean(axis=0)) == 2:
            g = griddata(pts, z, (GX, GY), method="linear")
            near = griddata(pts, z, (GX, GY), method="nearest")
            g = np.where(np.isfinite(g), g, near)
        else:
            g = np.full(GX.shape, float(z.min()))
        return g, (w_m / (nx - 1)), (h_m / (ny - 1))

    def ground(self, r0, r1, c0, c1) -> np.ndarray:
        from scipy.ndimage import map_coordinates

        h, w = r1 - r0, c1 - c0
        if self.dtm is not None:
            return self._read_dsm_like(self.dtm, r0, r1, c0, c1)
        if self._ground is None:
            return np.full((h, w), np.nan, dtype=np.float32)
        g, sx, sy = self._ground
        t = self.transform
        rows = ((np.arange(r0, r1) + 0.5) * -t.e) / sy
        cols = ((np.arange(c0, c1) + 0.5) * t.a) / sx
        R, C = np.meshgrid(rows, cols, indexing="ij")
        return map_coordinates(g, [R, C], order=1, mode="nearest").astype(np.float32)

    def _read_dsm_like(self, src, r0, r1, c0, c1) -> np.ndarray:
        """A raster on the DSM's grid read onto this grid (each DSM pixel = k × k cells)."""
        k = self.k
        orow, ocol = self.offset
        sr0, sc0 = (r0 - orow) // k, (c0 - ocol) // k
        sr1, sc1 = -((-(r1 - orow)) // k), -((-(c1 - ocol)) // k)
        out = np.full((sr1 - sr0, sc1 - sc0), np.nan, dtype=np.float32)
        ar0, ac0 = max(sr0, 0), max(sc0, 0)
        ar1, ac1 = min(sr1, src.height), min(sc1, src.width)
        if ar1 > ar0 and ac1 > ac0:
            out[ar0 - sr0:ar1 - sr0, ac0 - sc0:ac1 - sc0] = src.read(ar0, ar1, ac0, ac1)
        if k > 1:
            out = np.repeat(np.repeat(out, k, axis=0), k, axis=1)
        rr0, cc0 = (r0 - orow) - sr0 * k, (c0 - ocol) - sc0 * k
        return out[rr0:rr0 + (r1 - r0), cc0:cc0 + (c1 - c0)]

    def read(self, r0, r1, c0, c1) -> np.ndarray:
        from affine import Affine

        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r1, self.height), min(c1, self.width)
        tr = self.transform * Affine.translation(c0, r0)
        z, plane, _ = self.roofs.rasterise(tr, (r1 - r0, c1 - c0))
        on = plane >= 0
        out = np.where(on, z, self.ground(r0, r1, c0, c1)).astype(np.float32)
        if self.dsm is not None:
            d = self._read_dsm_like(self.dsm, r0, r1, c0, c1)
            have = np.isfinite(d)
            out = np.where(have & ~on, d, out)
            out = np.where(have & on, np.maximum(out, d), out)
        return out

    def close(self) -> None:  # the Grid protocol of the file-backed sources
        return None


def surface_grid(roofs: ModelRoofs, dsm=None, dtm=None):
    """The :class:`pedgis.solar.rooftop.Grid` of the model (and DSM) at ≤ 0.5 m.

    Parameters
    ----------
    roofs : ModelRoofs
    dsm, dtm : ``Grid`` of a DSM / DTM file (optional; same CRS as the model, a DTM on the DSM's
        grid when both are given)
    """
    from affine import Affine
    from pyproj import CRS

    from .rooftop import Grid

    m = roofs.model
    bb = roofs.bbox
    if not len(bb):
        raise InputDataError(f"{m.path}: the model has no roof surface, so there is no roof to put "
                             "modules on.")
    mx0, my0 = bb[:, 0].min() - GRID_MARGIN_M, bb[:, 1].min() - GRID_MARGIN_M
    mx1, my1 = bb[:, 2].max() + GRID_MARGIN_M, bb[:, 3].max() + GRID_MARGIN_M
    ref = dsm if dsm is not None else dtm
    if ref is None:
        c = MODEL_RESOLUTION_M
        x0, y1 = math.floor(mx0 / c) * c, math.ceil(my1 / c) * c
        w, h = int(math.ceil((mx1 - x0) / c)), int(math.ceil((y1 - my0) / c))
        tr = Affine(c, 0, x0, 0, -c, y1)
        src = ModelSurface(roofs, tr, (h, w))
        return Grid(src, tr, m.crs, name=f"3D model {m.path.name}")
    if not CRS.from_user_input(ref.crs).equals(m.crs):
        raise CRSError(f"{ref.name} is in {CRS.from_user_input(ref.crs).name}, the 3D model {m.path.name} in "
                       f"{m.crs.name}: warp the raster to the model's CRS (`gdalwarp -t_srs "
                       f"{m.crs.to_string()} IN OUT`).")
    rd = float(ref.transform.a)
    k = max(int(math.ceil(rd / MODEL_RESOLUTION_M - 1e-9)), 1)
    c = rd / k
    t = ref.transform
    rh, rw = ref.shape
    # the DSM's grid, extended by whole DSM pixels to hold the model
    pad_l = max(int(math.ceil((t.c - mx0) / rd)), 0)
    pad_t = max(int(math.ceil((my1 - t.f) / rd)), 0)
    pad_r = max(int(math.ceil((mx1 - (t.c + rw * rd)) / rd)), 0)
    pad_b = max(int(math.ceil(((t.f - rh * rd) - my0) / rd)), 0)
    x0, y1 = t.c - pad_l * rd, t.f + pad_t * rd
    tr = Affine(c, 0, x0, 0, -c, y1)
    shape = ((rh + pad_t + pad_b) * k, (rw + pad_l + pad_r) * k)
    src = ModelSurface(roofs, tr, shape, dsm=dsm.source if dsm is not None else None, dsm_factor=k,
                       dsm_offset=(pad_t * k, pad_l * k), dtm=dtm.source if dtm is not None else None)
    name = f"3D model {m.path.name}" + (f" + {dsm.name}" if dsm is not None else "")
    return Grid(src, tr, m.crs, name=name)


def rooftop_from_model(model, weather, params=None, *, dsm=None, dtm=None, building_ids=None,
                       progress: ProgressCallback | None = None, grid_folder=None):
    """Rooftop PV / solar thermal / PVT on the roof planes of a 3D city model.

    Parameters
    ----------
    model : :class:`pedgis.io.citymodel.CityModel`
    weather : :class:`pedgis.io.weather.Weather`
    params : :class:`pedgis.solar.params.SolarParams`
    dsm, dtm : ``Grid`` (optional): more shading (trees, terrain, buildings not in the model) and
        the ground between buildings
    building_ids : compute only these buildings (default: all with roof planes); the others of
        the list without roof planes get NaN and a flag
    grid_folder : where a city's irradiation and sky-view grids go (see :func:`rooftop_solar`)

    Returns
    -------
    :class:`pedgis.solar.rooftop.RooftopResult` (``segments`` = the model's roof planes)
    """
    from .rooftop import rooftop_solar

    roofs = ModelRoofs(model)
    grid = surface_grid(roofs, dsm=dsm, dtm=dtm)
    outlines = roofs.outlines()
    if building_ids is not None:
        ids = pd.Index(pd.Series(building_ids, dtype=object).astype(str).unique())
        outlines = outlines[outlines["building_id"].isin(ids)].reset_index(drop=True)
    else:
        ids = pd.Index(model.buildings["building_id"].astype(str))
    roofs.bind(outlines["building_id"].to_numpy())
    res = rooftop_solar(outlines, grid, weather, params, planes=roofs, progress=progress, grid_folder=grid_folder)
    # buildings without a roof plane: a row each, NaN, flagged
    missing = ids.difference(res.buildings.index)
    if len(missing):
        from .rooftop import _empty_building_table

        extra = _empty_building_table(missing.to_numpy())
        extra["solar_flags"] = "no roof surface in the 3D model: no rooftop PV estimate (NaN)"
        res.buildings = pd.concat([res.buildings, extra]).reindex(ids)
    # planes without a pixel (smaller than a grid cell, or under a higher roof): listed, NaN
    segs = res.segments
    done = set(segs["_plane"].astype(int)) if "_plane" in segs else set()
    wanted = np.isin(roofs.building_id.astype(str), outlines["building_id"].astype(str).to_numpy())
    lost = np.array([i for i in np.flatnonzero(wanted) if i not in done], dtype=np.int64)
    if len(lost):
        import geopandas as gpd

        rows = gpd.GeoDataFrame({
            "building_id": roofs.building_id[lost].astype(str), "surface_id": roofs.surface_id[lost],
            "part_id": roofs.part_id[lost],
            "roof_type": np.where(roofs.tilt[lost] < res.params.flat_max_slope_deg, "flat", "pitched"),
            "tilt": roofs.tilt[lost], "azimuth": roofs.azimuth[lost], "module_tilt": np.nan,
            "module_azimuth": np.nan, "area_m2": roofs.area_3d[lost], "irradiation_kwh_m2": np.nan,
            "usable": False, "usable_area_m2": 0.0, "pv_kwp": 0.0, "pv_kwh": 0.0,
            "mean_height_m": roofs.mean_height[lost]},
            geometry=list(roofs.geometries[lost]), crs=segs.crs)
        segs = gpd.GeoDataFrame(pd.concat([segs, rows], ignore_index=True), geometry="geometry", crs=segs.crs)
        segs = segs.sort_values("building_id", kind="stable").reset_index(drop=True)
        segs["segment_id"] = segs["building_id"] + "-" + (segs.groupby("building_id").cumcount() + 1).astype(str)
    res.segments = segs.drop(columns=["_plane"], errors="ignore")
    res.assumptions["solar"]["roof_model"] = {
        "file": str(model.path), "format": model.format, "roof_planes": int(len(roofs)),
        "surface_grid_m": float(grid.res[0]), "shading": grid.name}
    return res

