"""Weather readers (EPW, TMY3, PVGIS CSV/JSON) and their error messages; PVGIS download.

Expected values come from the files themselves (pvlib's readers, or the raw text written out
in the test) and from the sample district's README (45° N 8° E, PVGIS TMY).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pedgis.errors import DataQualityWarning, InputDataError
from pedgis.io import weather as wmod
from pedgis.io.weather import download_pvgis_tmy, read_weather, resolve_weather

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_EPW = ROOT / "sample_data" / "weather" / "pvgis_tmy_45N_8E.epw"
DATA = Path(__file__).resolve().parent / "data"

PVGIS_JSON = DATA / "pvgis_tmy_45.000_8.000.json"
PVGIS_CSV = DATA / "pvgis_tmy_45.000_8.000.csv"


def _tmy3_path():
    import pvlib

    return Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"


def _epw_lines():
    return SAMPLE_EPW.read_text().splitlines(keepends=True)


def test_sample_epw_reads_without_warning_at_the_instant_its_header_gives():
    # the sample's rows are in the local time (+1) its header says (PVGIS writes UTC rows;
    # sample_data/make_sample_data.py moves them) and "Irradiance Time Offset (h):-0.8239" from the
    # end of the labelled hour:
    # 60 x (1 - 0.8239) = 10.566 min after pvlib's hour-start label, the 0.1761 h PVGIS's JSON gives
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = read_weather(SAMPLE_EPW)
    assert len(w.data) == 8760
    assert list(w.data.columns) == ["ghi", "dni", "dhi", "temp_air", "wind_speed"]  # albedo 999 = missing
    assert (w.latitude, w.longitude, w.altitude) == (45.0, 8.0, 250.0)
    assert w.time_offset_min == pytest.approx(60 * (1 - 0.8239), abs=1e-9)
    assert w.time_offset_min == pytest.approx(read_weather(PVGIS_JSON).time_offset_min, abs=1e-9)
    assert w.data.index.tz is not None
    # and the irradiance agrees: the sun fits best 10 min after the label (10-min search grid)
    from pedgis.io.weather import estimate_time_offset

    assert estimate_time_offset(w) == 10.0


def test_pvgis_epw_with_its_local_zone_warns_and_is_corrected(tmp_path):
    # as PVGIS distributes it: UTC rows under a TZ +1 header (the sample's rows moved back one
    # hour); the irradiance says so, and the reader moves the sun positions by +70 min (the PVGIS
    # instant hh:10 UTC = label + 1 h + 10 min)
    lines = SAMPLE_EPW.read_bytes().decode("ascii").splitlines()
    assert lines[0].endswith(",1,250")
    rows = lines[8:]
    data = [r.split(",", 5)[5] for r in rows]
    data = data[1:] + data[:1]
    p = tmp_path / "pvgis.epw"
    p.write_text("\n".join(lines[:8] + [",".join([*r.split(",", 5)[:5], d]) for r, d in zip(rows, data, strict=True)]) + "\n")
    with pytest.warns(DataQualityWarning, match="PVGIS EPW files are in UTC"):
        w = read_weather(p)
    assert w.time_offset_min == 70.0


def test_epw_without_the_offset_comment_gets_the_middle_of_the_hour(tmp_path):
    lines = SAMPLE_EPW.read_bytes().split(b"\n")
    p = tmp_path / "plain.epw"
    p.write_bytes(b"\n".join(b"COMMENTS 2," if ln.startswith(b"COMMENTS 2,") else ln for ln in lines))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 20 min from the irradiance's instant: below the warning threshold
        w = read_weather(p)
    assert w.time_offset_min == 30.0


@pytest.mark.parametrize("path,fmt", [(PVGIS_JSON, "pvgis_json"), (PVGIS_CSV, "pvgis_csv")])
def test_pvgis_csv_json_same_year_as_epw(path, fmt, weather):
    w = read_weather(path)
    assert w.format == fmt
    assert len(w.data) == 8760 and w.data.index.is_monotonic_increasing
    # same PVGIS year as the sample EPW (same values, the EPW in file order)
    assert w.data["ghi"].sum() == pytest.approx(weather.data["ghi"].sum(), rel=1e-9)
    # the instant PVGIS gives in its metadata: 0.1761 h
    assert w.time_offset_min == pytest.approx(0.1761 * 60)


def test_tmy3_reads():
    w = read_weather(_tmy3_path())
    assert w.format == "tmy3" and len(w.data) == 8760
    assert w.latitude == pytest.approx(36.1) and w.longitude == pytest.approx(-79.95)
    assert "albedo" in w.data.columns and w.data["albedo"].between(0, 1).all()
    assert w.time_offset_min == -30.0  # TMY3 labels at the end of the hour


def test_missing_file():
    with pytest.raises(InputDataError, match="weather file not found"):
        read_weather("/nonexistent/x.epw")


def test_unknown_format(tmp_path):
    p = tmp_path / "w.txt"
    p.write_text("x")
    with pytest.raises(InputDataError, match="unknown weather format '.txt'"):
        read_weather(p)


def test_wrong_length(tmp_path):
    lines = _epw_lines()
    p = tmp_path / "short.epw"
    p.write_text("".join(lines[: 8 + 8000]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputDataError, match="8000 weather rows, expected 8760"):
            read_weather(p)


def _epw_with_dates(tmp_path, dates, name):
    """The sample EPW's values rewritten on the given hourly dates (year, month, day, hour 1-24)."""
    lines = _epw_lines()
    head, body = lines[:8], lines[8:]
    out = []
    for i, t in enumerate(dates):
        f = body[i % len(body)].split(",")
        f[0], f[1], f[2], f[3] = str(t.year), str(t.month), str(t.day), str(t.hour + 1)
        out.append(",".join(f))
    p = tmp_path / name
    p.write_text("".join(head + out))
    return p


