"""What the vector readers share: :class:`VectorData` (a read layer with its decisions) and the
detection of a shapefile's text encoding. Its own module so that the readers the dispatcher
:func:`pedgis.io.vector.read_vector_data` hands files to (:mod:`pedgis.io.cea`,
:mod:`pedgis.io.postgis`, :mod:`pedgis.io.citymodel`) do not import the dispatcher back.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from ..errors import InputDataError

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
