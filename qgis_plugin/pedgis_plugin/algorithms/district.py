"""Parameters shared by the algorithms that read a district: buildings and their fields, the
boundary, DSM/DTM, weather, scenario file — and their conversion into a pedgis scenario."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterLayer,
    QgsProject,
)

from ..boundary import FUNCTIONAL, find_boundary_layer
from .base import PedgisAlgorithm
from .inputs import apply_inputs, read_scenario_file

WEATHER_FILTER = "Weather files (*.epw *.EPW *.csv *.json);;All files (*.*)"
MODEL_FILTER = ("3D city models (*.gml *.GML *.xml *.json *.city.json *.jsonl *.city.jsonl);;"
                "CityGML (*.gml *.GML *.xml);;CityJSON (*.json *.city.json *.jsonl *.city.jsonl);;All files (*.*)")


def model_parameter(alg, name):
    """The optional 3D city model file (CityGML LoD2, CityJSON / 3D BAG) that replaces the
    buildings layer: footprints, heights, floors and roof planes come from it."""
    return QgsProcessingParameterFile(
        name, alg.tr("…or a 3D city model file instead (CityGML .gml, CityJSON .json / .city.json / .jsonl)"),
        optional=True, fileFilter=MODEL_FILTER,
    )


def buildings_input(alg, parameters, context, feedback, layer_name, model_name):
    """(path, layer) of the buildings: the 3D model file when given, else the layer; one of both."""
    from qgis.core import QgsProcessingException

    model = alg.parameterAsFile(parameters, model_name, context) or None
    if model:
        return model, None
    path, layer = alg.vector_path(parameters, layer_name, context, feedback)
    if path is None:
        raise QgsProcessingException(alg.tr("Give the buildings: a polygon layer, or a 3D city model file "
                                            "(CityGML, CityJSON)."))
    return path, layer
SCENARIO_FILTER = "pedgis scenario (*.toml);;All files (*.*)"


class DistrictAlgorithm(PedgisAlgorithm):
    """Base of PED balance and Floor areas and heights."""

    BUILDINGS = "BUILDINGS"
    BUILDINGS_MODEL = "BUILDINGS_MODEL"
    ID_FIELD = "ID_FIELD"
    USE_FIELD = "USE_FIELD"
    FLOORS_FIELD = "FLOORS_FIELD"
    HEIGHT_FIELD = "HEIGHT_FIELD"
    BOUNDARY = "BOUNDARY"
    DSM = "DSM"
    DTM = "DTM"
    WEATHER = "WEATHER"
    SCENARIO = "SCENARIO"

    def add_district_parameters(self, weather: bool = True) -> None:
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                self.BUILDINGS, self.tr("Buildings (footprints)"), [QgsProcessing.SourceType.TypeVectorPolygon],
                optional=True,
            )
        )
        self.addParameter(model_parameter(self, self.BUILDINGS_MODEL))
        for name, label in (
            (self.ID_FIELD, self.tr("Building id field")),
            (self.USE_FIELD, self.tr("Use type field")),
            (self.FLOORS_FIELD, self.tr("Floors field")),
            (self.HEIGHT_FIELD, self.tr("Height field [m]")),
        ):
            self.addParameter(
                QgsProcessingParameterField(name, label, parentLayerParameterName=self.BUILDINGS, optional=True)
            )
        boundary = QgsProcessingParameterFeatureSource(
            self.BOUNDARY, self.tr("District boundary"), [QgsProcessing.SourceType.TypeVectorPolygon], optional=True
        )
        layer = find_boundary_layer(QgsProject.instance())
        if layer is not None and layer.featureCount() > 0:
            boundary.setDefaultValue(layer.id())  # the layer drawn with the boundary tools
        self.addParameter(boundary)
        self.addParameter(QgsProcessingParameterRasterLayer(self.DSM, self.tr("DSM (roof raster)"), optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(self.DTM, self.tr("DTM (terrain raster)"), optional=True))
        if weather:
            self.addParameter(
                QgsProcessingParameterFile(
                    self.WEATHER, self.tr("Weather year (EPW, TMY3, PVGIS)"), optional=True,
                    fileFilter=WEATHER_FILTER,
                )
            )
        self.addParameter(
            QgsProcessingParameterFile(
                self.SCENARIO, self.tr("Scenario file (TOML)"), optional=True, fileFilter=SCENARIO_FILTER
            )
        )

    def functional_members(self, parameters, context):
        """Building ids of a functional boundary made with "Boundary from selected buildings".

        Returns (ids, id field) — empty when the boundary has no functional feature.
        """
        source = self.parameterAsSource(parameters, self.BOUNDARY, context)
        if source is None:
            return [], None
        names = source.fields().names()
        if "building_ids" not in names or "boundary_type" not in names:
            return [], None
        ids, id_field = [], None
        for feature in source.getFeatures():
            if feature["boundary_type"] == FUNCTIONAL and feature["building_ids"]:
                ids += [i for i in str(feature["building_ids"]).split(";") if i]
                id_field = id_field or (feature["id_field"] if "id_field" in names else None)
        return ids, id_field

    def scenario(self, parameters, context, feedback, fallback_dir, **overrides):
        """Validated scenario from the scenario file (if any) and the dialog's parameters.

        ``overrides`` are passed to :func:`.inputs.apply_inputs` (heat supply, factor set, PV
        and height parameters). Relative paths in the scenario file resolve against its folder;
        without a file, against ``fallback_dir``.
        """
        from pedgis.config import scenario_from_dict

        scenario_path = self.parameterAsFile(parameters, self.SCENARIO, context) or None
        doc, base_dir = self.call_library(read_scenario_file, feedback, scenario_path)
        members, member_field = self.functional_members(parameters, context)
        columns = {
            "building_id": self.parameterAsString(parameters, self.ID_FIELD, context) or member_field,
            "use": self.parameterAsString(parameters, self.USE_FIELD, context),
            "floors": self.parameterAsString(parameters, self.FLOORS_FIELD, context),
            "height_m": self.parameterAsString(parameters, self.HEIGHT_FIELD, context),
        }
        weather = None
        if self.parameterDefinition(self.WEATHER) is not None:
            weather = self.parameterAsFile(parameters, self.WEATHER, context) or None
        doc = apply_inputs(
            doc,
            buildings=buildings_input(self, parameters, context, feedback, self.BUILDINGS, self.BUILDINGS_MODEL),
            boundary=self.vector_path(parameters, self.BOUNDARY, context, feedback),
            members=members,
            dsm=self.raster_path(parameters, self.DSM, context),
            dtm=self.raster_path(parameters, self.DTM, context),
            weather=weather,
            columns=columns,
            **overrides,
        )
        return self.call_library(
            scenario_from_dict, feedback, doc, base_dir=base_dir or fallback_dir, path=scenario_path
        )

    def optional_number(self, parameters, name, context):
        """A number parameter, or None when left empty."""
        if parameters.get(name) in (None, ""):
            return None
        return self.parameterAsDouble(parameters, name, context)
