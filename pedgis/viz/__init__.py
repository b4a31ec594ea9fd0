"""Step 8 and the pages people look at: web map, primary-energy Sankey, report, QGIS styles.

``write_all(result_or_folder, out_dir)`` writes ``map.html``, ``sankey.html`` (plus
``sankey.png``/``.svg`` with ``images=True``, through kaleido) and ``report.html`` and
stores default QGIS styles in ``out_dir/buildings.gpkg``. The engine's ``write_outputs`` calls
it; ``pedgis map OUT_DIR`` calls :func:`redraw`, which draws them again in an output folder
through the output writer (:func:`pedgis.io.outdir.update_output`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pedgis.progress import ProgressCallback, no_progress

__all__ = ["write_all", "redraw", "INDICATORS"]

# what write_all writes or changes in a folder (copied, not hard-linked, when a folder is redrawn)
FILES = ("map.html", "sankey.html", "sankey.png", "sankey.svg", "report.html", "buildings.gpkg")


def __getattr__(name: str):  # lazy: keep `import pedgis.viz` light
    if name == "INDICATORS":
        from pedgis.viz.maps import INDICATORS

        return INDICATORS
    raise AttributeError(name)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_all(
    result_or_folder: Any,
    out_dir: str | os.PathLike,
    indicator: str = "ped_balance_kwh",
    basemap: str | None = None,
    title: str | None = None,
    progress: ProgressCallback | None = None,
    images: bool = False,
    styles: bool = True,
    prepared: Any = None,
) -> list[Path]:
    """Write the map, the Sankey, the report and the GeoPackage styles.

    Parameters
    ----------
    result_or_folder : DistrictResult or path
        A pipeline result or an output folder (``district.json``, ``buildings.gpkg``,
        optional ``irradiation.tif``).
    out_dir : path
        Folder to write into (created if missing).
    indicator : str
        Indicator the map opens with (see :data:`pedgis.viz.maps.INDICATORS`).
    basemap : {None, "osm"}
        Tile layer; None keeps the pages fully offline.
    title : str, optional
        Title of the pages (escaped).
    progress : callable, optional
        ``progress(fraction, message)``.
    images : bool
        Also ``sankey.png`` and ``sankey.svg`` (:func:`pedgis.viz.sankey.export_static`).
    styles : bool
        Store the QGIS styles in ``out_dir/buildings.gpkg`` when it exists (False: the caller
        does, after writing the GeoPackage).
    prepared : :class:`pedgis.viz.maps.RoofLayers`, optional
        The map's irradiation and roof-segment layers already drawn (by the page process, while
        the run computed).

    Returns
    -------
    list of Path
        Files written.
    """
    from pedgis.viz.inputs import load_inputs
    from pedgis.viz.maps import build_map_files
    from pedgis.viz.report import build_report
    from pedgis.viz.sankey import export_static, sankey_html
    from pedgis.viz.styles import write_styles

    report = progress or no_progress
    out = Path(out_dir)
    report(0.0, "reading results for the pages")
    inputs = load_inputs(result_or_folder)
    out.mkdir(parents=True, exist_ok=True)
    if title is None:
        from pedgis.viz.report import district_title

        title = district_title(inputs.district)
    written = []
    report(0.1, "drawing the map")
    map_html, map_files = build_map_files(inputs, indicator=indicator, basemap=basemap, title=title,
                                          prepared=prepared)
    for rel, text in map_files.items():  # a city's tiles (map_tiles/*.js), before the page
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(out / rel, text)  # a new file, never one hard-linked from the previous folder
        written.append(out / rel)
    _write_atomic(out / "map.html", map_html)
    written.append(out / "map.html")
    report(0.5, "drawing the Sankey diagram")
    sk = sankey_html(inputs.district, title=title)
    _write_atomic(out / "sankey.html", sk)
    written.append(out / "sankey.html")
    if images:
        written += export_static(inputs.district, out, title)
    report(0.7, "writing the report")
    _write_atomic(out / "report.html", build_report(
        inputs, indicator=indicator, basemap=basemap, title=title, map_html=map_html))
    written.append(out / "report.html")
    gpkg = out / "buildings.gpkg"
    if styles and gpkg.is_file():
        report(0.95, "storing QGIS styles in buildings.gpkg")
        write_styles(gpkg)
    report(1.0, "pages written")
    return written


def redraw(
    out_dir: str | os.PathLike,
    indicator: str = "ped_balance_kwh",
    basemap: str | None = None,
    title: str | None = None,
    progress: ProgressCallback | None = None,
    command: str = "pedgis map",
    images: bool = False,
) -> list[Path]:
    """Draw the pages of an existing pedgis output folder again (``pedgis map``, QGIS web map).

    The folder is changed as a whole, like a new run: the pages are written into a copy of it
    that replaces it with an updated manifest (a folder pedgis did not write is refused).
    Returns the files written, inside ``out_dir``.
    """
    from pedgis.io.outdir import update_output

    with update_output(out_dir, command, rewrites=FILES) as folder:
        with folder.writing():
            from pedgis.viz.maps import TILE_DIR

            # the previous city map's tiles (pedgis's, in the copy): the new map writes its own, if any
            shutil.rmtree(Path(folder.path) / TILE_DIR, ignore_errors=True)
            written = write_all(folder.path, folder.path, indicator=indicator, basemap=basemap,
                                title=title, progress=progress, images=images)
        final = folder.commit()
    return [final / p.relative_to(folder.path) for p in written]
