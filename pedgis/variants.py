"""Scenario variants: one scenario file, several options side by side.

A ``[variants.<name>]`` table holds scenario keys that override the base file (same sections and
names, nested tables merged key by key) plus four shortcuts that expand into ordinary keys:

``retrofit_share`` (0-1)
    share of the floor area retrofitted to the ``nzeb`` specific-needs set: every use type's
    SH, SC and DHW needs become (1 − s) × base + s × NZEB (``[needs.overrides]``). Equal to
    retrofitting a share s of the buildings when they are alike; continuous, so the gap solver
    can find the share that closes the gap.
``heat_pumps_replace_boilers = true``
    every ``[systems.<name>]`` of kind ``boiler`` becomes an air-water heat pump for the same
    services and buildings (parameters from pedgis/data/systems.csv).
``pv_all_roofs = true``
    rooftop PV on every included building's usable roof: ``pv_potential_kwp`` from the roof
    model when present, else footprint × ``usable_roof_fraction`` (default 0.5) × 0.2 kWp m⁻²
    (≈ 20 % module efficiency); the yield follows from the weather file / [pv].
``extra_pv_kwp``
    additional on-site PV [kWp] as a ``pv_field`` district system (the gap solver's PV lever).
``usable_roof_fraction`` (0-1)
    with ``pv_all_roofs``: the share of the footprint usable for modules.
``pv_scale`` (≥ 0)
    multiplies every building's rooftop PV (kWp and kWh); the uncertainty study's
    ``usable_roof_fraction`` range is applied through it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np

from .errors import ConfigError

SHORTCUTS = ("retrofit_share", "heat_pumps_replace_boilers", "pv_all_roofs", "extra_pv_kwp", "usable_roof_fraction",
             "pv_scale")
#: Module power per m² of usable roof when the roof model gives no potential (≈ 20 % efficient modules).
KWP_PER_M2 = 0.2
DEFAULT_USABLE_ROOF_FRACTION = 0.5
EXTRA_PV_NAME = "extra_pv"


def deep_merge(base: Mapping, over: Mapping) -> dict:
    """``base`` with ``over`` merged in: nested tables key by key, other values replaced."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _num(value, key, lo=None, hi=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ConfigError(f"expected a number, got {value!r}", key=key)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"must be between {lo:g} and {hi:g}, got {value:g}", key=key)
    return float(value)


def retrofit_overrides(raw: Mapping, share: float) -> dict:
    """``[needs.overrides]`` blending the scenario's needs set with the ``nzeb`` set.

    Notes
    -----
    need_u = (1 − s) · base_u + s · nzeb_u for SH, SC and DHW of every use type u (Eq. 1 and 3
    are linear in the specific need, so this equals retrofitting a share s of the floor area).
    """
    from . import data as pdata

    needs = dict(raw.get("needs", {}) or {})
    base = pdata.needs_table(needs.get("set", "eu27_existing"))
    nz = pdata.needs_table("nzeb")
    over = copy.deepcopy(dict(needs.get("overrides", {}) or {}))
    for use in base.index:
        if use not in nz.index:
            continue
        o = dict(over.get(use, {}) or {})
        for need in ("sh", "sc", "dhw"):
            b = o.get(f"{need}_kwh_m2", base.loc[use, need])
            o[f"{need}_kwh_m2"] = float((1.0 - share) * float(b) + share * float(nz.loc[use, need]))
        over[use] = o
    return over


def expand(raw: Mapping, name: str) -> tuple[dict, dict]:
    """The raw scenario document of variant ``name`` and its table operations.

    Parameters
    ----------
    raw : dict
        The parsed base scenario (TOML), with ``[variants]``.
    name : str
        A variant name, or ``baseline`` for the base file itself.

    Returns
    -------
    (dict, dict)
        The variant's scenario document (no ``[variants]``) and operations on the step-1 table
        (``pv_all_roofs``, ``usable_roof_fraction``, ``pv_scale``).

    Raises
    ------
    ConfigError
        An unknown variant or a bad shortcut value, naming ``variants.<name>.<key>``.
    """
    variants = dict(raw.get("variants", {}) or {})
    base = {k: v for k, v in raw.items() if k != "variants"}
    if name == "baseline" and name not in variants:
        return copy.deepcopy(base), {}
    if name not in variants:
        raise ConfigError(f"no variant \"{name}\"; the scenario defines: {', '.join(['baseline', *variants]) }",
                          key=f"variants.{name}")
    over = dict(variants[name] or {})
    short = {k: over.pop(k) for k in list(over) if k in SHORTCUTS}
    doc = deep_merge(base, over)
    return apply_shortcuts(doc, short, prefix=f"variants.{name}")


