"""The GeoPackage default styles as QGIS itself reads them (needs Debian's python3-qgis).

Skipped in the plain venv; run with Debian's Python and the packages of ``make test-qgis``::

    QT_QPA_PLATFORM=offscreen PYTHONPATH=.venv-qgis/deps:.venv-qgis/tools:. /usr/bin/python3 -m pytest -q tests/viz/test_viz_styles_qgis.py
"""

import shutil
from collections import Counter

import pytest

qgis_core = pytest.importorskip("qgis.core")


_APP = []


@pytest.fixture(scope="module")
def qgs():
    # one QgsApplication for the process, kept alive (pytest-qgis does the same when used)
    app = qgis_core.QgsApplication.instance()
    if app is None:
        app = qgis_core.QgsApplication([], False)
        app.initQgis()
        _APP.append(app)
    return app


def _symbols(gpkg, layer):
    core = qgis_core
    lyr = core.QgsVectorLayer(f"{gpkg}|layername={layer}", layer, "ogr")
    assert lyr.isValid()
    r = lyr.renderer()
    ctx = core.QgsRenderContext()
    ctx.setExpressionContext(core.QgsExpressionContext(
        core.QgsExpressionContextUtils.globalProjectLayerScopes(lyr)))
    r.startRender(ctx, lyr.fields())
    colours = {}
    for f in lyr.getFeatures():
        ctx.expressionContext().setFeature(f)
        syms = r.symbolsForFeature(f, ctx)
        colours[f.id()] = (dict(zip(f.fields().names(), f.attributes(), strict=True)),
                           syms[0].color().name() if syms else None)
    r.stopRender(ctx)
    kind = r.type()
    del r, lyr  # release the layer before exitQgis
    return kind, colours


def test_qgis_applies_the_default_styles(qgs, out_folder, tmp_path):
    from pedgis.viz.common import EXCLUDED_COLOR, RDBU_DIVERGING, class_index, diverging_breaks
    from pedgis.viz.styles import write_styles

    gpkg = tmp_path / "buildings.gpkg"
    shutil.copy(out_folder / "buildings.gpkg", gpkg)
    write_styles(gpkg)
    kind, feats = _symbols(gpkg, "buildings")
    assert kind == "RuleRenderer"
    values = [a["ped_balance_kwh"] for a, _ in feats.values()]
    breaks = diverging_breaks(values)
    for attrs, colour in feats.values():
        assert colour is not None  # every building drawn
        if not attrs["included"]:
            assert colour == EXCLUDED_COLOR
        else:
            assert colour == RDBU_DIVERGING[class_index(attrs["ped_balance_kwh"], breaks)]
    kind, roofs = _symbols(gpkg, "roof_segments")
    assert kind == "RuleRenderer"
    assert all(c is not None for _, c in roofs.values())
    assert len(Counter(c for _, c in roofs.values())) >= 2
