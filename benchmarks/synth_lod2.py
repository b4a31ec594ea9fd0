"""Synthetic LoD2 cities with exact roofs: CityGML / CityJSON files and the matching DSM.

Every roof is an analytic surface over a rectangular part (flat, shed, gable, hipped) or a flat
roof over any polygon (a podium around a tower). The same description gives

* the CityGML 1.0 / 2.0 file (``write_citygml``: roof, wall and ground surfaces as
  ``lod2MultiSurface`` polygons with ``gml:id``, a ``lod2Solid`` referring to them by
  ``xlink:href`` as the AdV tiles do, generic attributes, terrain intersection curves, AdV
  ``srsName``) and the CityJSON file (``write_cityjson``, integer vertices with a transform);
* the DSM (``dsm``): the roof height function evaluated at every pixel centre — an independent
  computation from pedgis' own polygon rasteriser, used as the reference of the tests and the
  benchmark.

Used by ``tests/solar/test_lod2_roofs.py`` (accuracy, floor areas) and
``benchmarks/bench_lod2.py`` (a 1 km tile of 100+ MB).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SRS_NRW = "urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH"


@dataclass
class Part:
    """A part with one roof: ``kind`` flat | shed | gable | hipped over the rectangle
    ``rect`` = (x0, y0, x1, y1); or ``flat`` over ``polygon`` (exterior, holes) [m].

    ``eave`` is the eave height above ``ground`` [m], ``tilt`` the roof pitch [°], ``facing``
    the direction a shed roof faces (S, N, E, W), ``ridge`` the ridge axis of a gable (x, y).
    """

    pid: str
    ground: float
    eave: float
    kind: str = "flat"
    rect: tuple | None = None
    polygon: tuple | None = None  # ([(x, y), ...], [[(x, y), ...], ...])
    tilt: float = 0.0
    facing: str = "S"
    ridge: str = "x"
    storeys: int | None = None

    # -- the roof as a height function (the DSM's reference) ------------------------------
    def roof_z(self, x, y):
        """Absolute roof height at points inside the part [m]."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        t = math.tan(math.radians(self.tilt))
        base = self.ground + self.eave
        if self.kind == "flat":
            return np.full(np.broadcast(x, y).shape, base)
        x0, y0, x1, y1 = self.rect
        xc, yc = (x0 + x1) / 2, (y0 + y1) / 2
        if self.kind == "shed":
            d = {"S": y - y0, "N": y1 - y, "E": x1 - x, "W": x - x0}[self.facing]
            return base + d * t
        if self.kind == "gable":
            d = (y1 - y0) / 2 - np.abs(y - yc) if self.ridge == "x" else (x1 - x0) / 2 - np.abs(x - xc)
            return base + d * t
        if self.kind == "hipped":
            return base + np.minimum((y1 - y0) / 2 - np.abs(y - yc), (x1 - x0) / 2 - np.abs(x - xc)) * t
        raise ValueError(self.kind)

    def inside(self, x, y):
        from shapely import contains_xy

        return contains_xy(self.footprint(), x, y)

    def footprint(self):
        from shapely.geometry import Polygon, box

        if self.polygon is not None:
            return Polygon(self.polygon[0], self.polygon[1])
        return box(*self.rect)

    # -- the roof, wall and ground polygons -----------------------------------------------
    def roof_planes(self):
        """Roof polygons as lists of (x, y, z) rings: [exterior, holes...]."""
        z = self.roof_z
        if self.kind == "flat":
            ext, holes = (self.polygon if self.polygon is not None
                          else ([(self.rect[0], self.rect[1]), (self.rect[2], self.rect[1]),
                                 (self.rect[2], self.rect[3]), (self.rect[0], self.rect[3])], []))
            h = self.ground + self.eave
            return [[[(x, y, h) for x, y in ext]] + [[(x, y, h) for x, y in r] for r in holes]]
        x0, y0, x1, y1 = self.rect
        xc, yc = (x0 + x1) / 2, (y0 + y1) / 2

        def ring(pts):
            return [[(x, y, float(z(x, y))) for x, y in pts]]

        if self.kind == "shed":
            return [ring([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])]
        if self.kind == "gable" and self.ridge == "x":
            return [ring([(x0, y0), (x1, y0), (x1, yc), (x0, yc)]), ring([(x0, yc), (x1, yc), (x1, y1), (x0, y1)])]
        if self.kind == "gable":
            return [ring([(x0, y0), (xc, y0), (xc, y1), (x0, y1)]), ring([(xc, y0), (x1, y0), (x1, y1), (xc, y1)])]
        W, D = x1 - x0, y1 - y0
        if W >= D:
            h = D / 2
            return [ring([(x0, y0), (x1, y0), (x1 - h, yc), (x0 + h, yc)]),
                    ring([(x1, y1), (x0, y1), (x0 + h, yc), (x1 - h, yc)]),
                    ring([(x0, y1), (x0, y0), (x0 + h, yc)]),
                    ring([(x1, y0), (x1, y1), (x1 - h, yc)])]
        h = W / 2
        return [ring([(x0, y0), (x1, y0), (xc, y0 + h)]), ring([(x1, y1), (x0, y1), (xc, y1 - h)]),
                ring([(x0, y1), (x0, y0), (xc, y0 + h), (xc, y1 - h)]),
                ring([(x1, y0), (x1, y1), (xc, y1 - h), (xc, y0 + h)])]

    def walls(self):
        """Vertical walls along every footprint edge, up to the roof (a gable end's peak too)."""
        out = []
        ext, holes = self._rings2d()
        for r in [ext, *holes]:
            for a, b in zip(r, r[1:] + r[:1], strict=True):
                za, zb = float(self.roof_z(*a)), float(self.roof_z(*b))
                m = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                zm = float(self.roof_z(*m))
                top = [(b[0], b[1], zb)] + ([(m[0], m[1], zm)] if abs(zm - (za + zb) / 2) > 1e-6 else []) + [(a[0], a[1], za)]
                out.append([[(a[0], a[1], self.ground), (b[0], b[1], self.ground), *top]])
        return out

    def ground_surface(self):
        ext, holes = self._rings2d()
        g = self.ground
        return [[(x, y, g) for x, y in reversed(ext)]] + [[(x, y, g) for x, y in reversed(r)] for r in holes]

    def _rings2d(self):
        if self.polygon is not None:
            return list(self.polygon[0]), [list(h) for h in self.polygon[1]]
        x0, y0, x1, y1 = self.rect
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)], []


