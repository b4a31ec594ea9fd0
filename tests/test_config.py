"""The scenario schema: validation messages name the key path and the fix; docs stay in sync."""

from pathlib import Path

import pytest

from pedgis import config
from pedgis.config import load_scenario, scenario_from_dict, validate
from pedgis.errors import ConfigError, InputDataError
from pedgis.pipeline import check_inputs

ROOT = Path(__file__).resolve().parents[1]


def _base(**extra):
    doc = {"buildings": {"path": "b.gpkg"},
           "systems": {"hp": {"kind": "heat_pump", "services": ["sh", "sc", "dhw"], "default": True}}}
    for k, v in extra.items():
        doc.setdefault(k, {}).update(v)
    return doc


def _problems(doc):
    return validate(doc)[1]


def test_minimal_scenario_fills_defaults(tmp_path):
    sc = scenario_from_dict(_base(), base_dir=tmp_path)
    assert sc.doc["scenario"]["country"] == "iso52000_default"
    assert sc.doc["needs"]["set"] == "eu27_existing"
    assert sc.doc["boundary"]["type"] == "geographical"
    assert sc.doc["checklist"]["appliances"] is False
    assert sc.doc["buildings"]["path"] == (tmp_path / "b.gpkg").resolve()
    assert sc.doc["systems"]["hp"]["uses"] == []


def test_unknown_key_with_suggestion():
    errs = _problems(_base(needs={"methd": "specific"}))
    assert len(errs) == 1
    assert errs[0].key == "needs.methd"
    assert "Did you mean `method`?" in str(errs[0])


def test_unknown_section_and_nested_key():
    errs = _problems({**_base(), "weathr": {"path": "x"}})
    assert errs[0].key == "weathr" and "unknown key" in str(errs[0])
    errs = _problems(_base(systems={"hp": {"kind": "heat_pump", "services": ["sh"], "default": True, "scopp": 3}}))
    assert errs[0].key == "systems.hp.scopp" and "`scop`" in str(errs[0])


def test_wrong_type_and_value_with_unit():
    errs = _problems(_base(heights={"storey_height_m": "3 m"}))
    assert errs[0].key == "heights.storey_height_m"
    assert "carries a unit" in str(errs[0]) and "[m]" in str(errs[0])
    errs = _problems(_base(checklist={"appliances": "yes"}))
    assert errs[0].key == "checklist.appliances" and "true or false" in str(errs[0])


def test_range_checks():
    errs = _problems(_base(systems={"hp": {"kind": "heat_pump", "services": ["sh"], "default": True, "scop": 0.0}}))
    assert errs[0].key == "systems.hp.scop" and "must be > 0" in str(errs[0])
    errs = _problems(_base(needs={"overrides": {"residential": {"sh_kwh_m2": -5.0}}}))
    assert errs[0].key == "needs.overrides.residential.sh_kwh_m2" and "≥ 0" in str(errs[0])
    errs = _problems(_base(heights={"gross_to_conditioned": 1.5}))
    assert errs[0].key == "heights.gross_to_conditioned" and "≤ 1" in str(errs[0])


def test_allowed_values():
    errs = _problems(_base(boundary={"type": "geografical"}))
    assert errs[0].key == "boundary.type" and 'Did you mean "geographical"' in str(errs[0])
    errs = _problems(_base(systems={"hp": {"kind": "heat_pump", "services": ["sh", "hot"], "default": True}}))
    assert errs[0].key == "systems.hp.services" and "['hot']" in str(errs[0])


def test_required_keys():
    errs = _problems({"systems": {"x": {"services": ["sh"], "default": True}}})
    keys = {e.key for e in errs}
    assert {"buildings.path", "systems.x.kind"} <= keys


def test_cross_references():
    doc = _base(scenario={"country": "XX"})
    errs = _problems(doc)
    assert errs[0].key == "scenario.country" and "IT" in str(errs[0])
    doc = _base(systems={"b": {"kind": "boiler", "services": ["sh"], "default": True, "carrier": "unobtainium"}})
    errs = {e.key: str(e) for e in _problems(doc)}
    assert "unknown carrier" in errs["systems.b.carrier"] and "[carriers.unobtainium]" in errs["systems.b.carrier"]
    doc = _base(systems={"b": {"kind": "boiler", "services": ["sh"], "default": True}})
    assert "needs its fuel" in {e.key: str(e) for e in _problems(doc)}["systems.b.carrier"]
    doc = _base(systems={"d": {"kind": "district_heating", "services": ["sh"], "default": True, "network": "nope"}})
    assert "not a heat network" in {e.key: str(e) for e in _problems(doc)}["systems.d.network"]
    doc = _base(buildings={"path": "b.gpkg", "use_map": {"A/2": "housing"}})
    assert "not a known use type" in {e.key: str(e) for e in _problems(doc)}["buildings.use_map.A/2"]
    doc = _base(district_systems={"c": {"technology": "chp", "fuel": "biomass"}})
    assert "heat network" in {e.key: str(e) for e in _problems(doc)}["district_systems.c.network"]
    doc = _base(district_systems={"w": {"technology": "wind"}})
    assert "capacity_kw" in {e.key: str(e) for e in _problems(doc)}["district_systems.w.output_kwh"]
    doc = _base(systems={"hp": {"kind": "heat_pump", "services": ["sh"], "default": True, "variant": "condensing"}})
    assert "does not apply" in {e.key: str(e) for e in _problems(doc)}["systems.hp.variant"]
    doc = _base(carriers={"electricity": {"contract_share": 0.2}})
    assert "only meaningful" in {e.key: str(e) for e in _problems(doc)}["carriers.electricity.contract_share"]
    doc = _base(carriers={"hydrogen": {"pef_nren": 1.5}})
    assert "needs pef_nren, pef_ren" in {e.key: str(e) for e in _problems(doc)}["carriers.hydrogen"]
    doc = _base(needs={"overrides": {"castle": {"sh_kwh_m2": 10.0}}})
    assert "based_on" in {e.key: str(e) for e in _problems(doc)}["needs.overrides.castle"]
    doc = _base(systems={"x": {"kind": "boiler", "carrier": "natural_gas", "services": ["sh"]}})
    assert "assigned to no building" in {e.key: str(e) for e in _problems(doc)}["systems.x"]
    doc = _base(needs={"method": "degree_days"})
    assert "hdd_kd" in {e.key: str(e) for e in _problems(doc)}["needs.method"]


