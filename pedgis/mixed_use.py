"""Buildings with several uses, each with its share of the floor area.

A building's uses come from pairs of columns (use value, share): City Energy Analyst's
``1ST_USE``/``1ST_USE_R`` … ``3RD_USE``/``3RD_USE_R`` (3.x ``typology.dbf``) or ``use_type1``/
``use_type1r`` … (4.x ``zone.shp``) through the ``cea`` preset, or any columns named in the
scenario's ``[buildings.mixed_use]``. Each use value is translated like the single use column
(``[buildings.use_map]``, then the preset's table); uses that translate to the same pedgis use
add up. The step-1 table then carries ``use_shares`` (``"office:0.8;unconditioned:0.2"``) beside
``use``, the main conditioned use (largest share; ``unconditioned`` only when nothing is
conditioned). Step 2 computes each use's needs on its share of the floor area
(:func:`pedgis.needs.building_needs`); the unconditioned share (parking, storage) has none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ConfigError, InputDataError
from .io.presets import UNCONDITIONED, find_column, map_uses, parse_number

#: Use values that mean "no use in this slot" (CEA writes NONE with a share of 0).
EMPTY = {"", "none", "nan", "null", "-"}
#: Shares of a building must add up to 1 (or 100 %) within this tolerance; within it they are
#: scaled to exactly 1.
SUM_TOLERANCE = 0.01

#: Column pairs (use, share) of the presets that carry several uses: CEA 3.x typology.dbf, then 4.x zone.shp.
PRESET_PAIRS = {
    "cea": ((("1ST_USE", "1ST_USE_R"), ("2ND_USE", "2ND_USE_R"), ("3RD_USE", "3RD_USE_R")),
            (("use_type1", "use_type1r"), ("use_type2", "use_type2r"), ("use_type3", "use_type3r"))),
}


@dataclass
class MixedUses:
    """Per row: the main use, the ``use_shares`` text, and the notes to flag."""

    main: pd.Series
    shares: pd.Series
    notes: pd.Series
    pairs: list[tuple[str, str]]
    percent: bool


def format_shares(pairs) -> str:
    """``[("office", 0.8), ("unconditioned", 0.2)]`` → ``"office:0.8;unconditioned:0.2"``."""
    return ";".join(f"{u}:{s:.12g}" for u, s in pairs)


def parse_shares(text) -> list[tuple[str, float]]:
    """The pairs of a ``use_shares`` text (``""`` → ``[]``)."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
        return []
    out = []
    for part in str(text).split(";"):
        use, _, share = part.rpartition(":")
        out.append((use.strip(), float(share)))
    return out


def column_pairs(columns, preset: str | None, spec: dict | None) -> tuple[list[tuple[str, str]], bool]:
    """The (use column, share column) pairs and whether shares are percent: from the scenario's
    ``[buildings.mixed_use]`` (``uses``, ``shares``, ``percent``), else from the preset."""
    spec = spec or {}
    if spec.get("uses") or spec.get("shares"):
        uses, shares = list(spec.get("uses") or []), list(spec.get("shares") or [])
        if len(uses) != len(shares) or not uses:
            raise ConfigError(f"give one share column per use column ({len(uses)} use column(s), {len(shares)} share "
                              "column(s)).", key="buildings.mixed_use.shares")
        missing = [c for c in uses + shares if c not in columns]
        if missing:
            raise ConfigError(f"column(s) {', '.join(missing)} not in the buildings; available: "
                              f"{', '.join(map(str, columns))}.", key="buildings.mixed_use")
        return list(zip(uses, shares, strict=True)), bool(spec.get("percent", False))
    for family in PRESET_PAIRS.get(preset or "", ()):
        found = [(find_column(columns, (u,)), find_column(columns, (s,))) for u, s in family]
        found = [(u, s) for u, s in found if u is not None and s is not None]
        if found:
            return found, False
    return [], False


