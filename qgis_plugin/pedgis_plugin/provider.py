"""The pedgis Processing provider."""

from __future__ import annotations

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .algorithms import ALGORITHMS

ICON = os.path.join(os.path.dirname(__file__), "icons", "pedgis.svg")


class PedgisProvider(QgsProcessingProvider):
    """PED balance, Rooftop PV potential, Floor areas and heights, Web map."""

    def id(self):
        return "pedgis"

    def name(self):
        return QCoreApplication.translate("pedgis", "pedgis (Positive Energy Districts)")

    def longName(self):  # noqa: N802
        from . import __version__

        return QCoreApplication.translate("pedgis", "pedgis {version}").format(version=__version__)

    def icon(self):
        return QIcon(ICON)

    def svgIconPath(self):  # noqa: N802
        return ICON

    def loadAlgorithms(self):  # noqa: N802
        for cls in ALGORITHMS:
            self.addAlgorithm(cls())
