"""3D city models (CityGML 1.0/2.0, CityJSON, CityJSONSeq) as buildings, parts and roof planes.

The readers (:mod:`pedgis.io.citygml`, :mod:`pedgis.io.cityjson`) stream a file building by
building into a :class:`ModelBuilder`, which keeps only what pedgis uses — roof and ground
polygons as flat coordinate arrays (:mod:`pedgis.roofs` layout), each part's lowest point and the
attributes — so memory grows with the roofs, not with the file. :meth:`ModelBuilder.finish`
resolves the CRS (``urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH`` → EPSG:25832 with DHHN2016
heights, compound EPSG codes → their horizontal part; axis order checked against the CRS's area
of use; geographic coordinates projected to UTM), classifies surfaces that carry no semantics by
their orientation, and computes the roof planes.

:func:`city_model_frame` turns a model into the step-1 buildings table (one row per building:
footprint from the GroundSurface, else the union of the roof projections; eave and ridge heights;
the roof's height field as storey samples per part for :func:`pedgis.heights.field_storey_area`).
:func:`read_city_model_data` is what :func:`pedgis.io.vector.read_vector_data` calls for these
files, so every entry point (scenario, ``pedgis validate``, ``pedgis pv``, QGIS) reads them.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputDataError
from .citymodel_builder import GROUND, OTHER, ROOF, CityModel, ModelBuilder, SrsInfo, resolve_srs  # noqa: F401

#: Sampling step of the roof height field for the storeys under a roof [m] (the 0.5 m of a
#: LiDAR nDSM, so that models and rasters give floor areas by the same rule).
STOREY_SAMPLE_M = 0.5
#: Frame column holding each building's roof height samples (see :func:`city_model_frame`).
STOREY_SAMPLES = "_storey_samples"
#: Frame column holding the reader's notes per building (merged into the step-1 flags).
MODEL_FLAGS = "model_flags"

# --------------------------------------------------------------------------- detection, cache


def city_model_format(path) -> str | None:
    """``citygml``, ``cityjson``, ``cityjsonseq`` or None, from the name and the first bytes."""
    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        return None
    if name.endswith((".gml", ".xml", ".citygml")):
        with open(path, "rb") as fh:
            head = fh.read(65536)
        if re.search(rb"http://www\.opengis\.net/citygml/", head):
            return "citygml"
        return None
    if name.endswith((".jsonl", ".city.jsonl")):
        with open(path, "rb") as fh:
            first = fh.readline(1 << 20)
        return "cityjsonseq" if b'"CityJSON"' in first else None
    if name.endswith(".json"):
        with open(path, "rb") as fh:
            head = fh.read(4096)
        if re.search(rb'"type"\s*:\s*"CityJSON"', head):
            return "cityjson"
        if re.search(rb'"type"\s*:\s*"CityJSON"', head + fh.read(1 << 20)):
            return "cityjson"
    return None


_CACHE: dict = {}


def read_city_model(path, crs=None) -> CityModel:
    """Read a CityGML / CityJSON / CityJSONSeq file (the last model read is kept, so that the
    step-1 table and the roof model of one run read the file once)."""
    path = Path(path).expanduser()
    fmt = city_model_format(path)
    if fmt is None:
        raise InputDataError(f"{path}: not a CityGML, CityJSON or CityJSONSeq file.")
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, str(crs))
    if key in _CACHE:
        return _CACHE[key]
    if fmt == "citygml":
        from .citygml import read_citygml

        model = read_citygml(path, crs=crs)
    else:
        from .cityjson import read_cityjson

        model = read_cityjson(path, crs=crs)
    _CACHE.clear()
    _CACHE[key] = model
    return model


# --------------------------------------------------------------------------- step-1 table


def _num(v) -> float:
    try:
        x = float(str(v).strip().replace(",", "."))
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def _scalar(v):
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return json.dumps(v, ensure_ascii=False)


def part_heights(model: CityModel) -> pd.DataFrame:
    """Per part: ground elevation (lowest GroundSurface vertex, else the lowest vertex of the
    part), eave (lowest roof vertex) and ridge (highest) elevations [m], footprint [m²]."""
    import shapely

    n = len(model.parts)
    kind = model.poly_kind
    part = model.poly_part
    pl = model.planes
    roof = model.roof_index
    ground = np.flatnonzero(kind == GROUND)
    g_z = np.full(n, np.inf)
    np.minimum.at(g_z, part[ground], pl.min_z[ground])
    ground_z = np.where(np.isfinite(g_z), g_z, model.parts["min_z"].to_numpy())
    eave = np.full(n, np.inf)
    ridge = np.full(n, -np.inf)
    np.minimum.at(eave, part[roof], pl.min_z[roof])
    np.maximum.at(ridge, part[roof], pl.max_z[roof])
    # footprint of each part: GroundSurface projections, else the roof's
    src = np.where(np.isin(np.arange(n), part[ground]), "GroundSurface", "roof outline")
    use = np.concatenate([ground, roof[~np.isin(part[roof], part[ground])]])
    polys = model.polygons_2d(use)
    fp = np.full(n, None, dtype=object)
    if len(use):
        s = pd.Series(list(polys)).groupby(part[use]).agg(lambda g: shapely.union_all(list(g)))
        fp[s.index.to_numpy()] = s.to_numpy()
    src = np.where(fp == None, "", src)  # noqa: E711 - elementwise
    return pd.DataFrame({"ground_z": ground_z, "eave_z": np.where(np.isfinite(eave), eave, np.nan),
                         "ridge_z": np.where(np.isfinite(ridge), ridge, np.nan), "footprint": fp,
                         "footprint_source": src})


def storey_samples(model: CityModel, heights: pd.DataFrame, step: float = STOREY_SAMPLE_M):
    """Per part, the roof height field sampled every ``step`` metres, as rows
    ``(eave height above ground, storeys given, rise above the eave, weight)``: the weights sum to
    the part's footprint area, equal samples are merged (rise rounded to 1 cm)."""
    from affine import Affine

    from ..roofs import rasterise_planes

    roof = model.roof_index
    out = [None] * len(model.parts)
    if not len(roof):
        return out
    part = model.poly_part[roof]
    order = np.argsort(part, kind="stable")
    roof, part = roof[order], part[order]
    bounds = np.searchsorted(part, np.arange(len(model.parts) + 1))
    xy = model.coords[:, :2]
    for p in np.unique(part):
        sel = roof[bounds[p]:bounds[p + 1]]
        fp = heights["footprint"].iat[p]
        area = float(fp.area) if fp is not None else float(model.planes.area_2d[sel].sum())
        if area <= 0:
            continue
        v = np.concatenate([np.arange(model.ring_start[model.poly_ring[i]],
                                      model.ring_start[model.poly_ring[i + 1]]) for i in sel])
        x0, y0 = xy[v].min(axis=0)
        x1, y1 = xy[v].max(axis=0)
        x0, y1 = math.floor(x0 / step) * step, math.ceil(y1 / step) * step
        ncol = max(int(math.ceil((x1 - x0) / step)), 1)
        nrow = max(int(math.ceil((y1 - y0) / step)), 1)
        z, _, _ = rasterise_planes(model.coords, model.ring_start, model.poly_ring, model.planes.coef,
                                   Affine(step, 0, x0, 0, -step, y1), (nrow, ncol), select=sel)
        zs = z[np.isfinite(z)]
        if zs.size == 0:  # smaller than a sample step: the roof's mean height
            zs = np.array([float(np.average(model.planes.mean_z[sel], weights=model.planes.area_2d[sel] + 1e-12))])
        eave_z = heights["eave_z"].iat[p]
        rise = np.round(np.maximum(zs - eave_z, 0.0), 2)
        vals, cnt = np.unique(rise, return_counts=True)
        base = eave_z - heights["ground_z"].iat[p]
        given = _num(model.parts["attrs"].iat[p].get("storeys"))
        out[p] = np.column_stack([np.full(len(vals), base), np.full(len(vals), given), vals,
                                  cnt * (area / cnt.sum())])
    return out