def mixed_uses(attrs: pd.DataFrame, pairs: list[tuple[str, str]], percent: bool, *, preset: str,
               known_uses, use_map: dict | None, default_use: str | None, ids: pd.Series,
               source_name: str = "buildings") -> MixedUses:
    """Each row's uses and shares, translated into pedgis uses.

    Raises
    ------
    InputDataError
        a share that is not a number or negative; a use without its share; shares that do not add
        up to 1 (100 with ``percent``); unknown use values without ``default_use`` (as for the
        single use column)
    """
    n = len(attrs)
    scale = 100.0 if percent else 1.0
    uses = np.empty((n, len(pairs)), dtype=object)
    shares = np.zeros((n, len(pairs)))
    notes = pd.Series([""] * n, dtype=object)
    for j, (ucol, scol) in enumerate(pairs):
        text = attrs[ucol].astype(object).where(attrs[ucol].notna(), "").astype(str).str.strip()
        num, bad = parse_number(attrs[scol].reset_index(drop=True))
        num, bad = num.to_numpy(), bad.to_numpy()
        empty = text.str.lower().isin(EMPTY).to_numpy()
        for what, sel in ((f"share '{scol}' is not a number", bad), (f"share '{scol}' is negative", num < 0),
                          (f"use '{ucol}' has no share in '{scol}'", ~empty & np.isnan(num) & ~bad)):
            if sel.any():
                listed = ", ".join(map(str, ids.to_numpy()[sel][:10]))
                raise InputDataError(f"{source_name}: {what} for {int(sel.sum())} building(s) ({listed}"
                                     f"{' …' if sel.sum() > 10 else ''}); give each use its share of the floor area "
                                     f"({'0-100 %' if percent else '0-1'}).")
        used = ~empty & (num > 0)
        shares[:, j] = np.where(used, num / scale, 0.0)
        mapped = np.full(n, None, dtype=object)
        if used.any():
            um = map_uses(pd.Series(text.to_numpy()[used]), preset, known_uses, overrides=use_map,
                          default_use=default_use, source_name=f"{source_name}: column {ucol}")
            mapped[used] = um.use.to_numpy(dtype=object)
            notes_j = np.full(n, "", dtype=object)
            notes_j[used] = um.notes.to_numpy(dtype=object)
            notes = pd.Series(np.where(notes_j == "", notes, np.where(notes == "", notes_j, notes + "; " + notes_j)),
                              dtype=object)
        uses[:, j] = mapped
    total = shares.sum(axis=1)
    off = np.abs(total - 1.0) > SUM_TOLERANCE
    if off.any():
        shown = ", ".join(f"{i} ({t * scale:g}{' %' if percent else ''})" for i, t in
                          zip(ids.to_numpy()[off][:10], total[off][:10], strict=True))
        hint = (" They look like percent: set `percent = true` in [buildings.mixed_use]." if not percent
                and np.all(np.abs(total[off] - 100) <= 1) else "")
        raise InputDataError(f"{source_name}: the use shares ({', '.join(s for _, s in pairs)}) of {int(off.sum())} "
                             f"building(s) do not add up to {'100 %' if percent else '1'}: {shown}"
                             f"{' …' if off.sum() > 10 else ''}. Fix them in the source so each building's uses "
                             f"cover its floor area.{hint}")
    main, text_out = [], []
    for i in range(n):
        acc: dict[str, float] = {}
        for j in range(len(pairs)):
            if uses[i, j] is not None and shares[i, j] > 0:
                acc[uses[i, j]] = acc.get(uses[i, j], 0.0) + shares[i, j] / total[i]
        ordered = sorted(acc.items(), key=lambda kv: -kv[1])  # stable: the source's order among equals
        conditioned = [u for u, _ in ordered if u != UNCONDITIONED]
        main.append(conditioned[0] if conditioned else UNCONDITIONED)
        text_out.append(format_shares(ordered))
    return MixedUses(main=pd.Series(main, dtype=object), shares=pd.Series(text_out, dtype=object), notes=notes,
                     pairs=list(pairs), percent=percent)


def use_terms(use: pd.Series, shares: pd.Series | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (building row, use, share) terms of step 2: one term with share 1.0 for a building
    with one use (no ``use_shares``, or an empty one), one per use otherwise; shares add up to
    exactly 1 per building."""
    n = len(use)
    use_arr = use.astype(str).to_numpy(dtype=object)
    if shares is None:
        return np.arange(n), use_arr, np.ones(n)
    text = pd.Series(shares.to_numpy(dtype=object)).fillna("").astype(str).str.strip()
    parts = text.str.split(";").explode()  # one row per use, in order, indexed by building row
    rows = parts.index.to_numpy(dtype=int)
    pairs = parts.str.rpartition(":")
    empty = (parts == "").to_numpy()
    uses = np.where(empty, use_arr[rows], pairs[0].str.strip().to_numpy(dtype=object))
    vals = np.where(empty, 1.0, pd.to_numeric(pairs[2].where(~empty, "1"), errors="coerce").to_numpy(dtype=float))
    count = np.bincount(rows, minlength=n)
    total = np.bincount(rows, weights=vals, minlength=n)
    return rows, uses, np.where(count[rows] > 1, vals / total[rows], 1.0)
