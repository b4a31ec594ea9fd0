"""The ``pedgis`` command line: thin — parse, call the library, write, print, exit code.

Subcommands live in a registry (:func:`register_command`) so other modules can add theirs
(``pedgis pv`` from :mod:`pedgis.solar.cli`, ``pedgis map`` from :mod:`pedgis.viz.cli`): a module
listed in :data:`COMMAND_MODULES` is imported when it exists and registers itself.

Exit codes: 0 success, 1 ``validate`` found problems, 2 bad input (a one-paragraph message on
stderr, no traceback).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import shlex
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import (
    LIBRARY_CHANGE_WARNINGS,
    Cancelled,
    InputDataError,
    PedgisWarning,
    describe_os_error,
    library_warning_text,
)

COMMAND_MODULES = ("pedgis.solar.cli", "pedgis.viz.cli", "pedgis.timeseries.cli")


@dataclass
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def register_command(name: str, help: str, configure: Callable, handler: Callable) -> None:
    """Add a subcommand: ``configure(parser)`` adds its arguments, ``handler(args) -> exit code``."""
    COMMANDS[name] = Command(name, help, configure, handler)


def sample_dir() -> Path:
    """The repository's ``sample_data`` folder (next to the ``pedgis`` package)."""
    import pedgis

    return Path(pedgis.__file__).resolve().parents[1] / "sample_data"


# ---------------------------------------------------------------------------------------------
# terminal helpers


class ProgressBar:
    """A progress bar on stderr (redrawn in place on a terminal, a few lines otherwise)."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.last = -1
        self.start = time.monotonic()

    def __call__(self, fraction: float, message: str) -> None:
        pct = int(round(100 * min(max(fraction, 0.0), 1.0)))
        if self.tty:
            n = int(self.width * pct / 100)
            self.stream.write(f"\r[{'#' * n}{'.' * (self.width - n)}] {pct:3d}% {message[:50]:<50}")
            if pct >= 100:
                self.stream.write("\n")
            self.stream.flush()
        elif pct // 25 > self.last // 25 or pct == 100 and self.last != 100:
            self.stream.write(f"{pct:3d}% {message}\n")
            self.stream.flush()
        self.last = pct


def _fmt_kwh(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:,.2f} GWh"
    if a >= 1e3:
        return f"{v / 1e3:,.1f} MWh"
    return f"{v:,.0f} kWh"


def summary_text(result, out_dir: Path | None = None) -> str:
    """A readable summary: verdict, balance, indicators, top contributors, where the outputs are."""
    d = result.district
    lines = []
    verdict = "POSITIVE ENERGY DISTRICT" if d["is_ped"] else "NOT a positive energy district"
    lines.append(f"{d.get('scenario', '')}: {verdict}" + (f" ({d['verdict_note']})" if d.get("verdict_note") else ""))
    lines.append(f"  PED balance (Eq. 17) PEI - PEE = {_fmt_kwh(d['pei_kwh'])} - {_fmt_kwh(d['pee_kwh'])} "
                 f"= {_fmt_kwh(d['ped_balance_kwh'])} of non-renewable primary energy per year")
    if not d["is_ped"]:
        g = d.get("gap_to_positive") or {}
        hint = ""
        if g.get("electricity_kwh") is not None:
            hint = f" = {_fmt_kwh(g['electricity_kwh'])} more on-site RES electricity"
            if g.get("pv_kwp"):
                hint += f" (about {g['pv_kwp']:,.0f} kWp of PV at {g['pv_specific_yield_kwh_kwp']:,.0f} kWh/kWp)"
        lines.append(f"  gap to positive: {_fmt_kwh(d['ped_balance_kwh'])} of non-renewable primary energy{hint}")
    rer, share = d["rer"], d.get("onsite_renewable_share")
    lines.append(f"  objective {d['objective']}: {'met' if d['objective_met'] else 'not met'}; "
                 f"RER {'n/a (PE_total <= 0)' if rer is None else f'{rer:.2f}'} "
                 f"(on-site renewable share {'n/a' if share is None else f'{share:.2f}'}); "
                 f"CO2eq {d['co2eq_kg'] / 1000:,.1f} t/a")
    lines.append(f"  {d['n_included']} of {d['n_buildings']} buildings included; needs SH {_fmt_kwh(d['ten_sh_kwh'])}, "
                 f"SC {_fmt_kwh(d['ten_sc_kwh'])}, DHW {_fmt_kwh(d['ten_dhw_kwh'])}, electric {_fmt_kwh(d['een_kwh'])}")
    carriers = sorted(d["breakdown"]["carriers"], key=lambda r: -(r["pei_kwh"] + r["pee_kwh"]))
    top_c = [r for r in carriers if r["pei_kwh"] or r["pee_kwh"]][:4]
    if top_c:
        parts = []
        for r in top_c:
            bits = ([f"+{_fmt_kwh(r['pei_kwh'])} imported"] if r["pei_kwh"] else []) + \
                   ([f"-{_fmt_kwh(r['pee_kwh'])} exported"] if r["pee_kwh"] else [])
            parts.append(f"{r['carrier']} {', '.join(bits)}")
        lines.append("  primary energy by carrier: " + "; ".join(parts))
    b = result.buildings
    if "ped_balance_kwh" in b and np.isfinite(b["ped_balance_kwh"].to_numpy(dtype=float)).any():
        top = b.loc[b["included"]].nlargest(3, "ped_balance_kwh")
        lines.append("  largest building balances (own PEI - PEE): " + "; ".join(
            f"{r.building_id} ({r.use}) {_fmt_kwh(r.ped_balance_kwh)}" for r in top.itertuples()))
        low = b.loc[b["included"]].nsmallest(1, "ped_balance_kwh")
        for r in low.itertuples():
            if r.ped_balance_kwh < 0:
                lines.append(f"  largest exporter: {r.building_id} ({r.use}) {_fmt_kwh(r.ped_balance_kwh)}")
    if d.get("n_pv_no_estimate"):
        lines.append(f"  rooftop PV: {d['n_pv_no_estimate']} included building(s) without an estimate (outside the DSM or "
                     "nodata; pv_kwh is empty, see their flags): no PV counted for them")
    gen = sorted(d["breakdown"]["generation"], key=lambda r: -r["output_kwh"])[:3]
    if gen:
        lines.append("  generation: " + "; ".join(f"{r['name']} {r['output']} {_fmt_kwh(r['output_kwh'])}" for r in gen))
    if d.get("timeseries"):  # monthly/hourly netting and grid indicators (issue 7)
        from .timeseries.report import summary_lines

        lines += summary_lines(d["timeseries"], _fmt_kwh)
    for note in d["assumptions"].get("warnings", []):
        lines.append(f"  warning: {note}")
    if out_dir is not None:
        lines.append(f"outputs in {out_dir}:")
        for f in sorted(Path(out_dir).iterdir()):
            lines.append(f"  {f}")
    return "\n".join(lines)


def _recorded(token: str) -> str:
    """A command-line word as the manifest records it: a database connection's password masked."""
    from .io.postgis import is_connection, mask_connection

    if token.startswith("--") and "=" in token:  # --pg-out=postgresql://...
        option, value = token.split("=", 1)
        return f"{option}={_recorded(value)}"
    return mask_connection(token) if is_connection(token) else token


