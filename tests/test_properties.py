"""Property-based tests (issue 11, item 8): generated mutations of a real scenario and its files
never give a traceback or an exit code other than 0, 1 or 2, and `validate` agrees with `run`.

The district is a 9-building copy of the sample (tests/mini_district.py): every step of a real run
(heights from the nDSM, rooftop PV with shading, the heat network, hourly netting, every page) in
about a second. Hypothesis draws a few edits of the scenario document (a key set to a value of any
TOML type, a key deleted, an unknown key added, a schema key filled in), of its text (cut short,
bytes overwritten), of the footprints (attribute values of other types, signs and sizes, points,
lines, empty and self-crossing geometries, a missing .prj/.dbf), of the weather year (cut, fields
garbled, header changed, rows doubled) and of the rasters (blocks of NaN, nodata or absurd values,
no CRS, cut files), then runs the commands in-process as a user would.

The examples are derandomised (the same ones on every run, so CI is reproducible);
``PEDGIS_HYPOTHESIS=deep`` draws many more of them, randomly, for a long exploratory run::

    PEDGIS_HYPOTHESIS=deep .venv/bin/python -m pytest -q tests/test_properties.py
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mini_district import write_mini_district

from pedgis.cli import main
from pedgis.config import SCHEMA

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEEP = os.environ.get("PEDGIS_HYPOTHESIS") == "deep"


def _settings(n: int):
    """``n`` derandomised examples in CI; a long random search with PEDGIS_HYPOTHESIS=deep."""
    return settings(max_examples=20 * n if DEEP else n, derandomize=not DEEP, deadline=None,
                    database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="session")
def mini(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mini")
    write_mini_district(folder)
    return folder


def invoke(argv: list[str]) -> tuple[int, str, str]:
    """``pedgis ARGV`` in this process: (exit code, stdout, stderr). Any exception other than
    the exit of argparse escapes, and hypothesis reports it with the smallest example."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: bad arguments exit 2 with a usage line
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def _no_traceback(*texts: str) -> None:
    for t in texts:
        assert "Traceback (most recent call last)" not in t, t


def validate_and_run(folder: Path, scenario: str = "scenario.toml") -> tuple[int, int, str]:
    """Run both commands on a scenario; check exit codes, messages, agreement. Returns
    (validate code, run code, run stderr)."""
    v_code, v_out, v_err = invoke(["validate", str(folder / scenario)])
    _no_traceback(v_out, v_err)
    assert v_code in (0, 1, 2), (v_code, v_out, v_err)
    out = folder / "out"
    r_code, r_out, r_err = invoke(["run", str(folder / scenario), "--out", str(out), "--quiet"])
    _no_traceback(r_out, r_err)
    assert r_code in (0, 2), (r_code, r_out, r_err)
    if r_code == 2:
        assert "pedgis: error:" in r_err, r_err
        assert not (out / "district.json").exists(), "a failed run wrote outputs"
    else:
        district = json.loads((out / "district.json").read_text(encoding="utf-8"))
        assert district["n_buildings"] >= 1
    # validate runs the checks run makes before computing: the same verdict
    assert (v_code == 0) == (r_code == 0), (
        f"validate exit {v_code} but run exit {r_code}\nvalidate:\n{v_out}{v_err}\nrun:\n{r_err}")
    return v_code, r_code, r_err


# ---------------------------------------------------------------------------------------------
# values of every TOML type, with the awkward ones users really write

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e300, -1e-300, 0.5, 8760, 1e6]),
    _TEXT,
    st.sampled_from(["", " ", "residential", "office", "electricity", "natural_gas", "district_heat",
                     "heat_pump", "boiler", "hourly", "monthly", "share", "IT", "XX", "3 m", "1e300",
                     "nan", "../../etc/passwd", "/dev/null", ".", "buildings.shp", "dsm.tif",
                     "weather/pvgis_tmy_45N_8E.epw", "boundary.gpkg", "EPSG:4326", "CAD_ID",
                     "INDIRIZZO", "{{7*7}}", "x" * 300]),
    st.dates(),
)
VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT.filter(bool), inner, max_size=3),
    max_leaves=6,
)


