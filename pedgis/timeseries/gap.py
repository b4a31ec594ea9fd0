"""What it takes: the lever value that brings the PED balance to zero, found by root finding.

The paper (§2, Fig. 2) asks to "go back and forth ... until the positive energy balance is
achieved". Instead of trial runs, :func:`solve_gap` brackets the root of
``balance(lever) − target`` and refines it with Brent's method (scipy.optimize.brentq).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ConfigError

LEVERS = ("pv_kwp", "retrofit_share", "storage_kwh")


@dataclass
class GapResult:
    """Answer of the gap solver.

    Attributes
    ----------
    lever : str
    value : float or None
        Lever value at which the balance reaches the target (None when unreachable).
    baseline_value : float
        Lever value of the scenario as given.
    baseline_balance_kwh, balance_kwh : float
        Balance at the baseline and at ``value`` [kWh a⁻¹ of primary energy].
    status : {'already_positive', 'solved', 'unreachable'}
    message : str
        One sentence for the user.
    evaluations : list of (float, float) or (float, float, str)
        Every (lever, balance) evaluated, in order; with the netting period of the balance (a
        month under monthly netting) when :func:`pedgis.timeseries.scenarios.gap` made it.
    quantity : str
        What the balance is ("worst month's balance (DB-HE monthly netting)", ...).
    timestep, baseline_period : str
        The scenario's netting and the period the baseline balance belongs to ("year", "Dec").
    """

    lever: str
    value: float | None
    baseline_value: float
    baseline_balance_kwh: float
    balance_kwh: float | None
    status: str
    message: str
    evaluations: list = field(default_factory=list)
    quantity: str = "balance"
    timestep: str = "annual"
    baseline_period: str = "year"

    def to_dict(self) -> dict:
        return {"lever": self.lever, "value": self.value, "baseline_value": self.baseline_value,
                "baseline_balance_kwh": self.baseline_balance_kwh, "balance_kwh": self.balance_kwh,
                "quantity": self.quantity, "timestep": self.timestep, "baseline_period": self.baseline_period,
                "status": self.status, "message": self.message,
                "evaluations": [list(e) for e in self.evaluations]}


def solve_gap(balance: Callable[[float], float], lever: str, baseline: float, upper: float, *,
              target: float = 0.0, xtol: float | None = None, rtol: float = 1e-6, unit: str = "",
              maxiter: int = 60, expand: int = 0, quantity: str = "balance") -> GapResult:
    """Find the lever value where ``balance(value) = target`` in ``[baseline, upper]``.

    Parameters
    ----------
    balance : callable float → float
        PED balance [kWh] as a function of the lever; must decrease (improve) as the lever grows.
        Under monthly netting use the worst month's balance (DB-HE: every month must be covered).
    lever : str
        Name for messages (``pv_kwp``, ``retrofit_share``, ``storage_kwh``).
    baseline : float
        The scenario's own lever value (lower end of the search).
    upper : float
        Largest value that makes physical sense (e.g. all usable roofs, share 1.0).
    target : float
        Balance to reach (0: net-zero limit of a positive district).
    xtol : float, optional
        Absolute tolerance on the lever; default 1e-6 × (upper − baseline).
    unit : str
        Unit of the lever for messages.
    quantity : str
        What ``balance`` returns, for messages (default "balance").
    expand : int
        For an unbounded lever (extra PV, storage): when ``upper`` does not reach the target,
        try ``upper × 4`` up to this many times before answering ``unreachable``.

    Returns
    -------
    GapResult
        ``already_positive`` when the baseline already meets the target, ``unreachable`` when the
        upper end does not, else ``solved`` with the root.

    Raises
    ------
    ConfigError
        ``upper`` not above ``baseline``, or a balance that is not a finite number.
    """
    from scipy.optimize import brentq

    if not (math.isfinite(baseline) and math.isfinite(upper)) or upper <= baseline:
        raise ConfigError(f"the search range [{baseline}, {upper}] {unit} is empty; give an upper bound above "
                          f"the scenario's value", key=f"gap.{lever}")
    evals: list[tuple[float, float]] = []

    def f(x: float) -> float:
        v = float(balance(x))
        if not math.isfinite(v):
            raise ConfigError(f"the balance at {lever} = {x:g} {unit} is {v}; check the scenario inputs",
                              key=f"gap.{lever}")
        evals.append((float(x), v))
        return v - target

    f0 = f(baseline)
    b0 = f0 + target
    if f0 <= 0:
        return GapResult(lever, float(baseline), float(baseline), b0, b0, "already_positive",
                         f"the {quantity} is already {b0:,.0f} kWh at {lever} = {_num(baseline)}{' ' + unit if unit else ''}: nothing to add.",
                         evals, quantity)
    f1 = f(upper)
    for _ in range(expand):
        if f1 <= 0:
            break
        upper = upper * 4.0
        f1 = f(upper)
    if f1 > 0:
        return GapResult(lever, None, float(baseline), b0, f1 + target, "unreachable",
                         f"even at {lever} = {_num(upper)}{' ' + unit if unit else ''} the {quantity} stays {f1 + target:,.0f} kWh > "
                         f"{target:g}: this lever alone cannot close the gap.", evals, quantity)
    lo = _last_positive(evals, baseline, target)
    tol = xtol if xtol is not None else 1e-6 * (upper - baseline)
    root = brentq(f, lo, upper, xtol=tol, rtol=max(rtol, 4 * 2.2e-16), maxiter=maxiter)
    bal = f(root) + target
    return GapResult(lever, float(root), float(baseline), b0, bal, "solved",
                     f"{lever} = {_num(root)}{' ' + unit if unit else ''} brings the {quantity} from {b0:,.0f} kWh to {bal:,.0f} kWh.",
                     evals, quantity)


def _last_positive(evals, baseline, target):
    """Largest evaluated lever value whose balance is still above the target (bracket start)."""
    above = [x for x, v in evals if v > target]
    return max(above) if above else baseline


def _num(x: float) -> str:
    """A lever value for messages: thousands separated, shares with 3 decimals."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
