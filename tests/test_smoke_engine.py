"""End-to-end smoke test of the engine on a tiny synthetic district (replaced by fuller tests)."""

import json

import geopandas as gpd
from shapely.geometry import box

from pedgis.cli import main


def test_run_writes_contract_outputs(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"ID": ["a", "b"], "USO": ["residential", "residential"], "PIANI": [2, 4]},
        geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)], crs="EPSG:32632")
    gdf.to_file(tmp_path / "b.gpkg")
    (tmp_path / "s.toml").write_text(
        '[scenario]\ncountry = "IT"\n[buildings]\npath = "b.gpkg"\n'
        '[buildings.columns]\nbuilding_id = "ID"\nuse = "USO"\nfloors = "PIANI"\n'
        '[systems.hp]\nkind = "heat_pump"\nservices = ["sh", "sc", "dhw"]\ndefault = true\nscop = 3.0\nseer = 3.0\n',
        encoding="utf-8")
    assert main(["run", str(tmp_path / "s.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    d = json.loads((tmp_path / "out" / "district.json").read_text())
    # floor area 100 m2 x 2 and x 4 floors x 0.85 = 510 m2; SH need from the set's residential value
    assert d["n_buildings"] == 2
    assert d["pei_kwh"] > 0 and d["ped_balance_kwh"] == d["pei_kwh"] - d["pee_kwh"]
