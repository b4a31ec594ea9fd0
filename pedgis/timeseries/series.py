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
from .profiles import ProfileShapes, heat_pump_electricity, spread


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
                  pv_hourly=None, name: str = "buildings"):
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
    name : str
        Name of the table in messages.

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

    def shape_rows(key):
        if key in shapes.shapes:
            return shapes.shapes[key]
        if key in extra:
            return np.asarray(extra[key], dtype=float)
        raise InputDataError(f"unknown profile shape '{key}'; use one of {sorted(shapes.shapes) + sorted(extra)}")

    def part(col, key, a, b):
        try:
            return spread(cols[col][a:b], shape_rows(key), use_idx[a:b])
        except InputDataError as exc:
            raise InputDataError(f"{name}: column '{col}': {exc}") from exc

    def make_chunk(a: int, b: int) -> ChunkInput:
        n = b - a
        e_use = np.zeros((n, H))
        for col, key in spec.electricity.items():
            e_use += part(col, key, a, b)
        hp_heat = hp_elec = None
        if spec.heat_pumps:
            hp_heat = np.zeros((n, H))
            hp_elec = np.zeros((n, H))
            for hp in spec.heat_pumps:
                q = part(hp.heat_column, hp.shape, a, b)
                if cop is not None:
                    e = heat_pump_electricity(q, cop, cols[hp.elec_column][a:b])
                else:
                    e = part(hp.elec_column, hp.shape, a, b)
                hp_heat += q
                hp_elec += e
            e_use += hp_elec
        if pv_hourly is not None:
            e_prod = np.asarray(pv_hourly(a, b), dtype=float)
        elif spec.pv_column:
            if pv_shape is None:
                raise InputDataError("no PV shape: give the weather year's PV profile or hourly PV per building.")
            e_prod = part(spec.pv_column, "pv", a, b) if "pv" in extra else spread(
                np.nan_to_num(cols[spec.pv_column][a:b], nan=0.0), pv_shape)
        else:
            e_prod = np.zeros((n, H))
        carriers = {ELECTRICITY: (e_use, e_prod)}
        for carrier in sorted(set(spec.fuels) | set(spec.production)):
            u = np.zeros((n, H))
            p = np.zeros((n, H))
            for col, key in spec.fuels.get(carrier, {}).items():
                u += part(col, key, a, b)
            for col, key in spec.production.get(carrier, {}).items():
                p += part(col, key, a, b)
            carriers[carrier] = (u, p)
        return ChunkInput(carriers=carriers, hp_heat_kwh=hp_heat, hp_elec_kwh=hp_elec,
                          cop=None if cop is None else np.asarray(cop, dtype=float))

    return make_chunk
