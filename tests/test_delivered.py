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


def test_equal_flows_summed_in_another_order_leave_nothing():
    # the sample's heat network: its supply and its substations' demand, the same flows added in
    # another order, differ by one ulp (3.7e-9 kWh at 11.6 GWh): no import, export or unused heat
    flows = np.random.default_rng(1).uniform(1e4, 1e6, 200)
    supply, demand = float(np.sum(flows)), float(np.sum(flows[::-1]))
    d, e, u = dlv.net_carriers(np.array([demand, 11566705.60759214]), np.array([supply, 11566705.60759214 + 3.725290298461914e-09]),
                               [True, False])
    assert d.tolist() == [0.0, 0.0] and e.tolist() == [0.0, 0.0] and u.tolist() == [0.0, 0.0]
    # a real difference, however small against the flows (1 Wh in 11.6 GWh, 9e-11 relative), stays
    d, e, u = dlv.net_carriers(np.array([11566705.6]), np.array([11566705.601]), False)
    assert u[0] == pytest.approx(0.001, rel=1e-6) and d[0] == 0.0


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
