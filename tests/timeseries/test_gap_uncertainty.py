"""Gap solver (Brent's method) and uncertainty propagation on functions with known answers."""

import numpy as np
import pytest

from pedgis.errors import ConfigError
from pedgis.timeseries.gap import solve_gap
from pedgis.timeseries.uncertainty import UncertainParameter, bounds, monte_carlo, sample


def test_gap_linear_pv():
    # balance = PEI - PEE = 100,000 - 2.0 * 950 kWh/kWp * kWp  -> zero at 52.63 kWp
    r = solve_gap(lambda kwp: 100_000 - 2.0 * 950 * kwp, "pv_kwp", 0.0, 500.0, unit="kWp")
    assert r.status == "solved"
    assert r.value == pytest.approx(100_000 / 1900, rel=1e-6)
    assert abs(r.balance_kwh) < 1.0
    assert len(r.evaluations) < 15  # a root finder, not a sweep
    assert r.to_dict()["status"] == "solved"
    assert r.message.startswith("pv_kwp = 52.6 kWp brings the balance from 100,000 kWh")


def test_gap_nonlinear_monotone():
    # worst-month balance clipped by self-consumption: 5000 - 300 x + 2 x^2 on [0, 50] -> root 20.0..
    r = solve_gap(lambda x: 5000 - 300 * x + 2 * x ** 2, "storage_kwh", 0.0, 50.0)
    root = (300 - np.sqrt(300 ** 2 - 4 * 2 * 5000)) / 4
    assert r.value == pytest.approx(root, rel=1e-6)


def test_gap_already_and_unreachable():
    r = solve_gap(lambda x: -10.0, "retrofit_share", 0.2, 1.0)
    assert r.status == "already_positive" and r.value == 0.2 and "nothing to add" in r.message
    r = solve_gap(lambda x: 1000 - x, "retrofit_share", 0.0, 1.0)
    assert r.status == "unreachable" and r.value is None
    assert "cannot close the gap" in r.message and "retrofit_share = 1 the balance" in r.message
    # an unbounded lever widens the search x4 up to `expand` times before giving up
    r = solve_gap(lambda x: 1e7 - x, "storage_kwh", 0.0, 10_000.0, unit="kWh", expand=2)
    assert r.status == "unreachable" and "storage_kwh = 160,000 kWh" in r.message
    assert [x for x, _ in r.evaluations] == [0.0, 10_000.0, 40_000.0, 160_000.0]
    r = solve_gap(lambda x: 1e5 - x, "storage_kwh", 0.0, 10_000.0, unit="kWh", expand=3)
    assert r.status == "solved" and r.value == pytest.approx(1e5, rel=1e-6)


def test_gap_errors():
    with pytest.raises(ConfigError, match="gap.pv_kwp: the search range"):
        solve_gap(lambda x: x, "pv_kwp", 5.0, 5.0)
    with pytest.raises(ConfigError, match="is nan"):
        solve_gap(lambda x: float("nan"), "pv_kwp", 0.0, 1.0)


def toy_model(values):
    # balance = needs * 1000 - roof * 20000 + (5000 if PEF set is national else 0)
    b = values["nzeb_sh_kwh_m2"] * 1000 - values["usable_roof_fraction"] * 20000 + (
        5000 if values["pef_set"] == "national" else 0)
    return {"ped_balance_kwh": b, "is_ped": b < 0}


PARAMS = [
    UncertainParameter("nzeb_sh_kwh_m2", 20.0, 9.0, 34.0, source="paper Table 1"),
    UncertainParameter("usable_roof_fraction", 0.8, 0.6, 1.0),
    UncertainParameter("pef_set", "iso52000", choices=["iso52000", "national"]),
]


def test_bounds_by_hand():
    r = bounds(toy_model, PARAMS)
    # base: 20000 - 16000 = 4000 ; extremes: min 9000 - 20000 = -11000, max 34000 - 12000 + 5000 = 27000
    assert r["base"]["ped_balance_kwh"] == pytest.approx(4000)
    assert r["ped_balance_kwh"]["min"] == pytest.approx(-11000)
    assert r["ped_balance_kwh"]["max"] == pytest.approx(27000)
    assert r["corners"] == 8 and r["n_runs"] == 1 + 6 + 8
    assert r["is_ped"]["any"] and not r["is_ped"]["all"] and not r["robust"]
    # tornado sorted by swing: needs 25000, roof 8000, PEF set 5000
    assert [t["parameter"] for t in r["tornado"]] == ["nzeb_sh_kwh_m2", "usable_roof_fraction", "pef_set"]
    assert r["tornado"][0]["swing_kwh"] == pytest.approx(25000)


def test_monte_carlo_probability():
    r = monte_carlo(toy_model, PARAMS, n=400, seed=3)
    # P(b < 0): needs*1000 - roof*20000 + 5000*[national] < 0, checked by brute force on a grid
    g_n = np.linspace(9, 34, 401)
    g_r = np.linspace(0.6, 1.0, 401)
    N, R = np.meshgrid(g_n, g_r)
    p = 0.5 * ((N * 1000 - R * 20000) < 0).mean() + 0.5 * ((N * 1000 - R * 20000 + 5000) < 0).mean()
    assert r["probability_ped"] == pytest.approx(p, abs=0.05)
    assert r["ped_balance_kwh"]["p5"] < r["ped_balance_kwh"]["p50"] < r["ped_balance_kwh"]["p95"]
    assert len(r["samples"]) == 400


def test_latin_hypercube_covers_strata():
    s = sample([UncertainParameter("x", 0.5, 0.0, 1.0)], 10, seed=1)
    x = np.sort([d["x"] for d in s])
    assert (np.floor(x * 10) == np.arange(10)).all()


@pytest.mark.parametrize("kw,match", [
    (dict(name="a", base=1), "give low and high"),
    (dict(name="a", base=1, low=2.0, high=1.0), "below low"),
    (dict(name="a", base=1, choices=[]), "choices is empty"),
])
def test_parameter_errors(kw, match):
    with pytest.raises(ConfigError, match=match):
        UncertainParameter(**kw)


def test_evaluate_contract_and_sample_count():
    with pytest.raises(ConfigError, match="must return ped_balance_kwh"):
        bounds(lambda v: {}, PARAMS[:1])
    with pytest.raises(ConfigError, match="at least one sample"):
        sample(PARAMS, 0)
