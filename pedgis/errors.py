"""One exception hierarchy and the warning classes users can filter.

Every message says what is wrong, where (file, field or scenario key path) and how to fix it.
"""

from __future__ import annotations


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


class MissingDependencyError(PedgisError, ImportError):
    """An optional dependency is needed for this feature; the message gives the install command."""


class Cancelled(PedgisError):
    """The user cancelled a run through the progress callback (e.g. from QGIS)."""


class PedgisWarning(UserWarning):
    """Base class of pedgis warnings."""


class DataQualityWarning(PedgisWarning):
    """An input was repaired or a default was used; the building carries a flag."""


class CRSWarning(PedgisWarning):
    """A CRS was converted (geographic to UTM, vectors to the raster CRS)."""


class ResolutionWarning(PedgisWarning):
    """A raster is too coarse or too fine for the requested analysis."""
