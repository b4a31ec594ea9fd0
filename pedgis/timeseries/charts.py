"""Charts of the time-resolved block: monthly balance, typical days, netting side by side.

:func:`timeseries_html` returns a self-contained page (plotly inlined, opens offline) that
``write_outputs`` saves as ``timeseries.html`` and the report can embed (``iframe srcdoc``);
:func:`monthly_balance_figure` and :func:`typical_day_figure` return the plotly figures.
All data come from ``district.json → timeseries`` (docs/outputs.md).
"""

from __future__ import annotations

import copy

from ..escaping import escape_html
from ..labels import carrier_color
from ..units import KWH_PER_MWH

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
TYPICAL_MONTHS = (1, 4, 7, 10)
#: PEI and PEE bars, and the balance line drawn over them (a colour neither bar has)
PEI_COLOR, PEE_COLOR, BALANCE_COLOR = "#e76f51", "#2a9d8f", "#1d2d44"


def monthly_balance_figure(ts: dict):
    """Bars of PEI (up) and PEE (down) per month [MWh] and the monthly balance B_m (line).

    Months with B_m > 0 are the ones DB-HE monthly netting leaves uncompensated.
    """
    import plotly.graph_objects as go

    m = ts["monthly"]
    pei = [v / KWH_PER_MWH for v in m["pei_kwh"]]
    pee = [-v / KWH_PER_MWH for v in m["pee_kwh"]]
    bal = [v / KWH_PER_MWH for v in m["balance_kwh"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=list(MONTHS), y=pei, name="PEI (imports, Eq. 14)", marker_color=PEI_COLOR))
    fig.add_trace(go.Bar(x=list(MONTHS), y=pee, name="− PEE (exports, Eq. 15)", marker_color=PEE_COLOR))
    # the balance stands out from the bars: a dark line, diamonds outlined in white (filled dark
    # where the month is not compensated, B_m > 0; white where it is), drawn over the bars
    fig.add_trace(go.Scatter(x=list(MONTHS), y=bal, name="balance PEI − PEE (◆ not compensated, ◇ compensated)",
                             mode="lines+markers", line={"color": BALANCE_COLOR, "width": 3},
                             marker={"symbol": "diamond", "size": 13,
                                     "color": [BALANCE_COLOR if b > 0 else "#ffffff" for b in bal],
                                     "line": {"color": [("#ffffff" if b > 0 else BALANCE_COLOR) for b in bal],
                                              "width": 2}}))
    fig.update_layout(barmode="relative", template="plotly_white", height=420,
                      title="Monthly primary-energy balance (monthly netting; a month above 0 is not compensated)",
                      yaxis_title="MWh of non-renewable primary energy", legend={"orientation": "h", "y": -0.15})
    return fig


