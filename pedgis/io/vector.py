"""Reading building footprints and boundary polygons (Shapefile, GeoPackage, GeoJSON, FlatGeobuf, GML).

All formats go through pyogrio (GDAL) via geopandas. What real cadastral data needs on top:

* Shapefiles: the ``.cpg`` file names the text encoding and is honoured; without it the DBF
  language-driver byte is used when set, otherwise the encoding of the text fields is detected
  (UTF-8 when the bytes decode as UTF-8, else charset-normalizer among the code pages cadastral
  offices use). The encoding used and how it was found are reported in
  :attr:`VectorData.encoding` / :attr:`VectorData.encoding_source` and in the messages.
* A file without a CRS (shapefile without ``.prj``) is an error unless the caller gives one:
  pedgis never guesses a CRS.
* Multi-layer formats (GeoPackage, GML): any layer by name or index; with several polygon
  layers and none named, the error lists them. A .zip holding shapefiles is read directly
  (``layer`` names the shapefile when it holds several).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd

from ..errors import CRSError, DataQualityWarning, InputDataError, warnings_about
from .vector_base import (
    VectorData,
    _dbf_of,
    _detect_codepage,
    _normalise_codec,
    dbf_text_bytes,
    detect_shapefile_encoding,
)

#: File suffix → format name, for messages and dispatch.
FORMATS = {
    ".shp": "Shapefile",
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".fgb": "FlatGeobuf",
    ".gml": "GML",
    ".xml": "GML",
}

def list_layers(path: str | Path) -> list[tuple[str, str]]:
    """``(name, geometry type)`` of every layer in a vector file."""
    import pyogrio

    try:
        return [(str(n), str(t)) for n, t in pyogrio.list_layers(str(path))]
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several types; the message names the file
        raise InputDataError(f"{path}: cannot be opened as a vector file ({exc}).") from exc


def _pick_layer(path: Path, layer: str | int | None, fmt: str, what: str = "buildings") -> str | int | None:
    layers = list_layers(path)
    names = [n for n, _ in layers]
    if layer is not None:
        if isinstance(layer, int) or (isinstance(layer, str) and layer.isdigit() and layer not in names):
            idx = int(layer)
            if not 0 <= idx < len(layers):
                raise InputDataError(
                    f"{path}: layer index {idx} does not exist; the file has {len(layers)} layer(s): "
                    f"{', '.join(names)}. Set `layer` in the scenario to one of these names."
                )
            return names[idx]
        if layer not in names:
            raise InputDataError(
                f"{path}: layer '{layer}' not found; available layers: {', '.join(names)}. "
                "Set `layer` in the scenario to one of these names."
            )
        return layer
    if len(layers) <= 1:
        return names[0] if names else None
    polygonal = [n for n, t in layers if "polygon" in t.lower()]
    if len(polygonal) == 1:
        return polygonal[0]
    raise InputDataError(
        f"{path}: the {fmt} has {len(layers)} layers ({', '.join(f'{n} [{t}]' for n, t in layers)}) "
        f"and pedgis cannot tell which holds the {what}. Set `{what}.layer = \"NAME\"` in the "
        "scenario (`--layer NAME` for `pedgis pv`)."
    )


def read_vector_data(
    path: str | Path,
    layer: str | int | None = None,
    crs: str | None = None,
    encoding: str | None = None,
    what: str = "buildings",
) -> VectorData:
    """Read a vector file, honouring or detecting its encoding and insisting on a CRS.

    Parameters
    ----------
    path : Shapefile (.shp, or a .zip holding one), GeoPackage, GeoJSON, FlatGeobuf or GML file;
        a CityGML / CityJSON / CityJSONSeq 3D city model (:mod:`pedgis.io.citymodel`); a PostGIS table
        or query (a connection text or :class:`pedgis.io.postgis.DatabaseSource`, :mod:`pedgis.io.postgis`);
        a City Energy Analyst scenario folder (:mod:`pedgis.io.cea`)
    layer : layer name or index for multi-layer formats
    crs : CRS to use when the file has none (e.g. ``"EPSG:32632"``); never guessed. When the
        file has a CRS and ``crs`` differs, the file's CRS wins and a message says so.
    encoding : attribute text encoding to use instead of the ``.cpg``/detection (shapefiles)
    what : the scenario section this file belongs to (``"buildings"``, ``"boundary"``), used in
        the messages' key paths

    Raises
    ------
    InputDataError
        file missing or unreadable, unknown layer, several candidate layers
    CRSError
        no CRS in the file and none given
    """
    from .postgis import DatabaseSource, is_connection

    if isinstance(path, DatabaseSource) or is_connection(path):  # a PostGIS table or query
        from .postgis import read_postgis_data

        return read_postgis_data(path, layer=layer if isinstance(layer, str) else None, crs=crs, what=what)
    path = Path(path)
    if not path.exists():
        raise InputDataError(
            f"{path}: file not found. Check the path (`{what}.path` in the scenario file; relative "
            "paths start from the scenario's folder) or the path on the command line."
        )
    if path.is_dir():  # a City Energy Analyst scenario folder: zone.shp + typology.dbf
        from .cea import read_cea_scenario

        return read_cea_scenario(path, read_vector_data, crs=crs, encoding=encoding, what=what)
    if path.suffix.lower() == ".zip":
        return _read_zipped_shapefile(path, layer, crs, encoding, what)
    from .citymodel import city_model_format, read_city_model_data

    if city_model_format(path):  # CityGML / CityJSON: buildings, parts and roof planes
        return read_city_model_data(path, crs=crs, what=what)
    fmt = FORMATS.get(path.suffix.lower(), path.suffix.lstrip(".") or "vector file")
    messages: list[str] = []
    enc_used, enc_source = None, None
    kwargs: dict = {}
    if path.suffix.lower() == ".shp":
        _dbf_of(path)
        if encoding:
            codec = _normalise_codec(encoding)
            if codec is None:
                raise InputDataError(
                    f"{what}.encoding: unknown encoding '{encoding}' for {path}. Use a Python codec "
                    "name such as 'utf-8', 'cp1252' or 'latin-1'."
                )
            enc_used, enc_source = codec, "given"
        else:
            enc_used, enc_source = detect_shapefile_encoding(path)
            if enc_source == "detected":
                msg = (
                    f"{path}: no .cpg file; attribute text decoded as {enc_used} (detected from the "
                    f"bytes). If names look wrong, set `{what}.encoding` in the scenario or add a "
                    f".cpg file containing the code page."
                )
                messages.append(msg)
                warnings.warn(msg, DataQualityWarning, stacklevel=2)
            elif enc_source == "dbf language driver":
                messages.append(f"{path}: no .cpg file; encoding {enc_used} from the DBF language-driver id.")
        kwargs["encoding"] = "utf-8" if enc_used == "ascii" else enc_used
        if enc_source in ("cpg", "given"):
            messages.append(f"{path}: attribute encoding {enc_used} (from the {enc_source}).")
        layer_name = None
    else:
        layer_name = _pick_layer(path, layer, fmt, what)
        if layer_name is not None:
            kwargs["layer"] = layer_name
    try:
        with warnings_about(str(path)):  # e.g. pyogrio's "Measured (M) geometry types are not supported"
            gdf = gpd.read_file(path, engine="pyogrio", **kwargs)
    except UnicodeDecodeError as exc:  # the .cpg (or the given encoding) does not fit the bytes
        found = _detect_codepage(dbf_text_bytes(path.with_suffix(".dbf"))[0]) if path.with_suffix(".dbf").exists() else None
        raise InputDataError(
            f"{path}: the attribute text is not valid {enc_used}, the encoding "
            f"{'its .cpg file names' if enc_source == 'cpg' else 'given'} ({exc.reason} at byte {exc.start}). Set `{what}.encoding = \"{found or 'cp1252'}\"` in the scenario"
            + (" (detected from the bytes)" if found else "") + " or correct the .cpg file."
        ) from exc
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several types; the message names the file
        raise InputDataError(
            f"{path}: cannot be read as a {fmt} ({exc}). Check that the file is complete "
            "(for a shapefile: .shp, .shx and .dbf side by side) and in a supported format "
            "(Shapefile, GeoPackage, GeoJSON, FlatGeobuf, GML)."
        ) from exc
    crs_source = "file"
    given = None
    if crs is not None:
        from pyproj import CRS

        try:
            given = CRS.from_user_input(crs)
        except Exception as exc:  # noqa: BLE001 - pyproj's CRSError
            raise CRSError(
                f"{what}.crs: '{crs}' is not a CRS pyproj understands ({exc}). Use an EPSG code "
                "such as \"EPSG:32632\"."
            ) from exc
    if gdf.crs is None:
        if given is None:
            hint = " (the .prj file is missing)" if path.suffix.lower() == ".shp" else ""
            raise CRSError(
                f"{path}: no coordinate reference system{hint}. pedgis never guesses one: add the "
                f".prj file, or give the CRS with `crs = \"EPSG:xxxx\"` in the scenario's [{what}] "
                "section (`--crs EPSG:xxxx` for `pedgis pv`)."
            )
        gdf = gdf.set_crs(given)
        crs_source = "given"
        messages.append(f"{path}: no CRS in the file; using {crs} given in the scenario.")
    elif given is not None and not given.equals(gdf.crs):
        messages.append(
            f"{path}: the file declares {gdf.crs.to_string()}; the scenario's {what}.crs ({crs}) "
            "is only used for files without a CRS and is ignored here."
        )
    return VectorData(
        gdf=gdf, path=path, layer=layer_name if isinstance(layer_name, str) else None, format=fmt,
        encoding=enc_used, encoding_source=enc_source, crs_source=crs_source, messages=messages,
    )


def _read_zipped_shapefile(path: Path, layer, crs, encoding, what) -> VectorData:
    """A shapefile inside a .zip (how cadastral offices hand them out): its members are extracted
    to a temporary folder, read like a shapefile on disk, and every message names ``zip!member``."""
    import shutil
    import tempfile
    import zipfile

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputDataError(f"{path}: not a readable .zip archive ({exc}).") from exc
    with zf:
        names = [m for m in zf.namelist() if not m.startswith("__MACOSX/")]
        shps = [m for m in names if m.lower().endswith(".shp")]
        if not shps:
            raise InputDataError(f"{path}: the archive holds no shapefile (.shp); unzip it and name the "
                                 f"vector file inside in `{what}.path`.")
        stems = {Path(m).stem: m for m in shps}
        if layer is not None and str(layer) in stems:
            member = stems[str(layer)]
        elif len(shps) == 1 and layer is None:
            member = shps[0]
        else:
            raise InputDataError(
                f"{path}: the archive holds {len(shps)} shapefiles ({', '.join(stems)}); name the one with "
                f"the buildings in `{what}.layer`." if layer is None else
                f"{path}: no shapefile '{layer}' in the archive; it holds {', '.join(stems)}. Set `{what}.layer` "
                "to one of them.")
        prefix = member[:-4].lower()
        tmp = Path(tempfile.mkdtemp(prefix="pedgis-zip-"))
        try:
            for m in names:
                if m.lower().startswith(prefix + ".") and "/" not in m[len(prefix):]:
                    target = tmp / Path(m).name
                    with zf.open(m) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
            inner = tmp / Path(member).name
            label = f"{path}!{member}"
            fix = lambda text: str(text).replace(str(inner.with_suffix("")), label[:-4])  # noqa: E731
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    data = read_vector_data(inner, crs=crs, encoding=encoding, what=what)
            except InputDataError as exc:
                raise type(exc)(fix(exc)) from exc
            for w in caught:  # re-issued with the archive's name instead of the temporary folder
                warnings.warn(fix(w.message), w.category, stacklevel=3)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    data.messages = [fix(m) for m in data.messages]
    data.path, data.layer, data.format = path, Path(member).stem, "zipped Shapefile"
    return data


def read_vector(
    path: str | Path,
    layer: str | int | None = None,
    crs: str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file into a GeoDataFrame with a CRS (see :func:`read_vector_data`).

    The encoding used and the reading messages are in ``gdf.attrs["pedgis_read"]``.
    """
    data = read_vector_data(path, layer=layer, crs=crs, encoding=encoding)
    data.gdf.attrs["pedgis_read"] = {
        "path": str(data.path), "layer": data.layer, "format": data.format,
        "encoding": data.encoding, "encoding_source": data.encoding_source,
        "crs_source": data.crs_source, "messages": list(data.messages),
    }
    return data.gdf
