"""``pedgis compare``, ``pedgis gap`` and ``pedgis uncertainty``: thin, over :mod:`pedgis.timeseries.scenarios`.

Registered in the engine's command registry (:data:`pedgis.cli.COMMAND_MODULES`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..cli import ProgressBar, _fmt_kwh, command_line, register_command
from ..errors import PedgisWarning
from ..io.outdir import check_json_file, prepare_output


def _once(handler):
    """Run a command that runs the engine many times; show each pedgis warning once.

    (A ``"once"`` filter does not survive the engine's nested ``catch_warnings`` blocks, so the
    shown messages are remembered here.)
    """

    def wrapped(args):
        import warnings

        shown = set()
        show = warnings.showwarning

        def show_once(message, category, filename, lineno, file=None, line=None):
            key = (str(message), category)
            if issubclass(category, PedgisWarning) and key in shown:
                return
            shown.add(key)
            show(message, category, filename, lineno, file, line)

        warnings.showwarning = show_once
        try:
            return handler(args)
        finally:
            warnings.showwarning = show

    return wrapped


def _write_json(path: Path, obj) -> None:
    """A JSON file inside an output folder being written (its temporary folder)."""
    from ..io.outputs import _jsonable

    path.write_text(json.dumps(_jsonable(obj), indent=2, ensure_ascii=False, allow_nan=False), encoding="utf-8")


def _json_file(args, study, obj) -> None:
    """``--json FILE``: written whole, never over an input or a file pedgis did not write."""
    from ..io.outdir import write_json_file
    from ..io.outputs import _jsonable

    write_json_file(args.json, _jsonable(obj), _study_inputs(study))


def _study_inputs(study) -> list[Path]:
    """The input files of every variant (a variant may point at other rasters or weather)."""
    from ..config import scenario_from_dict
    from ..io.outdir import scenario_inputs

    found = [study.path]
    for name in study.variant_names:
        found += scenario_inputs(scenario_from_dict(study.expanded(name)[0], base_dir=study.base_dir))
    return found


def _configure_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", type=Path, help="scenario TOML file with [variants.<name>] tables")
    p.add_argument("--variants", nargs="*", default=None, help="variants to run (default: baseline and every variant)")
    p.add_argument("--out", type=Path, default=Path("pedgis-compare"), help="output folder (default ./pedgis-compare)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _cmd_compare(args) -> int:
    from .scenarios import Study, compare, compare_chart, compare_table, difference_layer

    study = Study(args.scenario)
    with prepare_output(args.out, _study_inputs(study), command_line(args)) as folder:  # checked before computing
        rows, results = compare(study, args.variants, progress=None if args.quiet else ProgressBar())
        with folder.writing() as tmp:
            _write_json(tmp / "compare.json", {"scenario": str(args.scenario), "variants": rows})
            (tmp / "compare.html").write_text(compare_chart(rows, f"pedgis compare: {study.doc['scenario']['name']}"),
                                              encoding="utf-8")
            if "baseline" in results and len(results) > 1:
                layer = difference_layer(results)
                layer.to_file(tmp / "compare.gpkg", layer="difference", driver="GPKG", engine="pyogrio")
        out = folder.commit()
    print(compare_table(rows))
    print(f"outputs in {out}: compare.json, compare.html" + (", compare.gpkg (layer difference)" if len(results) > 1 else ""))
    return 0


def _configure_gap(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", type=Path, help="scenario TOML file")
    p.add_argument("--lever", required=True, choices=["pv_kwp", "retrofit_share", "storage_kwh"],
                   help="what to change: extra PV [kWp], share of floor area retrofitted to NZEB, battery [kWh]")
    p.add_argument("--variant", default="baseline", help="start from this variant (default baseline)")
    p.add_argument("--max", type=float, default=None, dest="upper", help="upper end of the search")
    p.add_argument("--json", type=Path, default=None, help="also write the answer to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _cmd_gap(args) -> int:
    from .scenarios import Study, gap

    study = Study(args.scenario)
    if args.json:  # refused before the engine runs
        check_json_file(args.json, _study_inputs(study))
    res = gap(study, args.lever, args.variant, args.upper, progress=None if args.quiet else ProgressBar())
    print(f"{study.doc['scenario']['name']} ({args.variant}, {study.timestep(args.variant)} netting): {res.message}")
    print(f"  at the scenario's {args.lever}: {res.quantity} {_fmt_kwh(res.baseline_balance_kwh)}"
          + (f" (worst month {res.baseline_period})" if res.timestep == "monthly" else "")
          + f"; {len(res.evaluations)} engine runs")
    if args.json:
        _json_file(args, study, res.to_dict())
    return 0


def _configure_uncertainty(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", type=Path, help="scenario TOML file with an [uncertainty] table")
    p.add_argument("--variant", default="baseline")
    p.add_argument("--method", choices=["bounds", "monte_carlo"], default=None)
    p.add_argument("--samples", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the result to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _cmd_uncertainty(args) -> int:
    from .scenarios import Study, uncertainty

    study = Study(args.scenario)
    if args.json:  # refused before the engine runs
        check_json_file(args.json, _study_inputs(study))
    res = uncertainty(study, args.variant, args.method, args.samples, progress=None if args.quiet else ProgressBar())
    b = res["ped_balance_kwh"]
    monthly = res["timestep"] == "monthly"

    def at(bal, period):  # the number and, under monthly netting, the month it belongs to
        return _fmt_kwh(bal) + (f" ({period})" if monthly else "")

    print(f"{study.doc['scenario']['name']}: {res['metric']} from {_fmt_kwh(b['min'])} to {_fmt_kwh(b['max'])} "
          f"over {res['n_runs']} runs")
    if "base" in res:
        print(f"  as given: {at(res['base']['ped_balance_kwh'], res['base']['period'])}")
    if res["method"] == "monte_carlo":
        print(f"  median {_fmt_kwh(b['p50'])}, 90 % interval {_fmt_kwh(b['p5'])} .. {_fmt_kwh(b['p95'])}; "
              f"probability positive {res['probability_ped']:.0%}")
    else:
        for t in res["tornado"]:
            runs = ", ".join(f"{_value(v)} → {at(x, p)}" for v, x, p in zip(t["values"], t["ped_balance_kwh"],
                                                                             t["period"], strict=True))
            print(f"  {t['parameter']}: {runs}; swing {_fmt_kwh(t['swing_kwh'])}")
    print("  verdict " + ("robust" if res["robust"] else "NOT robust: positive under some assumptions only"))
    if args.json:
        _json_file(args, study, res)
    return 0


def _value(v) -> str:
    """A parameter value for the terminal: a weather file by its name, numbers short."""
    if isinstance(v, float):
        return f"{v:g}"
    return Path(str(v)).name if isinstance(v, str) and ("/" in v or "\\" in v) else str(v)


register_command("compare", "run a scenario's variants side by side (table, chart, difference layer)",
                 _configure_compare, _once(_cmd_compare))
register_command("gap", "what it takes: the PV, retrofit share or storage that brings the balance to zero (root finding)",
                 _configure_gap, _once(_cmd_gap))
register_command("uncertainty", "the verdict with ranges from primary energy factors, needs, roofs and weather years",
                 _configure_uncertainty, _once(_cmd_uncertainty))
