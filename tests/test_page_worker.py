"""The page process (pedgis/io/page_worker.py): the pages it draws are the pages drawn in process,
its errors are the run's errors, and it never outlives the command or changes a folder on failure.

The expected pages come from the same result drawn in this process (write_outputs without a page
process); folium's element ids are random per drawing and are masked before comparing."""

import os
import re
import threading
from pathlib import Path

import pytest

import pedgis.io.outputs as outputs
import pedgis.io.page_worker as page_worker
from pedgis.config import load_scenario
from pedgis.errors import InputDataError
from pedgis.io.outputs import write_outputs
from pedgis.io.page_worker import PageProcess, PageProcessError, page_process
from pedgis.pipeline import run

ROOT = Path(__file__).resolve().parents[1]
FOLIUM_ID = re.compile(rb"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def sample_result():
    return run(load_scenario(ROOT / "sample_data" / "scenario.toml"))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".pedgis-manifest.json"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_pages_from_the_page_process_are_the_pages_drawn_in_process(sample_result, tmp_path):
    with page_process() as pages:
        assert pages is not None  # pytest runs no other Python thread here
        assert pages.accepts(sample_result)
        write_outputs(sample_result, tmp_path / "forked", pages=pages)
    write_outputs(sample_result, tmp_path / "here")
    forked, here = _files(tmp_path / "forked"), _files(tmp_path / "here")
    assert sorted(forked) == sorted(here)
    assert {"map.html", "report.html", "sankey.html", "timeseries.html"} <= set(forked)
    for name in forked:
        if name.endswith(".html"):
            assert FOLIUM_ID.sub(b"ID", forked[name]) == FOLIUM_ID.sub(b"ID", here[name]), name
        elif name in ("district.json", "timeseries.parquet"):
            assert forked[name] == here[name], name
    # the QGIS styles are stored after the pages, by this process, in the GeoPackage it wrote
    import pyogrio

    styles = pyogrio.read_dataframe(tmp_path / "forked" / "buildings.gpkg", layer="layer_styles")
    assert set(styles["f_table_name"]) >= {"buildings", "roof_segments"}


def _previous_outputs(sample_result, folder: Path) -> dict[str, bytes]:
    write_outputs(sample_result, folder, viz=False)
    return _files(folder)


def test_an_error_drawing_the_pages_is_the_runs_error_and_changes_nothing(sample_result, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    before = _previous_outputs(sample_result, folder)

    def failing(result, where, images=False):
        raise InputDataError(f"{where.name}: a page could not be drawn")

    monkeypatch.setattr(outputs, "write_pages", failing)  # the child, forked below, inherits it
    with page_process() as pages:
        with pytest.raises(InputDataError, match="a page could not be drawn"):
            write_outputs(sample_result, folder, pages=pages)
    assert _files(folder) == before


def test_a_page_process_that_dies_fails_the_run_and_changes_nothing(sample_result, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    before = _previous_outputs(sample_result, folder)
    monkeypatch.setattr(outputs, "write_pages", lambda result, where, images=False: os._exit(3))
    with page_process() as pages:
        with pytest.raises(PageProcessError, match="stopped before finishing"):
            write_outputs(sample_result, folder, pages=pages)
    assert _files(folder) == before


def test_the_page_process_ends_with_the_command_even_unused(sample_result):
    with page_process() as pages:
        pid = pages.pid
        assert _alive(pid)
    assert not _alive(pid)  # killed and reaped: no zombie either (kill(pid, 0) fails)


def test_a_city_result_is_drawn_in_process(sample_result, tmp_path, monkeypatch):
    monkeypatch.setattr(page_worker, "MAX_BUILDINGS", len(sample_result.buildings) - 1)
    drawn_here = []
    original = outputs.write_pages

    def spy(result, where, images=False):
        drawn_here.append(os.getpid())
        return original(result, where, images)

    monkeypatch.setattr(outputs, "write_pages", spy)
    with page_process() as pages:
        assert not pages.accepts(sample_result)
        write_outputs(sample_result, tmp_path / "out", pages=pages)
    assert drawn_here == [os.getpid()]
    assert (tmp_path / "out" / "map.html").is_file()


def test_no_page_process_while_another_thread_runs():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert PageProcess.start() is None  # a fork copies only the calling thread
    finally:
        stop.set()
        other.join()
