"""Scale-out on Dask: ``--workers N`` (a LocalCluster on this machine) or ``--scheduler ADDRESS``
(any running Dask cluster: dask-jobqueue on HPC, Kubernetes, cloud).

The CLI opens the cluster around a command (:func:`cluster`); the code that has independent
pieces of work asks for it with :func:`current_client` and hands them out with
:func:`map_bounded`. Without a cluster everything runs in the calling process, and the numbers
are the same either way: a task is a pure function of its inputs.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterable, Iterator

from .errors import InputDataError
from .progress import ProgressCallback

_CLIENT: contextvars.ContextVar = contextvars.ContextVar("pedgis_dask_client", default=None)

#: Buildings per partition of steps 2–7 on a Dask cluster (in one process: one partition), and per
#: row group of the GeoParquet layers (pedgis/io/columnar.py).
CLUSTER_PARTITION = 100_000

#: how to get the cluster extra
INSTALL_HINT = "pip install 'pedgis[cluster]' (dask.distributed)"


def current_client():
    """The Dask client opened by :func:`cluster`, or None: run in this process."""
    return _CLIENT.get()


def _distributed():
    try:
        import distributed
    except ImportError as e:
        raise InputDataError(
            f"--workers and --scheduler need dask.distributed, which is not installed: {INSTALL_HINT}."
        ) from e
    return distributed


@contextlib.contextmanager
def cluster(workers: int | None = None, scheduler: str | None = None,
            memory_limit: str | None = None, say: Callable[[str], None] | None = None,
            connect_timeout: str = "10s") -> Iterator[object]:
    """Open a Dask client for the block: ``workers`` processes on this machine, or the cluster at
    ``scheduler``; with neither, yield None (everything runs here)."""
    if workers is None and scheduler is None:
        yield None
        return
    if workers is not None and scheduler is not None:
        raise InputDataError("give --workers N (a cluster on this machine) or --scheduler ADDRESS "
                             "(a running cluster), not both.")
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers or workers < 1):
        raise InputDataError(f"--workers {workers}: give a whole number of worker processes, 1 or more.")
    distributed = _distributed()
    with contextlib.ExitStack() as stack:
        if workers is not None:
            local = stack.enter_context(distributed.LocalCluster(
                n_workers=int(workers), threads_per_worker=1, processes=True,
                memory_limit=memory_limit or "auto", dashboard_address=":0",
                silence_logs=logging.ERROR))
            client = stack.enter_context(distributed.Client(local))
        else:
            try:
                client = stack.enter_context(distributed.Client(scheduler, timeout=connect_timeout))
            except (OSError, TimeoutError, ValueError) as e:
                raise InputDataError(
                    f"--scheduler {scheduler}: no Dask scheduler answered ({e}). Start one "
                    "(`dask scheduler`, dask-jobqueue, dask-kubernetes) and give its address, "
                    "e.g. tcp://10.0.0.5:8786."
                ) from e
        if say is not None:
            n = len(client.scheduler_info().get("workers", {}))
            link = _dashboard(client)
            say(f"Dask: {n} worker{'s' if n != 1 else ''}" + (f", dashboard {link}" if link else ""))
        token = _CLIENT.set(client)
        try:
            yield client
        finally:
            _CLIENT.reset(token)
        if say is not None:
            peaks = _worker_peaks_mb(client)
            if peaks:
                say(f"Dask: peak memory per worker {max(peaks):,.0f} MB (of {len(peaks)} workers)")


def peak_rss_mb() -> float | None:
    """This process's peak resident memory [MB] (runs on each worker); None where unknown."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _worker_peaks_mb(client) -> list[float]:
    try:
        return [v for v in client.run(peak_rss_mb).values() if v is not None]
    except Exception:  # a worker gone at the end only costs the report
        return []


def _dashboard(client) -> str | None:
    try:  # the dashboard needs bokeh, an optional dependency of distributed
        import bokeh  # noqa: F401
    except ImportError:
        return None
    return client.dashboard_link


def map_bounded(client, func: Callable, items: Iterable, n_items: int, shared, merge: Callable,
                progress: ProgressCallback, what: str = "tasks", in_flight_per_worker: int = 2) -> None:
    """``merge(i, item, func(item, shared))`` for every item, the calls on the cluster.

    ``shared`` is sent to every worker once; items are produced lazily and at most
    ``in_flight_per_worker`` per worker are out at a time, so this process holds only the items in
    flight (a city's DSM tiles are never all in memory here). ``merge`` runs in this process as
    results arrive, in any order.
    """
    distributed = _distributed()
    n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
    shared_f = client.scatter(shared, broadcast=True, hash=False)
    items = iter(enumerate(items))
    pending = {}
    done = distributed.as_completed()

    def submit_next() -> bool:
        try:
            i, item = next(items)
        except StopIteration:
            return False
        item_f = client.scatter(item, hash=False)
        fut = client.submit(func, item_f, shared_f, pure=False)
        pending[fut.key] = (i, item)
        done.add(fut)
        return True

    for _ in range(n_workers * in_flight_per_worker):
        if not submit_next():
            break
    finished = 0
    for fut in done:
        i, item = pending.pop(fut.key)
        merge(i, item, fut.result())  # a task's error is raised here, as in a local run
        fut.release()
        finished += 1
        progress(0.05 + 0.9 * finished / max(n_items, 1), f"{what}: {finished} of {n_items} on {n_workers} workers")
        submit_next()


def map_partitions(func: Callable, items: list, *shared, keep: bool = False) -> list:
    """``[func(item, *shared) for item in items]``, on the current cluster when there is one.

    On a cluster each item is one task (an item that is already a future stays on its worker),
    ``shared`` is sent to every worker once, and with ``keep`` the results stay on the workers:
    their futures are returned, to be mapped again (:func:`pedgis.pipeline.compute`'s two maps).
    """
    client = current_client()
    if client is None:
        return [func(item, *shared) for item in items]
    distributed = _distributed()
    shared_f = [client.scatter(x, broadcast=True, hash=False) for x in shared]
    futures = [client.submit(func, item if isinstance(item, distributed.Future) else client.scatter(item, hash=False),
                             *shared_f, pure=False)
               for item in items]
    if keep:
        return futures
    results = client.gather(futures)  # a task's error is raised here, as in a local run
    for fut in futures:
        fut.release()
    return results