@dataclass
class Building:
    bid: str
    parts: list[Part]
    function: str = "31001_1000"
    storeys: int | None = None
    attributes: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- cities


def grid_city(n_side: int = 5, plot: float = 24.0, origin=(350000.0, 5700000.0), ground: float = 40.0,
              seed: int = 7, slope: float = 0.0) -> list[Building]:
    """Detached buildings on a grid of plots, every roof kind, several orientations and heights."""
    rng = np.random.default_rng(seed)
    kinds = [("flat", {}), ("shed", {"facing": "S"}), ("shed", {"facing": "E"}), ("shed", {"facing": "W"}),
             ("gable", {"ridge": "x"}), ("gable", {"ridge": "y"}), ("hipped", {}), ("shed", {"facing": "N"})]
    out = []
    ox, oy = origin
    k = 0
    for i in range(n_side):
        for j in range(n_side):
            x0 = ox + i * plot + rng.uniform(2, 4)
            y0 = oy + j * plot + rng.uniform(2, 4)
            lo = min(10.0, 0.6 * plot)
            hi = max(plot - 7, lo + 1)
            w, d = rng.uniform(lo, hi), rng.uniform(lo - 1, hi)
            kind, kw = kinds[k % len(kinds)]
            g = ground + slope * (x0 - ox)
            tilt = {"flat": 0.0, "shed": 20.0, "gable": 35.0, "hipped": 30.0}[kind] + rng.uniform(-5, 5) * (kind != "flat")
            eave = rng.choice([3.0, 6.0, 9.0, 12.0]) + rng.uniform(0.2, 0.8)
            p = Part(f"B{k:05d}-p1", g, float(eave), kind, rect=(x0, y0, x0 + w, y0 + d), tilt=float(tilt), **kw)
            out.append(Building(f"B{k:05d}", [p]))
            k += 1
    return out


def tower_on_podium(origin=(350000.0, 5700000.0), ground: float = 40.0, parts: bool = True,
                    podium_eave: float = 10.0, tower_eave: float = 70.0, storeys=None) -> Building:
    """A 70 m tower (50 × 50 m) on a 10 m podium: 70 × 70 m less a 12 × 18 m corner notch, a
    footprint of 4,684 m²; the tower stands in the middle. As two BuildingParts (side by side),
    or as one part whose roof has two levels."""
    ox, oy = origin
    outer = [(ox, oy), (ox + 70, oy), (ox + 70, oy + 52), (ox + 58, oy + 52), (ox + 58, oy + 70), (ox, oy + 70)]
    tower = [(ox + 5, oy + 5), (ox + 55, oy + 5), (ox + 55, oy + 55), (ox + 5, oy + 55)]
    st = storeys or (None, None)
    if parts:
        pod = Part("podium", ground, podium_eave, "flat", polygon=(outer, [tower[::-1]]), storeys=st[0])
        tw = Part("tower", ground, tower_eave, "flat", polygon=(tower, []), storeys=st[1])
        return Building("TOWER", [pod, tw])
    return Building("TOWER", [_TwoLevel("tower-podium", ground, podium_eave, outer, tower, tower_eave)])


