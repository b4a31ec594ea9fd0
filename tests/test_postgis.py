"""PostGIS as a source of footprints and boundary and a sink of results, against a real
PostgreSQL 15 + PostGIS 3 server started for this module (tests/pg_server.py; Debian packages from
scripts/install-system-deps.sh). No mock: every read and write goes through the server.

The expected values come from the same district read from its files: reading it from tables
must give the same buildings and the same balance, and the tables pedgis writes must hold what
buildings.gpkg and district.json hold.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mini_district import write_mini_district  # noqa: E402
from pg_server import PASSWORD, ROLE, PostgisServer  # noqa: E402

import pedgis.cli as cli  # noqa: E402
from pedgis.errors import CRSError, InputDataError  # noqa: E402
from pedgis.io.postgis import DatabaseSource, mask_connection, read_postgis_data  # noqa: E402

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
import tomli_w  # noqa: E402


@pytest.fixture(scope="module")
def server():
    srv = PostgisServer()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def district(tmp_path_factory, server):
    """The mini district on disk, and its footprints and boundary loaded into schema
    ``cadastre`` (tables ``edifici``, ``confine``) by the test role, as a city's GIS team would."""
    import psycopg

    folder = tmp_path_factory.mktemp("mini")
    scenario = write_mini_district(folder)
    b = gpd.read_file(folder / "buildings.shp")
    bnd = gpd.read_file(folder / "boundary.gpkg", layer="boundary")
    with psycopg.connect(server.url) as conn, conn.cursor() as cur:
        cur.execute("CREATE SCHEMA cadastre")
        for name, gdf in (("edifici", b), ("confine", bnd)):
            attrs = [c for c in gdf.columns if c != "geometry"]
            types = {c: "double precision" if gdf[c].dtype.kind in "fi" else "text" for c in attrs}
            cols = ", ".join(f'"{c}" {t}' for c, t in types.items())
            cur.execute(f"CREATE TABLE cadastre.{name} (fid serial, {cols}{', ' if cols else ''}geom geometry(Geometry, 32632))")
            marks = ", ".join(["%s"] * len(attrs))
            names = ", ".join(f'"{c}"' for c in attrs)
            for row, g in zip(gdf[attrs].itertuples(index=False), gdf.geometry, strict=True):
                vals = [None if (isinstance(v, float) and np.isnan(v)) else v for v in row]
                cur.execute(f"INSERT INTO cadastre.{name} ({names}{', ' if attrs else ''}geom) "
                            f"VALUES ({marks}{', ' if attrs else ''}ST_GeomFromWKB(%s, 32632))", [*vals, shapely.to_wkb(g)])
    return folder, scenario


