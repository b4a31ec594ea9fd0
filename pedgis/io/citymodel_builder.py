"""The in-memory 3D city model the CityGML and CityJSON readers build (:class:`ModelBuilder` →
:class:`CityModel`), with the CRS rules of :func:`resolve_srs`.

Its own module so that the readers (:mod:`pedgis.io.citygml`, :mod:`pedgis.io.cityjson`) and the
module that dispatches to them and turns a model into step-1 tables (:mod:`pedgis.io.citymodel`)
do not import each other.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CRSError, InputDataError

#: Surface kinds kept per polygon.
ROOF, GROUND, OTHER = 0, 1, 2

# AdV CRS identifiers (GeoInfoDok, "Koordinatenreferenzsysteme der AdV"): horizontal and height parts
_ADV_HORIZONTAL = {
    "ETRS89_UTM31": 25831, "ETRS89_UTM32": 25832, "ETRS89_UTM33": 25833,
    "DE_DHDN_3GK2": 31466, "DE_DHDN_3GK3": 31467, "DE_DHDN_3GK4": 31468, "DE_DHDN_3GK5": 31469,
    "ETRS89_LAT-LON": 4258, "ETRS89_LAT_LON": 4258,
}
_ADV_VERTICAL = {"DE_DHHN92_NH": 5783, "DE_DHHN2016_NH": 7837}


# --------------------------------------------------------------------------- CRS


@dataclass
class SrsInfo:
    """A resolved srsName: the horizontal CRS, whether coordinates follow its authority's axis
    order (URN/URL forms, as GDAL reads GML), and a note on what was done."""

    crs: object
    authority_axis_order: bool
    note: str


def resolve_srs(name: str) -> SrsInfo:
    """The horizontal CRS behind a CityGML ``srsName`` or CityJSON ``referenceSystem``.

    Raises
    ------
    CRSError
        an identifier pyproj does not know (the message shows it and the fix)
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjError

    raw = str(name).strip()
    m = re.match(r"^urn:adv:crs:([^*]+)(?:\*(.+))?$", raw, re.IGNORECASE)
    if m:
        h = m.group(1).strip().upper()
        v = (m.group(2) or "").strip().upper()
        if h not in _ADV_HORIZONTAL:
            raise CRSError(f"srsName '{raw}': AdV CRS '{m.group(1)}' is not one pedgis knows "
                           f"({', '.join(sorted(_ADV_HORIZONTAL))}); give the CRS (`buildings.crs = "
                           "\"EPSG:xxxx\"`, `--crs` for `pedgis pv`).")
        crs = CRS.from_epsg(_ADV_HORIZONTAL[h])
        vnote = ""
        if v:
            vname = CRS.from_epsg(_ADV_VERTICAL[v]).name if v in _ADV_VERTICAL else m.group(2)
            vnote = f" + {vname} heights, which are used as given (only height differences matter)"
        return SrsInfo(crs, False, f"'{raw}' read as EPSG:{_ADV_HORIZONTAL[h]} ({crs.name}){vnote}")
    try:
        crs = CRS.from_user_input(raw)
    except ProjError as exc:
        raise CRSError(f"srsName/referenceSystem '{raw}' is not a CRS pyproj understands ({exc}); "
                       "give the CRS (`buildings.crs = \"EPSG:xxxx\"`, `--crs` for `pedgis pv`).") from exc
    authority_order = raw.lower().startswith(("urn:", "http:", "https:"))
    note = f"'{raw}' read as {crs.name}"
    if crs.is_compound:
        horiz = crs.sub_crs_list[0]
        note = (f"'{raw}' is a compound CRS ({crs.name}): positions in "
                f"{horiz.to_string()} ({horiz.name}), heights used as given")
        crs = horiz
    if crs.is_geographic and len(crs.axis_info) == 3:
        crs = crs.to_2d()
    return SrsInfo(crs, authority_order, note)


# --------------------------------------------------------------------------- builder