def _leaves(doc: dict, prefix: tuple = ()) -> list[tuple]:
    paths = []
    for k, v in doc.items():
        paths.append(prefix + (k,))
        if isinstance(v, dict):
            paths += _leaves(v, prefix + (k,))
    return paths


def _set(doc: dict, path: tuple, value) -> None:
    node = doc
    for p in path[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[path[-1]] = value


def _delete(doc: dict, path: tuple) -> None:
    node = doc
    for p in path[:-1]:
        node = node[p]
    del node[path[-1]]


@st.composite
def scenario_edits(draw, base: dict) -> dict:
    """The sample scenario with 1-3 edits."""
    doc = copy.deepcopy(base)
    schema_paths = [k.parts for k in SCHEMA]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["set", "set", "delete", "unknown", "schema", "schema"]))
        paths = _leaves(doc)
        if kind == "set" and paths:
            _set(doc, draw(st.sampled_from(paths)), draw(VALUES))
        elif kind == "delete" and paths:
            _delete(doc, draw(st.sampled_from(paths)))
        elif kind == "unknown":
            parent = draw(st.sampled_from([()] + [p for p in paths if isinstance(_get(doc, p), dict)]))
            _set(doc, parent + (draw(_TEXT.filter(bool)),), draw(VALUES))
        elif kind == "schema":
            parts = draw(st.sampled_from(schema_paths))
            path = []
            for i, part in enumerate(parts):
                if part == "*":
                    node = _get(doc, tuple(path))
                    names = [n for n in node if isinstance(node.get(n), dict)] if isinstance(node, dict) else []
                    part = draw(st.sampled_from(names) | _TEXT.filter(bool)) if names else draw(_TEXT.filter(bool))
                path.append(part)
                if i < len(parts) - 1 and not isinstance(_get(doc, tuple(path)), dict | type(None)):
                    break
            else:
                _set(doc, tuple(path), draw(VALUES))
    return doc


def _get(doc: dict, path: tuple):
    node = doc
    for p in path:
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def _fresh_copy(mini: Path) -> tuple[tempfile.TemporaryDirectory, Path]:
    tmp = tempfile.TemporaryDirectory(prefix="pedgis-prop-")
    folder = Path(tmp.name) / "d"
    shutil.copytree(mini, folder, ignore=shutil.ignore_patterns("out", ".out*"))
    return tmp, folder


# ---------------------------------------------------------------------------------------------
# the scenario document and its text


def test_unmutated_mini_district_runs(mini):
    """The base of every mutation is itself a valid, complete run."""
    tmp, folder = _fresh_copy(mini)
    with tmp:
        v, r, _ = validate_and_run(folder)
        assert (v, r) == (0, 0)


@given(data=st.data())
@_settings(40)
def test_scenario_mutations(mini, data):
    base = tomllib.loads((mini / "scenario.toml").read_text(encoding="utf-8"))
    doc = data.draw(scenario_edits(base))
    tmp, folder = _fresh_copy(mini)
    with tmp:
        try:
            text = tomli_w.dumps(doc)
        except (TypeError, ValueError):  # not representable in TOML: nothing a user can write
            return
        (folder / "scenario.toml").write_text(text, encoding="utf-8")
        validate_and_run(folder)


@given(cut=st.floats(0, 1), junk=st.binary(min_size=1, max_size=8), where=st.floats(0, 1))
@_settings(15)
def test_scenario_text_damaged(mini, cut, junk, where):
    tmp, folder = _fresh_copy(mini)
    with tmp:
        raw = (folder / "scenario.toml").read_bytes()
        raw = raw[: int(len(raw) * (0.2 + 0.8 * cut))]
        i = int(len(raw) * where)
        (folder / "scenario.toml").write_bytes(raw[:i] + junk + raw[i + len(junk):])
        validate_and_run(folder)


