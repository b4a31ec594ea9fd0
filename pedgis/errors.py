"""One exception hierarchy and the warning classes users can filter.

Every message says what is wrong, where (file, field or scenario key path) and how to fix it.
"""

from __future__ import annotations

from contextlib import contextmanager


class PedgisError(Exception):
    """Base class of every error pedgis raises on purpose."""


class InputDataError(PedgisError, ValueError):
    """An input file or value is unusable; the message names it and the fix."""


class ConfigError(InputDataError):
    """A scenario file problem; ``key`` is the dotted key path (e.g. ``systems.hp.scop``)."""

    def __init__(self, message: str, key: str | None = None):
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)


class CRSError(InputDataError):
    """A missing, unusable or mismatching coordinate reference system."""


class OutputFolderError(InputDataError):
    """An output folder pedgis may not or cannot write (not its own, an input inside, disk full, ...)."""


class MissingDependencyError(PedgisError, ImportError):
    """An optional dependency is needed for this feature; the message gives the install command."""


class Cancelled(PedgisError):
    """The user cancelled a run through the progress callback (e.g. from QGIS)."""


def describe_os_error(exc: OSError, writing: bool | None = True) -> tuple[str, str]:
    """What an operating-system error means for the user and how to fix it: (reason, fix).

    ``writing``: True for outputs, False for inputs, None when unknown."""
    import errno

    e = exc.errno
    if e in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return "the disk is full", "free some space, or choose a folder on another disk"
    if e in (errno.EACCES, errno.EPERM):
        if writing is None:
            return "permission denied", "check that you may read it (an input) or write there (an output)"
        if not writing:
            return "permission denied", "make the file readable for you (e.g. chmod u+r) or use a copy of it"
        return "permission denied", "choose a folder you may write to, or ask for write permission on it"
    if e == errno.EROFS:
        return "the file system is read-only", "choose a folder on a writable disk"
    if e == errno.ENOTDIR:
        return "a part of the path is a file, not a folder", "check the path"
    if e == errno.EISDIR:
        return "it is a folder, not a file", "give the file inside the folder"
    if e == errno.ENAMETOOLONG:
        return "the name is too long", "choose a shorter path"
    if e == errno.ENOENT:
        return "it does not exist", "check the path"
    return exc.strerror or str(exc), "check the path and the disk"


class PedgisWarning(UserWarning):
    """Base class of pedgis warnings."""


class DataQualityWarning(PedgisWarning):
    """An input was repaired or a default was used; the building carries a flag."""


class CRSWarning(PedgisWarning):
    """A CRS was converted (geographic to UTM, vectors to the raster CRS)."""


class ResolutionWarning(PedgisWarning):
    """A raster is too coarse or too fine for the requested analysis."""


def library_warning_text(message, category, filename: str = "", where: str | None = None) -> str:
    """One line for a warning a library raised (pyogrio, rasterio, pandas, numpy, ...): the file
    it concerns when known, the message, and which library said it — never a file:line prefix."""
    from pathlib import Path

    parts = Path(filename or "").parts
    lib = parts[parts.index("site-packages") + 1] if "site-packages" in parts[:-1] else Path(filename or "python").stem
    text = " ".join(str(message).split())
    return f"{where + ': ' if where else ''}{text} ({category.__name__} from {lib})"


#: Warnings about a library's own code (deprecations), not about the user's data: never shown.
LIBRARY_CHANGE_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


@contextmanager
def recorded_warnings():
    """``warnings.catch_warnings(record=True)`` that records every warning (but a library's
    deprecation notices, :data:`LIBRARY_CHANGE_WARNINGS`) each time it is raised."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for category in LIBRARY_CHANGE_WARNINGS:
            warnings.simplefilter("ignore", category)
        yield caught


def portable(caught) -> list[tuple]:
    """Recorded warnings (:func:`recorded_warnings`) as ``(text, class, file, line)``, to send to
    another process, which issues them again with :func:`issue_again`."""
    return [(str(w.message), w.category, w.filename, w.lineno) for w in caught]


def issue_again(said) -> None:
    """Issue warnings recorded in another process (:func:`portable`) here, where they were raised
    (file and line kept; one repeated from the same line is shown once, as it would have been)."""
    import warnings

    seen: dict = {}
    for text, category, filename, lineno in said:
        warnings.warn_explicit(text, category, filename, lineno, registry=seen)


@contextmanager
def warnings_about(where: str):
    """Within the block, a library's warning comes out as a :class:`DataQualityWarning` naming
    ``where`` (the file being read); pedgis' own warnings pass unchanged."""
    import warnings

    with recorded_warnings() as caught:
        yield
    seen = set()
    for w in caught:
        if (w.category, str(w.message)) in seen:  # libraries often repeat themselves (per layer, per read)
            continue
        seen.add((w.category, str(w.message)))
        if issubclass(w.category, PedgisWarning):
            warnings.warn(w.message, w.category, stacklevel=3)
        else:
            warnings.warn(library_warning_text(w.message, w.category, w.filename, where), DataQualityWarning,
                          stacklevel=3)
