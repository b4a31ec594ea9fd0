"""Processing algorithm: re-render the web map (and the pages embedding it) of an output folder."""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingOutputFile,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterString,
)

from .base import PedgisAlgorithm

#: the web map's indicators (``pedgis.viz.maps.INDICATORS``; a test keeps them in step), listed
#: here so that QGIS does not import the map code when it starts
INDICATORS = [
    ("ped_balance_kwh", "PED balance PEI − PEE"),
    ("needs_kwh", "Energy needs"),
    ("needs_kwh_m2", "Energy needs per floor area"),
    ("pv_kwh", "Rooftop PV potential"),
    ("pv_kwh_m2", "Rooftop PV per m² of roof"),
    ("roof_irradiation_kwh_m2", "Roof irradiation"),
    ("floor_area_m2", "Floor area"),
    ("flags", "Data-quality flags"),
]


class WebMapAlgorithm(PedgisAlgorithm):
    """map.html from an output folder of the PED balance (or of `pedgis run`)."""

    NAME = "webmap"
    DISPLAY = "Web map"
    HELP = (
        "Draws the web map of a pedgis output folder (the folder of the PED balance algorithm or "
        "of `pedgis run`: district.json, buildings.gpkg, optionally irradiation.tif), opening "
        "with the chosen indicator: the district boundary, buildings coloured by the indicator "
        "with a legend, roof segments and the irradiation raster when present, popups with each "
        "building's numbers and flags, and the district verdict. The page works offline "
        "(Leaflet is inlined); a basemap is added only when asked (it then needs internet when "
        "viewed). The Sankey diagram and the report, which embeds the map, are redrawn too, "
        "like `pedgis map OUT_DIR`."
    )

    FOLDER = "FOLDER"
    INDICATOR = "INDICATOR"
    BASEMAP = "BASEMAP"
    TITLE = "TITLE"
    OPEN = "OPEN"
    MAP = "MAP"
    REPORT = "REPORT"
    SANKEY = "SANKEY"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(
            QgsProcessingParameterFile(
                self.FOLDER, self.tr("pedgis output folder"), behavior=QgsProcessingParameterFile.Behavior.Folder
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.INDICATOR, self.tr("Indicator the map opens with"),
                options=[self.tr(label) for _, label in INDICATORS], defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.BASEMAP, self.tr("OpenStreetMap basemap (needs internet when viewing)"), defaultValue=False
            )
        )
        self.addParameter(QgsProcessingParameterString(self.TITLE, self.tr("Title"), optional=True))
        self.addParameter(
            QgsProcessingParameterBoolean(self.OPEN, self.tr("Open the map when done"), defaultValue=False)
        )
        self.addOutput(QgsProcessingOutputFile(self.MAP, self.tr("Web map (map.html)")))
        self.addOutput(QgsProcessingOutputFile(self.SANKEY, self.tr("Sankey diagram (sankey.html)")))
        self.addOutput(QgsProcessingOutputFile(self.REPORT, self.tr("Report (report.html)")))

    def process(self, parameters, context, feedback):
        from pedgis.viz import redraw

        folder = self.parameterAsFile(parameters, self.FOLDER, context)
        indicator = INDICATORS[self.parameterAsEnum(parameters, self.INDICATOR, context)][0]
        title = self.parameterAsString(parameters, self.TITLE, context) or None
        basemap = "osm" if self.parameterAsBoolean(parameters, self.BASEMAP, context) else None
        self.call_library(
            redraw, feedback, folder, indicator=indicator, basemap=basemap, title=title,
            progress=self.progress_callback(feedback), command="QGIS pedgis:webmap",
        )
        self.map_path = os.path.join(folder, "map.html")
        self.open_map = self.parameterAsBoolean(parameters, self.OPEN, context)
        return {
            self.MAP: self.map_path,
            self.SANKEY: os.path.join(folder, "sankey.html"),
            self.REPORT: os.path.join(folder, "report.html"),
        }

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        if getattr(self, "open_map", False) and os.path.exists(self.map_path):
            from qgis.PyQt.QtCore import QUrl
            from qgis.PyQt.QtGui import QDesktopServices

            QDesktopServices.openUrl(QUrl.fromLocalFile(self.map_path))
        return {}
