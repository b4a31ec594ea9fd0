"""The command line: run/validate/demo, bad input → exit 2 with a message naming the key and fix, nothing written."""

import json

import geopandas as gpd
import pytest
from shapely.geometry import box

from pedgis import cli
from pedgis.cli import main

SCENARIO = """
[scenario]
name = "cli test"
country = "IT"
[boundary]
type = "none"
[buildings]
path = "b.gpkg"
[buildings.columns]
building_id = "ID"
use = "USE"
floors = "FLOORS"
pv_kwp = "KWP"
[pv]
specific_yield_kwh_kwp = 1200.0
[systems.hp]
kind = "heat_pump"
services = ["sh", "sc", "dhw"]
default = true
"""


@pytest.fixture
def district(tmp_path):
    gdf = gpd.GeoDataFrame({"ID": ["a", "b", "c"], "USE": ["residential", "office", "residential"], "FLOORS": [2, 3, 1],
                            "KWP": [3.0, 0.0, 10.0]},
                           geometry=[box(0, 0, 10, 10), box(20, 0, 40, 10), box(50, 0, 60, 10)], crs="EPSG:32632")
    gdf.to_file(tmp_path / "b.gpkg")
    (tmp_path / "s.toml").write_text(SCENARIO, encoding="utf-8")
    return tmp_path


def test_run_prints_summary_and_writes(district, capsys):
    out = district / "out"
    assert main(["run", str(district / "s.toml"), "--out", str(out)]) == 0
    text = capsys.readouterr()
    assert "NOT a positive energy district" in text.out or "POSITIVE ENERGY DISTRICT" in text.out
    assert "PED balance (Eq. 17)" in text.out and str(out) in text.out
    assert "largest building balances" in text.out
    assert "100% done" in text.err or "done" in text.err          # the progress bar on stderr
    assert (out / "district.json").exists() and (out / "buildings.gpkg").exists()
    # beside RER, the on-site renewable share: an all-electric district (heat pumps) with
    # 13 kWp × 1,200 kWh/kWp = 15,600 kWh of PV: 15,600 / EEU (no thermal system, TEP_RES = 0)
    d = json.loads((out / "district.json").read_text(encoding="utf-8"))
    assert d["onsite_renewable_share"] == pytest.approx(13 * 1200.0 / d["eeu_kwh"])
    assert f"(on-site renewable share {d['onsite_renewable_share']:.2f})" in text.out


def test_validate_ok_and_problems(district, capsys):
    assert main(["validate", str(district / "s.toml")]) == 0
    assert "OK" in capsys.readouterr().out
    (district / "bad.toml").write_text(SCENARIO.replace('use = "USE"', 'use = "USO"').replace("[pv]", "[pv]\ntilt = 30")
                                       , encoding="utf-8")
    assert main(["validate", str(district / "bad.toml")]) == 1
    out = capsys.readouterr().out
    assert "1 problem" in out and "pv.tilt: unknown key" in out and "tilt_deg" in out
    (district / "bad2.toml").write_text(SCENARIO.replace('use = "USE"', 'use = "USO"'), encoding="utf-8")
    assert main(["validate", str(district / "bad2.toml")]) == 1
    assert "buildings.columns.use: column 'USO' not in" in capsys.readouterr().out


