"""The loaders of pedgis/data (the tables themselves are checked in test_data_tables.py)."""

import csv
from pathlib import Path

import numpy as np
import pytest

import pedgis
from pedgis import data
from pedgis.errors import InputDataError

DATA = Path(pedgis.__file__).resolve().parent / "data"


def _csv(name):
    with open(DATA / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_pef_table_values_and_export_defaults():
    t = data.pef_table("IT")
    rows = {r["carrier"]: r for r in _csv("primary_energy_factors.csv") if r["set"] == "IT"}
    for carrier, r in rows.items():
        assert t.loc[carrier, "pef_nren"] == pytest.approx(float(r["pef_nren"]))
        # an empty export factor means substitution: the delivered factor (paper §2.6)
        exp = float(r["pef_nren_export"]) if r["pef_nren_export"] else float(r["pef_nren"])
        assert t.loc[carrier, "pef_nren_export"] == pytest.approx(exp)
        assert t.loc[carrier, "source"]
    assert not t[["pef_nren", "pef_ren", "pef_nren_export", "pef_ren_export", "co2_kg_per_kwh"]].isna().any().any()


def test_pef_sets_and_unknown_set():
    assert {"iso52000_default", "IT", "ES", "DE", "FI", "NO", "IE", "NL"} <= set(data.pef_sets())
    with pytest.raises(InputDataError, match="set 'XX' unknown; shipped sets: .*IT"):
        data.pef_table("XX")


def test_needs_table_pivot_and_sources():
    t = data.needs_table("eu27_existing")
    # paper Table 1: EU-27 residential SH 144, SC 50, DHW 21; Table 2: lighting 5
    assert t.loc["residential", ["sh", "sc", "dhw", "lighting"]].tolist() == [144.0, 50.0, 21.0, 5.0]
    assert "Table 1" in t.attrs["source"].loc["residential", "sh"]
    with pytest.raises(InputDataError, match="specific-needs set 'nope' unknown"):
        data.needs_table("nope")


def test_system_default_lookup():
    rows = {(r["kind"], r["parameter"]): float(r["value"]) for r in _csv("systems.csv")}
    v, src = data.system_default("heat_network", "losses")
    assert v == pytest.approx(rows[("heat_network", "losses")]) and src
    assert data.system_default("heat_network", "no_such") is None


def test_dhw_and_storey_tables():
    d = data.dhw_per_unit()
    assert d.set_index("use").loc["health", "kwh_per_unit"] == pytest.approx(1050.0)   # paper §2.2.1
    s = data.storey_heights()
    assert np.all((s["storey_height_m"] > 2) & (s["storey_height_m"] < 10))


def test_broken_tables_fail_loudly(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    data._read.cache_clear()
    try:
        with pytest.raises(InputDataError, match="shipped data table missing"):
            data.dhw_per_unit()
        (tmp_path / "dhw_per_unit.csv").write_text("use,unit,kwh\nx,person,1\n", encoding="utf-8")
        with pytest.raises(InputDataError, match=r"columns \['kwh_per_unit', 'source'\] missing"):
            data.dhw_per_unit()
        data._read.cache_clear()
        (tmp_path / "dhw_per_unit.csv").write_text("use,unit,kwh_per_unit,source\nx,person,1,\n", encoding="utf-8")
        with pytest.raises(InputDataError, match="every row needs a source"):
            data.dhw_per_unit()
    finally:
        data._read.cache_clear()
