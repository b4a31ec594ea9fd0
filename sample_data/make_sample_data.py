"""Build the pedgis sample district (deterministic): footprints, boundary, DSM/DTM, weather.

A plausible mixed-use district in Piedmont at about 45.0° N 8.0° E, in EPSG:32632 (UTM 32N):
perimeter blocks (some split into several cadastral buildings, some single buildings around a
courtyard hole), row houses, detached houses, small apartment blocks, a school with a sports
hall, an office block, a supermarket, a clinic and a hotel, with cadastral-style attributes and a
few realistic defects (see ``README.md`` next to this script).

Everything is computed from fixed numbers and seeded generators: running the script twice gives
identical geometries, attributes and raster values.

Usage::

    python sample_data/make_sample_data.py                 # rewrite everything in sample_data/
    python sample_data/make_sample_data.py --out DIR       # write into another folder
    python sample_data/make_sample_data.py --fetch-weather # (re)obtain the PVGIS TMY from pvlib's sdist

The weather file is the real PVGIS TMY for 45° N 8° E shipped in pvlib's source distribution on
PyPI (not in its wheel). Without ``--fetch-weather`` the committed copy is checked against its
SHA-256 and copied when ``--out`` is another folder.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import Polygon, box
from shapely.ops import unary_union

HERE = Path(__file__).resolve().parent
CRS = "EPSG:32632"
LAT, LON = 45.0, 8.0
#: grid rotation of the street plan, counter-clockwise from east [deg]
GRID_ROTATION_DEG = 12.0
#: DSM/DTM pixel size [m] and margin around the district [m]
PIXEL_M = 0.5
MARGIN_M = 60.0
NODATA = -9999.0
#: ground elevation at the district centre [m a.s.l.] (PVGIS gives 250 m for 45 N 8 E)
GROUND_BASE_M = 250.0

WEATHER_NAME = "pvgis_tmy_45N_8E.epw"
#: SHA-256 of the file as pvlib's sdist carries it
PVGIS_SHA256 = "e0c70bc1dc2dee57ccc52a0fea6be5f9ab022368e9d5dbc1f992ecb0c69cf67a"
#: SHA-256 of the committed file: the PVGIS file with its rows moved to local time (`local_time_rows`)
WEATHER_SHA256 = "fa4ee303a8a7c555913d5ceae98a22242d452de07e678f732c42d4463e4ce85a"
WEATHER_MEMBER_GLOB = "tests/data/tmy_45.000_8.000_"  # + "<first>_<last>.epw", latest period wins
PVLIB_SDIST_VERSION = "0.16.1"

SEED = 20261123


def district_centre() -> tuple[float, float]:
    """UTM 32N coordinates of 45.0° N 8.0° E, rounded to the metre [m]."""
    tr = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    x, y = tr.transform(LON, LAT)
    return float(round(x)), float(round(y))


# --------------------------------------------------------------------------------------------
# Roof models. All roof geometry lives in the local street-grid frame (u east-ish, v north-ish,
# metres from the district centre). A roof spec gives the height above the eave [m] at (u, v).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Roof:
    """A roof shape over a rectangle (or a rectangular ring) in the local frame.

    ``shape``: ``flat``, ``gable`` (ridge along ``axis``), ``hipped`` or ``pitched_ring``
    (a ring of wings around a courtyard: ridges along the middle of each wing, hips at the
    outer corners, valleys at the courtyard corners). ``(cu, cv)`` centre, ``hu``/``hv`` half
    sizes of the outer rectangle, ``iu``/``iv`` half sizes of the courtyard (ring only),
    ``pitch_deg`` slope of the roof planes.
    """

    shape: str
    cu: float = 0.0
    cv: float = 0.0
    hu: float = 0.0
    hv: float = 0.0
    axis: str = "u"
    pitch_deg: float = 0.0
    iu: float = 0.0
    iv: float = 0.0

    def rise(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Height of the roof surface above the eave at local points [m]."""
        du = np.abs(u - self.cu)
        dv = np.abs(v - self.cv)
        t = np.tan(np.deg2rad(self.pitch_deg))
        if self.shape == "flat":
            d = np.zeros_like(du)
        elif self.shape == "gable":
            d = (self.hv - dv) if self.axis == "u" else (self.hu - du)
        elif self.shape == "hipped":
            d = np.minimum(self.hu - du, self.hv - dv)
        elif self.shape == "pitched_ring":
            # straight-skeleton roof of a rectangular ring: distance to the outer walls, and
            # the mitred (Chebyshev) distance to the courtyard walls.
            d = np.minimum(np.minimum(self.hu - du, self.hv - dv), np.maximum(du - self.iu, dv - self.iv))
        else:  # pragma: no cover - programming error
            raise ValueError(self.shape)
        return np.clip(d, 0.0, None) * t

    @property
    def ridge_rise(self) -> float:
        """Ridge height above the eave [m]."""
        t = np.tan(np.deg2rad(self.pitch_deg))
        if self.shape == "flat":
            return 0.0
        if self.shape == "gable":
            return (self.hv if self.axis == "u" else self.hu) * t
        if self.shape == "hipped":
            return min(self.hu, self.hv) * t
        return min(self.hu - self.iu, self.hv - self.iv) / 2.0 * t


