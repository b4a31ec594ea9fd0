"""``pedgis pv``: rooftop PV (and solar thermal / PVT) potential only, from a DSM or a
precomputed irradiation raster. Thin: parse, read, call :func:`rooftop_solar`, write.

Outputs in ``--out`` (default ``./pedgis-out``): ``buildings.gpkg`` (layers ``buildings`` with the
per-building results and ``roof_segments``), ``irradiation.tif`` [kWh m⁻² a⁻¹], ``pv.json``
(totals and every assumption with its source) and ``pv_hourly_kwh.csv.gz`` (8760 × buildings).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..cli import ProgressBar, register_command
from ..errors import DataQualityWarning, InputDataError
from ..geometry import repair_geometries


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--buildings", type=Path, required=True,
                   help="building footprints (shapefile, GeoPackage, ...) or a 3D city model (CityGML, CityJSON)")
    p.add_argument("--dsm", type=Path, help="digital surface model (GeoTIFF); optional with a 3D city model")
    p.add_argument("--dtm", type=Path, help="digital terrain model on the DSM grid (adds roof_height_m)")
    p.add_argument("--irradiation", type=Path,
                   help="precomputed annual irradiation raster [kWh/m²a] (SEBE, r.sun) instead of the DSM's sky model")
    p.add_argument("--weather", required=True,
                   help="hourly weather year (EPW, TMY3, PVGIS TMY .csv/.json, UMEP/SUEWS forcing .txt placed at the "
                        "buildings' centroid), or `pvgis` to download (cached)")
    p.add_argument("--id-column", default=None, help="building id field (default: building_id, else the row number)")
    p.add_argument("--layer", default=None, help="layer of a multi-layer buildings file")
    p.add_argument("--crs", default=None, help="CRS of the buildings when the file has none (e.g. EPSG:32632)")
    p.add_argument("--config", type=Path, default=None,
                   help="a scenario TOML whose [solar] section sets the parameters")
    p.add_argument("--out", type=Path, default=Path("pedgis-out"), help="output folder (default ./pedgis-out)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _buildings(args):
    import geopandas as gpd

    from ..io.presets import id_labels
    from ..io.vector import read_vector

    raw = read_vector(args.buildings, layer=args.layer, crs=args.crs)
    col = args.id_column or ("building_id" if "building_id" in raw.columns else None)
    if col is not None and col not in raw.columns:
        raise InputDataError(f"{args.buildings}: id field '{col}' (--id-column) not found; fields: "
                             f"{', '.join(map(str, raw.columns.drop('geometry')))}.")
    if col:  # the ids step 1 gives: 100006475.0 from a DBF numeric field is "100006475"
        ids = id_labels(raw[col])
        ids[ids == ""] = [f"row{i + 1}" for i in np.flatnonzero((ids == "").to_numpy())]
    else:
        ids = raw.index.astype(str)
    # the same repairs as step 1 (make_valid, bow-ties, Z, 3D surfaces), so roofs follow real footprints
    rep = repair_geometries(raw.geometry)
    b = gpd.GeoDataFrame({"building_id": ids.to_numpy()}, geometry=rep.geometry, crs=raw.crs)
    bad = rep.reasons != ""
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{args.buildings}: {int(bad.sum())} rows without a usable footprint (e.g. id "
                             f"{b['building_id'].iloc[first]}: {rep.reasons[first]}); remove them or fix the file.")
    repaired = (rep.flags != "").to_numpy()
    if repaired.any():
        shown = "; ".join(f"{i}: {f}" for i, f in zip(b.loc[repaired, "building_id"][:5], rep.flags[repaired][:5], strict=True))
        warnings.warn(f"{args.buildings}: {int(repaired.sum())} footprints repaired before the roof model ({shown}).",
                      DataQualityWarning, stacklevel=2)
    if b["building_id"].duplicated().any():
        b = b.dissolve("building_id", as_index=False)  # parts of one building (e.g. cadastral parts)
    return b


def run_pv(args, progress=None) -> tuple[Path, dict]:
    """Compute and write what ``pedgis pv`` writes (the QGIS plugin calls this too).

    ``args`` has the command's options as attributes (``buildings``, ``dsm``, ``dtm``,
    ``irradiation``, ``weather``, ``id_column``, ``layer``, ``crs``, ``config``, ``out``);
    ``progress(fraction, message)`` may raise :class:`pedgis.errors.Cancelled`, and nothing is
    then written. Returns the output folder and the summary written to ``pv.json``.
    """
    from ..config import read_toml
    from ..io.citymodel import city_model_format
    from ..io.outputs import _jsonable
    from ..io.solar_rasters import open_grid, write_hourly, write_irradiation
    from ..io.weather import resolve_weather
    from .params import SolarParams
    from .rooftop import rooftop_solar

    model = args.irradiation is None and city_model_format(args.buildings) is not None  # LoD2 roof planes
    if args.dsm is None and args.irradiation is None and not model:
        raise InputDataError("pedgis pv: give --dsm PATH (or --irradiation PATH, a precomputed irradiation raster), "
                             "or a 3D city model (CityGML / CityJSON) as --buildings.")
    sdoc = {}
    if args.config is not None:
        sdoc = dict(read_toml(args.config).get("solar", {}) or {})
    params = SolarParams.from_dict(sdoc)
    b = _buildings(args)
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
        if model:
            from ..io.citymodel import read_city_model
            from .model_roofs import rooftop_from_model

            res = rooftop_from_model(read_city_model(args.buildings, crs=args.crs), weather, params, dsm=dsm,
                                     dtm=dtm, building_ids=b["building_id"], progress=progress)
        else:
            res = rooftop_solar(b, dsm, weather, params, dtm=dtm, irradiation=irr,
                                progress=progress)
    finally:
        for g in grids:
            g.source.close()
    out = b.merge(res.buildings.reset_index(), on="building_id", how="left")
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
        "weather": {"source": weather.source, "latitude": weather.latitude, "longitude": weather.longitude,
                    "time_offset_min": weather.time_offset_min},
        "assumptions": res.assumptions,
    }
    out_dir = args.out.expanduser().resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        gpkg = tmp / "buildings.gpkg"
        out.to_file(gpkg, layer="buildings", driver="GPKG", engine="pyogrio")
        if res.segments is not None and len(res.segments):
            res.segments.to_file(gpkg, layer="roof_segments", driver="GPKG", engine="pyogrio")
        write_irradiation(res, tmp / "irradiation.tif")
        if res.hourly_pv_kwh is not None:
            write_hourly(res.hourly_pv_kwh, tmp / "pv_hourly_kwh.csv.gz")
        (tmp / "pv.json").write_text(json.dumps(_jsonable(summary), indent=2, ensure_ascii=False,
                                                allow_nan=False), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir, summary


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
