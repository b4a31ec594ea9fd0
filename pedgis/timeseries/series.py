"""Build hourly series of blocks of buildings from the annual engine's table.

A :class:`SeriesSpec` says which annual column (kWh a⁻¹) is spread with which shape into which
carrier; :func:`chunk_factory` returns the ``make_chunk(start, stop)`` callable that
:func:`pedgis.timeseries.balance.run_balance` consumes, so only one block of buildings is ever
held as hourly arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputDataError
from .balance import ELECTRICITY, ChunkInput
from .profiles import ProfileShapes, spread


@dataclass
class HeatPumpSeries:
    """A heat pump end use: its heat (``heat_column``), its electricity (``elec_column``, part of
    the electricity use) and the shape of the heat (``sh``, ``sc`` or ``dhw``)."""

    heat_column: str
    elec_column: str
    shape: str


@dataclass
class SeriesSpec:
    """Which annual columns become which hourly series.

    Attributes
    ----------
    electricity : dict column → shape
        Electricity uses other than heat pumps (shape: an end use of :data:`profiles.END_USES`,
        or a key of ``extra_shapes``, e.g. ``ev``).
    heat_pumps : list of HeatPumpSeries
        Heat-pump electricity, hourly heat / COP(T) when a COP curve is given.
    fuels : dict carrier → {column: shape}
        Delivered fuels and district heat (boilers, CHP input), imports only.
    production : dict carrier → {column: shape}
        On-site production other than rooftop PV (e.g. solar-thermal surplus to district heat).
    pv_column : str or None
        Annual rooftop PV per building [kWh a⁻¹], spread with the weather year's PV shape unless
        hourly PV per building is given.
    """

    electricity: dict
    heat_pumps: list = field(default_factory=list)
    fuels: dict = field(default_factory=dict)
    production: dict = field(default_factory=dict)
    pv_column: str | None = "pv_kwh"

    def columns(self) -> list:
        cols = list(self.electricity)
        for hp in self.heat_pumps:
            cols += [hp.heat_column, hp.elec_column]
        for d in (*self.fuels.values(), *self.production.values()):
            cols += list(d)
        if self.pv_column:
            cols.append(self.pv_column)
        return cols


def chunk_factory(table: pd.DataFrame, spec: SeriesSpec, shapes: ProfileShapes, pv_shape: np.ndarray | None,
                  *, use_column: str = "use", extra_shapes: dict | None = None, cop=None,
                  pv_hourly=None, heat_pump_detail: bool = True, name: str = "buildings"):
    """Return ``make_chunk(start, stop) -> ChunkInput`` over the rows of ``table``.

    Parameters
    ----------
    table : DataFrame
        One row per building to balance (included buildings), with the spec's columns [kWh a⁻¹].
    spec : SeriesSpec
    shapes : ProfileShapes
        Shapes per use type (:func:`profiles.use_shapes`).
    pv_shape : ndarray (H,) or None
        Shape of the annual PV (:func:`profiles.pv_shape`).
    extra_shapes : dict name → ndarray (H,), optional
        Further shapes (``ev``, ``flat`` ...).
    cop : ndarray (H,), optional
        Hourly heat-pump COP. The heat pumps' electricity keeps the engine's annual total (curve
        shape only), so the hourly and annual balances agree.
    pv_hourly : callable (start, stop) → ndarray (n, H), optional
        Hourly PV per building from the roof-raster model (replaces ``pv_column`` × shape).
    heat_pump_detail : bool
        Also return the heat pumps' hourly heat and electricity (needed by a thermal buffer).
    name : str
        Name of the table in messages.

    Notes
    -----
    With a COP curve, a heat pump's hourly electricity is E · (s_h / COP_h) / Σ(s / COP), s the
    heat shape: the same as Q_h / COP_h scaled to the engine's annual E (Eq. 8 per hour).

    Raises
    ------
    InputDataError
        A column of the spec is missing, or a use type has no shape.
    """
    missing = [c for c in spec.columns() if c not in table.columns]
    if missing:
        raise InputDataError(f"{name}: missing column(s) {missing} needed for the hourly balance; "
                             f"run the annual engine first or map these columns.")
    if use_column not in table.columns:
        raise InputDataError(f"{name}: missing column '{use_column}' (use type) needed for the hourly profiles.")
    uses = table[use_column].astype(str).to_numpy()
    unknown = sorted(set(uses) - set(shapes.uses))
    if unknown:
        raise InputDataError(f"{name}: use type(s) {unknown} have no profile shapes; pass them to use_shapes().")
    use_idx = shapes.use_index(uses)
    extra = dict(extra_shapes or {})
    H = shapes.calendar.n_hours
    extra.setdefault("flat", np.full(H, 1.0 / H))
    cols = {c: pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float) for c in set(spec.columns())}

    def shape_row(key, u):
        """Shape ``key`` of use row ``u`` (H,)."""
        if key in shapes.shapes:
            return shapes.shapes[key][u]
        if key in extra:
            return np.asarray(extra[key], dtype=float)
        if key.startswith("hp:"):
            base = shapes.shapes[key[3:]][u] / cop
            tot = base.sum()
            return base / tot if tot > 0 else base
        raise InputDataError(f"unknown profile shape '{key}'; use one of {sorted(shapes.shapes) + sorted(extra)}")

    for key in {*spec.electricity.values(), *(hp.shape for hp in spec.heat_pumps),
                *(k for d in (*spec.fuels.values(), *spec.production.values()) for k in d.values())}:
        if key not in shapes.shapes and key not in extra:
            raise InputDataError(f"unknown profile shape '{key}'; use one of {sorted(shapes.shapes) + sorted(extra)}")

    def combine(pairs, a, b):
        """Σ_k annual_k × shape_k for buildings a:b, one matrix product per use type [kWh]."""
        n = b - a
        out = np.zeros((n, H))
        if not pairs:
            return out
        A = np.empty((n, len(pairs)))
        for j, (col, _) in enumerate(pairs):
            v = cols[col][a:b]
            bad = np.isnan(v)
            if bad.any():
                raise InputDataError(f"{name}: column '{col}': {int(bad.sum())} building(s) have no annual "
                                     f"value (NaN) to spread over the hours; fix the input or the engine step.")
            A[:, j] = v
        ui = use_idx[a:b]
        for u in np.unique(ui):
            m = ui == u
            S = np.stack([shape_row(k, u) for _, k in pairs])
            out[m] = A[m] @ S
        return out

    hp_elec_pairs = [(hp.elec_column, ("hp:" + hp.shape) if cop is not None else hp.shape)
                     for hp in spec.heat_pumps]
    hp_heat_pairs = [(hp.heat_column, hp.shape) for hp in spec.heat_pumps]

    def make_chunk(a: int, b: int) -> ChunkInput:
        n = b - a
        e_use = combine(list(spec.electricity.items()) + hp_elec_pairs, a, b)
        hp_heat = hp_elec = None
        if spec.heat_pumps and heat_pump_detail:
            hp_heat = combine(hp_heat_pairs, a, b)
            hp_elec = combine(hp_elec_pairs, a, b)
        if pv_hourly is not None:
            e_prod = np.asarray(pv_hourly(a, b), dtype=float)
        elif spec.pv_column:
            if pv_shape is None:
                raise InputDataError("no PV shape: give the weather year's PV profile or hourly PV per building.")
            # pv_kwh is NaN for a building outside the DSM (flagged by the solar step): no PV counted
            e_prod = spread(np.nan_to_num(cols[spec.pv_column][a:b], nan=0.0), pv_shape)
        else:
            e_prod = np.zeros((n, H))
        carriers = {ELECTRICITY: (e_use, e_prod)}
        for carrier in sorted(set(spec.fuels) | set(spec.production)):
            carriers[carrier] = (combine(list(spec.fuels.get(carrier, {}).items()), a, b),
                                 combine(list(spec.production.get(carrier, {}).items()), a, b))
        return ChunkInput(carriers=carriers, hp_heat_kwh=hp_heat, hp_elec_kwh=hp_elec,
                          cop=None if cop is None else np.asarray(cop, dtype=float))

    return make_chunk
