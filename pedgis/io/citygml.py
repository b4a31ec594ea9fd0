"""CityGML 1.0 / 2.0 buildings, streamed with lxml's ``iterparse``.

One ``cityObjectMember`` (or ``featureMember``) at a time is parsed, turned into the building,
its parts and their surfaces (:class:`pedgis.io.citymodel_builder.ModelBuilder`), then cleared from
memory, so a 1 km tile of hundreds of megabytes is read in bounded memory.

What is read, per ``bldg:Building`` and each (nested) ``bldg:BuildingPart``:

* semantic surfaces ``bldg:boundedBy`` / ``RoofSurface``, ``GroundSurface``, ``WallSurface``
  (``ClosureSurface``, ``OuterCeilingSurface``, ``OuterFloorSurface`` are not roofs), their
  ``lod2MultiSurface`` (else lod3, lod4);
* without semantic surfaces, the ``lod2Solid`` / ``lod2MultiSurface`` (else lod1, lod3, lod4),
  classified by orientation;
* polygons (``gml:Polygon``, ``gml:Triangle``) inline or by ``xlink:href`` — resolved within the
  building, else in a second pass over the file that keeps only the referenced ids;
* coordinates from ``gml:posList`` (``srsDimension`` on the list or an ancestor, default 3),
  ``gml:pos`` or GML 2 ``gml:coordinates``; the ``srsName`` of the envelope or the geometries;
* attributes: ``function``, ``usage``, ``class``, ``roofType``, ``measuredHeight``,
  ``storeysAboveGround``, ``yearOfConstruction``, ``gml:name``, the address, and every ``gen:``
  generic attribute (by its ``name``).

XML safety: entities are never expanded and nothing is fetched from the network.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import InputDataError
from .citymodel_builder import CityModel, ModelBuilder

GML = "http://www.opengis.net/gml"
XLINK = "http://www.w3.org/1999/xlink"
_GML_ID = f"{{{GML}}}id"
_HREF = f"{{{XLINK}}}href"
_SURFACES = {"RoofSurface": "roof", "GroundSurface": "ground", "WallSurface": "wall",
             "ClosureSurface": "skip", "OuterCeilingSurface": "skip", "OuterFloorSurface": "skip",
             "InteriorWallSurface": "skip", "CeilingSurface": "skip", "FloorSurface": "skip"}
_LOD_ORDER = ("lod2", "lod3", "lod4", "lod1")
_ATTRS = {"function": "function", "usage": "usage", "class": "class", "roofType": "roofType",
          "measuredHeight": "measuredHeight", "storeysAboveGround": "storeysAboveGround",
          "storeysBelowGround": "storeysBelowGround", "yearOfConstruction": "yearOfConstruction",
          "yearOfDemolition": "yearOfDemolition"}


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _version(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(65536)
    m = re.search(rb"http://www\.opengis\.net/citygml/(\d\.\d)", head)
    v = m.group(1).decode() if m else "?"
    if v.startswith("3"):
        raise InputDataError(f"{path}: CityGML 3.0 is not read by pedgis yet; convert the file to "
                             "CityGML 2.0 (e.g. `citygml-tools downgrade`) or to CityJSON.")
    return v


def read_citygml(path, crs=None) -> CityModel:
    """Read the buildings of a CityGML 1.0 / 2.0 file (see the module notes).

    Raises
    ------
    InputDataError
        unreadable XML (with the line), coordinates that are not numbers, no building
    """
    from lxml import etree

    path = Path(path)
    version = _version(path)
    builder = ModelBuilder(path, f"CityGML {version}", crs=crs)
    reader = _Reader(builder)
    members = ("{*}cityObjectMember", "{*}featureMember", "{*}featureMembers", "{*}member",
               "{*}appearanceMember", "{*}Envelope")
    try:
        for _, el in etree.iterparse(str(path), events=("end",), tag=members, resolve_entities=False,
                                     no_network=True, huge_tree=False, remove_comments=True):
            name = _local(el.tag)
            if name == "Envelope":
                builder.set_srs(el.get("srsName"))
                dim = el.get("srsDimension")
                if dim and dim.isdigit():
                    reader.default_dim = int(dim)
                continue
            if name != "appearanceMember":
                for child in el:
                    if _local(child.tag) == "Building":
                        reader.building(child)
            el.clear(keep_tail=False)
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise InputDataError(f"{path}: not well-formed XML ({exc}); the file is damaged or "
                             "incomplete (a download cut short?).") from exc
    if reader.pending:
        reader.resolve_pending(path)
    return builder.finish()


class _Reader:
    def __init__(self, builder: ModelBuilder):
        self.b = builder
        self.default_dim = 3
        self.pending: list[tuple] = []  # (part, kind, href id, building)
        self.n_anon = 0

    # -- buildings
    def building(self, el) -> None:
        index = {}
        for e in el.iter():
            gid = e.get(_GML_ID)
            if gid is not None:
                index[gid] = e
            srs = e.get("srsName")
            if srs:
                self.b.set_srs(srs)
        attrs = _attributes(el)
        bid = el.get(_GML_ID)
        if not bid:
            self.n_anon += 1
            bid = f"building{self.n_anon}"
        bi = self.b.building(bid, attrs)
        if not el.get(_GML_ID):
            self.b.note(bi, "no gml:id in the file: id generated from the order")
        self.owner(el, bi, attrs, index, is_part=False)

    def owner(self, el, bi, attrs, index, is_part) -> None:
        """The geometry of a Building or BuildingPart (not of its nested parts), then its parts."""
        surfaces = []
        for bb in el.iterchildren("{*}boundedBy"):
            for s in bb:
                kind = _SURFACES.get(_local(s.tag))
                if kind is not None:
                    surfaces.append((kind, s))
        lod, geoms = None, []
        if surfaces:
            for want in _LOD_ORDER:
                found = [(kind, g) for kind, s in surfaces for g in s.iterchildren(f"{{*}}{want}MultiSurface")]
                if found:
                    lod, geoms = want, found
                    break
        if not geoms:
            for want in _LOD_ORDER:
                found = [("unknown", g) for g in el.iterchildren(f"{{*}}{want}Solid", f"{{*}}{want}MultiSurface")]
                if found:
                    lod, geoms = want, found
                    break
        if geoms:
            pattrs = {"storeys": attrs.get("storeysAboveGround"), "measuredHeight": attrs.get("measuredHeight"),
                      "roofType": attrs.get("roofType"), "function": attrs.get("function")}
            pid = el.get(_GML_ID) or f"{self.b.b_id[bi]}-part{len(self.b.p_id) + 1}"
            pi = self.b.part(bi, pid, pattrs, lod=lod.replace("lod", ""))
            for kind, g in geoms:
                for rings, poly_id, ref in self.polygons(g, index):
                    if ref is not None:
                        self.pending.append((pi, kind, ref, bi))
                    else:
                        self.b.surface(pi, kind, rings, poly_id)
        for cp in el.iterchildren("{*}consistsOfBuildingPart"):
            for part in cp.iterchildren("{*}BuildingPart"):
                pattrs = _attributes(part)
                inherited = {k: v for k, v in attrs.items() if k in ("function", "usage")}
                self.owner(part, bi, {**inherited, **pattrs}, index, is_part=True)

    # -- geometry
    def polygons(self, node, index, seen=None):
        """(rings, id, None) for every polygon under ``node``, following xlinks within the
        building; (None, None, href id) for a reference to something outside it."""
        seen = set() if seen is None else seen
        stack = [node]
        while stack:
            e = stack.pop()
            name = _local(e.tag)
            if name in ("Polygon", "Triangle", "Rectangle"):
                gid = e.get(_GML_ID) or ""
                if gid and gid in seen:
                    continue
                seen.add(gid)
                yield self.rings(e), gid, None
                continue
            href = e.get(_HREF)
            if href:
                ref = href.split("#", 1)[-1]
                if ref in seen:
                    continue
                target = index.get(ref)
                if target is None:
                    seen.add(ref)
                    yield None, None, ref
                else:
                    stack.append(target)
                continue
            stack.extend(reversed(list(e)))

    def rings(self, poly):
        out = []
        for bnd in poly:
            name = _local(bnd.tag)
            if name not in ("exterior", "interior", "outerBoundaryIs", "innerBoundaryIs"):
                continue
            for ring in bnd:
                if _local(ring.tag) == "LinearRing":
                    r = self.coordinates(ring)
                    if name in ("exterior", "outerBoundaryIs"):
                        out.insert(0, r)
                    else:
                        out.append(r)
        return out

    def coordinates(self, ring) -> np.ndarray:
        pl = ring.find(f"{{{GML}}}posList")
        try:
            if pl is not None:
                dim = pl.get("srsDimension") or _inherited_dim(ring) or self.default_dim
                vals = np.array((pl.text or "").split(), dtype=float)
                dim = int(dim)
            else:
                pos = ring.findall(f"{{{GML}}}pos")
                if pos:
                    pts = [np.array((p.text or "").split(), dtype=float) for p in pos]
                    dim = len(pts[0])
                    vals = np.concatenate(pts) if all(len(p) == dim for p in pts) else np.array([])
                else:
                    c = ring.find(f"{{{GML}}}coordinates")
                    if c is None:
                        return np.zeros((0, 3))
                    cs, ts = c.get("cs", ","), c.get("ts", " ")
                    tuples = [t for t in (c.text or "").strip().split(ts) if t]
                    pts = [np.array(t.split(cs), dtype=float) for t in tuples]
                    dim = len(pts[0]) if pts else 3
                    vals = np.concatenate(pts) if pts else np.array([])
        except ValueError as exc:
            raise InputDataError(f"{self.b.path}, line {ring.sourceline}: coordinates that are not "
                                 f"numbers ({exc}); the file is damaged.") from exc
        if dim != 3 or vals.size % 3 or vals.size < 9:
            if dim == 2:
                raise InputDataError(f"{self.b.path}, line {ring.sourceline}: 2D coordinates in a 3D "
                                     "building model; roofs need heights (srsDimension 3).")
            return np.zeros((0, 3))
        return vals.reshape(-1, 3)

    # -- references to polygons of other buildings
    def resolve_pending(self, path: Path) -> None:
        """Second pass: collect only the referenced ids, then give each part its polygons."""
        from lxml import etree

        wanted = {ref for _, _, ref, _ in self.pending}
        found: dict[str, list] = {}
        for _, el in etree.iterparse(str(path), events=("end",), resolve_entities=False,
                                     no_network=True, huge_tree=False, remove_comments=True):
            gid = el.get(_GML_ID)
            if gid in wanted and gid not in found:
                found[gid] = [(r, pid) for r, pid, ref in self.polygons(el, {}) if ref is None]
            if _local(el.tag) in ("cityObjectMember", "featureMember", "appearanceMember"):
                el.clear(keep_tail=False)
        for pi, kind, ref, bi in self.pending:
            if ref in found:
                for rings, pid in found[ref]:
                    self.b.surface(pi, kind, rings, pid)
            else:
                self.b.note(bi, f"xlink:href '#{ref}' points to nothing in the file: that surface is missing")


def _inherited_dim(e):
    while e is not None:
        d = e.get("srsDimension")
        if d:
            return d
        e = e.getparent()
    return None


def _attributes(el) -> dict:
    """The thematic and generic attributes that are direct children of a Building/Part."""
    out: dict = {}
    for c in el:
        name = _local(c.tag)
        if name in _ATTRS:
            key = _ATTRS[name]
            text = (c.text or "").strip()
            if key in out and text:
                out[key] = f"{out[key]},{text}"
            elif text:
                out[key] = text
        elif name == "name" and c.text and "name" not in out:
            out["name"] = c.text.strip()
        elif name.endswith("Attribute") and c.get("name"):
            _generic(c, out)
        elif name == "genericAttributeSet":
            for g in c.iter():
                if _local(g.tag).endswith("Attribute") and g.get("name"):
                    _generic(g, out)
        elif name == "address" and "address" not in out:
            parts = [t.text.strip() for t in c.iter() if _local(t.tag) in
                     ("ThoroughfareName", "ThoroughfareNumber", "LocalityName") and t.text]
            if parts:
                out["address"] = " ".join(parts)
    if "name" not in out and "address" in out:
        out["name"] = out["address"]
    return out


def _generic(g, out) -> None:
    v = None
    for c in g:
        if _local(c.tag) == "value":
            v = (c.text or "").strip()
            break
    if v is not None:
        key = g.get("name")
        out[key if key not in _ATTRS.values() else f"gen_{key}"] = v
