"""Progress reporting through a callback ``progress(fraction, message)``.

The callback may raise :class:`pedgis.errors.Cancelled` (QGIS does when the user presses
Cancel); long loops call it often enough for that to be prompt.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    """The default callback: does nothing."""


def scaled(progress: ProgressCallback | None, start: float, stop: float) -> ProgressCallback:
    """A callback mapping 0..1 of a sub-task onto ``start..stop`` of the parent's range."""
    parent = progress or no_progress

    def report(fraction: float, message: str) -> None:
        parent(start + (stop - start) * min(max(fraction, 0.0), 1.0), message)

    return report
