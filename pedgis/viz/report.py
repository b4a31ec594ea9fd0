"""The district report (``report.html``): one self-contained file to hand to a council.

Verdict and margin, what would close the gap (:mod:`pedgis.viz.gap`), the Figure 3 checklist,
the map (``iframe srcdoc``) and the Sankey embedded (no other file, no network), the
time-resolved balance when the run has one ("Through the year": netting side by side,
electricity indicators, storage, monthly and typical-day charts; plotly.js inlined once),
step-by-step
tables (needs, uses, generation, delivered and primary energy per carrier), top importing and
exporting buildings, excluded and flagged buildings, and every assumption with its source.
Every value is HTML-escaped: the template file is ours and user text only ever a variable of it
(Jinja2 autoescape); the assumptions tree through :func:`pedgis.escaping.escape_html`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from pedgis.geometry import flagged_count
from pedgis.labels import carrier_label
from pedgis.viz.common import fmt_energy, fmt_number
from pedgis.viz.gap import PAPER_NZEB_SOURCE, pv_gap, retrofit_gap
from pedgis.viz.inputs import VizInputs, finite, load_inputs
from pedgis.viz.maps import all_indicators, build_map, summary_lines
from pedgis.viz.sankey import SERVICE_NAMES, build_figure

TOP_N = 10
MAX_CELL = 400


def _cell(value: Any, n: int = MAX_CELL) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def _kwh(v: Any) -> str:
    return fmt_energy(finite(v))


def _pct(v: Any) -> str:
    f = finite(v)
    return "no data" if f is None else f"{fmt_number(100 * f)} %"


def _find(d: Any, *names: str) -> Any:
    """First value found under any of ``names`` (searching nested dicts breadth-first)."""
    queue = [d]
    while queue:
        cur = queue.pop(0)
        if isinstance(cur, dict):
            for n in names:
                if n in cur and cur[n] not in (None, ""):
                    return cur[n]
            queue.extend(v for v in cur.values() if isinstance(v, dict))
    return None


def _checklist(assumptions: dict) -> tuple[list[tuple[str, Any]], str]:
    """Rows ``(load, included)`` of the Fig. 3 checklist, and its source note.

    Accepts ``{"epb_uses": [...], "appliances": bool, "public_lighting_kwh": 38000, ...,
    "source": ...}`` (the engine's form), a plain ``{load: bool}`` mapping or a list.
    """
    cl = _find(assumptions, "checklist", "loads", "included_loads")
    rows: list[tuple[str, Any]] = []
    source = ""
    if isinstance(cl, dict):
        for k, v in cl.items():
            if k == "source":
                source = str(v)
            elif k == "epb_uses" and isinstance(v, list):
                rows += [(f"{SERVICE_NAMES.get(u, str(u))} (EPB use)", True) for u in v]
            elif isinstance(v, bool):
                extra = finite(cl.get(f"{k}_kwh"))
                label = SERVICE_NAMES.get(k, str(k).replace("_", " ").capitalize())
                if v and extra:
                    label += f" ({fmt_energy(extra)})"
                rows.append((label, v))
            elif not str(k).endswith("_kwh"):
                rows.append((SERVICE_NAMES.get(k, str(k).replace("_", " ")), v))
    elif isinstance(cl, list):
        for item in cl:
            if isinstance(item, dict):
                name = item.get("load") or item.get("name") or item.get("service") or "?"
                rows.append((SERVICE_NAMES.get(name, str(name)),
                             item.get("included", item.get("value"))))
            else:
                rows.append((SERVICE_NAMES.get(item, str(item)), True))
    return rows, source


def district_title(district: dict) -> str | None:
    """The scenario's name recorded in ``assumptions.scenario`` (or ``.name``), if any."""
    a = district.get("assumptions") or {}
    sc = a.get("scenario") if isinstance(a, dict) else None
    if isinstance(sc, dict):
        sc = sc.get("name")
    return str(sc) if sc not in (None, "") else None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else "no data"
    return _cell(value)


_SOURCE_KEYS = ("source", "sources", "reference", "ref")


def flatten_assumptions(tree: Any, path: str = "") -> list[tuple[str, str, str]]:
    """Rows ``(parameter path, value, source)`` of an assumptions tree.

    A dict carrying a ``source`` is one row: its other entries form the value
    (``value`` and ``unit`` read as "129.5 kWh/(m2 a)", others as ``key = value``); lists of
    dicts are numbered (or named by their ``name``/``carrier``/``id`` entry); scalars are
    rows without a source.
    """
    rows: list[tuple[str, str, str]] = []
    if isinstance(tree, dict):
        src_key = next((k for k in _SOURCE_KEYS if k in tree), None)
        rest = {k: v for k, v in tree.items() if k != src_key}
        if src_key and all(not isinstance(v, dict | list) or isinstance(v, list) and
                           all(not isinstance(x, dict | list) for x in v)
                           for v in rest.values()):
            if "value" in rest:
                text = f"{_scalar(rest.pop('value'))} {rest.pop('unit', '') or ''}".strip()
                extra = "; ".join(f"{k} = {_fmt_leaf(v)}" for k, v in rest.items())
                text = f"{text} ({extra})" if extra else text
            else:
                text = "; ".join(f"{k} = {_fmt_leaf(v)}" for k, v in rest.items())
            rows.append((path, text, _scalar(tree[src_key])))
            return rows
        for k, v in tree.items():
            if k == src_key:
                rows.append((f"{path}.{k}" if path else str(k), "", _scalar(v)))
            else:
                rows += flatten_assumptions(v, f"{path}.{k}" if path else str(k))
        return rows
    if isinstance(tree, list) and tree and all(isinstance(v, dict) for v in tree):
        for i, v in enumerate(tree):
            name = next((v[k] for k in ("name", "carrier", "id", "key") if v.get(k)), None)
            rows += flatten_assumptions(v, f"{path}[{name if name is not None else i}]")
        return rows
    if isinstance(tree, list) and any(isinstance(v, str) and len(v) > 40 for v in tree):
        return [(f"{path}[{i}]" if path else f"[{i}]", _fmt_leaf(v), "")
                for i, v in enumerate(tree)]
    rows.append((path, _fmt_leaf(tree), ""))
    return rows


def _fmt_leaf(v: Any) -> str:
    if isinstance(v, list):
        return ", ".join(_scalar(x) for x in v) if v else "—"
    return _scalar(v)


def _assumptions_html(assumptions: Any):
    """Assumptions as one table per top-level key (large ones folded), values escaped."""
    from markupsafe import Markup

    from pedgis.escaping import escape_html

    if not isinstance(assumptions, dict) or not assumptions:
        return Markup("<p class='note'>district.json records no assumptions.</p>")
    simple = [(k, v) for k, v in assumptions.items() if not isinstance(v, dict | list)]
    parts = []
    if simple:
        rows = "".join(f"<tr><th>{escape_html(_cell(k))}</th><td>{escape_html(_scalar(v))}</td></tr>"
                       for k, v in simple)
        parts.append(f"<table>{rows}</table>")
    for k, v in assumptions.items():
        if not isinstance(v, dict | list):
            continue
        flat = flatten_assumptions(v)
        body = "".join(
            f"<tr><td>{escape_html(_cell(p, 120))}</td><td>{escape_html(_cell(val, 800))}</td>"
            f"<td class='src'>{escape_html(_cell(src))}</td></tr>" for p, val, src in flat)
        table = (f"<table class='assumptions'><tr><th>Parameter</th><th>Value</th>"
                 f"<th>Source</th></tr>{body}</table>")
        n_src = sum(1 for _, _, src in flat if src)
        opened = " open" if len(flat) <= 12 else ""
        parts.append(f"<details{opened}><summary><b>{escape_html(_cell(k))}</b> — {len(flat)} "
                     f"value{'s' if len(flat) != 1 else ''}, {n_src} with a source</summary>"
                     f"{table}</details>")
    return Markup("\n".join(parts))


def _step_tables(district: dict) -> list[dict]:
    bd = district.get("breakdown") or {}
    tables = []
    needs = bd.get("needs") or {}
    total = sum(finite(v) or 0.0 for v in needs.values())
    tables.append({
        "title": "Step 2 — energy needs (Eq. 1–5)",
        "header": ["Service", "Need", "Share"], "numeric": {1, 2},
        "rows": [[SERVICE_NAMES.get(k, k), _kwh(v),
                  _pct((finite(v) or 0) / total) if total else ""] for k, v in needs.items()]
        + ([["Total", _kwh(total), "100 %"]] if needs else []),
    })
    tables.append({
        "title": "Step 3 — energy uses by system (Eq. 6–8)",
        "header": ["Service", "System", "Kind", "Need", "Use", "Carrier", "Carrier input",
                   "Input / need"],
        "numeric": {3, 4, 6, 7},
        "rows": [[SERVICE_NAMES.get(r.get("service"), r.get("service")), r.get("system"),
                  r.get("kind"), _kwh(r.get("need_kwh")), _kwh(r.get("use_kwh")),
                  carrier_label(r.get("carrier")), _kwh(r.get("input_kwh")),
                  fmt_number((finite(r.get("input_kwh")) or 0) / finite(r.get("need_kwh")), 3)
                  if finite(r.get("need_kwh")) else ""]
                 for r in bd.get("uses") or []],
    })
    tables.append({
        "title": "Step 4 — on-site generation (Eq. 9–10, Table 3)",
        "header": ["Technology", "Name", "Output", "Output energy", "Renewable", "Virtual",
                   "Input carrier", "Input energy"],
        "numeric": {3, 7},
        "rows": [[g.get("technology"), g.get("name"), g.get("output"), _kwh(g.get("output_kwh")),
                  "yes" if g.get("res") else "no", "yes" if g.get("virtual") else "no",
                  carrier_label(g.get("input_carrier")) if g.get("input_carrier") else "—",
                  _kwh(g.get("input_kwh")) if g.get("input_carrier") else "—"]
                 for g in bd.get("generation") or []],
    })
    car = bd.get("carriers") or []
    tables.append({
        "title": "Step 5 — delivered and exported energy per carrier (Eq. 11–13)",
        "header": ["Carrier", "Demand", "Covered on site", "Delivered (imported)", "Exported"],
        "numeric": {1, 2, 3, 4},
        "rows": [[carrier_label(c.get("carrier")), _kwh(c.get("demand_kwh")), _kwh(c.get("onsite_kwh")),
                  _kwh(c.get("delivered_kwh")), _kwh(c.get("exported_kwh"))] for c in car],
    })
    tables.append({
        "title": "Step 6 — primary energy per carrier (Eq. 14–16)",
        "header": ["Carrier", "PEF nren", "PEF ren", "PEF nren export", "PEI", "PEE",
                   "PE ren imported", "PE ren exported", "CO₂eq"],
        "numeric": {1, 2, 3, 4, 5, 6, 7, 8},
        "rows": [[carrier_label(c.get("carrier")), fmt_number(finite(c.get("pef_nren")), 3),
                  fmt_number(finite(c.get("pef_ren")), 3),
                  fmt_number(finite(c.get("pef_nren_export")), 3),
                  _kwh(c.get("pei_kwh")), _kwh(c.get("pee_kwh")),
                  _kwh(c.get("pe_ren_delivered_kwh")), _kwh(c.get("pe_ren_exported_kwh")),
                  f"{fmt_number((finite(c.get('co2_kg')) or 0) / 1000)} t/a"] for c in car],
    })
    tables.append({
        "title": "Step 7 — balance and indicators (Eq. 17–22)",
        "header": ["Indicator", "Value"], "numeric": {1},
        "rows": [
            ["PEI, non-renewable primary energy imported", _kwh(district.get("pei_kwh"))],
            ["PEE, non-renewable primary energy exported", _kwh(district.get("pee_kwh"))],
            ["PED balance PEI − PEE", _kwh(district.get("ped_balance_kwh"))],
            ["PE_nren (Eq. 18)", _kwh(district.get("pe_nren_kwh"))],
            ["PE_ren (Eq. 19)", _kwh(district.get("pe_ren_kwh"))],
            ["PE total (Eq. 20)", _kwh(district.get("pe_total_kwh"))],
            ["Renewable energy ratio RER (Eq. 21)", _pct(district.get("rer"))],
            ["On-site renewable share (Eq. 9–10 production over the uses of Eq. 11–12)",
             _pct(district.get("onsite_renewable_share"))],
            ["CO₂eq (Eq. 22)", f"{fmt_number((finite(district.get('co2eq_kg')) or 0) / 1000)} t/a"],
        ],
    })
    return tables


def _building_tables(buildings) -> tuple[list[dict], list[str]]:
    if buildings is None or len(buildings) == 0:
        return [], []
    df = buildings
    header = ["Building", "Name", "Use", "Floor area", "Heating need", "PV", "PEI", "PEE",
              "Balance PEI − PEE", "Flags"]

    def rows(sel):
        out = []
        for _, r in sel.iterrows():
            out.append([
                _cell(r.get("building_id", ""), 60), _cell(r.get("name", "") or "", 80),
                _cell(r.get("use", ""), 40),
                f"{fmt_number(finite(r.get('floor_area_m2')))} m²",
                _kwh(r.get("ten_sh_kwh")), _kwh(r.get("pv_kwh")), _kwh(r.get("pei_kwh")),
                _kwh(r.get("pee_kwh")), _kwh(r.get("ped_balance_kwh")),
                _cell(r.get("flags", "") or "", 160),
            ])
        return out

    inc = (df["included"].fillna(False).astype(bool) if "included" in df
           else np.ones(len(df), bool))
    bal = (df["ped_balance_kwh"].astype(float) if "ped_balance_kwh" in df
           else np.full(len(df), np.nan))
    d = df.assign(_bal=bal)[inc]
    d = d[np.isfinite(d["_bal"])]
    importers = d[d["_bal"] > 0].sort_values("_bal", ascending=False).head(TOP_N)
    exporters = d[d["_bal"] < 0].sort_values("_bal").head(TOP_N)
    numeric = {3, 4, 5, 6, 7, 8}
    tables = [
        {"title": f"Top {TOP_N} importing buildings (largest PEI − PEE)", "header": header,
         "numeric": numeric, "rows": rows(importers)},
        {"title": f"Top {TOP_N} exporting buildings (most negative PEI − PEE)", "header": header,
         "numeric": numeric, "rows": rows(exporters)},
    ]
    excl = df[~inc]
    if len(excl):
        reasons = excl.get("exclusion_reason")
        counts = (reasons.fillna("").astype(str).replace("", "no reason given").value_counts()
                  if reasons is not None else None)
        tables.append({"title": f"Excluded buildings ({len(excl)})", "header": ["Reason", "Buildings"],
                       "numeric": {1},
                       "rows": [[_cell(k), str(v)] for k, v in counts.items()] if counts is not None
                       else []})
    notes = []
    if "flags" in df:
        flags = df["flags"].fillna("").astype(str)
        n_flag = flagged_count(df)
        if n_flag:
            parts = [p.strip() for s in flags for p in s.split(";") if p.strip()]
            from collections import Counter

            common = Counter(parts).most_common(8)
            tables.append({"title": f"Data-quality flags ({n_flag} buildings)",
                           "header": ["Flag", "Buildings"], "numeric": {1},
                           "rows": [[_cell(k, 160), str(v)] for k, v in common]})
            notes.append(f"{n_flag} of {len(df)} buildings carry data-quality flags "
                         "(defaults used or inputs repaired); see the table under Buildings.")
    return tables, notes


def _nzeb_from_assumptions(assumptions: dict) -> tuple[dict | None, str | None]:
    """NZEB specific needs from the scenario's assumptions, when the engine recorded them."""
    sn = _find(assumptions, "specific_needs")
    if not isinstance(sn, dict):
        return None, None
    table = {}
    for use, val in sn.items():
        if isinstance(val, dict):
            nz = val.get("nzeb") or val.get("NZEB")
            if isinstance(nz, dict):
                from pedgis.viz.gap import service_key

                vals = {service_key(k): finite(v) for k, v in nz.items()}
                table[use] = {k: v for k, v in vals.items() if k and v is not None}
    if not table:
        return None, None
    return table, "district.json assumptions.specific_needs (NZEB column of the scenario)"


def _gap_section(inputs: VizInputs) -> dict:
    d = inputs.district
    pv = pv_gap(d, inputs.buildings)
    from pedgis.viz.gap import PAPER_NZEB_NEEDS, packaged_nzeb_needs

    # the scenario's NZEB needs first, then pedgis' data table, then the paper's Table 1
    nzeb, source = _nzeb_from_assumptions(d.get("assumptions") or {})
    if nzeb is None:
        nzeb, source = packaged_nzeb_needs()
    if nzeb is not None:
        nzeb = dict(nzeb)
        nzeb["default"] = dict(PAPER_NZEB_NEEDS)
        source += f"; use types not listed: {PAPER_NZEB_SOURCE}"
    rg = retrofit_gap(d, inputs.buildings, nzeb, source)
    bal = finite(d.get("ped_balance_kwh"))
    out: dict[str, Any] = {"already": bal is not None and bal <= 0,
                           "margin": fmt_energy(-bal) if bal is not None else "no data"}
    if pv.additional_kwh is None:
        out["pv_text"] = "cannot close the gap alone"
        out["pv_detail"] = pv.note
        out["pv_note"] = ""
    elif pv.additional_kwh == 0:
        out["pv_text"] = "none needed"
        out["pv_detail"] = pv.note
        out["pv_note"] = ""
    else:
        extra = []
        if pv.additional_kwp is not None:
            extra.append(f"≈ {fmt_number(pv.additional_kwp)} kWp at the district's current "
                         f"{fmt_number(pv.specific_yield_kwh_kwp)} kWh/kWp")
        if pv.additional_area_m2 is not None:
            extra.append(f"≈ {fmt_number(pv.additional_area_m2)} m² of modules at the current "
                         "yield per m²")
        out["pv_text"] = f"+{fmt_energy(pv.additional_kwh)} of PV electricity"
        out["pv_detail"] = "; ".join(extra)
        out["pv_note"] = f"How: {pv.note}."
    if out["already"]:
        out["retrofit_text"] = "none needed"
        out["retrofit_detail"] = (f"retrofitting every candidate building would add "
                                  f"{fmt_energy(rg.saving_all_kwh)} to the margin")
    elif rg.n_needed is None:
        out["retrofit_text"] = "not enough on its own"
        out["retrofit_detail"] = (
            f"retrofitting all {rg.n_candidates} buildings that would save primary energy "
            f"saves {fmt_energy(rg.saving_all_kwh)}, {fmt_energy(bal - rg.saving_all_kwh)} "
            "short of a zero balance; combine with more PV.")
    else:
        out["retrofit_text"] = (f"{rg.n_needed} of {rg.n_included} buildings "
                                f"({fmt_number(100 * (rg.share_buildings or 0))} %)")
        out["retrofit_detail"] = (
            ("the building" if rg.n_needed == 1 else f"the {rg.n_needed} buildings")
            + " with the largest primary-energy saving, "
            f"{fmt_number(100 * (rg.share_floor_area or 0))} % of the included floor area; "
            f"retrofitting all {rg.n_candidates} candidates would save "
            f"{fmt_energy(rg.saving_all_kwh)} against a gap of {fmt_energy(bal)}")
    nz = rg.nzeb_needs or {}
    if nz and all(not isinstance(v, dict) for v in nz.values()):
        nz = {"all uses": nz}
    out["nzeb_rows"] = [
        [str(u)] + [fmt_number(finite(t.get(k))) if finite(t.get(k)) is not None else "—"
                    for k in ("sh", "sc", "dhw")]
        for u, t in nz.items() if isinstance(t, dict)]
    out["nzeb_source"] = rg.source
    from pedgis.viz.gap import demand_following_substitution

    sub = demand_following_substitution(d.get("breakdown") or {})
    out["substitution"] = "; ".join(
        f"1 kWh less {c.replace('_', ' ')} means "
        + ", ".join(f"{abs(k):.3g} kWh less {'' if k > 0 else 'on-site '}"
                    f"{o.replace('_', ' ')}" for o, k in eff.items())
        for c, eff in sub.items())
    out["retrofit_ids"] = ", ".join(rg.building_ids[:200]) + (
        " …" if len(rg.building_ids) > 200 else "")
    return out


_PERIODS = ("annual", "monthly", "hourly")


def _yes_no(v: Any) -> str:
    return "yes" if v is True else "no" if v is False else "no data"


def _signed_energy(v: Any, per: str = "") -> str:
    f = finite(v)
    return fmt_energy(f, per=per) if f is None or f <= 0 else "+" + fmt_energy(f, per=per)


def _netting_explanation(ts: dict) -> list[str]:
    """Plain-words paragraphs: what each netting period means and why the verdicts differ."""
    from pedgis.viz.maps import MONTHS, NETTING_NAMES

    n = ts.get("netting") or {}
    words = {p: ("positive" if (n.get(p) or {}).get("is_ped") else "not positive")
             for p in _PERIODS if p in n}
    paras = [
        "Annual netting (the paper's Eq. 11–17) lets a kWh exported in July pay for a kWh "
        "imported in January. The Spanish Basic Document on energy saving (DB-HE 2019) allows "
        "that only within the same month: each month's exports offset that month's imports, "
        "and a month that imports more non-renewable primary energy than it exports stays "
        "unpaid; no other month can make up for it. Under monthly netting the district is "
        "therefore positive only when no month has a positive balance and the year's balance is "
        "negative. Hourly netting applies the same rule hour by hour, which is what the "
        "electricity grid sees.",
        "With the same import and export factors, the year's balance barely changes with the "
        "netting period (netting is linear); what changes is how much is imported and exported "
        "— PEI and PEE both grow when surpluses and deficits fall in different months or "
        "hours — and whether single months or hours are left uncompensated. That is why the "
        "verdicts can differ.",
    ]
    here = "; ".join(f"{NETTING_NAMES[p]}: {w}" for p, w in words.items())
    m = n.get("monthly") or {}
    wm, wb = m.get("worst_month"), finite(m.get("worst_month_balance_kwh"))
    extra = ""
    if len(set(words.values())) > 1 and words.get("annual") == "positive":
        extra = (" The year as a whole exports more than it imports, but the surplus of "
                 "sunny months cannot pay for the deficit of others")
        if wb is not None and isinstance(wm, int) and 1 <= wm <= 12 and wb > 0:
            extra += (f": {MONTHS[wm - 1]} alone imports {fmt_energy(wb, per='')} more than "
                      "it exports")
        extra += "."
    elif len(set(words.values())) == 1:
        extra = " All three agree."
    unc = finite(m.get("uncompensated_pei_kwh"))
    if unc is not None:
        extra += (f" Imports that monthly netting leaves uncompensated: "
                  f"{fmt_energy(unc)}.")
    paras.append(f"Here — {here}.{extra}")
    return paras


def _timeseries_section(d: dict) -> dict | None:
    """The "Through the year" section from ``district.json → timeseries`` (None without it).

    Tables of strings (escaped by the template) and the two plotly figures of
    :mod:`pedgis.timeseries.charts` as HTML fragments (plotly.js is inlined once per page).
    """
    ts = d.get("timeseries")
    if not isinstance(ts, dict) or not isinstance(ts.get("netting"), dict):
        return None
    from pedgis.viz.maps import MONTHS, NETTING_NAMES, PERCENT, _count

    n = ts["netting"]
    step = str(ts.get("timestep") or "annual")
    periods = [p for p in _PERIODS if isinstance(n.get(p), dict)]
    header = ["", *(NETTING_NAMES[p] + (" — the verdict" if p == step else "")
                    for p in periods)]

    def row(label, fn):
        return [label, *(fn(p, n[p]) for p in periods)]

    def worst(p, v):
        wm, wb = v.get("worst_month"), finite(v.get("worst_month_balance_kwh"))
        if p != "monthly" or wb is None or not isinstance(wm, int) or not 1 <= wm <= 12:
            return "—"
        return f"{MONTHS[wm - 1]}: {_signed_energy(wb)}"

    def positive_periods(p, v):
        if p == "monthly" and v.get("months_positive") is not None:
            return f"{v['months_positive']} of 12 months"
        if p == "hourly" and v.get("hours_positive") is not None:
            return f"{_count(v['hours_positive'])} of 8\u202f760 h"
        return "—"

    netting = [
        row("PEI, non-renewable primary energy imported (Eq. 14)",
            lambda p, v: _kwh(v.get("pei_kwh"))),
        row("PEE, non-renewable primary energy exported (Eq. 15)",
            lambda p, v: _kwh(v.get("pee_kwh"))),
        row("PED balance PEI − PEE (Eq. 17)", lambda p, v: _kwh(v.get("ped_balance_kwh"))),
        row("Positive Energy District?", lambda p, v: _yes_no(v.get("is_ped"))),
        row("Uncompensated PEI (Σ of the months' positive balances)",
            lambda p, v: _kwh(v.get("uncompensated_pei_kwh")) if p == "monthly" else "—"),
        row("Worst month (its balance)", worst),
        row("Periods with a negative (positive-district) balance", positive_periods),
        row("Renewable energy ratio RER (Eq. 21)", lambda p, v: _pct(v.get("rer"))),
    ]
    e = ts.get("electricity") or {}
    bb = e.get("building_by_building") if isinstance(e.get("building_by_building"), dict) else None

    def share(v):
        f = finite(v)
        return "no data" if f is None else f"{fmt_number(PERCENT * f)} %"

    def kw(v):
        f = finite(v)
        return "no data" if f is None else f"{fmt_number(f)} kW"

    el_rows = []
    for label, key, fmt in [
        ("Electricity load (incl. heat pumps)", "load_kwh", _kwh),
        ("On-site generation", "onsite_kwh", _kwh),
        ("Imported from the grid", "import_kwh", _kwh),
        ("Exported to the grid", "export_kwh", _kwh),
        ("Self-consumption: share of on-site generation used on site", "self_consumption", share),
        ("Self-sufficiency: share of the load covered on site", "self_sufficiency", share),
        ("Peak import (highest hourly)", "peak_import_kw", kw),
        ("Peak export (highest hourly)", "peak_export_kw", kw),
        ("Hours of net export", "hours_net_export",
         lambda v: "no data" if finite(v) is None else f"{fmt_number(finite(v))} h"),
        ("Grid interaction index (std of net exchange / its maximum)", "grid_interaction",
         lambda v: fmt_number(finite(v), 3)),
        ("Shared between buildings", "shared_kwh", _kwh),
    ]:
        if key not in e:
            continue
        r = [label, fmt(e.get(key))]
        if bb is not None:
            # the load and the generation are the same however the buildings meter
            same = key in ("load_kwh", "onsite_kwh")
            r.append(fmt(bb[key]) if key in bb else r[1] if same else "—")
        el_rows.append(r)
    el_header = ["", "District (energy community)"] + (
        ["Building by building"] if bb is not None else [])

    storage = []
    names = {"battery": "Battery", "thermal": "Thermal buffers (heat pumps)",
             "heat_network": "Heat-network buffer"}
    for kind, vals in (ts.get("storage") or {}).items():
        if not isinstance(vals, dict):
            continue
        for k, v in vals.items():
            label = str(k).replace("_kwh", "").replace("_", " ")
            if str(k).endswith("_kwh"):
                text = _kwh(v)
            elif k == "round_trip_efficiency":
                text = share(v)
            else:
                text = _scalar(v)
            storage.append([names.get(kind, str(kind).replace("_", " ")), label, text])

    from pedgis.timeseries.charts import chart_divs

    charts = chart_divs(ts)  # the divs of timeseries.html, built once
    return {
        "step": NETTING_NAMES.get(step, step),
        "netting_level": _cell(ts.get("netting_level") or ""),
        "netting_header": header, "netting_rows": netting,
        "explanation": _netting_explanation(ts),
        "el_header": el_header, "el_rows": el_rows,
        "storage": storage,
        "monthly_html": charts.get("monthly"), "typical_day_html": charts.get("typical_day"),
    }


@functools.lru_cache(maxsize=1)
def report_template():
    """The report's own Jinja2 template (``report_template.html``, never user text), compiled once
    per process (about 0.02 s), which the page process does before a result arrives."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
        autoescape=True, undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report_template.html")


def build_report(inputs: Any, indicator: str = "ped_balance_kwh", basemap: str | None = None,
                 title: str | None = None, map_html: str | None = None,
                 sankey: str | None = None) -> str:
    """Render ``report.html`` as a string (see module docstring).

    ``map_html`` is the map page (embedded as an ``iframe srcdoc``, escaped); ``sankey`` an
    HTML fragment made by pedgis (the Sankey's ``div``, drawn with the page's one copy of
    plotly.js), built from ``district.json`` when None. With ``district.json → timeseries``
    the page has a "Through the year" section (:func:`_timeseries_section`).
    """
    import pedgis

    inputs = load_inputs(inputs)
    d = inputs.district
    assumptions = d.get("assumptions") or {}
    summ = summary_lines(d)
    bal = finite(d.get("ped_balance_kwh"))
    pei = finite(d.get("pei_kwh"))
    if bal is None:
        margin = "no data"
    elif bal <= 0:
        margin = f"exports {fmt_energy(-bal)} more primary energy than it imports"
    else:
        margin = f"{fmt_energy(bal)} short of a zero balance"
        if pei:
            margin += f" ({fmt_number(100 * bal / pei)} % of PEI)"
    verdict = {"is_ped": summ["is_ped"], "title": summ["title"], "detail": summ["detail"],
               "balance": fmt_energy(bal), "margin": margin}
    kpis = [(k, v) for k, v in summ["lines"]] + [
        ("PE_nren (Eq. 18)", _kwh(d.get("pe_nren_kwh"))),
        ("PE_ren (Eq. 19)", _kwh(d.get("pe_ren_kwh"))),
        ("PV and other RES electricity", _kwh(d.get("eep_res_kwh"))),
        ("RES heat on site", _kwh(d.get("tep_res_kwh"))),
    ]
    btables, notes = _building_tables(inputs.buildings)
    checklist, checklist_source = _checklist(assumptions)
    title = title or district_title(d)
    n_inc, n_all = d.get("n_included"), d.get("n_buildings")
    btype = _find(assumptions, "boundary_type")
    if btype is None:
        b = assumptions.get("boundary")
        btype = b.get("type") if isinstance(b, dict) else b
    boundary = {
        "type": _cell(btype if btype not in (None, "") else "not recorded"),
        "objective": _cell(_find(assumptions, "objective") or "not recorded"),
        "buildings": f"{n_inc} included of {n_all} in the input" if n_all is not None else "",
    }
    template = report_template()
    if map_html is None:
        map_html = build_map(inputs, indicator=indicator, basemap=basemap, title=title)
    if sankey is None:
        sankey = build_figure(d, title=None).to_html(
            include_plotlyjs=False, full_html=False, include_mathjax=False,
            div_id="pedgis-sankey", config={"displaylogo": False, "responsive": True})
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    return template.render(
        title=f"PED assessment — {title}" if title else "PED assessment report",
        version=pedgis.__version__,
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        verdict=verdict, kpis=kpis, warnings=notes, gap=_gap_section(inputs),
        boundary=boundary, checklist=checklist, checklist_source=checklist_source,
        map_indicator=all_indicators()[indicator].label, map_html=map_html,
        sankey_div=Markup(sankey), plotly_js=Markup(get_plotlyjs()),
        ts=_timeseries_section(d),
        step_tables=_step_tables(d), building_tables=btables,
        assumptions_html=_assumptions_html(assumptions),
    )


def write_report(inputs: Any, path: str | Path, **kwargs) -> Path:
    """Write ``report.html`` (see :func:`build_report`)."""
    path = Path(path)
    path.write_text(build_report(inputs, **kwargs), encoding="utf-8")
    return path