def test_every_problem_reported_at_once():
    doc = _base(needs={"methd": "x", "set": 5}, heights={"gross_to_conditioned": -1.0})
    with pytest.raises(ConfigError) as ei:
        scenario_from_dict(doc)
    assert len(ei.value.problems) == 3
    assert ei.value.key == "needs.methd"
    assert "3 problems" in str(ei.value)


def test_load_scenario_relative_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    f = tmp_path / "sub" / "s.toml"
    f.write_text('[buildings]\npath = "../data/b.shp"\n[weather]\npath = "w.epw"\n'
                 '[systems.hp]\nkind = "heat_pump"\nservices = ["sh"]\ndefault = true\n', encoding="utf-8")
    sc = load_scenario(f)
    assert sc.doc["buildings"]["path"] == (tmp_path / "data" / "b.shp").resolve()
    assert sc.doc["weather"]["path"] == (tmp_path / "sub" / "w.epw").resolve()
    assert sc.path == f.resolve()


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(InputDataError, match="scenario file not found"):
        load_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario\nname = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)
    bad.write_bytes(b'[scenario]\nname = "\xff"\n')
    with pytest.raises(ConfigError, match="not valid TOML|not UTF-8"):
        load_scenario(bad)


def errors_of(path) -> list[str]:
    """The errors `pedgis validate` prints (and `pedgis run` stops on)."""
    return [p.message for p in check_inputs(path).errors]


def test_check_scenario_lists_missing_files(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[buildings]\npath = "b.shp"\n[weather]\npath = "w.epw"\n'
                 '[systems.hp]\nkind = "heat_pump"\nservices = ["sh"]\ndefault = true\n', encoding="utf-8")
    problems = errors_of(f)
    assert len(problems) == 2
    assert problems[0].startswith("buildings.path: file not found")
    assert problems[1].startswith("weather.path: file not found")


def test_docs_config_md_in_sync():
    doc = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert doc == config.schema_markdown(), "docs/config.md is stale: run `python scripts/gen_config_docs.py`"


def test_schema_keys_all_documented():
    text = config.schema_markdown()
    for k in config.SCHEMA:
        assert f"`{k.parts[-1]}`" in text
        assert k.doc


def test_sample_scenario_is_valid():
    assert errors_of(ROOT / "sample_data" / "scenario.toml") == []


def test_no_systems_is_an_error():
    errs = {e.key: str(e) for e in _problems({"buildings": {"path": "b.gpkg"}})}
    assert "no conversion system" in errs["systems"]


def test_docs_example_is_valid():
    import re

    text = config.schema_markdown()
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    doc, errors = validate(config.tomllib.loads(block))
    assert errors == []


def test_check_scenario_reports_missing_files_with_schema_errors(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[buildings]\npath = "b.shp"\nfoo = 1\n[systems.hp]\nkind = "heat_pump"\nservices = ["sh"]\ndefault = true\n',
                 encoding="utf-8")
    problems = errors_of(f)
    assert any(p.startswith("buildings.foo: unknown key") for p in problems)
    assert any(p.startswith("buildings.path: file not found") for p in problems)


def test_more_type_errors():
    errs = {e.key: str(e) for e in _problems({**_base(), "checklist": 5})}
    assert "must be a table" in errs["checklist"]
    errs = {e.key: str(e) for e in _problems(_base(systems={"hp": {"kind": "heat_pump", "services": [1.5], "default": True}}))}
    assert "expected a list of texts" in errs["systems.hp.services"]
    errs = {e.key: str(e) for e in _problems(_base(heights={"default_floors": float("nan")}))}
    assert "finite number" in errs["heights.default_floors"]
    doc, errs = validate(["not", "a", "table"])
    assert "TOML table of sections" in str(errs[0])
