"""PostgreSQL/PostGIS as a source of footprints and boundaries, and as a sink of results.

A source is a connection (a libpq URL ``postgresql://user@host:5432/db`` or a GDAL
``PG:dbname=db host=... user=...`` string) with a table (``layer = "schema.table"``) or a
read-only query (``sql = "SELECT ..."``). A sink is a connection and a schema: the run's
``buildings``, ``roof_segments`` and ``district`` tables are written there, all of them in one
transaction, so a failure leaves the previous tables as they were.

Why psycopg 3 and not GDAL's PostgreSQL driver: pyogrio's wheels are built without that driver
(``"PostgreSQL" not in pyogrio.list_drivers()``), and the sink needs what GDAL does not promise:
every table replaced in one transaction, identifiers quoted by the driver, the ownership check
and the write under one lock, and the user's query run as its own statement in a read-only
transaction (a prepared statement: one statement only, never pasted into other SQL).

Credentials: a connection's text is shown with its password masked (:func:`mask_connection`);
a :class:`DatabaseSource` *is* that masked text, so every message that names the source names it
without the password. Prefer a password file (``~/.pgpass``), ``PGPASSWORD`` or a
``service=`` name to a password in the scenario file.

Ownership (the rule of pedgis' output folders, applied to a schema): pedgis records every table it
writes, with the table's OID, in ``<schema>.pedgis_outputs`` and replaces only those. A table of
the same name that pedgis did not write (or that was dropped and made again by someone else) is
never touched: the run stops before computing with a message saying what to do.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import pandas as pd

from ..errors import CRSError, InputDataError

#: Prefixes of a database connection in a path key or on the command line.
PREFIXES = ("postgresql://", "postgres://", "PG:")
#: GDAL's options of a ``PG:`` string that are not libpq's (see GDAL's PostgreSQL driver).
GDAL_OPTIONS = ("tables", "schemas", "active_schema", "list_all_tables")
#: The table where pedgis records what it wrote in a schema (name, OID, when, which scenario).
REGISTRY = "pedgis_outputs"
REGISTRY_COMMENT = "pedgis: the tables pedgis wrote in this schema; pedgis replaces only these"
#: Tables a run writes (``roof_segments`` only with rooftop PV from a DSM or 3D model).
TABLES = ("buildings", "roof_segments", "district")
INSTALL_HINT = "PostGIS needs psycopg 3: pip install 'pedgis[postgis]' (or pip install 'psycopg[binary]')."


def is_connection(value) -> bool:
    """True for a database connection text (``postgresql://…``, ``postgres://…``, ``PG:…``)."""
    return isinstance(value, str) and value.strip().startswith(PREFIXES)


_KV = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']*)")


def _kv_pairs(text: str) -> list[tuple[str, str]]:
    """``key=value`` pairs of a libpq/GDAL connection string (values may be single-quoted)."""
    pairs, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _KV.match(text, pos)
        if not m:
            raise InputDataError(f"{mask_connection('PG:' + text)}: not a connection string of key=value pairs "
                                 "(e.g. PG:\"dbname=city host=localhost user=me\").")
        value = m.group(2)
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        pairs.append((m.group(1), value))
        pos = m.end()
    return pairs


def mask_connection(text: str) -> str:
    """The connection text with its password replaced by ``***`` (for messages and outputs)."""
    text = str(text).strip()
    if text.startswith("PG:"):
        return re.sub(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']*)", r"\1***", text)
    parts = urlsplit(text)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        if ":" in user:
            netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
                      safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _password(text: str) -> str | None:
    """The password written in a connection text, to scrub it from driver messages."""
    text = str(text).strip()
    if text.startswith("PG:"):
        return next((v for k, v in _kv_pairs(text[3:]) if k == "password"), None)
    parts = urlsplit(text)
    pw = parts.password or dict(parse_qsl(parts.query)).get("password")
    return pw


class DatabaseSource(str):
    """A PostGIS table or query named in a scenario (``[buildings] path`` / ``[boundary] path``).

    Its text is the connection with the password masked (and the table, or ``query``), so a
    message that prints the source never prints the password; the connection itself is kept
    apart for :func:`connect`. ``name`` is a short label (``public.buildings``, ``query on city``).
    """

    def __new__(cls, connection: str, layer: str | None = None, sql: str | None = None):
        if isinstance(connection, DatabaseSource):  # its text is masked: keep its connection
            connection = connection.connection
        shown = mask_connection(connection) + (f" (table {layer})" if layer else " (query)" if sql else "")
        self = super().__new__(cls, shown)
        self._connection = str(connection).strip()
        self.layer = layer
        self.sql = sql
        return self

    def __reduce__(self):  # copies (deepcopy of a scenario document) keep the connection
        return (DatabaseSource, (self._connection, self.layer, self.sql))

    @property
    def connection(self) -> str:
        return self._connection

    @property
    def name(self) -> str:
        if self.layer:
            return str(self.layer)
        keywords = conninfo(self._connection)[0]
        db = keywords.get("dbname") or urlsplit(keywords.get("dsn", "")).path.strip("/") or "database"
        return f"query on {db}"

    suffix = ""

    def exists(self) -> bool:  # checked when connecting
        return True

    def is_file(self) -> bool:
        return False

    def is_dir(self) -> bool:
        return False


def conninfo(connection: str) -> tuple[dict, dict]:
    """libpq keywords of a connection, and GDAL's own options of a ``PG:`` string apart."""
    connection = str(connection).strip()
    if connection.startswith("PG:"):
        pairs = _kv_pairs(connection[3:])
        return ({k: v for k, v in pairs if k not in GDAL_OPTIONS}, {k: v for k, v in pairs if k in GDAL_OPTIONS})
    return {"dsn": connection}, {}


def _psycopg():
    try:
        import psycopg
    except ImportError as exc:
        raise InputDataError(INSTALL_HINT) from exc
    return psycopg


def connect(connection: str, what: str, read_only: bool = False):
    """A psycopg connection; a failure is an :class:`InputDataError` naming the masked source."""
    psycopg = _psycopg()
    keywords, _ = conninfo(connection)
    dsn = keywords.pop("dsn", "")
    try:
        conn = psycopg.connect(dsn, connect_timeout=15, application_name="pedgis", **keywords)
    except psycopg.Error as exc:
        raise InputDataError(f"{what}: cannot connect to {mask_connection(connection)} ({_scrub(exc, connection)}). "
                             "Check host, port, database and user; give the password in ~/.pgpass, PGPASSWORD "
                             "or a service file rather than in the scenario.") from exc
    conn.read_only = read_only
    return conn


def _scrub(exc, connection: str) -> str:
    """A driver message on one line, without the password if it repeats it."""
    from urllib.parse import unquote

    text = " ".join(str(exc).split())
    pw = _password(connection)
    for form in {pw, unquote(pw)} if pw else ():
        text = text.replace(form, "***")
    return text


# --------------------------------------------------------------------------------------------
# reading


def _split_layer(layer: str, default_schema: str | None) -> tuple[str | None, str]:
    """``schema.table`` (or ``"Schema"."Table"``) into its parts; a bare table name has the
    default schema (``active_schema`` of a ``PG:`` string), else the search path."""
    m = re.fullmatch(r'\s*(?:"((?:[^"]|"")+)"|([^."]+))\s*(?:\.\s*(?:"((?:[^"]|"")+)"|([^."]+))\s*)?', layer)
    if not m:
        raise InputDataError(f"layer '{layer}': write the table as schema.table (quote names with dots: \"my.schema\".\"t\").")
    first = (m.group(1) or "").replace('""', '"') or m.group(2).strip()
    second = (m.group(3) or "").replace('""', '"') or (m.group(4) or "").strip()
    return (first, second) if second else (default_schema, first)


_GEOMETRY_COLUMNS = """
SELECT f_geometry_column, srid, type FROM geometry_columns WHERE f_table_schema = %(s)s AND f_table_name = %(t)s
UNION ALL
SELECT f_geography_column, srid, type FROM geography_columns WHERE f_table_schema = %(s)s AND f_table_name = %(t)s
"""


def read_postgis_data(src, layer: str | None = None, sql: str | None = None, crs: str | None = None,
                      what: str = "buildings"):
    """Read a PostGIS table or a read-only query into a :class:`~pedgis.io.vector_base.VectorData`.

    Parameters
    ----------
    src : :class:`DatabaseSource` (or a connection text)
    layer : ``schema.table`` (a bare name: the ``PG:`` string's ``active_schema``, else the
        search path); a ``PG:`` string's ``tables=`` names it too
    sql : a query returning one geometry column; run as its own statement (a prepared statement,
        so one statement only) in a read-only transaction
    crs : CRS for geometries without an SRID (SRID 0); never guessed

    Raises
    ------
    InputDataError
        no connection, unknown table, no or several geometry columns, a query that writes,
        fails or returns no geometry column
    CRSError
        SRID 0 and no ``crs``; several SRIDs
    """
    import geopandas as gpd
    import shapely

    from .vector_base import VectorData

    src = src if isinstance(src, DatabaseSource) else DatabaseSource(str(src), layer, sql)
    connection = src.connection
    _, gdal = conninfo(connection)
    layer = layer or src.layer or (gdal.get("tables", "").split(",")[0].strip() or None)
    sql = sql or src.sql
    if bool(layer) == bool(sql):
        raise InputDataError(f"{what}.path: {src} needs a table (`{what}.layer = \"schema.table\"`) or a query "
                             f"(`{what}.sql = \"SELECT ...\"`), and not both.")
    psycopg = _psycopg()
    from psycopg import sql as q

    messages: list[str] = []
    with connect(connection, what, read_only=True) as conn:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT oid, typname FROM pg_type WHERE typname IN ('geometry', 'geography')")
                geo_oids = {oid: name for oid, name in cur.fetchall()}
                if not geo_oids:
                    raise InputDataError(f"{what}.path: the database of {src} has no PostGIS (no geometry type); "
                                         "run CREATE EXTENSION postgis, or name the database that holds the footprints.")
                if layer:
                    schema, table = _split_layer(layer, gdal.get("active_schema") or (gdal.get("schemas") or "").split(",")[0] or None)
                    cur.execute("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE c.relname = %(t)s AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND "
                                "(n.nspname = %(s)s OR (%(s)s::text IS NULL AND n.nspname = ANY(current_schemas(false)))) "
                                "ORDER BY array_position(current_schemas(false), n.nspname) LIMIT 1",
                                {"t": table, "s": schema})
                    row = cur.fetchone()
                    if row is None:
                        cur.execute("SELECT f_table_schema || '.' || f_table_name FROM geometry_columns ORDER BY 1 LIMIT 30")
                        have = [r[0] for r in cur.fetchall()]
                        raise InputDataError(f"{what}.layer: table '{layer}' not found in {mask_connection(connection)}; "
                                             + (f"tables with geometries: {', '.join(have)}." if have else "the database has no table with a geometry column."))
                    schema, table = row
                    cur.execute(_GEOMETRY_COLUMNS, {"s": schema, "t": table})
                    cols = cur.fetchall()
                    if len(cols) > 1:
                        raise InputDataError(f"{what}.layer: table {schema}.{table} has {len(cols)} geometry columns "
                                             f"({', '.join(c[0] for c in cols)}); pedgis cannot tell which holds the "
                                             f"footprints. Give `{what}.sql = \"SELECT <columns>, <geometry column> FROM "
                                             f"{schema}.{table}\"` instead of the layer.")
                    query = q.SQL("SELECT * FROM {}.{}").format(q.Identifier(schema), q.Identifier(table))
                    shown = f"table {schema}.{table}"
                    cur.execute(query)
                else:
                    shown = "query"
                    try:  # the user's text as a statement of its own: never pasted into other SQL
                        cur.execute(sql.encode("utf-8"), prepare=True)
                    except psycopg.Error as exc:
                        ro = isinstance(exc, psycopg.errors.ReadOnlySqlTransaction)
                        raise InputDataError(
                            f"{what}.sql: the query on {mask_connection(connection)} failed ({_scrub(exc, connection)}). "
                            + ("pedgis runs it in a read-only transaction: give a SELECT that reads the footprints, "
                               "and write nothing." if ro else
                               "Give one SELECT statement (no ';'-separated statements) that returns the footprints "
                               "with one geometry column.")) from exc
                if cur.description is None:
                    raise InputDataError(f"{what}.sql: the query returns no rows at all (not a SELECT); give a "
                                         "SELECT that returns the footprints with one geometry column.")
                names = [d.name for d in cur.description]
                geo = [i for i, d in enumerate(cur.description) if d.type_code in geo_oids]
                if len(geo) != 1:
                    raise InputDataError(
                        f"{what}.{'layer' if layer else 'sql'}: the {shown} returns "
                        + (f"{len(geo)} geometry columns ({', '.join(names[i] for i in geo)}); select only the one with the "
                           "footprints." if geo else f"no geometry column (columns: {', '.join(names)}); select the "
                           "footprints' geometry column too."))
                dup = sorted({n for n in names if names.count(n) > 1})
                if dup:
                    raise InputDataError(f"{what}.sql: the query returns the column name(s) {', '.join(dup)} more "
                                         "than once; give each column its own name (AS ...).")
                rows = cur.fetchall()
                srids = {}
                if rows:
                    raw = np.array([r[geo[0]] for r in rows], dtype=object)
                    geoms = shapely.from_wkb(np.where(pd.isna(raw), None, raw))
                    srid_of = shapely.get_srid(geoms)
                    present = ~shapely.is_missing(geoms)
                    srids = set(srid_of[present].tolist())
                else:
                    geoms = np.array([], dtype=object)
                crs_obj = _crs_of(cur, srids, src, what, layer, crs)
        except psycopg.Error as exc:
            raise InputDataError(f"{what}.path: reading {src} failed ({_scrub(exc, connection)}). Check that the "
                                 "user may read the table (GRANT SELECT) and that the query is valid.") from exc
        finally:
            conn.rollback()  # nothing was written; end the read-only transaction
    data = {n: [r[i] for r in rows] for i, n in enumerate(names) if i != geo[0]}
    frame = pd.DataFrame(data, columns=[n for i, n in enumerate(names) if i != geo[0]])
    for col in frame.columns:  # numeric(…) arrives as Decimal: numbers for pedgis
        if frame[col].map(lambda v: type(v).__name__ == "Decimal").any():
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    if "geometry" in frame.columns:
        raise InputDataError(f"{what}: the {shown} has an attribute named 'geometry' beside its geometry column "
                             f"{names[geo[0]]}; rename it (AS ...).")
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs_obj), crs=crs_obj)
    messages.append(f"{src}: {len(gdf)} features from PostGIS {shown} (geometry column {names[geo[0]]}"
                    + (f", SRID {next(iter(srids))}" if len(srids) == 1 and next(iter(srids)) else "") + ").")
    if crs is not None and srids == {0}:
        messages.append(f"{src}: geometries without an SRID; using {crs} given in the scenario.")
    return VectorData(gdf=gdf, path=src, layer=layer, format=f"PostGIS {shown}", crs_source="given" if srids == {0} else "file",
                      messages=messages)


