"""Step 8: the primary-energy Sankey diagram (paper §2.8, Figure 6).

Five stages, drawn left to right, for thermal and electric energy per carrier::

    needs ─► uses (energy carrier input of the systems) ─► delivered (imported per carrier,
    on-site RES used, exported surplus) ─► primary energy (PEI, PEE, renewable parts)
    ─► balance (PEI − PEE, Eq. 17)

Every intermediate node conserves energy: what enters equals what leaves. Where the physics
adds or removes energy between stages an explicit node says so — conversion losses
(need < carrier input, e.g. a boiler's efficiency, Eq. 6–7), ambient heat of heat pumps
(need > carrier input, SCOP/SEER, Eq. 8), primary energy upstream of delivery (PEF > 1,
Eq. 14–15) — so the diagram balances at every stage and its last node is the PED balance of
``district.json``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pedgis.errors import DataQualityWarning, InputDataError
from pedgis.escaping import escape_html, plotly_text
from pedgis.labels import SERVICE_LABELS, cap, carrier_color, carrier_label, technology_label
from pedgis.viz.common import fmt_energy
from pedgis.viz.inputs import finite, load_inputs

STAGES = ["Needs", "Uses (carrier input)", "Delivered", "Primary energy", "PED balance"]
#: column heads with each column's quantity: final energy until delivered, then primary energy
STAGE_HEADS = ["<b>Needs</b> (final)", "<b>Uses</b>: carrier input", "<b>Delivered</b> and exported",
               "<b>Primary energy</b>", "<b>PED balance</b>"]
STAGE_X = [0.001, 0.26, 0.5, 0.76, 0.999]
#: relative mismatch between stages above which a warning names the inconsistency
TOLERANCE = 0.005

#: services by their ids in district.json (the engine's and older long names), from the label table
SERVICE_NAMES = {**SERVICE_LABELS, "space_heating": "Space heating", "space_cooling": "Space cooling",
                 "ev": "EV charging"}
#: nodes drawn between two columns: the step from one quantity to the next (x in paper units)
BETWEEN_X = {"gen_in": 0.13, "weighting": 0.64}


#: width of the exported images [CSS px]; the PNG is drawn at twice that
IMAGE_WIDTH_PX = 1400


class ImageExportError(InputDataError):
    """``--images`` was asked for and the Sankey could not be exported (no kaleido, no browser)."""


@dataclass
class SankeyData:
    """Nodes and links of the diagram, plain numbers (kWh per year).

    Attributes
    ----------
    keys : list of str
        Node identifiers (``need:space_heating``, ``use:electricity``, ``pei``, ``balance`` …).
    names : list of str
        Node names for display (not escaped).
    stages : list of int
        Stage (column) of each node, 0 = needs … 4 = balance.
    signed : dict
        Signed values of special nodes (``balance`` = PEI − PEE [kWh]).
    sources, targets : list of int
        Link ends (node indices).
    values : list of float
        Link values [kWh].
    carriers : list of str
        Carrier of each link (for colour), "" when none.
    """

    keys: list = field(default_factory=list)
    names: list = field(default_factory=list)
    stages: list = field(default_factory=list)
    signed: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    values: list = field(default_factory=list)
    carriers: list = field(default_factory=list)

    def node(self, key: str, name: str, stage: int) -> int:
        if key in self.keys:
            return self.keys.index(key)
        self.keys.append(key)
        self.names.append(name)
        self.stages.append(stage)
        return len(self.keys) - 1

    def link(self, a: int, b: int, value: float, carrier: str = "") -> None:
        if value > 0 and math.isfinite(value):
            self.sources.append(a)
            self.targets.append(b)
            self.values.append(float(value))
            self.carriers.append(carrier)

    def inflow(self, i: int) -> float:
        return sum(v for t, v in zip(self.targets, self.values, strict=True) if t == i)

    def outflow(self, i: int) -> float:
        return sum(v for s, v in zip(self.sources, self.values, strict=True) if s == i)

    def node_value(self, i: int) -> float:
        return max(self.inflow(i), self.outflow(i))

    def pruned(self) -> SankeyData:
        """A copy without nodes that carry no flow (plotly misplaces unlinked nodes)."""
        used = sorted(set(self.sources) | set(self.targets))
        new = {old: k for k, old in enumerate(used)}
        return SankeyData(
            keys=[self.keys[i] for i in used], names=[self.names[i] for i in used],
            stages=[self.stages[i] for i in used], signed=dict(self.signed),
            sources=[new[i] for i in self.sources], targets=[new[i] for i in self.targets],
            values=list(self.values), carriers=list(self.carriers),
        )


def _tiny(x: float, scale: float) -> bool:
    """A difference that is floating-point noise, not energy (< 1 Wh or 1e-9 relative)."""
    return abs(x) <= max(1e-3, 1e-9 * abs(scale))


def _name(service: str) -> str:
    return SERVICE_NAMES.get(service, service.replace("_", " ").capitalize())


def _carrier_name(carrier: str) -> str:
    return carrier_label(carrier)


_cap = cap


def _num(row: dict, key: str, where: str) -> float:
    v = finite(row.get(key, 0.0) if row.get(key) is not None else 0.0)
    if v is None:
        raise InputDataError(
            f"district.json {where}.{key}: '{row.get(key)}' is not a number. "
            "Fix: re-run pedgis to write district.json again."
        )
    if v < 0:
        raise InputDataError(
            f"district.json {where}.{key}: {v} is negative; flows in the Sankey are annual "
            "amounts ≥ 0. Fix: re-run pedgis (a negative value means a broken breakdown)."
        )
    return v


def _weighted(s: SankeyData, src: int, final_kwh: float, parts: list, carrier: str, extra: tuple,
              lost: tuple) -> None:
    """Links from a delivered or exported node (``final_kwh`` of final energy) to its primary-energy
    nodes ``parts`` [(node, kWh)]: the node passes on at most its own energy, shared in proportion;
    primary energy beyond it (a factor above 1) comes from a weighting node between the columns,
    final energy beyond the primary (a factor below 1) goes to a "not counted" node."""
    total = sum(v for _, v in parts)
    passed = min(final_kwh, total)
    for node, v in parts:
        share = passed * v / total if total > 0 else 0.0
        s.link(src, node, share, carrier)
        if v - share > 0 and not _tiny(v - share, v):
            s.link(s.node(extra[0], extra[1], 2), node, v - share, carrier)
    if final_kwh - total > 0 and not _tiny(final_kwh - total, final_kwh):
        s.link(src, s.node(lost[0], lost[1], 3), final_kwh - total, carrier)


def sankey_flows(district: dict) -> SankeyData:
    """Build the Sankey nodes and links from ``district.json`` (its ``breakdown``).

    Parameters
    ----------
    district : dict
        Content of ``district.json``; uses ``breakdown.needs``, ``breakdown.uses``,
        ``breakdown.generation`` and ``breakdown.carriers``.

    Returns
    -------
    SankeyData

    Raises
    ------
    InputDataError
        ``breakdown`` missing or a value not a non-negative number.

    Warns
    -----
    DataQualityWarning
        A stage does not add up with the next one (beyond 0.5 %); the difference is drawn as
        an explicit "not itemised" node rather than hidden.

    Notes
    -----
    Stages follow the paper's Figure 6 (§2.8). Links:

    * need → carrier use, per system: the need is shared among the system's carriers in
      proportion to their input; ``input − need`` enters the use nodes as conversion and
      distribution losses (Eq. 6–7); ``need − input`` leaves to "ambient energy" (heat pumps
      and chillers whose ambient heat is not itemised as a carrier, Eq. 8).
    * generation inputs (CHP fuel, Eq. 13) are demands on their carrier.
    * carrier use → imported (``delivered_kwh``) and on-site RES used (``onsite_kwh``)
      (Eq. 11–13); the exported surplus (``exported_kwh``) is a source of stage 3.
    * imported → PEI (``pei_kwh`` = delivered × PEF_nren, Eq. 14) and renewable primary
      energy; exported → PEE (``pee_kwh`` = exported × PEF_nren,export, Eq. 15).
    * PEI and PEE offset each other; the rest is the PED balance PEI − PEE (Eq. 17),
      negative for a positive energy district.
    """
    bd = district.get("breakdown")
    if not isinstance(bd, dict):
        raise InputDataError(
            "district.json has no 'breakdown' (needs, uses, generation, carriers), so the "
            "Sankey cannot be drawn. Fix: re-run pedgis with this version to write it."
        )
    needs = bd.get("needs") or {}
    uses = bd.get("uses") or []
    generation = bd.get("generation") or []
    carriers = bd.get("carriers") or []
    s = SankeyData()

    # stage 0 → 1: needs → carrier inputs, per system (service, system): a system's need is
    # shared among its carriers in proportion to their input (a heat pump's electricity and
    # ambient heat); extra input is conversion loss, missing input is ambient energy (SCOP/SEER)
    need_out: dict[str, float] = {}
    use_in: dict[str, float] = {}
    groups: dict[tuple[str, str], dict] = {}
    # needs first, in the paper's order (SH, SC, DHW, lighting, ventilation, others)
    order = list(dict.fromkeys(SERVICE_NAMES))
    for service in sorted(needs, key=lambda x: order.index(x) if x in order else len(order)):
        s.node(f"need:{service}", _name(service), 0)
    for k, row in enumerate(uses):
        where = f"breakdown.uses[{k}]"
        service, carrier = str(row.get("service", "?")), str(row.get("carrier", "?"))
        n, i = _num(row, "need_kwh", where), _num(row, "input_kwh", where)
        g = groups.setdefault((service, str(row.get("system", ""))), {"need": 0.0, "inputs": {}})
        g["need"] += n
        g["inputs"][carrier] = g["inputs"].get(carrier, 0.0) + i
        need_out[service] = need_out.get(service, 0.0) + n
        use_in[carrier] = use_in.get(carrier, 0.0) + i
    for (service, _system), g in groups.items():
        n, total_in = g["need"], sum(g["inputs"].values())
        a = s.node(f"need:{service}", _name(service), 0)
        for carrier, i in g["inputs"].items():
            b = s.node(f"use:{carrier}", _cap(_carrier_name(carrier)), 1)
            covered = n * i / total_in if total_in > n else i
            s.link(a, b, covered, carrier)
            if i > covered and not _tiny(i - covered, i):
                s.link(s.node("losses", "Conversion & distribution losses", 0), b, i - covered,
                       carrier)
        if n > total_in and not _tiny(n - total_in, n):
            s.link(a, s.node("ambient", "Ambient energy (heat pumps, chillers)", 1),
                   n - total_in, "")
    for service, total in needs.items():
        t = _num({"v": total}, "v", f"breakdown.needs.{service}")
        gap = t - need_out.get(service, 0.0)
        if abs(gap) > TOLERANCE * max(t, 1.0):
            warnings.warn(
                f"district.json breakdown: the need '{service}' is {t:.0f} kWh but the systems "
                f"in breakdown.uses cover {need_out.get(service, 0.0):.0f} kWh; the Sankey "
                "shows the difference as 'not itemised'. Fix: give every need a system.",
                DataQualityWarning, stacklevel=2,
            )
            if gap > 0:
                s.link(s.node(f"need:{service}", _name(service), 0),
                       s.node("unitemised_use", "Need without a system (not itemised)", 1), gap)
    for k, g in enumerate(generation):
        c, i = g.get("input_carrier"), _num(g, "input_kwh", f"breakdown.generation[{k}]")
        if c and i > 0:
            tech = str(g.get("technology") or "generator")
            what = ("On-site generation: " + technology_label(tech) if g.get("res") and tech == "pv"
                    else f"Fuel of the {technology_label(tech)}")
            a = s.node(f"gen_in:{tech}:{c}", what, 0)
            b = s.node(f"use:{c}", _cap(_carrier_name(c)), 1)
            s.link(a, b, i, str(c))
            use_in[str(c)] = use_in.get(str(c), 0.0) + i

    # stage 1 → 2 → 3: delivered and primary energy per carrier
    pei_total = pee_total = 0.0
    # delivered/primary nodes in the order of the carrier-use nodes (fewer crossings)

    def _rank(item):
        key = f"use:{item[1].get('carrier')}"
        return s.keys.index(key) if key in s.keys else len(s.keys)

    for k, c in sorted(enumerate(carriers), key=_rank):
        where = f"breakdown.carriers[{k}]"
        name = str(c.get("carrier", "?"))
        cname = _carrier_name(name)
        delivered, onsite = _num(c, "delivered_kwh", where), _num(c, "onsite_kwh", where)
        exported = _num(c, "exported_kwh", where)
        pei, pee = _num(c, "pei_kwh", where), _num(c, "pee_kwh", where)
        ren_d = _num(c, "pe_ren_delivered_kwh", where)
        ren_e = _num(c, "pe_ren_exported_kwh", where)
        pei_total += pei
        pee_total += pee
        u = s.node(f"use:{name}", _cap(cname), 1)
        out = delivered + onsite
        gap = use_in.get(name, 0.0) - out
        if abs(gap) > TOLERANCE * max(out, use_in.get(name, 0.0), 1.0):
            warnings.warn(
                f"district.json {where}: carrier '{name}' has {use_in.get(name, 0.0):.0f} kWh of "
                f"system input but delivered + on-site = {out:.0f} kWh; the Sankey shows the "
                "difference as 'not itemised'. Fix: check breakdown.uses against the carriers.",
                DataQualityWarning, stacklevel=2,
            )
        if _tiny(gap, out):
            pass
        elif gap < 0:
            s.link(s.node(f"unitemised_demand:{name}", f"Other {cname} demand (not itemised)", 0),
                   u, -gap, name)
        elif gap > 0:
            s.link(u, s.node(f"unitemised_supply:{name}", f"{_cap(cname)} not delivered "
                             "(not itemised)", 2), gap, name)
        imp = s.node(f"imported:{name}", f"Imported {cname}", 2)
        s.link(u, imp, delivered, name)
        s.link(u, s.node(f"onsite:{name}", f"On-site {cname}", 2), onsite, name)
        # delivered energy (final) → primary energy: PEI (Eq. 14) and renewable primary energy.
        # The delivered node carries delivered kWh; where the factors make more primary energy
        # than was delivered (PEF > 1), the rest enters between the columns ("weighting")
        pei_node = s.node("pei", "PEI, non-renewable (Eq. 14)", 3)
        ren_node = s.node("pe_ren_imported", "Renewable PE imported", 3)
        _weighted(s, imp, delivered, [(pei_node, pei), (ren_node, ren_d)], name,
                  ("weighting_imp", "PEF weighting of imports"), ("pe_not_counted", "Not counted as primary energy"))
        if exported > 0 or pee > 0 or ren_e > 0:
            exp = s.node(f"exported:{name}", f"Exported {cname}", 2)
            s.link(s.node(f"surplus:{name}", f"Surplus {cname}", 1), exp, exported, name)
            pee_node = s.node("pee", "PEE, non-renewable (Eq. 15)", 3)
            ren_e_node = s.node("pe_ren_exported", "Renewable PE exported", 3)
            _weighted(s, exp, exported, [(pee_node, pee), (ren_e_node, ren_e)], name,
                      ("weighting_exp", "PEF weighting of exports"),
                      ("pe_exp_not_counted", "Export not counted as primary energy"))

    # stage 3 → 4: balance (Eq. 17)
    balance = pei_total - pee_total
    offset = min(pei_total, pee_total)
    if pei_total > 0 or pee_total > 0:
        pei_node = s.node("pei", "PEI, non-renewable (Eq. 14)", 3)
        pee_node = s.node("pee", "PEE, non-renewable (Eq. 15)", 3)
        if offset > 0:
            off = s.node("offset", "PEI offset by PEE", 4)
            s.link(pei_node, off, offset)
            s.link(pee_node, off, offset)
        word = "net import" if balance > 0 else "surplus: positive district"
        bal = s.node("balance", f"PED balance PEI − PEE (Eq. 17), {word}", 4)
        if balance > 0:
            s.link(pei_node, bal, balance)
        elif balance < 0:
            s.link(pee_node, bal, -balance)
    else:
        s.node("balance", "PED balance PEI − PEE", 4)
    s.signed = {"balance": balance, "pei": pei_total, "pee": pee_total, "offset": offset}
    top = finite(district.get("ped_balance_kwh"))
    if top is not None and abs(top - balance) > TOLERANCE * max(abs(top), pei_total, 1.0):
        warnings.warn(
            f"district.json: ped_balance_kwh is {top:.0f} kWh but the carriers in breakdown "
            f"give PEI − PEE = {balance:.0f} kWh. The Sankey draws the breakdown. Fix: re-run "
            "pedgis; the two must agree.",
            DataQualityWarning, stacklevel=2,
        )
    return s


_STAGE_COLORS = ["#6a51a3", "#3182bd", "#31a354", "#e6550d", "#636363"]
_carrier_color = carrier_color


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


#: plotly's node.pad: the gap between two nodes of a column is the height of a two-line label at
#: 11 px, so labels (centred on their nodes) never meet, however small the nodes
NODE_PAD_PX = 25
#: the figure fits a 1280 x 720 screen (a slide, a laptop); the page lets it grow wider
FIGURE_HEIGHT_PX = 700
MARGIN_TOP_PX, MARGIN_BOTTOM_PX = 104, 16  # heads clear of a top node's two-line label


def _x(key: str, stage: int) -> float:
    for prefix, x in BETWEEN_X.items():
        if key.startswith(prefix):
            return x
    return STAGE_X[stage]


def _layout(s: SankeyData, plot_px: float) -> tuple[list[float], list[float], float]:
    """Node centres (x by column, y stacked within each column, as fractions of the plot) and the
    px per kWh: plotly's own scale (the fullest column, with a :data:`NODE_PAD_PX` gap between
    nodes, fills the plot height), so the positions are the ones plotly keeps and no column runs
    off the figure. Nodes between two columns stack on their own.
    """
    xs = [_x(k, st) for k, st in zip(s.keys, s.stages, strict=True)]
    values = [s.node_value(i) for i in range(len(s.keys))]
    columns: dict[float, list[int]] = {}
    for i, x in enumerate(xs):
        columns.setdefault(x, []).append(i)
    scale = min(((plot_px - (len(m) - 1) * NODE_PAD_PX) / (sum(values[i] for i in m) or 1.0)
                 for m in columns.values()), default=1.0)
    scale = max(scale, 1e-12)
    ys = [0.5] * len(s.keys)
    for members in columns.values():
        y = 0.0
        for i in members:
            h = values[i] * scale
            ys[i] = min(max((y + h / 2) / plot_px, 0.001), 0.999)
            y += h + NODE_PAD_PX
    return xs, ys, scale


def build_figure(district: dict, title: str | None = None):
    """A plotly ``Figure`` of the Sankey (labels escaped, values with units)."""
    import plotly.graph_objects as go

    s = sankey_flows(district).pruned()
    values = [s.node_value(i) for i in range(len(s.keys))]
    labels = []
    for i, name in enumerate(s.names):
        if s.keys[i] == "offset":
            text = f"{fmt_energy(s.signed['offset'])} on each side"
        else:
            text = fmt_energy(s.signed["balance"] if s.keys[i] == "balance" else values[i])
        labels.append(f"{plotly_text(name)}<br>{plotly_text(text)}")
    node_colors = [_STAGE_COLORS[st] for st in s.stages]
    for i, key in enumerate(s.keys):
        if key == "balance":
            node_colors[i] = "#1a9850" if s.signed["balance"] <= 0 else "#d73027"
        elif key.startswith("gen_in:") or key.startswith("surplus:"):
            node_colors[i] = "#74c476"  # on-site generation
        elif key in ("losses", "ambient", "upstream_imp", "upstream_exp", "pe_not_counted",
                     "pe_exp_not_counted") or key.startswith("unitemised"):
            node_colors[i] = "#bdbdbd"
    plot_px = FIGURE_HEIGHT_PX - MARGIN_TOP_PX - MARGIN_BOTTOM_PX
    xs, ys, _ = _layout(s, plot_px)
    link_labels = [
        f"{plotly_text(s.names[a])} → {plotly_text(s.names[b])}: {plotly_text(fmt_energy(v))}"
        for a, b, v in zip(s.sources, s.targets, s.values, strict=True)
    ]
    fig = go.Figure(go.Sankey(
        arrangement="snap",  # from _layout's columns and stacking; plotly keeps node.pad between nodes
        valueformat=",.0f",
        valuesuffix=" kWh/a",
        node=dict(label=labels, color=node_colors, pad=NODE_PAD_PX, thickness=16,
                  line=dict(color="#444", width=0.5), x=xs, y=ys,
                  customdata=[s.signed["balance"] if k == "balance" else v
                              for k, v in zip(s.keys, values, strict=True)],
                  hovertemplate="%{label}<extra></extra>"),
        link=dict(source=s.sources, target=s.targets, value=s.values,
                  color=[_rgba(_carrier_color(c), 0.45) for c in s.carriers],
                  customdata=link_labels, hovertemplate="%{customdata}<extra></extra>"),
    ))
    for k, stage in enumerate(STAGE_HEADS):
        fig.add_annotation(x=STAGE_X[k], y=1.0, xref="paper", yref="paper", yanchor="bottom",
                           yshift=NODE_PAD_PX // 2 + 2, text=stage, showarrow=False, font=dict(size=12),
                           xanchor="left" if k == 0 else ("right" if k == 4 else "center"))
    bal = s.signed["balance"]
    is_ped = district.get("is_ped")  # the engine's verdict (none without an included building)
    verdict = ("Positive Energy District" if (bal < 0 if is_ped is None else is_ped)
               else "not (yet) a Positive Energy District")
    if not s.keys:
        fig.add_annotation(x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=14),
                           text=plotly_text("No energy flows: " + (district.get("verdict_note") or "every flow of the district is 0.")))
    fig.update_layout(
        title=dict(text=plotly_text("Primary-energy Sankey (MAKING-CITY step 8, Fig. 6)"
                               + (f" — {title}" if title else ""))
                   + f"<br><sup>PED balance PEI − PEE = {plotly_text(fmt_energy(bal))}: "
                     f"{verdict}</sup>", x=0.01),
        font=dict(size=10.5, family="system-ui, sans-serif"),
        margin=dict(l=12, r=12, t=MARGIN_TOP_PX, b=MARGIN_BOTTOM_PX), height=FIGURE_HEIGHT_PX, autosize=True,
        paper_bgcolor="white",
    )
    return fig


def sankey_html(district: dict, title: str | None = None) -> str:
    """``sankey.html`` as a string: plotly's JavaScript inlined, no network needed."""
    fig = build_figure(district, title)
    html_text = fig.to_html(include_plotlyjs=True, full_html=True, include_mathjax=False,
                            div_id="pedgis-sankey",
                            config={"displaylogo": False, "responsive": True})
    return html_text.replace("<head>", '<head><meta charset="utf-8"><title>'
                             + escape_html(title or "pedgis — primary-energy Sankey")
                             + "</title><style>body { margin: 0; }</style>", 1)


