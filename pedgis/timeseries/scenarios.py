"""Decision support over the engine: variants side by side, the gap to positive, uncertainty.

:class:`Study` holds a scenario file and runs it (or one of its ``[variants]``) through
:func:`pedgis.pipeline.run` with keys overridden; :func:`compare`, :func:`gap` and
:func:`uncertainty` build on it. Each evaluation is a full, validated engine run, so every number
is one the user could reproduce with ``pedgis run`` on the expanded scenario.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from .. import variants as vr
from ..errors import ConfigError
from .gap import GapResult, solve_gap
from .uncertainty import UncertainParameter, bounds, monte_carlo

#: what ``pedgis compare`` tabulates: (key, label, unit)
COMPARE_COLUMNS = [
    ("ped_balance_kwh", "PED balance (annual)", "kWh"),
    ("is_ped", "positive (annual)", ""),
    ("ts_balance_kwh", "PED balance (timestep)", "kWh"),
    ("ts_is_ped", "positive (timestep)", ""),
    ("rer", "RER", "-"),
    ("co2eq_kg", "CO2eq", "kg"),
    ("self_sufficiency", "self-sufficiency", "-"),
    ("self_consumption", "self-consumption", "-"),
    ("peak_import_kw", "peak import", "kW"),
    ("peak_export_kw", "peak export", "kW"),
    ("uncompensated_pei_kwh", "uncompensated PEI (monthly)", "kWh"),
]


class Study:
    """A scenario file and its variants.

    Parameters
    ----------
    path : str or Path
        The scenario TOML.
    """

    def __init__(self, path=None, *, raw: dict | None = None, base_dir=None):
        from ..config import read_toml, validate

        if raw is None:
            self.path = Path(path)
            self.raw = read_toml(self.path)
            self.base_dir = self.path.resolve().parent
        else:  # a parsed document (QGIS dialog, tests): relative paths start from base_dir
            self.path = Path(path) if path is not None else None
            self.raw = copy.deepcopy(raw)
            self.base_dir = Path(base_dir if base_dir is not None else ".").resolve()
        doc, errors = validate(self.raw)
        if errors:
            from ..config import _raise

            _raise(errors, str(self.path or "scenario"))
        self.doc = doc
        self._rooftop_runs: dict = {}

    @property
    def variant_names(self) -> list[str]:
        return ["baseline", *(self.raw.get("variants") or {})]

    def expanded(self, name: str = "baseline", overrides: dict | None = None, shortcuts: dict | None = None,
                 force_timeseries: bool | None = None) -> tuple[dict, dict]:
        """The scenario document of a variant with further overrides and shortcuts applied."""
        doc, ops = vr.expand(self.raw, name)
        if overrides:
            doc = vr.deep_merge(doc, overrides)
        if shortcuts:
            doc, ops2 = vr.apply_shortcuts(doc, shortcuts, prefix="gap")
            ops = {**ops, **ops2}
        if force_timeseries is not None:
            doc.setdefault("timeseries", {})["indicators"] = bool(force_timeseries)
        return doc, ops

    def run(self, name: str = "baseline", overrides: dict | None = None, shortcuts: dict | None = None,
            force_timeseries: bool | None = None, progress=None):
        """Run a variant through the engine; returns a :class:`pedgis.pipeline.DistrictResult`.

        ``force_timeseries``: True/False sets ``timeseries.indicators`` (the time-resolved block of an
        annual run); None keeps the scenario's setting.
        """
        from ..config import scenario_from_dict
        from ..pipeline import run
        from ..solar.scenario import reuse_rooftop_runs

        doc, ops = self.expanded(name, overrides, shortcuts, force_timeseries)
        scn = scenario_from_dict(doc, base_dir=self.base_dir, path=self.path)
        with reuse_rooftop_runs(self._rooftop_runs):  # variants and solver steps share the roof model
            return run(scn, progress, step1_hook=vr.table_hook(ops))

    def timestep(self, name: str = "baseline") -> str:
        doc, _ = vr.expand(self.raw, name)
        return (doc.get("scenario") or {}).get("timestep", "annual")


def metric(result, timestep: str) -> tuple[float, bool]:
    """The balance the verdict rests on under ``timestep``, and the verdict.

    annual: the engine's PED balance (Eq. 17). hourly: the hourly-netted balance. monthly: the
    worst month's balance (DB-HE 2019: every month must be covered, so the worst month decides);
    the district is positive when it is ≤ 0 and the year's balance is < 0.
    """
    d = result.district
    if timestep == "annual":
        return float(d["ped_balance_kwh"]), bool(d["is_ped"])
    ts = d.get("timeseries")
    if ts is None:
        raise ConfigError("the run has no time-resolved block; set [scenario] timestep", key="scenario.timestep")
    v = ts["netting"][timestep]
    if timestep == "monthly":
        return float(v["worst_month_balance_kwh"]), bool(v["is_ped"])
    return float(v["ped_balance_kwh"]), bool(v["is_ped"])


#: What the balance of :func:`metric` is, by timestep (printed beside every number of gap and uncertainty).
METRIC_NAMES = {
    "annual": "PED balance (Eq. 17, annual netting)",
    "monthly": "worst month's balance (DB-HE monthly netting)",
    "hourly": "PED balance (hourly netting)",
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def metric_period(result, timestep: str) -> str:
    """The netting period :func:`metric`'s number belongs to: "year", or the worst month ("Dec")
    under monthly netting, which can differ between runs of one study."""
    if timestep != "monthly":
        return "year"
    month = result.district["timeseries"]["netting"]["monthly"].get("worst_month")
    return _MONTHS[int(month) - 1] if month else "year"


def summary_row(name: str, result) -> dict:
    """One row of the comparison table."""
    d = result.district
    ts = d.get("timeseries") or {}
    t = ts.get("timestep", "annual")
    v = (ts.get("netting") or {}).get(t, {})
    el = ts.get("electricity") or {}
    return {
        "variant": name,
        "ped_balance_kwh": d["ped_balance_kwh"], "is_ped": d["is_ped"],
        "timestep": t,
        "ts_balance_kwh": v.get("ped_balance_kwh"), "ts_is_ped": v.get("is_ped"),
        "rer": d.get("rer"), "co2eq_kg": d.get("co2eq_kg"),
        "self_sufficiency": el.get("self_sufficiency"), "self_consumption": el.get("self_consumption"),
        "peak_import_kw": el.get("peak_import_kw"), "peak_export_kw": el.get("peak_export_kw"),
        "uncompensated_pei_kwh": (ts.get("netting") or {}).get("monthly", {}).get("uncompensated_pei_kwh"),
    }


def compare(study: Study, names=None, progress=None) -> tuple[list, dict]:
    """Run the baseline and every variant; hourly indicators are computed for each.

    Returns
    -------
    (list of dict, dict name → DistrictResult)
    """
    names = list(names or study.variant_names)
    unknown = [n for n in names if n not in study.variant_names]
    if unknown:
        raise ConfigError(f"no variant \"{unknown[0]}\"; the scenario defines: {', '.join(study.variant_names)}",
                          key=f"variants.{unknown[0]}")
    rows, results = [], {}
    for i, name in enumerate(names):
        if progress:
            progress(i / len(names), f"variant {name}")
        res = study.run(name, force_timeseries=True)
        results[name] = res
        rows.append(summary_row(name, res))
    if progress:
        progress(1.0, "variants done")
    return rows, results


def _timestep_label(rows: list) -> str:
    """The netting of the time-resolved columns: one name when every variant shares it."""
    steps = sorted({str(r.get("timestep", "annual")) for r in rows})
    return steps[0] if len(steps) == 1 else "each variant's timestep"


def compare_table(rows: list, width: int = 100) -> str:
    """A plain-text table of the comparison, at most ``width`` characters wide: the columns that do
    not fit go to a further block below, each block starting with the variant names."""

    def fmt(v, unit):
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            return "n/a"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if unit == "kWh":
            return f"{v / 1e3:,.1f} MWh"
        if unit == "kg":
            return f"{v / 1e3:,.1f} t"
        if unit == "kW":
            return f"{v:,.0f} kW"
        return f"{v:.3f}"

    ts = _timestep_label(rows)
    columns = [[label.replace("(timestep)", f"({ts})")] + [fmt(r.get(k), u) for r in rows]
               for k, label, u in COMPARE_COLUMNS]
    names = ["variant"] + [str(r["variant"]) for r in rows]
    name_w = max(len(n) for n in names)
    blocks, current, used = [], [], name_w
    for col in columns:
        w = max(len(c) for c in col)
        if current and used + 2 + w > width:
            blocks.append(current)
            current, used = [], name_w
        current.append(col)
        used += 2 + w
    blocks.append(current)
    out = []
    for block in blocks:
        widths = [max(len(c) for c in col) for col in block]
        for i, name in enumerate(names):
            out.append("  ".join([name.ljust(name_w)] + [col[i].rjust(w) for col, w in zip(block, widths, strict=True)]))
            if i == 0:
                out.append("  ".join(["-" * name_w] + ["-" * w for w in widths]))
        out.append("")
    return "\n".join(out).rstrip("\n")


def compare_chart(rows: list, title: str = "pedgis compare") -> str:
    """A self-contained HTML page (plotly, inlined: opens offline) with one bar chart per indicator."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ts = _timestep_label(rows)
    panels = [("ped_balance_kwh", "PED balance, annual netting [MWh]", 1e-3),
              ("ts_balance_kwh", f"PED balance, {ts} netting [MWh]", 1e-3),
              ("rer", "RER [-]", 1.0), ("co2eq_kg", "CO2eq [t]", 1e-3), ("self_sufficiency", "self-sufficiency [-]", 1.0),
              ("peak_import_kw", "peak import [kW]", 1.0)]
    from ..escaping import plotly_text

    fig = make_subplots(rows=2, cols=3, subplot_titles=[p[1] for p in panels])
    # plotly reads a subset of HTML in labels: variant names are escaped to show literally
    names = [plotly_text(r["variant"]) for r in rows]
    for i, (key, _, k) in enumerate(panels):
        vals = [None if r.get(key) is None else r[key] * k for r in rows]
        colors = ["#2a9d8f" if (key.endswith("balance_kwh") and v is not None and v < 0) else "#e76f51"
                  if key.endswith("balance_kwh") else "#457b9d" for v in vals]
        fig.add_trace(go.Bar(x=names, y=vals, marker_color=colors, showlegend=False), row=i // 3 + 1, col=i % 3 + 1)
        finite = [v for v in vals if v is not None and np.isfinite(v)]
        if finite:  # headroom: the tallest bar (up or down) stays 12 % clear of the frame
            lo, hi = min(0.0, *finite), max(0.0, *finite)
            pad = 0.12 * ((hi - lo) or abs(hi) or 1.0)
            fig.update_yaxes(range=[lo - (pad if lo < 0 else 0.0), hi + (pad if hi > 0 else 0.0)],
                             row=i // 3 + 1, col=i % 3 + 1)
    fig.update_xaxes(type="category")  # a variant called "2030" is a name, not a number or date
    fig.update_layout(title=plotly_text(f"{title} ({ts} netting)"), height=700, template="plotly_white")
    return fig.to_html(include_plotlyjs=True, full_html=True)


def difference_layer(results: dict, base: str = "baseline"):
    """Per-building PED balance of every variant and its difference to the baseline (a GeoDataFrame)."""
    b0 = results[base].buildings
    out = b0[["building_id", "included", "use", "geometry"]].copy()
    out["ped_balance_baseline_kwh"] = b0["ped_balance_kwh"].to_numpy(dtype=float)
    for name, res in results.items():
        if name == base:
            continue
        v = res.buildings["ped_balance_kwh"].to_numpy(dtype=float)
        out[f"ped_balance_{name}_kwh"] = v
        out[f"diff_{name}_kwh"] = v - out["ped_balance_baseline_kwh"].to_numpy()
    return out


def _lever_setup(study: Study, lever: str, name: str, upper: float | None):
    doc, _ = study.expanded(name)
    gcfg = study.doc.get("gap") or {}
    if lever == "pv_kwp":
        base = 0.0
        if upper is None:
            upper = gcfg.get("pv_kwp_max")
        return base, upper, "kWp", lambda x: {"shortcuts": {"extra_pv_kwp": x}}
    if lever == "retrofit_share":
        base = float(((study.raw.get("variants") or {}).get(name) or {}).get("retrofit_share", 0.0))
        return base, 1.0 if upper is None else upper, "", lambda x: {"shortcuts": {"retrofit_share": x}}
    if lever == "storage_kwh":
        base = float(((doc.get("storage") or {}).get("battery") or {}).get("capacity_kwh") or 0.0)
        if upper is None:
            upper = gcfg.get("storage_kwh_max")
        return base, upper, "kWh", lambda x: {"overrides": {"storage": {"battery": {"capacity_kwh": x}}}}
    raise ConfigError(f"unknown lever \"{lever}\"; use pv_kwp, retrofit_share or storage_kwh", key="gap.lever")


def gap(study: Study, lever: str, name: str = "baseline", upper: float | None = None, progress=None) -> GapResult:
    """The lever value that brings the balance to zero under the scenario's timestep.

    Parameters
    ----------
    study : Study
    lever : {'pv_kwp', 'retrofit_share', 'storage_kwh'}
        ``pv_kwp``: additional on-site PV [kWp] (a PV field at the scenario's specific yield);
        ``retrofit_share``: share of floor area retrofitted to NZEB needs; ``storage_kwh``:
        battery capacity [kWh] ([storage.battery], level as in the scenario).
    name : str
        Variant to start from.
    upper : float, optional
        Upper end of the search (defaults: [gap] keys, 20 kWp per included building, share 1,
        one day of the district's electricity use).

    Returns
    -------
    GapResult
    """
    t = study.timestep(name)
    if lever == "storage_kwh" and t == "annual":
        raise ConfigError("a battery shifts energy within days; it cannot change an annual balance. Set timestep = "
                          "\"monthly\" or \"hourly\" to size storage", key="scenario.timestep")
    base, up, unit, make = _lever_setup(study, lever, name, upper)
    calls = {"n": 0}
    periods: dict[float, str] = {}  # lever value -> netting period of its balance

    def balance(x):
        calls["n"] += 1
        if progress:
            progress(min(0.95, calls["n"] / 15), f"{lever} = {x:.4g} {unit}".strip())
        kw = make(x)
        res = study.run(name, overrides=kw.get("overrides"), shortcuts=kw.get("shortcuts"),
                        force_timeseries=False if t == "annual" else None)
        bal, _ = metric(res, t)
        periods[float(x)] = metric_period(res, t)
        return bal

    if up is None:
        res0 = study.run(name, force_timeseries=False if t == "annual" else None)
        d = res0.district
        if lever == "pv_kwp":
            up = 20.0 * max(int(d["n_included"]), 1)
        else:
            el = (d.get("timeseries") or {}).get("electricity", {}).get("load_kwh") or d.get("eeu_kwh") or 0.0
            up = max(float(el) / 365.0, 1.0)
    out = solve_gap(balance, lever, base, float(up), unit=unit, expand=0 if lever == "retrofit_share" else 4,
                    xtol=1e-4 * (float(up) - base), quantity=METRIC_NAMES[t])
    out.timestep = t
    out.baseline_period = periods.get(float(base), "year")
    out.evaluations = [(x, v, periods.get(x, "year")) for x, v in out.evaluations]
    if lever == "storage_kwh" and out.status == "unreachable":
        out.message += (" With constant primary energy factors a battery only moves energy in time and adds losses; "
                        "it helps when export and import factors differ or vary in time (timeseries.factors).")
    if progress:
        progress(1.0, "gap solved")
    return out


def uncertainty(study: Study, name: str = "baseline", method: str | None = None, samples: int | None = None,
                progress=None) -> dict:
    """The verdict with ranges from the uncertain assumptions of ``[uncertainty]``.

    Returns
    -------
    dict
        Output of :func:`pedgis.timeseries.uncertainty.bounds` or ``monte_carlo`` plus
        ``timestep`` and ``parameters``.
    """
    cfg = study.doc.get("uncertainty") or {}
    doc, _ = study.expanded(name)
    t = study.timestep(name)
    params = []
    if cfg.get("pef_sets"):
        base = doc["scenario"].get("country", "iso52000_default")
        params.append(UncertainParameter("pef_set", base, choices=list(dict.fromkeys([base, *cfg["pef_sets"]])),
                                         source="paper §2.6: national factors vs ISO 52000-1 defaults"))
    if cfg.get("sh_kwh_m2"):
        lo, hi = _range(cfg["sh_kwh_m2"], "uncertainty.sh_kwh_m2")
        params.append(UncertainParameter("sh_kwh_m2", None, lo, hi, source="paper Table 1 (NZEB 9-34 kWh/m2a)"))
    if cfg.get("usable_roof_fraction"):
        lo, hi = _range(cfg["usable_roof_fraction"], "uncertainty.usable_roof_fraction")
        params.append(UncertainParameter("usable_roof_fraction", None, lo, hi, source="rooftop PV potential"))
    if cfg.get("weather"):
        wbase = (doc.get("weather") or {}).get("path")
        files = [str((study.base_dir / w).resolve()) if not Path(w).is_absolute() else w for w in cfg["weather"]]
        for f in files:
            if not Path(f).exists():
                raise ConfigError(f"weather file not found: {f}", key="uncertainty.weather")
        params.append(UncertainParameter("weather", wbase, choices=list(dict.fromkeys([wbase, *files])),
                                         source="weather years"))
    if not params:
        raise ConfigError("no uncertain parameter: give pef_sets, sh_kwh_m2, usable_roof_fraction or weather",
                          key="uncertainty")
    uses = None
    calls = {"n": 0}

    def evaluate(values):
        nonlocal uses
        calls["n"] += 1
        if progress:
            progress(min(0.95, calls["n"] / 30), f"uncertainty run {calls['n']}")
        over: dict = {}
        short: dict = {}
        if values.get("pef_set") is not None:
            over.setdefault("scenario", {})["country"] = values["pef_set"]
        if values.get("sh_kwh_m2") is not None:
            if uses is None:
                from .. import data as pdata

                uses = list(pdata.needs_table(doc["needs"].get("set", "eu27_existing")).index) + \
                    list(doc["needs"].get("overrides") or {})
            over.setdefault("needs", {})["overrides"] = {u: {"sh_kwh_m2": float(values["sh_kwh_m2"])} for u in uses}
        if values.get("usable_roof_fraction") is not None:  # share of the modelled usable roof PV
            short["pv_scale"] = float(values["usable_roof_fraction"])
        if values.get("weather") is not None:
            over.setdefault("weather", {})["path"] = str(values["weather"])
        res = study.run(name, overrides=over or None, shortcuts=short or None,
                        force_timeseries=False if t == "annual" else None)
        bal, ped = metric(res, t)
        return {"ped_balance_kwh": bal, "is_ped": ped, "period": metric_period(res, t)}

    method = method or cfg.get("method", "bounds")
    if method == "monte_carlo":
        out = monte_carlo(evaluate, params, n=int(samples or cfg.get("samples", 50)), seed=int(cfg.get("seed", 0)))
    elif method == "bounds":
        out = bounds(evaluate, params)
    else:
        raise ConfigError(f"unknown method \"{method}\"; use bounds or monte_carlo", key="uncertainty.method")
    out["timestep"] = t
    out["metric"] = METRIC_NAMES[t]
    out["parameters"] = [{"name": p.name, "base": p.base, "low": p.low, "high": p.high, "choices": p.choices,
                          "source": p.source} for p in params]
    if progress:
        progress(1.0, "uncertainty done")
    return copy.deepcopy(out)


def _range(v, key):
    if not isinstance(v, (list, tuple)) or len(v) != 2 or v[1] < v[0]:
        raise ConfigError(f"give [low, high] with low ≤ high, got {v!r}", key=key)
    return float(v[0]), float(v[1])