@dataclass
class CityModel:
    """A 3D city model reduced to what pedgis uses.

    Attributes
    ----------
    path, format : the file and its format (``CityGML 2.0``, ``CityJSON 2.0``, ...)
    crs : horizontal CRS of the coordinates (projected, metres)
    buildings : DataFrame, one row per building: ``building_id``, ``notes`` (list of str),
        ``attrs`` (dict of the building's attributes)
    parts : DataFrame, one row per part with geometry (a Building's own geometry is a part too):
        ``building`` (row of ``buildings``), ``part_id``, ``storeys``, ``measured_height_m``,
        ``min_z``, ``ground_z``, ``lod``
    coords, ring_start, poly_ring : roof and ground polygons (:mod:`pedgis.roofs` layout)
    poly_part, poly_kind, poly_id : per polygon: part row, ``ROOF``/``GROUND``, id
    planes : :class:`pedgis.roofs.PlaneGeometry` of every polygon
    messages : reading decisions (CRS, classification), for the run log
    """

    path: Path
    format: str
    crs: object
    buildings: pd.DataFrame
    parts: pd.DataFrame
    coords: np.ndarray
    ring_start: np.ndarray
    poly_ring: np.ndarray
    poly_part: np.ndarray
    poly_kind: np.ndarray
    poly_id: np.ndarray
    planes: object
    messages: list[str] = field(default_factory=list)

    @property
    def roof_index(self) -> np.ndarray:
        """Polygons usable as roof planes (roof surfaces flatter than the wall limit)."""
        from ..roofs import MAX_ROOF_TILT_DEG

        return np.flatnonzero((self.poly_kind == ROOF) & (self.planes.tilt < MAX_ROOF_TILT_DEG)
                              & (self.planes.area_2d > 0))

    def polygons_2d(self, index) -> np.ndarray:
        """The 2D projections of the given polygons (shapely, holes kept)."""
        import shapely

        index = np.asarray(index, dtype=np.int64)
        if len(index) == 0:
            return np.array([], dtype=object)
        r0, r1 = self.poly_ring[index], self.poly_ring[index + 1]
        rings = np.concatenate([np.arange(a, b) for a, b in zip(r0, r1, strict=True)])
        v = np.concatenate([np.arange(self.ring_start[r], self.ring_start[r + 1]) for r in rings])
        ring_len = self.ring_start[rings + 1] - self.ring_start[rings]
        ring_off = np.concatenate([[0], np.cumsum(ring_len)])
        poly_off = np.concatenate([[0], np.cumsum(r1 - r0)])
        geoms = shapely.from_ragged_array(shapely.GeometryType.POLYGON, self.coords[v, :2],
                                          (ring_off, poly_off))
        return np.asarray(shapely.make_valid(geoms), dtype=object)


