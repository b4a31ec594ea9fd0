"""Step 5 (paper §2.5): Eq. 11-12 and the per-carrier netting."""

import numpy as np
import pandas as pd
import pytest

from pedgis import delivered as dlv


def test_eq11_eq12_surplus():
    # Eq. 11: STE = TEU − TEP_RES = 50,000 − 20,000 = 30,000 (import)
    assert dlv.thermal_surplus(50000.0, 20000.0) == pytest.approx(30000.0)
    # with 2,000 kWh lost in a heat network between production and use: 50,000 + 2,000 − 20,000
    assert dlv.thermal_surplus(50000.0, 20000.0, 2000.0) == pytest.approx(32000.0)
    # a network that produces exactly its use plus its losses leaves no surplus: 900 + 100 − 1,000
    assert dlv.thermal_surplus(900.0, 1000.0, 100.0) == pytest.approx(0.0)
    # Eq. 12: SEE = EEU − EEP_RES = 10,000 − 25,000 = −15,000 (export)
    assert dlv.electric_surplus(10000.0, 25000.0) == pytest.approx(-15000.0)


def test_net_carriers_matrix():
    demand = np.array([[100.0, 50.0], [10.0, 0.0]])
    onsite = np.array([[30.0, 80.0], [40.0, 0.0]])
    d, e, u = dlv.net_carriers(demand, onsite, [True, False])
    # row 0: carrier 0 delivered 70; carrier 1 surplus 30 not exportable → unused
    np.testing.assert_allclose(d, [[70.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(e, [[0.0, 0.0], [30.0, 0.0]])
    np.testing.assert_allclose(u, [[0.0, 30.0], [0.0, 0.0]])


def test_green_contract_split():
    grid, green = dlv.split_green_contract(1000.0, 0.4, True)
    assert (grid, green) == (pytest.approx(600.0), pytest.approx(400.0))
    grid, green = dlv.split_green_contract(1000.0, 0.4, False)
    assert (grid, green) == (pytest.approx(1000.0), pytest.approx(0.0))


def test_carrier_table():
    t = dlv.carrier_table(pd.Series({"electricity": 100.0, "natural_gas": 50.0}), pd.Series({"electricity": 130.0}),
                          pd.Series({"electricity": True}))
    assert t.loc["electricity", "exported_kwh"] == pytest.approx(30.0)
    assert t.loc["natural_gas", "delivered_kwh"] == pytest.approx(50.0)
    assert t.loc["natural_gas", "onsite_kwh"] == 0.0
