"""The parts of the one input checker (:func:`pedgis.pipeline.check_inputs`) that need no engine.

:class:`InputCheck` is what the checker returns: every problem found in one pass (severity
``error``, ``warning`` or ``note``, each naming its file, column or key path and the fix), and
what it read and resolved on the way (scenario, weather, engine model, step-1 result) so that
``pedgis run`` goes on from there instead of reading the inputs again. ``pedgis validate``
prints the same problems.

Here too: warnings raised while checking, collected as problems (:func:`collecting`); the
weather station's distance from the district; building ids the scenario names that are not in
the buildings file; raster pixels outside their physical range.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .errors import (
    ConfigError,
    DataQualityWarning,
    InputDataError,
    PedgisWarning,
    library_warning_text,
    recorded_warnings,
)
from .io.step1_inputs import Problem

#: Beyond this distance [km] between the weather file's station and the district, a warning:
#: coast, altitude and relief change degree days and irradiation within a few tens of km (the
#: issue's threshold; PVGIS gives a TMY for any site, so the site's own weather is at hand).
WEATHER_WARN_KM = 50.0
#: Beyond this distance [km], or on the other side of the equator, the weather is refused unless
#: ``[weather] far_from_site = true``: 1,000 km north or south moves the noon sun by 9° and
#: changes the annual irradiation and the degree days by tens of percent; another hemisphere
#: swaps the seasons.
WEATHER_REFUSE_KM = 1000.0


@dataclass
class InputCheck:
    """Every problem of a scenario and its inputs, and what the checker read and resolved."""

    problems: list[Problem] = field(default_factory=list)
    scenario: Any = None  # pedgis.config.Scenario, None when the scenario file itself is unusable
    weather: Any = None  # pedgis.io.weather.Weather
    model: Any = None  # pedgis.engine_model.EngineModel
    timeseries: Any = None  # pedgis.timeseries.integrate.Options: the time-resolved sections, parsed once
    step1: Any = None  # pedgis.boundaries.Step1Result
    buildings_source: Any = None  # [buildings] path: a file or a PostGIS source (for messages)
    rooftop: Any = None  # pedgis.solar.scenario.RooftopSetup: the roofs' solar model, None without one
    run_notes: list[str] = field(default_factory=list)  # notes for district.json (time-resolved keys filled in)
    postgis: Any = None  # pedgis.io.postgis.Target: where the results' tables go, checked
    where: str = "scenario"  # the scenario file, for messages

    def _of(self, severity: str) -> list[Problem]:
        return [p for p in self.problems if p.severity == severity]

    @property
    def errors(self) -> list[Problem]:
        """Problems that stop a run."""
        return self._of("error")

    @property
    def warnings(self) -> list[Problem]:
        """Findings a user must know that do not stop a run."""
        return self._of("warning")

    @property
    def notes(self) -> list[Problem]:
        """Data-quality findings a run repairs and flags per building."""
        return self._of("note")

    def error(self, where: str, exc_or_message) -> None:
        """Add an error (a :class:`ConfigError` keeps its class, for :meth:`raise_errors`)."""
        cls = ConfigError if isinstance(exc_or_message, ConfigError) else InputDataError
        message = str(exc_or_message).strip()
        if not any(p.message == message for p in self.problems):
            self.problems.append(Problem("error", where, message, cls))

    def raise_errors(self) -> None:
        """Raise the errors as one :class:`InputDataError` (a :class:`ConfigError` when they all
        come from the scenario file) listing each; ``.problems`` holds their messages."""
        errs = self.errors
        if not errs:
            return
        if len(errs) == 1:
            text = errs[0].message
        else:
            text = f"{self.where}: {len(errs)} problems:\n" + "\n".join(f"  - {p.message}" for p in errs)
        config = all(p.category is ConfigError for p in errs)
        exc = ConfigError(text) if config else InputDataError(text)
        exc.problems = [p.message for p in errs]
        if config:
            exc.key = errs[0].where
        raise exc

    def emit_warnings(self, stacklevel: int = 3) -> None:
        """Issue the warnings again (``pedgis run`` shows them as it goes on from the check)."""
        for p in self.warnings:
            cat = p.category if isinstance(p.category, type) and issubclass(p.category, Warning) else DataQualityWarning
            warnings.warn(p.message, cat, stacklevel=stacklevel)


#: Where a user gets a typical meteorological year for any site (EPW, CSV or JSON).
PVGIS_TOOL = "https://re.jrc.ec.europa.eu/pvg_tools/ (Typical Meteorological Year)"


@contextmanager
def collecting(check: InputCheck, where: str):
    """Warnings raised inside the block become the check's warnings (a library's own, such as
    pyogrio's or numpy's, named after ``where``, the file being checked)."""
    with recorded_warnings() as caught:
        yield
    seen = {p.message for p in check.problems}
    for w in caught:
        own = issubclass(w.category, PedgisWarning)
        text = str(w.message) if own else library_warning_text(w.message, w.category, w.filename, where)
        if text not in seen:
            seen.add(text)
            check.problems.append(Problem("warning", where, text, w.category if own else DataQualityWarning))


def district_lonlat(gdf) -> tuple[float, float] | None:
    """Longitude and latitude [° WGS84] of the district's centroid (the footprints' centroids
    weighted by their areas), or None without a CRS or a footprint."""
    import numpy as np
    import shapely
    from pyproj import Transformer

    g = np.asarray(gdf.geometry.values, dtype=object)
    g = g[~(shapely.is_missing(g) | shapely.is_empty(g))]
    if gdf.crs is None or not len(g):
        return None
    c, w = shapely.centroid(g), shapely.area(g)
    w = w if w.sum() > 0 else np.ones(len(g))  # points or lines only: their plain mean
    x, y = np.average(shapely.get_x(c), weights=w), np.average(shapely.get_y(c), weights=w)
    lon, lat = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True).transform(x, y)
    return (float(lon), float(lat)) if np.isfinite(lon) and np.isfinite(lat) else None


def weather_site_problem(weather, lonlat: tuple[float, float], intended: bool = False) -> Problem | None:
    """A warning (beyond :data:`WEATHER_WARN_KM`) or an error (beyond :data:`WEATHER_REFUSE_KM`,
    or across the equator, unless ``intended``) when the weather station is far from the
    district. The distance is geodesic on the WGS84 ellipsoid (``pyproj.Geod``)."""
    from pyproj import Geod

    lon, lat = lonlat
    km = Geod(ellps="WGS84").inv(lon, lat, weather.longitude, weather.latitude)[2] / 1000.0
    if km <= WEATHER_WARN_KM:
        return None
    hemisphere = lat * weather.latitude < 0  # only beyond the warning distance: not at the equator
    where = f"{weather.source}: the weather station ({weather.latitude:.3f}°, {weather.longitude:.3f}°) lies {km:,.0f} km " \
            f"from the district ({lat:.3f}°, {lon:.3f}°)" + (", in the other hemisphere" if hemisphere else "")
    if (km > WEATHER_REFUSE_KM or hemisphere) and not intended:
        return Problem("error", "weather.path", f"{where}: its sun, seasons and degree days are not the district's. "
                       f"Give the weather of the site (e.g. the PVGIS TMY at {lat:.3f}°, {lon:.3f}°, as EPW from {PVGIS_TOOL}), or, "
                       "if this is intended (a what-if with another climate), set `far_from_site = true` in [weather].")
    return Problem("warning", "weather.path", f"{where} (more than {WEATHER_WARN_KM:g} km): degree days and irradiation "
                   f"may differ from the district's; prefer a station nearer the district (or its PVGIS TMY: {PVGIS_TOOL}).",
                   DataQualityWarning)


def building_id_problems(doc: dict, gdf, columns, path) -> list[Problem]:
    """Building ids named in the scenario (systems.*.buildings, district_systems.*.members) and
    system names in the buildings' system column that the other side does not know."""
    from .io.presets import id_labels
    from .uses import system_column_problem

    out: list[Problem] = []
    cols = columns.columns if columns is not None else {}
    idcol = cols.get("building_id")
    if idcol in gdf.columns:
        ids = set(id_labels(gdf[idcol]))
        for section, key in (("systems", "buildings"), ("district_systems", "members")):
            for name, s in (doc.get(section) or {}).items():
                missing = [str(i) for i in (s.get(key) or []) if str(i) not in ids]
                if missing:
                    out.append(Problem("error", f"{section}.{name}.{key}", (
                        f"{section}.{name}.{key}: id(s) {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''} "
                        f"not in column '{idcol}' of {path}; fix the ids."), ConfigError))
    syscol = cols.get("system")
    if syscol in gdf.columns:
        problem = system_column_problem(gdf[syscol], (doc.get("systems") or {}).keys())
        if problem:
            out.append(Problem("error", "buildings.columns.system", f"{problem[:-1]} (column '{syscol}' of {path})."))
    return out


