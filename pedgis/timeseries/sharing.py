"""Energy-community sharing: a building's surplus in an hour covers other buildings' deficits.

Used for peer-to-peer / renewable energy communities (REDII art. 22) and +CityxChange's Positive
Energy Blocks: within an hour, the included buildings' summed surplus first covers their summed
deficit; only the rest crosses the district boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SharingTotals:
    """District hourly totals of building-level flows (after each building's own storage).

    Attributes
    ----------
    surplus_kwh, deficit_kwh : ndarray (H,)
        Σ over buildings of export / import per hour, each building on its own [kWh].
    shared_kwh : ndarray (H,)
        min(surplus, deficit): energy passed from buildings in surplus to buildings in deficit.
    """

    surplus_kwh: np.ndarray
    deficit_kwh: np.ndarray

    @property
    def shared_kwh(self) -> np.ndarray:
        return np.minimum(self.surplus_kwh, self.deficit_kwh)

    @property
    def district_import_kwh(self) -> np.ndarray:
        """Import across the boundary with sharing: deficit − shared = max(Σ net, 0)."""
        return self.deficit_kwh - self.shared_kwh

    @property
    def district_export_kwh(self) -> np.ndarray:
        """Export across the boundary with sharing: surplus − shared = max(−Σ net, 0)."""
        return self.surplus_kwh - self.shared_kwh

    def received_fraction(self) -> np.ndarray:
        """Share of each deficit-building's import covered by the community, per hour."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.deficit_kwh > 0, self.shared_kwh / self.deficit_kwh, 0.0)

    def given_fraction(self) -> np.ndarray:
        """Share of each surplus-building's export taken by the community, per hour."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.surplus_kwh > 0, self.shared_kwh / self.surplus_kwh, 0.0)


def sharing_totals(import_kwh, export_kwh) -> SharingTotals:
    """Sum building-level imports and exports per hour.

    Parameters
    ----------
    import_kwh, export_kwh : ndarray (n, H)
        Each building's own grid import and export per hour [kWh] (≥ 0).

    Returns
    -------
    SharingTotals
        Add the totals of several chunks with :func:`add_totals`.
    """
    return SharingTotals(surplus_kwh=np.asarray(export_kwh, dtype=float).sum(axis=0),
                         deficit_kwh=np.asarray(import_kwh, dtype=float).sum(axis=0))


def add_totals(a: SharingTotals | None, b: SharingTotals) -> SharingTotals:
    """Totals of two groups of buildings."""
    if a is None:
        return b
    return SharingTotals(a.surplus_kwh + b.surplus_kwh, a.deficit_kwh + b.deficit_kwh)


@dataclass
class BuildingShares:
    """Per-building result of sharing over the year.

    Attributes
    ----------
    received_kwh : ndarray (n,)
        Energy each building received from the community [kWh a⁻¹].
    given_kwh : ndarray (n,)
        Energy each building gave to the community [kWh a⁻¹].
    import_kwh, export_kwh : ndarray (n,)
        Each building's remaining exchange with the grid beyond the district [kWh a⁻¹].
    """

    received_kwh: np.ndarray
    given_kwh: np.ndarray
    import_kwh: np.ndarray
    export_kwh: np.ndarray


def allocate(import_kwh, export_kwh, totals: SharingTotals) -> BuildingShares:
    """Allocate the hourly shared energy to buildings pro rata to their deficit and surplus.

    Parameters
    ----------
    import_kwh, export_kwh : ndarray (n, H)
        The buildings' own import and export per hour [kWh].
    totals : SharingTotals
        Totals over *all* included buildings (every chunk).

    Returns
    -------
    BuildingShares

    Notes
    -----
    shared_h = min(S_h, D_h) with S_h = Σ_b export_bh, D_h = Σ_b import_bh;
    received_bh = import_bh · shared_h / D_h; given_bh = export_bh · shared_h / S_h.
    Σ_b received = Σ_b given = Σ_h shared_h.
    """
    imp = np.asarray(import_kwh, dtype=float)
    exp_ = np.asarray(export_kwh, dtype=float)
    rin = totals.received_fraction()
    rout = totals.given_fraction()
    received = imp @ rin
    given = exp_ @ rout
    return BuildingShares(received_kwh=received, given_kwh=given,
                          import_kwh=imp.sum(axis=1) - received, export_kwh=exp_.sum(axis=1) - given)
