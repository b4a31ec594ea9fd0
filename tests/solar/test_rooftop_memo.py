"""Inside a scope (pedgis gap/compare/uncertainty), the rooftop run is reused only when roofs,
rasters, weather and parameters are all the same; a single run keeps no copy."""

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

import pedgis.solar.rooftop as rooftop
from pedgis.solar import scenario as scn
from pedgis.solar.params import SolarParams


@dataclass
class FakeWeather:
    data: pd.DataFrame
    source: str = "w.epw"
    latitude: float = 45.0
    longitude: float = 8.0


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def fake_rooftop_solar(parts, dsm, weather, params, **kw):
        seen.append(params)
        return {"n": len(parts), "table": pd.DataFrame({"pv_kwh": [1.0] * len(parts)})}

    monkeypatch.setattr(rooftop, "rooftop_solar", fake_rooftop_solar)
    yield seen


def _inputs(width=10.0, temp=10.0):
    parts = gpd.GeoDataFrame({"building_id": ["a", "b"]}, geometry=[box(0, 0, width, 10), box(20, 0, 30, 10)], crs=32632)
    weather = FakeWeather(pd.DataFrame({"ghi": [0.0, 500.0], "temp_air": [temp, temp]}))
    return parts, weather


def test_same_inputs_reuse_a_copy(calls):
    parts, weather = _inputs()
    with scn.reuse_rooftop_runs({}):
        first = scn._rooftop_solar_memo(parts, None, weather, SolarParams())
        first["table"].loc[0, "pv_kwh"] = 99.0  # a caller changing its result must not change the memo
        second = scn._rooftop_solar_memo(parts, None, weather, SolarParams())
    assert len(calls) == 1
    assert second["table"]["pv_kwh"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("change", ["params", "weather", "footprint"])
def test_any_change_recomputes(calls, change):
    parts, weather = _inputs()
    store = {}
    with scn.reuse_rooftop_runs(store):
        scn._rooftop_solar_memo(parts, None, weather, SolarParams())
    params = SolarParams()
    if change == "params":
        params = SolarParams.from_dict({"module_efficiency": 0.18})
        assert params != SolarParams()
    elif change == "weather":
        parts, weather = _inputs(temp=11.0)
    else:
        parts, weather = _inputs(width=11.0)
    with scn.reuse_rooftop_runs(store):
        scn._rooftop_solar_memo(parts, None, weather, params)
    assert len(calls) == 2
    assert len(store) == 1  # one entry: the latest run


def test_outside_a_scope_nothing_is_kept(calls):
    """A single pipeline run pays no copy and leaves no store behind: each call runs the model."""
    parts, weather = _inputs()
    first = scn._rooftop_solar_memo(parts, None, weather, SolarParams())
    second = scn._rooftop_solar_memo(parts, None, weather, SolarParams())
    assert len(calls) == 2
    assert first is not second
