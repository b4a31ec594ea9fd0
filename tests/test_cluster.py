"""Rooftop PV of a DSM's tiles and the hourly balance's chunks of buildings on a real Dask cluster
(issue 12 item 2): a 2-worker LocalCluster gives the numbers of one process, bit for bit, through
the library, `pedgis pv --scheduler` and `pedgis run --workers`.

The expected values are the single-process run's own outputs: a tile is a pure function of its
inputs (:func:`pedgis.solar.rooftop.solve_tile`), so any difference is a defect in how tiles are
cut, shipped or merged. The sample DSM is cut into 256-pixel tiles (15 tiles) so that buildings of
many tiles share neighbours and horizons across tile edges.
"""

import json
import logging
import shutil
import sys
import warnings
from pathlib import Path

import distributed
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from pedgis.cli import main
from pedgis.cluster import cluster, current_client
from pedgis.errors import InputDataError
from pedgis.io.solar_rasters import open_grid
from pedgis.io.weather import read_weather
from pedgis.solar.params import SolarParams
from pedgis.solar.rooftop import rooftop_solar

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
TILES = "[solar]\ntile_size = 256\n"


@pytest.fixture(scope="module")
def dask_cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as local:
        yield local


def _sample_rooftop():
    b = gpd.read_file(SAMPLE / "buildings.shp")
    b["building_id"] = b["CAD_ID"].astype(str)
    b = b.dissolve("building_id", as_index=False)[["building_id", "geometry"]]
    b.geometry = b.geometry.make_valid()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weather = read_weather(SAMPLE / "weather" / "pvgis_tmy_45N_8E.epw")
        dsm, dtm = open_grid(SAMPLE / "dsm.tif", "DSM"), open_grid(SAMPLE / "dtm.tif", "DTM")
        try:
            return rooftop_solar(b, dsm, weather, SolarParams(tile_size=256, keep_hourly=True), dtm=dtm)
        finally:
            dsm.source.close()
            dtm.source.close()


def _assert_same(a, b):
    pd.testing.assert_frame_equal(a.buildings, b.buildings, check_exact=True)
    np.testing.assert_array_equal(a.irradiation, b.irradiation)
    np.testing.assert_array_equal(a.sky_view, b.sky_view)
    pd.testing.assert_frame_equal(a.segments.drop(columns="geometry"), b.segments.drop(columns="geometry"),
                                  check_exact=True)
    assert a.segments.geometry.geom_equals_exact(b.segments.geometry, 0.0).all()
    pd.testing.assert_frame_equal(a.hourly_pv_kwh, b.hourly_pv_kwh, check_exact=True)
    pd.testing.assert_frame_equal(a.hourly_poa_w_m2, b.hourly_poa_w_m2, check_exact=True)


def test_tiles_on_two_workers_give_the_numbers_of_one_process(dask_cluster):
    here = _sample_rooftop()
    assert current_client() is None
    with cluster(scheduler=dask_cluster.scheduler_address) as client:
        with distributed.get_task_stream(client) as stream:
            there = _sample_rooftop()
    assert current_client() is None  # the cluster is the block's only
    # the tiles did run on the workers: one solve_tile task per tile, on both workers
    tasks = [t for t in stream.data if "solve_tile" in str(t["key"])]
    assert len(tasks) == 15
    assert len({t["worker"] for t in tasks}) == 2
    assert np.isfinite(here.buildings["pv_kwh"]).sum() == len(here.buildings) > 100
    _assert_same(here, there)


def _pv(capsys, out, *extra):
    code = main(["pv", "--buildings", str(SAMPLE / "buildings.shp"), "--dsm", str(SAMPLE / "dsm.tif"),
                 "--dtm", str(SAMPLE / "dtm.tif"), "--weather", str(SAMPLE / "weather" / "pvgis_tmy_45N_8E.epw"),
                 "--config", str(out.parent / "tiles.toml"), "--out", str(out), *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured


def test_pv_with_workers_writes_the_files_of_one_process(tmp_path, capsys):
    (tmp_path / "tiles.toml").write_text(TILES, encoding="utf-8")
    _pv(capsys, tmp_path / "one", "--quiet")
    said = _pv(capsys, tmp_path / "cluster", "--workers", "2")
    assert "Dask: 2 workers" in said.err and "Dask: peak memory per worker" in said.err
    for layer in ("buildings", "roof_segments"):
        a = gpd.read_file(tmp_path / "one" / "buildings.gpkg", layer=layer)
        b = gpd.read_file(tmp_path / "cluster" / "buildings.gpkg", layer=layer)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    for name in ("pv_hourly_kwh.parquet", "irradiation.tif"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "cluster" / name).read_bytes(), name
    one, two = (json.loads((tmp_path / d / "pv.json").read_text()) for d in ("one", "cluster"))
    assert one == two


def test_run_on_a_scheduler_gives_the_result_of_one_process(tmp_path, capsys, dask_cluster):
    district = tmp_path / "district"
    shutil.copytree(SAMPLE, district)
    scenario = district / "scenario.toml"
    # 16 buildings per block of hourly arrays: the hourly balance is 7 chunks, mapped on the cluster
    scenario.write_text(scenario.read_text(encoding="utf-8") + "\n" + TILES + "\n[timeseries]\nchunk_size = 16\n",
                        encoding="utf-8")
    assert main(["run", str(scenario), "--out", str(tmp_path / "one"), "--quiet"]) == 0
    with distributed.Client(dask_cluster.scheduler_address) as watcher:
        with distributed.get_task_stream(watcher) as stream:  # every task the scheduler runs meanwhile
            assert main(["run", str(scenario), "--out", str(tmp_path / "cluster"), "--scheduler",
                         dask_cluster.scheduler_address]) == 0
    assert "Dask: 2 workers" in capsys.readouterr().err
    keys = [str(t["key"]) for t in stream.data]
    assert sum("solve_tile" in k for k in keys) == 15  # the DSM tiles
    assert sum("chunk_balance" in k for k in keys) == 7  # 106 rows (105 included buildings + the district node) / 16
    # steps 2-7: one partition (117 buildings < CLUSTER_PARTITION) mapped, reduced here, mapped again
    assert [sum(f"{f}-" in k for k in keys) for f in ("building_steps", "totals_of", "building_results")] == [1, 1, 1]
    a = gpd.read_file(tmp_path / "one" / "buildings.gpkg", layer="buildings")
    b = gpd.read_file(tmp_path / "cluster" / "buildings.gpkg", layer="buildings")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    one, two = (json.loads((tmp_path / d / "district.json").read_text()) for d in ("one", "cluster"))
    assert one["ped_balance_kwh"] == two["ped_balance_kwh"] and one["eep_res_kwh"] > 0
    assert one == two
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "one" / "timeseries.parquet"),
                                  pd.read_parquet(tmp_path / "cluster" / "timeseries.parquet"), check_exact=True)


