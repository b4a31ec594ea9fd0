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

import re
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from ..errors import CRSError, DataQualityWarning, InputDataError, warnings_about

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

#: Code pages tried when a shapefile has neither ``.cpg`` nor a DBF language-driver id.
#: Ordered by how often cadastral offices in Europe produce them.
CANDIDATE_ENCODINGS = ["cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp850", "cp437", "cp1251"]

#: DBF language-driver ids (byte 29 of the header) → Python codec (dBase / ArcGIS tables).
DBF_LDID = {
    0x01: "cp437", 0x02: "cp850", 0x03: "cp1252", 0x57: "cp1252", 0x58: "cp1252",
    0x59: "cp1252", 0x64: "cp852", 0x65: "cp866", 0x66: "cp865", 0x67: "cp861",
    0x6A: "cp737", 0x6B: "cp857", 0x78: "big5", 0x79: "cp949", 0x7A: "gbk",
    0x7B: "cp932", 0x7C: "cp874", 0xC8: "cp1250", 0xC9: "cp1251", 0xCA: "cp1254",
    0xCB: "cp1253", 0xCC: "cp1257",
}

#: ``.cpg`` spellings that are not Python codec names.
_CPG_ALIASES = {"ansi 1252": "cp1252", "ansi": "cp1252", "88591": "latin_1", "8859_1": "latin_1",
                "utf8": "utf-8", "utf-8": "utf-8", "oem": "cp437", "1252": "cp1252",
                "1250": "cp1250", "1251": "cp1251", "65001": "utf-8"}


@dataclass
class VectorData:
    """A vector layer read from disk and what was found out while reading it.

    Attributes
    ----------
    gdf : the features, with a CRS
    path : the file read
    layer : the layer name (multi-layer formats) or None
    format : human-readable format name
    encoding : text encoding used for the attributes (shapefiles), else None
    encoding_source : how the encoding was chosen: ``"cpg"``, ``"dbf language driver"``,
        ``"detected"``, ``"ascii"``, ``"given"`` or ``None``
    crs_source : ``"file"`` or ``"given"`` (the CRS came from the scenario / command line)
    messages : one line per decision taken while reading, for the run log and the report
    """

    gdf: gpd.GeoDataFrame
    path: Path
    layer: str | None = None
    format: str = ""
    encoding: str | None = None
    encoding_source: str | None = None
    crs_source: str = "file"
    messages: list[str] = field(default_factory=list)


def _normalise_codec(name: str) -> str | None:
    import codecs

    key = name.strip().lower()
    key = _CPG_ALIASES.get(key, key)
    for candidate in (key, key.replace(" ", ""), "cp" + key if key.isdigit() else key):
        try:
            return codecs.lookup(candidate).name
        except LookupError:
            continue
    return None


def dbf_text_bytes(dbf_path: Path, max_bytes: int = 2_000_000) -> tuple[bytes, int]:
    """The raw bytes of all character fields of a DBF file, and its language-driver id.

    Parameters
    ----------
    dbf_path : the ``.dbf`` next to a ``.shp``
    max_bytes : stop collecting after this many bytes (enough for detection)

    Returns
    -------
    text : the character-field bytes of every record, joined by newlines, trailing blanks removed
    ldid : byte 29 of the DBF header (0 when unset)
    """
    with open(dbf_path, "rb") as fh:
        header = fh.read(32)
        if len(header) < 32:
            raise InputDataError(f"{dbf_path}: truncated DBF header; the attribute table is damaged.")
        n_records, header_len, record_len = struct.unpack("<IHH", header[4:12])
        ldid = header[29]
        fields = []
        offset = 1  # deletion flag
        fh.seek(32)
        while fh.tell() < header_len - 1:
            desc = fh.read(32)
            if len(desc) < 32 or desc[0] == 0x0D:
                break
            ftype = chr(desc[11])
            flen = desc[16]
            if ftype in ("C", "M"):
                fields.append((offset, flen))
            offset += flen
        fh.seek(header_len)
        chunks: list[bytes] = []
        total = 0
        for _ in range(n_records):
            rec = fh.read(record_len)
            if len(rec) < record_len:
                break
            for off, flen in fields:
                value = rec[off:off + flen].rstrip(b" \x00")
                if value:
                    chunks.append(value)
                    total += len(value)
            if total >= max_bytes:
                break
    return b"\n".join(chunks), ldid


