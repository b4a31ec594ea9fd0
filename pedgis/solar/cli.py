"""``pedgis pv``: rooftop PV (and solar thermal / PVT) potential only, from a DSM or a
precomputed irradiation raster. Thin: parse, read, call :func:`rooftop_solar`, write.

Outputs in ``--out`` (default ``./pedgis-out``): ``buildings.gpkg`` (layers ``buildings`` with the
per-building results and ``roof_segments``), ``irradiation.tif`` [kWh m⁻² a⁻¹], ``pv.json``
(totals and every assumption with its source), ``buildings.parquet`` and ``roof_segments.parquet``
(GeoParquet) and ``pv_hourly_kwh.parquet`` (8760 × buildings; ``--csv`` adds ``pv_hourly_kwh.csv.gz``).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from ..cli import ProgressBar, _say, add_cluster_options, register_command
from ..cluster import cluster
from ..errors import DataQualityWarning, InputDataError
from ..geometry import repair_geometries
from ..io.presets import PRESETS


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--buildings", required=True,
                   help="building footprints (shapefile, GeoPackage, ..., a CEA scenario folder, a PostGIS database "
                        "postgresql://... or PG:... with --layer schema.table) or a 3D city model (CityGML, CityJSON)")
    p.add_argument("--dsm", type=Path, help="digital surface model (GeoTIFF); optional with a 3D city model")
    p.add_argument("--dtm", type=Path, help="digital terrain model on the DSM grid (adds roof_height_m)")
    p.add_argument("--irradiation", type=Path,
                   help="precomputed annual irradiation raster [kWh/m²a] (SEBE, r.sun) instead of the DSM's sky model")
    p.add_argument("--weather", required=True,
                   help="hourly weather year (EPW, TMY3, PVGIS TMY .csv/.json, UMEP/SUEWS forcing .txt placed at the "
                        "buildings' centroid), or `pvgis` to download (cached)")
    p.add_argument("--id-column", default=None,
                   help="building id field (default: the preset's, e.g. identificatie, localId, osm_id, Name; else the row number)")
    p.add_argument("--preset", default="auto", choices=("auto", *PRESETS),
                   help="attribute preset of the buildings, as `buildings.preset` of a scenario (default: detected)")
    p.add_argument("--layer", default=None, help="layer of a multi-layer buildings file")
    p.add_argument("--crs", default=None, help="CRS of the buildings when the file has none (e.g. EPSG:32632)")
    p.add_argument("--config", type=Path, default=None,
                   help="a scenario TOML whose [solar] section sets the parameters")
    p.add_argument("--out", type=Path, default=Path("pedgis-out"), help="output folder (default ./pedgis-out)")
    p.add_argument("--csv", action="store_true",
                   help="also write the hourly series as pv_hourly_kwh.csv.gz beside pv_hourly_kwh.parquet "
                        "(slower: seconds per thousand buildings)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_cluster_options(p)


def _source(args):
    """``--buildings`` as a path, or a PostGIS table whose text has the password masked."""
    from ..io.postgis import DatabaseSource, is_connection

    b = args.buildings
    return DatabaseSource(b, layer=args.layer) if is_connection(b) else Path(b)


def _buildings(args, source=None):
    """Footprints with ``building_id`` from the preset's id column (as step 1 finds it), and the
    source's columns a user joins the results back on: the id column under its own name, the
    name and the address (:data:`pedgis.io.presets.ADDRESS_COLUMNS`); what was used is in
    ``attrs["pedgis_pv_columns"]``."""
    import geopandas as gpd

    from ..io.presets import ADDRESS_COLUMNS, find_column, id_labels, resolve_columns
    from ..io.vector import read_vector

    source = source if source is not None else _source(args)
    raw = read_vector(source, layer=args.layer, crs=args.crs)
    fields = [c for c in raw.columns if c != raw.geometry.name]
    if args.id_column is not None and args.id_column not in fields:
        raise InputDataError(f"{source}: id field '{args.id_column}' (--id-column) not found; fields: "
                             f"{', '.join(map(str, fields))}.")
    preset = getattr(args, "preset", None)  # the QGIS algorithm passes none: detected
    cmap = resolve_columns(fields, preset=None if preset in (None, "auto") else preset,
                           columns={"building_id": args.id_column} if args.id_column else None, source_name=str(source))
    col = cmap.columns.get("building_id")
    if col:  # the ids step 1 gives: 100006475.0 from a DBF numeric field is "100006475"
        ids = id_labels(raw[col])
        ids[ids == ""] = [f"row{i + 1}" for i in np.flatnonzero((ids == "").to_numpy())]
    else:
        ids = raw.index.astype(str)
    address = [find_column(fields, (a,)) for a in ADDRESS_COLUMNS]
    keep = [c for c in dict.fromkeys([col, cmap.columns.get("name"), *address]) if c and c != "building_id"]
    # the same repairs as step 1 (make_valid, bow-ties, Z, 3D surfaces), so roofs follow real footprints
    rep = repair_geometries(raw.geometry)
    b = gpd.GeoDataFrame({"building_id": ids.to_numpy(), **{c: raw[c].to_numpy() for c in keep}},
                         geometry=rep.geometry, crs=raw.crs)
    bad = rep.reasons != ""
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{source}: {int(bad.sum())} rows without a usable footprint (e.g. id "
                             f"{b['building_id'].iloc[first]}: {rep.reasons[first]}); remove them or fix the file.")
    repaired = (rep.flags != "").to_numpy()
    if repaired.any():
        shown = "; ".join(f"{i}: {f}" for i, f in zip(b.loc[repaired, "building_id"][:5], rep.flags[repaired][:5], strict=True))
        warnings.warn(f"{source}: {int(repaired.sum())} footprints repaired before the roof model ({shown}).",
                      DataQualityWarning, stacklevel=2)
    if b["building_id"].duplicated().any():
        b = b.dissolve("building_id", as_index=False)  # parts of one building (e.g. cadastral parts); first part's attributes
    b.attrs["pedgis_pv_columns"] = {"preset": cmap.preset, "detected": cmap.detected, "id_column": col,
                                    "source_columns": keep}
    return b


def run_pv(args, progress=None) -> tuple[Path, dict]:
    """Compute and write what ``pedgis pv`` writes (the QGIS plugin calls this too).

    ``args`` has the command's options as attributes (``buildings``, ``dsm``, ``dtm``,
    ``irradiation``, ``weather``, ``id_column``, ``layer``, ``crs``, ``config``, ``out``);
    ``progress(fraction, message)`` may raise :class:`pedgis.errors.Cancelled`, and nothing is
    then written. Returns the output folder and the summary written to ``pv.json``.
    """
    from ..io.citymodel import city_model_format
    from ..io.outdir import prepare_output

    source = _source(args)
    model = args.irradiation is None and city_model_format(source) is not None  # LoD2 roof planes
    if args.dsm is None and args.irradiation is None and not model:
        raise InputDataError("pedgis pv: give --dsm PATH (or --irradiation PATH, a precomputed irradiation raster), "
                             "or a 3D city model (CityGML / CityJSON) as --buildings.")
    inputs = [source if isinstance(source, Path) else None, args.dsm, args.dtm, args.irradiation, args.config, args.weather]
    with prepare_output(args.out, inputs, getattr(args, "_command_line", None) or "pedgis pv") as folder:
        summary = _compute_and_write(args, source, folder, progress, model)  # the folder was checked before computing
        return folder.commit(), summary


def _compute_and_write(args, source, folder, progress, model: bool) -> dict:
    from ..config import read_toml
    from ..io.columnar import write_hourly_parquet
    from ..io.outputs import _jsonable, write_layer
    from ..io.roof_grids import remove_scratch
    from ..io.solar_rasters import open_grid, write_hourly, write_irradiation
    from ..io.weather import resolve_weather
    from .params import SolarParams
    from .rooftop import rooftop_solar

    sdoc = {}
    if args.config is not None:
        sdoc = dict(read_toml(args.config).get("solar", {}) or {})
    params = SolarParams.from_dict(sdoc)
    b = _buildings(args, source)
    columns = b.attrs["pedgis_pv_columns"]
    from ..checks import district_lonlat

    # the district's centroid: where a PVGIS TMY is downloaded and a UMEP/SUEWS file (no coordinates) stands
    lon, lat = district_lonlat(b) or (None, None)
    weather = resolve_weather(args.weather, lat, lon)
    from ..io.raster import physical_range_problems

    for option, path in (("--dsm", args.dsm), ("--dtm", args.dtm)):  # such pixels are nodata, flagged per building
        for message in physical_range_problems(path, option) if path is not None else []:
            warnings.warn(message, DataQualityWarning, stacklevel=2)
    grids = []
    try:
        dsm = open_grid(args.dsm, "DSM") if args.dsm else None
        dtm = open_grid(args.dtm, "DTM") if args.dtm and (dsm is not None or model) else None
        irr = open_grid(args.irradiation, "irradiation raster") if args.irradiation else None
        grids = [g for g in (dsm, dtm, irr) if g is not None]
        # the tiles on Dask with --workers/--scheduler (the QGIS algorithm passes neither)
        with cluster(getattr(args, "workers", None), getattr(args, "scheduler", None),
                     say=None if getattr(args, "quiet", True) else _say):
            if model:
                from ..io.citymodel import read_city_model
                from .model_roofs import rooftop_from_model

                res = rooftop_from_model(read_city_model(source, crs=args.crs), weather, params, dsm=dsm,
                                         dtm=dtm, building_ids=b["building_id"], progress=progress,
                                         grid_folder=folder.path)
            else:  # a city's grids go to scratch files in the output folder being written
                res = rooftop_solar(b, dsm, weather, params, dtm=dtm, irradiation=irr, progress=progress,
                                    grid_folder=folder.path)
    finally:
        for g in grids:
            g.source.close()
    out = b.merge(res.buildings.reset_index(), on="building_id", how="left", suffixes=("_source", ""))
    out = out.rename(columns={"solar_flags": "flags"})
    summary = {
        "n_buildings": int(len(out)),
        "n_with_estimate": int(np.isfinite(out["pv_kwh"]).sum()),
        "pv_area_m2": float(np.nansum(out["pv_area_m2"])),
        "pv_kwp": float(np.nansum(out["pv_kwp"])),
        "pv_kwh": float(np.nansum(out["pv_kwh"])),
        "solar_thermal_kwh": float(np.nansum(out["solar_thermal_kwh"])),
        "pvt_kwh": float(np.nansum(out["pvt_kwh"])),
        "pvt_heat_kwh": float(np.nansum(out["pvt_heat_kwh"])),
        "buildings": {"source": str(source), **columns},
        "weather": {"source": weather.source, "latitude": weather.latitude, "longitude": weather.longitude,
                    "time_offset_min": weather.time_offset_min},
        "assumptions": res.assumptions,
    }
    with folder.writing() as tmp:
        write_layer(out, tmp, "buildings")
        if res.segments is not None and len(res.segments):
            write_layer(res.segments, tmp, "roof_segments")
        write_irradiation(res, tmp / "irradiation.tif")
        if res.hourly_pv_kwh is not None:
            write_hourly_parquet(res.hourly_pv_kwh, tmp / "pv_hourly_kwh.parquet")
            if getattr(args, "csv", False):  # the QGIS algorithm passes none: Parquet only
                write_hourly(res.hourly_pv_kwh, tmp / "pv_hourly_kwh.csv.gz")
        (tmp / "pv.json").write_text(json.dumps(_jsonable(summary), indent=2, ensure_ascii=False,
                                                allow_nan=False), encoding="utf-8")
        remove_scratch(res, tmp)
    return summary


def _cmd_pv(args) -> int:
    out_dir, summary = run_pv(args, progress=None if args.quiet else ProgressBar())
    print(f"rooftop solar: {summary['n_with_estimate']} of {summary['n_buildings']} buildings; "
          f"PV {summary['pv_kwp']:,.0f} kWp on {summary['pv_area_m2']:,.0f} m², {summary['pv_kwh'] / 1000:,.1f} MWh/a")
    missing = summary["n_buildings"] - summary["n_with_estimate"]
    if missing:
        print(f"  {missing} buildings without an estimate (NaN; see the flags field)")
    print(f"outputs in {out_dir}:")
    for f in sorted(out_dir.iterdir()):
        print(f"  {f}")
    return 0


register_command("pv", "rooftop PV (and solar thermal / PVT) potential from a DSM", _configure, _cmd_pv)