class _TwoLevel(Part):
    """One part, one solid: a podium roof with a hole and a tower roof (walls up the tower)."""

    def __init__(self, pid, ground, podium_eave, outer, tower, tower_eave):
        super().__init__(pid, ground, podium_eave, "flat", polygon=(outer, []))
        self.tower = tower
        self.tower_eave = tower_eave

    def roof_planes(self):
        hp, ht = self.ground + self.eave, self.ground + self.tower_eave
        return [[[(x, y, hp) for x, y in self.polygon[0]], [(x, y, hp) for x, y in self.tower[::-1]]],
                [[(x, y, ht) for x, y in self.tower]]]

    def roof_z(self, x, y):
        from shapely import contains_xy
        from shapely.geometry import Polygon

        on_tower = contains_xy(Polygon(self.tower), np.asarray(x, float), np.asarray(y, float))
        return np.where(on_tower, self.ground + self.tower_eave, self.ground + self.eave)

    def walls(self):
        out = super().walls()
        hp, ht = self.ground + self.eave, self.ground + self.tower_eave
        t = self.tower
        for a, b in zip(t, t[1:] + t[:1], strict=True):
            out.append([[(a[0], a[1], hp), (b[0], b[1], hp), (b[0], b[1], ht), (a[0], a[1], ht)]])
        return out


def dsm(buildings, transform, shape, ground) -> np.ndarray:
    """The roofs' height functions at every pixel centre (the highest where parts overlap);
    ``ground`` (a number or a function of x, y) elsewhere. float32."""
    h, w = shape
    xs = transform.c + (np.arange(w) + 0.5) * transform.a
    ys = transform.f + (np.arange(h) + 0.5) * transform.e
    X, Y = np.meshgrid(xs, ys)
    out = np.asarray(ground(X, Y) if callable(ground) else np.full(X.shape, float(ground)), dtype=np.float64)
    for b in buildings:
        for p in b.parts:
            fx0, fy0, fx1, fy1 = p.footprint().bounds
            c0 = max(int((fx0 - transform.c) / transform.a) - 1, 0)
            c1 = min(int((fx1 - transform.c) / transform.a) + 2, w)
            r0 = max(int((fy1 - transform.f) / transform.e) - 1, 0)
            r1 = min(int((fy0 - transform.f) / transform.e) + 2, h)
            if r1 <= r0 or c1 <= c0:
                continue
            sx, sy = X[r0:r1, c0:c1], Y[r0:r1, c0:c1]
            inside = p.inside(sx, sy)
            z = p.roof_z(sx, sy)
            sub = out[r0:r1, c0:c1]
            sub[inside] = np.maximum(sub[inside], z[inside])
    return out.astype(np.float32)


# --------------------------------------------------------------------------- CityGML


def _poslist(ring) -> str:
    pts = list(ring) + [ring[0]]
    return " ".join(f"{x:.3f} {y:.3f} {z:.3f}" for x, y, z in pts)


def _polygon_xml(rings, pid) -> str:
    ext = f'<gml:exterior><gml:LinearRing gml:id="{pid}_0_"><gml:posList srsDimension="3">{_poslist(rings[0])}</gml:posList></gml:LinearRing></gml:exterior>'
    ints = "".join(f'<gml:interior><gml:LinearRing><gml:posList srsDimension="3">{_poslist(r)}</gml:posList></gml:LinearRing></gml:interior>'
                   for r in rings[1:])
    return f'<gml:Polygon gml:id="{pid}">{ext}{ints}</gml:Polygon>'


_SURF = {"roof": "RoofSurface", "wall": "WallSurface", "ground": "GroundSurface"}