def _crs_of(cur, srids: set, src, what: str, layer, crs):
    """The CRS of the geometries' SRID (from ``spatial_ref_sys``), or the given one for SRID 0."""
    from pyproj import CRS

    where = f"{what}.{'layer' if layer else 'sql'}"
    if len(srids) > 1:
        raise CRSError(f"{where}: {src} returns geometries in several SRIDs ({', '.join(map(str, sorted(srids)))}); "
                       "transform them to one (ST_Transform) in a query.")
    srid = next(iter(srids), 0)
    if srid == 0:
        if crs is None:
            if not srids:
                return None
            raise CRSError(f"{where}: {src} returns geometries without an SRID (0). pedgis never guesses a CRS: set it "
                           f"in the database (ST_SetSRID / UpdateGeometrySRID) or give `{what}.crs = \"EPSG:xxxx\"`.")
        try:
            return CRS.from_user_input(crs)
        except Exception as exc:  # noqa: BLE001 - pyproj's CRSError
            raise CRSError(f"{what}.crs: '{crs}' is not a CRS pyproj understands ({exc}).") from exc
    cur.execute("SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = %s", (srid,))
    row = cur.fetchone()
    if row is None:
        raise CRSError(f"{where}: SRID {srid} of {src} is not in the database's spatial_ref_sys; use an EPSG code.")
    auth, code, wkt = row
    try:
        return CRS.from_epsg(code) if str(auth).upper() == "EPSG" else CRS.from_wkt(wkt)
    except Exception as exc:  # noqa: BLE001
        raise CRSError(f"{where}: SRID {srid} of {src} has no CRS pyproj understands ({exc}).") from exc


