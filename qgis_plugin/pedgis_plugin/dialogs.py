"""Small dialogs: the boundary tools' and the consent and progress of the package installer."""

from __future__ import annotations

from qgis.core import QgsFieldProxyModel
from qgis.gui import QgsFieldComboBox
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
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


class InstallDependenciesDialog(QDialog):
    """Asks the user's consent to install pedgis's Python packages into its private folder;
    optionally from a folder of downloaded wheels (offline)."""

    def __init__(self, report, folder: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr("pedgis: install Python packages"))
        self.resize(760, 480)
        layout = QVBoxLayout(self)
        if report.problems:
            head = tr("pedgis needs these Python packages, which QGIS's Python lacks or has too old:")
        else:
            head = tr("QGIS's Python has every package pedgis needs. Install again (repair)?")
        layout.addWidget(QLabel(head))
        details = QPlainTextEdit(self)
        details.setReadOnly(True)
        details.setPlainText("\n".join(p.describe() for p in report.problems))
        layout.addWidget(details)
        text = QLabel(tr(
            "pip downloads them (about 180 MB) into pedgis's own folder (about 650 MB):<br><b>{folder}</b>"
            "<br>QGIS's Python, the system and your user site are left as they are; to undo, delete "
            "the folder. Versions QGIS already has are kept (its numpy, GDAL and PROJ bindings)."
        ).format(folder=folder.replace("&", "&amp;").replace("<", "&lt;")), self)
        text.setWordWrap(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(text)
        row = QHBoxLayout()
        self.offline = QCheckBox(tr("Offline, from a folder of wheels:"), self)
        self.wheels = QLineEdit(self)
        self.wheels.setEnabled(False)
        browse = QPushButton(tr("Browse…"), self)
        browse.setEnabled(False)
        self.offline.toggled.connect(self.wheels.setEnabled)
        self.offline.toggled.connect(browse.setEnabled)
        browse.clicked.connect(self._browse)
        row.addWidget(self.offline)
        row.addWidget(self.wheels, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, parent=self)
        install = buttons.addButton(tr("Install"), QDialogButtonBox.ButtonRole.AcceptRole)
        install.setObjectName("pedgisInstallButton")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _browse(self):
        path = QFileDialog.getExistingDirectory(self, tr("Folder of downloaded wheels"), self.wheels.text())
        if path:
            self.wheels.setText(path)

    def pip_args(self) -> list[str]:
        """Extra pip options: an offline install looks only in the chosen folder."""
        if self.offline.isChecked() and self.wheels.text().strip():
            return ["--no-index", "--find-links", self.wheels.text().strip()]
        return []


def run_install(folder: str, pip_args, parent=None):
    """Run :func:`installer.install` behind a progress dialog with Cancel. Returns the
    InstallResult; raises installer.InstallError (InstallCancelled when cancelled)."""
    from .installer import install

    dialog = QProgressDialog(tr("Checking pip…"), tr("Cancel"), 0, 1000, parent)
    dialog.setWindowTitle(tr("pedgis: installing Python packages"))
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setMinimumWidth(520)
    dialog.setValue(0)

    def progress(fraction: float, text: str) -> None:
        dialog.setValue(int(1000 * fraction))
        dialog.setLabelText(text)
        QCoreApplication.processEvents()

    try:
        return install(folder, pip_args=pip_args, progress=progress, cancelled=dialog.wasCanceled)
    finally:
        dialog.reset()
        dialog.deleteLater()
