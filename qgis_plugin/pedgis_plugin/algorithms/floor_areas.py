"""Processing algorithm: step 1 alone — floor areas and heights per building as a layer."""

from __future__ import annotations

import os
import tempfile

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)

from .. import styles
from .district import DistrictAlgorithm

#: optional step-1 columns kept when present (docs/architecture.md, "Step 1 table")
OPTIONAL_COLUMNS = ["persons", "beds", "system", "pv_kwp", "name"]


class FloorAreasAlgorithm(DistrictAlgorithm):
    """Footprint area, floors, height and conditioned floor area per building (step 1)."""

    NAME = "floorareas"
    DISPLAY = "Floor areas and heights"
    HELP = (
        "Step 1 of the MAKING-CITY methodology (§2.1): one row per input building with "
        "footprint_area_m2, floors, height_m (and where it comes from: attribute, floors "
        "attribute, nDSM = DSM − DTM inside the footprint, or a default), floor_area_m2 = "
        "footprint × floors × gross-to-conditioned factor, whether it lies inside the district "
        "boundary, and data-quality flags. Nothing is dropped: invalid footprints are repaired "
        "and flagged.\n\n"
        "Buildings: any polygon layer (selected features only if asked), or a 3D city model file "
        "(CityGML LoD2, CityJSON): footprints from its GroundSurfaces, heights from its roofs, floors "
        "from storeysAboveGround or summed over its parts and roof levels. DSM/DTM: optional; "
        "heights come from them where the attributes have none. Scenario: optional pedgis "
        "scenario file (column mapping, use-type map, storey heights); the fields and numbers "
        "in this dialog override it.\n\n"
        "Output: a GeoPackage (layer 'buildings'), loaded coloured by floor area."
    )

    STOREY_HEIGHT = "STOREY_HEIGHT"
    GROSS_TO_CONDITIONED = "GROSS_TO_CONDITIONED"
    OUTPUT = "OUTPUT"
    TOTAL_FLOOR_AREA = "TOTAL_FLOOR_AREA_M2"
    N_INCLUDED = "N_INCLUDED"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_district_parameters(weather=False)
        self.addParameter(
            QgsProcessingParameterNumber(
                self.STOREY_HEIGHT, self.tr("Storey height [m] (empty: scenario or per use type)"),
                QgsProcessingParameterNumber.Type.Double, optional=True, minValue=2.0, maxValue=10.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.GROSS_TO_CONDITIONED, self.tr("Conditioned share of gross floor area [-] (empty: scenario)"),
                QgsProcessingParameterNumber.Type.Double, optional=True, minValue=0.01, maxValue=1.0,
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT, self.tr("Floor areas and heights"), self.tr("GeoPackage (*.gpkg)")
            )
        )
        self.addOutput(QgsProcessingOutputNumber(self.TOTAL_FLOOR_AREA, self.tr("Conditioned floor area in the district [m²]")))
        self.addOutput(QgsProcessingOutputNumber(self.N_INCLUDED, self.tr("Buildings in the district")))

    def process(self, parameters, context, feedback):
        from pedgis.boundaries import STEP1_COLUMNS
        from pedgis.pipeline import run

        target = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if not target.lower().endswith(".gpkg"):
            target += ".gpkg"
        scenario = self.scenario(
            parameters, context, feedback, os.path.dirname(target),
            storey_height_m=self.optional_number(parameters, self.STOREY_HEIGHT, context),
            gross_to_conditioned=self.optional_number(parameters, self.GROSS_TO_CONDITIONED, context),
        )
        # the pipeline runs steps 1-7 (fast); only the step-1 table is kept
        result = self.call_library(run, feedback, scenario, progress=self.progress_callback(feedback))
        table = result.buildings
        columns = [c for c in STEP1_COLUMNS + OPTIONAL_COLUMNS if c in table.columns]
        out = table[columns + ["geometry"]].copy()
        self.call_library(write_layer_atomically, feedback, out, target, "buildings")
        self.load_on_completion(context, f"{target}|layername=buildings", self.tr("Floor areas and heights"),
                                styles.style_buildings_floor_area)
        inside = out["included"].astype(bool)
        return {
            self.OUTPUT: target,
            self.TOTAL_FLOOR_AREA: float(out.loc[inside, "floor_area_m2"].sum()),
            self.N_INCLUDED: int(inside.sum()),
        }


def write_layer_atomically(gdf, path: str, layer: str) -> None:
    """Write ``gdf`` as the only layer of a new GeoPackage at ``path``: first into a temporary
    file beside it, then renamed, so ``path`` is never half-written."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".pedgis-", suffix=".gpkg", dir=folder)
    os.close(fd)
    os.unlink(tmp)  # GDAL creates the file itself
    try:
        gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
        os.replace(tmp, path)
    except BaseException:
        for leftover in (tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        raise