# ---------------------------------------------------------------------------------------------
# the input files

_ATTR_VALUES = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False, width=32),
                         st.integers(-(10**9), 10**9), _TEXT,
                         st.sampled_from([-1, 0, 1e12, "", "A/2", "Z/9", "ufficio", "-5"]))


@st.composite
def geometry_values(draw, bounds):
    from shapely.geometry import LineString, Point, Polygon

    x0, y0, x1, y1 = bounds
    x = draw(st.floats(x0 - 50, x1 + 50))
    y = draw(st.floats(y0 - 50, y1 + 50))
    return draw(st.sampled_from([
        None,
        Point(x, y),
        LineString([(x, y), (x + 10, y + 5)]),
        Polygon(),
        Polygon([(x, y), (x + 10, y + 10), (x + 10, y), (x, y + 10)]),  # a bow-tie
        Polygon([(x, y), (x + 0.01, y), (x, y + 0.01)]),               # a sliver
        Polygon([(x, y), (x + 30, y), (x + 30, y + 20), (x, y + 20)]),
        Polygon([(x + 1e7, y), (x + 1e7 + 10, y), (x + 1e7, y + 10)]),  # far away
    ]))


@given(data=st.data())
@_settings(30)
def test_footprint_mutations(mini, data):
    import geopandas as gpd

    tmp, folder = _fresh_copy(mini)
    with tmp:
        shp = folder / "buildings.shp"
        gdf = gpd.read_file(shp)
        bounds = gdf.total_bounds
        drops = set()
        for _ in range(data.draw(st.integers(1, 4))):
            kind = data.draw(st.sampled_from(["attr", "attr", "geom", "geom", "all_points", "drop_prj",
                                              "drop_dbf", "id_numeric", "empty"]))
            n = len(gdf)
            row = data.draw(st.integers(0, max(n - 1, 0)))
            if kind == "attr" and n:
                col = data.draw(st.sampled_from([c for c in gdf.columns if c != "geometry"]))
                value = data.draw(_ATTR_VALUES)
                gdf[col] = gdf[col].astype(object)
                gdf.at[gdf.index[row], col] = value
            elif kind == "geom" and n:
                gdf.loc[gdf.index[row], "geometry"] = data.draw(geometry_values(bounds))
            elif kind == "all_points":
                gdf = gdf.set_geometry(gdf.geometry.representative_point())
            elif kind == "id_numeric":
                gdf["CAD_ID"] = gdf["CAD_ID"].astype(float)
            elif kind == "empty":
                gdf = gdf.iloc[:0]
            elif kind in ("drop_prj", "drop_dbf"):
                drops.add(kind[-3:])
        try:
            gdf.to_file(shp, encoding="utf-8")
        except Exception:  # noqa: BLE001 - a table no GIS can write is not an input a user can have
            return
        for ext in drops:
            shp.with_suffix(f".{ext}").unlink(missing_ok=True)
        validate_and_run(folder)


EPW = "weather/pvgis_tmy_45N_8E.epw"


@given(data=st.data())
@_settings(25)
def test_weather_mutations(mini, data):
    tmp, folder = _fresh_copy(mini)
    with tmp:
        path = folder / EPW
        lines = path.read_text(encoding="utf-8").splitlines()
        for _ in range(data.draw(st.integers(1, 3))):
            if not lines:
                break
            kind = data.draw(st.sampled_from(["cut", "field", "field", "header", "drop_header", "double"]))
            i = data.draw(st.integers(0, len(lines) - 1))
            if kind == "cut":
                lines = lines[:i]
            elif kind == "field" and lines:
                fields = lines[i].split(",")
                j = data.draw(st.integers(0, len(fields) - 1))
                fields[j] = data.draw(st.sampled_from(["", "x", "-9999", "1e30", "nan", "99999", "-1", "2020"])
                                      | _TEXT.filter(lambda s: "," not in s and "\n" not in s and "\r" not in s))
                lines[i] = ",".join(fields)
            elif kind == "header" and lines:
                f = lines[0].split(",")
                if len(f) > 9:
                    f[6] = data.draw(st.sampled_from(["-45.0", "91", "abc", "", "45.5", "-33.9"]))
                    f[7] = data.draw(st.sampled_from(["8.0", "-74.0", "181", "", "151.2"]))
                    f[8] = data.draw(st.sampled_from(["1", "-5", "14", "x", ""]))
                lines[0] = ",".join(f)
            elif kind == "drop_header" and len(lines) > 8:
                del lines[data.draw(st.integers(0, 7))]
            elif kind == "double" and lines:
                lines.insert(i, lines[i])
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        validate_and_run(folder)