def _bad(district, capsys, text, match):
    (district / "bad.toml").write_text(text, encoding="utf-8")
    out = district / "out"
    code = main(["run", str(district / "bad.toml"), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith("pedgis: error:")
    for m in match:
        assert m in err, err
    assert not out.exists(), "nothing may be written on bad input"
    assert not [p for p in district.iterdir() if p.name.startswith(".out.tmp")]
    return err


def test_bad_missing_file(district, capsys):
    _bad(district, capsys, SCENARIO.replace("b.gpkg", "missing.gpkg"), ["missing.gpkg", "file not found", "Check"])
    code = main(["run", str(district / "nope.toml")])
    assert code == 2 and "scenario file not found" in capsys.readouterr().err


def test_bad_unknown_key(district, capsys):
    _bad(district, capsys, SCENARIO.replace("[pv]", "[pv]\nyield = 3"), ["pv.yield", "unknown key", "specific_yield_kwh_kwp"])


def test_bad_negative_area(district, capsys):
    text = SCENARIO + '[district_systems.net]\ntechnology = "heat_network"\n[district_systems.st]\ntechnology = "solar_thermal"\n' \
                      'network = "net"\narea_m2 = -20.0\nyield_kwh_m2 = 400.0\n'
    _bad(district, capsys, text, ["district_systems.st.area_m2", "must be ≥ 0", "[m²]"])


def test_bad_unknown_use_type(district, capsys):
    gdf = gpd.read_file(district / "b.gpkg")
    gdf.loc[1, "USE"] = "Uffici"
    gdf.to_file(district / "b.gpkg")
    err = _bad(district, capsys, SCENARIO, ["buildings.use_map", "residential"])
    assert "'uffici'" in err.lower()


def test_bad_unknown_carrier(district, capsys):
    text = SCENARIO + '[systems.b]\nkind = "boiler"\ncarrier = "coal_gas"\nservices = ["sh"]\nuses = ["office"]\n'
    _bad(district, capsys, text, ["systems.b.carrier", 'unknown carrier "coal_gas"', "[carriers.coal_gas]"])


def test_bad_scop(district, capsys):
    _bad(district, capsys, SCENARIO.replace("default = true", "default = true\nscop = 0.0"),
         ["systems.hp.scop", "must be > 0"])
    _bad(district, capsys, SCENARIO.replace("default = true", "default = true\nscop = -2.5"),
         ["systems.hp.scop", "must be > 0", "got -2.5"])


def test_bad_input_keeps_previous_outputs(district, capsys):
    out = district / "out"
    assert main(["run", str(district / "s.toml"), "--out", str(out), "--quiet"]) == 0
    before = (out / "district.json").read_text()
    (district / "bad.toml").write_text(SCENARIO.replace("1200.0", "-1.0"), encoding="utf-8")
    assert main(["run", str(district / "bad.toml"), "--out", str(out), "--quiet"]) == 2
    assert (out / "district.json").read_text() == before


def test_demo_runs_sample(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--quiet"]) == 0
    cap = capsys.readouterr()
    out = cap.out
    assert "Quartiere San Rocco" in out and str(tmp_path / "demo") in out
    d = json.loads((tmp_path / "demo" / "district.json").read_text(encoding="utf-8"))
    assert d["n_buildings"] >= 100
    # the sample's weather header is right (no timing warning); the one warning left is the count of
    # flagged buildings, the same count as the GeoPackage's flags column and the report's table
    import re

    import geopandas as gpd

    warned = [ln for ln in cap.err.splitlines() if ln.startswith("pedgis: warning:")]
    assert len(warned) == 1, warned
    n_cli = int(re.search(r"(\d+) of (\d+) buildings have data-quality flags", warned[0]).group(1))
    flags = gpd.read_file(tmp_path / "demo" / "buildings.gpkg", layer="buildings")["flags"].fillna("")
    n_gpkg = int((flags.str.strip() != "").sum())
    report = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    n_report = int(re.search(r"Data-quality flags \((\d+) buildings\)", report).group(1))
    assert n_cli == n_gpkg == n_report > 5  # step 1 alone flags 5; needs add 3 (DHW from the floor area)


def test_demo_without_sample_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "sample_dir", lambda: tmp_path)
    assert main(["demo", "--out", str(tmp_path / "o")]) == 2
    assert "make_sample_data.py" in capsys.readouterr().err


def test_command_registry_accepts_new_commands(capsys):
    seen = {}
    cli.register_command("hello", "say hello", lambda p: p.add_argument("--who", default="x"),
                         lambda a: seen.setdefault("who", a.who) and 0)
    try:
        assert main(["hello", "--who", "pedgis"]) == 0
        assert seen["who"] == "pedgis"
    finally:
        cli.COMMANDS.pop("hello")


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_validate_checks_ids_and_system_column(district, capsys):
    text = SCENARIO.replace("default = true", 'buildings = ["a", "zz"]\ndefault = true').replace(
        'pv_kwp = "KWP"', 'pv_kwp = "KWP"\nsystem = "ID"')
    (district / "v.toml").write_text(text, encoding="utf-8")
    assert main(["validate", str(district / "v.toml")]) == 1
    out = capsys.readouterr().out
    assert "systems.hp.buildings: id(s) zz not in column 'ID'" in out
    assert "system column (buildings.columns.system) names 'a', 'b', 'c'" in out


def test_validate_reports_every_problem_in_one_pass(district, capsys):
    text = SCENARIO.replace('country = "IT"', 'country = "XX"\nnam = "x"').replace("default = true", "default = true\nseer = -1.0")
    (district / "many.toml").write_text(text, encoding="utf-8")
    assert main(["validate", str(district / "many.toml")]) == 1
    out = capsys.readouterr().out
    assert "3 problems" in out
    for key in ("scenario.nam", "scenario.country", "systems.hp.seer"):
        assert f"  - {key}:" in out, key


def test_out_is_a_file(district, capsys):
    (district / "afile").write_text("x")
    assert main(["run", str(district / "s.toml"), "--out", str(district / "afile"), "--quiet"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_progress_bar_tty_and_pipe():
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True

    t = Tty()
    bar = cli.ProgressBar(stream=t, width=10)
    bar(0.5, "half")
    bar(1.0, "done")
    out = t.getvalue()
    assert "\r[#####.....]  50% half" in out and out.endswith("\n") and "[##########] 100% done" in out
    p = io.StringIO()
    bar = cli.ProgressBar(stream=p)
    for f in (0.0, 0.1, 0.3, 0.31, 1.0):
        bar(f, f"step {f}")
    lines = p.getvalue().splitlines()
    assert lines == ["  0% step 0.0", " 30% step 0.3", "100% step 1.0"]


def test_cancelled_run_exits_130(district, capsys, monkeypatch):
    from pedgis.errors import Cancelled

    def cancel(*a, **k):
        raise Cancelled()

    monkeypatch.setattr("pedgis.pipeline.run", cancel)
    assert main(["run", str(district / "s.toml"), "--out", str(district / "o"), "--quiet"]) == 130
    assert "cancelled" in capsys.readouterr().err
    assert not (district / "o").exists()


@pytest.mark.parametrize("module", ["pedgis", "pedgis.cli"])
def test_python_dash_m_knows_every_registered_command(module):
    """`python -m pedgis[.cli]` lists the commands other modules register (pv, map, compare, gap)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import re

    for command in ("run", "validate", "demo", "pv", "map", "compare", "gap"):
        assert re.search(rf"^\s+{command}\s", out.stdout, re.M), (command, out.stdout)


def test_terminal_shows_escape_sequences_in_user_text_as_text(district):
    """A building id with terminal escape sequences (ESC ]0;… BEL retitles the window, ESC [2J
    clears the screen, U+202E reverses what follows) reaches the summary as visible text."""
    import subprocess
    import sys

    gdf = gpd.read_file(district / "b.gpkg")
    gdf.loc[0, "ID"] = "a\x1b]0;pwned\x07\x1b[2J\u202eb"
    gdf.loc[0, "FLOORS"] = 9  # the largest balance: named in the summary
    gdf.to_file(district / "b.gpkg")
    out = subprocess.run([sys.executable, "-m", "pedgis", "run", str(district / "s.toml"), "--out",
                          str(district / "out"), "--quiet"], capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for stream in (out.stdout, out.stderr):
        assert b"\x1b" not in stream and b"\x07" not in stream and "\u202e".encode() not in stream
    assert "a\\x1b]0;pwned\\x07\\x1b[2J\\u202eb" in out.stdout.decode("utf-8")


def test_demo_images_writes_the_sankey_and_the_charts(tmp_path, capsys):
    """`--images`: the Sankey and both charts of timeseries.html as PNG (2x) and SVG, listed in
    the manifest; the SVGs hold the figures' own titles (parsed with lxml)."""
    from lxml import etree

    from pedgis.io.outdir import MANIFEST
    from pedgis.viz.sankey import IMAGE_WIDTH_PX

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet", "--images"]) == 0
    listed = {f["path"] for f in json.loads((out / MANIFEST).read_text())["files"]}
    titles = {"sankey": "Primary-energy Sankey", "timeseries_monthly": "Monthly primary-energy balance",
              "timeseries_typical_day": "District electricity on typical days"}
    for name, title in titles.items():
        png = (out / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 2 * IMAGE_WIDTH_PX
        svg = etree.parse(str(out / f"{name}.svg")).getroot()
        assert title in " ".join(svg.itertext()), name
        assert {f"{name}.png", f"{name}.svg"} <= listed