# --------------------------------------------------------------------------------------------
# writing


@dataclass(frozen=True)
class Target:
    """Where a run's tables go: a connection and a schema."""

    connection: str
    schema: str = "pedgis"

    def __str__(self) -> str:
        return f"{mask_connection(self.connection)} schema {self.schema}"


def target_from(output: dict | None, connection: str | None = None, schema: str | None = None) -> Target | None:
    """The PostGIS target of ``[output]`` (``postgis``, ``postgis_schema``), the command line's
    ``--pg-out`` / ``--pg-schema`` winning; None when there is none."""
    output = output or {}
    conn = connection or output.get("postgis")
    if not conn:
        return None
    if not is_connection(conn):
        raise InputDataError(f"output.postgis: '{mask_connection(conn)}' is not a database connection; write "
                             "postgresql://user@host:5432/database or PG:\"dbname=... host=... user=...\".")
    name = schema or output.get("postgis_schema") or "pedgis"
    if not name or "\x00" in name or len(name.encode("utf-8")) > 63:
        raise InputDataError(f"output.postgis_schema: {name!r} is not a schema name (1 to 63 bytes, no NUL).")
    return Target(str(conn).strip(), name)


def _owned(cur, schema: str) -> tuple[dict, dict, bool]:
    """(tables of ``TABLES`` in the schema: name → OID; pedgis' registry: name → OID; whether a
    registry table exists)."""
    cur.execute("SELECT c.relname, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = ANY(%s)", (schema, [*TABLES, REGISTRY]))
    present = dict(cur.fetchall())
    registry: dict = {}
    if REGISTRY in present:
        cur.execute("SELECT obj_description(%s, 'pg_class')", (present[REGISTRY],))
        comment = cur.fetchone()[0]
        if comment != REGISTRY_COMMENT:
            raise InputDataError(f"output.postgis: {schema}.{REGISTRY} exists and was not made by pedgis; pedgis keeps "
                                 "its record of the tables it wrote there. Choose another schema (output.postgis_schema "
                                 "or --pg-schema).")
        from psycopg import sql as q

        cur.execute(q.SQL("SELECT table_name, table_oid FROM {}.{}").format(q.Identifier(schema), q.Identifier(REGISTRY)))
        registry = dict(cur.fetchall())
    return {k: v for k, v in present.items() if k != REGISTRY}, registry, REGISTRY in present