@given(data=st.data())
@_settings(20)
def test_raster_mutations(mini, data):
    import numpy as np
    import rasterio

    tmp, folder = _fresh_copy(mini)
    with tmp:
        name = data.draw(st.sampled_from(["dsm.tif", "dtm.tif"]))
        path = folder / name
        kind = data.draw(st.sampled_from(["block", "block", "no_crs", "nodata", "cut"]))
        if kind == "cut":
            raw = path.read_bytes()
            path.write_bytes(raw[: int(len(raw) * data.draw(st.floats(0, 0.99)))])
        else:
            with rasterio.open(path) as src:
                arr = src.read(1)
                profile = src.profile
            if kind == "block":
                h, w = arr.shape
                r0, c0 = data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))
                size = data.draw(st.integers(1, max(h, w)))
                arr[r0:r0 + size, c0:c0 + size] = data.draw(st.sampled_from(
                    [np.nan, -9999.0, 1e30, -1e30, 0.0, 10000.0, -600.0, np.inf]))
            elif kind == "no_crs":
                profile["crs"] = None
            elif kind == "nodata":
                profile["nodata"] = data.draw(st.sampled_from([None, 0.0, 250.0, np.nan]))
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(arr, 1)
        validate_and_run(folder)


# ---------------------------------------------------------------------------------------------
# the command line itself

_ARG_VALUES = st.sampled_from(["scenario.toml", "buildings.shp", "dsm.tif", "dtm.tif", EPW, "out", ".", "",
                               "missing.tif", "CAD_ID", "nope", "EPSG:32632", "EPSG:4326", "pvgis-nope",
                               "-1", "ped_balance_kwh", "flags", "osm", "x"])


@given(data=st.data())
@_settings(25)
def test_command_lines(mini, data):
    """Random argument lists of the file commands (paths relative to the district folder)."""
    tmp, folder = _fresh_copy(mini)
    with tmp:
        command = data.draw(st.sampled_from(["run", "validate", "pv", "map"]))
        options = {"run": ["--out", "--quiet"], "validate": [],
                   "pv": ["--buildings", "--dsm", "--dtm", "--weather", "--id-column", "--crs", "--layer",
                          "--config", "--out", "--quiet"],
                   "map": ["--indicator", "--basemap", "--title"]}[command]
        argv = [command]
        for _ in range(data.draw(st.integers(0, 6))):
            tok = data.draw(st.sampled_from(options + ["VALUE", "VALUE", "--bogus"]) if options else
                            st.sampled_from(["VALUE", "--bogus"]))
            if tok == "VALUE":
                tok = data.draw(_ARG_VALUES)
            argv.append(tok)
        if command == "pv" and data.draw(st.booleans()):  # mostly complete, with one thing off
            argv += ["--buildings", "buildings.shp", "--dsm", "dsm.tif", "--weather", EPW]
        argv = [str(folder / a) if a and not a.startswith("-") and a not in (
            "ped_balance_kwh", "flags", "osm", "CAD_ID", "EPSG:32632", "EPSG:4326", "-1") else a for a in argv]
        cwd = os.getcwd()
        os.chdir(folder)  # a default --out (./pedgis-out) lands in the temporary folder
        try:
            code, out, err = invoke(argv)
        finally:
            os.chdir(cwd)
        _no_traceback(out, err)
        assert code in (0, 1, 2), (argv, code, out, err)
