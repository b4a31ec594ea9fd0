"""pedgis QGIS plugin: a Processing provider and boundary tools, thin over the pedgis library.

The installable zip built by ``make plugin`` carries the pedgis library in ``libs/``; it is put
first on ``sys.path`` so the plugin always runs the library version it was built with. In a
development checkout (no ``libs/``) the pedgis installed in QGIS's Python is used.
"""

from __future__ import annotations

import configparser
import os
import sys

_META = configparser.ConfigParser(interpolation=None)
_META.read(os.path.join(os.path.dirname(__file__), "metadata.txt"), encoding="utf-8")
__version__ = _META.get("general", "version", fallback="0")

_LIBS = os.path.join(os.path.dirname(__file__), "libs")
if os.path.isdir(_LIBS) and _LIBS not in sys.path:
    sys.path.insert(0, _LIBS)


def classFactory(iface):  # noqa: N802 (QGIS API name)
    """QGIS entry point: return the plugin object for ``iface``."""
    from .plugin import PedgisPlugin

    return PedgisPlugin(iface)