class ModelBuilder:
    """Collects buildings, parts and surfaces while a reader streams a file.

    Walls are not stored (pedgis needs their lowest point only); roof and ground polygons are.
    """

    def __init__(self, path, fmt: str, crs=None):
        self.path = Path(path)
        self.format = fmt
        self.user_crs = crs
        self.srs: list[str] = []
        self.b_id: list[str] = []
        self.b_attrs: list[dict] = []
        self.b_notes: list[list[str]] = []
        self.p_building: list[int] = []
        self.p_id: list[str] = []
        self.p_attrs: list[dict] = []
        self.p_min_z: list[float] = []
        self.p_lod: list[str] = []
        self.rings: list[np.ndarray] = []
        self.poly_nrings: list[int] = []
        self.poly_part: list[int] = []
        self.poly_kind: list[int] = []
        self.poly_id: list[str] = []
        self.unclassified: dict[int, list] = {}
        self.messages: list[str] = []
        self.n_walls = 0

    # -- readers call these
    def set_srs(self, name) -> None:
        if name and str(name).strip() and str(name).strip() not in self.srs:
            self.srs.append(str(name).strip())

    def building(self, building_id: str, attrs: dict) -> int:
        self.b_id.append(str(building_id))
        self.b_attrs.append(attrs)
        self.b_notes.append([])
        return len(self.b_id) - 1

    def note(self, b: int, text: str) -> None:
        if text not in self.b_notes[b]:
            self.b_notes[b].append(text)

    def part(self, b: int, part_id: str, attrs: dict, lod: str = "") -> int:
        self.p_building.append(b)
        self.p_id.append(str(part_id))
        self.p_attrs.append(attrs)
        self.p_min_z.append(math.inf)
        self.p_lod.append(lod)
        return len(self.p_id) - 1

    def surface(self, p: int, kind: str, rings: list[np.ndarray], poly_id: str = "") -> None:
        """One polygon (exterior ring first) of part ``p``: ``kind`` is ``roof``, ``ground``,
        ``wall`` (only its lowest point is kept), ``skip`` or ``unknown`` (classified later by
        orientation)."""
        rings = [r for r in (_closed(np.asarray(r, dtype=np.float64)) for r in rings) if len(r) >= 4]
        if not rings:
            return
        zmin = min(float(np.nanmin(r[:, 2])) for r in rings)
        if zmin < self.p_min_z[p]:
            self.p_min_z[p] = zmin
        if kind == "wall":
            self.n_walls += 1
            return
        if kind == "skip":
            return
        if kind == "unknown":
            self.unclassified.setdefault(p, []).append((rings, poly_id))
            return
        self._store(p, ROOF if kind == "roof" else GROUND, rings, poly_id)

    def _store(self, p, kind, rings, poly_id):
        self.rings.extend(rings)
        self.poly_nrings.append(len(rings))
        self.poly_part.append(p)
        self.poly_kind.append(kind)
        self.poly_id.append(poly_id)

    # -- the end
    def finish(self) -> CityModel:
        from ..roofs import MAX_ROOF_TILT_DEG, plane_geometry

        self._classify(MAX_ROOF_TILT_DEG)
        if not self.b_id:
            raise InputDataError(f"{self.path}: no Building in this {self.format} file; check that it "
                                 "holds buildings (bldg:Building / CityJSON \"Building\" objects).")
        coords = np.concatenate(self.rings) if self.rings else np.zeros((0, 3))
        ring_len = np.array([len(r) for r in self.rings], dtype=np.int64)
        ring_start = np.concatenate([[0], np.cumsum(ring_len)]).astype(np.int64)
        poly_ring = np.concatenate([[0], np.cumsum(self.poly_nrings)]).astype(np.int64)
        self.rings = []
        crs, coords = self._crs(coords)
        planes = plane_geometry(coords, ring_start, poly_ring)
        parts = pd.DataFrame({
            "building": np.asarray(self.p_building, dtype=np.int64),
            "part_id": self.p_id,
            "lod": self.p_lod,
            "min_z": np.asarray(self.p_min_z, dtype=float),
            "attrs": self.p_attrs,
        })
        buildings = pd.DataFrame({"building_id": self.b_id, "attrs": self.b_attrs, "notes": self.b_notes})
        if self.unclassified_count:
            self.messages.append(
                f"{self.path.name}: {self.unclassified_count} polygons without semantic surfaces "
                f"classified by orientation (flatter than {MAX_ROOF_TILT_DEG:g}° and above the part's "
                "lowest point: roof; at the lowest point: ground; else wall).")
        return CityModel(
            path=self.path, format=self.format, crs=crs, buildings=buildings, parts=parts,
            coords=coords, ring_start=ring_start, poly_ring=poly_ring,
            poly_part=np.asarray(self.poly_part, dtype=np.int64),
            poly_kind=np.asarray(self.poly_kind, dtype=np.int8),
            poly_id=np.asarray(self.poly_id, dtype=object), planes=planes, messages=self.messages)

    unclassified_count = 0

    def _classify(self, max_tilt):
        """Surfaces without semantics (a bare lod2Solid / MultiSurface): by orientation."""
        from ..roofs import plane_geometry

        cos_max = math.cos(math.radians(max_tilt))
        for p, polys in self.unclassified.items():
            for rings, pid in polys:
                rs = np.concatenate([[0], np.cumsum([len(r) for r in rings])])
                g = plane_geometry(np.concatenate(rings), rs, np.array([0, len(rings)]))
                nz = math.cos(math.radians(float(g.tilt[0]))) if np.isfinite(g.tilt[0]) else 0.0
                self.unclassified_count += 1
                if nz < cos_max:
                    self.n_walls += 1
                    continue
                kind = GROUND if float(g.max_z[0]) <= self.p_min_z[p] + 0.05 else ROOF
                self._store(p, kind, rings, pid)
        self.unclassified = {}

    def _crs(self, coords):
        from pyproj import CRS, Transformer

        if self.user_crs:
            info = SrsInfo(CRS.from_user_input(self.user_crs), False,
                           f"CRS {self.user_crs} given in the scenario / command line")
            if self.srs:
                self.messages.append(f"{self.path.name}: the file declares {self.srs[0]}; the given "
                                     f"CRS {self.user_crs} is used instead.")
        elif self.srs:
            info = resolve_srs(self.srs[0])
            if len(self.srs) > 1:
                others = [s for s in self.srs[1:] if not resolve_srs(s).crs.equals(info.crs)]
                if others:
                    raise CRSError(f"{self.path}: geometries in several CRSs ({', '.join(self.srs)}); "
                                   "pedgis needs one. Export the tile in one CRS.")
        else:
            raise CRSError(f"{self.path}: no CRS in the file (no srsName / referenceSystem). pedgis "
                           "never guesses one: give it with `buildings.crs = \"EPSG:xxxx\"` in the "
                           "scenario (`--crs EPSG:xxxx` for `pedgis pv`).")
        crs = info.crs
        self.messages.append(f"{self.path.name}: CRS {info.note}.")
        if len(coords):
            coords = self._axis_order(coords, crs, info)
        if crs.is_geographic:
            import geopandas as gpd
            from shapely import points

            c = np.nanmean(coords[:, :2], axis=0)
            utm = gpd.GeoSeries(points([c]), crs=crs).estimate_utm_crs()
            t = Transformer.from_crs(crs, utm, always_xy=True)
            coords = coords.copy()
            coords[:, 0], coords[:, 1] = t.transform(coords[:, 0], coords[:, 1])
            self.messages.append(f"{self.path.name}: geographic coordinates projected to {utm.name} "
                                 f"({utm.to_string()}) for roof planes and areas in metres.")
            crs = utm
        elif not crs.is_projected:
            raise CRSError(f"{self.path}: CRS {crs.name} is neither projected nor geographic; give a "
                           "projected CRS in metres.")
        return crs, coords

    def _axis_order(self, coords, crs, info):
        """Coordinates as (east, north). A URN/URL srsName means the authority's axis order
        (northing first for e.g. Gauss-Krüger EPSG:31467, latitude first for EPSG:4326); files
        often ignore that, so the order whose points fall in the CRS's area of use wins."""
        from pyproj import Transformer

        north_first = crs.axis_info and crs.axis_info[0].direction.lower() == "north"
        want_swap = bool(north_first and info.authority_axis_order)
        area = crs.area_of_use
        if area is not None and north_first:
            sample = coords[:: max(len(coords) // 50, 1), :2]
            to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

            def inside(xy):
                with np.errstate(all="ignore"):
                    lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
                ok = (lon >= area.west - 1) & (lon <= area.east + 1) & (lat >= area.south - 1) & (lat <= area.north + 1)
                return float(np.mean(ok))

            as_en, as_ne = inside(sample), inside(sample[:, ::-1])
            if as_ne > as_en:
                want_swap = True
            elif as_en > as_ne:
                want_swap = False
        if want_swap:
            coords = coords.copy()
            coords[:, [0, 1]] = coords[:, [1, 0]]
            self.messages.append(f"{self.path.name}: coordinates are in {crs.name}'s axis order "
                                 "(north first); swapped to east, north.")
        return coords


def _closed(r: np.ndarray) -> np.ndarray:
    if r.ndim != 2 or r.shape[1] != 3 or len(r) < 3:
        return np.zeros((0, 3))
    if not np.array_equal(r[0], r[-1]):
        r = np.vstack([r, r[:1]])
    return r
