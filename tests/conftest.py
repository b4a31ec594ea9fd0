"""Shared by every test folder: ``tests/`` on the import path (payloads.py, hostile_sample.py) and
the sample district's result."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from strict_skips import pytest_sessionfinish  # noqa: E402,F401  (a skip fails `make test`)

SAMPLE_SCENARIO = Path(__file__).resolve().parents[1] / "sample_data" / "scenario.toml"


@pytest.fixture(scope="module")
def sample_result():
    """``pedgis.pipeline.run`` on the sample scenario, once per test module (a module may change it)."""
    from pedgis.config import load_scenario
    from pedgis.pipeline import run

    return run(load_scenario(SAMPLE_SCENARIO))