def test_leap_year_squeezed_into_8760_rows(tmp_path):
    # 2020 from 1 January on for 8760 hours: 29 February is in, 31 December is missing
    dates = pd.date_range("2020-01-01", periods=8760, freq="h")
    p = _epw_with_dates(tmp_path, dates, "squeezed.epw")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputDataError, match="leap year squeezed into 8760 rows"):
            read_weather(p)


def test_full_leap_year_drops_feb29_with_warning(tmp_path):
    dates = pd.date_range("2020-01-01", periods=8784, freq="h")
    p = _epw_with_dates(tmp_path, dates, "leap.epw")
    with pytest.warns(DataQualityWarning, match="29 February are dropped"):
        w = read_weather(p)
    assert len(w.data) == 8760
    assert not ((w.data.index.month == 2) & (w.data.index.day == 29)).any()


def test_missing_station_field(tmp_path):
    lines = _epw_lines()
    f = lines[0].split(",")
    f[6] = ""  # LOCATION,city,state,country,source,WMO,latitude,...
    p = tmp_path / "nolat.epw"
    p.write_text(",".join(f) + "".join(lines[1:]))
    with pytest.raises(InputDataError, match="station field 'latitude' is missing"):
        read_weather(p)


def test_missing_elevation_field(tmp_path):
    lines = _epw_lines()
    f = lines[0].rstrip("\n").split(",")
    p = tmp_path / "noelev.epw"
    p.write_text(",".join(f[:9]) + "\n" + "".join(lines[1:]))
    with pytest.raises(InputDataError, match="station field 'elevation' is missing"):
        read_weather(p)


def test_missing_column_pvgis_csv(tmp_path):
    text = PVGIS_CSV.read_text().replace("G(h)", "Gx(h)")
    p = tmp_path / "tmy.csv"
    p.write_text(text)
    with pytest.raises(InputDataError, match="weather columns missing: ghi"):
        read_weather(p)


def test_gap_in_values(tmp_path):
    payload = json.loads(PVGIS_JSON.read_text())
    payload["outputs"]["tmy_hourly"][12]["G(h)"] = None  # 1 January 12:00 UTC missing
    p = tmp_path / "gap.json"
    p.write_text(json.dumps(payload))
    with pytest.raises(InputDataError, match="1 missing values in 'ghi'"):
        read_weather(p)


def test_garbage_epw(tmp_path):
    p = tmp_path / "bad.epw"
    p.write_text("not,an,epw\n")
    with pytest.raises(InputDataError, match="not a readable EPW weather file"):
        read_weather(p)


# ------------------------------------------------------------------ PVGIS download (no network)


class _Resp:
    def __init__(self, status, payload):
        self.status_code = status
        self.ok = status == 200
        self._payload = payload
        self.text = json.dumps(payload)

    def json(self):
        return self._payload


