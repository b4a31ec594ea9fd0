"""QGIS styles of the pedgis output layers.

* buildings by PED balance: diverging around zero (net exporters of primary energy green, net
  importers red; the paper's balance PEI − PEE, Eq. 17, is negative for an exporter), buildings
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
    QgsFillSymbol,
    QgsProject,
    QgsRasterBandStats,
    QgsRasterShader,
    QgsRuleBasedRenderer,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QColor

from .boundary import style_boundary_layer

#: ColorBrewer RdYlGn (7), reversed so that exporters (negative balance) are green
BALANCE_COLOURS = ["#1a9850", "#91cf60", "#d9ef8b", "#f7f7f7", "#fee08b", "#fc8d59", "#d73027"]
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
        parts = [inside, f'"{field}" IS NOT NULL']
        if lo is not None:
            parts.append(f'"{field}" >= {lo!r}')
        if hi is not None:
            parts.append(f'"{field}" < {hi!r}')
        if lo is None and hi is None:
            label = tr("all")
        elif lo is None:
            label = f"< {_fmt(hi * scale)} {unit}"
        elif hi is None:
            label = f"≥ {_fmt(lo * scale)} {unit}"
        else:
            label = f"{_fmt(lo * scale)} – {_fmt(hi * scale)} {unit}"
        root.appendChild(_rule(_symbol(colour), " AND ".join(parts), label))
    root.appendChild(
        _rule(_symbol("#ffffff", "#7f7f7f", 0.2, "b_diagonal"), f'{inside} AND "{field}" IS NULL', tr("no value"))
    )
    if included_only and _has(layer, "included"):
        root.appendChild(_rule(_symbol(EXCLUDED_COLOUR, "#a0a0a0"), outside, tr("outside the district")))
    return QgsRuleBasedRenderer(root)


def balance_breaks(values: list[float]) -> list[float]:
    """Positive thresholds a < b < c for the diverging classes: nice 1/3, 2/3 and 0.9
    quantiles of |balance| (the middle class, |balance| < a, reads as "about balanced")."""
    mags = [abs(v) for v in values if v != 0]
    if not mags:
        return [1.0, 10.0, 100.0]
    out = []
    for q in quantiles(mags, [1 / 3, 2 / 3, 0.9]):
        q = nice(q)
        if q > 0 and (not out or q > out[-1]):
            out.append(q)
    return out


def style_buildings_balance(layer) -> None:
    """Buildings by ``ped_balance_kwh`` [kWh a⁻¹ primary energy] — negative exports (green)."""
    from pedgis.units import kwh_to_mwh

    field = "ped_balance_kwh"
    inside, outside = _included_expr(layer)
    t = balance_breaks(field_values(layer, field, filter_included=True))
    unit = tr("MWh/a")
    root = QgsRuleBasedRenderer.Rule(None)
    k = len(t)
    # edges: -inf, -t[k-1], ..., -t[0], t[0], ..., t[k-1], +inf
    edges = [None] + [-x for x in reversed(t)] + list(t) + [None]
    colours = BALANCE_COLOURS[3 - k: 4 + k]
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        parts = [inside, f'"{field}" IS NOT NULL']
        if lo is not None:
            parts.append(f'"{field}" >= {lo!r}')
        if hi is not None:
            parts.append(f'"{field}" < {hi!r}')
        if lo is None:
            label = tr("net export > {v} {u}").format(v=_fmt(kwh_to_mwh(-hi)), u=unit)
        elif hi is None:
            label = tr("net import > {v} {u}").format(v=_fmt(kwh_to_mwh(lo)), u=unit)
        elif lo < 0 < hi:
            label = tr("about balanced (± {v} {u})").format(v=_fmt(kwh_to_mwh(hi)), u=unit)
        elif hi <= 0:
            label = tr("net export {a} – {b} {u}").format(a=_fmt(kwh_to_mwh(-hi)), b=_fmt(kwh_to_mwh(-lo)), u=unit)
        else:
            label = tr("net import {a} – {b} {u}").format(a=_fmt(kwh_to_mwh(lo)), b=_fmt(kwh_to_mwh(hi)), u=unit)
        root.appendChild(_rule(_symbol(colours[i], "#3d3d3d", 0.15), " AND ".join(parts), label))
    root.appendChild(
        _rule(_symbol("#ffffff", "#7f7f7f", 0.2, "b_diagonal"), f'{inside} AND "{field}" IS NULL', tr("no result"))
    )
    if _has(layer, "included"):
        root.appendChild(_rule(_symbol(EXCLUDED_COLOUR, "#a0a0a0"), outside, tr("outside the district")))
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
            _rule(_symbol("#000000", "#000000", 0.0, "fdiagonal"), '"usable" IS NOT NULL AND NOT "usable"',
                  tr("not usable for PV"))
        )
        root.children()[-1].symbol().symbolLayer(0).setStrokeStyle(0)  # Qt.NoPen
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
    stats = provider.bandStatistics(1, QgsRasterBandStats.Min | QgsRasterBandStats.Max)
    lo, hi = stats.minimumValue, stats.maximumValue
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0
    shader_fn = QgsColorRampShader(lo, hi)
    shader_fn.setColorRampType(QgsColorRampShader.Interpolated)
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
