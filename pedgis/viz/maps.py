"""The web map (``map.html``): buildings coloured by an indicator, roofs, irradiation, verdict.

The page is built with folium and opens offline: Leaflet and jQuery are inlined
(:mod:`pedgis.viz.assets`), no tile layer is added unless the user asks for one
(``basemap="osm"``, with its attribution). Building data are embedded once as GeoJSON and every
indicator is a base layer drawn from the same data, so switching indicators in the layer
control costs no extra file size. Attribute values (cadastral user data) never become markup:
they travel as JSON with ``<``, ``>`` and ``&`` escaped and are put into the page with
``textContent``. They never reach folium either: branca compiles what its elements render as
a Jinja2 template again, so folium gets placeholders and the data, the title and our script go
in after it rendered the page (:class:`pedgis.escaping.PageSlots`).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pedgis import units
from pedgis.errors import CRSError, DataQualityWarning, InputDataError
from pedgis.escaping import PageSlots, assert_template_free, escape_html, script_json
from pedgis.viz import assets
from pedgis.viz.common import (
    EXCLUDED_COLOR,
    INFERNO,
    NODATA_COLOR,
    RDBU_DIVERGING,
    VIRIDIS,
    YLGNBU,
    YLORRD,
    class_labels,
    diverging_breaks,
    fmt_energy,
    fmt_number,
    natural_breaks,
    sequential_breaks,
)
from pedgis.viz.inputs import Raster, VizInputs, finite, load_inputs, result_raster

#: Above this many buildings the map draws on a canvas instead of one SVG path per building.
CANVAS_THRESHOLD = 5000
#: Above this many buildings (a city) the page draws aggregated cells at low zoom and, zoomed in,
#: the buildings of the view from tile files beside it (``map_tiles/``, plain scripts: they load
#: from ``file://`` offline). One self-contained page opened in 0.5 s with 10,000 buildings and
#: 3.3 s with 50,000 (headless Chromium, benchmarks/README.md).
CITY_THRESHOLD = 20000
#: Folder of the tile files (beside map.html).
TILE_DIR = "map_tiles"
#: From this zoom level on, the city page shows buildings instead of cells (≈ 2.4 m per pixel).
DETAIL_ZOOM = 16
#: Cell sides tried [m, Web Mercator], the first giving at most :data:`MAX_CELLS` cells is used.
CELL_SIZES_M = (100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
MAX_CELLS = 4000
#: Side of one tile file's square [m, Web Mercator].
TILE_SIZE_M = 500
#: Simplification tolerance for display [m] (in the projected CRS, before going to EPSG:4326).
SIMPLIFY_TOLERANCE_M = 0.25
#: Decimal places kept for longitude/latitude (1e-6 degree ≈ 0.1 m).
COORD_DECIMALS = 6
#: Longest text shown for one attribute value in a popup (longer values end with "…").
MAX_TEXT = 300
#: Largest side of the irradiation overlay image [px].
MAX_RASTER_PX = 1600

ROOF_LAYER = "Roof segments by irradiation [kWh/m²a]"
RASTER_LAYER = "Irradiation raster [kWh/m²a]"

BASEMAPS = {
    "osm": (
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        19,
    ),
}


@dataclass(frozen=True)
class Indicator:
    """One way of colouring the buildings.

    Attributes
    ----------
    key : str
        Name used on the command line (``--indicator``).
    label : str
        Name in the layer control and legend title.
    unit : str
        Unit shown in the legend and tooltip.
    kind : {"sequential", "diverging", "flags"}
        Colour scheme family.
    colors : list of str
        Class colours.
    """

    key: str
    label: str
    unit: str
    kind: str
    colors: list = field(default_factory=list)


INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in [
        Indicator("ped_balance_kwh", "PED balance PEI − PEE (red imports, blue exports)",
                  "kWh/a", "diverging", RDBU_DIVERGING),
        Indicator("needs_kwh", "Energy needs", "kWh/a", "sequential", YLORRD),
        Indicator("needs_kwh_m2", "Energy needs per floor area", "kWh/m²a", "sequential", YLORRD),
        Indicator("pv_kwh", "Rooftop PV potential", "kWh/a", "sequential", YLGNBU),
        Indicator("pv_kwh_m2", "Rooftop PV per m² of roof", "kWh/m²a", "sequential", YLGNBU),
        Indicator("roof_irradiation_kwh_m2", "Roof irradiation", "kWh/m²a", "sequential", INFERNO),
        Indicator("floor_area_m2", "Floor area", "m²", "sequential", YLGNBU),
        Indicator("flags", "Data-quality flags", "flags", "flags",
                  ["#1a9850", "#fee08b", "#fc8d59", "#d73027"]),
    ]
}

#: Fraction → percent, for display of the time-resolved shares (self-sufficiency, -consumption).
PERCENT = 100.0

#: Time-resolved indicators (issue 7), offered when ``buildings.gpkg`` has their column
#: (``[scenario] timestep`` monthly/hourly, or a weather year; docs/outputs.md).
TS_INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in [
        Indicator("self_sufficiency", "Self-sufficiency, hourly (own load covered on site)", "%", "sequential", YLGNBU),
        Indicator("self_consumption", "Self-consumption, hourly (own PV used on site)", "%", "sequential", YLGNBU),
        Indicator("peak_import_kw", "Peak grid import", "kW", "sequential",
                  YLORRD),
        Indicator("ped_balance_monthly_kwh", "PED balance, monthly netting (DB-HE)", "kWh/a", "diverging", RDBU_DIVERGING),
        Indicator("ped_balance_hourly_kwh", "PED balance, hourly netting", "kWh/a", "diverging", RDBU_DIVERGING),
        Indicator("ped_balance_annual_kwh", "PED balance of the hourly model, annual netting", "kWh/a", "diverging", RDBU_DIVERGING),
    ]
}
#: Time-resolved numbers shown in popups when their column exists: (key, label, unit).
_TS_NUMBERS = [
    ("self_sufficiency", "Self-sufficiency (hourly)", "%"),
    ("self_consumption", "Self-consumption (hourly)", "%"),
    ("peak_import_kw", "Peak grid import", "kW"),
    ("peak_export_kw", "Peak grid export", "kW"),
    ("hours_net_export", "Hours with export", "h"),
    ("ped_balance_monthly_kwh", "PED balance, monthly netting", "kWh/a"),
    ("ped_balance_hourly_kwh", "PED balance, hourly netting", "kWh/a"),
    ("ped_balance_annual_kwh", "PED balance, hourly series netted per year", "kWh/a"),
    ("shared_in_kwh", "Received from neighbours", "kWh/a"),
    ("shared_out_kwh", "Given to neighbours", "kWh/a"),
]
_TS_PERCENT = {"self_sufficiency", "self_consumption"}


def all_indicators() -> dict[str, Indicator]:
    """Every indicator ``--indicator`` accepts: :data:`INDICATORS` and :data:`TS_INDICATORS`."""
    return {**INDICATORS, **TS_INDICATORS}


def available_indicators(buildings) -> dict[str, Indicator]:
    """The indicators a buildings layer can show, in layer-control order.

    The annual ones always (unknown values are "no data"); a time-resolved one only when
    its column is there. They go after the roof irradiation, before floor area and flags.
    """
    ts = {k: i for k, i in TS_INDICATORS.items() if k in buildings.columns}
    out: dict[str, Indicator] = {}
    for key, ind in INDICATORS.items():
        if key == "floor_area_m2":
            out.update(ts)
        out[key] = ind
    return out


def _number_specs(buildings) -> list[tuple[str, str, str]]:
    """The numbers carried per building: the annual ones, then the time-resolved present."""
    return _NUMBERS + [n for n in _TS_NUMBERS if n[0] in buildings.columns]


# numbers carried per building: (key, popup label, unit); indicator values come first
_NUMBERS = [
    ("ped_balance_kwh", "PED balance (PEI − PEE)", "kWh/a"),
    ("needs_kwh", "Energy needs", "kWh/a"),
    ("needs_kwh_m2", "Needs per floor area", "kWh/m²a"),
    ("pv_kwh", "Rooftop PV", "kWh/a"),
    ("pv_kwh_m2", "PV per m² roof", "kWh/m²a"),
    ("roof_irradiation_kwh_m2", "Roof irradiation", "kWh/m²a"),
    ("floor_area_m2", "Floor area", "m²"),
    ("flags", "Flags", ""),
    ("pei_kwh", "Primary energy imported (PEI)", "kWh/a"),
    ("pee_kwh", "Primary energy exported (PEE)", "kWh/a"),
    ("ten_sh_kwh", "Space heating need", "kWh/a"),
    ("ten_sc_kwh", "Space cooling need", "kWh/a"),
    ("ten_dhw_kwh", "Hot water need", "kWh/a"),
    ("een_kwh", "Electricity need", "kWh/a"),
    ("pv_kwp", "PV peak power", "kWp"),
    ("footprint_area_m2", "Footprint", "m²"),
    ("floors", "Floors", ""),
    ("height_m", "Height", "m"),
]
_POPUP_HIDE = {"flags"}  # flags are shown as text, not as a count


def _column(gdf, name: str) -> np.ndarray:
    if name in gdf.columns:
        return np.asarray(gdf[name].to_numpy(dtype="float64", na_value=np.nan))
    return np.full(len(gdf), np.nan)


def _text_column(gdf, name: str) -> list[str]:
    if name not in gdf.columns:
        return [""] * len(gdf)
    return ["" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v)
            for v in gdf[name].tolist()]


def _clip(text: str, n: int = MAX_TEXT) -> str:
    """``text`` cut to ``n`` characters, ending with "…" when it was longer."""
    return text if len(text) <= n else text[: n - 1] + "…"


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    out[ok] = num[ok] / den[ok]
    return out


def building_numbers(buildings) -> dict[str, np.ndarray]:
    """Per-building numbers the map shows, NaN where a value is unknown (never 0).

    ``needs_kwh`` = TEN_SH + TEN_SC + TEN_DHW + EEN (paper Eq. 1–5, the step-2 needs);
    ``needs_kwh_m2`` = needs / floor area; ``pv_kwh_m2`` = PV yield / footprint (roof) area;
    ``flags`` = number of data-quality notes. Time-resolved columns (``self_sufficiency``,
    ``peak_import_kw``, ``ped_balance_<timestep>_kwh``, …) are carried when present, the shares
    in percent.
    """
    missing = [c for c in ("ped_balance_kwh", "floor_area_m2", "pv_kwh") if c not in buildings]
    if missing:
        warnings.warn(
            f"buildings layer has no column(s) {', '.join(missing)}; the map shows them as "
            "'no data'. Fix: write the buildings layer with pedgis run (output contract).",
            DataQualityWarning,
            stacklevel=3,
        )
    out = {name: _column(buildings, name) for name, _, _ in _number_specs(buildings)
           if name != "flags"}
    for key in _TS_PERCENT & out.keys():
        out[key] = out[key] * PERCENT
    parts = np.vstack([out[c] for c in ("ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_kwh")])
    any_known = np.isfinite(parts).any(axis=0)
    needs = np.where(any_known, np.nansum(parts, axis=0), np.nan)
    out["needs_kwh"] = needs
    out["needs_kwh_m2"] = _safe_ratio(needs, out["floor_area_m2"])
    out["pv_kwh_m2"] = _safe_ratio(out["pv_kwh"], out["footprint_area_m2"])
    flags = _text_column(buildings, "flags")
    out["flags"] = np.array([len([f for f in s.split(";") if f.strip()]) for s in flags], float)
    return out


def _round_sig(values: np.ndarray, sig: int = 4) -> list:
    """Round to ``sig`` significant digits; whole numbers as int, NaN as None (JSON null)."""
    v = np.asarray(values, dtype="float64")
    out = np.full(v.shape, np.nan)
    ok = np.isfinite(v) & (v != 0)
    mag = np.floor(np.log10(np.abs(v[ok])))
    factor = 10.0 ** (sig - 1 - mag)
    out[ok] = np.round(v[ok] * factor) / factor
    out[np.isfinite(v) & (v == 0)] = 0.0
    obj = out.astype(object)
    whole = np.isfinite(out) & (out == np.round(out)) & (np.abs(out) < 1e15)
    obj[whole] = out[whole].astype(np.int64).astype(object)
    obj[~np.isfinite(out)] = None
    return obj.tolist()


def _to_wgs84(gdf, what: str):
    if gdf.crs is None:
        raise CRSError(
            f"{what}: the layer has no coordinate reference system, so it cannot be placed on "
            "the map. Fix: write the layer with its CRS (pedgis run does)."
        )
    return gdf.to_crs(4326)


def _display_geometries(gdf, what: str) -> np.ndarray:
    """Simplified (in metres, when projected) polygonal geometries in EPSG:4326.

    Non-polygonal parts (points, lines of a GeometryCollection) are dropped for display;
    a row without any polygon becomes None.
    """
    import shapely

    geoms = gdf.geometry
    if gdf.crs is not None and gdf.crs.is_projected:
        geoms = geoms.simplify(SIMPLIFY_TOLERANCE_M, preserve_topology=True)
    g = _to_wgs84(geoms.to_frame("geometry").set_geometry("geometry", crs=gdf.crs), what)
    arr = g.geometry.to_numpy().copy()
    for i, geom in enumerate(arr):
        if geom is None or geom.is_empty:
            arr[i] = None
        elif geom.geom_type not in ("Polygon", "MultiPolygon"):
            polys = [p for p in shapely.get_parts(geom)
                     if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
            arr[i] = shapely.union_all(polys) if polys else None
            if arr[i] is not None and arr[i].geom_type not in ("Polygon", "MultiPolygon"):
                arr[i] = None
    return arr


def encode_geometries(geoms: np.ndarray) -> tuple[list[int], list]:
    """Compact polygon encoding for the page: integer micro-degrees, delta-coded rings.

    Returns ``(origin, encoded)``: ``origin = [x0, y0]`` in 1e-6° and, per geometry, None or a
    list of polygons, each a list of rings, each a flat list ``[x, y, dx, dy, …]`` of
    integers: the first vertex relative to the origin, the others relative to the previous
    vertex; the closing vertex is left out (Leaflet closes rings). Coordinates are thereby
    rounded to 1e-6° (≈ 0.1 m). :func:`decode_geometry` is the inverse.
    """
    import shapely

    idx = [i for i, g in enumerate(geoms) if g is not None]
    out: list = [None] * len(geoms)
    if not idx:
        return [0, 0], out
    _, coords, offsets = shapely.to_ragged_array([geoms[i] for i in idx])
    if len(offsets) == 2:  # only Polygons: one polygon per geometry
        ring_off, poly_off = offsets
        geom_off = np.arange(len(poly_off))
    else:
        ring_off, poly_off, geom_off = offsets
    ints = np.round(coords * 10**COORD_DECIMALS).astype(np.int64)
    origin = ints.min(axis=0)
    rel = ints - origin
    delta = rel.copy()
    delta[1:] -= rel[:-1]
    starts = ring_off[:-1]
    delta[starts] = rel[starts]
    flat = delta.ravel().tolist()
    rings = [flat[2 * s: 2 * (e - 1)] for s, e in zip(ring_off[:-1], ring_off[1:], strict=True)]
    polys = [rings[a:b] for a, b in zip(poly_off[:-1], poly_off[1:], strict=True)]
    for k, (a, b) in enumerate(zip(geom_off[:-1], geom_off[1:], strict=True)):
        out[idx[k]] = polys[a:b]
    return [int(origin[0]), int(origin[1])], out


def decode_geometry(encoded, origin) -> dict | None:
    """GeoJSON geometry (lon/lat, rings closed) of one :func:`encode_geometries` entry."""
    if encoded is None:
        return None
    scale = 10.0 ** -COORD_DECIMALS
    polys = []
    for poly in encoded:
        rings = []
        for r in poly:
            x = y = 0
            ring = []
            for k in range(0, len(r), 2):
                x += r[k]
                y += r[k + 1]
                ring.append([(x + origin[0]) * scale, (y + origin[1]) * scale])
            rings.append(ring + ring[:1])
        polys.append(rings)
    if len(polys) == 1:
        return {"type": "Polygon", "coordinates": polys[0]}
    return {"type": "MultiPolygon", "coordinates": polys}


def _legend(ind: Indicator, values: np.ndarray) -> dict:
    if ind.kind == "flags":
        return {
            "breaks": [0.5, 1.5, 2.5],
            "colors": ind.colors,
            "labels": ["no flags", "1 flag", "2 flags", "3 or more flags"],
            "unit_label": "",
        }
    if ind.kind == "diverging":
        breaks, colors = diverging_breaks(values), ind.colors
    else:
        breaks, colors = natural_breaks(values, ind.colors)
    if not breaks:
        return {"breaks": [], "colors": [], "labels": [], "unit_label": ind.unit}
    # large energies read better in MWh (colours still follow the kWh values)
    shown, unit = breaks, ind.unit
    if ind.unit == "kWh/a" and max(abs(b) for b in breaks) >= 100 * units.KWH_PER_MWH:
        shown, unit = [units.kwh_to_mwh(b) for b in breaks], "MWh/a"
    labels = class_labels(shown, "")
    if ind.kind == "diverging":
        labels[0] += " (exporter)"
        labels[-1] += " (importer)"
    return {"breaks": breaks, "colors": colors, "labels": labels, "unit_label": unit}


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
NETTING_NAMES = {"annual": "annual netting", "monthly": "monthly netting (DB-HE 2019)",
                 "hourly": "hourly netting"}


def _count(x) -> str:
    return f"{int(x):,}".replace(",", "\u202f") if finite(x) is not None else "?"


def _share(v) -> str:
    f = finite(v)
    return "no data" if f is None else f"{fmt_number(PERCENT * f)} %"


def netting_verdict_text(ts: dict, period: str) -> str:
    """One period's verdict in words, e.g. "not positive; worst month Dec +1.35 GWh".

    Monthly netting (DB-HE 2019): positive only when no month imports more primary energy than
    it exports and the year's balance is negative (docs/timeseries.md).
    """
    n = (ts.get("netting") or {}).get(period) or {}
    word = "positive" if n.get("is_ped") else "not positive"
    bal = finite(n.get("ped_balance_kwh"))
    if period == "monthly":
        wm, wb = n.get("worst_month"), finite(n.get("worst_month_balance_kwh"))
        if wb is not None and isinstance(wm, int) and 1 <= wm <= 12:
            sign = "+" if wb > 0 else ""
            return f"{word}; worst {MONTHS[wm - 1]} {sign}{fmt_energy(wb, per='')}"
    if period == "hourly" and n.get("hours_positive") is not None:
        return f"{word}; {_count(n.get('hours_positive'))} h positive"
    if bal is None:
        return word
    return f"{word} ({'+' if bal > 0 else ''}{fmt_energy(bal)})"


def timeseries_summary(district: dict) -> dict | None:
    """Lines of the time-resolved block (``district.json → timeseries``) for the verdict box.

    None when the run has no such block.
    """
    ts = district.get("timeseries")
    if not isinstance(ts, dict) or not isinstance(ts.get("netting"), dict):
        return None
    step = str(ts.get("timestep") or "annual")
    labels = {"annual": "Annual netting", "monthly": "Monthly (DB-HE)", "hourly": "Hourly netting"}
    lines = [(labels[p], netting_verdict_text(ts, p))
             for p in ("annual", "monthly", "hourly") if p in ts["netting"]]
    e = ts.get("electricity") or {}
    if e:
        lines.append(("Self-sufficiency", _share(e.get("self_sufficiency"))))
        lines.append(("Self-consumption", _share(e.get("self_consumption"))))
        lines.append(("Peak import / export",
                      f"{fmt_number(finite(e.get('peak_import_kw')))} / "
                      f"{fmt_number(finite(e.get('peak_export_kw')))} kW"))
    return {"title": f"Through the year — verdict on {NETTING_NAMES.get(step, step)}",
            "lines": lines}


def summary_lines(district: dict) -> dict:
    """The verdict box: title and ``(label, value)`` lines from ``district.json``.

    With a time-resolved block whose ``timestep`` is monthly or hourly the verdict is that
    netting's (``timeseries.verdict``, docs/outputs.md); the annual numbers stay in the lines.
    ``ts`` holds :func:`timeseries_summary`.
    """
    bal = finite(district.get("ped_balance_kwh"))
    is_ped = district.get("is_ped")
    ts = district.get("timeseries") if isinstance(district.get("timeseries"), dict) else None
    step = str(ts.get("timestep") or "annual") if ts else "annual"
    verdict = (ts or {}).get("verdict") if step != "annual" else None
    if isinstance(verdict, dict):
        is_ped = verdict.get("is_ped")
        bal = finite(verdict.get("ped_balance_kwh"))
    if is_ped is None and bal is not None:
        is_ped = bal <= 0
    if is_ped:
        title = "Positive Energy District"
        detail = (f"exports {fmt_energy(-bal)} more primary energy than it imports"
                  if bal is not None else "")
    else:
        title = "Not (yet) a Positive Energy District"
        if bal is not None and bal <= 0:  # the year is negative but a month (hour) is not
            period = "hour" if step == "hourly" else "month"
            detail = (f"exports {fmt_energy(-bal)} more primary energy than it imports over "
                      f"the year, but not in every {period}")
        else:
            detail = (f"imports {fmt_energy(bal)} more primary energy than it exports"
                      if bal is not None else "")
    if isinstance(verdict, dict):
        detail = f"{NETTING_NAMES.get(step, step)}: {detail}"
    if district.get("verdict_note"):  # e.g. no included building: not positive whatever the balance
        detail = str(district["verdict_note"])
    lines = [
        ("PED balance PEI − PEE (Eq. 17)", fmt_energy(bal)),
        ("PEI, imported (Eq. 14)", fmt_energy(finite(district.get("pei_kwh")))),
        ("PEE, exported (Eq. 15)", fmt_energy(finite(district.get("pee_kwh")))),
    ]
    rer = finite(district.get("rer"))
    if rer is not None:
        lines.append(("Renewable energy ratio (Eq. 21)", f"{fmt_number(100 * rer)} %"))
    co2 = finite(district.get("co2eq_kg"))
    if co2 is not None:
        lines.append(("CO₂eq (Eq. 22)", f"{fmt_number(co2 / 1000.0)} t/a"))
    nb, ni = district.get("n_buildings"), district.get("n_included")
    if nb is not None:
        lines.append(("Buildings included", f"{_count(ni)} of {_count(nb)}"))
    return {"title": title, "detail": detail, "is_ped": bool(is_ped), "lines": lines,
            "ts": timeseries_summary(district)}


_SCRIPT = """
(function () {
  var map = %(map)s;
  var cfg = %(cfg)s;
  var raw = %(data)s;
  var roofRaw = %(roofs)s;
  var renderer = cfg.canvas ? L.canvas({padding: 0.5}) : L.svg({padding: 0.5});
  // the raster (values on roofs only) above the buildings' fill, under popups; not clickable
  map.createPane("pedgisRaster").style.zIndex = 450;
  function decode(g, o) {  // see pedgis.viz.maps.encode_geometries
    if (!g) { return null; }
    var polys = g.map(function (poly) {
      return poly.map(function (r) {
        var out = [], x = 0, y = 0;
        for (var i = 0; i < r.length; i += 2) {
          x += r[i]; y += r[i + 1];
          out.push([(x + o[0]) / 1e6, (y + o[1]) / 1e6]);
        }
        return out;
      });
    });
    return polys.length === 1 ? {type: "Polygon", coordinates: polys[0]}
                              : {type: "MultiPolygon", coordinates: polys};
  }
  var data = {type: "FeatureCollection", features: raw.features.map(function (f) {
    return {type: "Feature", geometry: decode(f[0], raw.origin), properties: f[1]};
  })};
  function colorOf(ind, v) {
    if (v === null || v === undefined) { return cfg.nodata; }
    var b = ind.breaks, i = 0;
    if (!b.length) { return cfg.nodata; }
    while (i < b.length && v >= b[i]) { i++; }
    return ind.colors[i];
  }
  function fmt(v, unit) {
    if (v === null || v === undefined) { return "no data"; }
    var a = Math.abs(v), s;
    if (unit === "kWh/a" && a >= 1e6) { s = (v / 1e6).toPrecision(3) + " GWh/a"; }
    else if (unit === "kWh/a" && a >= 1e4) { s = (v / 1e3).toPrecision(3) + " MWh/a"; }
    else {
      s = (a >= 1000 ? Math.round(v).toLocaleString("en").replace(/,/g, "\\u202f")
                     : String(+v.toPrecision(3))) + (unit ? " " + unit : "");
    }
    return s;
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function popup(layer) {
    var p = layer.feature.properties, box = el("div", undefined, "pedgis-popup");
    box.appendChild(el("div", p.i, "pedgis-title"));
    if (p.n) { box.appendChild(el("div", p.n, "pedgis-sub")); }
    var t = el("table");
    function row(k, v) {
      var tr = el("tr"); tr.appendChild(el("th", k)); tr.appendChild(el("td", v)); t.appendChild(tr);
    }
    row("Use", p.u || "no data");
    row("Included", p.x ? "yes" : "no — " + (p.r || "no reason given"));
    cfg.numbers.forEach(function (n, k) {
      if (n.hide) { return; }
      row(n.label, fmt(p.v[k], n.unit));
    });
    row("Flags", p.f || "none");
    box.appendChild(t);
    return box;
  }
  var current = cfg.initial;
  function keyIndex(key) {
    return cfg.numbers.findIndex(function (n) { return n.key === key; });
  }
  // position of each indicator's value in a building's numbers, found once (not per building)
  cfg.indicators.forEach(function (ind) { ind.vi = keyIndex(ind.key); });
  function tooltip(layer) {
    var ind = cfg.indicators[current], p = layer.feature.properties, box = el("div");
    box.appendChild(el("b", p.i));
    box.appendChild(el("br"));
    box.appendChild(document.createTextNode(
      ind.key === "flags" ? (p.f || "no flags") : fmt(p.v[ind.vi], ind.unit)));
    if (!p.x) { box.appendChild(el("br")); box.appendChild(el("i", "excluded: " + (p.r || "?"))); }
    return box;
  }
  function style(f) {
    var ind = cfg.indicators[current], p = f.properties, excluded = !p.x;
    return {
      className: "pedgis-building",
      color: excluded ? "#777" : "#444", weight: 0.6, opacity: 0.9,
      dashArray: excluded ? "3 3" : null,
      fillColor: excluded ? cfg.excluded : colorOf(ind, p.v[ind.vi]),
      fillOpacity: excluded ? 0.5 : 0.85
    };
  }
  // one layer of buildings; the indicator "base layers" only restyle it
  var buildings = L.geoJSON(data, {renderer: renderer, style: style});
  buildings.bindPopup(popup, {maxWidth: 360});
  buildings.bindTooltip(tooltip, {sticky: true});
  buildings.addTo(map);
  // legend of the active indicator
  var legend = L.control({position: "bottomright"});
  legend.onAdd = function () { this._div = L.DomUtil.create("div", "pedgis-box pedgis-legend"); return this._div; };
  legend.show = function (idx) {
    var ind = cfg.indicators[idx], d = this._div;
    d.textContent = "";
    d.appendChild(el("div", ind.label, "pedgis-title"));
    ind.labels.forEach(function (lab, i) {
      var r = el("div"), sw = el("span", undefined, "pedgis-swatch");
      sw.style.background = ind.colors[i]; r.appendChild(sw); r.appendChild(document.createTextNode(lab));
      d.appendChild(r);
    });
    [[cfg.nodata, "no data"], [cfg.excluded, "excluded from the district (dashed)"]].forEach(function (x) {
      var r = el("div"), sw = el("span", undefined, "pedgis-swatch");
      sw.style.background = x[0]; r.appendChild(sw); r.appendChild(document.createTextNode(x[1]));
      d.appendChild(r);
    });
  };
  legend.addTo(map);
  function setIndicator(idx) {
    current = idx;
    buildings.setStyle(style);
    legend.show(idx);
  }
  window.pedgisIndicatorLayer = function (idx) {
    var g = L.layerGroup();
    g.pedgisIndicator = idx;
    g.on("add", function () { setIndicator(idx); });
    return g;
  };
  // roof segments: built when the overlay is first switched on
  window.pedgisRoofLayer = function () {
    var g = L.layerGroup(), built = false;
    g.on("add", function () {
      if (built || !roofRaw) { return; }
      built = true;
      var fc = {type: "FeatureCollection", features: roofRaw.features.map(function (f) {
        return {type: "Feature", geometry: decode(f[0], roofRaw.origin), properties: {v: f[1]}};
      })};
      var ind = {breaks: roofRaw.breaks, colors: roofRaw.colors};
      var lyr = L.geoJSON(fc, {renderer: renderer, style: function (f) {
        return {className: "pedgis-roof", color: "#333", weight: 0.3,
                fillColor: colorOf(ind, f.properties.v), fillOpacity: 0.9};
      }});
      lyr.bindTooltip(function (l) { return fmt(l.feature.properties.v, "kWh/m²a"); }, {sticky: true});
      g.addLayer(lyr);
    });
    return g;
  };
  // legends of the overlays that are switched on (roof segments, irradiation raster)
  var overlayLegend = L.control({position: "bottomright"});
  var activeOverlays = [];
  overlayLegend.onAdd = function () {
    this._div = L.DomUtil.create("div", "pedgis-box pedgis-legend pedgis-overlay-legend");
    this._div.style.display = "none";
    return this._div;
  };
  overlayLegend.refresh = function () {
    var d = this._div;
    d.textContent = "";
    d.style.display = activeOverlays.length ? "" : "none";
    activeOverlays.forEach(function (name) {
      var leg = cfg.overlays[name];
      d.appendChild(el("div", name, "pedgis-title"));
      leg.labels.forEach(function (lab, i) {
        var r = el("div"), sw = el("span", undefined, "pedgis-swatch");
        sw.style.background = leg.colors[i]; r.appendChild(sw);
        r.appendChild(document.createTextNode(lab)); d.appendChild(r);
      });
    });
  };
  overlayLegend.addTo(map);
  map.on("overlayadd", function (e) {
    if (cfg.overlays[e.name] && activeOverlays.indexOf(e.name) < 0) {
      activeOverlays.push(e.name); overlayLegend.refresh();
    }
  });
  map.on("overlayremove", function (e) {
    var k = activeOverlays.indexOf(e.name);
    if (k >= 0) { activeOverlays.splice(k, 1); overlayLegend.refresh(); }
  });
  // verdict box
  var SUMMARY_OPEN_MIN_PX = 700;
  var summary = L.control({position: "bottomleft"});
  summary.onAdd = function () {
    var d = L.DomUtil.create("div", "pedgis-box pedgis-summary " + (cfg.summary.is_ped ? "pedgis-yes" : "pedgis-no"));
    var head = el("div", undefined, "pedgis-verdict-row");
    head.appendChild(el("span", cfg.summary.title, "pedgis-verdict"));
    var toggle = el("button", "details", "pedgis-toggle");
    toggle.type = "button";
    head.appendChild(toggle);
    d.appendChild(head);
    var body = el("div", undefined, "pedgis-summary-body"), panel = d;
    d.appendChild(body);
    toggle.onclick = function () {
      var open = panel.classList.toggle("pedgis-open");
      toggle.textContent = open ? "hide" : "details";
    };
    // open where there is room; on a small map (the report's) a line, not a panel over the district
    if (map.getSize().y >= SUMMARY_OPEN_MIN_PX) { panel.classList.add("pedgis-open"); toggle.textContent = "hide"; }
    d = body;
    if (cfg.summary.detail) { d.appendChild(el("div", cfg.summary.detail, "pedgis-sub")); }
    var t = el("table");
    cfg.summary.lines.forEach(function (l) {
      var tr = el("tr"); tr.appendChild(el("th", l[0])); tr.appendChild(el("td", l[1])); t.appendChild(tr);
    });
    d.appendChild(t);
    if (cfg.summary.ts) {  // time-resolved block (issue 7)
      d.appendChild(el("div", cfg.summary.ts.title, "pedgis-title pedgis-ts-title"));
      var t2 = el("table", undefined, "pedgis-ts");
      cfg.summary.ts.lines.forEach(function (l) {
        var tr = el("tr"); tr.appendChild(el("th", l[0])); tr.appendChild(el("td", l[1])); t2.appendChild(tr);
      });
      d.appendChild(t2);
    }
    L.DomEvent.disableClickPropagation(panel);
    return panel;
  };
  summary.addTo(map);
  // the district in the part of the map no box covers: the title above, the legend on the right,
  // the verdict line below
  // called by the page's last script, when the legend, layers and verdict are in place
  window.pedgisFit = function (bounds) {
    map.options.zoomSnap = 0.25;  // quarter zoom steps: the district fills the free part of the map
    var box = function (sel) { var e = document.querySelector(sel); return e ? e.getBoundingClientRect() : null; };
    var titleBox = box(".pedgis-map-title"), legendBox = box(".pedgis-legend:not(.pedgis-overlay-legend)"), summaryBox = box(".pedgis-summary");
    var top = titleBox ? titleBox.bottom - map.getContainer().getBoundingClientRect().top + 10 : 20;
    // no animation: a zoom animation still running would swallow the user's (or a test's) first move
    map.fitBounds(bounds, {animate: false, paddingTopLeft: [20, top],
                           paddingBottomRight: [(legendBox ? legendBox.width : 0) + 30,
                                                (summaryBox ? summaryBox.height : 0) + 30]});
  };
  window.pedgisMapInfo = {nBuildings: data.features.length, canvas: cfg.canvas, map: map,
                          buildings: buildings};
%(city)s})();
"""

# A city (more than CITY_THRESHOLD buildings): cells coloured by the indicator at low zoom; from
# cfg.city.detail_zoom on, the buildings of the view, loaded once per tile from map_tiles/*.js
# (each file calls pedgisTile(name, data) with data encoded like `raw`). Runs inside _SCRIPT.
_CITY_SCRIPT = """
  var city = cfg.city, cellLayer = L.layerGroup(), loaded = {}, nLoaded = 0;
  city.cells.forEach(function (c) {  // [[w, s, e, n], buildings, [value per indicator]]
    var r = L.rectangle([[c[0][1], c[0][0]], [c[0][3], c[0][2]]],
                        {renderer: renderer, className: "pedgis-cell", color: "#666", weight: 0.3,
                         fillOpacity: 0.85});
    r.pedgisCell = c;
    r.bindTooltip(function () {
      var ci = city.indicators[current], box = el("div");
      box.appendChild(el("b", c[1] + (c[1] === 1 ? " building" : " buildings")));
      box.appendChild(el("br"));
      box.appendChild(document.createTextNode(
        (ci.how === "sum" ? "total " : "mean ") + fmt(c[2][current], ci.unit)));
      box.appendChild(el("br"));
      box.appendChild(el("i", "zoom in to see the buildings"));
      return box;
    }, {sticky: true});
    cellLayer.addLayer(r);
  });
  function detail() { return map.getZoom() >= city.detail_zoom; }
  function styleCells() {
    var ci = city.indicators[current];
    cellLayer.eachLayer(function (r) { r.setStyle({fillColor: colorOf(ci, r.pedgisCell[2][current])}); });
  }
  window.pedgisTile = function (name, t) {
    buildings.addData({type: "FeatureCollection", features: t.features.map(function (f) {
      return {type: "Feature", geometry: decode(f[0], t.origin), properties: f[1]};
    })});
    nLoaded += t.features.length;
  };
  var buildingLegend = legend.show;
  legend.show = function (idx) {
    if (detail()) { buildingLegend.call(legend, idx); return; }
    var ci = city.indicators[idx], d = this._div;
    d.textContent = "";
    d.appendChild(el("div", ci.label, "pedgis-title"));
    d.appendChild(el("div", ci.note, "pedgis-sub"));
    ci.labels.forEach(function (lab, i) {
      var r = el("div"), sw = el("span", undefined, "pedgis-swatch");
      sw.style.background = ci.colors[i]; r.appendChild(sw); r.appendChild(document.createTextNode(lab));
      d.appendChild(r);
    });
  };
  function refresh() {
    if (detail()) {
      if (map.hasLayer(cellLayer)) { map.removeLayer(cellLayer); }
      if (!map.hasLayer(buildings)) { buildings.addTo(map); }
      var view = map.getBounds().pad(0.2);
      city.tiles.forEach(function (t) {  // [file name, [s, w, n, e]]
        if (loaded[t[0]] || !view.intersects([[t[1][0], t[1][1]], [t[1][2], t[1][3]]])) { return; }
        loaded[t[0]] = true;
        var s = document.createElement("script");
        s.src = city.dir + "/" + t[0] + ".js";
        document.head.appendChild(s);
      });
    } else {
      if (map.hasLayer(buildings)) { map.removeLayer(buildings); }
      if (!map.hasLayer(cellLayer)) { cellLayer.addTo(map); }
    }
    legend.show(current);
  }
  setIndicator = function (idx) {
    current = idx;
    buildings.setStyle(style);
    styleCells();
    legend.show(idx);
  };
  styleCells();
  map.on("zoomend moveend", refresh);
  refresh();
  window.pedgisMapInfo.nBuildings = city.n;
  window.pedgisMapInfo.city = {cells: city.cells.length, tiles: city.tiles.length, cellLayer: cellLayer,
                               loaded: function () { return nLoaded; }, detailZoom: city.detail_zoom};
"""

_CSS = """
<style>
body, body .leaflet-container { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
body .leaflet-container { background: #f4f4f1; font-size: 12px; }
.leaflet-control-layers { font-size: 12px; line-height: 1.3; }
.leaflet-control-layers-expanded { padding: 6px 8px; }
.pedgis-box { background: rgba(255,255,255,0.94); padding: 8px 10px; border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); font-size: 12px; line-height: 1.35; max-width: 330px; }
.pedgis-title { font-weight: 600; margin-bottom: 4px; overflow-wrap: anywhere; }
.pedgis-sub { color: #555; margin-bottom: 4px; overflow-wrap: anywhere; }
.pedgis-swatch { display: inline-block; width: 14px; height: 11px; margin-right: 6px;
  border: 1px solid #777; vertical-align: -1px; }
.pedgis-ts-title { margin: 6px 0 2px; padding-top: 5px; border-top: 1px solid #ccc; }
.pedgis-box table.pedgis-ts td { text-align: left; }
.pedgis-verdict { font-size: 15px; font-weight: 700; margin-bottom: 2px; }
.pedgis-verdict-row { display: flex; align-items: baseline; gap: 10px; justify-content: space-between; }
.pedgis-toggle { font: inherit; font-size: 11px; border: 1px solid #bbb; background: #fff; border-radius: 3px;
  padding: 0 6px; cursor: pointer; }
.pedgis-summary:not(.pedgis-open) .pedgis-summary-body { display: none; }
.pedgis-yes .pedgis-verdict { color: #1a6e2e; }
.pedgis-no .pedgis-verdict { color: #a1261d; }
.pedgis-box table, .pedgis-popup table { border-collapse: collapse; }
.pedgis-box th, .pedgis-popup th { text-align: left; font-weight: normal; color: #444; padding: 1px 8px 1px 0; }
.pedgis-box td, .pedgis-popup td { text-align: right; font-variant-numeric: tabular-nums; }
.pedgis-popup { max-width: 340px; overflow-wrap: anywhere; font-size: 12px; line-height: 1.25; }
.leaflet-popup-content { margin: 10px 14px; }
.pedgis-popup td { max-width: 200px; }
.pedgis-map-title { position: absolute; top: 10px; left: 54px; z-index: 1000; font-size: 14px;
  font-weight: 600; background: rgba(255,255,255,0.9); padding: 4px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-width: 60%; overflow-wrap: anywhere; }
</style>
"""


@dataclass(frozen=True)
class IrradiationOverlay:
    """The irradiation grid as the map draws it: a PNG (``data:`` URL) in Web Mercator, its
    bounds ``[[south, west], [north, east]]`` and its legend."""

    url: str
    bounds: list
    breaks: list
    labels: list


@dataclass(frozen=True)
class RoofLayers:
    """The map's two layers of the roof model, drawn ahead (:func:`roof_layers`): the irradiation
    grid and the roof segments (compact geometries and classes); None for one not drawn."""

    irradiation: IrradiationOverlay | None = None
    segments: dict | None = None


def roof_layers(irradiation: Any = None, roof_segments: Any = None) -> RoofLayers:
    """Draw the roof model's layers of the map: a result's ``irradiation`` (:func:`irradiation_overlay`)
    and ``roof_segments``. The page process does it as soon as the roof model is done, while the
    run computes steps 2-7 and the hourly balance (:func:`build_map_files` takes them as
    ``prepared``)."""
    roofs = _roof_data(roof_segments) if roof_segments is not None and len(roof_segments) else None
    return RoofLayers(None if irradiation is None else irradiation_overlay(irradiation), roofs)


def irradiation_overlay(irradiation: Any) -> IrradiationOverlay:
    """Draw a result's irradiation grid (whatever :func:`pedgis.viz.inputs.load_inputs` reads as
    ``irradiation``: a :class:`Raster`, ``(array, profile)``, the roof model's result)."""
    from folium.utilities import image_to_url

    raster = irradiation if isinstance(irradiation, Raster) else result_raster(irradiation)
    rgba, bounds, breaks, labels = _raster_overlay(raster)
    return IrradiationOverlay(image_to_url(rgba), bounds, breaks, labels)  # folium's own PNG encoding


def _raster_overlay(raster: Raster):
    """Reproject the irradiation grid to Web Mercator and colour it (nodata transparent).

    Returns ``(rgba uint8 array, [[south, west], [north, east]], breaks, labels)``.
    """
    import rasterio.warp
    from pyproj import Transformer
    from rasterio.crs import CRS

    src = np.asarray(raster.array, dtype="float64").copy()
    if raster.nodata is not None:
        src[src == raster.nodata] = np.nan
    h, w = src.shape
    src_crs = CRS.from_user_input(raster.crs)
    dst_crs = CRS.from_epsg(3857)
    left, bottom, right, top = _bounds(raster.transform, h, w)
    transform, width, height = rasterio.warp.calculate_default_transform(
        src_crs, dst_crs, w, h, left, bottom, right, top
    )
    scale = max(width, height) / MAX_RASTER_PX
    if scale > 1:
        transform, width, height = rasterio.warp.calculate_default_transform(
            src_crs, dst_crs, w, h, left, bottom, right, top,
            dst_width=int(width / scale), dst_height=int(height / scale),
        )
    dst = np.full((height, width), np.nan)
    rasterio.warp.reproject(
        src, dst, src_transform=raster.transform, src_crs=src_crs,
        dst_transform=transform, dst_crs=dst_crs, src_nodata=np.nan, dst_nodata=np.nan,
        resampling=rasterio.warp.Resampling.nearest,
    )
    finite_vals = dst[np.isfinite(dst)]
    breaks = sequential_breaks(finite_vals, len(VIRIDIS))
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    if breaks:
        idx = np.digitize(dst, breaks)
        palette = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in VIRIDIS], np.uint8)
        ok = np.isfinite(dst)
        rgba[ok, :3] = palette[idx[ok]]
        rgba[ok, 3] = 215
    dl, db, dr, dt = _bounds(transform, height, width)
    to_ll = Transformer.from_crs(dst_crs, 4326, always_xy=True)
    west, south = to_ll.transform(dl, db)
    east, north = to_ll.transform(dr, dt)
    return rgba, [[south, west], [north, east]], breaks, class_labels(breaks, "")


def _bounds(transform, height: int, width: int) -> tuple[float, float, float, float]:
    xs = [transform.c, transform.c + transform.a * width]
    ys = [transform.f, transform.f + transform.e * height]
    return min(xs), min(ys), max(xs), max(ys)


def _roof_data(roofs) -> dict:
    """Roof segments for the page: compact geometries and irradiation classes."""
    col = next((c for c in ("irradiation_kwh_m2", "roof_irradiation_kwh_m2") if c in roofs), None)
    if col is None:
        warnings.warn(
            "roof_segments layer has no column 'irradiation_kwh_m2'; the roof layer is drawn "
            "without colours. Fix: write roof segments with pedgis (step 4).",
            DataQualityWarning,
            stacklevel=3,
        )
    values = _column(roofs, col) if col else np.full(len(roofs), np.nan)
    breaks = sequential_breaks(values, len(VIRIDIS))
    origin, enc = encode_geometries(_display_geometries(roofs, "roof_segments"))
    feats = [[g, v] for g, v in zip(enc, _round_sig(values, 3), strict=True) if g is not None]
    return {"origin": origin, "features": feats, "breaks": breaks, "colors": VIRIDIS,
            "labels": class_labels(breaks, "")}


def _Raw(text: str):
    """A branca element that outputs ``text`` verbatim (not compiled as a template: fast).

    For our own constant text only (assets, CSS); user text goes through ``PageSlots``.
    """
    from branca.element import Element

    el = Element("{{ this.text }}")
    el.text = text
    return el


_JS_LAYER_CLASS: list = []


def _layer(js_factory: str, name: str, overlay: bool, show: bool):
    """A folium ``Layer`` whose Leaflet object is made by a JS factory call (for the control).

    The class (and its template) is made once per process: compiling a Jinja template per
    layer cost ~15 ms each.
    """
    if not _JS_LAYER_CLASS:
        from folium.map import Layer
        from jinja2 import Template

        class _JsLayer(Layer):
            _template = Template(
                "{% macro script(this, kwargs) %}"
                "var {{ this.get_name() }} = {{ this.factory }};"
                "{% endmacro %}"
            )

            def __init__(self, factory, name, overlay, show):
                super().__init__(name=name, overlay=overlay, control=True, show=show)
                self._name = "PedgisLayer"
                self.factory = factory

        _JS_LAYER_CLASS.append(_JsLayer)
    return _JS_LAYER_CLASS[0](assert_template_free(js_factory), assert_template_free(name),
                              overlay, show)


_INTENSIVE_UNITS = {"kWh/m²a", "%", "flags"}  # cells show the mean of these, the sum of the others


def _mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spherical Web Mercator [m] (EPSG:3857, what the page draws in)."""
    r = 6378137.0
    return r * np.radians(lon), r * np.log(np.tan(np.pi / 4 + np.radians(np.clip(lat, -85, 85)) / 2))


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = 6378137.0
    return np.degrees(x / r), np.degrees(2 * np.arctan(np.exp(y / r)) - np.pi / 2)


def _city_parts(geoms, features, numbers, included, order, available) -> tuple[dict, dict[str, str]]:
    """The city page's cells (``cfg.city``) and its tile files ({relative path: text}).

    Cells: squares in Web Mercator of the first side in :data:`CELL_SIZES_M` that gives at most
    :data:`MAX_CELLS` cells holding buildings; each carries its number of buildings and, per
    indicator, the sum (energies, areas, power) or the mean (intensities, shares, flags) over its
    included buildings. Tiles: the buildings whose centroid lies in a :data:`TILE_SIZE_M` square,
    encoded like the page's own data.
    """
    import shapely

    has = np.array([g is not None for g in geoms])
    cx = np.full(len(geoms), np.nan)
    cy = np.full(len(geoms), np.nan)
    if has.any():
        c = shapely.centroid(np.asarray([g for g in geoms if g is not None], dtype=object))
        cx[has], cy[has] = _mercator(shapely.get_x(c), shapely.get_y(c))
    drawn = np.flatnonzero(has)
    for size in CELL_SIZES_M:
        keys = np.stack([np.floor(cx[drawn] / size), np.floor(cy[drawn] / size)], axis=1).astype(np.int64)
        cells, inverse = np.unique(keys, axis=0, return_inverse=True)
        if len(cells) <= MAX_CELLS:
            break
    inverse = inverse.ravel()
    count = np.bincount(inverse, minlength=len(cells))
    inc = np.asarray(included, bool)[drawn]
    values, ind_cfg = [], []
    for key in order:
        ind = available[key]
        v = numbers[key][drawn]
        ok = inc & np.isfinite(v)
        total = np.bincount(inverse[ok], weights=v[ok], minlength=len(cells))
        n_ok = np.bincount(inverse[ok], minlength=len(cells))
        how = "mean" if ind.unit in _INTENSIVE_UNITS else "sum"
        cell_v = np.where(n_ok > 0, total / np.maximum(n_ok, 1) if how == "mean" else total, np.nan)
        leg = _legend(ind if ind.kind != "flags" else Indicator(ind.key, ind.label, "flags per building",
                                                                "sequential", YLORRD), cell_v)
        values.append(_round_sig(cell_v))
        ind_cfg.append({"key": key, "unit": ind.unit, "how": how,
                        "label": f"{ind.label} [{leg['unit_label']}]" if leg["unit_label"] else ind.label,
                        "note": f"{'total' if how == 'sum' else 'mean'} of the included buildings in cells of "
                                f"{size:,} m; zoom in to see the buildings",
                        **{k: leg[k] for k in ("breaks", "colors", "labels")}})
    w, s_ = _lonlat(cells[:, 0] * float(size), cells[:, 1] * float(size))
    e, n = _lonlat((cells[:, 0] + 1) * float(size), (cells[:, 1] + 1) * float(size))
    rnd = lambda a: np.round(a, COORD_DECIMALS).tolist()  # noqa: E731
    w, s_, e, n = rnd(w), rnd(s_), rnd(e), rnd(n)
    cell_rows = [[[w[k], s_[k], e[k], n[k]], int(count[k]), [col[k] for col in values]] for k in range(len(cells))]
    # tile files: the buildings of each TILE_SIZE_M square
    tkeys = np.stack([np.floor(cx[drawn] / TILE_SIZE_M), np.floor(cy[drawn] / TILE_SIZE_M)], axis=1).astype(np.int64)
    tiles, tinv = np.unique(tkeys, axis=0, return_inverse=True)
    tinv = tinv.ravel()
    files, tile_rows = {}, []
    for t, (tx, ty) in enumerate(tiles):
        members = drawn[tinv == t]
        origin, enc = encode_geometries(np.asarray([geoms[i] for i in members], dtype=object))
        name = f"t{int(tx)}_{int(ty)}".replace("-", "m")
        data = {"origin": origin, "features": [[enc[k], features[i][1]] for k, i in enumerate(members)]}
        files[f"{TILE_DIR}/{name}.js"] = f'pedgisTile("{name}", {script_json(data)});\n'
        # the tile's extent: its buildings' bounds (a building may reach over the square's edge)
        b = shapely.total_bounds(np.asarray([geoms[i] for i in members], dtype=object))
        tile_rows.append([name, [round(float(b[1]), 6), round(float(b[0]), 6), round(float(b[3]), 6), round(float(b[2]), 6)]])
    city = {"n": int(len(geoms)), "cells": cell_rows, "indicators": ind_cfg, "tiles": tile_rows,
            "dir": TILE_DIR, "detail_zoom": DETAIL_ZOOM, "cell_size_m": int(size)}
    return city, files


def build_map(
    inputs: VizInputs | Any,
    indicator: str = "ped_balance_kwh",
    basemap: str | None = None,
    title: str | None = None,
) -> str:
    """Render ``map.html`` as a string (a city's page also needs its tile files:
    :func:`build_map_files`)."""
    return build_map_files(inputs, indicator, basemap, title)[0]


def build_map_files(
    inputs: VizInputs | Any,
    indicator: str = "ped_balance_kwh",
    basemap: str | None = None,
    title: str | None = None,
    city_threshold: int | None = None,
    prepared: RoofLayers | None = None,
) -> tuple[str, dict[str, str]]:
    """Render ``map.html`` as a string, and the files it loads beside it.

    Parameters
    ----------
    inputs : VizInputs or DistrictResult or path
        What to draw (see :func:`pedgis.viz.inputs.load_inputs`).
    indicator : str
        Indicator shown first (one of :data:`INDICATORS`); the others are one click away in
        the layer control.
    basemap : {None, "osm"}
        Add a tile layer (needs network when the page is opened). None: no tiles, the page is
        fully offline.
    title : str, optional
        Title shown on the map (escaped).
    city_threshold : int, optional
        Above this many buildings (default :data:`CITY_THRESHOLD`) the page draws cells at low
        zoom and loads the buildings of the view from tile files; the roof segments (thousands
        per km²) are then left to ``roof_segments.parquet`` / the GeoPackage.
    prepared : RoofLayers, optional
        ``inputs.irradiation`` and ``inputs.roof_segments`` already drawn (:func:`roof_layers`).

    Returns
    -------
    (str, dict)
        The HTML document, self-contained up to the threshold; and ``{relative path: text}`` of
        the tile files (empty below the threshold).

    Raises
    ------
    InputDataError
        Unknown indicator or basemap.
    CRSError
        A layer without CRS.
    """
    import folium
    from jinja2 import Template

    if indicator not in all_indicators():
        raise InputDataError(
            f"indicator '{indicator}' is unknown. Fix: choose one of "
            f"{', '.join(all_indicators())}."
        )
    if basemap is not None and basemap not in BASEMAPS:
        raise InputDataError(
            f"basemap '{basemap}' is unknown. Fix: choose one of {', '.join(BASEMAPS)} "
            "or leave it out for an offline map without tiles."
        )
    inputs = load_inputs(inputs)
    buildings = inputs.buildings
    if buildings is None or len(buildings) == 0:
        raise InputDataError(
            f"{inputs.source}: the buildings layer is empty; there is nothing to map. "
            "Fix: check the district boundary selects buildings."
        )

    available = available_indicators(buildings)
    if indicator not in available:
        raise InputDataError(
            f"{inputs.source}: indicator '{indicator}' needs the column '{indicator}' in the "
            "buildings layer, which this run did not write. Fix: set [scenario] timestep = "
            "\"monthly\" or \"hourly\" (or give a weather year) and run again, or choose one of "
            f"{', '.join(available)}."
        )
    specs = _number_specs(buildings)
    numbers = building_numbers(buildings)
    geoms = _display_geometries(buildings, "buildings")
    ids = _text_column(buildings, "building_id")
    names = _text_column(buildings, "name")
    uses = _text_column(buildings, "use")
    reasons = _text_column(buildings, "exclusion_reason")
    flags = _text_column(buildings, "flags")
    included = (buildings["included"].fillna(False).astype(bool).tolist()
                if "included" in buildings else [True] * len(buildings))
    rounded = {k: _round_sig(numbers[k]) for k, _, _ in specs}
    origin, encoded = encode_geometries(geoms)
    n_empty = sum(g is None for g in encoded)
    columns = [rounded[k] for k, _, _ in specs]
    features = []
    for row, enc in enumerate(encoded):
        props = {"i": _clip(ids[row]) if ids[row] else f"row {row + 1}",
                 "x": 1 if included[row] else 0,
                 "v": [c[row] for c in columns]}
        # empty texts are left out (the page reads a missing key as "")
        for key, text, n in (("n", names[row], MAX_TEXT), ("u", uses[row], MAX_TEXT),
                             ("r", reasons[row], MAX_TEXT), ("f", flags[row], 3 * MAX_TEXT)):
            if text:
                props[key] = _clip(text, n)
        features.append([enc, props])
    if n_empty:
        warnings.warn(
            f"{n_empty} building(s) have no geometry and cannot be drawn on the map; they are "
            "listed in buildings.gpkg and the report. Fix: repair the footprints.",
            DataQualityWarning,
            stacklevel=2,
        )
    inc = np.asarray(included, bool)
    indicators_cfg = []
    order = list(available)
    for key in order:
        ind = available[key]
        leg = _legend(ind, numbers[key][inc] if inc.any() else numbers[key])
        indicators_cfg.append({"key": key, "label": ind.label if ind.kind == "flags"
                               else f"{ind.label} [{leg['unit_label']}]", "unit": ind.unit,
                               **leg})
    is_city = len(buildings) > (CITY_THRESHOLD if city_threshold is None else city_threshold)
    files: dict[str, str] = {}
    cfg = {
        "canvas": len(buildings) > CANVAS_THRESHOLD,
        "nodata": NODATA_COLOR,
        "excluded": EXCLUDED_COLOR,
        "indicators": indicators_cfg,
        "numbers": [{"key": k, "label": lab, "unit": u, "hide": k in _POPUP_HIDE}
                    for k, lab, u in specs],
        "summary": summary_lines(inputs.district),
        "initial": order.index(indicator),
        "overlays": {},
    }
    if is_city:
        cfg["city"], files = _city_parts(geoms, features, numbers, included, order, available)
        features = []  # drawn from the tiles
    prepared = prepared or RoofLayers()
    roofs = None
    if inputs.roof_segments is not None and len(inputs.roof_segments) and not is_city:
        roofs = prepared.segments if prepared.segments is not None else _roof_data(inputs.roof_segments)
        cfg["overlays"][ROOF_LAYER] = {"labels": roofs["labels"],
                                       "colors": VIRIDIS[: len(roofs["labels"])]}
    raster = None
    if inputs.irradiation is not None:
        raster = prepared.irradiation or irradiation_overlay(inputs.irradiation)
        cfg["overlays"][RASTER_LAYER] = {"labels": raster.labels,
                                         "colors": VIRIDIS[: len(raster.labels)]}

    m = folium.Map(location=[0, 0], zoom_start=2, tiles=None, control_scale=True,
                   prefer_canvas=cfg["canvas"])
    root = m.get_root()
    root.header.add_child(_Raw(assets.leaflet_head()), name="pedgis_offline_assets", index=0)
    root.header.add_child(_Raw(_CSS), name="pedgis_css")
    # folium compiles the text of its elements as Jinja2 templates: it only ever gets
    # placeholders for text we did not write ourselves, filled in after root.render()
    slots = PageSlots()
    page_title = title or "pedgis — PED map"
    root.header.add_child(_Raw(f"<title>{slots.slot(escape_html(page_title))}</title>"),
                          name="pedgis_title")
    root.html.add_child(_Raw(
        f'<div class="pedgis-map-title">{slots.slot(escape_html(page_title, MAX_TEXT))}</div>'
    ), name="pedgis_map_title")

    if basemap is not None:
        url, attribution, max_zoom = BASEMAPS[basemap]
        folium.TileLayer(url, attr=attribution, name="Basemap (OpenStreetMap)",
                         max_zoom=max_zoom, overlay=True, control=True, show=True).add_to(m)

    # the building data and the page's functions; buildings drawn once, restyled per indicator
    script = _SCRIPT % {"map": m.get_name(), "cfg": script_json(cfg),
                        "data": script_json({"origin": origin, "features": features}),
                        "roofs": script_json(roofs), "city": _CITY_SCRIPT if is_city else ""}

    class _Data(folium.MacroElement):
        _template = Template("{% macro script(this, kwargs) %}" + "{{ this.js }}" +
                             "{% endmacro %}")

        def __init__(self, js):
            super().__init__()
            self._name = "PedgisData"
            self.js = js

    m.add_child(_Data(slots.slot(script)))
    for idx, key in enumerate(order):
        m.add_child(_layer(f"window.pedgisIndicatorLayer({idx})", indicators_cfg[idx]["label"],
                           overlay=False, show=key == indicator))

    boundary_b = None
    if inputs.boundary is not None and len(inputs.boundary):
        import shapely

        bgeoms = [g for g in _display_geometries(inputs.boundary, "boundary") if g is not None]
        # geometry only: the boundary's attributes (user text) must not reach folium
        bfc = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": {}}
            for g in bgeoms]}
        folium.GeoJson(
            bfc, name="District boundary", overlay=True, control=True, show=True,
            style_function=lambda f: {"color": "#222", "weight": 2.5, "dashArray": "8 5",
                                      "fill": False},
            interactive=False,
        ).add_to(m)
        if bgeoms:
            boundary_b = shapely.total_bounds(np.asarray(bgeoms, dtype=object))

    if roofs is not None:
        m.add_child(_layer("window.pedgisRoofLayer()", ROOF_LAYER, overlay=True, show=False))

    if raster is not None:
        folium.raster_layers.ImageOverlay(
            raster.url, bounds=raster.bounds, name=RASTER_LAYER, overlay=True,
            control=True, show=False, opacity=0.85, pane="pedgisRaster",
        ).add_to(m)

    control = folium.LayerControl(position="topright", collapsed=True)
    control.add_to(m)

    class _Expand(folium.MacroElement):
        # expanded in a wide standalone window; an icon (hover to open) in small or embedded maps
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "if (window.self === window.top && {{ this.map }}.getSize().x >= 900) "
            "{ {{ this.control }}.expand(); }"
            "{% endmacro %}")

        def __init__(self):
            super().__init__()
            self.map, self.control = m.get_name(), control.get_name()

    m.add_child(_Expand())

    import shapely
    valid = [g for g in geoms if g is not None and not shapely.is_empty(g)]
    if valid:
        minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(valid, dtype=object))
        if boundary_b is not None and np.all(np.isfinite(boundary_b)):
            minx, miny = min(minx, boundary_b[0]), min(miny, boundary_b[1])
            maxx, maxy = max(maxx, boundary_b[2]), max(maxy, boundary_b[3])
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(20, 20))  # the view before the boxes exist
        bounds = [[float(miny), float(minx)], [float(maxy), float(maxx)]]
        m.add_child(_Data(slots.slot(f"window.pedgisFit({script_json(bounds)});")))  # then clear of them

    _strip_remote_assets(m)
    html_text = slots.fill(root.render())
    # cheap guard (the full check, assets.remote_references, runs in the tests)
    remote = [t for t in re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html_text)
              if re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", t)]
    if remote:  # pragma: no cover - a guard against a folium upgrade adding CDN assets
        raise RuntimeError(f"map.html would load remote assets: {remote[:3]}")
    return html_text, files


def _strip_remote_assets(element) -> None:
    """Drop the CDN links folium adds (Leaflet/jQuery are inlined, Bootstrap etc. unused)."""
    if hasattr(element, "default_js"):
        element.default_js = []
    if hasattr(element, "default_css"):
        element.default_css = []
    for child in list(getattr(element, "_children", {}).values()):
        _strip_remote_assets(child)


def write_map(inputs: Any, path: str | Path, indicator: str = "ped_balance_kwh",
              basemap: str | None = None, title: str | None = None) -> Path:
    """Write ``map.html`` (see :func:`build_map`) and, for a city, its tile files beside it;
    return its path."""
    path = Path(path)
    html_text, files = build_map_files(inputs, indicator=indicator, basemap=basemap, title=title)
    path.write_text(html_text, encoding="utf-8")
    for rel, text in files.items():
        (path.parent / rel).parent.mkdir(parents=True, exist_ok=True)
        (path.parent / rel).write_text(text, encoding="utf-8")
    return path
