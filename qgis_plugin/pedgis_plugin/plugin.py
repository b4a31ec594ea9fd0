"""The plugin object QGIS creates through :func:`pedgis_plugin.classFactory`."""

from __future__ import annotations

import os

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QMessageBox, QPushButton

try:  # Qt6 (QGIS 4) has QAction in QtGui, Qt5 in QtWidgets
    from qgis.PyQt.QtGui import QAction
except ImportError:
    from qgis.PyQt.QtWidgets import QAction

from . import deps

PLUGIN_DIR = os.path.dirname(__file__)
ICON = os.path.join(PLUGIN_DIR, "icons", "pedgis.svg")
MENU = "&pedgis"
LOG_TAG = "pedgis"


def tr(message: str) -> str:
    return QCoreApplication.translate("pedgis", message)


def load_translator():
    """Install ``i18n/pedgis_<lang>.qm`` for the user's QGIS locale when the plugin ships one."""
    from qgis.core import QgsSettings
    from qgis.PyQt.QtCore import QTranslator

    locale = str(QgsSettings().value("locale/userLocale", "") or "")[:2]
    path = os.path.join(PLUGIN_DIR, "i18n", f"pedgis_{locale}.qm")
    if not locale or not os.path.exists(path):
        return None
    translator = QTranslator()
    if translator.load(path):
        QCoreApplication.installTranslator(translator)
        return translator
    return None


