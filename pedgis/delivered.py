"""Step 5: delivered and exported energy per carrier (paper §2.5, Eq. 11–13).

The surplus indicators compare use with on-site production (Eq. 11–12). Delivered and exported
energy are then netted per energy carrier over the year: what a carrier's on-site production
does not cover is delivered from outside the boundary, what it produces beyond its demand is
exported (when the carrier can be exported). Fuels for boilers and CHPs are delivered; the CHP
fuel is counted once for both outputs (Eq. 13, :func:`pedgis.generation.chp_fuel_input`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def thermal_surplus(teu_kwh, tep_res_kwh, losses_kwh=0.0):
    """Surplus of thermal energy (Eq. 11): STE = (TEU + L) − TEP_RES [kWh a⁻¹].

    Parameters
    ----------
    teu_kwh : thermal use supplied by thermal systems [kWh a⁻¹]
    tep_res_kwh : on-site heat production [kWh a⁻¹]
    losses_kwh : heat lost between the production and the use: heat-network distribution and
        substation losses [kWh a⁻¹]. They are a use of the district's production (paper §2.4:
        mean DH loss 13.7 %), so a surplus is only what is really left over.

    Notes
    -----
    STE > 0: thermal energy to be delivered (boilers, district heat); STE < 0: thermal surplus,
    exported or, where it may not leave, unused. pedgis also subtracts non-RES on-site heat (gas
    CHP) so the indicator describes what crosses the boundary (docs/methodology.md).
    """
    return (np.asarray(teu_kwh, dtype=float) + np.asarray(losses_kwh, dtype=float)
            - np.asarray(tep_res_kwh, dtype=float))


def electric_surplus(eeu_kwh, eep_res_kwh):
    """Surplus of electric energy (Eq. 12): SEE = EEU − EEP_RES [kWh a⁻¹] (> 0 import, < 0 export)."""
    return np.asarray(eeu_kwh, dtype=float) - np.asarray(eep_res_kwh, dtype=float)


def net_carriers(demand, onsite, exportable=True):
    """Annual netting of one or many carriers (Eq. 11–12 per carrier).

    Parameters
    ----------
    demand, onsite : array_like or DataFrame
        Carrier demand (inputs of conversion systems and direct uses) and on-site production of
        the same carrier [kWh a⁻¹]; same shape (e.g. buildings × carriers).
    exportable : bool or array_like
        Whether a surplus of the carrier may leave the boundary; a surplus that may not is
        returned as ``unused``.

    Returns
    -------
    delivered, exported, unused : arrays of the same shape [kWh a⁻¹]

    Notes
    -----
    delivered = max(demand − onsite, 0); exported = max(onsite − demand, 0) where exportable.
    """
    d = np.asarray(demand, dtype=float)
    o = np.asarray(onsite, dtype=float)
    diff = d - o
    delivered = np.clip(diff, 0.0, None)
    surplus = np.clip(-diff, 0.0, None)
    exp = np.broadcast_to(np.asarray(exportable, dtype=bool), surplus.shape)
    exported = np.where(exp, surplus, 0.0)
    unused = np.where(exp, 0.0, surplus)
    return delivered, exported, unused


def split_green_contract(delivered_electricity_kwh, share, allowed: bool):
    """Split delivered grid electricity into grid and green-contract electricity.

    Returns (grid, green) [kWh a⁻¹]. ``green = share × delivered`` only when the boundary type
    allows contracts (virtual boundary, paper §2.1), else 0.
    """
    d = np.asarray(delivered_electricity_kwh, dtype=float)
    s = float(share) if allowed else 0.0
    return d * (1.0 - s), d * s


def carrier_table(demand: pd.Series, onsite: pd.Series, exportable: pd.Series) -> pd.DataFrame:
    """District carrier balance [kWh a⁻¹], index carrier.

    Columns: ``demand_kwh``, ``onsite_kwh`` (on-site production), ``onsite_used_kwh`` (the part
    used within the boundary, min(demand, production)), ``delivered_kwh``, ``exported_kwh``,
    ``unused_kwh``. Identities: demand = delivered + onsite_used; onsite = onsite_used +
    exported + unused.
    """
    idx = demand.index.union(onsite.index)
    d = demand.reindex(idx, fill_value=0.0).astype(float)
    o = onsite.reindex(idx, fill_value=0.0).astype(float)
    e = exportable.reindex(idx, fill_value=False).astype(bool)
    delivered, exported, unused = net_carriers(d.to_numpy(), o.to_numpy(), e.to_numpy())
    used = np.minimum(d.to_numpy(), o.to_numpy())
    return pd.DataFrame({"demand_kwh": d.to_numpy(), "onsite_kwh": o.to_numpy(), "onsite_used_kwh": used,
                         "delivered_kwh": delivered, "exported_kwh": exported, "unused_kwh": unused}, index=idx)
