"""The engine's parameters: every factor of steps 2–7 resolved from a scenario
(:func:`pedgis.pipeline.resolve_model`), with its source. Its own module so that the step modules
(:mod:`pedgis.per_building`, :mod:`pedgis.district_netting`) and the pipeline that chains them
share it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from . import generation as gen
from . import needs as nd
from . import uses as us


@dataclass
class EngineModel:
    """Every parameter of steps 2–7, resolved from a scenario and the shipped tables."""

    needs: nd.NeedsParameters
    systems: list[us.System]
    district_systems: list[gen.DistrictSystem]
    factors: pd.DataFrame  # index carrier: pef_nren, pef_ren, pef_nren_export, pef_ren_export, co2_kg_per_kwh,
    # co2_kg_per_kwh_export, source
    boundary_type: str = "geographical"
    objective: str = "positive_energy_balance"
    checklist: dict = field(default_factory=lambda: {"appliances": False, "ev_charging": False, "public_lighting": False})
    district_loads_kwh: dict = field(default_factory=dict)  # service -> kWh of electricity
    green_share: float = 0.0
    pv_specific_yield: float | None = None
    pv_specific_yield_source: str = ""
    system_column: str | None = "system"
    assumptions: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def counted_green_share(self) -> float:
        """The green contract's share of delivered electricity as the balance counts it: only a
        virtual boundary counts a contract (paper §2.1), elsewhere 0."""
        return self.green_share if self.boundary_type == "virtual" else 0.0