def command_line(args: argparse.Namespace) -> str:
    """The command as typed (recorded in the output folder's manifest)."""
    return getattr(args, "_command_line", None) or f"pedgis {getattr(args, 'command', '')}".strip()


def _error(exc: Exception) -> int:
    msg = str(exc).strip()
    if "\n" in msg:
        head, *rest = msg.split("\n")
        sys.stderr.write("pedgis: error: " + head + "\n" + "\n".join(rest) + "\n")
    else:
        sys.stderr.write("pedgis: error: " + msg + "\n")
    return 2


# ---------------------------------------------------------------------------------------------
# commands


def _run_scenario(path: Path, out: Path, quiet: bool = False, command: str = "pedgis run",
                  pg_out: str | None = None, pg_schema: str | None = None, csv: bool = False,
                  images: bool = False, workers: int | None = None, scheduler: str | None = None) -> int:
    from .cluster import cluster
    from .config import load_scenario
    from .io.outdir import prepare_output, scenario_inputs
    from .io.outputs import write_outputs, write_pages
    from .io.page_worker import MAX_BUILDINGS, page_process
    from .pipeline import Step1Ahead, check_inputs, run
    from .progress import no_progress, scaled

    scenario = load_scenario(path)
    step1 = Step1Ahead.for_district(scenario, MAX_BUILDINGS)
    # forked before any thread runs: it checks step 1 (a district's) while this process reads the
    # weather and the model, then imports the page libraries while this process computes
    with page_process(write_pages, first=step1) as pages:
        if step1 is not None:
            step1.outcome = None if pages is None else pages.first_outcome
        if images:  # asked for: refused before computing when the exporter is missing
            from .viz.sankey import check_image_export

            check_image_export()
        # the output folder is checked (and refused) before anything is computed
        with prepare_output(out, scenario_inputs(scenario), command) as folder:
            bar = None if quiet else ProgressBar()
            # the checks of `pedgis validate`: any error stops here (exit 2), before any computing
            checked = check_inputs(scenario, progress=scaled(bar or no_progress, 0.0, 0.2),
                                   pg_out=pg_out, pg_schema=pg_schema, step1_ahead=step1)
            checked.emit_warnings()
            checked.raise_errors()
            with cluster(workers, scheduler, say=None if quiet else _say):  # tiles, steps 2-7, hourly chunks on Dask
                result = run(checked.scenario, progress=bar, checked=checked, grid_folder=folder.path,
                             on_roof_model=None if pages is None else pages.prepare)
            out_dir = write_outputs(result, folder, csv=csv, images=images, pages=pages)
    print(summary_text(result, out_dir))
    if checked.postgis is not None:  # the tables too, after the files (checked before computing)
        from .io.postgis import write_result

        tables = write_result(result, checked.postgis)
        print(f"PostGIS tables in {checked.postgis}: {', '.join(tables)}")
    return 0


