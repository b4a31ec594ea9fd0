"""3D city models as step-1 input: CityGML 1.0/2.0 (the real NRW excerpt and generated tiles),
CityJSON and CityJSONSeq (a real 3D BAG excerpt), CRS identifiers, xlinks, bad files, and floor
areas from the height field (a tower on a podium, by hand).

Expected values come from outside pedgis' reader: the NRW GroundSurface and RoofSurface polygons
parsed here with the standard library and measured with the shoelace formula and an SVD plane
fit; 3D BAG's own ``b3_volume_lod22``; the generated buildings' dimensions; the ALKIS code list.
"""

from __future__ import annotations

import json
import math
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from benchmarks.synth_lod2 import Building, Part, tower_on_podium, write_citygml, write_cityjson
from pedgis.errors import CRSError, DataQualityWarning, InputDataError
from pedgis.io.citymodel import city_model_format, read_city_model, resolve_srs
from pedgis.io.step1_inputs import run_step1

_ROOT = Path(__file__).resolve().parents[1]
# the shared data folder beside the repository (../shared/data, or two levels up from a worktree)
NRW = next((p / "shared" / "data" / "lod2_nrw_sample.gml" for p in (_ROOT.parent, _ROOT.parent.parent)
            if (p / "shared" / "data" / "lod2_nrw_sample.gml").exists()), _ROOT.parent / "shared" / "data" / "lod2_nrw_sample.gml")
needs_nrw = pytest.mark.skipif(not NRW.exists(), reason=f"the NRW excerpt {NRW} is not beside the repository")
DATA = Path(__file__).resolve().parent / "data" / "citymodel"
BAG = DATA / "3dbag_b2.city.json"
BAG_SEQ = DATA / "3dbag_b2.city.jsonl"
GML = "{http://www.opengis.net/gml}"
STOREY = {u: 3.0 for u in ("residential", "office", "commercial", "education", "health", "hotel",
                             "sports", "industrial")}