def write_sankey(inputs: Any, out_dir: str | Path, title: str | None = None,
                 static: bool = False) -> list[Path]:
    """Write ``sankey.html`` and, with ``static``, ``sankey.png`` and ``sankey.svg``.

    Returns the paths written.
    """
    out_dir = Path(out_dir)
    district = load_inputs(inputs).district
    path = out_dir / "sankey.html"
    path.write_text(sankey_html(district, title), encoding="utf-8")
    written = [path]
    if static:
        written += export_static(district, out_dir, title)
    return written


EXPORT_FIX = ("Fix: `pip install 'kaleido>=1'` (in pedgis's environment; `make venv` installs it) and make Chrome "
              "or Chromium available (Debian: `apt install chromium`), or leave out --images and use the camera "
              "button of sankey.html.")


def check_image_export() -> None:
    """Refuse ``--images`` before computing when kaleido is not installed."""
    try:
        import kaleido  # noqa: F401
    except ImportError as exc:
        raise ImageExportError(f"--images: the kaleido package is not installed ({exc}). {EXPORT_FIX}") from exc


def export_static(district: dict, out_dir: Path, title: str | None = None) -> list[Path]:
    """PNG (2x) and SVG of the Sankey (:func:`write_images`)."""
    return write_images({"sankey": build_figure(district, title)}, out_dir)


def write_images(figures: dict, out_dir: Path) -> list[Path]:
    """``<name>.png`` (drawn at 2x) and ``<name>.svg`` of each plotly figure, by plotly through
    kaleido in headless Chrome/Chromium, all in one browser session (``plotly.io.write_images``,
    kaleido >= 1). Asked for explicitly (``--images``), so a failure raises
    :class:`ImageExportError` and leaves no image.
    """
    check_image_export()
    import plotly.io as pio

    figs, paths, heights, scales = [], [], [], []
    for name, fig in figures.items():
        for suffix, scale in (("png", 2), ("svg", 1)):
            figs.append(fig)
            paths.append(Path(out_dir) / f"{name}.{suffix}")
            heights.append(int(fig.layout.height or 760))
            scales.append(scale)
    try:
        pio.write_images(figs, paths, width=IMAGE_WIDTH_PX, height=heights, scale=scales)
    except Exception as exc:  # kaleido needs a Chrome/Chromium it may not find
        for p in paths:
            p.unlink(missing_ok=True)
        names = ", ".join(p.name for p in paths)
        raise ImageExportError(f"{names}: the export with kaleido failed ({type(exc).__name__}: {exc}). "
                               f"{EXPORT_FIX}") from exc
    return paths
