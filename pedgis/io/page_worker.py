"""The pages of a run drawn in a second process while the first one computes (``pedgis run``/``demo``).

On the sample district the pages (map, report, Sankey, time-series page) and their libraries
(folium, branca, plotly) are a third of what a user waits for, and the machine has a second core.
The command line forks a page process when it starts, before the run starts any thread. The
child first runs the job it is given (``first``: step 1's check and the rasters' range scan,
:class:`pedgis.pipeline.Step1Ahead`, while the parent reads the weather and the model), then
imports the page libraries while the parent computes. As soon as the roof model is done it
receives the irradiation grid and the roof segments and draws their map layers (while the parent
computes steps 2-7 and the hourly balance); then it receives the result through a pipe, writes
the pages into the output folder being written (the temporary folder of :mod:`pedgis.io.outdir`,
never anything else) and answers with "done" or with the error, which the parent raises as its
own. The parent writes the data files meanwhile. If the parent stops, the child is killed; if the
child dies, the run fails and no output folder is changed.

Used only where ``os.fork`` exists, from a process with no other Python thread, and for results
of at most :data:`MAX_BUILDINGS` buildings (a city's result is not worth copying: its pages are
drawn in the process that holds it). Everywhere else, and in QGIS, the pages are drawn in process.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection, Pipe
from pathlib import Path

from ..errors import PedgisError, issue_again

#: Results with more buildings than this are drawn in process (copying them costs more than it saves).
MAX_BUILDINGS = 20_000

# what the page process imports while the parent computes
PAGE_MODULES = ("pedgis.viz.maps", "pedgis.viz.report", "pedgis.viz.sankey", "pedgis.viz.styles",
                "pedgis.viz.gap", "pedgis.timeseries.charts", "folium", "folium.map", "branca.element", "jinja2",
                "plotly.graph_objects", "plotly.subplots", "plotly.offline", "plotly.io", "rasterio.warp",
                "pyproj", "geopandas", "pyogrio")


class PageProcessError(PedgisError, RuntimeError):
    """The page process failed without an error that could be sent back (it died, or the error
    could not be pickled)."""


class PageProcess:
    """A forked process that draws one run's pages: :meth:`start`, :meth:`submit`, :meth:`wait`."""

    def __init__(self, pid: int, conn: Connection):
        self.pid = pid
        self._conn = conn
        self._finished = False
        self._prepared = None  # the roof model's result whose grid the child has (prepare)

    @classmethod
    def start(cls, draw: Callable, first: Callable | None = None) -> PageProcess | None:
        """Fork the page process, which will call ``draw(result, folder, images, prepared)``
        (:func:`pedgis.io.outputs.write_pages`); None where that is not possible or not safe (no
        ``os.fork``, or another Python thread is running: a fork copies only the calling thread).
        ``first``: a job the child runs as soon as it starts, before importing the page
        libraries (:class:`pedgis.pipeline.Step1Ahead`); its outcome is :meth:`first_outcome`."""
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return None
        parent_end, child_end = Pipe(duplex=True)
        pid = os.fork()
        if pid == 0:  # the child never returns: it ends with os._exit
            parent_end.close()
            _child_main(child_end, draw, first)
        child_end.close()
        return cls(pid, parent_end)

    def first_outcome(self, replay: bool = True):
        """What the ``first`` job returned, its warnings issued again here (where the job raised
        them) and its error raised here; ``replay=False`` only takes it off the pipe."""
        status, outcome, caught = self._receive("the page process stopped before finishing its first job")
        if not replay:
            return None
        issue_again(caught)
        if status == "error":
            raise outcome
        return outcome

    def accepts(self, result) -> bool:
        """Whether this result's pages go to the page process (see :data:`MAX_BUILDINGS`)."""
        return len(result.buildings) <= MAX_BUILDINGS

    def prepare(self, roof) -> None:
        """Send the roof model's irradiation grid and roof segments as soon as they are computed:
        the child draws their map layers (:func:`pedgis.viz.maps.roof_layers`) while this process
        computes steps 2-7 and the hourly balance. A city's grid on disk, or a city's roofs, are
        left to the pages themselves."""
        grid = _pages_grid(roof)
        if grid is roof or len(getattr(roof, "buildings", ())) > MAX_BUILDINGS or self._prepared is not None:
            return
        self._send(("roof", (grid, roof.segments)))
        self._prepared = roof

    def submit(self, result, folder: Path, images: bool) -> None:
        """Send the result (:func:`for_pages`): the child starts drawing into ``folder``."""
        self._send(("result", (for_pages(result, self._prepared), Path(folder), bool(images))))

    def _send(self, message) -> None:
        try:
            self._conn.send(message)
        except OSError as exc:
            self.close()
            raise PageProcessError(f"the process drawing the pages is gone ({exc})") from None

    def wait(self) -> None:
        """Wait for the pages; raise the child's error, if any."""
        try:
            status, payload = self._receive("the process drawing the pages stopped before finishing")
        finally:
            self._finished = True
            self.close()
        if status == "error":
            raise payload

    def _receive(self, gone: str):
        """The child's next answer; ``gone`` (what stopped) starts the error when there is none."""
        try:
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            self._finished = True
            self.close()
            raise PageProcessError(f"{gone} ({exc or 'no answer'})") from None

    def close(self) -> None:
        """End the child (killed if its pages are not finished or were never asked for) and reap it."""
        if self.pid is None:
            return
        self._conn.close()
        if not self._finished:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(self.pid, 0)
        self.pid = None


