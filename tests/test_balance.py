"""Step 7 (paper §2.7, §2.9): Eq. 17-22."""

import math

import numpy as np
import pytest

from pedgis import balance as bal


def test_eq17_balance_and_verdict():
    # Eq. 17: 4,050 − 5,000 = −950 → negative: positive energy district
    assert bal.ped_balance(4050.0, 5000.0) == pytest.approx(-950.0)
    assert bal.is_positive(-950.0) is True
    assert bal.is_positive(0.0) is False
    np.testing.assert_array_equal(bal.is_positive([-1.0, 1.0]), [True, False])


def test_eq18_to_eq21():
    ed, ex = [1000.0, 2000.0], [500.0, 0.0]
    # Eq. 18: 1,000 × 1.95 + 2,000 × 1.05 − 500 × 1.95 = 1,950 + 2,100 − 975 = 3,075 (= Eq. 17)
    nren = bal.pe_nren(ed, [1.95, 1.05], ex, [1.95, 1.05])
    assert nren == pytest.approx(3075.0)
    # Eq. 19: 1,000 × 0.47 + 0 − 500 × 0.47 = 235
    ren = bal.pe_ren(ed, [0.47, 0.0], ex, [0.47, 0.0])
    assert ren == pytest.approx(235.0)
    # Eq. 20: 3,310; Eq. 21: 235 / 3,310
    tot = bal.pe_total(nren, ren)
    assert tot == pytest.approx(3310.0)
    assert bal.renewable_energy_ratio(ren, tot) == pytest.approx(235.0 / 3310.0)


def test_rer_undefined_when_total_not_positive():
    assert math.isnan(bal.renewable_energy_ratio(100.0, 0.0))
    assert math.isnan(bal.renewable_energy_ratio(100.0, -50.0))
    np.testing.assert_array_equal(np.isnan(bal.renewable_energy_ratio([1.0, 1.0], [2.0, -1.0])), [False, True])


def test_onsite_renewable_share():
    # (TEP_RES 1,000 + EEP_RES 2,000) / (TEU 4,000 + EEU 2,000) = 0.5; a net producer exceeds 1
    assert bal.onsite_renewable_share(1000.0, 2000.0, 4000.0, 2000.0) == pytest.approx(0.5)
    assert bal.onsite_renewable_share(0.0, 9000.0, 4000.0, 2000.0) == pytest.approx(1.5)
    assert math.isnan(bal.onsite_renewable_share(10.0, 0.0, 0.0, 0.0))


def test_eq22_co2_per_delivered_kwh_equals_paper_form_when_export_factors_equal():
    # per delivered kWh: 1,000 × 0.27 + 2,000 × 0.201 − 500 × 0.27 = 270 + 402 − 135 = 537
    co2 = bal.co2_equivalent([1000.0, 2000.0], [500.0, 0.0], [0.27, 0.201])
    assert co2 == pytest.approx(537.0)
    # paper form: Σ PEI_c × f'_c − Σ PEE_c × f'_c with f' = f / PEF_nren
    pef = np.array([1.95, 1.05])
    f_pe = np.array([0.27, 0.201]) / pef
    paper = np.sum(np.array([1000.0, 2000.0]) * pef * f_pe) - np.sum(np.array([500.0, 0.0]) * pef * f_pe)
    assert co2 == pytest.approx(paper)


def test_eq22_export_factor():
    ed, ex, f = [1000.0, 2000.0], [500.0, 0.0], [0.27, 0.201]
    # exports that earn no credit (f_export = 0): 1,000 × 0.27 + 2,000 × 0.201 − 500 × 0 = 672
    assert bal.co2_equivalent(ed, ex, f, [0.0, 0.201]) == pytest.approx(672.0)
    # the paper's Eq. 22 with PEF_nren,export = 0: PEE = 0, so its credit is 0 too: 1,950 × 0.27 / 1.95
    # + 2,100 × 0.201 / 1.05 − 0 = 270 + 402 = 672
    assert 1950.0 * 0.27 / 1.95 + 2100.0 * 0.201 / 1.05 - 0.0 == pytest.approx(672.0)
    # PEF_nren,export = 1.0 for electricity (PEF_nren 1.95): the paper credits PEE × f' =
    # 500 × 1.0 × 0.27 / 1.95 = 69.23; the delivered form gives the same with
    # f_export = 0.27 × 1.0 / 1.95 = 0.13846: 270 + 402 − 69.23 = 602.77
    f_exp = [0.27 * 1.0 / 1.95, 0.201]
    assert bal.co2_equivalent(ed, ex, f, f_exp) == pytest.approx(672.0 - 500.0 * 1.0 * 0.27 / 1.95)
    assert bal.co2_equivalent(ed, ex, f, f_exp) == pytest.approx(602.769, abs=1e-3)


def test_objective_met():
    assert bal.objective_met("positive_energy_balance", -1.0, 10.0, 5.0)
    assert not bal.objective_met("positive_energy_balance", 0.0, 10.0, 5.0)
    assert bal.objective_met("self_sufficient", 5.0, 0.0, 5.0)
    assert not bal.objective_met("self_sufficient", -5.0, 1.0, 5.0)
    assert bal.objective_met("net_ghg", 5.0, 1.0, -0.1)
    with pytest.raises(ValueError, match="unknown objective"):
        bal.objective_met("circular", 0, 0, 0)
