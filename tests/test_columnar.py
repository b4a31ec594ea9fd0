"""Parquet and GeoParquet outputs (pedgis/io/columnar.py): what is written is what was computed.

The expected values are the frames themselves: a Parquet file must give back every value bit for
bit (read with pandas and with pyarrow alone), the dtypes, the time index with its zone and the
column names as text, whatever they hold.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from shapely.geometry import Point, box

from pedgis.io.columnar import write_geoparquet, write_hourly_parquet
from pedgis.io.weather import _hour_angle

IDS = ["=HYPERLINK(\"x\")", "-2+3", "a,b\nc", "Lotto {#3}", "ünï", "12"]


def _hourly(dtype) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    idx = pd.date_range("2019-01-01", periods=8760, freq="h", tz="Etc/GMT-1")
    v = rng.gamma(0.6, 2.0, size=(8760, len(IDS))).astype(dtype)
    v[::24] = 0.0
    v[5, 0], v[6, 1], v[7, 2] = np.nan, -0.0, np.finfo(dtype).tiny / 4  # NaN, negative zero, a subnormal
    return pd.DataFrame(v, index=idx, columns=IDS)


def test_hourly_parquet_reads_back_bit_for_bit(tmp_path):
    for dtype in (np.float32, np.float64):
        f = _hourly(dtype)
        path = write_hourly_parquet(f, tmp_path / f"h_{np.dtype(dtype).name}.parquet")
        back = pd.read_parquet(path)
        assert back.index.name == "time" and pq.read_schema(path).names == [*IDS, "time"]
        pd.testing.assert_frame_equal(back, f.rename_axis("time"), check_exact=True, check_freq=False)
        assert back.index.tz is not None and str(back.index.tz) == "Etc/GMT-1"
        # bit for bit (NaN, -0.0 and subnormals included), also through pyarrow without pandas' help
        t = pq.read_table(path)
        raw = np.column_stack([t.column(c).to_numpy() for c in IDS])
        assert raw.dtype == dtype and np.array_equal(np.ascontiguousarray(raw).view(np.uint8), np.ascontiguousarray(f.to_numpy()).view(np.uint8))


def test_hourly_parquet_without_time_index_keeps_columns(tmp_path):
    """``run``'s district series: a ``time`` column and a plain row index (not stored)."""
    f = _hourly(np.float64).reset_index(names="time")
    back = pd.read_parquet(write_hourly_parquet(f, tmp_path / "t.parquet"))
    pd.testing.assert_frame_equal(back, f, check_exact=True)
    assert pq.read_schema(tmp_path / "t.parquet").names == ["time", *IDS]


def test_geoparquet_layer_round_trip(tmp_path):
    g = gpd.GeoDataFrame({"building_id": ["b1", "b2", "b3"], "pv_kwh": [1.5, np.nan, 3.25],
                          "included": [True, False, True], "mixed": [1, "x", None]},
                         geometry=[box(0, 0, 10, 10), Point(3, 4).buffer(2), box(20, 0, 25, 8)], crs="EPSG:32632")
    back = gpd.read_parquet(write_geoparquet(g, tmp_path / "b.parquet"))
    assert back.crs == g.crs and list(back.columns) == list(g.columns)
    assert back.geometry.geom_equals_exact(g.geometry, tolerance=0).all()
    pd.testing.assert_series_equal(back["pv_kwh"], g["pv_kwh"], check_exact=True)
    assert back["included"].tolist() == [True, False, True]
    # a column of mixed types as text, the missing value a null (not the text "None")
    assert pq.read_table(tmp_path / "b.parquet").column("mixed").to_pylist() == ["1", "x", None]
    meta = pq.read_metadata(tmp_path / "b.parquet").metadata
    assert b"geo" in meta  # GeoParquet: geometry columns and CRS in the file's metadata


def test_geoparquet_has_a_row_group_per_partition(tmp_path, monkeypatch):
    import pedgis.cluster

    monkeypatch.setattr(pedgis.cluster, "CLUSTER_PARTITION", 100)
    g = gpd.GeoDataFrame({"building_id": [f"b{i}" for i in range(250)], "pv_kwh": np.arange(250.0)},
                         geometry=[box(i, 0, i + 1, 1) for i in range(250)], crs="EPSG:32632")
    path = write_geoparquet(g, tmp_path / "b.parquet")
    f = pq.ParquetFile(path)
    # 250 rows in partitions of 100: rows 0-99, 100-199, 200-249
    assert [f.metadata.row_group(i).num_rows for i in range(f.num_row_groups)] == [100, 100, 50]
    assert f.read_row_group(2).column("building_id").to_pylist() == [f"b{i}" for i in range(200, 250)]
    pd.testing.assert_frame_equal(gpd.read_parquet(path), g)


def test_hour_angle_equals_pvlib():
    """The vectorised hour angle of the timing check is pvlib's, value for value (also with DST)."""
    from pvlib import solarposition as sp

    for tz in ("Etc/GMT-1", "Europe/Rome", "Asia/Kathmandu"):
        idx = pd.date_range("2019-01-01", periods=8760, freq="h", tz=tz)
        eot = sp.equation_of_time_spencer71(idx.day_of_year.to_numpy())
        for off in (-150, 0, 40):
            t = idx + pd.Timedelta(minutes=off)
            assert np.array_equal(_hour_angle(t, 8.3, eot), sp.hour_angle(t, 8.3, eot))