class PedgisPlugin:
    """Processing provider + boundary tools.

    QGIS calls :meth:`initProcessing` (also when the plugin is used headless by
    ``qgis_process``), :meth:`initGui` and, when the plugin is disabled or QGIS quits,
    :meth:`unload`.
    """

    def __init__(self, iface):
        self.iface = iface
        self.translator = load_translator()
        self.provider = None
        self.actions: list[QAction] = []
        self.toolbar = None
        self.draw_tool = None
        self.dependency_report: deps.DependencyReport | None = None
        self.dependency_message: str | None = None

    # -- Processing -------------------------------------------------------------------------
    def initProcessing(self):  # noqa: N802
        if self.provider is not None:
            return
        from .provider import PedgisProvider

        self.provider = PedgisProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    # -- dependencies -----------------------------------------------------------------------
    def check_dependencies(self, deep: bool = False) -> bool:
        """Check the Python packages; on failure log and show one message. Returns True when ok."""
        from . import deps_folder

        self.dependency_report = deps.check_dependencies(deep=deep, folder=deps_folder())
        if self.dependency_report.ok:
            self.dependency_message = None
            return True
        self.dependency_message = deps.install_message(self.dependency_report)
        QgsMessageLog.logMessage(self.dependency_message, LOG_TAG, Qgis.MessageLevel.Warning)
        self._show_dependency_message()
        return False

    def _show_dependency_message(self) -> None:
        if self.iface is None:
            return
        bar = self.iface.messageBar()
        report = self.dependency_report
        names = ", ".join(dict.fromkeys(p.name for p in report.problems))
        if report.needs_restart:
            text = tr("Restart QGIS to use the Python packages installed for pedgis ({names}).").format(
                names=names)
            label, slot = tr("Details"), self.show_dependency_details
        else:
            text = tr("Python packages missing or too old in QGIS: {names}. The algorithms are "
                      "disabled.").format(names=names)
            label, slot = tr("Install…"), self.install_dependencies
        widget = bar.createMessage(tr("pedgis"), text)
        button = QPushButton(widget)
        button.setText(label)
        button.setObjectName("pedgisDependencyButton")
        button.clicked.connect(lambda _checked=False: slot())
        widget.layout().addWidget(button)
        bar.pushWidget(widget, Qgis.MessageLevel.Warning, 0)

    def show_dependency_details(self) -> None:
        box = QMessageBox(self.iface.mainWindow() if self.iface else None)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(tr("pedgis: Python packages"))
        box.setText(self.dependency_message.split("\n", 1)[0])
        box.setDetailedText(self.dependency_message)
        box.exec()

    def install_dependencies(self, report: deps.DependencyReport | None = None) -> bool:
        """Ask consent, install the missing packages into the private folder with progress, load
        them. ``report``: a fresh full check, when the caller has one. Returns True when pedgis
        can run now (no restart needed)."""
        from . import deps_folder
        from .algorithms import base
        from .dialogs import InstallDependenciesDialog, run_install
        from .installer import InstallCancelled, InstallError

        folder = deps_folder()
        parent = self.iface.mainWindow() if self.iface else None
        report = report or deps.check_dependencies(deep=True, folder=folder)
        consent = InstallDependenciesDialog(report, folder, parent)
        if not consent.exec():
            return report.ok
        try:
            result = run_install(folder, consent.pip_args(), parent)
        except InstallCancelled:
            QgsMessageLog.logMessage("install cancelled", LOG_TAG, Qgis.MessageLevel.Info)
            return False
        except InstallError as exc:
            QgsMessageLog.logMessage(str(exc), LOG_TAG, Qgis.MessageLevel.Critical)
            box = QMessageBox(QMessageBox.Icon.Critical, tr("pedgis: install failed"),
                              str(exc).split("\n", 1)[0], QMessageBox.StandardButton.Ok, parent)
            box.setDetailedText(str(exc))
            box.exec()
            return False
        deps.activate(folder)
        if self.iface is not None:
            self.iface.messageBar().clearWidgets()
        ready = self.check_dependencies(deep=True) and not result.pending and not result.loaded_from_old
        base.dependency_report(refresh=True)
        if ready and self.iface is not None:
            self.iface.messageBar().pushMessage(
                tr("pedgis"),
                tr("Installed {n} Python packages in {s:.0f} s; the algorithms are ready.").format(
                    n=len(result.installed), s=result.seconds),
                Qgis.MessageLevel.Success, 8)
        elif (result.pending or result.loaded_from_old) and self.iface is not None:
            self.iface.messageBar().pushMessage(
                tr("pedgis"), tr("Packages installed; restart QGIS to use them."),
                Qgis.MessageLevel.Warning, 0)
        return ready

    # -- GUI --------------------------------------------------------------------------------
    def initGui(self):  # noqa: N802
        self.initProcessing()
        icon = QIcon(ICON)
        self.toolbar = self.iface.addToolBar(tr("pedgis"))
        self.toolbar.setObjectName("pedgisToolbar")

        draw = QAction(icon, tr("Draw PED boundary"), self.iface.mainWindow())
        draw.setObjectName("pedgisDrawBoundary")
        draw.setCheckable(True)
        draw.setStatusTip(
            tr("Draw the district boundary: left click adds a vertex, right click closes it.")
        )
        draw.triggered.connect(self.activate_draw_tool)
        self._add_action(draw)

        from_sel = QAction(icon, tr("Boundary from selected buildings"), self.iface.mainWindow())
        from_sel.setObjectName("pedgisBoundaryFromSelection")
        from_sel.setStatusTip(
            tr("A functional boundary: the selected buildings' ids and their hull as the polygon.")
        )
        from_sel.triggered.connect(self.boundary_from_selection)
        self._add_action(from_sel)

        run = QAction(icon, tr("PED balance…"), self.iface.mainWindow())
        run.setObjectName("pedgisRunBalance")
        run.triggered.connect(self.open_balance_dialog)
        self._add_action(run, toolbar=False)

        packages = QAction(icon, tr("Install Python packages…"), self.iface.mainWindow())
        packages.setObjectName("pedgisInstallPackages")
        packages.setStatusTip(tr("Install the Python packages pedgis needs into its own folder."))
        packages.triggered.connect(lambda _checked=False: self.install_dependencies())
        self._add_action(packages, toolbar=False)

        from .algorithms import base

        base.INSTALL_OFFER = self.install_dependencies
        self.check_dependencies(deep=False)

    def _add_action(self, action: QAction, toolbar: bool = True) -> None:
        if toolbar:
            self.toolbar.addAction(action)
        self.iface.addPluginToMenu(MENU, action)
        self.actions.append(action)

    def unload(self):
        from .algorithms import base

        if base.INSTALL_OFFER == self.install_dependencies:
            base.INSTALL_OFFER = None
        if self.draw_tool is not None:
            canvas = self.iface.mapCanvas()
            if canvas is not None and canvas.mapTool() is self.draw_tool:
                canvas.unsetMapTool(self.draw_tool)
            self.draw_tool.remove()
            self.draw_tool = None
        for action in self.actions:
            self.iface.removePluginMenu(MENU, action)
            if self.toolbar is not None:
                self.toolbar.removeAction(action)
        self.actions = []
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None

    # -- actions ----------------------------------------------------------------------------
    def activate_draw_tool(self, checked: bool = True):
        from .boundary import DrawBoundaryTool

        canvas = self.iface.mapCanvas()
        if self.draw_tool is None:
            self.draw_tool = DrawBoundaryTool(canvas)
            self.draw_tool.setAction(self.actions[0])
            self.draw_tool.message.connect(
                lambda text: self.iface.messageBar().pushMessage(
                    tr("pedgis"), text, Qgis.MessageLevel.Info, 5
                )
            )
            self.draw_tool.boundaryCreated.connect(
                lambda feature: self.iface.messageBar().pushMessage(
                    tr("pedgis"),
                    tr("Boundary '{name}' added to the PED boundary layer.").format(
                        name=feature["name"]
                    ),
                    Qgis.MessageLevel.Success,
                    5,
                )
            )
        canvas.setMapTool(self.draw_tool)
        return self.draw_tool

    def boundary_from_selection(self):
        from .boundary import boundary_from_selected
        from .dialogs import BoundaryFromSelectionDialog

        layer = self.iface.activeLayer()
        if not isinstance(layer, QgsVectorLayer) or layer.selectedFeatureCount() == 0:
            self.iface.messageBar().pushMessage(
                tr("pedgis"),
                tr("Select buildings in a polygon layer first (the active layer)."),
                Qgis.MessageLevel.Warning,
                8,
            )
            return None
        dialog = BoundaryFromSelectionDialog(layer, self.iface.mainWindow())
        if not dialog.exec():
            return None
        try:
            feature = boundary_from_selected(
                layer, dialog.id_field(), dialog.hull(), dialog.concavity(), QgsProject.instance()
            )
        except (ValueError, RuntimeError) as exc:
            self.iface.messageBar().pushMessage(tr("pedgis"), str(exc), Qgis.MessageLevel.Critical, 10)
            return None
        self.iface.messageBar().pushMessage(
            tr("pedgis"),
            tr("Boundary '{name}' added to the PED boundary layer.").format(name=feature["name"]),
            Qgis.MessageLevel.Success,
            5,
        )
        return feature

    def open_balance_dialog(self):
        from qgis import processing

        from .algorithms import base

        ok, _message = base.dependencies_ready()
        if ok:
            processing.execAlgorithmDialog("pedgis:pedbalance", {})
