"""The page process (pedgis/io/page_worker.py): the pages it draws are the pages drawn in process,
its errors are the run's errors, and it never outlives the command or changes a folder on failure.

A page process is forked only from a process with no other Python thread, and a test session
has some (Dask's, from earlier tests), so each case runs in a fresh interpreter like the
`pedgis` command, on the sample's result pickled by this process. The expected pages come from
the same result drawn in this process (no page process here); folium's element ids are random per
drawing and the report's minute of writing may differ: both are masked before comparing."""

import pickle
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from pedgis.io.outputs import write_outputs
from pedgis.io.page_worker import PageProcess

ROOT = Path(__file__).resolve().parents[1]
FOLIUM_ID = re.compile(rb"[0-9a-f]{32}")
#: the report's "written by pedgis ... on <minute> UTC": two drawings may fall in two minutes
WRITTEN_AT = re.compile(rb"on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


def _masked(page: bytes) -> bytes:
    return WRITTEN_AT.sub(b"on WHEN", FOLIUM_ID.sub(b"ID", page))
PRELUDE = """
import os, pickle, sys
import pedgis.io.outputs as outputs
import pedgis.io.page_worker as page_worker
from pedgis.errors import InputDataError
from pedgis.io.outputs import write_outputs
from pedgis.io.page_worker import PageProcessError, page_process
with open(sys.argv[1], "rb") as f:
    result = pickle.load(f)
out = sys.argv[2]
"""


@pytest.fixture(scope="module")
def result_file(sample_result, tmp_path_factory):
    path = tmp_path_factory.mktemp("result") / "result.pickle"
    path.write_bytes(pickle.dumps(sample_result))
    return path


def _fresh(code: str, result_file: Path, out: Path) -> str:
    """Run ``code`` after PRELUDE in a new interpreter (no thread: the page process can fork)."""
    r = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code), str(result_file), str(out)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".pedgis-manifest.json"}


@pytest.mark.parametrize("prepared", [False, True], ids=["result", "roof-first"])
def test_pages_from_the_page_process_are_the_pages_drawn_in_process(sample_result, result_file, tmp_path, prepared):
    """roof-first: the roof model's grid and segments are sent as soon as they are computed (what
    `pedgis run` does), and the child draws their map layers before the result arrives."""
    said = _fresh(f"""
        with page_process(outputs.write_pages) as pages:
            assert pages is not None and pages.accepts(result)
            child = pages.pid
            if {prepared}:
                pages.prepare(result.irradiation)
            write_outputs(result, out, pages=pages)
        print(child, os.getpid())
    """, result_file, tmp_path / "forked")
    child, parent = map(int, said.split())
    assert child != parent
    write_outputs(sample_result, tmp_path / "here")
    forked, here = _files(tmp_path / "forked"), _files(tmp_path / "here")
    assert sorted(forked) == sorted(here)
    assert {"map.html", "report.html", "sankey.html", "timeseries.html"} <= set(forked)
    for name in forked:
        if name.endswith(".html"):
            assert _masked(forked[name]) == _masked(here[name]), name
        elif name in ("district.json", "timeseries.parquet"):
            assert forked[name] == here[name], name
    # the QGIS styles are stored after the pages, by the parent, in the GeoPackage it wrote
    import pyogrio

    styles = pyogrio.read_dataframe(tmp_path / "forked" / "buildings.gpkg", layer="layer_styles")
    assert set(styles["f_table_name"]) >= {"buildings", "roof_segments"}


def _previous_outputs(sample_result, folder: Path) -> dict[str, bytes]:
    write_outputs(sample_result, folder, viz=False)
    return _files(folder)


@pytest.mark.parametrize("draw,error,message", [
    # an error drawing the pages is the run's error
    ("def draw(result, where, images=False, prepared=None):\n    raise InputDataError(f'{where.name}: a page could not be drawn')",
     "InputDataError", "a page could not be drawn"),
    # a page process that dies fails the run
    ("def draw(result, where, images=False, prepared=None):\n    os._exit(3)", "PageProcessError", "stopped before finishing"),
], ids=["error", "dies"])
def test_a_page_failure_fails_the_run_and_changes_nothing(sample_result, result_file, tmp_path, draw, error, message):
    folder = tmp_path / "out"
    before = _previous_outputs(sample_result, folder)
    said = _fresh(draw + f"""
with page_process(draw) as pages:  # the child draws with it, the parent never does
    assert pages is not None
    try:
        write_outputs(result, out, pages=pages)
    except {error} as exc:
        print("raised:", exc)
""", result_file, folder)
    assert "raised:" in said and message in said
    assert _files(folder) == before


