"""The rooftop solar step inside a scenario run (called by :func:`pedgis.pipeline.run`).

Opens ``[rasters] dsm`` (or ``[rasters] irradiation``), runs :func:`rooftop_solar` on the step-1
buildings with the ``[solar]`` parameters and the ``[weather]`` year, and merges the per-building
results into the buildings table before step 2. When the buildings come from a 3D city model
(CityGML / CityJSON), its roof planes are the roofs, with the DSM (if any) for more shading.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from .params import SolarParams

MERGED = ["pv_area_m2", "pv_kwp", "pv_kwh", "roof_irradiation_kwh_m2"]
EXTRA = ["usable_area_m2", "roof_area_m2", "solar_thermal_area_m2", "solar_thermal_kwh",
         "pvt_area_m2", "pvt_kwh", "pvt_heat_kwh", "dsm_coverage"]


@dataclass(frozen=True)
class RooftopSetup:
    """The scenario's rooftop solar, parsed once by the input check (:func:`rooftop_setup`).

    ``params`` are the ``[solar]`` parameters; ``apply_potential`` whether the roofs' potential
    replaces the buildings' PV attributes; the rasters are ``[rasters]`` paths; ``city_model`` is
    the buildings file when its roof planes are the roofs (CityGML / CityJSON, without a
    precomputed irradiation raster), read in ``city_model_crs``.
    """

    params: SolarParams
    apply_potential: bool
    dsm: Path | None = None
    dtm: Path | None = None
    irradiation: Path | None = None
    city_model: Path | None = None
    city_model_crs: str | None = None


def wants_rooftop(doc: dict) -> bool:
    """True when the scenario gives a DSM or a precomputed irradiation raster, or buildings from
    a 3D city model (its roof planes) and a weather year."""
    r = doc.get("rasters", {}) or {}
    if r.get("dsm") is not None or r.get("irradiation") is not None:
        return True
    return _model_path(doc) is not None and (doc.get("weather", {}) or {}).get("path") is not None


def rooftop_setup(doc: dict) -> RooftopSetup | None:
    """The rooftop solar of a validated scenario document, or None when it has none: a DSM or a
    precomputed irradiation raster, or buildings from a 3D city model and a weather year.
    Raises :class:`ConfigError` naming the ``[solar]`` key of a bad parameter."""
    if not wants_rooftop(doc):
        return None
    r = doc.get("rasters", {}) or {}
    model = _model_path(doc)
    solar = dict(doc.get("solar", {}) or {})
    apply = solar.get("apply_potential")
    if apply is None:  # existing PV given as attributes wins, else the DSM's potential
        columns = (doc.get("buildings", {}) or {}).get("columns", {}) or {}
        apply = columns.get("pv_kwp") is None and columns.get("pv_kwh") is None
    with_model = model is not None and r.get("irradiation") is None  # the 3D model's roof planes
    return RooftopSetup(
        params=SolarParams.from_dict(solar), apply_potential=bool(apply), dsm=r.get("dsm"), dtm=r.get("dtm"),
        irradiation=r.get("irradiation"), city_model=model if with_model else None,
        city_model_crs=(doc.get("buildings", {}) or {}).get("crs") if with_model else None)


def _model_path(doc: dict):
    """The buildings file when it is a CityGML / CityJSON model, else None."""
    from ..io.citymodel import city_model_format

    path = (doc.get("buildings", {}) or {}).get("path")
    return path if path is not None and city_model_format(path) else None


# Runs that repeat the pipeline with levers that do not touch the roofs (`pedgis gap`, `compare`,
# `uncertainty`) reuse the roof model, most of each run's time, through a store they scope with
# :func:`reuse_rooftop_runs`; a single run keeps no copy.
_STORE: ContextVar[dict | None] = ContextVar("pedgis_rooftop_store", default=None)


@contextmanager
def reuse_rooftop_runs(store: dict):
    """Within this block, an identical rooftop run (same roofs, rasters, weather, parameters)
    is taken from ``store`` (one entry, so memory stays bounded) as a copy."""
    token = _STORE.set(store)
    try:
        yield store
    finally:
        _STORE.reset(token)


def _rooftop_key(parts, grids, weather, params) -> str:
    import hashlib
    import os

    h = hashlib.sha256()
    h.update(repr(params).encode())
    for g in grids:
        path = None if g is None else getattr(g.source, "path", None)
        h.update(repr((str(path), os.stat(path).st_mtime_ns if path else None)).encode())
    h.update(repr((getattr(weather, "source", None), getattr(weather, "latitude", None),
                   getattr(weather, "longitude", None))).encode())
    h.update(pd.util.hash_pandas_object(weather.data, index=True).to_numpy().tobytes())
    h.update("\x1f".join(parts["building_id"].astype(str)).encode())
    for wkb in parts.geometry.to_wkb():
        h.update(wkb)
    return h.hexdigest()


def _rooftop_solar_memo(parts, dsm, weather, params, *, dtm=None, irradiation=None, progress=None,
                        model=None, grid_folder=None):
    """:func:`pedgis.solar.rooftop.rooftop_solar` (with ``model``, a 3D city model's roof planes:
    :func:`pedgis.solar.model_roofs.rooftop_from_model`); inside :func:`reuse_rooftop_runs` an
    identical previous run is reused (a copy). A run given a ``grid_folder`` is never kept: its
    grids may be scratch files its caller removes."""
    import copy

    from .rooftop import rooftop_solar

    def compute():
        if model is not None:
            from .model_roofs import rooftop_from_model

            return rooftop_from_model(model, weather, params, dsm=dsm, dtm=dtm,
                                      building_ids=parts["building_id"], progress=progress, grid_folder=grid_folder)
        return rooftop_solar(parts, dsm, weather, params, dtm=dtm, irradiation=irradiation, progress=progress,
                             grid_folder=grid_folder)

    store = _STORE.get()
    if store is None or grid_folder is not None:
        return compute()
    key = _rooftop_key(parts, (dsm, dtm, irradiation), weather, params)
    if model is not None:
        import os

        key += repr((str(model.path), os.stat(model.path).st_mtime_ns))
    if key in store:
        if progress is not None:
            progress(1.0, "rooftop solar: same roofs, rasters, weather and parameters as the previous run")
        return copy.deepcopy(store[key])
    res = compute()
    store.clear()  # one entry: bounded memory whatever the raster size
    store[key] = copy.deepcopy(res)
    return res


def rooftop_for_scenario(setup: RooftopSetup, buildings, weather, progress=None, grid_folder=None):
    """Run the rooftop solar model of a scenario (:func:`rooftop_setup`) and merge its results.

    ``grid_folder``: where a city's irradiation and sky-view grids go as scratch files
    (:func:`pedgis.solar.rooftop.rooftop_solar`); the caller removes them after writing.

    Returns
    -------
    buildings : GeoDataFrame
        With ``pv_area_m2``, ``pv_kwp``, ``pv_kwh``, ``roof_irradiation_kwh_m2`` (the DSM's
        potential; with ``solar.apply_potential = false`` — the default when the scenario maps PV
        attributes, ``buildings.columns.pv_kwp`` / ``pv_kwh`` — they go to ``pv_potential_*``
        columns and the attribute values stay), the solar thermal / PVT columns and the flags.
    result : :class:`pedgis.solar.rooftop.RooftopResult`
    notes : list of str
    """
    from ..io.solar_rasters import open_grid

    if weather is None:
        raise ConfigError(
            "rooftop PV from [rasters] needs an hourly weather year: add `path = \"...epw\"` to "
            "[weather].", key="weather.path")
    params, apply = setup.params, setup.apply_potential
    model = None
    if setup.city_model is not None:
        from ..io.citymodel import read_city_model

        model = read_city_model(setup.city_model, crs=setup.city_model_crs)
    grids = []
    try:
        dsm = open_grid(setup.dsm, "DSM") if setup.dsm is not None else None
        grids.append(dsm)
        dtm = open_grid(setup.dtm, "DTM") if setup.dtm is not None and (dsm is not None or model is not None) else None
        grids.append(dtm)
        irr = open_grid(setup.irradiation, "irradiation raster") if setup.irradiation is not None else None
        grids.append(irr)
        ids = buildings["building_id"].astype(str)
        parts = buildings[["building_id", "geometry"]].assign(building_id=ids.to_numpy())
        if ids.duplicated().any():  # parts of one building: computed on their union
            parts = parts.dissolve("building_id", as_index=False)
        res = _rooftop_solar_memo(parts, dsm, weather, params, dtm=dtm, irradiation=irr, progress=progress,
                                  model=model, grid_folder=grid_folder)
    finally:
        for g in grids:
            if g is not None:
                g.source.close()
    out = buildings.copy()
    ids = out["building_id"].astype(str)
    table = res.buildings.reindex(ids.to_numpy()).reset_index(drop=True)
    notes = []
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        # split the extensive results of a multi-part building by footprint area
        area = out.geometry.area.to_numpy()
        total = pd.Series(area).groupby(ids.to_numpy()).transform("sum").to_numpy()
        share = np.where(total > 0, area / total, 0.0)
        ext = [c for c in table.columns if c.endswith(("_m2", "_kwp", "_kwh")) or c.startswith("pv_kwh_m")]
        ext = [c for c in ext if c != "roof_irradiation_kwh_m2"]
        table.loc[dup, ext] = table.loc[dup, ext].to_numpy() * share[dup, None]
        table.loc[dup, "solar_flags"] = [
            "; ".join(x for x in (f, "rooftop solar computed on all parts of this building, split by footprint area") if x)
            for f in table.loc[dup, "solar_flags"].fillna("")]
    if apply:
        for c in MERGED:
            if c in out.columns and c in ("pv_kwp", "pv_kwh"):
                given = pd.to_numeric(out[c], errors="coerce")
                if np.isfinite(given).any() and (given.fillna(0) > 0).any():
                    out[f"{c}_existing"] = given.to_numpy()
                    notes.append(f"buildings: attribute {c} kept as {c}_existing; {c} is the DSM's rooftop potential "
                                 "(set solar.apply_potential = false to keep the attribute values)")
            out[c] = table[c].to_numpy()
        # NaN: no estimate (outside the DSM, nodata), which step 4 must not read as "no PV" (0)
        out["pv_no_estimate"] = ~np.isfinite(table["pv_kwh"].to_numpy(dtype=float))
    else:
        for c in MERGED:
            out[c.replace("pv_", "pv_potential_") if c.startswith("pv_") else c] = table[c].to_numpy()
        notes.append("rooftop PV potential from the DSM reported in pv_potential_area_m2, pv_potential_kwp, "
                     "pv_potential_kwh; the balance uses the PV attributes (set solar.apply_potential = true "
                     "to use the potential)")
    for c in EXTRA:
        out[c] = table[c].to_numpy()
    fl = table["solar_flags"].fillna("").to_numpy()
    old = out["flags"].astype(str).to_numpy() if "flags" in out else np.array([""] * len(out))
    out["flags"] = ["; ".join(x for x in (str(o), str(f)) if x) for o, f in zip(old, fl, strict=True)]
    return out, res, notes
