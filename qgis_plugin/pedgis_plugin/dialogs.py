"""Small dialogs of the boundary tools."""

from __future__ import annotations

from qgis.core import QgsFieldProxyModel
from qgis.gui import QgsFieldComboBox
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
)

#: id field names tried first (cadastral, INSPIRE, OSM, 3D BAG, CEA)
ID_FIELD_GUESSES = ("building_id", "bldg_id", "id", "gml_id", "localid", "identificatie", "osm_id", "name", "fid")


def tr(message: str) -> str:
    return QCoreApplication.translate("pedgis", message)


def guess_id_field(layer) -> str:
    names = [f.name() for f in layer.fields()]
    lower = {n.lower(): n for n in names}
    for guess in ID_FIELD_GUESSES:
        if guess in lower:
            return lower[guess]
    return names[0] if names else ""


class BoundaryFromSelectionDialog(QDialog):
    """Pick the id field and the hull of a boundary made from selected buildings."""

    def __init__(self, layer, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr("Boundary from selected buildings"))
        form = QFormLayout(self)
        summary = QLabel(
            tr("{n} buildings selected in '{layer}'.").format(
                n=layer.selectedFeatureCount(), layer=layer.name()
            )
        )
        # a layer name is user text: shown as it is, never read as rich text (HTML)
        summary.setTextFormat(Qt.TextFormat.PlainText)
        form.addRow(summary)
        self.field_combo = QgsFieldComboBox(self)
        self.field_combo.setFilters(QgsFieldProxyModel.Filter.AllTypes)
        self.field_combo.setLayer(layer)
        self.field_combo.setField(guess_id_field(layer))
        form.addRow(tr("Building id field"), self.field_combo)
        self.hull_combo = QComboBox(self)
        self.hull_combo.addItem(tr("Convex hull"), "convex")
        self.hull_combo.addItem(tr("Concave hull"), "concave")
        form.addRow(tr("Polygon"), self.hull_combo)
        self.concavity_spin = QDoubleSpinBox(self)
        self.concavity_spin.setRange(0.0, 1.0)
        self.concavity_spin.setSingleStep(0.05)
        self.concavity_spin.setValue(0.3)
        self.concavity_spin.setToolTip(tr("0 = tightest, 1 = convex"))
        form.addRow(tr("Concavity"), self.concavity_spin)
        self.hull_combo.currentIndexChanged.connect(
            lambda _i: self.concavity_spin.setEnabled(self.hull() == "concave")
        )
        self.concavity_spin.setEnabled(False)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def id_field(self) -> str:
        return self.field_combo.currentField()

    def hull(self) -> str:
        return self.hull_combo.currentData()

    def concavity(self) -> float:
        return float(self.concavity_spin.value())
