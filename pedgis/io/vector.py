"""Reading building footprints (cadastral shapefiles, GeoPackage, GeoJSON, FlatGeobuf, GML).

Minimal first version: pyogrio through geopandas, CRS checks. Encoding detection, attribute
presets and geometry hygiene extend this module (issue 3).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from ..errors import CRSError, InputDataError


def read_vector(path: str | Path, layer: str | int | None = None, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame with a CRS.

    Parameters
    ----------
    path : path to the file
    layer : layer name or index for multi-layer formats (GeoPackage, GML)
    crs : CRS to assume when the file has none (e.g. ``"EPSG:32632"``); never guessed
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path}: file not found. Check the path in the scenario file or on the command line.")
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several types; the message names the file
        raise InputDataError(f"{path}: cannot be read as a vector file ({exc}).") from exc
    if gdf.crs is None:
        if crs is None:
            raise CRSError(
                f"{path}: no coordinate reference system (missing .prj?). pedgis never guesses one: "
                "add the .prj file, or give the CRS with `crs = \"EPSG:xxxx\"` in the scenario's "
                "[buildings] section or `--crs EPSG:xxxx` on the command line."
            )
        gdf = gdf.set_crs(crs)
    return gdf
