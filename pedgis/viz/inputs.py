"""What the pages are drawn from: a pipeline result or an existing output folder.

Both the engine's ``DistrictResult`` (in memory, right after a run) and an output folder
written earlier (``district.json``, ``buildings.gpkg``, optional ``irradiation.tif``) are
turned into the same :class:`VizInputs`, so ``pedgis map OUT_DIR`` re-renders exactly what
``pedgis run`` drew.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pedgis.errors import InputDataError

#: A raster larger than this (pixels per side) is read decimated: the map shows at most 1600 pixels
#: per side (pedgis.viz.maps.MAX_RASTER_PX), so twice that keeps the overlay's detail while a city's
#: grid (20,000² pixels, 3.2 GB as float64) is never read whole.
MAX_READ_PX = 3200


@dataclass
class Raster:
    """A single-band raster in memory.

    Attributes
    ----------
    array : numpy.ndarray
        2-D values (float); cells equal to ``nodata`` or NaN are no data.
    transform : affine.Affine
        Pixel-to-CRS transform.
    crs : object
        Anything :class:`rasterio.crs.CRS` accepts (WKT, EPSG code, CRS).
    nodata : float or None
        The nodata value, if any.
    """

    array: np.ndarray
    transform: Any
    crs: Any
    nodata: float | None = None


@dataclass
class VizInputs:
    """Everything the map, Sankey and report need.

    Attributes
    ----------
    buildings : geopandas.GeoDataFrame
        Layer ``buildings`` of the output contract (one row per input building).
    boundary : geopandas.GeoDataFrame or None
        Layer ``boundary``.
    roof_segments : geopandas.GeoDataFrame or None
        Layer ``roof_segments`` (``irradiation_kwh_m2`` per segment).
    district : dict
        Content of ``district.json``.
    irradiation : Raster or None
        Annual plane-of-array irradiation per roof pixel [kWh m⁻² a⁻¹].
    source : str
        Where the inputs came from (for messages).
    """

    buildings: Any
    boundary: Any
    roof_segments: Any
    district: dict
    irradiation: Raster | None
    source: str = "result"


def result_raster(obj: Any) -> Raster | None:
    """Accept the forms a pipeline may hand over: Raster, (array, profile), dict, or an object
    with an array (``array``, ``data`` or ``irradiation``) and ``transform``/``crs``
    (``pedgis.solar.rooftop.RooftopResult``)."""
    if obj is None:
        return None
    if isinstance(obj, Raster):
        return obj
    array = profile = None
    if isinstance(obj, tuple | list) and len(obj) == 2:
        array, profile = obj
    elif isinstance(obj, dict):
        array = obj.get("array", obj.get("data"))
        profile = obj.get("profile", obj)
    else:
        from pedgis.io.roof_grids import GridFile

        grid = getattr(obj, "irradiation", None)
        if isinstance(grid, GridFile):  # a city's grid on disk (pedgis.io.roof_grids)
            return read_raster(grid.path)
        # a Raster-like object, or the solar module's RooftopResult (``irradiation`` array
        # with ``transform`` and ``crs`` attributes)
        array = next((getattr(obj, k) for k in ("array", "data", "irradiation")
                      if isinstance(getattr(obj, k, None), np.ndarray)), None)
        profile = getattr(obj, "profile", None)
        if profile is None:
            profile = {k: getattr(obj, k, None) for k in ("transform", "crs", "nodata")}
    if array is None or profile is None:
        raise InputDataError(
            "result.irradiation: expected (array, rasterio profile) or an object with "
            "'array' and 'profile'; got "
            f"{type(obj).__name__}. Fix: hand the irradiation grid over as (array, profile)."
        )
    array = np.asarray(array, dtype="float64")
    if array.ndim == 3:
        array = array[0]
    transform = profile.get("transform")
    crs = profile.get("crs")
    if transform is None or crs is None:
        raise InputDataError(
            "result.irradiation: the raster profile has no 'transform' or 'crs'. "
            "Fix: pass the rasterio profile of the DSM the irradiation was computed on."
        )
    return Raster(array, transform, crs, profile.get("nodata"))


def read_raster(path: Path) -> Raster:
    """Read band 1 of a GeoTIFF as a :class:`Raster` (nodata kept as NaN, never 0); above
    :data:`MAX_READ_PX` pixels per side decimated to fit, its transform scaled: each cell the mean
    of its roof pixels (GDAL's average skips nodata), so a roof smaller than a cell still shows."""
    import rasterio

    with rasterio.open(path) as src:
        if src.crs is None:
            from pedgis.errors import CRSError

            raise CRSError(
                f"{path}: the raster has no coordinate reference system. "
                "Fix: re-run pedgis so it writes irradiation.tif with the DSM's CRS."
            )
        step = max(src.height, src.width) / MAX_READ_PX
        if step <= 1:
            array = src.read(1, masked=True).astype("float64").filled(np.nan)
            return Raster(array, src.transform, src.crs, None)
        from affine import Affine
        from rasterio.enums import Resampling

        h, w = max(int(src.height / step), 1), max(int(src.width / step), 1)
        array = src.read(1, out_shape=(h, w), masked=True, resampling=Resampling.average).astype("float64").filled(np.nan)
        return Raster(array, src.transform @ Affine.scale(src.width / w, src.height / h), src.crs, None)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


def load_inputs(result_or_folder: Any) -> VizInputs:
    """Turn a ``DistrictResult`` or an output folder into :class:`VizInputs`.

    Parameters
    ----------
    result_or_folder : DistrictResult or str or os.PathLike
        A pipeline result (attributes ``buildings``, ``boundary``, ``district``, optional
        ``roof_segments`` and ``irradiation``) or a folder holding ``district.json`` and
        ``buildings.gpkg`` (optional ``irradiation.tif``).

    Returns
    -------
    VizInputs

    Raises
    ------
    InputDataError
        A required file or layer is missing; the message names it and the fix.
    """
    if isinstance(result_or_folder, VizInputs):
        return result_or_folder
    if isinstance(result_or_folder, str | Path) or hasattr(result_or_folder, "__fspath__"):
        return _load_folder(Path(result_or_folder))
    district = getattr(result_or_folder, "district", None)
    buildings = getattr(result_or_folder, "buildings", None)
    if district is None or buildings is None:
        raise InputDataError(
            f"Cannot draw a {type(result_or_folder).__name__}: it has no 'district' and "
            "'buildings'. Fix: pass the result of pedgis.pipeline.run(...) or an output folder."
        )
    # round-trip through JSON so numpy scalars and NaN behave like in district.json
    district = json.loads(json.dumps(district, default=_json_default))
    return VizInputs(
        buildings=buildings,
        boundary=getattr(result_or_folder, "boundary", None),
        roof_segments=getattr(result_or_folder, "roof_segments", None),
        district=district,
        irradiation=result_raster(getattr(result_or_folder, "irradiation", None)),
        source="result",
    )


def _load_folder(folder: Path) -> VizInputs:
    import geopandas as gpd
    import pyogrio

    if not folder.is_dir():
        raise InputDataError(
            f"{folder}: no such output folder. Fix: give the folder `pedgis run --out` wrote "
            "(it holds district.json and buildings.gpkg)."
        )
    djson = folder / "district.json"
    gpkg = folder / "buildings.gpkg"
    for needed in (djson, gpkg):
        if not needed.is_file():
            raise InputDataError(
                f"{needed}: missing. Fix: run `pedgis run SCENARIO.toml --out {folder}` "
                "first; `pedgis map` re-renders an existing output folder."
            )
    try:
        district = json.loads(djson.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputDataError(
            f"{djson}: not valid JSON ({exc.msg} at line {exc.lineno}). "
            "Fix: re-run pedgis to write it again."
        ) from exc
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    if "buildings" not in layers:
        raise InputDataError(
            f"{gpkg}: has no layer 'buildings' (layers: {', '.join(sorted(layers)) or 'none'}). "
            "Fix: re-run pedgis to write the output folder again."
        )
    buildings = gpd.read_file(gpkg, layer="buildings")
    boundary = gpd.read_file(gpkg, layer="boundary") if "boundary" in layers else None
    roofs = gpd.read_file(gpkg, layer="roof_segments") if "roof_segments" in layers else None
    tif = folder / "irradiation.tif"
    irradiation = read_raster(tif) if tif.is_file() else None
    return VizInputs(buildings, boundary, roofs, district, irradiation, source=str(folder))


def finite(value: Any) -> float | None:
    """``float(value)`` when it is a finite number, else None (NaN/None/strings → no data)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