class _Sent:
    """Stands, in the result sent, for a part the child already has (the roof model's grid or
    segments, sent by :meth:`PageProcess.prepare`)."""


def for_pages(result, prepared=None):
    """The result as the pages read it: the roof model's irradiation grid as ``(array, profile)``,
    without its sky-view grid and hourly series, and without the run's hourly series (the pages
    draw ``district["timeseries"]``); on the sample 6 MB to copy instead of 20 MB. The grid and
    the roof segments of ``prepared`` (the roof model's result, sent before) go as :class:`_Sent`."""
    import dataclasses

    roof, segments = getattr(result, "irradiation", None), getattr(result, "roof_segments", None)
    sent = roof is not None and roof is prepared
    return dataclasses.replace(
        result, irradiation=_Sent() if sent else _pages_grid(roof), hourly=None,
        roof_segments=_Sent() if sent and segments is not None and segments is roof.segments else segments)


def _pages_grid(roof):
    """The roof model's in-memory irradiation grid as ``(array, profile)``; anything else (None,
    a city's grid on disk, a :class:`pedgis.io.roof_grids.GridFile`: a path) as it is."""
    import numpy as np

    grid = getattr(roof, "irradiation", None)
    if isinstance(grid, np.ndarray) and hasattr(roof, "transform"):
        return grid, {"transform": roof.transform, "crs": roof.crs, "nodata": None}
    return roof


@contextmanager
def page_process(draw: Callable, first: Callable | None = None) -> Iterator[PageProcess | None]:
    """A page process drawing with ``draw`` (and running ``first`` as it starts,
    :meth:`PageProcess.start`) for the duration of a command (None where one cannot be forked);
    it is killed, if still running, when the block ends."""
    pages = PageProcess.start(draw, first)
    try:
        yield pages
    finally:
        if pages is not None:
            pages.close()


def _child_main(conn: Connection, draw: Callable, first: Callable | None = None) -> None:
    """The page process: run the ``first`` job and answer, import the page libraries, wait for
    one result, draw its pages, answer."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it kills this process
        import importlib

        if first is not None:
            _run_first(conn, first)

        try:
            for name in PAGE_MODULES:
                importlib.import_module(name)
            _warm_up()
            gc.freeze()  # what is loaded stays: the collections while drawing skip it
            failure = None
        except Exception as exc:  # told to the parent when it asks for pages
            failure = exc
        grid = segments = prepared = None
        try:
            kind, payload = conn.recv()
            if kind == "roof":  # the roof model is done: draw its map layers meanwhile
                grid, segments = payload
                if failure is None:
                    try:
                        from ..viz.maps import roof_layers

                        prepared = roof_layers(grid, segments)
                    except Exception as exc:  # the pages' error, told when they are asked for
                        failure = exc
                kind, payload = conn.recv()
        except EOFError:  # the parent ended without pages (an error, or nothing to draw)
            code = 0
            return
        try:
            if failure is not None:
                raise failure
            result, folder, images = payload
            if isinstance(result.irradiation, _Sent):
                result.irradiation = grid
            if isinstance(result.roof_segments, _Sent):
                result.roof_segments = segments
            draw(result, folder, images, prepared)
            answer = ("done", None)
        except BaseException as exc:  # sent to the parent, which raises it
            answer = ("error", exc)
        try:
            conn.send(answer)
        except Exception as exc:  # the error itself could not be pickled: send its text
            conn.send(("error", PageProcessError(f"drawing the pages failed: {type(answer[1]).__name__}: "
                                                 f"{answer[1]} ({exc})")))
        code = 0
    finally:
        os._exit(code)  # never run the parent's exit handlers (or pytest's) in the child


def _run_first(conn: Connection, first: Callable) -> None:
    """Run ``first``, sending back (status, outcome, the warnings it raised) or, when its outcome
    cannot be pickled, the error saying so."""
    from ..errors import portable, recorded_warnings

    with recorded_warnings() as caught:
        try:
            status, outcome = "done", first()
        except BaseException as exc:  # raised by the parent when it takes the outcome
            status, outcome = "error", exc
    said = portable(caught)
    try:
        conn.send((status, outcome, said))
    except Exception as exc:
        conn.send(("error", PageProcessError(f"the page process's first job: {type(outcome).__name__}: {outcome} "
                                             f"(could not be sent back: {exc})"), said))


def _warm_up() -> None:
    """Do, before a result arrives, the first-use work that does not depend on it: compile the
    report's own template and load the plotly classes, validators and template the pages use
    (plotly loads them lazily, on the first figure of each kind)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from ..viz.report import report_template

    report_template()
    layout = {"template": "plotly_white", "height": 380, "legend": {"orientation": "h"},
              "margin": {"l": 10, "r": 10, "t": 10, "b": 10}}
    figures = [go.Figure(go.Sankey(node={"label": ["a", "b"]}, link={"source": [0], "target": [1], "value": [1.0]}),
                         layout=layout),
               go.Figure([go.Bar(x=[1], y=[1]), go.Scatter(x=[1], y=[1], mode="lines+markers")], layout=layout),
               make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=("a", "b"))]
    figures[-1].add_trace(go.Scatter(x=[1], y=[1]), row=1, col=2)
    figures[-1].update_layout(**layout)
    figures[-1].update_xaxes(title_text="h")
    figures[-1].add_annotation(text="a", x=0, y=0)
    for fig in figures:
        fig.to_html(include_plotlyjs=False, full_html=False)