def city_model_frame(model: CityModel):
    """The step-1 buildings table of a model: one row per building (see the module notes)."""
    import geopandas as gpd
    import shapely

    h = part_heights(model)
    samples = storey_samples(model, h)
    parts = model.parts
    nb = len(model.buildings)
    b_of_p = parts["building"].to_numpy()
    fp_area = np.array([0.0 if g is None else g.area for g in h["footprint"]])
    roof = model.roof_index
    n_planes = np.bincount(b_of_p[model.poly_part[roof]], minlength=nb)
    roof_area = np.bincount(b_of_p[model.poly_part[roof]], weights=model.planes.area_3d[roof], minlength=nb)
    rows = []
    geoms = []
    for b in range(nb):
        ps = np.flatnonzero(b_of_p == b)
        attrs = dict(model.buildings["attrs"].iat[b])
        notes = list(model.buildings["notes"].iat[b])
        fps = [h["footprint"].iat[p] for p in ps if h["footprint"].iat[p] is not None]
        geom = shapely.union_all(fps) if fps else None
        srcs = sorted({h["footprint_source"].iat[p] for p in ps} - {""})
        if "roof outline" in srcs:
            notes.append("footprint from the roof outline (no GroundSurface)")
        if geom is None:
            notes.append("no roof or ground surface in the model: no footprint")
        ground = float(np.nanmin(h["ground_z"].to_numpy()[ps])) if len(ps) else math.nan
        main = ps[int(np.argmax(fp_area[ps]))] if len(ps) else None
        eave = (h["eave_z"].iat[main] - h["ground_z"].iat[main]) if main is not None else math.nan
        ridge = (np.nanmax(h["ridge_z"].to_numpy()[ps]) - ground) if len(ps) and np.isfinite(h["ridge_z"].to_numpy()[ps]).any() else math.nan
        given = [_num(parts["attrs"].iat[p].get("storeys")) for p in ps]
        b_storeys = _num(attrs.get("storeysAboveGround"))
        smp = [samples[p] for p in ps if samples[p] is not None]
        s = np.concatenate(smp) if smp else None
        if s is not None and geom is not None and abs(s[:, 3].sum() - geom.area) < 0.005 * geom.area:
            s[:, 3] *= geom.area / s[:, 3].sum()  # parts side by side: their areas make the footprint
        if s is not None and np.isfinite(b_storeys) and not np.isfinite(given).any():
            bases = {round(float(x), 1) for x in s[:, 0]}
            if len(ps) == 1 or max(bases) - min(bases) <= 0.5:
                s[:, 1] = b_storeys
            else:
                notes.append(f"storeysAboveGround of the building ({b_storeys:g}) not used: its parts "
                             "have different heights; storeys from the roof heights per part")
        measured = _num(attrs.get("measuredHeight"))
        if not np.isfinite(measured):
            mh = [_num(parts["attrs"].iat[p].get("measuredHeight")) for p in ps]
            measured = float(np.nanmax(mh)) if np.isfinite(mh).any() else math.nan
        row = {
            "building_id": model.buildings["building_id"].iat[b],
            "model_format": model.format,
            "lod": ",".join(sorted({str(x) for x in parts["lod"].to_numpy()[ps] if x})),
            "footprint_source": ", ".join(srcs),
            "eave_height_m": float(eave) if np.isfinite(eave) else math.nan,
            "ridge_height_m": float(ridge) if np.isfinite(ridge) else math.nan,
            "measured_height_m": measured,
            "ground_z_m": ground,
            "storeys_above_ground": b_storeys if np.isfinite(b_storeys) else (
                float(np.nanmax(given)) if np.isfinite(given).any() else math.nan),
            "n_parts": int(len(ps)),
            "roof_planes": int(n_planes[b]),
            "roof_area_m2": float(roof_area[b]),
            MODEL_FLAGS: "; ".join(notes),
            STOREY_SAMPLES: s,
        }
        for k, v in attrs.items():
            key = k if k not in row else f"attr_{k}"
            row[key] = _scalar(v)
        rows.append(row)
        geoms.append(geom)
    df = pd.DataFrame(rows)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=model.crs), crs=model.crs)


