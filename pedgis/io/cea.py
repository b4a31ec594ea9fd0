"""A City Energy Analyst (CEA) scenario folder as the buildings source.

CEA keeps a scenario's buildings as (``cea/inputlocator.py``, ``cea/schemas.yml``)::

    <scenario>/inputs/building-geometry/zone.shp            Name, floors_ag, floors_bg, height_ag, height_bg, …
    <scenario>/inputs/building-properties/typology.dbf      Name, YEAR, STANDARD, 1ST_USE, 1ST_USE_R, 2ND_USE,
                                                            2ND_USE_R, 3RD_USE, 3RD_USE_R   (CEA 3.x)

CEA 4 moved the typology into ``zone.shp`` itself (``name``, ``year``, ``const_type``,
``use_type1``, ``use_type1r`` …), which the ``cea`` preset reads as it is. For 3.x, pedgis joins
``typology.dbf`` to ``zone.shp`` on ``Name`` (what a CEA user otherwise does by hand), so the
``cea`` preset finds the uses and their shares (:mod:`pedgis.mixed_use`). ``buildings.path`` is the
scenario folder (its ``zone.shp`` alone has no uses in CEA 3.x).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputDataError

ZONE = Path("inputs") / "building-geometry" / "zone.shp"
TYPOLOGY = Path("inputs") / "building-properties" / "typology.dbf"


def cea_scenario(path) -> Path | None:
    """The scenario folder when ``path`` is one (it holds ``inputs/building-geometry/zone.shp``), else None."""
    try:
        p = Path(path)
    except TypeError:
        return None
    return p if p.is_dir() and (p / ZONE).exists() else None


def _name_column(columns, where: str) -> str:
    for c in columns:
        if str(c).lower() == "name":
            return c
    raise InputDataError(f"{where}: no 'Name' column (CEA's building id); it must have one.")


def read_cea_scenario(path, read_shapefile, crs: str | None = None, encoding: str | None = None,
                      what: str = "buildings"):
    """``zone.shp`` with ``typology.dbf`` joined on ``Name`` (when the scenario has one), as a
    :class:`~pedgis.io.vector_base.VectorData` whose ``path`` is the scenario folder.
    ``read_shapefile(path, crs=, encoding=, what=)`` reads ``zone.shp``: the dispatcher
    :func:`pedgis.io.vector.read_vector_data` hands itself.

    Raises
    ------
    InputDataError
        no zone.shp; a Name missing from, or repeated in, typology.dbf
    """
    import pyogrio

    from .vector_base import detect_shapefile_encoding

    root = cea_scenario(path)
    if root is None:
        raise InputDataError(f"{path}: not a City Energy Analyst scenario (no {ZONE}).")
    vd = read_shapefile(root / ZONE, crs=crs, encoding=encoding, what=what)
    gdf = vd.gdf
    messages = list(vd.messages)
    typ_path = root / TYPOLOGY
    if not typ_path.exists():
        messages.append(f"{root}: CEA scenario without {TYPOLOGY} (CEA 4 keeps the uses in zone.shp); zone.shp read as it is.")
    else:
        enc, _ = detect_shapefile_encoding(typ_path.with_suffix(".shp"))  # its .cpg, language byte or bytes
        try:
            typ = pyogrio.read_dataframe(typ_path, read_geometry=False, encoding="utf-8" if enc == "ascii" else enc)
        except Exception as exc:  # noqa: BLE001 - pyogrio raises several types; the message names the file
            raise InputDataError(f"{typ_path}: cannot be read as a dBase table ({exc}).") from exc
        zname, tname = _name_column(gdf.columns, str(root / ZONE)), _name_column(typ.columns, str(typ_path))
        zkeys = gdf[zname].astype(str).str.strip()
        tkeys = typ[tname].astype(str).str.strip()
        rep = tkeys[tkeys.duplicated()].unique()
        if len(rep):
            raise InputDataError(f"{typ_path}: Name {', '.join(rep[:10])} appear(s) more than once; each building "
                                 "has one row of typology.")
        missing = sorted(set(zkeys) - set(tkeys))
        if missing:
            raise InputDataError(f"{typ_path}: no row for {len(missing)} building(s) of zone.shp ({', '.join(missing[:10])}"
                                 f"{' …' if len(missing) > 10 else ''}); CEA needs one per building: add them "
                                 "(CEA's archetypes-mapper or by hand).")
        extra = sorted(set(tkeys) - set(zkeys))
        clash = [c for c in typ.columns if c != tname and c in gdf.columns]
        joined = typ.drop(columns=[tname]).set_axis(tkeys).reindex(zkeys.to_numpy())
        gdf = gdf.drop(columns=clash)
        for c in joined.columns:
            gdf[c] = joined[c].to_numpy()
        messages.append(f"{root}: CEA scenario, zone.shp ({len(gdf)} buildings) joined with typology.dbf on Name"
                        + (f"; typology.dbf's {', '.join(clash)} replace zone.shp's" if clash else "")
                        + (f"; {len(extra)} typology row(s) without a building ignored ({', '.join(extra[:5])})" if extra else "")
                        + ".")
    vd.gdf = gdf
    vd.path, vd.format, vd.messages = root, "City Energy Analyst scenario", messages
    return vd