def _part_xml(p: Part, ns_bldg: str, verbose: bool, rng) -> tuple[str, str]:
    """(attributes + solid + boundedBy) of one Building / BuildingPart."""
    surfaces = ([("roof", r) for r in p.roof_planes()] + [("wall", w) for w in p.walls()]
                + [("ground", p.ground_surface())])
    ids = [f"UUID_{uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | int(rng.integers(0, 2**63)))}" for _ in surfaces]
    solid = "".join(f'<gml:surfaceMember xlink:href="#{i}"/>' for i in ids)
    bounded = "".join(
        f'<bldg:boundedBy><bldg:{_SURF[k]} gml:id="S{i}"><bldg:lod2MultiSurface><gml:MultiSurface>'
        f'<gml:surfaceMember>{_polygon_xml(r, i)}</gml:surfaceMember></gml:MultiSurface>'
        f'</bldg:lod2MultiSurface></bldg:{_SURF[k]}></bldg:boundedBy>'
        for (k, r), i in zip(surfaces, ids, strict=True))
    attrs = ""
    if verbose:
        for name, val in (("DatenquelleDachhoehe", "1000"), ("DatenquelleLage", "1000"),
                          ("DatenquelleBodenhoehe", "1100"), ("Grundrissaktualitaet", "2023-01-01"),
                          ("DatenquelleGeschossanzahl", "1000")):
            attrs += f'<gen:stringAttribute name="{name}"><gen:value>{val}</gen:value></gen:stringAttribute>'
    if p.storeys is not None:
        attrs += f"<bldg:storeysAboveGround>{p.storeys}</bldg:storeysAboveGround>"
    attrs += f'<bldg:measuredHeight uom="urn:adv:uom:m">{float(np.max([z for r in p.roof_planes() for x, y, z in r[0]])) - p.ground:.3f}</bldg:measuredHeight>'
    geom = f"<bldg:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>{solid}</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod2Solid>"
    if verbose:  # a terrain intersection curve with a vertex every 0.3 m, as the AdV tiles carry
        ext, _ = p._rings2d()
        pts = []
        for a, b in zip(ext, ext[1:] + ext[:1], strict=True):
            n = max(int(math.hypot(b[0] - a[0], b[1] - a[1]) / 0.3), 1)
            pts += [(a[0] + (b[0] - a[0]) * s / n, a[1] + (b[1] - a[1]) * s / n, p.ground) for s in range(n)]
        geom += ("<bldg:lod2TerrainIntersection><gml:MultiCurve><gml:curveMember><gml:LineString>"
                 f'<gml:posList srsDimension="3">{_poslist(pts)}</gml:posList></gml:LineString>'
                 "</gml:curveMember></gml:MultiCurve></bldg:lod2TerrainIntersection>")
    return attrs, geom + bounded


def _indent(xml: str, step: str = "  ", level: int = 1) -> str:
    """One element per line, indented by depth (as the AdV tiles are written)."""
    import re

    out = []
    depth = level
    for tok in re.findall(r"<[^>]+>|[^<]+", xml):
        if tok.startswith("</"):
            depth -= 1
            if out and out[-1].endswith("~"):  # closing tag after text: same line
                out[-1] = out[-1].rstrip("~") + tok
                continue
            out.append(step * depth + tok)
        elif tok.startswith("<"):
            out.append(step * depth + tok)
            if not tok.endswith("/>"):
                depth += 1
        else:  # text: on the line of its opening tag
            out[-1] += tok + "~"
    return "\n".join(o.rstrip("~") for o in out) + "\n"


