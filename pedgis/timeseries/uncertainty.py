"""How robust is "positive"? The verdict with ranges from uncertain assumptions.

The paper stresses that the balance rests on assumptions (§2.2 energy needs — NZEB heating needs
range 9-34 kWh m⁻² a⁻¹, Table 1; §2.6 primary energy factors — national values or ISO 52000-1
defaults; §3 accuracy at design stage). This module propagates such choices to the balance:

* :func:`bounds`: one-at-a-time sensitivity (a tornado) and, for few parameters, every corner of
  the box of extremes — the verdict is *robust* when every corner agrees;
* :func:`monte_carlo`: Latin-hypercube samples of continuous ranges and uniform picks of discrete
  choices, giving percentiles of the balance and the probability that the district is positive.

Both take an ``evaluate(values) -> dict`` callable (the pipeline with the values applied) and are
otherwise pure.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


@dataclass
class UncertainParameter:
    """One uncertain assumption.

    Attributes
    ----------
    name : str
        Name of the driver (e.g. ``pef_set``, ``nzeb_sh_kwh_m2``, ``usable_roof_fraction``,
        ``weather``).
    base : object
        Value of the scenario as given.
    low, high : float, optional
        Range of a continuous parameter (uniform).
    choices : list, optional
        Alternatives of a discrete parameter (e.g. ``["national", "iso52000"]``, weather files).
    source : str
        Where the range comes from.
    """

    name: str
    base: object
    low: float | None = None
    high: float | None = None
    choices: list | None = None
    source: str = ""

    def __post_init__(self):
        if self.choices is None:
            if self.low is None or self.high is None or not np.isfinite([self.low, self.high]).all():
                raise ConfigError("give low and high (a range) or choices", key=f"uncertainty.{self.name}")
            if self.high < self.low:
                raise ConfigError(f"high {self.high} is below low {self.low}", key=f"uncertainty.{self.name}")
        elif len(self.choices) == 0:
            raise ConfigError("choices is empty", key=f"uncertainty.{self.name}")

    @property
    def extremes(self) -> list:
        return list(self.choices) if self.choices is not None else [self.low, self.high]


def _run(evaluate, values):
    out = evaluate(dict(values))
    if "ped_balance_kwh" not in out or "is_ped" not in out:
        raise ConfigError("evaluate() must return ped_balance_kwh and is_ped", key="uncertainty")
    return out


def bounds(evaluate: Callable[[dict], dict], params: list, max_corners: int = 64) -> dict:
    """One-at-a-time ranges and the corners of the box of extremes.

    Parameters
    ----------
    evaluate : callable dict → dict
        Returns at least ``ped_balance_kwh`` and ``is_ped`` for the given parameter values
        (missing names: the scenario's own values).
    params : list of UncertainParameter
    max_corners : int
        Evaluate all corners only when their number is at most this (2^k for k ranges).

    Returns
    -------
    dict
        ``base`` (balance, verdict), ``tornado`` (per parameter: value → balance), ``corners``
        (number evaluated), ``ped_balance_kwh`` {min, max}, ``is_ped`` {all, any}, ``robust``.
    """
    base_vals = {p.name: p.base for p in params}
    base = _run(evaluate, base_vals)
    results = [base]
    tornado = []
    for p in params:
        row = {"parameter": p.name, "source": p.source, "values": [], "ped_balance_kwh": [], "is_ped": [],
               "period": []}
        for v in p.extremes:
            r = _run(evaluate, {**base_vals, p.name: v})
            results.append(r)
            row["values"].append(v)
            row["ped_balance_kwh"].append(float(r["ped_balance_kwh"]))
            row["is_ped"].append(bool(r["is_ped"]))
            row["period"].append(r.get("period", "year"))
        row["swing_kwh"] = float(max(row["ped_balance_kwh"]) - min(row["ped_balance_kwh"]))
        tornado.append(row)
    tornado.sort(key=lambda r: -r["swing_kwh"])
    n_corners = int(np.prod([len(p.extremes) for p in params])) if params else 0
    corners = 0
    if 0 < n_corners <= max_corners and len(params) > 1:
        for combo in itertools.product(*[p.extremes for p in params]):
            results.append(_run(evaluate, dict(zip([p.name for p in params], combo, strict=True))))
            corners += 1
    bal = np.array([float(r["ped_balance_kwh"]) for r in results])
    ped = np.array([bool(r["is_ped"]) for r in results])
    return {
        "method": "bounds",
        "base": {"ped_balance_kwh": float(base["ped_balance_kwh"]), "is_ped": bool(base["is_ped"]),
                 "period": base.get("period", "year")},
        "tornado": tornado,
        "corners": corners,
        "n_runs": len(results),
        "ped_balance_kwh": {"min": float(bal.min()), "max": float(bal.max())},
        "is_ped": {"all": bool(ped.all()), "any": bool(ped.any())},
        "robust": bool(ped.all() or not ped.any()),
    }


def sample(params: list, n: int, seed: int = 0) -> list:
    """Latin-hypercube samples of the parameters (discrete choices picked uniformly).

    Returns
    -------
    list of dict
        ``n`` dicts name → value.
    """
    if n < 1:
        raise ConfigError(f"need at least one sample, got {n}", key="uncertainty.samples")
    rng = np.random.default_rng(seed)
    cols = {}
    for p in params:
        u = (rng.permutation(n) + rng.random(n)) / n  # one point in each of n strata
        if p.choices is not None:
            k = np.minimum((u * len(p.choices)).astype(int), len(p.choices) - 1)
            cols[p.name] = [p.choices[i] for i in k]
        else:
            cols[p.name] = list(p.low + u * (p.high - p.low))
    return [{name: cols[name][i] for name in cols} for i in range(n)]


def monte_carlo(evaluate: Callable[[dict], dict], params: list, n: int = 100, seed: int = 0) -> dict:
    """Monte Carlo propagation of the uncertain parameters.

    Returns
    -------
    dict
        ``ped_balance_kwh`` {min, p5, p50, p95, max, mean}, ``probability_ped``, ``n_runs``,
        ``samples`` (values and balance of each run).

    Notes
    -----
    Latin-hypercube sampling (McKay, Beckman & Conover 1979, Technometrics 21:239-245) of
    uniform ranges; percentiles by linear interpolation (numpy default).
    """
    draws = sample(params, n, seed)
    runs = []
    for d in draws:
        r = _run(evaluate, d)
        runs.append({**{k: (v if isinstance(v, str) else float(v)) for k, v in d.items()},
                     "ped_balance_kwh": float(r["ped_balance_kwh"]), "is_ped": bool(r["is_ped"])})
    bal = np.array([r["ped_balance_kwh"] for r in runs])
    p5, p50, p95 = np.percentile(bal, [5, 50, 95])
    prob = float(np.mean([r["is_ped"] for r in runs]))
    return {
        "method": "monte_carlo",
        "n_runs": n,
        "seed": seed,
        "ped_balance_kwh": {"min": float(bal.min()), "p5": float(p5), "p50": float(p50), "p95": float(p95),
                            "max": float(bal.max()), "mean": float(bal.mean())},
        "probability_ped": prob,
        "robust": bool(prob in (0.0, 1.0)),
        "samples": runs,
    }