@dataclass
class Building:
    """One cadastral building (one or more footprint parts) and its true geometry."""

    cad_id: str
    categoria: str
    eave_m: float  # true eave height above the base [m]
    floors: int
    roof: Roof
    parts: list  # true footprint parts, local frame (shapely polygons)
    street: str = ""
    n_abit: int | None = None
    n_letti: int | None = None
    pv_kwp: float = 0.0
    altezza_attr: float | None = None  # ALTEZZA as written in the shapefile (None = missing)
    floors_attr: int | None = None
    written_parts: list | None = None  # defective geometries written instead of ``parts``
    notes: list = field(default_factory=list)
    address: str = ""


def rect(u0: float, v0: float, u1: float, v1: float) -> Polygon:
    return box(min(u0, u1), min(v0, v1), max(u0, u1), max(v0, v1))


# --------------------------------------------------------------------------------------------
# The district plan (local frame)
# --------------------------------------------------------------------------------------------
COLS = [(-210.0, -130.0), (-115.0, -25.0), (-10.0, 80.0), (95.0, 190.0)]
ROWS = [(100.0, 180.0), (0.0, 85.0), (-100.0, -15.0), (-190.0, -115.0)]

#: streets: name → (orientation, coordinate of the centreline in the local frame)
STREETS = {
    "Via Giosuè Carducci": ("v", -217.5),
    "Via Sant'Agnese": ("v", -122.5),
    "Corso Università": ("v", -17.5),
    "Via Nizza Monferrato": ("v", 87.5),
    "Via Cesare Cantù": ("v", 197.5),
    "Via Amédée Ferrero": ("h", 187.5),
    "Via Niccolò Tommaseo": ("h", 92.5),
    "Via Forlì": ("h", -107.5),
    "Strada della Crocetta": ("h", -197.5),
    "Via della Libertà": ("h", -7.5),
}


