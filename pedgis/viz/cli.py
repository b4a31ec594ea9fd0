"""``pedgis map OUT_DIR [--indicator ...] [--basemap osm]``: re-render the pages of a run.

Thin: parses arguments, calls :func:`pedgis.viz.redraw` on an existing output folder.
Registered in the engine's command registry (``pedgis.cli.register_command``) on import;
``python -m pedgis.viz OUT_DIR`` runs it on its own.
"""

from __future__ import annotations

import argparse
import sys

from pedgis.errors import InputDataError

HELP = "re-render map.html, sankey.html and report.html from an existing output folder"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from pedgis.viz.maps import BASEMAPS, all_indicators

    parser.add_argument("out_dir", metavar="OUT_DIR",
                        help="output folder of `pedgis run` (holds district.json, buildings.gpkg)")
    parser.add_argument("--indicator", default="ped_balance_kwh", choices=list(all_indicators()),
                        help="indicator the map opens with (default: ped_balance_kwh)")
    parser.add_argument("--basemap", default=None, choices=list(BASEMAPS),
                        help="add a tile basemap (needs network when viewing; default: none)")
    parser.add_argument("--title", default=None, help="title of the pages")
    parser.add_argument("--images", action="store_true",
                        help="also write the Sankey as sankey.png and sankey.svg (kaleido and Chrome/Chromium)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Execute the sub-command; returns the exit code (errors propagate to the CLI)."""
    from pedgis.viz import redraw

    if getattr(args, "images", False):
        from pedgis.viz.sankey import check_image_export

        check_image_export()
    files = redraw(args.out_dir, indicator=args.indicator, basemap=args.basemap, title=args.title,
                   command=getattr(args, "_command_line", None) or "pedgis map",
                   images=getattr(args, "images", False))
    for f in files:
        print(f"wrote {f}")
    return 0


def _register() -> None:
    """Add ``map`` to the ``pedgis`` command registry (imported by :mod:`pedgis.cli`)."""
    try:
        from pedgis.cli import register_command
    except ImportError:  # pragma: no cover - the engine's CLI is part of the package
        return
    register_command("map", HELP, add_arguments, run)


_register()


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="pedgis map", description=HELP))
    args = parser.parse_args(argv)
    try:
        return run(args)
    except InputDataError as exc:
        print(f"pedgis map: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
