"""Writing a run's outputs: ``district.json``, ``buildings.gpkg`` (+ maps and report from :mod:`pedgis.viz`).

Through the one output writer, :mod:`pedgis.io.outdir`: everything is written into a temporary
folder beside the output folder and then swapped into place with a manifest, so an output folder
is never half-written and pedgis never replaces a folder it did not write.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .outdir import OutputFolder, prepare_output

CONTRACT_COLUMNS = [
    "building_id", "included", "exclusion_reason", "use", "footprint_area_m2", "floors", "height_m",
    "floor_area_m2", "ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_kwh", "eeu_kwh", "teu_kwh",
    "pv_area_m2", "pv_kwp", "pv_kwh", "roof_irradiation_kwh_m2", "pei_kwh", "pee_kwh",
    "ped_balance_kwh", "flags",
]


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return None if math.isnan(v) or math.isinf(v) else v
    return obj


def district_json(result) -> str:
    """The text of ``district.json`` (NaN → null, paths → text)."""
    return json.dumps(_jsonable(result.district), indent=2, ensure_ascii=False, allow_nan=False)


def buildings_layer(result):
    """The ``buildings`` layer: contract columns first, then the other result columns."""
    b = result.buildings
    extra = [c for c in b.columns if c not in CONTRACT_COLUMNS and c != "geometry"]
    cols = [c for c in CONTRACT_COLUMNS if c in b.columns] + extra
    out = b[cols + ["geometry"]].copy()
    for c in out.columns:
        if c != "geometry" and out[c].dtype == object:
            out[c] = out[c].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    return out


def write_layer(gdf, folder: Path, layer: str, gpkg: str = "buildings.gpkg") -> None:
    """A layer into the GeoPackage (for people and QGIS) and as ``<layer>.parquet`` (GeoParquet,
    for programs and large districts), inside the output folder being written."""
    from .columnar import write_geoparquet

    gdf.to_file(folder / gpkg, layer=layer, driver="GPKG", engine="pyogrio")
    write_geoparquet(gdf, folder / f"{layer}.parquet")


def write_outputs(result, out_dir: str | Path | OutputFolder, viz: bool = True,
                  command: str = "pedgis.io.outputs.write_outputs", csv: bool = False,
                  images: bool = False, pages=None) -> Path:
    """Write ``district.json``, ``buildings.gpkg`` (layers ``buildings``, ``boundary``,
    ``roof_segments``), ``buildings.parquet`` and ``roof_segments.parquet`` (GeoParquet), the
    hourly series ``timeseries.parquet`` (and ``timeseries.csv`` when ``csv``), plus the
    pages (:func:`write_pages`) and their QGIS styles in the GeoPackage when ``viz``.

    ``out_dir`` is a folder path or an :class:`~pedgis.io.outdir.OutputFolder` that
    :func:`~pedgis.io.outdir.prepare_output` opened before the run (the command line does, so a
    folder pedgis may not write is refused before computing). The folder is replaced as a whole
    (written to a temporary sibling, then swapped in with its manifest); on any error nothing is
    left half-written. ``images``: also ``sankey.png`` and ``sankey.svg`` (kaleido; a failure
    is an error and nothing is written). ``pages``: a :class:`~pedgis.io.page_worker.PageProcess`
    that draws the pages while this process writes the data files (the command line's). Returns
    the output folder.
    """
    folder = out_dir if isinstance(out_dir, OutputFolder) else prepare_output(out_dir, command=command)
    with folder, folder.writing() as tmp:
        in_child = viz and pages is not None and pages.accepts(result)
        if in_child:
            pages.submit(result, tmp, images)
        write_data(result, tmp, csv)
        if viz:
            if in_child:
                pages.wait()
            else:
                write_pages(result, tmp, images)
            _write_styles(tmp / "buildings.gpkg")
        if getattr(result, "irradiation", None) is not None:  # a city's grids: scratch files of the run
            from .roof_grids import remove_scratch

            remove_scratch(result.irradiation, tmp)
        return folder.commit()


def write_data(result, folder: Path, csv: bool = False) -> None:
    """The data files of a run (everything but the pages) into ``folder``."""
    (folder / "district.json").write_text(district_json(result), encoding="utf-8")
    gpkg = folder / "buildings.gpkg"
    write_layer(buildings_layer(result), folder, "buildings")
    if result.boundary is not None and len(result.boundary):
        bnd = result.boundary.copy()  # with step 1's attributes (boundary type, rule)
        bnd.to_file(gpkg, layer="boundary", driver="GPKG", engine="pyogrio")
    if result.roof_segments is not None and len(result.roof_segments):
        write_layer(result.roof_segments, folder, "roof_segments")
    hourly = getattr(result, "hourly", None)
    if hourly is not None:  # time-resolved block: hourly series (docs/outputs.md)
        from .columnar import write_hourly_parquet

        write_hourly_parquet(hourly, folder / "timeseries.parquet")
        if csv:  # formatted value by value: only when asked for (`--csv`)
            from ..escaping import write_csv

            write_csv(hourly, folder / "timeseries.csv", index=False, float_format="%.4f")
    if getattr(result, "irradiation", None) is not None:  # rooftop solar (pedgis.solar)
        from .solar_rasters import write_irradiation

        write_irradiation(result.irradiation, folder / "irradiation.tif")


def write_pages(result, folder: Path, images: bool = False, prepared=None) -> None:
    """The pages of one run into ``folder``: ``timeseries.html`` (and its images), then the map,
    the Sankey and the report (:func:`pedgis.viz.write_all`, without the GeoPackage styles: the
    GeoPackage is the data files' and may still be being written). ``prepared``: the map's layers
    of the roof model already drawn (:func:`pedgis.viz.maps.roof_layers`)."""
    timeseries = result.district.get("timeseries")
    if timeseries:
        from ..timeseries.charts import timeseries_html

        (folder / "timeseries.html").write_text(
            timeseries_html(timeseries, f"{result.district.get('scenario', '')}: time-resolved balance"),
            encoding="utf-8")
        if images:  # the charts of timeseries.html too
            from ..timeseries.charts import monthly_balance_figure, typical_day_figure
            from ..viz.sankey import write_images

            write_images({"timeseries_monthly": monthly_balance_figure(timeseries),
                          "timeseries_typical_day": typical_day_figure(timeseries)}, folder)
    from ..viz import write_all

    write_all(result, folder, images=images, styles=False, prepared=prepared)


def _write_styles(gpkg: Path) -> None:
    """Default QGIS styles stored in the run's GeoPackage."""
    if gpkg.is_file():
        from ..viz.styles import write_styles

        write_styles(gpkg)


def reconcile(result) -> pd.DataFrame:
    """Per-building sums next to the district totals (what `test_outputs` checks to the kWh)."""
    b = result.buildings
    d = result.district
    rows = []
    for col in ("ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_kwh", "teu_kwh"):
        rows.append((col, float(np.nansum(b[col])), d[col]))
    rows.append(("eeu_kwh", float(np.nansum(b["eeu_kwh"])) + sum(d["district_loads_kwh"].values()), d["eeu_kwh"]))
    rows.append(("ped_balance_kwh", float(np.nansum(b["ped_balance_kwh"])) + d["district_systems_ped_balance_kwh"]
                 + d["netting_effect_kwh"], d["ped_balance_kwh"]))
    return pd.DataFrame(rows, columns=["quantity", "from_buildings", "district"])