def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", type=Path, help="scenario TOML file")
    p.add_argument("--out", type=Path, default=Path("pedgis-out"), help="output folder (default ./pedgis-out)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--pg-out", metavar="CONNECTION", default=None,
                   help="also write the tables buildings, roof_segments, district into this PostGIS database "
                        "(postgresql://user@host:5432/db or PG:...; wins over [output] postgis)")
    p.add_argument("--pg-schema", metavar="SCHEMA", default=None,
                   help="schema of those tables (default: [output] postgis_schema, else pedgis)")
    _add_csv_option(p)
    p.add_argument("--images", action="store_true", help=IMAGES_HELP)
    add_cluster_options(p)


def add_cluster_options(p: argparse.ArgumentParser) -> None:
    """``--workers``/``--scheduler`` (pedgis/cluster.py) of run and pv."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=_worker_count, metavar="N", default=None,
                   help="compute on N worker processes of this machine (a Dask LocalCluster): the DSM tiles' "
                        "rooftop PV and, in run, steps 2-7 in partitions of 100,000 buildings and the hourly "
                        "balance in chunks; the same numbers as without (to float round-off above 100,000 buildings)")
    g.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="... or on a running Dask cluster (tcp://host:8786: dask-jobqueue, Kubernetes, cloud); "
                        "its workers need pedgis installed")


def _worker_count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text}: give a whole number of worker processes, 1 or more")
    return n


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")


IMAGES_HELP = ("also write the Sankey and the time-series charts as PNG and SVG (sankey.png, timeseries_monthly.png, "
               "...; kaleido and Chrome/Chromium)")


def _add_csv_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", action="store_true",
                   help="also write the hourly series as CSV (timeseries.csv) beside timeseries.parquet "
                        "(slower: every value formatted as text)")


def _cmd_run(args) -> int:
    return _run_scenario(args.scenario, args.out, args.quiet, command_line(args), args.pg_out, args.pg_schema,
                         csv=args.csv, images=args.images, workers=args.workers, scheduler=args.scheduler)


def _configure_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("pedgis-out"), help="output folder (default ./pedgis-out)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_csv_option(p)
    p.add_argument("--images", action="store_true", help=IMAGES_HELP)


def _cmd_demo(args) -> int:
    scenario = sample_dir() / "scenario.toml"
    if not scenario.exists():
        raise InputDataError(f"{scenario}: the sample scenario is missing; run `python sample_data/make_sample_data.py` "
                             "in a source checkout (the demo needs the repository's sample_data folder).")
    return _run_scenario(scenario, args.out, args.quiet, command_line(args), csv=args.csv, images=args.images)


def _configure_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", type=Path, help="scenario TOML file")


def _cmd_validate(args) -> int:
    from .pipeline import check_inputs

    check = check_inputs(args.scenario)  # the very checks `pedgis run` makes before computing

    def listing(items, head):
        if items:
            print(f"{len(items)} {head}{'s' if len(items) > 1 else ''}:" if "(" not in head else
                  f"{len(items)} {head.replace('(s)', 's' if len(items) > 1 else '')}:")
            for p in items:
                print("  - " + p.message)

    if not check.errors:
        print(f"{args.scenario}: OK")
    else:
        print(f"{args.scenario}: {len(check.errors)} problem{'s' if len(check.errors) > 1 else ''} "
              "(`pedgis run` stops on these):")
        for p in check.errors:
            print("  - " + p.message)
    listing(check.warnings, "warning")
    # repaired or defaulted by a run, flagged per building: worth knowing, not blocking
    listing(check.notes, "data-quality note(s) (a run repairs these and flags the buildings)")
    return 1 if check.errors else 0


register_command("run", "run all 8 steps on a scenario file", _configure_run, _cmd_run)
register_command("validate", "check a scenario file and its inputs; print every problem with its fix", _configure_validate, _cmd_validate)
register_command("demo", "run the bundled sample district end to end", _configure_demo, _cmd_demo)


def _load_command_modules() -> None:
    for mod in COMMAND_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod and not mod.startswith(str(exc.name)):
                raise


def build_parser() -> argparse.ArgumentParser:
    _load_command_modules()
    from . import __version__

    parser = argparse.ArgumentParser(prog="pedgis", description="Positive Energy District balance on real geodata "
                                     "(MAKING-CITY methodology, Gabaldón Moreno et al. 2021).")
    parser.add_argument("--version", action="version", version=f"pedgis {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for c in COMMANDS.values():
        p = sub.add_parser(c.name, help=c.help, description=c.help)
        c.configure(p)
        p.set_defaults(_handler=c.handler)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Every warning as one ``pedgis: warning:`` line: pedgis' own as they are (they name their
    file), a library's with its class and library, never a Python file:line prefix."""
    stream = file or sys.stderr
    text = str(message) if issubclass(category, PedgisWarning) else library_warning_text(message, category, filename)
    stream.write(f"pedgis: warning: {text}\n")


