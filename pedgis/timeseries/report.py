"""Text lines of the time-resolved block for the command-line summary."""

from __future__ import annotations

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def summary_lines(ts: dict, fmt_kwh) -> list[str]:
    """Lines for :func:`pedgis.cli.summary_text` from ``district.json → timeseries``.

    Parameters
    ----------
    ts : dict
        The ``timeseries`` block.
    fmt_kwh : callable
        Formats an energy (kWh → "1.2 GWh").
    """
    n = ts["netting"]
    m = n["monthly"]
    word = {True: "positive", False: "not positive"}
    lines = [f"  netting per period (verdict on {ts['timestep']}): annual {word[n['annual']['is_ped']]}; "
             f"monthly (DB-HE) {word[m['is_ped']]}, worst month {MONTHS[m['worst_month'] - 1]} "
             f"{fmt_kwh(m['worst_month_balance_kwh'])}, uncompensated {fmt_kwh(m['uncompensated_pei_kwh'])}; "
             f"hourly {word[n['hourly']['is_ped']]}"]
    e = ts["electricity"]

    def pct(v, why):
        return f"n/a ({why})" if v is None or v != v else f"{100 * v:.0f} %"  # v != v: NaN

    lines.append(f"  electricity hour by hour: self-sufficiency {pct(e['self_sufficiency'], 'no electricity use')}, "
                 f"self-consumption {pct(e['self_consumption'], 'no on-site generation')}, peak import {e['peak_import_kw']:,.0f} kW, peak export "
                 f"{e['peak_export_kw']:,.0f} kW, {e['hours_net_export']} h of export"
                 + (f", {fmt_kwh(e['shared_kwh'])} shared between buildings" if e.get("shared_kwh") else ""))
    st = ts.get("storage") or {}
    if "battery" in st:
        b = st["battery"]
        lines.append(f"  battery ({b['level']}): {fmt_kwh(b.get('discharge_kwh', 0.0))} delivered, "
                     f"{fmt_kwh(b.get('losses_kwh', 0.0))} lost")
    return lines