def _refusals(schema: str, present: dict, registry: dict) -> list[str]:
    return [t for t, oid in present.items() if registry.get(t) != oid]


def target_problems(target: Target) -> list[str]:
    """What stops writing to ``target`` (messages; empty when it can be written): no
    connection, tables of the same names that pedgis did not write."""
    try:
        with connect(target.connection, "output.postgis", read_only=True) as conn:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_type WHERE typname = 'geometry'")
                if cur.fetchone() is None:
                    return [f"output.postgis: the database of {target} has no PostGIS; run CREATE EXTENSION postgis there."]
                present, registry, _ = _owned(cur, target.schema)
            conn.rollback()
    except InputDataError as exc:
        return [str(exc)]
    foreign = _refusals(target.schema, present, registry)
    return [_refusal_message(target, foreign)] if foreign else []


def _refusal_message(target: Target, foreign: list[str]) -> str:
    names = ", ".join(f"{target.schema}.{t}" for t in foreign)
    return (f"output.postgis: {names} in {mask_connection(target.connection)} exist(s) and pedgis did not write "
            f"them (not recorded in {target.schema}.{REGISTRY}); pedgis replaces only the tables it wrote. Name another "
            "schema (output.postgis_schema or --pg-schema), or drop or rename those tables yourself.")


