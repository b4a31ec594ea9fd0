"""pedgis QGIS plugin: a Processing provider and boundary tools, thin over the pedgis library.

The installable zip built by ``make plugin`` carries the pedgis library in ``libs/``; it is put
first on ``sys.path`` so the plugin always runs the library version it was built with. In a
development checkout (no ``libs/``) the pedgis installed in QGIS's Python is used. The Python
packages the library needs come from QGIS's Python or from the plugin's private folder
(deps.py, installer.py), which is put at the front of ``sys.path`` here.
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


def deps_folder() -> str:
    """The plugin-private folder of the Python packages pedgis needs (deps.private_folder)."""
    from qgis.core import QgsApplication

    from .deps import private_folder

    return private_folder(QgsApplication.qgisSettingsDirPath())


# the packages installed for pedgis come first on sys.path, before anything imports them
# (a failure here must not stop the plugin from loading: the check reports it)
try:
    from .deps import activate as _activate

    _activate(deps_folder())
except Exception:  # noqa: BLE001
    pass


def classFactory(iface):  # noqa: N802 (QGIS API name)
    """QGIS entry point: return the plugin object for ``iface``."""
    from .plugin import PedgisPlugin

    return PedgisPlugin(iface)
