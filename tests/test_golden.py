"""Golden end-to-end run of the sample district.

The expected file is written by `scripts/regenerate_golden.py`; rerun it only after a deliberate
change (model, data tables, sample district) and explain the change in the commit.
"""

import importlib.util
import json
import math
from pathlib import Path

import pytest

from pedgis.config import load_scenario
from pedgis.pipeline import run

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden_sample_district.json"


def _view():
    spec = importlib.util.spec_from_file_location("regen", ROOT / "scripts" / "regenerate_golden.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.golden_view(run(load_scenario(ROOT / "sample_data" / "scenario.toml")))


def _compare(got, exp, path=""):
    if isinstance(exp, dict):
        assert set(got) == set(exp), f"{path}: keys differ: {sorted(set(got) ^ set(exp))}"
        for k in exp:
            _compare(got[k], exp[k], f"{path}.{k}")
    elif isinstance(exp, bool) or exp is None or isinstance(exp, str):
        assert got == exp, f"{path}: {got!r} != {exp!r}"
    else:
        assert not math.isnan(got), path
        assert got == pytest.approx(exp, rel=1e-6, abs=1e-3), f"{path}: {got} != {exp} (run scripts/regenerate_golden.py if intended)"


def test_sample_district_matches_golden():
    exp = json.loads(GOLDEN.read_text(encoding="utf-8"))
    _compare(_view(), exp)
