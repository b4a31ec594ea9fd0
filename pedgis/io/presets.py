"""Attribute presets: which source column holds which pedgis field, and how use types map.

A preset knows the column names of one data family (INSPIRE Buildings, OpenStreetMap, the Dutch
BAG / 3D BAG, City Energy Analyst zone files, the Italian cadastre, 3D city models read by
:mod:`pedgis.io.citymodel`) and which table of
``pedgis/data/use_type_map.csv`` translates its use values into pedgis use types. The preset is
detected from the column names (:func:`detect_preset`) and can be forced, and any single column
overridden, in the scenario's ``[buildings]`` section (``preset``, ``columns``, ``use_map``).

pedgis fields a preset can fill:

========================  ==========================================================
``building_id``           unique building id (parts sharing an id are grouped)
``use``                   use type, translated through the use-type map
``floors``                floors above ground [-]
``height_m``              height above ground [m]
``roof_elevation_m``      absolute roof elevation [m] (3D BAG ``b3_h_dak_70p``)
``ground_elevation_m``    absolute ground elevation [m] (3D BAG ``b3_h_maaiveld``);
                          with a DSM it gives the height as DSM − ground
``year``                  year of construction
``name``                  a label (address, name)
``persons``, ``beds``     occupancy for DHW per person or bed (paper Eq. 3)
``system``                conversion-system group
``pv_kwp``, ``pv_kwh``    existing PV
========================  ==========================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from ..errors import InputDataError

FIELDS = (
    "building_id", "use", "floors", "height_m", "roof_elevation_m", "ground_elevation_m", "year",
    "name", "persons", "beds", "system", "pv_kwp", "pv_kwh",
)

#: Address columns of the data families (OSM ``addr:*``, CEA 4 zone.shp, generic), carried into
#: ``pedgis pv``'s output beside the id and name columns so results join back to the source.
ADDRESS_COLUMNS = ("addr:street", "addr:housenumber", "addr:postcode", "addr:city", "street", "house_no",
                   "postcode", "city", "address")

#: pedgis use types every scenario knows (the engine's specific-needs tables), plus
#: ``unconditioned``: garages, sheds, ruins — kept as rows, excluded from the balance.
PEDGIS_USES = ("residential", "office", "commercial", "education", "health", "hotel", "sports", "industrial")
UNCONDITIONED = "unconditioned"


@dataclass(frozen=True)
class Preset:
    """Column conventions of one data family.

    Attributes
    ----------
    name : preset key used in the scenario (``preset = "osm"``)
    title : human-readable name
    fields : pedgis field → candidate source column names, first match wins
    signature : column names that identify the family (for detection)
    min_hits : signature columns needed to detect the preset
    use_table : preset key in ``use_type_map.csv`` (None: pedgis use names expected)
    """

    name: str
    title: str
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    signature: tuple[str, ...] = ()
    min_hits: int = 2
    use_table: str | None = None


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "citymodel", "3D city model (CityGML / CityJSON buildings as pedgis reads them)",
            fields={
                "building_id": ("building_id",),
                "use": ("function", "usage", "gebruiksdoel"),
                "height_m": ("eave_height_m",),
                "year": ("yearOfConstruction", "oorspronkelijkbouwjaar"),
                "name": ("name", "address"),
            },
            signature=("building_id", "model_format", "lod", "footprint_source", "eave_height_m",
                       "ridge_height_m", "ground_z_m", "roof_planes", "model_flags"),
            min_hits=7, use_table=None,
        ),
        Preset(
            "inspire", "INSPIRE Buildings (D2.8.III.2; flattened GML/GeoPackage exports)",
            fields={
                "building_id": ("localId", "inspireId_localId", "inspireId", "reference", "gml_id"),
                "use": ("currentUse", "currentUse_currentUse", "currentUse_value"),
                "floors": ("numberOfFloorsAboveGround",),
                "height_m": ("heightAboveGround", "heightAboveGround_value"),
                "year": ("dateOfConstruction", "dateOfConstruction_beginning", "beginning"),
                "name": ("name", "informationSystem"),
            },
            signature=("currentUse", "numberOfFloorsAboveGround", "heightAboveGround",
                       "dateOfConstruction", "conditionOfConstruction", "inspireId_localId",
                       "beginLifespanVersion", "numberOfBuildingUnits"),
            min_hits=2, use_table="inspire",
        ),
        Preset(
            "osm", "OpenStreetMap buildings (osmium, Overpass, QuickOSM, Geofabrik exports)",
            fields={
                "building_id": ("osm_id", "@id", "id", "osm_way_id", "full_id"),
                "use": ("building",),
                "floors": ("building:levels", "building_levels", "levels"),
                "height_m": ("height", "building:height"),
                "year": ("start_date", "building:year"),
                "name": ("name", "addr:street"),
            },
            signature=("building", "building:levels", "building_levels", "roof:shape", "osm_id",
                       "@id", "osm_way_id", "addr:street", "addr:housenumber", "roof_shape"),
            min_hits=2, use_table="osm",
        ),
        Preset(
            "bag", "Dutch BAG / 3D BAG (heights relative to NAP)",
            fields={
                "building_id": ("identificatie", "pand_id", "fid"),
                "use": ("gebruiksdoel", "b3_gebruiksdoel"),
                "floors": ("b3_bouwlagen", "bouwlagen"),
                "roof_elevation_m": ("b3_h_dak_70p", "h_dak_70p", "b3_h_70p", "b3_h_dak_50p", "h_dak_50p"),
                "ground_elevation_m": ("b3_h_maaiveld", "h_maaiveld"),
                "year": ("oorspronkelijkbouwjaar", "bouwjaar"),
            },
            signature=("identificatie", "gebruiksdoel", "bouwjaar", "oorspronkelijkbouwjaar",
                       "b3_h_maaiveld", "h_maaiveld", "b3_bouwlagen", "b3_h_dak_70p", "status"),
            min_hits=2, use_table="bag",
        ),
        Preset(
            "cea", "City Energy Analyst zone file (zone.shp, typology merged)",
            fields={
                "building_id": ("Name", "name"),
                "use": ("use_type1", "1ST_USE"),
                "name": ("house_name",),
                "floors": ("floors_ag",),
                "height_m": ("height_ag",),
                "year": ("year", "YEAR"),
            },
            signature=("floors_ag", "height_ag", "floors_bg", "height_bg", "use_type1", "1ST_USE",
                       "const_type", "STANDARD"),
            min_hits=2, use_table="cea",
        ),
        Preset(
            "it_catasto", "Italian cadastre (Agenzia delle Entrate categories A/1 … F/6)",
            fields={
                "building_id": ("CAD_ID", "ID_EDIF", "id_edificio", "codice", "cod_edif", "id", "fid"),
                "use": ("CATEGORIA", "categoria_catastale", "cat_catast", "categoria"),
                "floors": ("N_PIANI", "PIANI", "num_piani", "piani_fuori_terra"),
                "height_m": ("ALTEZZA", "altezza", "h_gronda", "altezza_m"),
                "year": ("ANNO", "anno_costruzione", "anno"),
                "name": ("INDIRIZZO", "via", "toponimo"),
                "persons": ("N_ABIT", "abitanti", "residenti", "n_residenti"),
                "beds": ("N_LETTI", "posti_letto", "letti"),
            },
            signature=("CATEGORIA", "categoria_catastale", "cat_catast", "foglio", "particella",
                       "mappale", "subalterno", "piani", "n_piani"),
            min_hits=1, use_table="it_catasto",
        ),
        Preset("generic", "generic (columns named in the scenario)", fields={
            "building_id": ("building_id", "id", "ID", "fid"),
            "use": ("use", "use_type"),
            "floors": ("floors",),
            "height_m": ("height_m", "height"),
            "year": ("year",),
            "name": ("name",),
            "persons": ("persons",),
            "beds": ("beds",),
            "system": ("system",),
            "pv_kwp": ("pv_kwp",),
            "pv_kwh": ("pv_kwh",),
        }, signature=(), min_hits=99, use_table=None),
    )
}


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")


def find_column(columns, candidates) -> str | None:
    """The first column matching a candidate name.

    Matching ignores case and punctuation (``building:levels`` = ``building_levels``) and accepts
    names that a shapefile cut to 10 characters (``numberOfFl`` for
    ``numberOfFloorsAboveGround``).
    """
    normed = {}
    for col in columns:
        normed.setdefault(_norm(col), col)
    for cand in candidates:
        key = _norm(cand)
        if key in normed:
            return normed[key]
    for cand in candidates:
        key = _norm(cand)
        for ncol, col in normed.items():
            if len(str(col)) == 10 and len(key) > 10 and key.startswith(ncol):
                return col
    return None


def detect_preset(columns) -> str:
    """The preset whose signature columns best match ``columns`` (``"generic"`` when none does)."""
    best, best_hits = "generic", 0
    for p in PRESETS.values():
        hits = sum(find_column(columns, (s,)) is not None for s in p.signature)
        if hits >= p.min_hits and hits > best_hits:
            best, best_hits = p.name, hits
    return best


@dataclass
class ColumnMapping:
    """The resolved mapping: preset name, pedgis field → source column, and how it was found."""

    preset: str
    detected: bool
    columns: dict[str, str]
    messages: list[str] = field(default_factory=list)


def resolve_columns(available, preset: str | None = None, columns: dict[str, str] | None = None,
                    source_name: str = "buildings") -> ColumnMapping:
    """Combine the preset's column names with the scenario's overrides.

    Parameters
    ----------
    available : the source's column names
    preset : preset key, or None / ``"auto"`` to detect it from ``available``
    columns : pedgis field → source column from the scenario; these win over the preset.
        A column named here that does not exist is an error (all of them are listed).

    Raises
    ------
    InputDataError
        unknown preset, unknown pedgis field, or scenario columns missing from the data
    """
    available = [c for c in available if c != "geometry"]
    columns = dict(columns or {})
    detected = preset in (None, "", "auto")
    if detected:
        preset = detect_preset(available)
    if preset not in PRESETS:
        raise InputDataError(
            f"{source_name}.preset: unknown preset '{preset}'; choose one of "
            f"{', '.join(PRESETS)} or 'auto'."
        )
    problems = column_problems(available, columns, source_name)
    if problems:
        raise InputDataError(" ".join(problems))
    p = PRESETS[preset]
    mapping: dict[str, str] = {}
    for fld, cands in p.fields.items():
        col = find_column(available, cands)
        if col is not None:
            mapping[fld] = col
    if preset != "generic":  # generic field names are sensible for any preset
        for fld, cands in PRESETS["generic"].fields.items():
            if fld not in mapping and fld in ("persons", "beds", "system", "pv_kwp", "pv_kwh"):
                col = find_column(available, cands)
                if col is not None:
                    mapping[fld] = col
    for fld, col in columns.items():
        if col in (None, ""):
            mapping.pop(fld, None)
        else:
            mapping[fld] = col
    how = "detected from the column names" if detected else "set in the scenario"
    shown = ", ".join(f"{k}←{v}" for k, v in mapping.items())
    msgs = [f"{source_name}: preset '{preset}' ({p.title}), {how}; columns: {shown or 'none'}."]
    return ColumnMapping(preset=preset, detected=detected, columns=mapping, messages=msgs)


def column_problems(available, columns: dict[str, str] | None, source_name: str = "buildings") -> list[str]:
    """Every problem with the scenario's column mapping (empty list when fine)."""
    available = [c for c in available if c != "geometry"]
    out = []
    for fld, col in (columns or {}).items():
        if fld not in FIELDS:
            out.append(
                f"{source_name}.columns.{fld}: unknown pedgis field; known fields: {', '.join(FIELDS)}."
            )
        elif col not in (None, "") and col not in available:
            out.append(
                f"{source_name}.columns.{fld}: column '{col}' not in the file; available "
                f"columns: {', '.join(map(str, available))}."
            )
    return out


