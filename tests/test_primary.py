"""Step 6 (paper §2.6): Eq. 14-16."""

import numpy as np
import pandas as pd
import pytest

from pedgis import primary as pri


def test_eq14_eq15_eq16():
    # Eq. 14: PEI = 1,000 kWh_el × 1.95 + 2,000 kWh_gas × 1.05 = 1,950 + 2,100 = 4,050
    assert pri.primary_energy_imported([1000.0, 2000.0], [1.95, 1.05]) == pytest.approx(4050.0)
    # Eq. 15: PEE = 500 kWh_el exported × 1.95 = 975
    assert pri.primary_energy_exported([500.0, 0.0], [1.95, 1.05]) == pytest.approx(975.0)
    # Eq. 16: TPEF = 1.95 + 0.47 = 2.42 (IT electricity, DM 26/06/2015)
    assert pri.total_primary_energy_factor(1.95, 0.47) == pytest.approx(2.42)
    # per building (rows) × carriers (columns)
    np.testing.assert_allclose(pri.primary_energy_imported([[1.0, 0.0], [0.0, 2.0]], [2.0, 1.0]), [2.0, 2.0])


def test_weigh_carriers():
    t = pd.DataFrame({"demand_kwh": [100.0], "onsite_kwh": [300.0], "delivered_kwh": [0.0], "exported_kwh": [200.0],
                      "unused_kwh": [0.0]}, index=["electricity"])
    f = pd.DataFrame({"pef_nren": [2.0], "pef_ren": [0.5], "pef_nren_export": [1.5], "pef_ren_export": [0.4],
                      "co2_kg_per_kwh": [0.3], "co2_kg_per_kwh_export": [0.1]}, index=["electricity"])
    w = pri.weigh_carriers(t, f).iloc[0]
    assert w.pee_kwh == pytest.approx(300.0)          # 200 × 1.5
    assert w.pe_ren_exported_kwh == pytest.approx(80.0)   # 200 × 0.4
    assert w.co2_kg == pytest.approx(-20.0)           # 0 × 0.3 − 200 × 0.1 (Eq. 22, export factor)