def raster_range_problems(doc: dict) -> list[Problem]:
    """Warnings for DSM/DTM/nDSM pixels outside the physical range (taken as nodata)."""
    from .io.raster import physical_range_problems

    out = []
    for key, kind in (("dsm", "elevation"), ("dtm", "elevation"), ("ndsm", "height")):
        path = (doc.get("rasters") or {}).get(key)
        if path is None:
            continue
        try:
            out += [Problem("warning", f"rasters.{key}", m, DataQualityWarning)
                    for m in physical_range_problems(path, f"rasters.{key}", kind)]
        except InputDataError as exc:  # a damaged file: its pixels cannot all be read
            out.append(Problem("error", f"rasters.{key}", f"rasters.{key}: {exc}"))
    return out


def roof_coverage_problem(buildings, dsm_path) -> Problem | None:
    """A warning when included buildings lie outside the DSM the roof model reads: they get no
    rooftop PV estimate (NaN, counted as no PV), or an estimate for the covered part only."""
    import shapely

    from .io.raster import RasterSource

    try:
        with RasterSource.open(dsm_path) as r:
            extent, crs = shapely.box(*r.bounds), r.crs
    except InputDataError:
        return None  # reported with the rasters
    b = buildings[buildings["included"].astype(bool) & buildings.geometry.notna()]
    if not len(b) or crs is None or b.crs is None or not crs.equals(b.crs):
        return None
    geoms = b.geometry.to_numpy()
    outside = int((~shapely.intersects(geoms, extent)).sum())
    partly = int((shapely.intersects(geoms, extent) & ~shapely.within(geoms, extent)).sum())
    if not outside and not partly:
        return None
    return Problem("warning", "rasters.dsm", (
        f"rasters.dsm: {dsm_path} covers {len(b) - outside - partly} of the {len(b)} included buildings; "
        + (f"{outside} lie outside it and get no rooftop PV estimate (pv_kwh empty, no PV counted)" if outside else "")
        + ("; " if outside and partly else "")
        + (f"{partly} lie partly outside it (PV of the covered part only)" if partly else "")
        + ". Give a DSM that covers the district to estimate every roof."), DataQualityWarning)