def test_the_page_process_ends_with_the_command_even_unused(result_file, tmp_path):
    said = _fresh("""
        with page_process(outputs.write_pages) as pages:
            pid = pages.pid
            os.kill(pid, 0)  # alive
        try:
            os.kill(pid, 0)
            print("alive")
        except ProcessLookupError:
            print("gone")  # killed and reaped: no zombie either
    """, result_file, tmp_path / "out")
    assert said.strip() == "gone"


def test_a_city_result_is_drawn_in_process(result_file, tmp_path):
    said = _fresh("""
        page_worker.MAX_BUILDINGS = len(result.buildings) - 1
        original, drawn = outputs.write_pages, []

        def spy(result, where, images=False):
            drawn.append(os.getpid())
            return original(result, where, images)

        outputs.write_pages = spy
        with page_process(outputs.write_pages) as pages:
            assert pages is not None and not pages.accepts(result)
            write_outputs(result, out, pages=pages)
        print(drawn == [os.getpid()])
    """, result_file, tmp_path / "out")
    assert said.strip() == "True"
    assert (tmp_path / "out" / "map.html").is_file()


def test_no_page_process_while_another_thread_runs():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert PageProcess.start(print) is None  # a fork copies only the calling thread
    finally:
        stop.set()
        other.join()


def test_the_command_line_draws_its_pages_in_a_page_process(tmp_path):
    """`python -m pedgis run` in a fresh process: the page process is forked (the pages are drawn
    in another process than the one writing the data files), it is sent the irradiation grid
    and roof segments before the result, and every page is there."""
    probe = tmp_path / "pids"
    code = textwrap.dedent(f"""
        import os, sys
        import pedgis.io.outputs as outputs
        original = outputs.write_pages
        def spy(result, where, images=False, prepared=None):
            layers = [k for k, v in vars(prepared or object()).items() if v is not None]
            with open({str(probe)!r}, "a") as f:
                f.write(f"{{os.getpid()}} {{os.getppid()}} {{','.join(layers)}}\\n")
            return original(result, where, images, prepared)
        outputs.write_pages = spy
        from pedgis.cli import console_main
        sys.exit(console_main())
    """)
    command = subprocess.Popen([sys.executable, "-c", code, "run", str(ROOT / "sample_data" / "scenario.toml"),
                                "--quiet", "--out", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = command.communicate(timeout=300)
    assert command.returncode == 0, err
    pid, ppid, layers = probe.read_text().split()
    assert int(ppid) == command.pid and int(pid) != command.pid  # drawn once, in a child of the command's process
    assert layers == "irradiation,segments"  # drawn by the child as soon as the roof model was done
    assert {"map.html", "report.html", "sankey.html", "timeseries.html"} <= {p.name for p in (tmp_path / "out").iterdir()}


def test_the_page_process_is_sent_only_what_the_pages_read(sample_result):
    """The roof model's irradiation grid goes as the raster the map draws; its sky-view grid and
    hourly series, and the run's hourly series, stay in the command's process."""
    import numpy as np

    from pedgis.io.page_worker import for_pages
    from pedgis.viz.inputs import load_inputs

    slim = for_pages(sample_result)
    full, sent = load_inputs(sample_result).irradiation, load_inputs(slim).irradiation
    np.testing.assert_array_equal(sent.array, full.array)
    assert (sent.transform, sent.crs, sent.nodata) == (full.transform, full.crs, full.nodata)
    assert sample_result.hourly is not None and slim.hourly is None
    assert slim.buildings is sample_result.buildings and slim.district is sample_result.district
    assert len(pickle.dumps(slim)) < 0.4 * len(pickle.dumps(sample_result))
