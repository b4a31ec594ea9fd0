"""QGIS styles of the pedgis output layers.

* buildings by PED balance: diverging around zero (net exporters of primary energy blue, net
  importers red, as on the web map; the paper's balance PEI − PEE, Eq. 17, is negative for an exporter), buildings
  outside the district grey;
* roof segments and the irradiation raster by annual irradiation [kWh m⁻² a⁻¹];
* per-building PV yield, floor areas: sequential classes;
* the boundary: a dashed outline without fill.

Class breaks are rounded ("nice") quantiles of the layer's own values, so the legend reads well
whatever the district's size.
"""

from __future__ import annotations

import math

from qgis.core import (
    QgsColorRampShader,
    QgsExpression,
    QgsFillSymbol,
    QgsProject,
    QgsRasterBandStats,
    QgsRasterShader,
    QgsRuleBasedRenderer,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QColor

from .boundary import style_boundary_layer

#: net exporters of primary energy (negative balance), small to large: the blue side of
#: ColorBrewer RdBu, as on the web map (pedgis.viz) so both read the same way
EXPORT_COLOURS = ["#d1e5f0", "#67a9cf", "#2166ac"]
#: net importers, small to large: the red side of ColorBrewer RdBu
IMPORT_COLOURS = ["#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"]
#: ColorBrewer YlOrRd (6) for irradiation and PV
HEAT_COLOURS = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"]
#: ColorBrewer Blues (6) for floor areas
BLUE_COLOURS = ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]
#: perceptual ramp for the irradiation raster (matplotlib inferno, 7 stops)
INFERNO = ["#000004", "#320a5e", "#781c6d", "#bc3754", "#ed6925", "#fbb61a", "#fcffa4"]
EXCLUDED_COLOUR = "#d9d9d9"

#: stacking order of the pedgis layers in the layer tree (lower is drawn on top)
RANK = {"boundary": 0, "roof_segments": 1, "buildings": 2, "irradiation": 3}
RANK_PROPERTY = "pedgis/rank"


def tr(message: str) -> str:
    return QCoreApplication.translate("pedgis", message)


def nice(value: float) -> float:
    """Round to two significant digits (1234 → 1200, 0.0456 → 0.046)."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    digits = 1 - int(math.floor(math.log10(abs(value))))
    return round(value, digits)


def quantiles(values, probs):
    """Linear-interpolation quantiles of a list of numbers (numpy's default method)."""
    data = sorted(values)
    if not data:
        return [0.0 for _ in probs]
    out = []
    for p in probs:
        pos = p * (len(data) - 1)
        lo = int(math.floor(pos))
        hi = min(lo + 1, len(data) - 1)
        out.append(data[lo] + (data[hi] - data[lo]) * (pos - lo))
    return out


def field_values(layer, field: str, filter_included: bool = False) -> list[float]:
    """Finite numeric values of ``field`` (of the included buildings when asked)."""
    idx = layer.fields().indexOf(field)
    if idx < 0:
        return []
    inc = layer.fields().indexOf("included") if filter_included else -1
    values = []
    for feature in layer.getFeatures():
        if inc >= 0 and not _truthy(feature.attribute(inc)):
            continue
        v = feature.attribute(idx)
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(v):
            values.append(v)
    return values


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "t")
    try:
        return bool(value) and value is not None and not (isinstance(value, float) and math.isnan(value))
    except Exception:  # noqa: BLE001 - QVariant NULL
        return False


def _fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}".replace(",", "\u202f")
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.2g}"


def _symbol(colour: str, outline: str = "#4d4d4d", width: float = 0.15, style: str = "solid"):
    return QgsFillSymbol.createSimple(
        {"color": QColor(colour).name(), "outline_color": outline, "outline_width": str(width),
         "style": style, "joinstyle": "miter"}
    )


def _col(field: str) -> str:
    """A field as a column reference in an expression (QGIS quotes it; never spliced raw)."""
    return QgsExpression.quotedColumnRef(field)


def _rule(symbol, expression: str, label: str):
    return QgsRuleBasedRenderer.Rule(symbol, 0, 0, expression, label)


def _has(layer, field: str) -> bool:
    return layer.fields().indexOf(field) >= 0


def _included_expr(layer) -> tuple[str, str]:
    if not _has(layer, "included"):
        return "TRUE", "FALSE"
    return '"included"', '("included" IS NULL OR NOT "included")'