_PG_TYPES = {"b": "boolean", "i": "bigint", "u": "bigint", "f": "double precision", "M": "timestamp"}


def _column_types(frame: pd.DataFrame, json_columns=()) -> dict[str, str]:
    types = {}
    for c in frame.columns:
        if c in json_columns:
            types[c] = "jsonb"
        elif frame[c].dtype == object and frame[c].isna().all():
            types[c] = "double precision"  # an indicator without a value (district.json's null rer)
        else:
            types[c] = _PG_TYPES.get(frame[c].dtype.kind, "text")
    return types


def _cell(v, kind: str):
    if v is None:
        return None
    if kind == "jsonb":
        return json.dumps(v, ensure_ascii=False, allow_nan=False)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if kind == "text":
        return None if (isinstance(v, float) and math.isnan(v)) else str(v)
    return v


def _geometry_sql_type(geoms, srid: int) -> tuple[str, np.ndarray]:
    """The column type (``geometry(MultiPolygon, 25832)``, …) and the geometries as hex EWKB;
    mixed polygons and multipolygons are written as multipolygons (one type per layer, as GIS
    software expects)."""
    import shapely

    g = np.asarray(geoms, dtype=object)
    present = ~shapely.is_missing(g)
    kinds = set(shapely.get_type_id(g[present]).tolist())
    if kinds <= {3, 6} and 6 in kinds:  # Polygon + MultiPolygon
        g = np.where(present & (shapely.get_type_id(g) == 3), shapely.multipolygons(np.where(present, g, None)), g)
        name = "MultiPolygon"
    elif len(kinds) == 1:
        name = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}.get(
            kinds.pop(), "Geometry")
    else:
        name = "Geometry"
    g = shapely.set_srid(g, srid)
    hexes = shapely.to_wkb(g, hex=True, include_srid=True)
    return f"geometry({name}, {srid})", hexes


