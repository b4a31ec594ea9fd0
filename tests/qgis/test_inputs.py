"""The dialog's values written into a scenario document (pure dict manipulation)."""

from __future__ import annotations


def test_heat_supply_replaces_space_heating_and_hot_water_systems():
    from pedgis_plugin.algorithms.inputs import DIALOG_SYSTEM, HEAT_SUPPLY, apply_inputs

    doc = {"systems": {
        "boilers": {"kind": "boiler", "services": ["sh", "dhw"], "default": True},
        "hp_all": {"kind": "heat_pump", "services": ["sh", "sc", "dhw"], "uses": ["office"]},
        "ac": {"kind": "heat_pump", "services": ["sc"], "default": True},
    }}
    index = [label for label, _ in HEAT_SUPPLY].index("district heating")
    out = apply_inputs(doc, heat_supply=index)
    assert set(out["systems"]) == {"hp_all", "ac", DIALOG_SYSTEM}
    assert out["systems"]["hp_all"]["services"] == ["sc"]  # keeps only what the dialog does not cover
    assert out["systems"][DIALOG_SYSTEM]["kind"] == "district_heating"
    assert out["systems"][DIALOG_SYSTEM]["services"] == ["sh", "dhw"] and out["systems"][DIALOG_SYSTEM]["default"]
    assert doc["systems"]["hp_all"]["services"] == ["sh", "sc", "dhw"]  # the input is not modified


def test_paths_columns_and_numbers():
    from pedgis_plugin.algorithms.inputs import FACTOR_SETS, apply_inputs

    doc = {"buildings": {"path": "old.shp", "layer": "x", "columns": {"use": "USO", "floors": "PIANI"}},
           "boundary": {"type": "geographical"}, "heights": {"storey_height_m_by_use": {"office": 3.6}}}
    out = apply_inputs(
        doc, buildings=("/tmp/b.gpkg", None), boundary=("/tmp/c.gpkg", "edge"), members=["1", 2],
        dsm="/tmp/dsm.tif", weather="/tmp/w.epw", columns={"use": "CATEGORIA", "floors": None},
        factor_set=[label for label, _ in FACTOR_SETS].index("Germany (DE)"), performance_ratio=0.75,
        storey_height_m=3.2, gross_to_conditioned=0.8,
    )
    assert out["buildings"] == {"path": "/tmp/b.gpkg", "columns": {"use": "CATEGORIA", "floors": "PIANI"}}
    assert out["boundary"] == {"type": "functional", "path": "/tmp/c.gpkg", "layer": "edge", "members": ["1", "2"]}
    assert out["rasters"] == {"dsm": "/tmp/dsm.tif"} and out["weather"] == {"path": "/tmp/w.epw"}
    assert out["scenario"]["country"] == "DE" and out["pv"]["performance_ratio"] == 0.75
    assert out["heights"] == {"storey_height_m": 3.2, "gross_to_conditioned": 0.8}


def test_defaults_change_nothing():
    from pedgis_plugin.algorithms.inputs import apply_inputs

    doc = {"scenario": {"country": "IT"}, "systems": {"a": {"kind": "boiler", "services": ["sh"]}}}
    assert apply_inputs(doc) == doc
