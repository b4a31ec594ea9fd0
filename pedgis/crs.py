"""Coordinate reference system rules (DESIGN.md, "Modelling notes").

* Never guess: a layer without a CRS is an error (see :mod:`pedgis.io.vector`).
* A geographic CRS (degrees) is reprojected to the estimated UTM zone, with a
  :class:`~pedgis.errors.CRSWarning`; so is a projected CRS whose unit is not the metre.
* Raster and vectors in different CRS: the vectors are reprojected to the raster's CRS, with a
  warning (rasters are never resampled for that).
* Vectors and raster (or buildings and boundary) that do not overlap: :class:`~pedgis.errors.CRSError`
  naming both extents, since this is almost always a wrong CRS declaration.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
from pyproj import CRS

from .errors import CRSError, CRSWarning


def _num(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".")


def _fmt_bounds(bounds, crs) -> str:
    x0, y0, x1, y1 = (float(v) for v in bounds)
    name = CRS.from_user_input(crs).to_string() if crs is not None else "no CRS"
    return f"x {_num(x0)}..{_num(x1)}, y {_num(y0)}..{_num(y1)} ({name})"


def is_metric_projected(crs) -> bool:
    """True for a projected CRS whose axes are in metres."""
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        return False
    units = {ax.unit_name.lower() for ax in crs.axis_info}
    return units <= {"metre", "meter", "m"}


def ensure_projected(gdf: gpd.GeoDataFrame, source_name: str = "buildings",
                     messages: list[str] | None = None) -> gpd.GeoDataFrame:
    """Return ``gdf`` in a projected CRS with metre units.

    A geographic CRS (or a projected one in feet) is reprojected to the UTM zone that
    ``pyproj`` estimates from the data's extent, with a :class:`CRSWarning`.

    Parameters
    ----------
    gdf : layer with a CRS
    source_name : file or section name for the messages
    messages : list the decision is appended to

    Raises
    ------
    CRSError
        ``gdf`` has no CRS, or no valid coordinates to estimate a UTM zone from
    """
    if gdf.crs is None:
        raise CRSError(
            f"{source_name}: no coordinate reference system. pedgis never guesses one: give it "
            "with `crs = \"EPSG:xxxx\"` in the scenario."
        )
    if is_metric_projected(gdf.crs):
        return gdf
    valid = gdf[~(gdf.geometry.is_empty | gdf.geometry.isna())]
    if valid.empty:
        raise CRSError(f"{source_name}: no geometry to estimate a projected CRS from.")
    try:
        utm = valid.estimate_utm_crs()
    except Exception as exc:  # noqa: BLE001 - pyproj raises RuntimeError for odd extents
        raise CRSError(
            f"{source_name}: in {gdf.crs.to_string()} (not metres) and no UTM zone could be estimated "
            f"for its extent {_fmt_bounds(valid.total_bounds, gdf.crs)} ({exc}). Reproject the file "
            "to a projected CRS in metres."
        ) from exc
    kind = "geographic (degrees)" if gdf.crs.is_geographic else "not in metres"
    msg = (
        f"{source_name}: CRS {gdf.crs.to_string()} is {kind}; reprojected to {utm.to_string()} "
        f"({utm.name}) for areas in m². Give the data in a projected CRS to choose another."
    )
    warnings.warn(msg, CRSWarning, stacklevel=2)
    if messages is not None:
        messages.append(msg)
    return gdf.to_crs(utm)


def bounds_overlap(a, b) -> bool:
    """True when two ``(xmin, ymin, xmax, ymax)`` boxes intersect."""
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def align_to_raster(gdf: gpd.GeoDataFrame, raster_crs, raster_bounds, raster_name: str,
                    source_name: str = "buildings",
                    messages: list[str] | None = None) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to a raster's CRS when they differ, and check that they overlap.

    Parameters
    ----------
    gdf : vector layer with a CRS
    raster_crs : the raster's CRS
    raster_bounds : the raster's ``(left, bottom, right, top)`` in its CRS
    raster_name, source_name : names used in the messages

    Raises
    ------
    CRSError
        the raster has no CRS, or the two extents do not overlap (both extents are named)
    """
    if raster_crs is None:
        raise CRSError(
            f"{raster_name}: the raster has no coordinate reference system. pedgis never guesses "
            "one: assign it (e.g. `gdal_edit.py -a_srs EPSG:xxxx FILE`)."
        )
    rcrs = CRS.from_user_input(raster_crs)
    if not rcrs.equals(gdf.crs):
        msg = (
            f"{source_name} ({gdf.crs.to_string()}) and raster {raster_name} ({rcrs.to_string()}) "
            f"are in different CRS: the vectors were reprojected to {rcrs.to_string()}; the raster "
            "is not resampled."
        )
        warnings.warn(msg, CRSWarning, stacklevel=2)
        if messages is not None:
            messages.append(msg)
        gdf = gdf.to_crs(rcrs)
    valid = gdf.geometry[~(gdf.geometry.is_empty | gdf.geometry.isna())]
    if len(valid) and not bounds_overlap(valid.total_bounds, raster_bounds):
        raise CRSError(
            f"{source_name} and raster {raster_name} do not overlap: {source_name} covers "
            f"{_fmt_bounds(valid.total_bounds, gdf.crs)}, the raster covers "
            f"{_fmt_bounds(raster_bounds, rcrs)}. One of them probably declares the wrong CRS "
            "(check the .prj / the raster's georeferencing), or they show different places."
        )
    return gdf


def check_overlap(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, a_name: str, b_name: str) -> None:
    """Raise :class:`CRSError` naming both extents when two layers (same CRS) do not overlap."""
    va = a.geometry[~(a.geometry.is_empty | a.geometry.isna())]
    vb = b.geometry[~(b.geometry.is_empty | b.geometry.isna())]
    if len(va) and len(vb) and not bounds_overlap(va.total_bounds, vb.total_bounds):
        raise CRSError(
            f"{a_name} and {b_name} do not overlap: {a_name} covers "
            f"{_fmt_bounds(va.total_bounds, a.crs)}, {b_name} covers "
            f"{_fmt_bounds(vb.total_bounds, b.crs)}. One of them probably declares the wrong CRS, "
            "or they show different places."
        )