def detect_shapefile_encoding(shp_path: str | Path) -> tuple[str, str]:
    """The text encoding of a shapefile's attributes and how it was found.

    Order: the ``.cpg`` file; the DBF language-driver id; the bytes themselves (pure ASCII →
    ``"ascii"``; valid UTF-8 → ``"utf-8"``; otherwise charset-normalizer restricted to
    :data:`CANDIDATE_ENCODINGS`).

    Returns
    -------
    encoding : a Python codec name
    source : ``"cpg"``, ``"dbf language driver"``, ``"ascii"`` or ``"detected"``
    """
    shp_path = Path(shp_path)
    cpg = _sidecar(shp_path, ".cpg")
    if cpg is not None:
        raw = cpg.read_text(encoding="ascii", errors="replace").strip()
        codec = _normalise_codec(raw)
        if codec is None:
            raise InputDataError(
                f"{cpg}: unknown code page '{raw}'. Write a Python codec name in it (e.g. "
                "'UTF-8', 'CP1252', 'ISO-8859-1'), or give `encoding = \"...\"` in the scenario's "
                "[buildings] section."
            )
        return codec, "cpg"
    data, ldid = dbf_text_bytes(_dbf_of(shp_path))
    if ldid in DBF_LDID:
        return DBF_LDID[ldid], "dbf language driver"
    try:
        data.decode("ascii")
        return "ascii", "ascii"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("utf-8")
        return "utf-8", "detected"
    except UnicodeDecodeError:
        pass
    return _detect_codepage(data), "detected"


_TYPOGRAPHIC = set("’‘“”„–—…«»°·ªº€")


def _implausibility(text: str) -> int:
    """How many words of ``text`` look mis-decoded (symbols inside words, mixed scripts,
    words made mostly of accented letters)."""
    import unicodedata

    bad = 0
    for word in re.findall(r"[^\s\d,;:.()\[\]/\\'\"-]+", text):
        non_ascii = [c for c in word if ord(c) > 127]
        if not non_ascii:
            continue
        for c in non_ascii:
            if not (unicodedata.category(c).startswith("L") or c in _TYPOGRAPHIC):
                bad += 1
        letters = [c for c in word if c.isalpha()]
        scripts = {unicodedata.name(c, "X").split()[0] for c in letters}
        if len(scripts) > 1:
            bad += 1
        accented = sum(1 for c in letters if ord(c) > 127)
        if scripts == {"LATIN"} and len(letters) >= 4 and accented > len(letters) / 2:
            bad += 1
    return bad


def _detect_codepage(data: bytes) -> str:
    """The code page of non-UTF-8 text among :data:`CANDIDATE_ENCODINGS`.

    charset-normalizer proposes the candidates that decode with little "chaos"; short cadastral
    texts rarely tell Western from Central European code pages apart, so the tie is broken by
    counting implausible words (symbols inside words, mixed scripts) and then by the order of
    :data:`CANDIDATE_ENCODINGS` (Western European first).
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data, cp_isolation=CANDIDATE_ENCODINGS))
    cands = []
    if matches:
        floor = min(m.chaos for m in matches)
        coherence: dict[str, float] = {}
        for m in matches:
            if m.chaos <= floor + 0.1:
                for enc in [m.encoding, *m.could_be_from_charset]:
                    codec = _normalise_codec(enc) or enc
                    coherence[codec] = max(coherence.get(codec, 0.0), round(m.coherence, 2))
        cands = list(coherence)
    for enc in CANDIDATE_ENCODINGS:  # decodable candidates charset-normalizer merged away
        codec = _normalise_codec(enc)
        if codec not in cands:
            try:
                data.decode(codec)
            except UnicodeDecodeError:
                continue
            if not matches:
                cands.append(codec)
    if not cands:
        return "cp1252"
    order = {(_normalise_codec(e) or e): i for i, e in enumerate(CANDIDATE_ENCODINGS)}
    text = {c: data.decode(c, errors="replace") for c in cands}
    coh = locals().get("coherence", {})
    return min(cands, key=lambda c: (_implausibility(text[c]), -coh.get(c, 0.0), order.get(c, 99)))


def _dbf_of(shp_path: Path) -> Path:
    """The attribute table of a shapefile; without it every attribute would be silently missing."""
    dbf = _sidecar(shp_path, ".dbf")
    if dbf is None:
        raise InputDataError(
            f"{shp_path}: the attribute table (.dbf) is missing. A shapefile is several files "
            "(.shp, .shx, .dbf, .prj, .cpg): copy all of them into the same folder."
        )
    return dbf


def _sidecar(path: Path, suffix: str) -> Path | None:
    for cand in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if cand.exists():
            return cand
    return None


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

        return read_cea_scenario(path, crs=crs, encoding=encoding, what=what)
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