def write_citygml(buildings, path, version: str = "2.0", srs: str = SRS_NRW, verbose: bool = False,
                  seed: int = 1) -> Path:
    """Write a CityGML ``version`` (1.0 or 2.0) LoD2 file, streaming building by building."""
    path = Path(path)
    rng = np.random.default_rng(seed)
    core = f"http://www.opengis.net/citygml/{version}"
    bldg = f"http://www.opengis.net/citygml/building/{version}"
    gen = f"http://www.opengis.net/citygml/generics/{version}"
    gml = "http://www.opengis.net/gml"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                 f'<core:CityModel xmlns:core="{core}" xmlns:bldg="{bldg}" xmlns:gen="{gen}" xmlns:gml="{gml}" '
                 'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xal="urn:oasis:names:tc:ciq:xsdschema:xAL:2.0">\n')
        allx = [c for b in buildings for p in b.parts for c in p.footprint().bounds]
        fh.write(f'<gml:boundedBy><gml:Envelope srsName="{srs}" srsDimension="3">'
                 f"<gml:lowerCorner>{min(allx[0::4]):.3f} {min(allx[1::4]):.3f} 0</gml:lowerCorner>"
                 f"<gml:upperCorner>{max(allx[2::4]):.3f} {max(allx[3::4]):.3f} 500</gml:upperCorner>"
                 "</gml:Envelope></gml:boundedBy>\n")
        for k, b in enumerate(buildings):
            head = f'<core:cityObjectMember><bldg:Building gml:id="{b.bid}">'
            if verbose:  # what the AdV tiles carry besides the geometry
                head += ("<core:creationDate>2024-01-01</core:creationDate><core:externalReference>"
                         "<core:informationSystem>http://repository.gdi-de.org/schemas/adv/citygml/fdv/art.htm#_9100"
                         f"</core:informationSystem><core:externalObject><core:name>{b.bid}</core:name>"
                         "</core:externalObject></core:externalReference>"
                         '<gen:stringAttribute name="Gemeindeschluessel"><gen:value>05112000</gen:value></gen:stringAttribute>')
            head += f"<bldg:function>{b.function}</bldg:function>"
            if b.storeys is not None:
                head += f"<bldg:storeysAboveGround>{b.storeys}</bldg:storeysAboveGround>"
            if len(b.parts) == 1:
                attrs, geom = _part_xml(b.parts[0], bldg, verbose, rng)
                body = attrs + geom
            else:
                body = ""
                for p in b.parts:
                    attrs, geom = _part_xml(p, bldg, verbose, rng)
                    body += (f'<bldg:consistsOfBuildingPart><bldg:BuildingPart gml:id="{p.pid}">{attrs}{geom}'
                             "</bldg:BuildingPart></bldg:consistsOfBuildingPart>")
            if verbose:
                body += ("<bldg:address><core:Address><core:xalAddress><xal:AddressDetails><xal:Country>"
                         "<xal:CountryName>Germany</xal:CountryName><xal:Locality Type=\"Town\"><xal:LocalityName>"
                         "Duisburg</xal:LocalityName><xal:Thoroughfare Type=\"Street\"><xal:ThoroughfareNumber>"
                         f"{k % 200 + 1}</xal:ThoroughfareNumber><xal:ThoroughfareName>Synthetische Str.</xal:ThoroughfareName>"
                         "</xal:Thoroughfare></xal:Locality></xal:Country></xal:AddressDetails></core:xalAddress>"
                         "</core:Address></bldg:address>")
            xml = head + body + "</bldg:Building></core:cityObjectMember>"
            fh.write(_indent(xml) if verbose else xml + "\n")
        fh.write("</core:CityModel>\n")
    return path


def write_cityjson(buildings, path, epsg: int = 25832, scale: float = 0.001) -> Path:
    """Write a CityJSON 2.0 file (LoD 2.2 solids with semantics; parts as BuildingParts)."""
    allc = np.array([c for b in buildings for p in b.parts for r in p.roof_planes() for c in r[0]])
    translate = [float(allc[:, 0].min()), float(allc[:, 1].min()), 0.0]
    verts: list = []
    index: dict = {}

    def vid(pt):
        key = tuple(int(round((pt[k] - translate[k]) / scale)) for k in range(3))
        if key not in index:
            index[key] = len(verts)
            verts.append(list(key))
        return index[key]

    objs = {}
    for b in buildings:
        children = []
        for p in b.parts:
            surfaces = ([("RoofSurface", r) for r in p.roof_planes()] + [("WallSurface", w) for w in p.walls()]
                        + [("GroundSurface", p.ground_surface())])
            types = ["RoofSurface", "WallSurface", "GroundSurface"]
            bounds = [[[vid(pt) for pt in ring] for ring in rings] for _, rings in surfaces]
            vals = [types.index(t) for t, _ in surfaces]
            geom = {"type": "Solid", "lod": "2.2", "boundaries": [bounds],
                    "semantics": {"surfaces": [{"type": t} for t in types], "values": [vals]}}
            pid = f"{b.bid}-{p.pid}"
            attrs = {} if p.storeys is None else {"storeysAboveGround": p.storeys}
            objs[pid] = {"type": "BuildingPart", "attributes": attrs, "geometry": [geom], "parents": [b.bid]}
            children.append(pid)
        battrs = {"function": b.function, **b.attributes}
        if b.storeys is not None:
            battrs["storeysAboveGround"] = b.storeys
        objs[b.bid] = {"type": "Building", "attributes": battrs, "geometry": [], "children": children}
    doc = {"type": "CityJSON", "version": "2.0", "transform": {"scale": [scale] * 3, "translate": translate},
           "metadata": {"referenceSystem": f"https://www.opengis.net/def/crs/EPSG/0/{epsg}"},
           "CityObjects": objs, "vertices": verts}
    path = Path(path)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