def _srid(crs, cur, what: str) -> int:
    from pyproj import CRS

    if crs is None:
        raise InputDataError(f"output.postgis: the {what} have no CRS; PostGIS needs an SRID.")
    code = CRS.from_user_input(crs).to_epsg()
    if code is None:
        raise InputDataError(f"output.postgis: the {what}' CRS ({CRS.from_user_input(crs).name}) has no EPSG code, "
                             "which PostGIS needs as its SRID; reproject the inputs to an EPSG CRS.")
    cur.execute("SELECT srid FROM spatial_ref_sys WHERE auth_name = 'EPSG' AND auth_srid = %s LIMIT 1", (code,))
    row = cur.fetchone()
    if row is None:
        raise InputDataError(f"output.postgis: EPSG:{code} is not in the database's spatial_ref_sys.")
    return int(row[0])


def _write_table(cur, schema: str, name: str, frame: pd.DataFrame, geoms, crs, comment: str, json_columns=()) -> int:
    """Create ``schema.name`` (dropped first by the caller) and copy the rows in."""
    from psycopg import sql as q

    for c in frame.columns:
        if len(str(c).encode("utf-8")) > 63:
            raise InputDataError(f"output.postgis: column name '{c}' of {name} is longer than PostgreSQL's 63 bytes; "
                                 "rename the source column.")
    types = _column_types(frame, json_columns)
    srid = _srid(crs, cur, name)
    gtype, hexes = _geometry_sql_type(geoms, srid)
    cols = [q.SQL("{} {}").format(q.Identifier(str(c)), q.SQL(t)) for c, t in types.items()]
    cols.append(q.SQL("geometry {}").format(q.SQL(gtype)))
    cur.execute(q.SQL("CREATE TABLE {}.{} (pedgis_fid bigint PRIMARY KEY, {})").format(
        q.Identifier(schema), q.Identifier(name), q.SQL(", ").join(cols)))
    names = [q.Identifier("pedgis_fid"), *[q.Identifier(str(c)) for c in frame.columns], q.Identifier("geometry")]
    copy = q.SQL("COPY {}.{} ({}) FROM STDIN").format(q.Identifier(schema), q.Identifier(name), q.SQL(", ").join(names))
    kinds = list(types.values())
    with cur.copy(copy) as cp:
        for i, (row, g) in enumerate(zip(frame.itertuples(index=False, name=None), hexes, strict=True)):
            cp.write_row([i + 1, *(_cell(v, k) for v, k in zip(row, kinds, strict=True)), g])
    cur.execute(q.SQL("CREATE INDEX ON {}.{} USING gist (geometry)").format(q.Identifier(schema), q.Identifier(name)))
    cur.execute(q.SQL("COMMENT ON TABLE {}.{} IS {}").format(q.Identifier(schema), q.Identifier(name), q.Literal(comment)))
    cur.execute("SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s", (schema, name))
    return int(cur.fetchone()[0])


