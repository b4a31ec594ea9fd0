"""The plugin loads through classFactory with a test iface, registers and unloads cleanly."""

from __future__ import annotations

import configparser

from conftest import PLUGIN_PARENT, ROOT

EXPECTED_ALGORITHMS = {"pedgis:pedbalance", "pedgis:floorareas", "pedgis:webmap"}


def registry():
    from qgis.core import QgsApplication

    return QgsApplication.processingRegistry()


def test_metadata_has_what_the_plugin_repository_requires():
    meta = configparser.ConfigParser(interpolation=None)
    meta.read(PLUGIN_PARENT / "pedgis_plugin" / "metadata.txt", encoding="utf-8")
    general = meta["general"]
    # the fields plugins.qgis.org rejects a plugin without, and the ones issue 6 asks for
    for key in ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email",
                "repository", "tracker", "homepage", "hasProcessingProvider", "supportsQt6", "license"):
        assert general.get(key), key
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    assert general["license"] == "GPL-2.0-or-later"
    assert (PLUGIN_PARENT / "pedgis_plugin" / general["icon"]).is_file()
    # one version for library and plugin
    init = (ROOT / "pedgis" / "__init__.py").read_text()
    assert f'__version__ = "{general["version"]}"' in init


def test_class_factory_init_gui_and_unload(qgis_iface, qgis_processing):
    import pedgis_plugin
    from qgis.core import QgsApplication

    plugin = pedgis_plugin.classFactory(qgis_iface)
    assert registry().providerById("pedgis") is None
    plugin.initGui()
    try:
        provider = registry().providerById("pedgis")
        assert provider is not None
        assert {a.id() for a in provider.algorithms()} == EXPECTED_ALGORITHMS
        names = [a.objectName() for a in plugin.toolbar.actions()]
        assert names == ["pedgisDrawBoundary", "pedgisBoundaryFromSelection"]
        assert not plugin.toolbar.windowTitle() == ""
        # every algorithm's parameters are defined and documented
        for alg in provider.algorithms():
            assert alg.shortHelpString()
            assert alg.parameterDefinitions()
            assert not alg.icon().isNull()
        assert QgsApplication.processingRegistry().algorithmById("pedgis:pedbalance") is not None
    finally:
        plugin.unload()
    assert registry().providerById("pedgis") is None
    assert plugin.actions == [] and plugin.toolbar is None


def test_load_unload_load_again(qgis_iface, qgis_processing):
    """Reloading (Plugin Reloader, enable/disable in the plugin manager) must not leak the provider."""
    import pedgis_plugin

    for _ in range(2):
        plugin = pedgis_plugin.classFactory(qgis_iface)
        plugin.initGui()
        assert registry().providerById("pedgis") is not None
        plugin.unload()
        assert registry().providerById("pedgis") is None


def test_init_processing_alone_registers_the_provider(qgis_iface, qgis_processing):
    """qgis_process and headless use call initProcessing() without initGui()."""
    import pedgis_plugin

    plugin = pedgis_plugin.classFactory(None)
    plugin.initProcessing()
    try:
        assert registry().providerById("pedgis") is not None
    finally:
        plugin.unload()
    assert registry().providerById("pedgis") is None


def test_draw_action_activates_the_map_tool(plugin, project, qgis_iface):
    tool = plugin.activate_draw_tool()
    assert qgis_iface.mapCanvas().mapTool() is tool
    plugin.unload()  # removes the tool from the canvas too
    assert qgis_iface.mapCanvas().mapTool() is None
    plugin.initGui()  # the fixture unloads again