class Plan:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.buildings: list[Building] = []
        self.trees: list[tuple[float, float, float, float]] = []  # u, v, crown radius, top [m]
        # cadastral ids: 6 digits, increasing with random gaps (as on a cadastral sheet)
        self._next_id = 1187

    def new_id(self) -> str:
        self._next_id += int(self.rng.integers(1, 9))
        return f"{self._next_id:06d}"

    def add(self, categoria, eave, floors, roof, parts, **kw) -> Building:
        b = Building(self.new_id(), categoria, float(eave), int(floors), roof, list(parts), **kw)
        self.buildings.append(b)
        return b

    # --- building types ---------------------------------------------------------------------
    def perimeter_block(self, u0, v0, u1, v1, depth, pitch, cats, floors_choices, split=True, gap=None, shop_in_block=False):
        """A perimeter block: a ring of wings of ``depth`` along the block edges.

        ``split``: cut the ring into several cadastral buildings (party walls); otherwise one
        building with a courtyard hole. ``gap``: (side, start, end) leaves a passage open.
        """
        W, H = u1 - u0, v1 - v0
        cu, cv = (u0 + u1) / 2, (v0 + v1) / 2
        roof = Roof("pitched_ring", cu, cv, W / 2, H / 2, pitch_deg=pitch, iu=W / 2 - depth, iv=H / 2 - depth)
        if not split:
            outer = rect(u0, v0, u1, v1)
            hole = rect(u0 + depth, v0 + depth, u1 - depth, v1 - depth)
            poly = Polygon(outer.exterior.coords, [hole.exterior.coords])
            fl = int(self.rng.choice(floors_choices))
            self.add(cats[0], fl * 3.0 + 0.5, fl, roof, [poly])
            return
        # north and south wings run the full width; east/west wings fill between them
        pieces = []
        for vv0, vv1 in ((v1 - depth, v1), (v0, v0 + depth)):
            cuts = self._cuts(u0, u1, 16.0, 30.0)
            pieces += [rect(a, vv0, b, vv1) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        for uu0, uu1 in ((u0, u0 + depth), (u1 - depth, u1)):
            cuts = self._cuts(v0 + depth, v1 - depth, 16.0, 30.0)
            pieces += [rect(uu0, a, uu1, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        if gap is not None:
            gpoly = rect(*gap)
            cut = [p.difference(gpoly) for p in pieces]
            pieces = [q for p in cut for q in getattr(p, "geoms", [p]) if q.area > 30]
        shop = int(self.rng.integers(len(pieces))) if shop_in_block else -1
        for k, p in enumerate(pieces):
            fl = int(self.rng.choice(floors_choices))
            cat = "C/1" if k == shop else str(self.rng.choice(cats))
            # ground floor 3.5 m, upper floors 3.0 m; eave a little above the top slab
            self.add(cat, round(3.5 + 3.0 * (fl - 1) + 0.4, 1), fl, roof, [p])

    def _cuts(self, a, b, lo, hi):
        cuts = [a]
        while b - cuts[-1] > hi:
            cuts.append(cuts[-1] + float(np.round(self.rng.uniform(lo, hi), 1)))
        cuts.append(b)
        if cuts[-1] - cuts[-2] < lo * 0.6 and len(cuts) > 2:  # no tiny last piece
            cuts.pop(-2)
        return cuts

    def row(self, u0, v0, n, width, depth, pitch, floors, cat="A/3"):
        """A row of ``n`` terraced houses along u, one gable roof (ridge along the row)."""
        u1 = u0 + n * width
        roof = Roof("gable", (u0 + u1) / 2, v0 + depth / 2, (u1 - u0) / 2, depth / 2, "u", pitch)
        eave = 3.0 * floors + 0.2
        for i in range(n):
            self.add(cat, eave, floors, roof, [rect(u0 + i * width, v0, u0 + (i + 1) * width, v0 + depth)])

    def detached(self, cu, cv, lu, lv, pitch, floors=2, cat="A/7"):
        roof = Roof("hipped", cu, cv, lu / 2, lv / 2, pitch_deg=pitch)
        eave = 3.0 * floors + 0.3
        return self.add(cat, eave, floors, roof, [rect(cu - lu / 2, cv - lv / 2, cu + lu / 2, cv + lv / 2)])

    def flat(self, poly, eave, floors, cat):
        c = poly.centroid
        return self.add(cat, eave, floors, Roof("flat", c.x, c.y), [poly])


def build_plan(rng: np.random.Generator) -> Plan:
    P = Plan(rng)
    (cA, cB, cC, cD), (r1, r2, r3, r4) = COLS, ROWS

    # Row 1 (north)
    P.perimeter_block(cA[0], r1[0], cA[1], r1[1], 12.0, 30.0, ["A/2", "A/3", "A/3"], [4, 5, 5],
                      gap=(cA[0] + 34, r1[0] - 1, cA[0] + 42, r1[0] + 13))
    P.perimeter_block(cB[0] + 8, r1[0] + 8, cB[1] - 8, r1[1] - 6, 12.0, 28.0, ["A/2"], [5], split=False)
    # school: a U-shaped flat building around the yard, and the sports hall
    school = unary_union([rect(cC[0], r1[1] - 16, cC[1] - 20, r1[1]),
                          rect(cC[0], r1[0] + 30, cC[0] + 15, r1[1] - 16),
                          rect(cC[1] - 38, r1[1] - 30, cC[1] - 20, r1[1] - 16)])
    P.flat(school, 11.4, 3, "B/5")
    P.flat(rect(cC[0] + 26, r1[0], cC[0] + 71, r1[0] + 27), 9.6, 1, "D/6")
    # row houses: two rows facing each other, the north one in two terraces
    P.row(cD[0] + 2, r1[1] - 12, 6, 6.5, 10.0, 32.0, 2)
    P.row(cD[0] + 45, r1[1] - 12, 6, 6.5, 10.0, 32.0, 2)
    P.row(cD[0] + 4, r1[0] + 3, 8, 7.0, 10.0, 30.0, 3)
    P.detached(cD[0] + 63, r1[0] + 40, 12.0, 10.0, 28.0, floors=2, cat="A/7")  # garden villa

    # Row 2
    P.perimeter_block(cA[0], r2[0], cA[1], r2[1], 12.0, 27.0, ["A/3", "A/2"], [4, 4, 5], shop_in_block=True)
    # piazza block: buildings on the north edge, the clinic on the west, a shop on the south
    north = [(cB[0], 18.0), (cB[0] + 18, 24.0), (cB[0] + 42, 20.0), (cB[0] + 62, 28.0)]
    roof = Roof("gable", (cB[0] + cB[1]) / 2, r2[1] - 6.5, (cB[1] - cB[0]) / 2, 6.5, "u", 27.0)
    for (u, w), cat, fl in zip(north, ["A/2", "A/2", "C/1", "A/3"], [4, 5, 4, 4], strict=True):
        P.add(cat, 3.5 + 3.0 * (fl - 1) + 0.4, fl, roof, [rect(u, r2[1] - 13, u + w, r2[1])])
    P.flat(rect(cB[0], r2[0] + 20, cB[0] + 14, r2[0] + 48), 7.4, 2, "B/2")
    P.flat(rect(cB[0] + 60, r2[0], cB[0] + 78, r2[0] + 11), 4.2, 1, "C/1")
    # office block and hotel around its courtyard
    P.flat(rect(cC[0], r2[1] - 18, cC[0] + 42, r2[1]), 21.3, 6, "A/10")
    P.perimeter_block(cC[0] + 42, r2[0], cC[1], r2[0] + 40, 12.0, 25.0, ["D/2"], [5], split=False)
    P.row(cD[0] + 6, r2[1] - 11, 6, 7.2, 10.0, 30.0, 2)
    P.row(cD[0] + 6, r2[0] + 3, 6, 7.2, 10.0, 30.0, 2)

    # Row 3
    P.perimeter_block(cA[0] + 5, r3[0] + 12, cA[1] - 5, r3[1] - 13, 11.0, 30.0, ["A/2"], [5], split=False)
    P.flat(rect(cB[0] + 5, r3[0] + 28, cB[0] + 70, r3[1]), 7.0, 1, "D/8")
    P.perimeter_block(cC[0], r3[0], cC[1], r3[1], 12.0, 30.0, ["A/3", "A/3", "A/2"], [3, 4, 4, 5], shop_in_block=True)
    for i, (du, dv) in enumerate([(15, 68), (47, 68), (77, 68), (15, 35), (47, 35), (77, 35)]):
        P.detached(cD[0] + du, r3[0] + dv, 11.0 + (i % 3), 9.5 + (i % 2), 27.0 + 2 * (i % 3))

    # Row 4 (south)
    for i, (du, dv) in enumerate([(14, 55), (40, 55), (66, 55), (14, 22), (40, 22), (66, 22)]):
        P.detached(cA[0] + du, r4[0] + dv, 10.0 + (i % 2), 12.0 - (i % 3), 30.0 - 2 * (i % 2))
    for i, (du, dv) in enumerate([(14, 55), (43, 55), (72, 55), (14, 20), (43, 20), (72, 20)]):
        P.detached(cB[0] + du, r4[0] + dv, 9.5 + (i % 3), 11.0, 28.0 + 2 * (i % 2))
    for du, dv in ((4, 50), (50, 50)):
        u0, v0 = cC[0] + du, r4[0] + dv
        P.add("A/3", 12.3, 4, Roof("hipped", u0 + 11, v0 + 7, 11.0, 7.0, pitch_deg=26.0), [rect(u0, v0, u0 + 22, v0 + 14)])
    P.row(cC[0] + 6, r4[0] + 4, 6, 7.5, 11.0, 30.0, 2)
    for i, (du, dv) in enumerate([(15, 58), (47, 58), (79, 58), (15, 20), (47, 20), (79, 20)]):
        P.detached(cD[0] + du, r4[0] + dv, 10.5 + (i % 2), 10.0 + (i % 3), 29.0)
    return P


# --------------------------------------------------------------------------------------------
# Attributes, defects, boundary
# --------------------------------------------------------------------------------------------
RESIDENTIAL = {"A/2", "A/3", "A/7"}


def assign_attributes(P: Plan) -> None:
    rng = P.rng
    for b in P.buildings:
        area = sum(p.area for p in b.parts)
        b.altezza_attr = round(b.eave_m, 1)
        b.floors_attr = b.floors
        if b.categoria in RESIDENTIAL:
            # about one person per 38 m² of gross floor area (ISTAT: ~40 m² per person)
            b.n_abit = int(max(1, round(area * b.floors * 0.85 / 38.0 * rng.uniform(0.8, 1.15))))
        if b.categoria == "D/2":
            b.n_letti = int(round(area * b.floors * 0.8 / 28.0))  # ~28 m² per bed incl. services
        if b.categoria == "B/2":
            b.n_letti = 12  # day clinic with a few recovery beds
    # ALTEZZA missing on ~12 % of buildings (floors stay): eave then is N_PIANI × 3 m
    idx = rng.choice(len(P.buildings), size=12, replace=False)
    for i in idx:
        b = P.buildings[i]
        b.altezza_attr = None
        b.eave_m = 3.0 * b.floors
    # existing PV
    for b in P.buildings:
        if b.categoria == "D/8":
            b.pv_kwp = 120.0
        elif b.categoria == "B/5":
            b.pv_kwp = 40.0
        elif b.categoria == "D/6":
            b.pv_kwp = 60.0
    resid = [b for b in P.buildings if b.categoria in ("A/7", "A/3") and isinstance(b.roof, Roof) and b.roof.shape != "pitched_ring"]
    for i in rng.choice(len(resid), size=10, replace=False):
        resid[i].pv_kwp = float(rng.choice([2.97, 3.0, 3.3, 4.5, 6.0]))


def assign_addresses(P: Plan) -> None:
    rng = P.rng
    by_street: dict[str, list[tuple[float, int, Building]]] = {}
    for b in P.buildings:
        c = unary_union(b.parts).centroid
        best = None
        for name, (orient, coord) in STREETS.items():
            d = abs((c.x if orient == "v" else c.y) - coord)
            if best is None or d < best[0]:
                best = (d, name)
        name = best[1]
        orient, coord = STREETS[name]
        along = c.y if orient == "v" else c.x
        side = int((c.x if orient == "v" else c.y) > coord)  # odd numbers on the west/south side
        by_street.setdefault(name, []).append((along, side, b))
    for name, items in by_street.items():
        counters = [1, 2]
        for _along, side, b in sorted(items, key=lambda t: (t[0], t[1])):
            n = counters[side]
            counters[side] += 2
            b.street = name
            b.address = f"{name} {n}"
    # the piazza's buildings take the square's name
    for b in P.buildings:
        if b.categoria == "B/2":
            b.address = "Piazza Città di Bra 1"
    piazza = [b for b in P.buildings if b.roof.shape == "gable" and abs(b.roof.cv - (ROWS[1][1] - 6.5)) < 1e-6]
    for i, b in enumerate(piazza):
        b.address = f"Piazza Città di Bra {2 * i + 3}"
    shop = [b for b in P.buildings if b.categoria == "C/1" and b.roof.shape == "flat"][0]
    shop.address = "Vicolo dell'Orologio 2"
    del rng


def apply_defects(P: Plan) -> dict[str, str]:
    """Introduce the documented defects; returns CAD_ID → defect label."""
    defects: dict[str, str] = {}
    B = P.buildings
    # 1. bow-tie: a detached house digitised with two vertices swapped
    bt = [b for b in B if b.categoria == "A/7"][3]
    (u0, v0, u1, v1) = bt.parts[0].bounds
    bt.written_parts = [Polygon([(u0, v0), (u1, v0), (u0, v1), (u1, v1)])]
    bt.notes.append("bow-tie footprint in the shapefile (vertices 3 and 4 swapped); true footprint is the rectangle")
    defects[bt.cad_id] = "self_intersection"
    # 2. one building in two part-rows with the same CAD_ID (attributes repeated on both rows)
    sp = [b for b in B if b.cad_id not in defects and b.roof.shape == "pitched_ring" and len(b.parts) == 1 and b.parts[0].area > 250 and not b.parts[0].interiors][1]
    (u0, v0, u1, v1) = sp.parts[0].bounds
    if (u1 - u0) >= (v1 - v0):
        m = round((u0 + u1) / 2, 1)
        sp.written_parts = [rect(u0, v0, m, v1), rect(m, v0, u1, v1)]
    else:
        m = round((v0 + v1) / 2, 1)
        sp.written_parts = [rect(u0, v0, u1, m), rect(u0, m, u1, v1)]
    sp.notes.append("two part-rows with the same CAD_ID (attributes repeated on both rows)")
    defects[sp.cad_id] = "split_parts"
    # 3. a duplicate consecutive vertex on a row house
    dv = [b for b in B if b.cad_id not in defects and b.categoria == "A/3" and b.roof.shape == "gable"][5]
    cs = list(dv.parts[0].exterior.coords)[:-1]
    cs.insert(2, cs[2])
    dv.written_parts = [Polygon(cs)]
    dv.notes.append("duplicate consecutive vertex")
    defects[dv.cad_id] = "duplicate_vertex"
    # 4. a sliver spike (5 cm wide, 1.5 m long) sticking out of the supermarket's south wall
    sm = [b for b in B if b.categoria == "D/8"][0]
    (u0, v0, u1, v1) = sm.parts[0].bounds
    xm = round((u0 + u1) / 2, 2)
    spike = [(u0, v0), (xm, v0), (xm + 0.025, v0 - 1.5), (xm + 0.05, v0), (u1, v0), (u1, v1), (u0, v1)]
    sm.written_parts = [Polygon(spike)]
    sm.notes.append("sliver spike 0.05 m wide, 1.5 m long on the south wall (digitising error)")
    defects[sm.cad_id] = "sliver_spike"
    # 5. N_PIANI and ALTEZZA both missing (eave known only from the DSM)
    mh = [b for b in B if b.cad_id not in defects and b.categoria == "A/3" and b.roof.shape == "pitched_ring"][2]
    mh.floors_attr = None
    mh.altezza_attr = None
    mh.notes.append("N_PIANI and ALTEZZA missing")
    defects[mh.cad_id] = "missing_height"
    # 6. N_PIANI missing but ALTEZZA given, on two more buildings
    for b in [b for b in B if b.cad_id not in defects and b.categoria == "A/7" and b.altezza_attr is not None][6:8]:
        b.floors_attr = None
        b.notes.append("N_PIANI missing (ALTEZZA given)")
        defects.setdefault(b.cad_id, "missing_floors")
    # 7. an address without house number ("SNC", senza numero civico)
    sn = [b for b in B if b.street == "Via Nizza Monferrato" and b.cad_id not in defects][0]
    sn.address = "Via Nizza Monferrato SNC"
    sn.notes.append("address without house number (SNC)")
    return defects


def make_boundary(P: Plan) -> Polygon:
    """District polygon (local frame): along street centrelines, leaving out the south-east
    block of villas and the eastern terrace of the north-east block, and cutting through two
    buildings on the way (one keeps its centroid inside, one does not)."""
    cD, r1 = COLS[3], ROWS[0]
    pts = [
        (-217.5, 187.5), (cD[0] + 47.0, 187.5),            # north edge, stop mid-terrace
        (cD[0] + 47.0, r1[0] + 43.0),                       # down through the terrace gardens
        (197.5, r1[0] + 43.0),                              # east along a garden fence (cuts the villa)
        (197.5, -107.5), (87.5, -107.5),                    # leave out the south-east villas
        (87.5, -197.5), (-217.5, -197.5),
    ]
    return Polygon(pts)


# --------------------------------------------------------------------------------------------
# Trees and terrain
# --------------------------------------------------------------------------------------------


def place_trees(P: Plan) -> None:
    rng = P.rng
    # avenue trees along Corso Università (both sides), every ~12 m
    for v in np.arange(-185.0, 185.0, 12.0):
        if -15 < v < 0 or 85 < v < 100 or -115 < v < -100:
            continue  # crossings
        for u in (-22.5, -12.5):
            P.trees.append((u, float(v), float(rng.uniform(2.6, 3.4)), float(rng.uniform(9.0, 12.0))))
    # garden trees in the villa blocks, a few on the piazza and in the school yard
    for cu, cv in [(-180, -165), (-150, -140), (-85, -165), (-60, -140), (150, -60), (120, -30),
                   (-90, 45), (-60, 40), (30, 130), (45, 120), (140, -150), (170, -170)]:
        P.trees.append((float(cu), float(cv), float(rng.uniform(3.0, 4.5)), float(rng.uniform(8.0, 14.0))))
    # trees that overhang a roof: just outside a villa wall, crown over the roof
    for b in [b for b in P.buildings if b.categoria == "A/7"][0:3]:
        (u0, v0, u1, v1) = b.parts[0].bounds
        P.trees.append((u1 + 1.5, (v0 + v1) / 2, 4.0, 12.5))
        b.notes.append("a tree crown overhangs the east side of the roof")


def dtm_function(x: np.ndarray, y: np.ndarray, cx: float, cy: float) -> np.ndarray:
    """Ground elevation [m a.s.l.]: a plane rising 6 m over 600 m towards the north-west plus
    smooth undulation of ±0.8 m."""
    dx, dy = x - cx, y - cy
    plane = GROUND_BASE_M + (-0.004 * dx + 0.008 * dy) * 0.75
    wave = 0.5 * np.sin(2 * np.pi * dx / 340.0 + 0.7) * np.cos(2 * np.pi * dy / 280.0) + 0.3 * np.sin(2 * np.pi * (dx + dy) / 190.0)
    return plane + wave


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def to_world(geom, cx, cy):
    a = np.deg2rad(GRID_ROTATION_DEG)
    c, s = float(np.cos(a)), float(np.sin(a))
    g = affinity.affine_transform(geom, [c, -s, s, c, cx, cy])
    return _round_geom(g)


def _round_geom(g):
    import shapely

    return shapely.set_precision(g, 0.01, mode="pointwise")


def to_local(x, y, cx, cy):
    a = np.deg2rad(GRID_ROTATION_DEG)
    c, s = np.cos(a), np.sin(a)
    dx, dy = x - cx, y - cy
    return c * dx + s * dy, -s * dx + c * dy


def build(out: Path, fetch_weather: bool = False) -> dict:
    """Write the whole sample district into ``out``; returns a summary."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    cx, cy = district_centre()
    P = build_plan(rng)
    assign_attributes(P)
    assign_addresses(P)
    defects = apply_defects(P)
    place_trees(P)
    boundary_local = make_boundary(P)

    # --- footprints -------------------------------------------------------------------------
    rows = []
    for b in P.buildings:
        for part in b.written_parts or b.parts:
            rows.append({
                "CAD_ID": b.cad_id,
                "CATEGORIA": b.categoria,
                "N_PIANI": b.floors_attr,
                "ALTEZZA": b.altezza_attr,
                "INDIRIZZO": b.address,
                "N_ABIT": b.n_abit,
                "N_LETTI": b.n_letti,
                "PV_KWP": float(b.pv_kwp),
                "geometry": to_world(part, cx, cy),
            })
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    for col in ("N_PIANI", "N_ABIT", "N_LETTI"):
        gdf[col] = pd.array([None if pd.isna(v) else int(v) for v in gdf[col]], dtype="Int32")
    gdf["ALTEZZA"] = pd.to_numeric(gdf["ALTEZZA"], errors="coerce").astype(float)
    shp = out / "buildings.shp"
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
        (out / f"buildings{ext}").unlink(missing_ok=True)
    gdf.to_file(shp, engine="pyogrio", encoding="UTF-8", layer_options={"SHPT": "POLYGON", "DBF_DATE_LAST_UPDATE": "2026-11-23"})

    # --- boundary ---------------------------------------------------------------------------
    bnd = gpd.GeoDataFrame({"name": ["Quartiere San Rocco (sample district)"]},
                           geometry=[to_world(boundary_local, cx, cy)], crs=CRS)
    (out / "boundary.gpkg").unlink(missing_ok=True)
    bnd.to_file(out / "boundary.gpkg", layer="boundary", engine="pyogrio")

    # --- true footprints in world coordinates and base elevations ---------------------------
    for b in P.buildings:
        b._world = to_world(unary_union(b.parts), cx, cy)  # type: ignore[attr-defined]
        cc = b._world.centroid
        b._base = round(float(dtm_function(np.array([cc.x]), np.array([cc.y]), cx, cy)[0]), 3)  # type: ignore[attr-defined]

    # --- rasters ------------------------------------------------------------------------------
    raster_summary = write_rasters(out, P, gdf, bnd, cx, cy)

    # --- truth table --------------------------------------------------------------------------
    truth = []
    shape_world = bnd.geometry.iloc[0]
    for b in P.buildings:
        true_fp = b._world
        c = true_fp.centroid
        base = b._base
        inside_share = true_fp.intersection(shape_world).area / true_fp.area
        if inside_share > 0.999:
            rel = "inside"
        elif inside_share < 0.001:
            rel = "outside"
        else:
            rel = "straddles_centroid_" + ("inside" if shape_world.contains(c) else "outside")
        truth.append({
            "CAD_ID": b.cad_id,
            "categoria": b.categoria,
            "roof_shape": b.roof.shape,
            "eave_height_m": round(b.eave_m, 2),
            "ridge_height_m": round(b.eave_m + b.roof.ridge_rise, 2),
            "pitch_deg": b.roof.pitch_deg,
            "base_elevation_m": round(base, 3),
            "true_footprint_area_m2": round(true_fp.area, 2),
            "boundary": rel,
            "roof_pixels": b._roof_px,
            "tree_covered_pixels": b._tree_px,
            "nodata_pixels": b._nodata_px,
            "defect": defects.get(b.cad_id, ""),
            "notes": "; ".join(b.notes),
        })
    truth_df = pd.DataFrame(truth)
    truth_df.to_csv(out / "truth_heights.csv", index=False, lineterminator="\n")

    # --- weather ------------------------------------------------------------------------------
    weather_dir = out / "weather"
    weather_dir.mkdir(exist_ok=True)
    target = weather_dir / WEATHER_NAME
    if fetch_weather:
        fetch_pvgis_tmy(target)
    elif not (target.exists() and _sha256(target) == WEATHER_SHA256):
        src = HERE / "weather" / WEATHER_NAME
        if src.exists() and _sha256(src) == WEATHER_SHA256:
            shutil.copyfile(src, target)
        else:
            fetch_pvgis_tmy(target)
    return {"n_buildings": len(P.buildings), "n_rows": len(gdf), "defects": defects, **raster_summary}


def write_rasters(out: Path, P: Plan, gdf, bnd, cx, cy) -> dict:
    import rasterio
    from affine import Affine
    from rasterio.features import rasterize

    allgeom = unary_union([b._world for b in P.buildings] + [bnd.geometry.iloc[0]])
    x0, y0, x1, y1 = allgeom.bounds
    x0 = np.floor((x0 - MARGIN_M) / 10.0) * 10.0
    y0 = np.floor((y0 - MARGIN_M) / 10.0) * 10.0
    x1 = np.ceil((x1 + MARGIN_M) / 10.0) * 10.0
    y1 = np.ceil((y1 + MARGIN_M) / 10.0) * 10.0
    w = int(round((x1 - x0) / PIXEL_M))
    h = int(round((y1 - y0) / PIXEL_M))
    transform = Affine(PIXEL_M, 0.0, x0, 0.0, -PIXEL_M, y1)
    xs = x0 + (np.arange(w) + 0.5) * PIXEL_M
    ys = y1 - (np.arange(h) + 0.5) * PIXEL_M
    X, Y = np.meshgrid(xs, ys)
    dtm = dtm_function(X, Y, cx, cy)
    # quantise to 1/256 m (3.9 mm, below LiDAR precision) so the files compress well
    dtm = np.round(dtm * 256.0) / 256.0

    # building label raster from the TRUE footprints (pixel centre inside)
    shapes = [(b._world, i + 1) for i, b in enumerate(P.buildings)]
    label = rasterize(shapes, out_shape=(h, w), transform=transform, fill=0, dtype="int32")
    dsm = dtm.copy()
    U, V = to_local(X, Y, cx, cy)
    for i, b in enumerate(P.buildings):
        m = label == i + 1
        if not m.any():
            continue
        z = b._base + b.eave_m + b.roof.rise(U[m], V[m])
        dsm[m] = z
    roof = dsm.copy()  # surface without trees
    # trees: ellipsoidal crowns, max with the surface (crowns overhang roofs)
    for (tu, tv, r, top) in P.trees:
        a = np.deg2rad(GRID_ROTATION_DEG)
        tx = cx + tu * np.cos(a) - tv * np.sin(a)
        ty = cy + tu * np.sin(a) + tv * np.cos(a)
        ground = float(dtm_function(np.array([tx]), np.array([ty]), cx, cy)[0])
        j0, j1 = int((tx - r - x0) / PIXEL_M), int((tx + r - x0) / PIXEL_M) + 2
        i0, i1 = int((y1 - ty - r) / PIXEL_M), int((y1 - ty + r) / PIXEL_M) + 2
        sub = (slice(max(i0, 0), min(i1, h)), slice(max(j0, 0), min(j1, w)))
        d2 = (X[sub] - tx) ** 2 + (Y[sub] - ty) ** 2
        crown_depth = 0.6 * r * 2  # vertical semi-axis of the crown ellipsoid [m]
        zc = ground + top - crown_depth / 2 + (crown_depth / 2) * np.sqrt(np.clip(1 - d2 / r**2, 0, None))
        zc = np.where(d2 < r**2, zc, -np.inf)
        dsm[sub] = np.maximum(dsm[sub], zc)
    dsm = np.round(dsm * 256.0) / 256.0
    roof = np.round(roof * 256.0) / 256.0
    # per building: roof pixels covered by a tree crown (DSM above the roof surface)
    covered = (label > 0) & (dsm > roof + 1e-6)
    tree_px = np.bincount(label[covered], minlength=len(P.buildings) + 1)
    roof_px = np.bincount(label.ravel(), minlength=len(P.buildings) + 1)

    # a small nodata hole (LiDAR dropout on a dark wet roof), partly on the hotel's roof
    hotel = [b for b in P.buildings if b.categoria == "D/2"][0]
    hc = hotel._world.exterior.coords[0]
    jc, ic = int((hc[0] - x0) / PIXEL_M), int((y1 - hc[1]) / PIXEL_M)
    hole = (slice(ic - 4, ic + 6), slice(jc - 4, jc + 8))
    dsm[hole] = NODATA
    hole_px_on_roof = int((label[hole] == P.buildings.index(hotel) + 1).sum())
    hotel.notes.append(f"DSM nodata hole: {hole_px_on_roof} roof pixels at the courtyard building's first outer corner")
    nodata_px = np.bincount(label[hole].ravel(), minlength=len(P.buildings) + 1)
    for i, b in enumerate(P.buildings):
        b._roof_px = int(roof_px[i + 1])  # type: ignore[attr-defined]
        b._tree_px = int(tree_px[i + 1])  # type: ignore[attr-defined]
        b._nodata_px = int(nodata_px[i + 1])  # type: ignore[attr-defined]

    profile = dict(driver="GTiff", width=w, height=h, count=1, dtype="float32", crs=CRS,
                   transform=transform, nodata=NODATA, compress="deflate", predictor=3,
                   zlevel=9, tiled=True, blockxsize=256, blockysize=256)
    for name, arr in (("dtm.tif", dtm), ("dsm.tif", dsm)):
        with rasterio.open(out / name, "w", **profile) as dst:
            dst.write(arr.astype("float32"), 1)
            dst.update_tags(AREA_OR_POINT="Area", SOURCE="pedgis sample_data/make_sample_data.py (synthetic)")
    with open(out / "trees.csv", "w", encoding="utf-8") as f:
        f.write("x,y,crown_radius_m,top_height_m\n")
        a = np.deg2rad(GRID_ROTATION_DEG)
        for (tu, tv, r, top) in P.trees:
            tx = cx + tu * np.cos(a) - tv * np.sin(a)
            ty = cy + tu * np.sin(a) + tv * np.cos(a)
            f.write(f"{tx:.2f},{ty:.2f},{r:.2f},{top:.2f}\n")
    return {"raster_shape": (h, w), "raster_bounds": (x0, y0, x1, y1), "nodata_hole_px": int(np.prod([s.stop - s.start for s in hole]))}


# --------------------------------------------------------------------------------------------
# Weather
# --------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fetch_pvgis_tmy(target: Path) -> None:
    """Download pvlib's sdist from PyPI and extract the latest ``tmy_45.000_8.000_*.epw``."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        f"pvlib=={PVLIB_SDIST_VERSION}", "-d", tmp], check=True)
        sdist = next(Path(tmp).glob("pvlib-*.tar.gz"))
        with tarfile.open(sdist) as tar:
            members = sorted(m for m in tar.getnames() if WEATHER_MEMBER_GLOB in m and m.endswith(".epw"))
            if not members:
                raise SystemExit(f"{sdist.name}: no {WEATHER_MEMBER_GLOB}*.epw inside")
            data = tar.extractfile(members[-1]).read()
    if hashlib.sha256(data).hexdigest() != PVGIS_SHA256:
        raise SystemExit(f"{members[-1]}: SHA-256 differs from the file the sample was made from; check and update PVGIS_SHA256")
    target.write_bytes(local_time_rows(data))


def local_time_rows(epw: bytes) -> bytes:
    """The PVGIS EPW with its rows in the local time its header declares.

    PVGIS writes the rows in UTC but declares the site's zone (+1 here) in the LOCATION line, so
    every reader puts the sun an hour off and pairs each hour's weather with the wrong clock hour
    (pedgis warns and corrects the sun from the irradiance). The weather fields of each row move
    ``zone`` rows later (the year's last UTC hours wrap to its first local hours, a typical year
    being a loop of months from different years anyway); the date and time fields and the header
    stay as they are.
    """
    text = epw.decode("ascii")
    eol = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(eol)
    header, rows = lines[:8], [ln for ln in lines[8:] if ln]
    loc = header[0].split(",")
    if loc[0] != "LOCATION" or len(loc) != 10 or len(rows) != 8760:
        raise SystemExit("not the PVGIS EPW this script knows (LOCATION line, 8760 rows)")
    zone = int(float(loc[8]))
    when = [r.split(",", 5)[:5] for r in rows]
    data = [r.split(",", 5)[5] for r in rows]
    data = data[-zone:] + data[:-zone] if zone else data
    out = header + [",".join([*w, d]) for w, d in zip(when, data, strict=True)]
    return (eol.join(out) + eol).encode("ascii")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: sample_data/)")
    ap.add_argument("--fetch-weather", action="store_true", help="download pvlib's sdist and extract the PVGIS TMY")
    args = ap.parse_args(argv)
    summary = build(args.out, fetch_weather=args.fetch_weather)
    print(f"{summary['n_buildings']} buildings in {summary['n_rows']} rows; rasters {summary['raster_shape']} px; "
          f"defects: {summary['defects']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