def typical_day_figure(ts: dict, months=TYPICAL_MONTHS):
    """Mean electricity load, PV, import and export per hour of day for some months [kW]."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    td = ts["typical_day"]
    months = [m for m in months if 1 <= m <= 12]
    fig = make_subplots(rows=1, cols=len(months), shared_yaxes=True,
                        subplot_titles=[f"typical {MONTHS[m - 1]} day" for m in months])
    series = [("load_kw", "load", "#264653", None), ("pv_kw", "PV", carrier_color("pv_electricity"), "tozeroy"),
              ("import_kw", "grid import", "#e76f51", None), ("export_kw", "grid export", "#2a9d8f", None)]
    for j, mth in enumerate(months, start=1):
        for key, label, color, fill in series:
            if key not in td:
                continue
            fig.add_trace(go.Scatter(x=td["hour"], y=td[key][mth - 1], name=label, legendgroup=key, showlegend=j == 1,
                                     line={"color": color, "dash": "dot" if key in ("import_kw", "export_kw") else None},
                                     fill=fill), row=1, col=j)
        fig.update_xaxes(title_text="hour", row=1, col=j, dtick=6)
    fig.update_yaxes(title_text="kW", row=1, col=1)
    fig.update_layout(template="plotly_white", height=380, legend={"orientation": "h", "y": -0.25},
                      title="District electricity on typical days (mean per hour of day)")
    return fig


def _fmt_mwh(v) -> str:
    return "n/a" if v is None else f"{v / KWH_PER_MWH:,.1f} MWh"


def netting_table_html(ts: dict) -> str:
    """The PED balance with annual, monthly and hourly netting side by side (HTML table)."""
    n = ts["netting"]
    rows = [("PEI (Eq. 14)", "pei_kwh"), ("PEE (Eq. 15)", "pee_kwh"), ("PED balance (Eq. 17)", "ped_balance_kwh"),
            ("positive?", "is_ped")]
    head = "".join(f"<th>{escape_html(t)}</th>" for t in ("", "annual", "monthly (DB-HE)", "hourly"))
    body = []
    for label, key in rows:
        cells = []
        for t in ("annual", "monthly", "hourly"):
            v = n[t].get(key)
            cells.append("yes" if v is True else "no" if v is False else _fmt_mwh(v))
        body.append("<tr><th>" + escape_html(label) + "</th>" + "".join(f"<td>{escape_html(c)}</td>" for c in cells) + "</tr>")
    m = n["monthly"]
    body.append("<tr><th>uncompensated PEI (monthly)</th><td></td><td>" + escape_html(_fmt_mwh(m["uncompensated_pei_kwh"]))
                + f" (worst: {escape_html(MONTHS[m['worst_month'] - 1])})</td><td></td></tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def indicators_html(ts: dict) -> str:
    """Self-sufficiency, self-consumption, peaks, hours of export, sharing (HTML list)."""
    e = ts["electricity"]

    def pct(v):
        return "n/a" if v is None else f"{100 * v:.0f} %"

    items = [("self-sufficiency (load cover)", pct(e.get("self_sufficiency"))),
             ("self-consumption (supply cover)", pct(e.get("self_consumption"))),
             ("peak import", f"{e['peak_import_kw']:,.0f} kW"), ("peak export", f"{e['peak_export_kw']:,.0f} kW"),
             ("hours with export", f"{e['hours_net_export']:,} h"),
             ("grid interaction index", f"{e['grid_interaction']:.2f}"),
             ("shared between buildings", _fmt_mwh(e.get("shared_kwh"))),
             ("netting", str(ts.get("netting_level", "")))]
    return "<ul>" + "".join(f"<li><b>{escape_html(k)}</b>: {escape_html(v)}</li>" for k, v in items) + "</ul>"


#: The last time-resolved block's chart divs: the time-series page and the report embed the same
#: two charts, and building a plotly figure costs more than the page around it (0.1-0.2 s each).
_LAST_DIVS: tuple[dict, dict[str, str]] | None = None


def chart_divs(ts: dict) -> dict[str, str]:
    """The monthly balance and typical-day charts as HTML divs without plotly.js (``monthly``,
    ``typical_day``; only those the block has), built once for a block and reused while it is
    unchanged."""
    global _LAST_DIVS
    if _LAST_DIVS is not None and _LAST_DIVS[0] == ts:
        return _LAST_DIVS[1]
    config = {"displaylogo": False, "responsive": True}
    divs = {}
    if isinstance(ts.get("monthly"), dict):
        divs["monthly"] = monthly_balance_figure(ts).to_html(include_plotlyjs=False, full_html=False,
                                                             div_id="pedgis-monthly", config=config)
    if isinstance(ts.get("typical_day"), dict):
        divs["typical_day"] = typical_day_figure(ts).to_html(include_plotlyjs=False, full_html=False,
                                                             div_id="pedgis-typical-day", config=config)
    _LAST_DIVS = (copy.deepcopy(ts), divs)
    return divs


def timeseries_html(ts: dict, title: str = "Time-resolved balance") -> str:
    """A self-contained page with the netting table, the indicators and both charts."""
    from plotly.offline import get_plotlyjs

    divs = chart_divs(ts)
    plotly_js = ("<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script><script>" + get_plotlyjs()
                 + "</script>")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + escape_html(title) + "</title>"
            "<style>body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}</style>"
            + plotly_js + "</head><body><h2>" + escape_html(title) + "</h2>"
            f"<p>Verdict on <b>{escape_html(str(ts.get('timestep')))}</b> netting.</p>"
            + netting_table_html(ts) + indicators_html(ts) + divs.get("monthly", "") + divs.get("typical_day", "")
            + "</body></html>")
