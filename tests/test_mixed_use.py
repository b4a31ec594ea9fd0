"""Mixed-use buildings (pedgis/mixed_use.py, step 2 in pedgis/needs.py) and City Energy Analyst
scenario folders (pedgis/io/cea.py).

The CEA case is CEA's own reference case (tests/data/cea, MIT): its real zone.shp and the
typology.dbf CEA's 2.x→3.x migration makes of its occupancy table (make_typology.py). Expected
needs are written out by hand: each use's specific need (pedgis/data/specific_needs.csv, set
eu27_existing) × its share × the floor area (Eq. 1, 3, 4).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

import pedgis.cli as cli
from pedgis import data as pdata
from pedgis.io.vector import read_vector_data
from pedgis.needs import NeedsParameters, building_needs

CEA_CASE = Path(__file__).parent / "data" / "cea" / "reference-case-cooling" / "baseline"
SYSTEMS = """
[systems.boilers]
kind = "boiler"
carrier = "natural_gas"
services = ["sh", "dhw"]
default = true

[systems.cooling]
kind = "heat_pump"
services = ["sc"]
default = true
"""


def _spec(use: str, need: str) -> float:
    t = pdata.needs_table("eu27_existing")
    return float(t.loc[use, need])


def _run(tmp_path, capsys, toml: str, name="s"):
    scenario = tmp_path / f"{name}.toml"
    scenario.write_text(toml + SYSTEMS, encoding="utf-8")
    code = cli.main(["run", str(scenario), "--out", str(tmp_path / f"out-{name}"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    b = gpd.read_file(tmp_path / f"out-{name}" / "buildings.gpkg", layer="buildings").set_index("building_id")
    return b, json.loads((tmp_path / f"out-{name}" / "district.json").read_text())


def test_cea_folder_is_read_with_its_typology():
    vd = read_vector_data(CEA_CASE)
    assert vd.format == "City Energy Analyst scenario" and len(vd.gdf) == 10
    typ = pyogrio.read_dataframe(CEA_CASE / "inputs" / "building-properties" / "typology.dbf", read_geometry=False)
    got = vd.gdf.set_index("Name")
    for _, r in typ.iterrows():  # every typology value on its building, joined on Name
        for col in ("1ST_USE", "1ST_USE_R", "2ND_USE", "2ND_USE_R", "YEAR"):
            assert got.loc[r["Name"], col] == r[col]
    assert "joined with typology.dbf on Name" in vd.messages[-1]


def test_cea_reference_case_needs_per_use(tmp_path, capsys):
    b, d = _run(tmp_path, capsys, f'[buildings]\npath = "{CEA_CASE}"\n')
    zone = gpd.read_file(CEA_CASE / "inputs" / "building-geometry" / "zone.shp").set_index("Name")
    # by hand: floor area = footprint × floors_ag × 0.85 (gross-to-conditioned default)
    area = zone.geometry.area * zone["floors_ag"] * 0.85
    np.testing.assert_allclose(b.loc[area.index, "floor_area_m2"], area, rtol=1e-9)
    assert b.loc["B001", "use_shares"] == "residential:1"  # MULTI_RES 0.5 + SINGLE_RES 0.5
    assert b.loc["B008", "use_shares"] == "unconditioned:0.5;industrial:0.5"  # PARKING 0.5, SERVERROOM 0.5
    assert b.loc["B008", "use"] == "industrial" and bool(b.loc["B008", "included"])
    expected = {  # Eq. 1 per use: Σ share × area × Spec_SH
        "B001": 1.0 * _spec("residential", "sh"),
        "B003": 0.5 * _spec("commercial", "sh") + 0.5 * _spec("education", "sh"),  # RESTAURANT, SCHOOL
        "B005": 0.5 * _spec("health", "sh") + 0.5 * _spec("hotel", "sh"),  # HOSPITAL, HOTEL
        "B008": 0.5 * _spec("industrial", "sh"),  # the parking half has no needs
    }
    for bid, spec in expected.items():
        assert b.loc[bid, "ten_sh_kwh"] == pytest.approx(area[bid] * spec, rel=1e-9), bid
    # DHW per area here (no occupants in the zone file), lighting (Eq. 4) per use too
    assert b.loc["B008", "ten_dhw_kwh"] == pytest.approx(area["B008"] * 0.5 * _spec("industrial", "dhw"), rel=1e-9)
    assert b.loc["B003", "een_kwh"] == pytest.approx(area["B003"] * (
        0.5 * (_spec("commercial", "lighting") + _spec("commercial", "ventilation"))
        + 0.5 * (_spec("education", "lighting") + _spec("education", "ventilation"))), rel=1e-9)
    assert d["ten_sh_kwh"] == pytest.approx(b["ten_sh_kwh"].sum(), rel=1e-12)
    assert "industrial" in d["assumptions"]["needs"]["per_use"] and "education" in d["assumptions"]["needs"]["per_use"]


def _cea_folder(root: Path, typology: pd.DataFrame, zone_extra: dict | None = None) -> Path:
    """A scenario in CEA 3.x's layout: inputs/building-geometry/zone.shp (Name, floors_ag,
    floors_bg, height_ag, height_bg) and inputs/building-properties/typology.dbf."""
    geo = root / "inputs" / "building-geometry"
    props = root / "inputs" / "building-properties"
    geo.mkdir(parents=True)
    props.mkdir(parents=True)
    n = len(typology)
    zone = gpd.GeoDataFrame({"Name": typology["Name"], "floors_ag": [5] * n, "floors_bg": [0] * n,
                             "height_ag": [15.0] * n, "height_bg": [0.0] * n, **(zone_extra or {})},
                            geometry=[box(400000 + 30 * i, 5000000, 400020 + 30 * i, 5000010) for i in range(n)],
                            crs="EPSG:32632")
    zone.to_file(geo / "zone.shp")
    pyogrio.write_dataframe(typology, props / "typology.dbf", driver="ESRI Shapefile")
    return root


def _typology(rows):
    cols = ["Name", "YEAR", "STANDARD", "1ST_USE", "1ST_USE_R", "2ND_USE", "2ND_USE_R", "3RD_USE", "3RD_USE_R"]
    return pd.DataFrame(rows, columns=cols)


def test_a_building_80_percent_parking_counts_80_percent_unconditioned(tmp_path, capsys):
    typ = _typology([["P80", 1990, "STANDARD1", "PARKING", 0.8, "RETAIL", 0.2, "NONE", 0.0],
                     ["P100", 1990, "STANDARD1", "PARKING", 1.0, "NONE", 0.0, "NONE", 0.0],
                     ["SHOP", 1990, "STANDARD1", "RETAIL", 1.0, "NONE", 0.0, "NONE", 0.0]])
    root = _cea_folder(tmp_path / "scn", typ)
    b, _ = _run(tmp_path, capsys, f'[buildings]\npath = "{root}"\n')
    a = 200.0 * 5 * 0.85  # 20 m × 10 m footprint, 5 floors, gross-to-conditioned 0.85
    assert b.loc["P80", "use"] == "commercial" and b.loc["P80", "use_shares"] == "unconditioned:0.8;commercial:0.2"
    assert b.loc["P80", "ten_sh_kwh"] == pytest.approx(0.2 * a * _spec("commercial", "sh"), rel=1e-12)
    assert b.loc["P80", "ten_sc_kwh"] == pytest.approx(0.2 * a * _spec("commercial", "sc"), rel=1e-12)
    # a fifth of the shop next door, which is all retail
    assert b.loc["P80", "ten_sh_kwh"] == pytest.approx(0.2 * b.loc["SHOP", "ten_sh_kwh"], rel=1e-12)
    assert not b.loc["P100", "included"] and "unconditioned use" in b.loc["P100", "exclusion_reason"]


def test_dhw_per_person_shared_among_the_uses(tmp_path, capsys):
    # 50 occupants in a building 60 % flats (496.5 kWh per person) and 40 % offices (38.2 kWh
    # per person, pedgis/data/dhw_per_unit.csv): 30 residents and 20 office workers (Eq. 3)
    typ = _typology([["MIX", 2000, "STANDARD1", "MULTI_RES", 0.6, "OFFICE", 0.4, "NONE", 0.0]])
    root = _cea_folder(tmp_path / "scn", typ, {"OCCUPANTS": [50]})
    b, _ = _run(tmp_path, capsys, f'[buildings]\npath = "{root}"\n[buildings.columns]\npersons = "OCCUPANTS"\n'
                                  '[needs]\ndhw_basis = "person"\n')
    assert b.loc["MIX", "ten_dhw_kwh"] == pytest.approx(30 * 496.5 + 20 * 38.2, rel=1e-12)
    a = 200.0 * 5 * 0.85
    assert b.loc["MIX", "ten_sh_kwh"] == pytest.approx(a * (0.6 * _spec("residential", "sh") + 0.4 * _spec("office", "sh")),
                                                       rel=1e-12)


def test_mixed_use_columns_of_any_data_family(tmp_path, capsys):
    # [buildings.mixed_use] names the columns; shares in percent; values through [buildings.use_map]
    f = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"ID": ["a", "b"], "USO1": ["abitazione", "negozio"], "PCT1": [75.0, 100.0],
                      "USO2": ["garage", None], "PCT2": [25.0, None], "PIANI": [4, 2]},
                     geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)], crs="EPSG:32632").to_file(f)
    toml = (f'[buildings]\npath = "{f}"\n[buildings.columns]\nbuilding_id = "ID"\nfloors = "PIANI"\n'
            '[buildings.mixed_use]\nuses = ["USO1", "USO2"]\nshares = ["PCT1", "PCT2"]\npercent = true\n'
            '[buildings.use_map]\nabitazione = "residential"\nnegozio = "commercial"\ngarage = "unconditioned"\n')
    b, _ = _run(tmp_path, capsys, toml)
    assert b.loc["a", "use_shares"] == "residential:0.75;unconditioned:0.25"
    assert b.loc["a", "ten_sh_kwh"] == pytest.approx(0.75 * 100 * 4 * 0.85 * _spec("residential", "sh"), rel=1e-12)
    assert b.loc["b", "use_shares"] == "commercial:1"
    # the shares must cover the floor area
    bad = tmp_path / "bad.geojson"
    gpd.read_file(f).assign(PCT2=[15.0, None]).to_file(bad)
    (tmp_path / "bad.toml").write_text(toml.replace(str(f), str(bad)) + SYSTEMS)
    code = cli.main(["validate", str(tmp_path / "bad.toml")])
    out = capsys.readouterr().out
    assert code == 1 and "do not add up to 100 %: a (90 %)" in out
    (tmp_path / "frac.toml").write_text(toml.replace("percent = true", "percent = false") + SYSTEMS)
    code = cli.main(["run", str(tmp_path / "frac.toml"), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "set `percent = true`" in err


def test_single_use_needs_are_the_same_numbers():
    # the generalisation: "use_shares" of one use (share 1) gives exactly the numbers of a
    # table without it; two uses are the shares of the two one-use buildings
    table = pd.DataFrame({"sh": [100.0, 50.0], "sc": [10.0, 30.0], "dhw": [20.0, 5.0], "lighting": [5.0, 20.0],
                          "ventilation": [2.0, 6.0], "appliances": [15.0, 10.0], "dhw_basis": ["person", "area"],
                          "dhw_kwh_per_unit": [400.0, np.nan], "blc_heating_w_m2k": [2.0, 3.0],
                          "blc_cooling_w_m2k": [1.0, 1.5]}, index=["residential", "office"])
    b = pd.DataFrame({"use": ["residential", "office", "residential"], "floor_area_m2": [1000.0, 2000.0, 1000.0],
                      "included": [True, True, True], "persons": [30.0, 80.0, np.nan]})
    for method in ("specific", "degree_days"):
        p = NeedsParameters(table, method=method, hdd_kd=2500.0, cdd_kd=300.0, include_appliances=True)
        plain = building_needs(b, p)
        one = building_needs(b.assign(use_shares=["residential:1", "office:1", ""]), p)
        pd.testing.assert_frame_equal(plain, one, check_exact=True)
    p = NeedsParameters(table)
    two = building_needs(pd.DataFrame({"use": ["residential"], "floor_area_m2": [1000.0], "included": [True],
                                       "persons": [30.0], "use_shares": ["residential:0.25;office:0.75"]}), p).iloc[0]
    assert two["ten_sh_kwh"] == pytest.approx(0.25 * 1000 * 100 + 0.75 * 1000 * 50, rel=1e-15)
    # DHW: the residential share per person (all 30 counted in it), the office share per area
    assert two["ten_dhw_kwh"] == pytest.approx(30 * 400 + 0.75 * 1000 * 5, rel=1e-15)
    assert two["dhw_basis_used"] == "person+area"


def test_cea_folder_errors_name_the_fix(tmp_path):
    from pedgis.errors import InputDataError

    typ = _typology([["A", 2000, "STANDARD1", "OFFICE", 1.0, "NONE", 0.0, "NONE", 0.0]])
    root = _cea_folder(tmp_path / "scn", typ)
    extra = gpd.read_file(root / "inputs" / "building-geometry" / "zone.shp")
    extra = pd.concat([extra, extra.assign(Name="B")])
    extra.to_file(root / "inputs" / "building-geometry" / "zone.shp")
    with pytest.raises(InputDataError, match=r"typology.dbf: no row for 1 building\(s\) of zone.shp \(B\)"):
        read_vector_data(root)
    shutil.rmtree(root / "inputs" / "building-geometry")
    with pytest.raises(InputDataError, match="not a City Energy Analyst scenario"):
        read_vector_data(root)


def test_cea4_zone_file_carries_its_uses(tmp_path, capsys):
    # CEA 4 keeps the typology in zone.shp (name, use_type1, use_type1r, ...; CEA
    # databases_verification.COLUMNS_ZONE): a hotel with a 30 % restaurant
    z = tmp_path / "zone.shp"
    gpd.GeoDataFrame({"name": ["H1"], "floors_ag": [4], "floors_bg": [1], "height_ag": [12.0], "height_bg": [3.0],
                      "year": [1985], "const_type": ["STANDARD2"], "use_type1": ["HOTEL"], "use_type1r": [0.7],
                      "use_type2": ["RESTAURANT"], "use_type2r": [0.3], "use_type3": ["NONE"], "use_type3r": [0.0]},
                     geometry=[box(400000, 5000000, 400020, 5000010)], crs="EPSG:32632").to_file(z)
    b, _ = _run(tmp_path, capsys, f'[buildings]\npath = "{z}"\n')
    assert b.loc["H1", "use_shares"] == "hotel:0.7;commercial:0.3" and b.loc["H1", "use"] == "hotel"
    a = 200.0 * 4 * 0.85
    assert b.loc["H1", "ten_sh_kwh"] == pytest.approx(a * (0.7 * _spec("hotel", "sh") + 0.3 * _spec("commercial", "sh")),
                                                      rel=1e-12)