def _sequential_rules(layer, field, colours, unit, scale=1.0, included_only=True):
    inside, outside = _included_expr(layer) if included_only else ("TRUE", "FALSE")
    values = field_values(layer, field, filter_included=included_only)
    n = len(colours)
    breaks = sorted({nice(q) for q in quantiles(values, [i / n for i in range(1, n)])})
    root = QgsRuleBasedRenderer.Rule(None)
    edges = [None, *breaks, None]
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        colour = colours[min(len(colours) - 1, round(i * (len(colours) - 1) / max(1, len(edges) - 2)))]
        parts = [inside, f'{_col(field)} IS NOT NULL']
        if lo is not None:
            parts.append(f'{_col(field)} >= {lo!r}')
        if hi is not None:
            parts.append(f'{_col(field)} < {hi!r}')
        if lo is None and hi is None:
            label = tr("all")
        elif lo is None:
            label = f"< {_fmt(hi * scale)} {unit}"
        elif hi is None:
            label = f"≥ {_fmt(lo * scale)} {unit}"
        else:
            label = f"{_fmt(lo * scale)} – {_fmt(hi * scale)} {unit}"
        root.appendChild(_rule(_symbol(colour), " AND ".join(parts), label))
    _append_missing_and_outside(layer, root, field, inside, outside if included_only else "FALSE", tr("no value"))
    return QgsRuleBasedRenderer(root)


def _count(layer, expression: str) -> int:
    from qgis.core import QgsFeatureRequest

    request = QgsFeatureRequest().setFilterExpression(expression).setNoAttributes()
    request.setFlags(QgsFeatureRequest.Flag.NoGeometry)
    return sum(1 for _ in layer.getFeatures(request))


def _append_missing_and_outside(layer, root, field, inside, outside, missing_label) -> None:
    """Rules for buildings without a value (hatched) and outside the district (grey), only when
    the layer has any: a legend entry for nothing confuses readers."""
    missing = f'{inside} AND {_col(field)} IS NULL'
    if _count(layer, missing):
        root.appendChild(_rule(_symbol("#ffffff", "#7f7f7f", 0.2, "b_diagonal"), missing, missing_label))
    if outside != "FALSE" and _count(layer, outside):
        root.appendChild(_rule(_symbol(EXCLUDED_COLOUR, "#a8a8a8", 0.15), outside, tr("outside the district")))


def balance_classes(values: list[float]) -> list[tuple[float | None, float | None, str]]:
    """Classes of the PED balance: ``(lower, upper, colour)``, ``None`` for open ends.

    Zero is always a class break (net exporters and net importers never share a class). Each
    side gets classes at nice quantiles of its own values: up to three export classes (blue)
    and five import classes (red), only the sides that occur.
    """
    neg = sorted(-v for v in values if v < 0)
    pos = sorted(v for v in values if v >= 0)
    classes: list[tuple[float | None, float | None, str]] = []
    if neg:
        cuts = _cuts(neg, len(EXPORT_COLOURS))
        edges = [None] + [-c for c in reversed(cuts)] + [0.0]
        colours = EXPORT_COLOURS[::-1][-(len(edges) - 1):]
        classes += [(edges[i], edges[i + 1], colours[i]) for i in range(len(edges) - 1)]
    if pos or not neg:
        cuts = _cuts(pos, len(IMPORT_COLOURS))
        edges = [0.0 if neg else None] + cuts + [None]
        colours = IMPORT_COLOURS[: len(edges) - 1]
        classes += [(edges[i], edges[i + 1], colours[i]) for i in range(len(edges) - 1)]
    return classes


def _cuts(sorted_values: list[float], n: int) -> list[float]:
    """Up to ``n − 1`` increasing nice breaks at the inner quantiles of positive values."""
    cuts: list[float] = []
    for q in quantiles(sorted_values, [i / n for i in range(1, n)]):
        q = nice(q)
        if q > 0 and (not cuts or q > cuts[-1]) and q < sorted_values[-1]:
            cuts.append(q)
    return cuts


def style_buildings_balance(layer) -> None:
    """Buildings by ``ped_balance_kwh`` [kWh a⁻¹ of primary energy, Eq. 17]: net exporters
    (negative balance) blue, net importers light to dark red, outside the district grey."""
    from pedgis.units import kwh_to_mwh

    field = "ped_balance_kwh"
    inside, outside = _included_expr(layer)
    unit = tr("MWh/a")
    root = QgsRuleBasedRenderer.Rule(None)
    for lo, hi, colour in balance_classes(field_values(layer, field, filter_included=True)):
        parts = [inside, f'{_col(field)} IS NOT NULL']
        if lo is not None:
            parts.append(f'{_col(field)} >= {lo!r}')
        if hi is not None:
            parts.append(f'{_col(field)} < {hi!r}')
        exporting = hi is not None and hi <= 0
        a, b = (hi, lo) if exporting else (lo, hi)
        a = None if a is None else _fmt(kwh_to_mwh(abs(a)))
        b = None if b is None else _fmt(kwh_to_mwh(abs(b)))
        kind = tr("net export") if exporting else tr("net import")
        if a is None and b is None:
            label = kind
        elif b is None:
            label = f"{kind} > {a} {unit}"
        elif a is None:
            label = f"{kind} < {b} {unit}"
        else:
            label = f"{kind} {a} – {b} {unit}"
        root.appendChild(_rule(_symbol(colour, "#4a4a4a", 0.15), " AND ".join(parts), label))
    _append_missing_and_outside(layer, root, field, inside, outside, tr("no result"))
    layer.setRenderer(QgsRuleBasedRenderer(root))
    _rank(layer, "buildings")


