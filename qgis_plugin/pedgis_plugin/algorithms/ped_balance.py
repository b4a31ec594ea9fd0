"""Processing algorithm: the PED balance (all 8 steps) → the contract outputs, styled layers."""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessingOutputBoolean,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
)

from .. import styles
from .base import list_gpkg_layers
from .district import DistrictAlgorithm
from .inputs import FACTOR_SETS, HEAT_SUPPLY


class PedBalanceAlgorithm(DistrictAlgorithm):
    """PED balance on a buildings layer: the MAKING-CITY methodology's 8 steps."""

    NAME = "pedbalance"
    DISPLAY = "PED balance"
    HELP = (
        "Runs the 8 steps of the MAKING-CITY methodology (Gabaldón Moreno et al., Sustainability "
        "2021, 13, 710) on a buildings layer and tells whether the district is a Positive Energy "
        "District: the primary energy balance PEI − PEE (Eq. 17) is negative for a positive "
        "district.\n\n"
        "Buildings: any polygon layer; with 'Selected features only' just the selection is used. "
        "Or a 3D city model file (CityGML LoD2, CityJSON): its buildings, floors and roof planes "
        "(rooftop PV from the model's own roofs and shading, no DSM needed). "
        "Boundary: a polygon layer (default: the PED boundary layer drawn with the pedgis tools); "
        "a boundary made from selected buildings is a functional boundary (its building ids). "
        "DSM/DTM: optional roof rasters for heights and rooftop PV. Weather: an hourly year (EPW, "
        "TMY3 or PVGIS TMY). Scenario: an optional pedgis scenario file (TOML); the fields and "
        "choices in this dialog override its keys.\n\n"
        "Outputs in the folder: district.json, buildings.gpkg (layers buildings, boundary, "
        "roof_segments), irradiation.tif, map.html, sankey.html, report.html. The buildings are "
        "loaded coloured by PED balance (blue: net exporters of primary energy, red: net "
        "importers), the roof segments by irradiation."
    )

    # inputs: BUILDINGS, ID_FIELD, USE_FIELD, FLOORS_FIELD, HEIGHT_FIELD, BOUNDARY, DSM, DTM,
    # WEATHER, SCENARIO from DistrictAlgorithm, and
    HEAT_SUPPLY = "HEAT_SUPPLY"
    FACTOR_SET = "FACTOR_SET"
    PERFORMANCE_RATIO = "PERFORMANCE_RATIO"
    OPEN_REPORT = "OPEN_REPORT"
    OUTPUT = "OUTPUT"

    # outputs
    OUTPUT_BUILDINGS = "OUTPUT_BUILDINGS"
    OUTPUT_DISTRICT = "OUTPUT_DISTRICT"
    OUTPUT_REPORT = "OUTPUT_REPORT"
    PED_BALANCE = "PED_BALANCE_KWH"
    IS_PED = "IS_PED"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_district_parameters(weather=True)
        self.addParameter(
            QgsProcessingParameterEnum(
                self.HEAT_SUPPLY, self.tr("Space heating and hot water supply"),
                options=[self.tr(label) for label, _ in HEAT_SUPPLY], defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.FACTOR_SET, self.tr("Primary energy factors"),
                options=[self.tr(label) for label, _ in FACTOR_SETS], defaultValue=0,
            )
        )
        pr = QgsProcessingParameterNumber(
            self.PERFORMANCE_RATIO, self.tr("PV performance ratio [-] (empty: scenario)"),
            QgsProcessingParameterNumber.Type.Double, optional=True, minValue=0.01, maxValue=1.0,
        )
        self.addParameter(pr)
        self.addParameter(
            QgsProcessingParameterBoolean(self.OPEN_REPORT, self.tr("Open the report when done"), defaultValue=False)
        )
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, self.tr("Output folder")))

        self.addOutput(QgsProcessingOutputFolder(self.OUTPUT, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile(self.OUTPUT_BUILDINGS, self.tr("buildings.gpkg")))
        self.addOutput(QgsProcessingOutputFile(self.OUTPUT_DISTRICT, self.tr("district.json")))
        self.addOutput(QgsProcessingOutputFile(self.OUTPUT_REPORT, self.tr("Report (HTML)")))
        self.addOutput(QgsProcessingOutputNumber(self.PED_BALANCE, self.tr("PED balance [kWh/a]")))
        self.addOutput(QgsProcessingOutputBoolean(self.IS_PED, self.tr("Positive Energy District")))

    # -- run --------------------------------------------------------------------------------
    def process(self, parameters, context, feedback):
        from pedgis.io.outdir import prepare_output, scenario_inputs
        from pedgis.io.outputs import write_outputs
        from pedgis.pipeline import run

        output_dir = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        scenario = self.scenario(
            parameters, context, feedback, output_dir,
            heat_supply=self.parameterAsEnum(parameters, self.HEAT_SUPPLY, context),
            factor_set=self.parameterAsEnum(parameters, self.FACTOR_SET, context),
            performance_ratio=self.optional_number(parameters, self.PERFORMANCE_RATIO, context),
        )
        progress = self.progress_callback(feedback)
        # the output folder is checked (pedgis's own, empty or new; no input inside) before computing
        folder = self.call_library(prepare_output, feedback, output_dir, scenario_inputs(scenario),
                                   "QGIS pedgis:pedbalance")
        with folder:
            result = self.call_library(run, feedback, scenario, progress=progress)
            self.call_library(write_outputs, feedback, result, folder)
        self.report_path = os.path.join(output_dir, "report.html")
        self.open_report = self.parameterAsBoolean(parameters, self.OPEN_REPORT, context)

        gpkg = os.path.join(output_dir, "buildings.gpkg")
        self.load_output_layers(context, output_dir)
        district = result.district
        feedback.pushInfo(
            self.tr("PED balance {b:,.0f} kWh/a: {verdict}.").format(
                b=district["ped_balance_kwh"],
                verdict=self.tr("a Positive Energy District") if district["is_ped"] else self.tr("not yet a PED"),
            )
        )
        return {
            self.OUTPUT: output_dir,
            self.OUTPUT_BUILDINGS: gpkg,
            self.OUTPUT_DISTRICT: os.path.join(output_dir, "district.json"),
            self.OUTPUT_REPORT: self.report_path if os.path.exists(self.report_path) else "",
            self.PED_BALANCE: float(district["ped_balance_kwh"]),
            self.IS_PED: bool(district["is_ped"]),
        }

    def load_output_layers(self, context, output_dir):
        """Styled layers: buildings by PED balance and the boundary shown; roof segments and the
        irradiation raster (when computed) loaded but unticked, so the balance stays visible."""
        gpkg = os.path.join(output_dir, "buildings.gpkg")
        layers = list_gpkg_layers(gpkg)
        if "buildings" in layers:
            self.load_on_completion(context, f"{gpkg}|layername=buildings", self.tr("PED balance per building"),
                                    styles.style_buildings_balance)
        if "roof_segments" in layers:
            self.load_on_completion(context, f"{gpkg}|layername=roof_segments", self.tr("Roof segments (irradiation)"),
                                    styles.hidden(styles.style_roof_segments))
        if "boundary" in layers:
            self.load_on_completion(context, f"{gpkg}|layername=boundary", self.tr("District boundary"),
                                    styles.style_boundary)
        tif = os.path.join(output_dir, "irradiation.tif")
        if os.path.exists(tif):
            self.load_on_completion(context, tif, self.tr("Roof irradiation [kWh/m²·a]"),
                                    styles.hidden(styles.style_irradiation), kind="raster")

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802
        if getattr(self, "open_report", False) and os.path.exists(self.report_path):
            from qgis.PyQt.QtCore import QUrl
            from qgis.PyQt.QtGui import QDesktopServices

            QDesktopServices.openUrl(QUrl.fromLocalFile(self.report_path))
        return {}

