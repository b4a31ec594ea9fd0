"""Install the plugin zip into a clean QGIS profile the way "Install from ZIP" does, then load it.

Run in a fresh process by test_build_plugin.py (so the pedgis library it imports is the one in
the zip, not the development checkout):

    QGIS_CUSTOM_CONFIG_PATH=<empty folder> python install_and_load.py <zip>

Prints one JSON line with what it found; exits non-zero on failure.
"""

from __future__ import annotations

import json
import os
import sys


def main(zip_path: str) -> int:
    from qgis.core import QgsApplication

    app = QgsApplication([], True)
    app.initQgis()
    import qgis.utils
    from pyplugin_installer.unzip import unzip  # what QGIS's "Install from ZIP" calls
    from qgis.gui import QgsMapCanvas, QgsMessageBar
    from qgis.PyQt.QtWidgets import QMainWindow, QToolBar

    settings_dir = QgsApplication.qgisSettingsDirPath()
    home = os.path.join(settings_dir, "python", "plugins")
    qgis.utils.home_plugin_path = home
    qgis.utils.plugin_paths = [home]
    sys.path.insert(0, home)
    unzip(zip_path, home)

    window = QMainWindow()
    canvas = QgsMapCanvas(window)
    bar = QgsMessageBar(window)

    class Iface:
        """The part of QgisInterface the plugin uses."""

        def mainWindow(self):  # noqa: N802
            return window

        def mapCanvas(self):  # noqa: N802
            return canvas

        def messageBar(self):  # noqa: N802
            return bar

        def addToolBar(self, name):  # noqa: N802
            return QToolBar(name, window)

        def addPluginToMenu(self, menu, action):  # noqa: N802
            pass

        def removePluginMenu(self, menu, action):  # noqa: N802
            pass

        def activeLayer(self):  # noqa: N802
            return None

    qgis.utils.iface = Iface()
    qgis.utils.updateAvailablePlugins()
    out = {"settings_dir": settings_dir, "available": "pedgis_plugin" in qgis.utils.available_plugins}
    out["loaded"] = qgis.utils.loadPlugin("pedgis_plugin")
    out["started"] = qgis.utils.startPlugin("pedgis_plugin")
    import pedgis_plugin

    import pedgis

    registry = QgsApplication.processingRegistry()
    provider = registry.providerById("pedgis")
    out["pedgis_file"] = pedgis.__file__
    out["plugin_file"] = pedgis_plugin.__file__
    out["algorithms"] = sorted(a.id() for a in provider.algorithms()) if provider else []
    plugin = qgis.utils.plugins.get("pedgis_plugin")
    out["dependency_message"] = getattr(plugin, "dependency_message", "missing plugin")
    out["warnings"] = [item.text() for item in bar.items()]
    out["unloaded"] = qgis.utils.unloadPlugin("pedgis_plugin")
    out["provider_after_unload"] = registry.providerById("pedgis") is not None
    print(json.dumps(out))
    canvas.deleteLater()
    window.deleteLater()
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
