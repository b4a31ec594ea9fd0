"""Step 6: primary energy (paper §2.6, Eq. 14–16).

Delivered and exported energy per carrier are weighted with non-renewable and renewable primary
energy factors. Export factors default to the delivered ones (substitution: an exported kWh
avoids a kWh of the same carrier elsewhere, §2.6) and can be overridden per carrier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def primary_energy_imported(delivered_kwh, pef_nren):
    """Primary energy imported (Eq. 14): PEI = Σ_c ED_c · PEF_nren,c [kWh a⁻¹].

    Arrays are summed over their last axis (carriers), so a buildings × carriers matrix gives
    one PEI per building.
    """
    return np.sum(np.asarray(delivered_kwh, dtype=float) * np.asarray(pef_nren, dtype=float), axis=-1)


def primary_energy_exported(exported_kwh, pef_nren_export):
    """Primary energy exported (Eq. 15): PEE = Σ_c EX_c · PEF_nren,export,c [kWh a⁻¹]."""
    return np.sum(np.asarray(exported_kwh, dtype=float) * np.asarray(pef_nren_export, dtype=float), axis=-1)


def total_primary_energy_factor(pef_nren, pef_ren):
    """Total primary energy factor (Eq. 16): TPEF = PEF_nren + PEF_ren [-]."""
    return np.asarray(pef_nren, dtype=float) + np.asarray(pef_ren, dtype=float)


FACTOR_COLUMNS = ["pef_nren", "pef_ren", "pef_nren_export", "pef_ren_export", "co2_kg_per_kwh", "co2_kg_per_kwh_export"]


def weigh_carriers(table: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Add the factors and the weighted flows to a carrier table (:func:`pedgis.delivered.carrier_table`).

    Adds ``pef_*``, ``co2_kg_per_kwh``, ``co2_kg_per_kwh_export`` and ``pei_kwh`` (Eq. 14),
    ``pee_kwh`` (Eq. 15), ``pe_ren_delivered_kwh``, ``pe_ren_exported_kwh`` (terms of Eq. 19),
    ``co2_kg`` (terms of Eq. 22: ED·f − EX·f_export, per delivered and per exported kWh).
    """
    out = table.copy()
    f = factors.reindex(out.index)
    for c in FACTOR_COLUMNS:
        out[c] = f[c].astype(float).to_numpy()
    ed = out["delivered_kwh"].to_numpy()
    ex = out["exported_kwh"].to_numpy()
    out["pei_kwh"] = ed * out["pef_nren"].to_numpy()
    out["pee_kwh"] = ex * out["pef_nren_export"].to_numpy()
    out["pe_ren_delivered_kwh"] = ed * out["pef_ren"].to_numpy()
    out["pe_ren_exported_kwh"] = ex * out["pef_ren_export"].to_numpy()
    out["co2_kg"] = ed * out["co2_kg_per_kwh"].to_numpy() - ex * out["co2_kg_per_kwh_export"].to_numpy()
    return out
