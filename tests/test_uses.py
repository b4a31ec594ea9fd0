"""Step 3 (paper §2.3): Eq. 6-8 by hand, system assignment, carrier inputs."""

import numpy as np
import pandas as pd
import pytest

from pedgis import uses as us
from pedgis.errors import InputDataError


def test_eq6_thermal_use():
    # Eq. 6: TEU = TEN / (η_emitter × η_distribution) = 9,000 / (0.95 × 0.9) = 10,526.3
    assert us.thermal_use(9000.0, 0.95, 0.9) == pytest.approx(9000 / 0.855)


def test_eq7_lighting_ventilation_use_equals_need():
    np.testing.assert_allclose(us.electric_use_lighting_ventilation([500.0, 130.0]), [500.0, 130.0])


def test_eq8_heat_pump_electricity():
    # Eq. 8: EEU = EEU_vent+light + TEN_SH/SCOP + TEN_SC/SEER + TEN_DHW/SCOP_DHW
    # 630 + 12,000/3 + 2,000/4 + 1,500/2.5 = 630 + 4,000 + 500 + 600 = 5,730
    total = us.electric_use_total(630.0, us.heat_pump_electricity(12000, 3.0), us.heat_pump_electricity(2000, 4.0),
                                  us.heat_pump_electricity(1500, 2.5))
    assert total == pytest.approx(5730.0)


def _systems():
    return [
        us.System("hp", "heat_pump", ("sh", "dhw", "sc"), "electricity", 1.0, 1.0, scop=4.0, scop_dhw=2.0, seer=5.0, buildings=("b2",)),
        us.System("gas", "boiler", ("sh", "dhw"), "natural_gas", 1.0, 0.9, eta=0.9, default=True),
        us.System("ac", "heat_pump", ("sc",), "electricity", 1.0, 1.0, seer=4.0, uses=("residential",)),
        us.System("abs", "thermally_driven_heat_pump", ("sc",), "district_heat", 1.0, 1.0, cop_thermal=0.7,
                  aux_electric_share=0.05, uses=("office",)),
        us.System("dh", "district_heating", ("sh", "dhw"), "district_heat", 1.0, 1.0, eta=0.95),
    ]


def _buildings():
    return pd.DataFrame({"building_id": ["b1", "b2", "b3", "b4"], "use": ["residential", "residential", "office", "office"],
                         "system": ["", "", "dh", ""], "included": [True, True, True, False]})


def test_assignment_precedence():
    a = us.assign_systems(_buildings(), _systems())
    # b2 by id (hp wins over ac's use type); b3 by the system column; b1 default boiler + ac by use
    assert a.loc[1].tolist() == ["hp", "hp", "hp"]
    assert a.loc[0].tolist() == ["gas", "ac", "gas"]
    assert a.loc[2].tolist() == ["dh", "abs", "dh"]


def test_building_uses_by_hand():
    b = _buildings()
    needs = pd.DataFrame({"ten_sh_kwh": [9000.0, 8000.0, 19000.0, np.nan], "ten_sc_kwh": [400.0, 1000.0, 1400.0, np.nan],
                          "ten_dhw_kwh": [900.0, 1000.0, 950.0, np.nan], "een_light_kwh": [100.0, 100.0, 100.0, np.nan],
                          "een_vent_kwh": [10.0, 10.0, 10.0, np.nan], "een_appliances_kwh": [0.0, 0.0, 0.0, np.nan]})
    per, rows = us.building_uses(b, needs, us.assign_systems(b, _systems()), _systems())
    # b1: boiler, η_dist 0.9: TEU_sh = 9,000/0.9 = 10,000; gas = 10,000/0.9 = 11,111.1; AC 400/4 = 100 kWh_el
    assert per.loc[0, "teu_sh_kwh"] == pytest.approx(10000.0)
    gas = rows[(rows.building == 0) & (rows.carrier == "natural_gas")]["input_kwh"].sum()
    assert gas == pytest.approx((10000 + 1000) / 0.9)
    assert per.loc[0, "eeu_kwh"] == pytest.approx(110 + 100)
    # b2: heat pump: 8,000/4 + 1,000/2 (SCOP_DHW) + 1,000/5 = 2,700 + 110
    assert per.loc[1, "eeu_kwh"] == pytest.approx(2700 + 110)
    amb = rows[(rows.building == 1) & (rows.carrier == "ambient_air")]["input_kwh"].sum()
    assert amb == pytest.approx(8000 - 2000 + 1000 - 500)      # heat from the environment = output − electricity
    # b3: substation 19,950/0.95 = 21,000 district heat; absorption 1,400/0.7 = 2,000 district heat + 5 % aux
    dh = rows[(rows.building == 2) & (rows.carrier == "district_heat")]["input_kwh"].sum()
    assert dh == pytest.approx(21000 + 2000)
    assert per.loc[2, "eeu_kwh"] == pytest.approx(110 + 1400 * 0.05)
    assert per.loc[2, "teu_thermal_kwh"] == pytest.approx(19950 + 1400)
    # excluded: NaN
    assert np.isnan(per.loc[3, "teu_kwh"]) and np.isnan(per.loc[3, "eeu_kwh"])
    assert list(rows.columns) == us.USE_ROW_COLUMNS