def _scenario(folder: Path, scenario: Path, name: str, **changes) -> Path:
    doc = tomllib.loads(scenario.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        sec, key = dotted.split("__")
        doc.setdefault(sec, {})[key] = value
    out = folder / name
    out.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return out


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


def test_district_from_postgis_gives_the_file_run(server, district, tmp_path, capsys):
    # expected: the same district read from buildings.shp / boundary.gpkg
    folder, scenario = district
    code, _, err = _run(capsys, "run", scenario, "--out", tmp_path / "files", "--quiet")
    assert code == 0, err
    pg = _scenario(folder, scenario, "pg.toml", buildings__path=server.url, buildings__layer="cadastre.edifici",
                   boundary__path=server.pg_string, boundary__layer="cadastre.confine")
    code, out, err = _run(capsys, "run", pg, "--out", tmp_path / "pg", "--quiet")
    assert code == 0, err
    want = json.loads((tmp_path / "files" / "district.json").read_text())
    got = json.loads((tmp_path / "pg" / "district.json").read_text())
    for key in ("pei_kwh", "pee_kwh", "ped_balance_kwh", "ten_sh_kwh", "ten_dhw_kwh", "een_kwh", "eep_res_kwh", "co2eq_kg"):
        assert got[key] == pytest.approx(want[key], rel=1e-9), key
    assert (got["n_buildings"], got["n_included"]) == (want["n_buildings"], want["n_included"])
    fb = gpd.read_file(tmp_path / "files" / "buildings.gpkg", layer="buildings").set_index("building_id").sort_index()
    pb = gpd.read_file(tmp_path / "pg" / "buildings.gpkg", layer="buildings").set_index("building_id").sort_index()
    assert list(pb.index) == list(fb.index)
    np.testing.assert_allclose(pb["floor_area_m2"], fb["floor_area_m2"], rtol=1e-12)
    np.testing.assert_allclose(pb["ped_balance_kwh"].fillna(0), fb["ped_balance_kwh"].fillna(0), rtol=1e-9)
    # the password is in the scenario, and nowhere pedgis writes or prints
    assert PASSWORD not in out + err and "Tr0ub4dor" not in _all_text(tmp_path / "pg")
    assert f"{ROLE}:***@127.0.0.1" in json.dumps(got["assumptions"]["step1_messages"])


def test_results_written_back_as_tables(server, district, tmp_path, capsys):
    import psycopg

    folder, scenario = district
    code, out, err = _run(capsys, "run", scenario, "--out", tmp_path / "out", "--quiet", "--pg-out", server.url,
                          "--pg-schema", "ped_results")
    assert code == 0, err
    assert "ped_results.buildings" in out and PASSWORD not in out + err
    gpkg = gpd.read_file(tmp_path / "out" / "buildings.gpkg", layer="buildings").set_index("building_id")
    segs = gpd.read_file(tmp_path / "out" / "buildings.gpkg", layer="roof_segments")
    dj = json.loads((tmp_path / "out" / "district.json").read_text())
    with psycopg.connect(server.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT building_id, ped_balance_kwh, floor_area_m2, included, ST_SRID(geometry), ST_Area(geometry) "
                    "FROM ped_results.buildings")
        rows = {r[0]: r[1:] for r in cur.fetchall()}
        assert set(rows) == set(gpkg.index)
        for bid, (bal, area, inc, srid, garea) in rows.items():
            g = gpkg.loc[bid]
            assert srid == 32632 and inc == bool(g["included"])
            assert area == pytest.approx(g["floor_area_m2"], rel=1e-12)
            assert (bal is None) == bool(np.isnan(g["ped_balance_kwh"])) and (bal is None or bal == pytest.approx(g["ped_balance_kwh"]))
            assert garea == pytest.approx(g.geometry.area, rel=1e-9)
        cur.execute("SELECT count(*) FROM ped_results.roof_segments")
        assert cur.fetchone()[0] == len(segs) > 0
        cur.execute("SELECT ped_balance_kwh, is_ped, n_buildings, ed_kwh, district_json -> 'assumptions' -> 'pef_set', "
                    "ST_Area(geometry) FROM ped_results.district")
        bal, is_ped, n, ed, pef_set, area = cur.fetchone()
        assert bal == pytest.approx(dj["ped_balance_kwh"]) and is_ped == dj["is_ped"] and n == dj["n_buildings"]
        assert ed == pytest.approx(dj["ed_kwh"]) and pef_set == dj["assumptions"]["pef_set"]
        bnd = gpd.read_file(folder / "boundary.gpkg", layer="boundary")
        assert area == pytest.approx(bnd.geometry.area.sum(), rel=1e-9)
        cur.execute("SELECT table_name FROM ped_results.pedgis_outputs ORDER BY 1")
        assert [r[0] for r in cur.fetchall()] == ["buildings", "district", "roof_segments"]


def _table_state(server, schema: str) -> dict:
    out = server.psql(f"SELECT c.relname, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                      f"WHERE n.nspname = '{schema}' AND c.relkind = 'r' ORDER BY 1")
    return dict(line.split("|") for line in out.split())


def test_a_failed_write_leaves_the_previous_tables(server, district, tmp_path, capsys):
    # a second run whose write fails in its last table (the database refuses creating
    # "district": an event trigger, as a DBA's policy could) must leave the first run's tables
    folder, scenario = district
    code, _, err = _run(capsys, "run", scenario, "--out", tmp_path / "a", "--quiet", "--pg-out", server.url,
                        "--pg-schema", "tx")
    assert code == 0, err
    before = _table_state(server, "tx")
    rows_before = server.psql("SELECT building_id, pei_kwh FROM tx.buildings ORDER BY 1")
    server.psql("CREATE FUNCTION refuse_district() RETURNS event_trigger LANGUAGE plpgsql AS $$ "
                "DECLARE r record; BEGIN FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP "
                "IF r.object_identity = 'tx.district' THEN RAISE EXCEPTION 'policy: no table named district'; END IF; "
                "END LOOP; END $$; CREATE EVENT TRIGGER no_district ON ddl_command_end WHEN TAG IN ('CREATE TABLE') "
                "EXECUTE FUNCTION refuse_district()")
    try:
        changed = _scenario(folder, scenario, "changed.toml", scenario__name="second run")
        code, _, err = _run(capsys, "run", changed, "--out", tmp_path / "b", "--quiet", "--pg-out", server.url,
                            "--pg-schema", "tx")
    finally:
        server.psql("DROP EVENT TRIGGER no_district; DROP FUNCTION refuse_district()")
    assert code == 2 and "policy: no table named district" in err and "nothing was changed" in err
    assert _table_state(server, "tx") == before  # same tables, same OIDs: not dropped, not rewritten
    assert server.psql("SELECT building_id, pei_kwh FROM tx.buildings ORDER BY 1") == rows_before
    assert server.psql("SELECT DISTINCT scenario FROM tx.pedgis_outputs").strip() != "second run"


def test_tables_pedgis_did_not_write_are_refused_before_computing(server, district, tmp_path, capsys):
    folder, scenario = district
    server.psql(f"CREATE SCHEMA planning AUTHORIZATION {ROLE}; CREATE TABLE planning.buildings (id int, note text); "
                "INSERT INTO planning.buildings VALUES (1, 'the planners'' own table'); "
                f"ALTER TABLE planning.buildings OWNER TO {ROLE}")
    code, out, err = _run(capsys, "run", scenario, "--out", tmp_path / "out", "--quiet", "--pg-out", server.url,
                          "--pg-schema", "planning")
    assert code == 2
    assert "planning.buildings" in err and "did not write" in err and PASSWORD not in err
    assert not (tmp_path / "out").exists()  # stopped before computing: no output at all
    assert server.psql("SELECT id, note FROM planning.buildings").strip() == "1|the planners' own table"
    # pedgis validate says the same (the one checker of run and validate)
    pg = _scenario(folder, scenario, "to_planning.toml", output__postgis=server.url, output__postgis_schema="planning")
    code, out, _ = _run(capsys, "validate", pg)
    assert code == 1 and "planning.buildings" in out and PASSWORD not in out
    # a table dropped and made again by someone else under pedgis' name is not pedgis' any more
    code, _, err = _run(capsys, "run", scenario, "--out", tmp_path / "o2", "--quiet", "--pg-out", server.url,
                        "--pg-schema", "redo")
    assert code == 0, err
    server.psql(f"DROP TABLE redo.district; CREATE TABLE redo.district (x int); ALTER TABLE redo.district OWNER TO {ROLE}")
    code, _, err = _run(capsys, "run", scenario, "--out", tmp_path / "o3", "--quiet", "--pg-out", server.url,
                        "--pg-schema", "redo")
    assert code == 2 and "redo.district" in err
    assert server.psql("SELECT count(*) FROM redo.buildings").strip() != "0"  # the rest left as it was


def test_a_run_without_roof_segments_drops_the_stale_ones(server, district, tmp_path, capsys):
    folder, scenario = district
    code, _, err = _run(capsys, "run", scenario, "--out", tmp_path / "a", "--quiet", "--pg-out", server.url,
                        "--pg-schema", "stale")
    assert code == 0, err
    assert "roof_segments" in _table_state(server, "stale")
    doc = tomllib.loads(scenario.read_text(encoding="utf-8"))
    doc.pop("rasters", None)  # no DSM: no rooftop model, no roof segments
    nodsm = folder / "nodsm.toml"
    nodsm.write_text(tomli_w.dumps(doc), encoding="utf-8")
    code, _, err = _run(capsys, "run", nodsm, "--out", tmp_path / "b", "--quiet", "--pg-out", server.url,
                        "--pg-schema", "stale")
    assert code == 0, err
    assert set(_table_state(server, "stale")) == {"buildings", "district", "pedgis_outputs"}
    assert server.psql("SELECT table_name FROM stale.pedgis_outputs ORDER BY 1").split() == ["buildings", "district"]


def test_queries_run_read_only_as_one_statement(server, district):
    src = DatabaseSource(server.url, sql="SELECT \"CAD_ID\", geom FROM cadastre.edifici WHERE \"CATEGORIA\" LIKE 'A/%'")
    got = read_postgis_data(src).gdf
    want = gpd.read_file(district[0] / "buildings.shp")
    assert sorted(got["CAD_ID"]) == sorted(want.loc[want["CATEGORIA"].str.startswith("A/"), "CAD_ID"])
    assert got.crs.to_epsg() == 32632
    n = server.psql("SELECT count(*) FROM cadastre.edifici")
    for bad, says in (("SELECT 1 AS x, geom FROM cadastre.edifici; DROP TABLE cadastre.edifici", "multiple commands"),
                      ("DELETE FROM cadastre.edifici RETURNING geom", "read-only transaction"),
                      ("WITH d AS (DELETE FROM cadastre.edifici RETURNING *) SELECT geom FROM d", "read-only transaction"),
                      ("SELECT \"CAD_ID\" FROM cadastre.edifici", "no geometry column"),
                      ("SELECT geom, geom AS g2 FROM cadastre.edifici", "2 geometry columns")):
        with pytest.raises(InputDataError, match=says):
            read_postgis_data(DatabaseSource(server.url, sql=bad))
    assert server.psql("SELECT count(*) FROM cadastre.edifici") == n  # nothing deleted or dropped


def test_messages_name_the_source_without_its_password(server, district):
    wrong = server.url.replace("Tr0ub4dor%263", "wrongpass")
    with pytest.raises(InputDataError, match="cannot connect") as e:
        read_postgis_data(DatabaseSource(wrong, layer="cadastre.edifici"))
    assert "wrongpass" not in str(e.value) and f"{ROLE}:***@" in str(e.value)
    with pytest.raises(InputDataError, match=r"table 'cadastre.nothere' not found.*cadastre\.edifici"):
        read_postgis_data(DatabaseSource(server.url, layer="cadastre.nothere"))
    assert PASSWORD not in mask_connection(server.pg_string) and "password=***" in mask_connection(server.pg_string)
    assert mask_connection("postgresql://u:p%40ss@h:5432/db?sslmode=require&password=x") == \
        "postgresql://u:***@h:5432/db?sslmode=require&password=***"
    # GDAL's own options of a PG: string: tables= names the layer, active_schema= the schema
    got = read_postgis_data(DatabaseSource(server.pg_string + " active_schema=cadastre tables=edifici"))
    assert len(got.gdf) == len(gpd.read_file(district[0] / "buildings.shp"))


def test_geometries_without_srid_need_a_crs(server, district):
    server.psql(f"CREATE TABLE cadastre.nosrid AS SELECT \"CAD_ID\", ST_SetSRID(geom, 0) AS geom FROM cadastre.edifici; "
                f"ALTER TABLE cadastre.nosrid OWNER TO {ROLE}")
    with pytest.raises(CRSError, match="without an SRID"):
        read_postgis_data(DatabaseSource(server.url, layer="cadastre.nosrid"))
    got = read_postgis_data(DatabaseSource(server.url, layer="cadastre.nosrid"), crs="EPSG:32632")
    assert got.gdf.crs.to_epsg() == 32632 and "given in the scenario" in got.messages[-1]


def test_sql_without_a_database_is_a_scenario_error(district, tmp_path, capsys):
    folder, scenario = district
    bad = _scenario(folder, scenario, "sqlfile.toml", buildings__sql="SELECT * FROM x")
    code, out, _ = _run(capsys, "validate", bad)
    assert code == 1 and "buildings.sql" in out and "PostGIS" in out


def test_pv_command_reads_a_postgis_table(server, district, tmp_path, capsys):
    # the mini district's footprints from PostGIS: the same roofs and ids as from its shapefile
    folder, _ = district
    args = ["--dsm", folder / "dsm.tif", "--weather", next((folder / "weather").glob("*.epw")), "--quiet"]
    code, _, err = _run(capsys, "pv", "--buildings", folder / "buildings.shp", "--out", tmp_path / "f", *args)
    assert code == 0, err
    code, out, err = _run(capsys, "pv", "--buildings", server.url, "--layer", "cadastre.edifici", "--out", tmp_path / "p", *args)
    assert code == 0, err
    assert PASSWORD not in out + err and "Tr0ub4dor" not in _all_text(tmp_path / "p")
    f = gpd.read_file(tmp_path / "f" / "buildings.gpkg", layer="buildings").set_index("building_id").sort_index()
    p = gpd.read_file(tmp_path / "p" / "buildings.gpkg", layer="buildings").set_index("building_id").sort_index()
    assert list(p.index) == list(f.index) and "CAD_ID" in p
    np.testing.assert_allclose(p["pv_kwh"].fillna(-1), f["pv_kwh"].fillna(-1), rtol=1e-9)
