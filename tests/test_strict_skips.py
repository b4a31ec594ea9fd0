"""The rule of tests/strict_skips.py, on a throw-away test session in a fresh process."""

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _session(tmp_path, body: str, strict: bool) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nfrom strict_skips import pytest_sessionfinish  # noqa\n")
    (tmp_path / "test_one.py").write_text(body)
    env = {**os.environ, "PEDGIS_NO_SKIPS": "1" if strict else "0"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_a_skip_fails_make_test_and_is_named(tmp_path):
    body = "import pytest\n\ndef test_ok():\n    pass\n\n@pytest.mark.skip(reason='no chromium here')\ndef test_gone():\n    pass\n"
    r = _session(tmp_path, body, strict=True)
    assert r.returncode == 1, r.stdout
    assert "test_one.py::test_gone: Skipped: no chromium here" in r.stdout
    assert _session(tmp_path, body, strict=False).returncode == 0  # a developer's own run: a skip is a skip


def test_a_session_without_skips_passes(tmp_path):
    assert _session(tmp_path, "def test_ok():\n    pass\n", strict=True).returncode == 0
