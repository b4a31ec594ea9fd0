"""The QGIS algorithms on a 3D city model file (the real NRW CityGML excerpt): rooftop PV without a
DSM and floor areas from the model, the same numbers as the command line / library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE, subprocess_env

# the shared data folder beside the repository (../shared/data, or two levels up from a worktree)
NRW = next((p / "shared" / "data" / "lod2_nrw_sample.gml" for p in (ROOT.parent, ROOT.parent.parent)
            if (p / "shared" / "data" / "lod2_nrw_sample.gml").exists()), ROOT.parent / "shared" / "data" / "lod2_nrw_sample.gml")
WEATHER = SAMPLE / "weather" / "pvgis_tmy_45N_8E.epw"
FAST = "[solar]\nn_sectors = 12\nmax_distance_m = 60.0\n"

pytestmark = pytest.mark.skipif(not NRW.exists(), reason="the shared NRW excerpt is not beside the repository")


def test_rooftop_pv_from_a_citygml_file_as_the_command_line(plugin, project, tmp_path):
    import geopandas as gpd
    from qgis import processing

    cfg = tmp_path / "solar.toml"
    cfg.write_text(FAST, encoding="utf-8")
    ref = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "pedgis.cli", "pv", "--buildings", str(NRW), "--weather", str(WEATHER),
                           "--config", str(cfg), "--out", str(ref), "--quiet"], capture_output=True, text=True,
                          env=subprocess_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = json.loads((ref / "pv.json").read_text(encoding="utf-8"))

    out = tmp_path / "qgis"
    res = processing.run("pedgis:rooftoppv", {"BUILDINGS_MODEL": str(NRW), "WEATHER": str(WEATHER),
                                               "SCENARIO": str(cfg), "OUTPUT": str(out)})
    assert res["PV_KWH"] == pytest.approx(expected["pv_kwh"], rel=1e-9)
    segs = gpd.read_file(out / "buildings.gpkg", layer="roof_segments")
    assert len(segs) == 18 and segs["surface_id"].str.startswith("UUID_").all()


def test_floor_areas_from_a_citygml_file(plugin, project, tmp_path):
    import geopandas as gpd
    from qgis import processing

    target = tmp_path / "floors.gpkg"
    scenario = tmp_path / "s.toml"
    scenario.write_text('[buildings]\ndefault_use = "residential"\n'
                        '[systems.boilers]\nkind = "boiler"\ncarrier = "natural_gas"\nservices = ["sh", "dhw"]\ndefault = true\n'
                        '[systems.cooling]\nkind = "heat_pump"\nvariant = "air_water"\nservices = ["sc"]\ndefault = true\n',
                        encoding="utf-8")
    res = processing.run("pedgis:floorareas", {"BUILDINGS_MODEL": str(NRW), "SCENARIO": str(scenario),
                                                "OUTPUT": str(target)})
    got = gpd.read_file(target, layer="buildings").set_index("building_id")
    # the library's step 1 on the same file (storeysAboveGround of every part), default 0.85
    from pedgis.io.step1_inputs import run_step1

    lib = run_step1({"path": str(NRW), "default_use": "residential"}, None, None,
                    storey_height_m={"residential": 3.0}, default_floors={"residential": 3.0},
                    gross_to_conditioned=0.85).buildings.set_index("building_id")
    assert list(got.index) == list(lib.index)
    assert got["floor_area_m2"].to_numpy() == pytest.approx(lib["floor_area_m2"].to_numpy(), rel=1e-9)
    assert res["N_INCLUDED"] == 2  # the two garages (ALKIS 2463) are unconditioned


def test_buildings_are_required_one_way_or_the_other(plugin, project, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="3D city model"):
        processing.run("pedgis:rooftoppv", {"WEATHER": str(WEATHER), "OUTPUT": str(tmp_path / "o")})