class TerminalStream:
    """A text stream that shows user text safely on a terminal (:func:`pedgis.escaping.terminal_text`):
    every line pedgis prints (summaries, problems, warnings) carries ids, names and paths from
    the user's files."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        from .escaping import terminal_text

        return self.stream.write(terminal_text(text))

    def __getattr__(self, name):  # flush, isatty, encoding, ... of the real stream
        return getattr(self.stream, name)


#: Cyclic garbage collector thresholds while a command runs. A command allocates millions of
#: short-lived objects (imports, pandas, plotly); Python's default (a collection every 700
#: allocations) spent 0.3-0.4 s of the 4.4 s of `pedgis run` on the sample in 663 collections.
COMMAND_GC_THRESHOLD = (50_000, 20, 20)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pedgis`` console script; returns the exit code."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalStream(out), TerminalStream(err)
    gc_threshold = gc.get_threshold()
    gc.set_threshold(*COMMAND_GC_THRESHOLD)
    try:
        return _run_command(argv)
    finally:
        gc.set_threshold(*gc_threshold)
        sys.stdout, sys.stderr = out, err


def console_main() -> int:
    """The ``pedgis`` console script and ``python -m pedgis``: :func:`main`, then the exit made quick.

    The objects left at the end are frozen, so the interpreter's last collection does not walk
    them: exiting took 0.3-0.4 s of `pedgis run` on the sample, 0.06 s frozen. Exit handlers still run.
    """
    code = main()
    gc.freeze()
    return code


def _run_command(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_handler", None):
        parser.print_help()
        return 2
    args._command_line = shlex.join(["pedgis", *map(_recorded, sys.argv[1:] if argv is None else argv)])
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        for category in LIBRARY_CHANGE_WARNINGS:  # about a library's code, not the user's data
            warnings.simplefilter("ignore", category)
        try:
            return int(args._handler(args) or 0)
        except InputDataError as exc:
            return _error(exc)
        except OSError as exc:  # last resort: the places that touch files give more specific messages
            reason, fix = describe_os_error(exc, writing=None)
            return _error(InputDataError(f"{exc.filename or 'a file'}: {reason} ({exc.strerror or exc}). Fix: {fix}."))
        except Cancelled:
            sys.stderr.write("pedgis: cancelled\n")
            return 130


if __name__ == "__main__":  # pragma: no cover
    # `python -m pedgis.cli` runs this file as __main__; the command modules register into the
    # importable `pedgis.cli`, so run that module's main to see every command.
    from pedgis.cli import main as _main

    sys.exit(_main())
