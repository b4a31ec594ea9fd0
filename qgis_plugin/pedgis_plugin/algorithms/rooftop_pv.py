"""Processing algorithm: rooftop PV potential only (`pedgis pv`) → roof segments, per-building PV,
irradiation raster, as styled layers."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterRasterLayer,
)

from .. import styles
from .base import PedgisAlgorithm, list_gpkg_layers
from .district import SCENARIO_FILTER, WEATHER_FILTER, buildings_input, model_parameter


class RooftopPvAlgorithm(PedgisAlgorithm):
    """Per roof plane and per building PV (and solar thermal / PVT) potential from a DSM."""

    NAME = "rooftoppv"
    DISPLAY = "Rooftop PV potential"
    HELP = (
        "Step 4 from the roof raster, alone (like `pedgis pv`): slope and aspect per DSM pixel, "
        "shading from the DSM itself (horizon per pixel), hourly weather with an anisotropic sky, "
        "then per roof plane and per building the usable area, PV peak power and annual yield "
        "(plus solar thermal and PVT yields).\n\n"
        "Buildings: any polygon layer (selected features only if asked); id field optional (else "
        "'building_id' or the row number). Or a 3D city model file (CityGML LoD2, CityJSON such as "
        "3D BAG): its roof planes are the roofs and the model itself shades them, so the DSM is "
        "optional (given too, it adds trees and terrain). DSM: the surface model (1 m or finer); "
        "DTM: optional, adds roof heights. Instead of a DSM, a precomputed annual irradiation raster (UMEP SEBE, "
        "GRASS r.sun) can be given. Weather: an hourly year (EPW, TMY3, PVGIS TMY), or tick "
        "'Download PVGIS' (needs internet). Scenario: optional; its [solar] section sets module "
        "efficiency, thresholds, setbacks.\n\n"
        "Outputs in the folder: buildings.gpkg (layers buildings and roof_segments), "
        "buildings.parquet and roof_segments.parquet (GeoParquet), irradiation.tif [kWh/m²·a], "
        "pv.json (totals and assumptions), pv_hourly_kwh.parquet (hourly PV per building). "
        "Loaded: roof segments by irradiation, buildings by PV yield, the irradiation raster. "
        "Buildings outside the DSM get no value (NaN, flagged), never 0."
    )

    BUILDINGS = "BUILDINGS"
    BUILDINGS_MODEL = "BUILDINGS_MODEL"
    ID_FIELD = "ID_FIELD"
    DSM = "DSM"
    DTM = "DTM"
    IRRADIATION = "IRRADIATION"
    WEATHER = "WEATHER"
    PVGIS = "PVGIS"
    SCENARIO = "SCENARIO"
    OUTPUT = "OUTPUT"
    PV_KWH = "PV_KWH"
    PV_KWP = "PV_KWP"
    SUMMARY = "SUMMARY"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                self.BUILDINGS, self.tr("Buildings (footprints)"), [QgsProcessing.SourceType.TypeVectorPolygon],
                optional=True,
            )
        )
        self.addParameter(model_parameter(self, self.BUILDINGS_MODEL))
        self.addParameter(
            QgsProcessingParameterField(
                self.ID_FIELD, self.tr("Building id field"), parentLayerParameterName=self.BUILDINGS, optional=True
            )
        )
        self.addParameter(QgsProcessingParameterRasterLayer(self.DSM, self.tr("DSM (roof raster)"), optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(self.DTM, self.tr("DTM (terrain raster)"), optional=True))
        self.addParameter(
            QgsProcessingParameterRasterLayer(
                self.IRRADIATION, self.tr("Precomputed irradiation raster [kWh/m²·a] (instead of the DSM's sky model)"),
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.WEATHER, self.tr("Weather year (EPW, TMY3, PVGIS)"), optional=True, fileFilter=WEATHER_FILTER
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.PVGIS, self.tr("Download a PVGIS typical year for the district (needs internet)"),
                defaultValue=False,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.SCENARIO, self.tr("Scenario file with a [solar] section (TOML)"), optional=True,
                fileFilter=SCENARIO_FILTER,
            )
        )
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputFolder(self.OUTPUT, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile(self.SUMMARY, self.tr("pv.json")))
        self.addOutput(QgsProcessingOutputNumber(self.PV_KWH, self.tr("PV yield of all roofs [kWh/a]")))
        self.addOutput(QgsProcessingOutputNumber(self.PV_KWP, self.tr("PV peak power of all roofs [kWp]")))

    def process(self, parameters, context, feedback):
        from pedgis.solar.cli import run_pv

        out_dir = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        buildings, layer = buildings_input(self, parameters, context, feedback, self.BUILDINGS, self.BUILDINGS_MODEL)
        weather = self.parameterAsFile(parameters, self.WEATHER, context) or None
        if weather is None:
            if not self.parameterAsBoolean(parameters, self.PVGIS, context):
                raise QgsProcessingException(
                    self.tr("Rooftop PV needs an hourly weather year: choose an EPW, TMY3 or PVGIS file, "
                            "or tick 'Download a PVGIS typical year'.")
                )
            weather = "pvgis"
        args = argparse.Namespace(
            buildings=Path(buildings), layer=layer, crs=None,
            id_column=self.parameterAsString(parameters, self.ID_FIELD, context) or None,
            dsm=_path(self.raster_path(parameters, self.DSM, context)),
            dtm=_path(self.raster_path(parameters, self.DTM, context)),
            irradiation=_path(self.raster_path(parameters, self.IRRADIATION, context)),
            weather=weather,
            config=_path(self.parameterAsFile(parameters, self.SCENARIO, context) or None),
            out=Path(out_dir), quiet=True, _command_line="QGIS pedgis:rooftoppv",
        )
        self.call_library(run_pv, feedback, args, progress=self.progress_callback(feedback))

        gpkg = os.path.join(out_dir, "buildings.gpkg")
        layers = list_gpkg_layers(gpkg)
        tif = os.path.join(out_dir, "irradiation.tif")
        if os.path.exists(tif):
            self.load_on_completion(context, tif, self.tr("Roof irradiation [kWh/m²·a]"), styles.style_irradiation,
                                    kind="raster")
        if "buildings" in layers:
            self.load_on_completion(context, f"{gpkg}|layername=buildings", self.tr("PV potential per building"),
                                    styles.style_buildings_pv)
        if "roof_segments" in layers:
            self.load_on_completion(context, f"{gpkg}|layername=roof_segments", self.tr("Roof segments (irradiation)"),
                                    styles.style_roof_segments)
        summary_path = os.path.join(out_dir, "pv.json")
        with open(summary_path, encoding="utf-8") as fh:
            summary = json.load(fh)
        from pedgis.units import kwh_to_mwh

        feedback.pushInfo(
            self.tr("Rooftop PV: {kwp:,.0f} kWp, {mwh:,.1f} MWh/a on {n} of {total} buildings.").format(
                kwp=summary["pv_kwp"], mwh=kwh_to_mwh(summary["pv_kwh"]),
                n=summary["n_with_estimate"], total=summary["n_buildings"],
            )
        )
        return {
            self.OUTPUT: out_dir,
            self.SUMMARY: summary_path,
            self.PV_KWH: float(summary["pv_kwh"]),
            self.PV_KWP: float(summary["pv_kwp"]),
        }


def _path(value):
    return Path(value) if value else None