def apply_shortcuts(doc: dict, short: Mapping, prefix: str = "variants") -> tuple[dict, dict]:
    """Expand the shortcut keys (module docstring) into scenario keys and table operations."""
    ops: dict = {}
    doc = copy.deepcopy(doc)
    if "retrofit_share" in short:
        s = _num(short["retrofit_share"], f"{prefix}.retrofit_share", 0.0, 1.0)
        doc.setdefault("needs", {})["overrides"] = retrofit_overrides(doc, s)
    if short.get("heat_pumps_replace_boilers"):
        if not isinstance(short["heat_pumps_replace_boilers"], bool):
            raise ConfigError("expected true or false", key=f"{prefix}.heat_pumps_replace_boilers")
        for sname, sysd in list((doc.get("systems") or {}).items()):
            if isinstance(sysd, Mapping) and sysd.get("kind") == "boiler":
                keep = {k: v for k, v in sysd.items() if k in ("services", "uses", "buildings", "default",
                                                                 "eta_emitter", "eta_distribution")}
                doc["systems"][sname] = {"kind": "heat_pump", "variant": "air_water", **keep,
                                         "source": f"{prefix}: heat pump replacing the boiler '{sname}' (pedgis/data/systems.csv)"}
    if "extra_pv_kwp" in short:
        kwp = _num(short["extra_pv_kwp"], f"{prefix}.extra_pv_kwp", 0.0)
        if kwp > 0:
            doc.setdefault("district_systems", {})[EXTRA_PV_NAME] = {
                "technology": "pv_field", "kwp": kwp, "source": f"{prefix}.extra_pv_kwp (gap / variant lever)"}
    if short.get("pv_all_roofs"):
        if not isinstance(short["pv_all_roofs"], bool):
            raise ConfigError("expected true or false", key=f"{prefix}.pv_all_roofs")
        ops["pv_all_roofs"] = True
    if "usable_roof_fraction" in short:
        ops["usable_roof_fraction"] = _num(short["usable_roof_fraction"], f"{prefix}.usable_roof_fraction", 0.0, 1.0)
    if "pv_scale" in short:
        ops["pv_scale"] = _num(short["pv_scale"], f"{prefix}.pv_scale", 0.0)
    return doc, ops


def table_hook(ops: Mapping):
    """A step-1 hook applying the table operations of a variant (or None)."""
    if not ops:
        return None

    def hook(b):
        import pandas as pd

        b = b.copy()
        n = len(b)
        kwp = pd.to_numeric(b["pv_kwp"], errors="coerce").to_numpy(dtype=float) if "pv_kwp" in b else np.full(n, np.nan)
        kwh = pd.to_numeric(b["pv_kwh"], errors="coerce").to_numpy(dtype=float) if "pv_kwh" in b else np.full(n, np.nan)
        if ops.get("pv_all_roofs"):
            frac = ops.get("usable_roof_fraction", DEFAULT_USABLE_ROOF_FRACTION)
            if "pv_potential_kwp" in b:
                pot = pd.to_numeric(b["pv_potential_kwp"], errors="coerce").to_numpy(dtype=float)
                pot = pot * (frac / DEFAULT_USABLE_ROOF_FRACTION) if "usable_roof_fraction" in ops else pot
            else:
                pot = b["footprint_area_m2"].to_numpy(dtype=float) * frac * KWP_PER_M2
            new = np.fmax(np.nan_to_num(kwp), np.nan_to_num(pot))
            grew = new > np.nan_to_num(kwp)
            kwp = np.where(grew, new, kwp)
            kwh = np.where(grew, np.nan, kwh)  # the engine computes the yield of the new kWp
        scale = ops.get("pv_scale")
        if scale is not None:
            kwp = kwp * scale
            kwh = kwh * scale
        b["pv_kwp"] = kwp
        b["pv_kwh"] = kwh
        return b

    return hook


def check_variants(data: Mapping, doc: Mapping, validate) -> list[ConfigError]:
    """Validate every variant as a complete scenario; keys are named ``variants.<name>.<key>``."""

    errors: list[ConfigError] = []
    for name in (data.get("variants") or {}):
        if name == "baseline":
            errors.append(ConfigError("\"baseline\" is the base scenario itself; give the variant another name",
                                      key=f"variants.{name}"))
            continue
        try:
            vdoc, _ = expand(data, name)
        except ConfigError as exc:
            errors.append(exc)
            continue
        _, errs = validate(vdoc)
        for e in errs:
            msg = str(e)
            if e.key and msg.startswith(f"{e.key}: "):
                msg = msg[len(e.key) + 2:]
            errors.append(ConfigError(msg, key=f"variants.{name}.{e.key}" if e.key else f"variants.{name}"))
    return errors
