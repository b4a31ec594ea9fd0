"""`pedgis compare`'s terminal table and chart (issue 14 item 2), on rows written here by hand."""

import json
import re

from pedgis.timeseries.scenarios import COMPARE_COLUMNS, compare_chart, compare_table


def _rows(n=7, timestep="monthly"):
    return [{"variant": f"variant_with_a_long_name_{i}", "timestep": timestep,
             "ped_balance_kwh": 11_146_400.0 - 1_500_000.0 * i, "is_ped": False,
             "ts_balance_kwh": 11_146_400.0 - 1_400_000.0 * i, "ts_is_ped": False, "rer": 0.5 + 0.01 * i,
             "co2eq_kg": 2_222_100.0, "self_sufficiency": 0.509, "self_consumption": 0.444,
             "peak_import_kw": 3498.0, "peak_export_kw": 1045.0, "uncompensated_pei_kwh": 11_146_400.0}
            for i in range(n)]


def test_terminal_table_fits_100_columns_and_keeps_every_value():
    rows = _rows()
    text = compare_table(rows)
    assert max(len(line) for line in text.splitlines()) <= 100
    for r in rows:  # every variant in every block, every number somewhere
        assert text.count(r["variant"]) == len(re.findall(r"^variant ", text, flags=re.M))
        assert f"{r['ped_balance_kwh'] / 1e3:,.1f} MWh" in text and f"{r['rer']:.3f}" in text
    for _, label, _ in COMPARE_COLUMNS:
        assert label.replace("(timestep)", "(monthly)") in text  # the netting is named, not "timestep"


def test_chart_names_the_netting_and_leaves_headroom():
    rows = _rows(3, "hourly")
    html = compare_chart(rows, "pedgis compare: test")
    fig = json.loads(re.search(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{"responsive', html,
                               flags=re.S).group(2))
    assert "(hourly netting)" in fig["title"]["text"]
    titles = [a["text"] for a in fig["annotations"]]
    assert "PED balance, hourly netting [MWh]" in titles
    # the tallest bar of each panel stays clear of its frame (12 % of the panel's span)
    top = max(r["ped_balance_kwh"] for r in rows) / 1e3
    lo, hi = fig["yaxis"]["range"]
    assert lo == 0.0 and hi >= top * 1.1