# ----------------------------------------------------------------------------- use types

@lru_cache(maxsize=1)
def use_type_table() -> pd.DataFrame:
    """``pedgis/data/use_type_map.csv``: preset, source_value, pedgis_use, source."""
    with resources.files("pedgis.data").joinpath("use_type_map.csv").open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return table


_IT_CAT = re.compile(r"^\s*([A-Fa-f])\s*[/\-_. ]?\s*0*(\d{1,2})\s*$")


def normalise_use_value(value, table: str | None) -> str:
    """Canonical spelling of a source use value for the lookup in ``table``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    s = str(value).strip()
    if table == "it_catasto":
        m = _IT_CAT.match(s)
        if m:
            return f"{m.group(1).upper()}/{int(m.group(2))}"
        return s.upper()
    if table == "inspire":
        s = s.rstrip("/").rsplit("/", 1)[-1]  # code-list URI → code
    if table == "bag":
        s = s.split(",")[0].strip()  # several uses listed: the first (BAG lists the main use first)
    return s.lower()


def _lookup(table_name: str) -> dict[str, str]:
    t = use_type_table()
    sub = t[t["preset"] == table_name]
    return {normalise_use_value(v, table_name): u for v, u in zip(sub["source_value"], sub["pedgis_use"], strict=False)}


@dataclass
class UseMapping:
    """Result of :func:`map_uses`: pedgis use per row and the notes to flag."""

    use: pd.Series
    notes: pd.Series
    table: str | None
    unknown: dict[str, int]
    defaulted: int


def map_uses(values: pd.Series, preset: str, known_uses, overrides: dict[str, str] | None = None,
             default_use: str | None = None, source_name: str = "buildings") -> UseMapping:
    """Translate source use values into pedgis use types.

    Order per value: the scenario's ``use_map`` overrides (exact text, then case-insensitive);
    a pedgis use name (any of ``known_uses``); the preset's table in ``use_type_map.csv`` (for the
    generic preset, the table matching most values). Values that are missing, mapped to "" (OSM
    ``building=yes``) or not found take ``default_use`` with a note; when ``default_use`` is None
    they are an error listing every unknown value.

    Raises
    ------
    InputDataError
        unknown values and no ``default_use``; an override naming an unknown pedgis use
    """
    known = {u: u for u in PEDGIS_USES} | {u.lower(): u for u in known_uses} | {UNCONDITIONED: UNCONDITIONED}
    overrides = {str(k): str(v) for k, v in (overrides or {}).items()}
    for k, v in overrides.items():
        if v.lower() not in known:
            raise InputDataError(
                f"{source_name}.use_map.{k}: '{v}' is not a pedgis use type; use one of "
                f"{', '.join(sorted(known))} (or define the use type in the scenario)."
            )
    ov_ci = {k.strip().lower(): known[v.lower()] for k, v in overrides.items()}
    table = PRESETS[preset].use_table if preset in PRESETS else None
    raw = values.astype(object).where(values.notna(), None)
    if table is None:
        best, best_n = None, 0
        distinct = {str(v) for v in raw.dropna().unique()}
        for name in use_type_table()["preset"].unique():
            lut = _lookup(name)
            n = sum(normalise_use_value(v, name) in lut for v in distinct)
            if n > best_n:
                best, best_n = name, n
        table = best
    lut = _lookup(table) if table else {}
    use = []
    notes = []
    unknown: dict[str, int] = {}
    defaulted = 0
    cache: dict = {}
    for v in raw:
        s = "" if v is None else str(v).strip()
        if s in cache:
            u, note, unk = cache[s]
            if unk:
                unknown[s] = unknown.get(s, 0) + 1
            if u is None and default_use is None:
                use.append(None)
                notes.append(note)
                continue
            defaulted += u is not None and note != ""
            use.append(u)
            notes.append(note)
            continue
        unk = False
        if s == "" or s.lower() in ("nan", "none", "null"):
            u, note = None, "use missing"
        elif s in overrides:
            u, note = known[overrides[s].lower()], ""
        elif s.lower() in ov_ci:
            u, note = ov_ci[s.lower()], ""
        elif s.lower() in known:
            u, note = known[s.lower()], ""
        else:
            key = normalise_use_value(s, table)
            if key in lut and lut[key] != "":
                u, note = lut[key], ""
            elif key in lut:
                u, note = None, f"use '{s}' says nothing about the use"
            else:
                u, note = None, f"use '{s}' not in the use-type map"
                unknown[s] = unknown.get(s, 0) + 1
                unk = True
        if u is None:
            if default_use is None:
                cache[s] = (None, note, unk)
                use.append(None)
                notes.append(note)
                continue
            defaulted += 1
            u = known.get(default_use.lower(), default_use)
            note = f"{note}: default use {u}"
        cache[s] = (u, note, unk)
        use.append(u)
        notes.append(note)
    if default_use is None and any(u is None for u in use):
        missing = sum(1 for u in use if u is None) - sum(unknown.values())
        shown: dict[str, int] = {}
        for k, n in unknown.items():  # as the lookup sees them (case-folded, codes normalised)
            key = normalise_use_value(k, table) or k
            shown[key] = shown.get(key, 0) + n
        listed = ", ".join(f"'{k}' ({n}×)" for k, n in sorted(shown.items()))
        first = next(iter(sorted(unknown)), "VALUE")
        raise InputDataError(
            f"{source_name}: unknown use type(s) {listed or 'none'}"
            f"{f'; {missing} building(s) have no use value' if missing else ''}. Map each to a pedgis "
            f"use type in the scenario's [buildings.use_map] (e.g. `\"{first}\" = \"residential\"`), or set "
            "`buildings.default_use` to give them a default (flagged per building)."
        )
    return UseMapping(use=pd.Series(use, index=values.index, dtype=object),
                      notes=pd.Series(notes, index=values.index, dtype=object),
                      table=table, unknown=unknown, defaulted=defaulted)


# ----------------------------------------------------------------------------- numbers

_NUM = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)\s*(m|meter|meters|metre|metres)?\s*$", re.IGNORECASE)


def parse_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers from a column that may hold text (``"12 m"``, ``"12,5"``).

    Returns
    -------
    numbers : float Series, NaN where missing or not understood
    bad : bool Series, True where a value was present but not understood (to flag)
    """
    if pd.api.types.is_numeric_dtype(values):
        num = values.astype(float)
        return num, pd.Series(False, index=values.index)
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        s = str(v).strip()
        if s == "" or s.lower() in ("nan", "none", "null"):
            continue
        m = _NUM.match(s)
        if m:
            out[i] = float(m.group(1).replace(",", "."))
        else:
            bad[i] = True
    return pd.Series(out, index=values.index), pd.Series(bad, index=values.index)


def id_labels(values) -> pd.Series:
    """Building ids as text, the same wherever ids are compared or written.

    Missing values (NaN, None, "", "nan", "NULL") become ``""``. An integral float (a DBF
    numeric field read as float, e.g. ``100006475.0``) becomes ``"100006475"``; any other value
    stays as written (``12.5`` → ``"12.5"``, ``"001195"`` keeps its zeros).
    """
    s = pd.Series(values, copy=False)

    def one(v) -> str:
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            return ""
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        text = str(v).strip()
        return "" if text in ("nan", "None", "NULL") else text

    return pd.Series([one(v) for v in s.to_numpy(dtype=object)], index=s.index, dtype=object)


def parse_year(values: pd.Series) -> pd.Series:
    """Year of construction from a number or a date text (``"1965"``, ``"1965-01-01"``)."""
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        m = re.search(r"(1[0-9]{3}|20[0-9]{2})", str(v))
        if m:
            out[i] = float(m.group(1))
    return pd.Series(out, index=values.index)
