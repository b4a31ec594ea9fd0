"""Step 2 (paper §2.2): Eq. 1-5 by hand, degree days, the per-building table."""

import math

import numpy as np
import pandas as pd
import pytest

from pedgis import needs as nd


def test_eq1_specific_thermal_need():
    # Eq. 1: TEN = M × Spec; 120 m² × 144 kWh m⁻² a⁻¹ (Table 1, EU-27 SH) = 17,280 kWh a⁻¹
    assert nd.thermal_needs_specific(120.0, 144.0) == pytest.approx(17280.0)
    np.testing.assert_allclose(nd.thermal_needs_specific([100, 0, np.nan], 50.0), [5000, 0, np.nan])


def test_eq2_degree_days():
    # Eq. 2: BEN = BLC × 24 × DD; BLC = 200 m² × 2.4 W m⁻² K⁻¹ = 480 W/K = 0.48 kW/K;
    # 0.48 × 24 × 2,500 K d = 28,800 kWh a⁻¹
    blc = nd.blc_from_area(200.0, 2.4)
    assert blc == pytest.approx(0.48)
    assert nd.thermal_needs_degree_days(blc, 2500.0) == pytest.approx(28800.0)


def test_eq3_dhw_per_area_and_per_person():
    # Eq. 3: 150 m² × 21 kWh m⁻² a⁻¹ = 3,150; 4 persons × 496.5 kWh a⁻¹ = 1,986
    assert nd.dhw_needs(150.0, 21.0) == pytest.approx(3150.0)
    assert nd.dhw_needs(4, 496.5) == pytest.approx(1986.0)


def test_eq4_eq5_electric_needs():
    # Eq. 4: lighting 100 m² × 5 = 500; ventilation 100 m² × 1.3 = 130; Eq. 5: 630
    light = nd.electric_needs(100.0, 5.0)
    vent = nd.electric_needs(100.0, 1.3)
    assert light == pytest.approx(500.0) and vent == pytest.approx(130.0)
    assert nd.electric_needs_total(vent, light) == pytest.approx(630.0)


def test_degree_days_eurostat_method():
    # three days of constant hourly temperature: 10 °C, 20 °C, 26 °C
    idx = pd.date_range("2021-01-01", periods=72, freq="h", tz="Europe/Rome")
    t = pd.Series(np.repeat([10.0, 20.0, 26.0], 24), index=idx)
    # HDD: only day 1 (10 ≤ 15): 18 − 10 = 8; CDD: only day 3 (26 ≥ 24): 26 − 21 = 5
    assert nd.degree_days(t, 18.0, 15.0, "heating") == pytest.approx(8.0)
    assert nd.degree_days(t, 21.0, 24.0, "cooling") == pytest.approx(5.0)
    with pytest.raises(ValueError, match="kind must be"):
        nd.degree_days(t, 18, 15, "both")


def _table():
    return pd.DataFrame({"sh": [144.0, 90.0], "sc": [50.0, 20.0], "dhw": [21.0, 5.0], "lighting": [5.0, 15.0],
                         "ventilation": [1.3, 4.0], "appliances": [20.0, 10.0], "dhw_basis": ["person", "area"],
                         "dhw_kwh_per_unit": [496.5, np.nan], "blc_heating_w_m2k": [2.4, 1.0],
                         "blc_cooling_w_m2k": [1.0, 1.0]}, index=["residential", "office"])


def test_building_needs_table():
    b = pd.DataFrame({"use": ["residential", "residential", "office", "office"], "floor_area_m2": [100.0, 200.0, 300.0, 50.0],
                      "persons": [3, np.nan, np.nan, np.nan], "included": [True, True, True, False]})
    out = nd.building_needs(b, nd.NeedsParameters(table=_table()))
    assert out["ten_sh_kwh"].tolist()[:3] == pytest.approx([14400.0, 28800.0, 27000.0])
    # DHW: 3 persons × 496.5 = 1,489.5; no persons → per area 200 × 21 = 4,200 (flagged); office per area 300 × 5
    assert out["ten_dhw_kwh"].tolist()[:3] == pytest.approx([1489.5, 4200.0, 1500.0])
    assert out["needs_flag"].iloc[1] == "DHW per area: occupant count missing"
    assert out["dhw_basis_used"].tolist()[:3] == ["person", "area", "area"]
    # EEN (Eq. 5) without appliances: office 300 × (15 + 4) = 5,700
    assert out["een_kwh"].iloc[2] == pytest.approx(5700.0)
    # the excluded building is NaN, never 0
    assert out.iloc[3][nd.NEED_COLUMNS].isna().all()


def test_building_needs_degree_days_and_appliances():
    b = pd.DataFrame({"use": ["residential"], "floor_area_m2": [100.0], "included": [True]})
    p = nd.NeedsParameters(table=_table(), method="degree_days", hdd_kd=2000.0, cdd_kd=100.0, include_appliances=True)
    out = nd.building_needs(b, p)
    # SH: 100 × 2.4 W/K/m² = 0.24 kW/K × 24 × 2,000 = 11,520; SC: 0.1 kW/K × 24 × 100 = 240
    assert out["ten_sh_kwh"].iloc[0] == pytest.approx(11520.0)
    assert out["ten_sc_kwh"].iloc[0] == pytest.approx(240.0)
    # EEN = 100 × (5 + 1.3) + appliances 100 × 20 = 2,630
    assert out["een_kwh"].iloc[0] == pytest.approx(2630.0)
    assert not math.isnan(out["een_appliances_kwh"].iloc[0])
