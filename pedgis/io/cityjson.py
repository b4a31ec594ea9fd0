"""CityJSON (1.0–2.0) and CityJSONSeq buildings, e.g. the Dutch 3D BAG at LoD 2.2.

* Vertices: integers × ``transform.scale`` + ``transform.translate`` (or plain coordinates when
  there is no transform); CityJSONSeq (``.city.jsonl``): the first line holds the transform and
  metadata, every further line one ``CityJSONFeature`` with its own vertices, read one line at a
  time (bounded memory). A single ``.city.json`` document is parsed whole: for tiles of hundreds
  of megabytes use the CityJSONSeq form (``cjseq cat``), which 3D BAG also publishes.
* ``Building`` objects with their ``BuildingPart`` children (``children`` / ``parents``), each
  object's best geometry: the highest LoD 2.x, else 3.x, else 1.x (Solid, MultiSolid,
  CompositeSolid, MultiSurface, CompositeSurface); semantic surfaces ``RoofSurface``,
  ``GroundSurface``, ``WallSurface`` (others are not roofs), surfaces without semantics
  classified by orientation.
* ``metadata.referenceSystem`` (``https://www.opengis.net/def/crs/EPSG/0/7415`` → Amersfoort /
  RD New, NAP heights used as given).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputDataError
from .citymodel_builder import CityModel, ModelBuilder

_SURFACES = {"RoofSurface": "roof", "GroundSurface": "ground", "WallSurface": "wall",
             "ClosureSurface": "skip", "OuterCeilingSurface": "skip", "OuterFloorSurface": "skip",
             "Window": "skip", "Door": "skip", "InteriorWallSurface": "skip",
             "CeilingSurface": "skip", "FloorSurface": "skip"}
_BUILDINGS = ("Building",)
_PARTS = ("BuildingPart",)
# CityJSON attribute names that are the CityGML attributes of the same name
_ATTRS = ("function", "usage", "class", "roofType", "measuredHeight", "storeysAboveGround",
          "yearOfConstruction")


def read_cityjson(path, crs=None) -> CityModel:
    """Read the buildings of a CityJSON or CityJSONSeq file (module notes).

    Raises
    ------
    InputDataError
        not valid JSON (with the line), not CityJSON, damaged vertex indices
    """
    path = Path(path)
    seq = path.name.lower().endswith(".jsonl")
    if seq:
        return _read_seq(path, crs)
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputDataError(f"{path}: not valid JSON ({exc}); the file is damaged or incomplete.") from exc
    if not isinstance(doc, dict) or doc.get("type") != "CityJSON":
        raise InputDataError(f"{path}: not a CityJSON document (no \"type\": \"CityJSON\").")
    builder = ModelBuilder(path, f"CityJSON {doc.get('version', '?')}", crs=crs)
    _header(builder, doc)
    verts = _vertices(doc.get("vertices", []), doc.get("transform"), path)
    _objects(builder, doc.get("CityObjects", {}) or {}, verts, path)
    return builder.finish()


def _read_seq(path: Path, crs) -> CityModel:
    builder = None
    transform = None
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputDataError(f"{path}, line {lineno}: not valid JSON ({exc}).") from exc
            if builder is None:
                if obj.get("type") != "CityJSON":
                    raise InputDataError(f"{path}: the first line of a CityJSONSeq file must be the "
                                         "CityJSON header (\"type\": \"CityJSON\").")
                builder = ModelBuilder(path, f"CityJSONSeq {obj.get('version', '?')}", crs=crs)
                _header(builder, obj)
                transform = obj.get("transform")
                continue
            if obj.get("type") != "CityJSONFeature":
                continue
            verts = _vertices(obj.get("vertices", []), transform, path, lineno)
            _objects(builder, obj.get("CityObjects", {}) or {}, verts, path)
    if builder is None:
        raise InputDataError(f"{path}: empty CityJSONSeq file.")
    return builder.finish()


def _header(builder: ModelBuilder, doc: dict) -> None:
    meta = doc.get("metadata") or {}
    rs = meta.get("referenceSystem") or meta.get("crs")
    if isinstance(rs, dict):  # CityJSON 0.x: {"epsg": 7415}
        rs = f"EPSG:{rs.get('epsg')}" if rs.get("epsg") else None
    builder.set_srs(rs)


def _vertices(v, transform, path, lineno=None) -> np.ndarray:
    try:
        a = np.asarray(v, dtype=np.float64).reshape(-1, 3)
    except (ValueError, TypeError) as exc:
        where = f"{path}, line {lineno}" if lineno else str(path)
        raise InputDataError(f"{where}: \"vertices\" is not a list of [x, y, z] numbers ({exc}).") from exc
    if transform:
        a = a * np.asarray(transform.get("scale", [1, 1, 1]), dtype=float) + np.asarray(
            transform.get("translate", [0, 0, 0]), dtype=float)
    return a


def _lod_rank(g: dict) -> tuple:
    lod = str(g.get("lod", ""))
    try:
        x = float(lod)
    except ValueError:
        return (-1, 0.0)
    major = int(x)
    pref = {2: 3, 3: 2, 1: 1}.get(major, 0)
    return (pref, x)


def _best_geometry(obj: dict):
    geoms = [g for g in (obj.get("geometry") or []) if g.get("type") in
             ("Solid", "MultiSolid", "CompositeSolid", "MultiSurface", "CompositeSurface")]
    if not geoms:
        return None
    return max(geoms, key=_lod_rank)


def _surfaces(g: dict):
    """(rings as vertex-index lists, semantic type or None) for every surface of a geometry."""
    t = g["type"]
    b = g.get("boundaries") or []
    sem = g.get("semantics") or {}
    types = [s.get("type") for s in sem.get("surfaces", [])]
    vals = sem.get("values")

    def sem_of(v):
        return types[v] if isinstance(v, int) and 0 <= v < len(types) else None

    if t in ("MultiSurface", "CompositeSurface"):
        for i, s in enumerate(b):
            yield s, sem_of(vals[i] if isinstance(vals, list) and i < len(vals) else None)
    elif t == "Solid":
        for si, shell in enumerate(b):
            for i, s in enumerate(shell):
                v = vals[si][i] if isinstance(vals, list) and si < len(vals) and isinstance(vals[si], list) and i < len(vals[si]) else None
                yield s, sem_of(v)
    else:  # MultiSolid, CompositeSolid
        for so, solid in enumerate(b):
            for si, shell in enumerate(solid):
                for i, s in enumerate(shell):
                    v = None
                    try:
                        v = vals[so][si][i]
                    except (TypeError, IndexError):
                        pass
                    yield s, sem_of(v)


def _attrs(obj: dict) -> dict:
    return dict(obj.get("attributes") or {})


def _objects(builder: ModelBuilder, objs: dict, verts: np.ndarray, path) -> None:
    nv = len(verts)
    for oid, obj in objs.items():
        if obj.get("type") not in _BUILDINGS or obj.get("parents"):
            continue
        attrs = _attrs(obj)
        bi = builder.building(oid, attrs)
        stack = [(oid, obj, attrs)]
        while stack:
            pid, o, a = stack.pop()
            g = _best_geometry(o)
            if g is not None:
                pattrs = {"storeys": a.get("storeysAboveGround"), "measuredHeight": a.get("measuredHeight"),
                          "roofType": a.get("roofType"), "function": a.get("function")}
                pi = builder.part(bi, pid, pattrs, lod=str(g.get("lod", "")))
                bad = 0
                for si, (rings, stype) in enumerate(_surfaces(g)):
                    kind = _SURFACES.get(stype, "unknown") if stype else "unknown"
                    try:
                        rr = [verts[np.asarray(r, dtype=np.int64)] for r in rings if len(r) >= 3]
                    except (IndexError, ValueError, TypeError):
                        bad += 1
                        continue
                    builder.surface(pi, kind, rr, f"{pid}:{si}")  # surfaces have no ids: object:index
                if bad:
                    builder.note(bi, f"{bad} surfaces of {pid} refer to vertices that do not exist "
                                     f"(the file has {nv}): left out")
            for cid in o.get("children") or []:
                c = objs.get(cid)
                if c is None:
                    builder.note(bi, f"child '{cid}' is not in the file")
                    continue
                if c.get("type") in _PARTS:
                    inherited = {k: v for k, v in attrs.items() if k in ("function", "usage")}
                    stack.append((cid, c, {**inherited, **_attrs(c)}))
