"""Browser tests: the pages of a run opened in headless chromium with no network.

Screenshots go to ``$PEDGIS_ARTIFACTS`` (default ``test-artifacts/``).
"""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "viz"))

from cdp import Browser, find_chromium  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def artifacts():
    path = Path(os.environ.get("PEDGIS_ARTIFACTS", "test-artifacts")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    if find_chromium() is None:
        pytest.fail("chromium is not installed: run `bash scripts/install-system-deps.sh` "
                    "(make test does)")
    with Browser(width=1280, height=860) as b:
        # count alert()/confirm()/prompt() calls in every frame instead of blocking on them
        b.add_init_script(
            "window.__pedgisAlerts = 0;"
            "window.alert = window.confirm = window.prompt = function () {"
            "  window.__pedgisAlerts++; (window.top || window).__pedgisAlerts++; };"
        )
        yield b


@pytest.fixture(scope="session")
def hostile_pages(tmp_path_factory):
    """Pages of a synthetic district whose attributes are hostile (district_fixture.HOSTILE)."""
    from district_fixture import write_folder

    from pedgis.viz import write_all

    folder = write_folder(tmp_path_factory.mktemp("hostile"), n=30, hostile=True)
    write_all(folder, folder)
    return folder


@pytest.fixture(scope="session")
def sample_pages(tmp_path_factory):
    """The output folder of the bundled sample district (`pedgis demo`), pages included."""
    from pedgis.cli import main

    out = tmp_path_factory.mktemp("sample") / "pedgis-out"
    rc = main(["demo", "--out", str(out)])
    assert rc == 0, f"pedgis demo exited with {rc}"
    for name in ("map.html", "sankey.html", "report.html"):
        assert (out / name).is_file(), f"pedgis demo wrote no {name}"
    return out


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory):
    """`pedgis run` and `pedgis compare` on the sample with a payload in every user text
    (tests/hostile_sample.py); returns the two output folders."""
    from hostile_sample import pedgis, write_hostile_sample

    folder = tmp_path_factory.mktemp("hostile-run")
    scenario, _ = write_hostile_sample(folder, variants=True)
    out, compare = folder / "out", folder / "compare"
    assert pedgis("run", scenario, "--out", out, "--quiet") == 0
    assert pedgis("compare", scenario, "--out", compare, "--quiet") == 0
    return {"out": out, "compare": compare}