def style_roof_segments(layer) -> None:
    """Roof segments by ``irradiation_kwh_m2`` [kWh m⁻² a⁻¹]; segments unusable for PV hatched."""
    field = "irradiation_kwh_m2"
    renderer = _sequential_rules(layer, field, HEAT_COLOURS, tr("kWh/m²·a"), included_only=False)
    for rule in renderer.rootRule().children():
        sym = rule.symbol()
        if sym is not None:
            sym.symbolLayer(0).setStrokeColor(QColor("#ffffff"))
            sym.symbolLayer(0).setStrokeWidth(0.1)
    if _has(layer, "usable"):
        root = renderer.rootRule()
        root.appendChild(
            _rule(_symbol("#4d4d4d", "#4d4d4d", 0.0, "fdiagonal"), '"usable" IS NOT NULL AND NOT "usable"',
                  tr("not usable for PV (hatched)"))
        )
        hatch = root.children()[-1].symbol()
        hatch.symbolLayer(0).setStrokeStyle(Qt.PenStyle.NoPen)
        hatch.setOpacity(0.6)
    layer.setRenderer(renderer)
    _rank(layer, "roof_segments")


def style_buildings_pv(layer) -> None:
    """Buildings by annual PV yield ``pv_kwh`` [MWh a⁻¹]."""
    from pedgis.units import KWH_PER_MWH

    layer.setRenderer(_sequential_rules(layer, "pv_kwh", HEAT_COLOURS, tr("MWh/a"), 1.0 / KWH_PER_MWH))
    _rank(layer, "buildings")


def style_buildings_floor_area(layer) -> None:
    """Buildings by conditioned floor area ``floor_area_m2`` [m²]."""
    layer.setRenderer(_sequential_rules(layer, "floor_area_m2", BLUE_COLOURS, tr("m²")))
    _rank(layer, "buildings")


def style_boundary(layer) -> None:
    style_boundary_layer(layer)
    _rank(layer, "boundary")


def style_irradiation(layer) -> None:
    """Annual irradiation raster [kWh m⁻² a⁻¹]: inferno from the 2nd to the 98th percentile."""
    provider = layer.dataProvider()
    stats = provider.bandStatistics(1, QgsRasterBandStats.Stats.Min | QgsRasterBandStats.Stats.Max)
    lo, hi = stats.minimumValue, stats.maximumValue
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0
    shader_fn = QgsColorRampShader(lo, hi)
    shader_fn.setColorRampType(QgsColorRampShader.Type.Interpolated)
    items = []
    for i, colour in enumerate(INFERNO):
        v = lo + (hi - lo) * i / (len(INFERNO) - 1)
        items.append(QgsColorRampShader.ColorRampItem(v, QColor(colour), f"{_fmt(v)} {tr('kWh/m²·a')}"))
    shader_fn.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(shader_fn)
    renderer = QgsSingleBandPseudoColorRenderer(provider, 1, shader)
    renderer.setClassificationMin(lo)
    renderer.setClassificationMax(hi)
    layer.setRenderer(renderer)
    layer.setOpacity(0.85)
    _rank(layer, "irradiation")


def hidden(style_function):
    """A style function that also unticks the layer in the layer tree (loaded, not drawn): the
    PED balance loads roof segments and the irradiation raster this way so they do not cover
    the buildings' balance colours."""

    def apply(layer) -> None:
        style_function(layer)
        project = layer.project() if hasattr(layer, "project") else None
        node = (project or QgsProject.instance()).layerTreeRoot().findLayer(layer.id())
        if node is not None:
            node.setItemVisibilityChecked(False)

    return apply


def _rank(layer, kind: str) -> None:
    layer.setCustomProperty(RANK_PROPERTY, RANK[kind])
    project = layer.project() if hasattr(layer, "project") else None
    arrange_layers(project or QgsProject.instance())


def arrange_layers(project) -> None:
    """Stack the pedgis layers of each group by :data:`RANK` (boundary on top, raster at the
    bottom), leaving every other layer where it is."""
    root = project.layerTreeRoot()
    parents = {}
    for node in root.findLayers():
        layer = node.layer()
        if layer is None or layer.customProperty(RANK_PROPERTY) is None:
            continue
        parents.setdefault(id(node.parent()), (node.parent(), []))[1].append(node)
    for parent, nodes in parents.values():
        if len(nodes) < 2:
            continue
        slots = sorted(parent.children().index(n) for n in nodes)
        ordered = sorted(nodes, key=lambda n: int(n.layer().customProperty(RANK_PROPERTY)))
        if [parent.children().index(n) for n in ordered] == slots:
            continue
        # clones go in first: a layer whose last tree node is removed leaves the project
        first = slots[0]
        for k, node in enumerate(ordered):
            parent.insertChildNode(first + k, node.clone())
        for node in nodes:
            parent.removeChildNode(node)