def _close(a, b, path=""):
    """Equal to float round-off: the partitions' sums are added in another order than one sum."""
    if isinstance(a, dict):
        assert set(a) == set(b), path  # no key of float noise (pedgis.delivered.ROUND_OFF)
        for k in set(a) & set(b):
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and path.endswith("breakdown.uses"):  # the same rows, keyed
        key = lambda r: (r["service"], r["system"], r["kind"], r["carrier"])  # noqa: E731
        _close({key(r): r for r in a}, {key(r): r for r in b}, path)
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-6, nan_ok=True), path
    else:
        assert a == b, path


def test_steps_2_to_7_map_over_partitions_on_the_cluster(dask_cluster, monkeypatch):
    """Steps 2-7 of the sample (with the buildings' own solar heat, so every sum is exercised) in 6
    partitions of 20 buildings on the workers, against one partition in this process."""
    from pedgis import pipeline
    from pedgis.config import load_scenario

    seen = {}
    original = pipeline.compute

    def keep_inputs(table, model, progress=None, partition_size=None):
        seen["table"], seen["model"] = table.copy(), model
        return original(table, model, progress, partition_size)

    monkeypatch.setattr(pipeline, "compute", keep_inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline.run(load_scenario(SAMPLE / "scenario.toml"))
    table, model = seen["table"], seen["model"]
    rng = np.random.default_rng(7)
    table["solar_thermal_kwh"] = np.where(rng.random(len(table)) < 0.3, rng.uniform(0, 30_000, len(table)), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        here_b, here_d = original(table, model)
        with cluster(scheduler=dask_cluster.scheduler_address) as client:
            with distributed.get_task_stream(client) as stream:
                there_b, there_d = original(table, model, partition_size=20)
    keys = [str(t["key"]) for t in stream.data]
    assert [sum(f"{f}-" in k for k in keys) for f in ("building_steps", "totals_of", "building_results")] == [6, 6, 6]
    assert len({t["worker"] for t in stream.data if "building_steps" in str(t["key"])}) == 2
    assert list(there_b.index) == list(here_b.index) and list(there_b.columns) == list(here_b.columns)
    pd.testing.assert_frame_equal(there_b, here_b, check_exact=False, rtol=1e-12, atol=1e-6)
    assert here_d["unused_kwh"]["solar_thermal"] > 0 and here_d["heat_networks"]  # solar surplus, a heat network
    _close(here_d, there_d)


def test_cluster_options_are_checked(tmp_path, capsys, monkeypatch):
    with pytest.raises(InputDataError, match="whole number"):
        with cluster(workers=0):
            pass
    with pytest.raises(InputDataError, match="not both"):
        with cluster(workers=2, scheduler="tcp://127.0.0.1:8786"):
            pass
    with pytest.raises(InputDataError, match=r"--scheduler tcp://127.0.0.1:9: no Dask scheduler answered"):
        with cluster(scheduler="tcp://127.0.0.1:9", connect_timeout="1s"):
            pass
    monkeypatch.setitem(sys.modules, "distributed", None)  # dask.distributed not installed
    with pytest.raises(InputDataError, match=r"pip install 'pedgis\[cluster\]'"):
        with cluster(workers=2):
            pass
    monkeypatch.undo()
    # argparse: one or the other, a whole number of workers; refused before anything is read
    with pytest.raises(SystemExit) as stop:
        main(["run", str(SAMPLE / "scenario.toml"), "--workers", "2", "--scheduler", "tcp://x:1",
              "--out", str(tmp_path / "o")])
    assert stop.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["pv", "--buildings", str(SAMPLE / "buildings.shp"), "--dsm", str(SAMPLE / "dsm.tif"),
              "--weather", str(SAMPLE / "weather" / "pvgis_tmy_45N_8E.epw"), "--out", str(tmp_path / "p"),
              "--workers", "0", "--quiet"])
    assert stop.value.code == 2 and "argument --workers: 0: give a whole number" in capsys.readouterr().err