def model_storey_area(attrs: pd.DataFrame, storey_height_m):
    """Storeys summed over each building's parts from the frame's roof samples.

    Parameters
    ----------
    attrs : the step-1 attribute table (rows = buildings); tables without the samples column
        (any other input) give NaN everywhere
    storey_height_m : storey height per row [m]

    Returns
    -------
    storey_area : [m²] per row (:func:`pedgis.heights.field_storey_area`), NaN without samples
    flags : the reader's notes per row ("" when none)
    given : True where every part's storeys came from ``storeysAboveGround``
    """
    from ..heights import field_storey_area

    n = len(attrs)
    flags = (attrs[MODEL_FLAGS].fillna("").astype(str).to_numpy(dtype=object) if MODEL_FLAGS in attrs
             else np.full(n, "", dtype=object))
    if STOREY_SAMPLES not in attrs or n == 0:
        return np.full(n, np.nan), flags, np.zeros(n, dtype=bool)
    col = attrs[STOREY_SAMPLES].to_numpy(dtype=object)
    have = [i for i in range(n) if isinstance(col[i], np.ndarray) and len(col[i])]
    if not have:
        return np.full(n, np.nan), flags, np.zeros(n, dtype=bool)
    s = np.concatenate([col[i] for i in have])
    groups = np.repeat(np.asarray(have), [len(col[i]) for i in have])
    area = field_storey_area(groups, n, s[:, 0], s[:, 2], storey_height_m, s[:, 3], fixed=s[:, 1])
    given = np.zeros(n, dtype=bool)
    given[have] = [bool(np.isfinite(col[i][:, 1]).all()) for i in have]
    return area, flags, given


def read_city_model_data(path, crs=None, what: str = "buildings"):
    """A :class:`pedgis.io.vector_base.VectorData` of the model's buildings (footprints + attributes)."""
    from .vector_base import VectorData

    model = read_city_model(path, crs=crs)
    gdf = city_model_frame(model)
    n_parts = len(model.parts)
    msgs = list(model.messages) + [
        f"{Path(path).name}: {model.format}, {len(gdf)} buildings ({n_parts} parts with geometry), "
        f"{len(model.roof_index)} roof planes; footprints from the GroundSurface (else the roof outline), "
        "floors from storeysAboveGround or the roof heights per part."]
    return VectorData(gdf=gdf, path=Path(path), layer=None, format=model.format, encoding="utf-8",
                      encoding_source=None, crs_source="given" if crs else "file", messages=msgs)