def test_uncovered_need_is_an_error():
    b = _buildings()
    sys = [s for s in _systems() if s.name not in ("ac", "hp")]
    needs = pd.DataFrame({"ten_sh_kwh": [1.0] * 4, "ten_sc_kwh": [1.0] * 4, "ten_dhw_kwh": [1.0] * 4,
                          "een_light_kwh": [0.0] * 4, "een_vent_kwh": [0.0] * 4, "een_appliances_kwh": [0.0] * 4})
    with pytest.raises(InputDataError, match=r"2 included buildings have a SC need but no system covers 'sc'.*Add \"sc\""):
        us.building_uses(b, needs, us.assign_systems(b, sys), sys)


def test_solar_heat_covers_dhw_then_sh():
    b = _buildings()
    needs = pd.DataFrame({"ten_sh_kwh": [9000.0, 8000.0, 19000.0, np.nan], "ten_sc_kwh": [400.0, 1000.0, 1400.0, np.nan],
                          "ten_dhw_kwh": [900.0, 1000.0, 950.0, np.nan], "een_light_kwh": [0.0] * 4,
                          "een_vent_kwh": [0.0] * 4, "een_appliances_kwh": [0.0] * 4})
    solar = [1500.0, 0.0, np.nan, 500.0]
    per, rows = us.building_uses(b, needs, us.assign_systems(b, _systems()), _systems(), solar)
    # b1 (boiler, η_dist 0.9): DHW use 900/0.9 = 1,000 fully solar; 500 left for SH (use 10,000)
    # gas = (10,000 − 500) / 0.9 = 10,555.6 instead of 11,000 / 0.9
    gas = rows[(rows.building == 0) & (rows.carrier == "natural_gas")]["input_kwh"].sum()
    assert gas == pytest.approx(9500 / 0.9)
    st = rows[(rows.building == 0) & (rows.carrier == "solar_thermal")]
    assert st["input_kwh"].sum() == pytest.approx(1500.0)
    # the need is split between solar and the boiler, never lost: 900 + 9,000 + 400
    assert rows[rows.building == 0]["need_kwh"].sum() == pytest.approx(900 + 9000 + 400)
    assert per.loc[0, "solar_thermal_used_kwh"] == pytest.approx(1500.0)
    assert per.loc[0, "solar_thermal_unused_kwh"] == pytest.approx(0.0)
    # the thermal use supplied by thermal systems and solar: 11,000 (TEU of Eq. 11)
    assert per.loc[0, "teu_thermal_kwh"] == pytest.approx(11000.0)
    # excluded building: its solar heat is ignored
    assert np.isnan(per.loc[3, "solar_thermal_used_kwh"])


def test_solar_heat_surplus_is_unused():
    b = _buildings().iloc[:1]
    needs = pd.DataFrame({"ten_sh_kwh": [900.0], "ten_sc_kwh": [0.0], "ten_dhw_kwh": [90.0], "een_light_kwh": [0.0],
                          "een_vent_kwh": [0.0], "een_appliances_kwh": [0.0]})
    per, rows = us.building_uses(b, needs, us.assign_systems(b, _systems()), _systems(), [5000.0])
    # use = (900 + 90) / 0.9 = 1,100; 3,900 unused; no gas needed
    assert per.loc[0, "solar_thermal_used_kwh"] == pytest.approx(1100.0)
    assert per.loc[0, "solar_thermal_unused_kwh"] == pytest.approx(3900.0)
    assert rows[rows.carrier == "natural_gas"]["input_kwh"].sum() == pytest.approx(0.0)


def test_clean_labels():
    out = us.clean_labels(pd.Series([" hp", None, "gas ", "hp", np.nan, 5]))
    assert out.tolist() == ["hp", "", "gas", "hp", "", "5"]
