"""The GeoPackage default styles as QGIS itself reads them (Debian's python3-qgis; `make test-qgis`)."""

import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest
import qgis.core as qgis_core

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "viz"))

from district_fixture import write_folder  # noqa: E402


@pytest.fixture(scope="module")
def out_folder(tmp_path_factory):
    """The synthetic output folder of the viz tests (24 buildings, hostile attribute values)."""
    return write_folder(tmp_path_factory.mktemp("viz-out"), n=24, hostile=True)


@pytest.fixture
def qgs(qgis_app):
    return qgis_app  # pytest-qgis's QgsApplication, the one of every test here


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