def step1(path, **kw):
    b = {"path": str(path), "default_use": "residential", **kw.pop("buildings", {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return run_step1(b, None, None, storey_height_m=STOREY, default_floors={u: 2.0 for u in STOREY},
                         gross_to_conditioned=0.85, **kw)


# ----------------------------------------------------------------------------- NRW CityGML 1.0


def _nrw_polygons(kind):
    """{building id: [(n, 3) arrays]} of one surface kind, read with ElementTree."""
    out = {}
    root = ET.parse(NRW).getroot()
    for b in root.iter("{http://www.opengis.net/citygml/building/1.0}Building"):
        polys = []
        for s in b.iter(f"{{http://www.opengis.net/citygml/building/1.0}}{kind}"):
            for pl in s.iter(f"{GML}posList"):
                polys.append(np.array(pl.text.split(), float).reshape(-1, 3))
        out[b.get(f"{GML}id")] = polys
    return out


def _shoelace(p):
    x, y = p[:, 0], p[:, 1]
    return abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2


@needs_nrw
def test_nrw_excerpt_buildings_parts_uses_and_footprints():
    res = step1(NRW)
    b = res.buildings.set_index("building_id")
    assert len(b) == 4
    # ALKIS Gebäudefunktion (AdV code list): 1010 Wohnhaus → residential, 2463 Garage → excluded
    assert b.loc["DENW21AL10007Ard", "use"] == "residential"
    assert b.loc["DENW21AL100078ge", "use"] == "residential"
    for g in ("DENW21AL17C0002k", "DENW21AL10007Ac5"):
        assert b.loc[g, "use"] == "unconditioned" and not b.loc[g, "included"]
    # footprint = the GroundSurface polygons (two parts side by side in two of the buildings)
    ground = _nrw_polygons("GroundSurface")
    for bid, polys in ground.items():
        assert b.loc[bid, "footprint_area_m2"] == pytest.approx(sum(_shoelace(p[:-1]) for p in polys), rel=2e-3)
    # floors: storeysAboveGround of every part (1, 1 / 1 / 1 / 2, 2): floor area = Σ part area × storeys × 0.85
    assert b.loc["DENW21AL100078ge", "floors"] == pytest.approx(2.0, abs=1e-6)
    assert b.loc["DENW21AL100078ge", "floors_source"] == "attribute"
    assert b.loc["DENW21AL100078ge", "floor_area_m2"] == pytest.approx(
        sum(_shoelace(p[:-1]) for p in ground["DENW21AL100078ge"]) * 2 * 0.85, rel=2e-3)
    assert (b["height_source"] == "city_model").all()
    msgs = " ".join(res.messages)
    assert "EPSG:25832" in msgs and "DHHN2016" in msgs  # the compound AdV CRS, said


@needs_nrw
def test_nrw_roof_planes_match_an_svd_plane_fit():
    m = read_city_model(NRW)
    roofs = _nrw_polygons("RoofSurface")
    ref = []
    for polys in roofs.values():
        for p in polys:
            c = p - p.mean(axis=0)
            n = np.linalg.svd(c)[2][-1]
            n = n if n[2] > 0 else -n
            ref.append((math.degrees(math.acos(n[2])), math.degrees(math.atan2(n[0], n[1])) % 360,
                        _shoelace(p[:-1]) / n[2] if n[2] > 1e-9 else 0.0))
    r = m.roof_index
    got = list(zip(m.planes.tilt[r], m.planes.azimuth[r], m.planes.area_3d[r], strict=True))
    assert len(got) == len(ref) == 18

    def dist(g, f):
        da = min(abs(g[1] - f[1]), 360 - abs(g[1] - f[1])) if f[0] > 1 else 0.0
        return abs(g[0] - f[0]) + da + abs(g[2] - f[2])

    for g in got:  # every plane has its twin among the reference planes
        t0, a0, area0 = min(ref, key=lambda f, g=g: dist(g, f))
        assert g[0] == pytest.approx(t0, abs=0.05)
        if t0 > 1:
            assert min(abs(g[1] - a0), 360 - abs(g[1] - a0)) < 0.1
        assert g[2] == pytest.approx(area0, rel=1e-3)


# ----------------------------------------------------------------------------- 3D BAG CityJSON


@pytest.mark.parametrize("path", [BAG, BAG_SEQ])
def test_3dbag_volume_matches_its_own_b3_volume(path):
    # the LoD2.2 solid stands on flat ground at b3_h_maaiveld with vertical walls: its volume is
    # Σ over the roof planes of projected area × (mean roof height − ground); 3D BAG publishes it
    m = read_city_model(path)
    assert m.crs.to_epsg() == 28992  # EPSG:7415 = RD New + NAP height
    attrs = {k: v["attributes"] for k, v in json.loads(BAG.read_text())["CityObjects"].items()}
    r = m.roof_index
    b_of = m.parts["building"].to_numpy()[m.poly_part[r]]
    for bi, bid in enumerate(m.buildings["building_id"]):
        sel = r[b_of == bi]
        g = attrs[bid]["b3_h_maaiveld"]
        vol = float((m.planes.area_2d[sel] * (m.planes.mean_z[sel] - g)).sum())
        assert vol == pytest.approx(attrs[bid]["b3_volume_lod22"], rel=1e-3)


def test_3dbag_step1_takes_model_heights_and_year():
    b = step1(BAG).buildings.set_index("building_id")
    assert list(b.index) == ["NL.IMBAG.Pand.0503100000028341", "NL.IMBAG.Pand.0503100000031927"]
    assert (b["year"] == [1949, 1936]).all()
    assert (b["floors_source"] == "height_field").all()
    # floors from the roof heights: at least the storeys under the eave
    assert (b["floors"] >= 1).all()


# ----------------------------------------------------------------------------- generated files


def _house(bid, x0, y0, w=12.0, d=10.0, kind="gable", ground=40.0):
    return Building(bid, [Part(f"{bid}-p", ground, 6.0, kind, rect=(x0, y0, x0 + w, y0 + d), tilt=30.0)])


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_citygml_versions_and_cityjson_give_the_same_model(tmp_path, version):
    bs = [_house("A", 350000, 5700000), _house("B", 350030, 5700000, kind="hipped")]
    g = read_city_model(write_citygml(bs, tmp_path / "t.gml", version=version))
    j = read_city_model(write_cityjson(bs, tmp_path / "t.city.json"))
    assert g.format == f"CityGML {version}" and j.format.startswith("CityJSON")
    for m in (g, j):
        r = m.roof_index
        assert len(r) == 6
        # a 12 × 10 m gable at 30°: two planes of 12 × 5 / cos 30° = 69.28 m²
        a = np.sort(m.planes.area_3d[r])
        assert a[-2:] == pytest.approx([12 * 5 / math.cos(math.radians(30))] * 2, rel=1e-4)


def test_xlinks_within_and_across_buildings_are_resolved(tmp_path):
    # RoofSurface polygons that are defined in the lod2Solid (reverse of the AdV layout), and a
    # GroundSurface that points to a polygon defined in another building
    ring = "350000 5700000 46 350010 5700000 46 350010 5700010 46 350000 5700010 46 350000 5700000 46"
    gring = ring.replace(" 46", " 40")
    gml = f"""<?xml version="1.0"?>
<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0" xmlns:bldg="http://www.opengis.net/citygml/building/2.0"
 xmlns:gml="http://www.opengis.net/gml" xmlns:xlink="http://www.w3.org/1999/xlink">
<gml:boundedBy><gml:Envelope srsName="EPSG:25832" srsDimension="3"/></gml:boundedBy>
<core:cityObjectMember><bldg:Building gml:id="A">
 <bldg:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>
  <gml:surfaceMember><gml:Polygon gml:id="roofA"><gml:exterior><gml:LinearRing><gml:posList>{ring}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>
 </gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod2Solid>
 <bldg:boundedBy><bldg:RoofSurface gml:id="rs"><bldg:lod2MultiSurface><gml:MultiSurface>
  <gml:surfaceMember xlink:href="#roofA"/></gml:MultiSurface></bldg:lod2MultiSurface></bldg:RoofSurface></bldg:boundedBy>
 <bldg:boundedBy><bldg:GroundSurface gml:id="gs"><bldg:lod2MultiSurface><gml:MultiSurface>
  <gml:surfaceMember xlink:href="#groundElsewhere"/></gml:MultiSurface></bldg:lod2MultiSurface></bldg:GroundSurface></bldg:boundedBy>
</bldg:Building></core:cityObjectMember>
<core:cityObjectMember><bldg:Building gml:id="B">
 <bldg:lod2MultiSurface><gml:MultiSurface><gml:surfaceMember><gml:Polygon gml:id="groundElsewhere"><gml:exterior><gml:LinearRing>
  <gml:posList>{gring}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface></bldg:lod2MultiSurface>
</bldg:Building></core:cityObjectMember>
</core:CityModel>"""
    p = tmp_path / "x.gml"
    p.write_text(gml)
    b = step1(p).buildings.set_index("building_id")
    assert b.loc["A", "footprint_area_m2"] == pytest.approx(100.0)  # the GroundSurface of elsewhere
    assert b.loc["A", "height_m"] == pytest.approx(6.0)  # roof 46 over ground 40


def test_srs_identifiers():
    s = resolve_srs("urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH")
    assert s.crs.to_epsg() == 25832 and "DHHN2016" in s.note
    assert resolve_srs("urn:ogc:def:crs,crs:EPSG::25833,crs:EPSG::7837").crs.to_epsg() == 25833
    assert resolve_srs("https://www.opengis.net/def/crs/EPSG/0/7415").crs.to_epsg() == 28992
    with pytest.raises(CRSError, match="ETRS89_UTM99"):
        resolve_srs("urn:adv:crs:ETRS89_UTM99")


def test_northing_first_and_geographic_coordinates(tmp_path):
    bs = [_house("A", 3450000, 5430000)]  # Gauss-Krüger zone 3 (EPSG:31467), written east, north
    write_citygml(bs, tmp_path / "en.gml", srs="urn:ogc:def:crs:EPSG::31467")
    ne = (tmp_path / "en.gml").read_text()
    # the same file with every coordinate triple written northing first, as the URN's axis order says
    import re

    def swap(m):
        v = m.group(1).split()
        return "<gml:posList srsDimension=\"3\">" + " ".join(
            f"{v[i + 1]} {v[i]} {v[i + 2]}" for i in range(0, len(v), 3)) + "</gml:posList>"

    (tmp_path / "ne.gml").write_text(re.sub(r'<gml:posList srsDimension="3">([^<]*)</gml:posList>', swap, ne))
    a, b = read_city_model(tmp_path / "en.gml"), read_city_model(tmp_path / "ne.gml")
    assert np.allclose(a.coords, b.coords)
    assert any("swapped" in msg for msg in b.messages)
    # geographic (EPSG:4326, latitude first): projected to UTM, areas in m²
    lat0, lon0 = 51.0, 7.0
    dlat, dlon = 10 / 111_200, 12 / (111_200 * math.cos(math.radians(lat0)))
    ring = " ".join(f"{lat0 + a * dlat} {lon0 + b * dlon} 46" for a, b in ((0, 0), (0, 1), (1, 1), (1, 0), (0, 0)))
    gml = ne.split("<core:cityObjectMember>")[0].replace("urn:ogc:def:crs:EPSG::31467", "urn:ogc:def:crs:EPSG::4326")
    gml += ('<core:cityObjectMember><bldg:Building gml:id="G"><bldg:boundedBy><bldg:RoofSurface><bldg:lod2MultiSurface>'
            f'<gml:MultiSurface><gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>{ring}'
            "</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface>"
            "</bldg:lod2MultiSurface></bldg:RoofSurface></bldg:boundedBy></bldg:Building></core:cityObjectMember></core:CityModel>")
    (tmp_path / "geo.gml").write_text(gml)
    g = read_city_model(tmp_path / "geo.gml")
    assert g.crs.to_epsg() == 32632
    assert g.planes.area_3d[g.roof_index][0] == pytest.approx(120.0, rel=0.01)


BAD_GML = [  # (what, how the good file is damaged, error, message)
    ("cut short", lambda t: t[: len(t) // 2], InputDataError, "not well-formed XML"),
    ("CityGML 3.0", lambda t: t.replace("citygml/2.0", "citygml/3.0"), InputDataError, "CityGML 3.0"),
    ("2D", lambda t: t.replace('<gml:posList srsDimension="3">', '<gml:posList srsDimension="2">'),
     InputDataError, "2D coordinates"),
    ("no CRS", lambda t: t.replace('srsName="urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH" ', ""), CRSError, "no CRS"),
]


@pytest.mark.parametrize("what,damage,error,match", BAD_GML, ids=[b[0] for b in BAD_GML])
def test_bad_files_are_input_errors(tmp_path, what, damage, error, match):
    good = write_citygml([_house("A", 350000, 5700000)], tmp_path / "g.gml").read_text()
    bad = tmp_path / "bad.gml"
    bad.write_text(damage(good))
    with pytest.raises(error, match=match):
        read_city_model(bad)


def test_a_file_without_crs_takes_the_given_one_and_empty_files_are_refused(tmp_path):
    good = write_citygml([_house("A", 350000, 5700000)], tmp_path / "g.gml").read_text()
    nosrs = tmp_path / "nosrs.gml"
    nosrs.write_text(good.replace('srsName="urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH" ', ""))
    assert read_city_model(nosrs, crs="EPSG:25832").crs.to_epsg() == 25832
    nothing = tmp_path / "empty.city.json"
    nothing.write_text(json.dumps({"type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": [],
                                   "metadata": {"referenceSystem": "EPSG:25832"}}))
    with pytest.raises(InputDataError, match="no Building"):
        read_city_model(nothing)
    assert city_model_format(tmp_path / "missing.gml") is None


def test_entities_are_never_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    good = write_citygml([_house("A", 350000, 5700000)], tmp_path / "g.gml").read_text()
    head, rest = good.split("\n", 1)
    evil = (f'{head}\n<!DOCTYPE core:CityModel [<!ENTITY x SYSTEM "file://{secret}">]>\n'
            + rest.replace("<bldg:function>31001_1000</bldg:function>", "<bldg:function>&x;</bldg:function>"))
    p = tmp_path / "evil.gml"
    p.write_text(evil)
    try:
        m = read_city_model(p)
    except InputDataError:
        return  # refusing the file is fine too
    assert "TOPSECRET" not in json.dumps(m.buildings["attrs"].tolist())


def test_cityjson_bad_vertex_is_flagged_not_dropped(tmp_path):
    p = write_cityjson([_house("A", 350000, 5700000), _house("B", 350030, 5700000)], tmp_path / "v.city.json")
    doc = json.loads(p.read_text())
    doc["CityObjects"]["B-B-p"]["geometry"][0]["boundaries"][0][0][0][0] = 10 ** 6
    p.write_text(json.dumps(doc))
    b = step1(p).buildings.set_index("building_id")
    assert list(b.index) == ["A", "B"]
    assert "refer to vertices that do not exist" in b.loc["B", "flags"]


# ----------------------------------------------------------------------------- floor areas


# The example: one footprint of 4,684 m² (70 × 70 m less a 12 × 18 m notch), a 50 × 50 m
# tower rising to 70 m over a 10 m podium, storeys of 3 m, gross-to-conditioned 0.85. By hand:
#   podium 4,684 − 2,500 = 2,184 m² × max(1, round(10 / 3)) = 3 storeys          =  6,552 m²
#   tower  2,500 m² × (3 + floor((70 − 10) / 3) = 23 storeys)                    = 57,500 m²
#   (64,052 m²) × 0.85 = 54,444.2 m² — where one height per footprint gave 4,684 × 23 × 0.85 = 91,571.6
TOWER_AREA = (2184 * 3 + 2500 * 23) * 0.85


@pytest.mark.parametrize("parts", [True, False])
@pytest.mark.parametrize("fmt", ["gml", "city.json"])
def test_tower_on_podium_floor_area_follows_the_roofs(tmp_path, parts, fmt):
    b = tower_on_podium(parts=parts)
    p = tmp_path / f"t.{fmt}"
    (write_citygml if fmt == "gml" else write_cityjson)([b], p)
    row = step1(p).buildings.iloc[0]
    assert row["footprint_area_m2"] == pytest.approx(4684.0, rel=1e-6)
    assert row["floor_area_m2"] == pytest.approx(TOWER_AREA, rel=1e-4)
    assert row["floors_source"] == "height_field"


def test_tower_parts_with_storeys_given(tmp_path):
    # storeysAboveGround on the parts wins: 2,184 × 4 + 2,500 × 20 = 58,736 m² gross
    p = write_citygml([tower_on_podium(parts=True, storeys=(4, 20))], tmp_path / "t.gml")
    row = step1(p).buildings.iloc[0]
    assert row["floor_area_m2"] == pytest.approx((2184 * 4 + 2500 * 20) * 0.85, rel=1e-4)
    assert row["floors_source"] == "attribute"


def test_tower_on_podium_from_an_ndsm(tmp_path):
    # the same building as an nDSM at 0.5 m (pixel edges on the footprint's edges): storeys are
    # summed pixel by pixel over the footprint's pixels kept after the 0.5 m edge buffer, so each
    # kept pixel stands for 4,684 / kept area. Kept: the inset footprint, 4,684 − 0.5 × 280 (perimeter)
    # + 4 × 0.25 (five convex corners, one reflex: + 4 d²) = 4,545 m², of which the tower 2,500 m²
    # (it touches no edge). Floor area = 4,684 × (2,045 × 3 + 2,500 × 23) / 4,545 × 0.85.
    import geopandas as gpd
    from affine import Affine

    from benchmarks.synth_lod2 import dsm
    from pedgis.boundaries import prepare_district
    from pedgis.io.raster import RasterSource

    b = tower_on_podium(parts=True, origin=(350000.0, 5700000.0), ground=0.0)
    tr = Affine(0.5, 0, 349990.0, 0, -0.5, 5700080.0)
    z = dsm([b], tr, (180, 180), 0.0)
    nd = RasterSource.from_array(z, tr, "EPSG:25832", name="ndsm")
    fp = gpd.GeoDataFrame({"id": ["T"], "use": ["residential"]},
                          geometry=[b.parts[0].footprint().union(b.parts[1].footprint())], crs="EPSG:25832")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = prepare_district(fp, storey_height_m=STOREY, default_floors=2.0, gross_to_conditioned=0.85, ndsm=nd)
    row = res.buildings.iloc[0]
    expected = 4684 * (2045 * 3 + 2500 * 23) / 4545 * 0.85
    assert row["floor_area_m2"] == pytest.approx(expected, rel=1e-6)
    assert row["floors_source"] == "height_field"
    assert row["floor_area_m2"] < 4684 * 23 * 0.85 * 0.65  # no longer 23 storeys over the podium