def district_frame(result) -> tuple[pd.DataFrame, list, list[str]]:
    """The ``district`` table's one row: every number, flag and text at the top of district.json
    as a column, the carrier tables and the whole document as jsonb; geometry = the boundary."""
    import shapely

    from .outputs import _jsonable

    d = _jsonable(result.district)
    row, json_cols = {}, []
    for k, v in d.items():
        if isinstance(v, (dict, list)):
            if k in ("ed_kwh", "exported_kwh", "unused_kwh", "gap_to_positive"):
                row[k] = v
                json_cols.append(k)
        else:
            row[k] = v
    row["district_json"] = d
    json_cols.append("district_json")
    frame = pd.DataFrame({k: pd.Series([v], dtype=object if k in json_cols else None) for k, v in row.items()})
    bnd = result.boundary
    geom = shapely.union_all(np.asarray(bnd.geometry.values, dtype=object)) if bnd is not None and len(bnd) else None
    return frame, [geom], json_cols


def _frames(result) -> dict[str, tuple]:
    """Table name → (attributes, geometries, CRS, jsonb columns)."""
    from .outputs import buildings_layer

    out = {}
    b = buildings_layer(result)
    out["buildings"] = (pd.DataFrame(b.drop(columns="geometry")), list(b.geometry.values), b.crs, ())
    seg = result.roof_segments
    if seg is not None and len(seg):
        out["roof_segments"] = (pd.DataFrame(seg.drop(columns=seg.geometry.name)), list(seg.geometry.values), seg.crs, ())
    frame, geom, json_cols = district_frame(result)
    crs = result.boundary.crs if result.boundary is not None and len(result.boundary) else b.crs
    out["district"] = (frame, geom, crs, json_cols)
    return out


def write_result(result, target: Target) -> list[str]:
    """Write the run's tables into ``target``: all in one transaction, only over tables pedgis
    wrote (recorded in ``<schema>.pedgis_outputs`` with their OIDs); a stale pedgis table this run
    does not produce (``roof_segments`` of an earlier run with a DSM) is dropped with the rest.

    Returns the tables written (``schema.name``). Raises :class:`InputDataError` (nothing
    changed) when a table is not pedgis', or the database refuses.
    """
    psycopg = _psycopg()
    from psycopg import sql as q

    frames = _frames(result)
    scenario = str(result.district.get("scenario", ""))
    version = str(result.district.get("pedgis_version", ""))
    schema = target.schema
    written = []
    with connect(target.connection, "output.postgis") as conn:
        try:
            with conn.transaction(), conn.cursor() as cur:
                # one writer per schema at a time; taken before looking at what is there
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('pedgis:' || %s))", (schema,))
                cur.execute(q.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(q.Identifier(schema)))
                present, registry, has_registry = _owned(cur, schema)
                foreign = _refusals(schema, present, registry)
                if foreign:
                    raise InputDataError(_refusal_message(target, foreign))
                if not has_registry:
                    cur.execute(q.SQL("CREATE TABLE {}.{} (table_name text PRIMARY KEY, table_oid oid NOT NULL, "
                                      "scenario text, pedgis_version text, written_at timestamptz NOT NULL)")
                                .format(q.Identifier(schema), q.Identifier(REGISTRY)))
                    cur.execute(q.SQL("COMMENT ON TABLE {}.{} IS {}").format(
                        q.Identifier(schema), q.Identifier(REGISTRY), q.Literal(REGISTRY_COMMENT)))
                for name in present:  # ours (checked above): replaced, or dropped when this run has none
                    cur.execute(q.SQL("DROP TABLE {}.{}").format(q.Identifier(schema), q.Identifier(name)))
                    cur.execute(q.SQL("DELETE FROM {}.{} WHERE table_name = %s").format(
                        q.Identifier(schema), q.Identifier(REGISTRY)), (name,))
                for name, (frame, geoms, crs, json_cols) in frames.items():
                    oid = _write_table(cur, schema, name, frame, geoms, crs,
                                       f"pedgis {version}: {name} of scenario '{scenario}'", json_cols)
                    cur.execute(q.SQL("INSERT INTO {}.{} VALUES (%s, %s, %s, %s, now())").format(
                        q.Identifier(schema), q.Identifier(REGISTRY)), (name, oid, scenario, version))
                    written.append(f"{schema}.{name}")
        except psycopg.Error as exc:
            raise InputDataError(f"output.postgis: writing to {target} failed ({_scrub(exc, target.connection)}); "
                                 "nothing was changed there.") from exc
    return written
