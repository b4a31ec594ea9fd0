"""district.json and buildings.gpkg: the contract keys, reconciliation to the kWh, atomic writing."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

import pedgis.viz
from pedgis.io.outputs import CONTRACT_COLUMNS, reconcile, write_outputs

ROOT = Path(__file__).resolve().parents[1]
TOP_KEYS = ["pei_kwh", "pee_kwh", "ped_balance_kwh", "is_ped", "pe_nren_kwh", "pe_ren_kwh", "pe_total_kwh", "rer",
            "co2eq_kg", "ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_kwh", "teu_kwh", "eeu_kwh", "tep_res_kwh",
            "eep_res_kwh", "ste_kwh", "see_kwh", "ed_kwh", "exported_kwh", "n_buildings", "n_included", "assumptions"]
CARRIER_KEYS = ["carrier", "demand_kwh", "onsite_kwh", "delivered_kwh", "exported_kwh", "pef_nren", "pef_ren",
                "pef_nren_export", "pef_ren_export", "co2_kg_per_kwh", "co2_kg_per_kwh_export", "pei_kwh", "pee_kwh",
                "pe_ren_delivered_kwh",
                "pe_ren_exported_kwh", "co2_kg"]


@pytest.fixture(scope="module")
def written(sample_result, tmp_path_factory):
    out = tmp_path_factory.mktemp("o") / "out"
    write_outputs(sample_result, out)
    return out


def test_district_json_contract(written):
    d = json.loads((written / "district.json").read_text(encoding="utf-8"))
    for k in TOP_KEYS:
        assert k in d, k
    a = d["assumptions"]
    assert a["boundary_type"] == "geographical" and a["objective"] == "positive_energy_balance"
    assert set(a["checklist"]) >= {"epb_uses", "appliances", "ev_charging", "public_lighting"}
    # every carrier factor used carries its source
    for c, f in a["carriers"].items():
        assert f["source"], c
    assert a["carriers"]["electricity"]["pef_nren"] == pytest.approx(1.95)   # IT, DM 26/06/2015
    b = d["breakdown"]
    assert set(b) == {"needs", "uses", "generation", "carriers"}
    for r in b["carriers"]:
        assert list(r) == CARRIER_KEYS
    for r in b["uses"]:
        assert list(r) == ["service", "system", "kind", "need_kwh", "use_kwh", "carrier", "input_kwh"]
    for r in b["generation"]:
        assert list(r) == ["technology", "name", "output", "output_kwh", "res", "virtual", "input_carrier", "input_kwh"]
    assert "public_lighting" in b["needs"]


def test_breakdown_sums(written):
    d = json.loads((written / "district.json").read_text(encoding="utf-8"))
    c = d["breakdown"]["carriers"]
    for key in ("pei_kwh", "pee_kwh"):
        assert sum(r[key] for r in c) == pytest.approx(d[key], abs=0.5)
    assert sum(r["co2_kg"] for r in c) == pytest.approx(d["co2eq_kg"], abs=0.5)
    for r in c:
        if r["carrier"] in d["ed_kwh"]:
            assert r["delivered_kwh"] == pytest.approx(d["ed_kwh"][r["carrier"]])


def test_buildings_gpkg_layers_and_columns(written, sample_result):
    layers = [name for name, _ in pyogrio.list_layers(written / "buildings.gpkg")]
    assert layers[:2] == ["buildings", "boundary"]
    b = gpd.read_file(written / "buildings.gpkg", layer="buildings")
    assert list(b.columns[: len(CONTRACT_COLUMNS)]) == CONTRACT_COLUMNS
    assert len(b) == len(sample_result.buildings)       # one row per input row, nothing dropped
    # UTF-8 addresses survive
    assert b["name"].str.contains("à|è|é|ì|ò|ù").any()
    excl = b[~b["included"]]
    assert len(excl) and excl["pei_kwh"].isna().all() and (excl["exclusion_reason"] != "").all()


def test_buildings_and_district_agree_to_the_kwh(written):
    d = json.loads((written / "district.json").read_text(encoding="utf-8"))
    b = gpd.read_file(written / "buildings.gpkg", layer="buildings")
    for col in ("ten_sh_kwh", "ten_sc_kwh", "ten_dhw_kwh", "een_kwh", "teu_kwh"):
        assert np.nansum(b[col]) == pytest.approx(d[col], abs=1.0), col
    assert np.nansum(b["eeu_kwh"]) + sum(d["district_loads_kwh"].values()) == pytest.approx(d["eeu_kwh"], abs=1.0)
    total = np.nansum(b["ped_balance_kwh"]) + d["district_systems_ped_balance_kwh"] + d["netting_effect_kwh"]
    assert total == pytest.approx(d["ped_balance_kwh"], abs=1.0)
    assert d["buildings_ped_balance_kwh"] == pytest.approx(np.nansum(b["ped_balance_kwh"]), abs=1.0)
    assert d["n_included"] == int(b["included"].sum())


def test_reconcile_table(sample_result):
    r = reconcile(sample_result)
    np.testing.assert_allclose(r["from_buildings"], r["district"], atol=1.0)


def test_nothing_half_written(sample_result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_outputs(sample_result, out)
    before = (out / "district.json").read_bytes()
    map_before = (out / "map.html").read_bytes() if (out / "map.html").exists() else None

    def boom(result, folder, images=False, styles=True, prepared=None):
        (Path(folder) / "map.html").write_text("half")
        raise RuntimeError("viz failed")

    monkeypatch.setattr(pedgis.viz, "write_all", boom, raising=False)
    with pytest.raises(RuntimeError, match="viz failed"):
        write_outputs(sample_result, out)
    assert (out / "district.json").read_bytes() == before
    # the failed run's half page never replaces (or appears beside) the previous outputs
    map_after = (out / "map.html").read_bytes() if (out / "map.html").exists() else None
    assert map_after == map_before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_viz_hook_called(sample_result, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pedgis.viz, "write_all", lambda r, f, images=False, styles=True, prepared=None: calls.append(Path(f)), raising=False)
    out = write_outputs(sample_result, tmp_path / "o")
    assert len(calls) == 1 and calls[0].parent == out.parent      # written in the temporary sibling folder


def test_carrier_flows_close(sample_result):
    """Per carrier: Σ uses + Σ generation inputs = demand = delivered + onsite (used on site)."""
    bd = sample_result.district["breakdown"]
    inputs = {}
    for r in bd["uses"]:
        inputs[r["carrier"]] = inputs.get(r["carrier"], 0.0) + r["input_kwh"]
    for r in bd["generation"]:
        inputs[r["input_carrier"]] = inputs.get(r["input_carrier"], 0.0) + r["input_kwh"]
    produced = {}
    for r in bd["generation"]:
        carrier = "electricity" if r["output"] == "electricity" else "district_heat"
        produced[carrier] = produced.get(carrier, 0.0) + r["output_kwh"]
    for c in bd["carriers"]:
        assert inputs.get(c["carrier"], 0.0) == pytest.approx(c["demand_kwh"], abs=1.0), c["carrier"]
        assert c["delivered_kwh"] + c["onsite_kwh"] == pytest.approx(c["demand_kwh"], abs=1.0), c["carrier"]
        if c["carrier"] in produced:
            unused = sample_result.district["unused_kwh"].get(c["carrier"], 0.0)
            assert produced[c["carrier"]] == pytest.approx(c["onsite_kwh"] + c["exported_kwh"] + unused, abs=1.0)
    losses = [r for r in bd["uses"] if r["service"] == "network_losses"]
    assert len(losses) == 1 and losses[0]["input_kwh"] == pytest.approx(sample_result.district["heat_networks"][0]["losses_kwh"])


def test_every_key_documented(written):
    """docs/outputs.md names every top-level key, breakdown key and buildings column that is written."""
    doc = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    d = json.loads((written / "district.json").read_text(encoding="utf-8"))
    for k in d:
        assert f"`{k}`" in doc, k
    for k in d["assumptions"]:
        assert f"`{k}`" in doc or k in ("scenario", "timestep", "pef_set", "boundary_type", "objective"), k
    b = gpd.read_file(written / "buildings.gpkg", layer="buildings")
    engine_cols = [c for c in b.columns if c.endswith(("_kwh", "_kwp", "_m2")) or c.startswith("system_")]
    for c in engine_cols:
        name = "ed_<carrier>_kwh" if c.startswith("ed_") else c
        for period in ("annual", "monthly", "hourly"):  # time-resolved columns, documented as a pattern
            name = name.replace(f"_{period}_kwh", "_<rule>_kwh")
        assert f"`{name}`" in doc or c in doc, c


def test_output_folder_is_readable_by_others_per_umask(sample_result, tmp_path):
    """The results folder gets the umask's permissions, not mkdtemp's private 0700."""
    import os

    old = os.umask(0o022)
    try:
        out = write_outputs(sample_result, tmp_path / "shared-out")
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == 0o755  # 0o777 & ~0o022


def test_sample_hourly_pv_follows_each_roof(sample_result):
    """With a DSM, the time-resolved balance spreads each building's PV over the year with its own
    roof's hourly yield (orientation, shading), scaled to the engine's annual kWh: the annual sum of
    the hourly PV equals the engine's PV, and the source says the roof model was used."""
    ts = sample_result.district["timeseries"]
    assert ts["profiles"]["sources"]["pv"].startswith("hourly PV per building from the roof-raster model")
    assert "105 of 105 included buildings" in ts["profiles"]["sources"]["pv"]
    pv_engine = float(sample_result.buildings.loc[sample_result.buildings["included"], "pv_kwh"].sum())
    assert float(sample_result.hourly["pv_kwh"].sum()) == pytest.approx(pv_engine, rel=1e-9)