def test_download_pvgis_uses_recorded_response_and_cache(tmp_path, monkeypatch):
    import requests

    recorded = json.loads(PVGIS_JSON.read_text())
    calls = []

    def fake_get(url, params=None, timeout=None):
        calls.append((url, params))
        return _Resp(200, recorded)

    monkeypatch.setattr(requests, "get", fake_get)
    w = resolve_weather("pvgis", 45.0, 8.0, cache_dir=tmp_path)
    assert calls == [("https://re.jrc.ec.europa.eu/api/tmy", {"lat": 45.0, "lon": 8.0, "outputformat": "json"})]
    assert (tmp_path / "pvgis_tmy_45.000_8.000.json").exists()
    assert len(w.data) == 8760 and w.format == "pvgis_json"

    def no_network(*a, **k):
        raise AssertionError("the cache must be used")

    monkeypatch.setattr(requests, "get", no_network)
    w2 = resolve_weather("pvgis", 45.0, 8.0, cache_dir=tmp_path)
    assert w2.data["ghi"].sum() == w.data["ghi"].sum()


def test_download_pvgis_offline(tmp_path, monkeypatch):
    import requests

    def offline(*a, **k):
        raise requests.ConnectionError("no route to host")

    monkeypatch.setattr(requests, "get", offline)
    with pytest.raises(InputDataError, match="cannot reach PVGIS"):
        download_pvgis_tmy(45.0, 8.0, cache_dir=tmp_path)


def test_download_pvgis_refused(tmp_path, monkeypatch):
    import requests

    monkeypatch.setattr(
        requests, "get", lambda *a, **k: _Resp(400, {"message": "Location over the sea"})
    )
    with pytest.raises(InputDataError, match="PVGIS refused .*Location over the sea"):
        download_pvgis_tmy(44.0, 9.5, cache_dir=tmp_path)


def test_download_pvgis_without_tmy(tmp_path, monkeypatch):
    import requests

    monkeypatch.setattr(requests, "get", lambda *a, **k: _Resp(200, {"outputs": {}}))
    with pytest.raises(InputDataError, match="without an hourly TMY"):
        download_pvgis_tmy(45.0, 8.0, cache_dir=tmp_path)


def test_pvgis_needs_location():
    with pytest.raises(InputDataError, match="needs the district's location"):
        resolve_weather("pvgis")


def test_time_offset_estimate_standard_epw():
    # a standard EPW (hourly means labelled at the hour's start): the best offset is ~ +30 min
    import pvlib

    p = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
    w = read_weather(p)
    est = wmod.estimate_time_offset(w)
    assert abs(est - w.time_offset_min) < 35
    assert np.isfinite(est)


# ------------------------------------------------------------------ more broken PVGIS files


def _pvgis_variant(tmp_path, edit, name="w.json"):
    payload = json.loads(PVGIS_JSON.read_text())
    edit(payload)
    p = tmp_path / name
    p.write_text(json.dumps(payload))
    return p


def test_negative_irradiance_is_clipped_with_warning(tmp_path):
    def edit(pl):
        pl["outputs"]["tmy_hourly"][12]["G(h)"] = -50.0

    with pytest.warns(DataQualityWarning, match="1 negative values in 'ghi' set to 0"):
        w = read_weather(_pvgis_variant(tmp_path, edit))
    assert (w.data["ghi"] >= 0).all()


def test_duplicated_timestamp(tmp_path):
    def edit(pl):
        rows = pl["outputs"]["tmy_hourly"]
        rows[13]["time(UTC)"] = rows[12]["time(UTC)"]

    with pytest.raises(InputDataError, match="duplicated timestamp 1990-01-01 12:00"):
        read_weather(_pvgis_variant(tmp_path, edit))


def test_latitude_out_of_range(tmp_path):
    def edit(pl):
        pl["inputs"]["location"]["latitude"] = 95.0

    with pytest.raises(InputDataError, match="latitude 95.0 / longitude 8.0 out of range"):
        read_weather(_pvgis_variant(tmp_path, edit))


def test_missing_altitude_warns(tmp_path):
    def edit(pl):
        del pl["inputs"]["location"]["elevation"]

    with pytest.warns(DataQualityWarning, match="station altitude missing; 0 m used"):
        w = read_weather(_pvgis_variant(tmp_path, edit))
    assert w.altitude == 0.0


def test_unknown_explicit_format():
    with pytest.raises(InputDataError, match="unknown weather format 'xyz'"):
        read_weather(PVGIS_JSON, fmt="xyz")
