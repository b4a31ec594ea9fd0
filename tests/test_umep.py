"""UMEP / SUEWS meteorological forcing files as weather (pedgis/io/umep.py through read_weather).

The real file is SUEWS' sample forcing, King's College London 2012 (tests/data/umep, MPL-2.0,
from github.com/UMEP-dev/SUEWS src/supy/sample_data): hourly, a leap year, kdiff/kdir missing.
Expected values come from reading the text by hand (numpy), from Erbs et al. (1982) written out
here, and from the same weather given as an EPW.
"""

from __future__ import annotations

import gzip
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pedgis.errors import DataQualityWarning, InputDataError
from pedgis.io.weather import read_weather

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mini_district import write_mini_district  # noqa: E402

KCL = Path(__file__).parent / "data" / "umep" / "Kc_2012_data_60.txt.gz"
KCL_SITE = (51.51, -0.12)  # the sample's site (SUEWS sample_config.yml: lat 51.51, lng -0.12, timezone 0)
HEADER = "iy id it imin qn qh qe qs qf U RH Tair pres rain kdown snow ldown fcld wuh xsmd lai kdiff kdir wdir"


def _quiet_read(path, location=KCL_SITE):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read_weather(path, location=location)


def write_forcing(path: Path, end: pd.DatetimeIndex, **columns) -> Path:
    """A SUEWS forcing file: ``end`` are the interval-end labels, ``columns`` by SUEWS name
    (lower case); every other column -999."""
    names = HEADER.split()
    rows = {n: np.full(len(end), -999.0) for n in names}
    rows["iy"], rows["id"] = end.year.to_numpy(), end.dayofyear.to_numpy()
    rows["it"], rows["imin"] = end.hour.to_numpy(), end.minute.to_numpy()
    for k, v in columns.items():
        rows[{"u": "U", "rh": "RH", "tair": "Tair"}.get(k, k)] = np.asarray(v, dtype=float)
    df = pd.DataFrame({n: rows[n] for n in names})
    for n in ("iy", "id", "it", "imin"):
        df[n] = df[n].astype(int)
    path.write_text(HEADER + "\n" + df.to_string(header=False, index=False) + "\n", encoding="utf-8")
    return path


def _hourly_year(year: int = 2019) -> pd.DatetimeIndex:
    """Interval-end labels of a whole year of hours: 01:00 on 1 January … 00:00 on 1 January next year."""
    return pd.date_range(f"{year}-01-01 01:00", f"{year + 1}-01-01 00:00", freq="h")


def test_real_sample_reads_like_its_text():
    # by hand: the columns of the text; a row labelled at the end of its hour stands for the hour
    # before it, so the 24 rows ending 29 Feb 01:00 … 1 Mar 00:00 are the leap day that is dropped
    with gzip.open(KCL, "rt") as fh:
        head = fh.readline().split()
        txt = np.loadtxt(fh)
    col = {n.lower(): i for i, n in enumerate(head)}
    end = pd.to_datetime(txt[:, col["iy"]].astype(int).astype(str) + "-01-01") \
        + pd.to_timedelta(txt[:, col["id"]] - 1, "D") + pd.to_timedelta(txt[:, col["it"]], "h")
    start = end - pd.Timedelta(hours=1)
    keep = np.asarray(~((start.month == 2) & (start.day == 29)))
    with pytest.warns(DataQualityWarning, match="29 February are dropped"):
        w = read_weather(KCL, location=KCL_SITE)
    assert w.format == "umep" and len(w.data) == 8760 and (w.latitude, w.longitude) == KCL_SITE
    assert w.data.index[0] == pd.Timestamp("2012-01-01 00:00", tz="UTC")  # timezone 0 at 0.12° W
    assert w.data["ghi"].iloc[0] == txt[0, col["kdown"]] == 0.16
    np.testing.assert_allclose(w.data["ghi"].sum(), np.clip(txt[keep, col["kdown"]], 0, None).sum(), rtol=1e-12)
    np.testing.assert_allclose(w.data["temp_air"].to_numpy(), txt[keep, col["tair"]])
    np.testing.assert_allclose(w.data["wind_speed"].to_numpy(), txt[keep, col["u"]])
    # altitude from the mean pressure (pvlib.atmosphere.pres2alt; 44331.5 (1 - (p/101325)^0.190263) m)
    p = txt[:, col["pres"]].mean() * 1000
    assert w.altitude == pytest.approx(44331.5 - 4946.62 * p ** 0.190263, rel=1e-6)
    # the sun where the timestamps put it: no time shift needed at London
    assert w.time_offset_min == 30.0


def test_missing_beam_and_diffuse_split_by_erbs():
    with pytest.warns(DataQualityWarning, match="Erbs et al"):
        w = read_weather(KCL, location=KCL_SITE)
    assert "DNI/DHI split from kdown by Erbs et al. (1982)" in w.name
    d = w.data
    from pvlib import irradiance, solarposition

    times = d.index + pd.Timedelta(minutes=30)
    zen = solarposition.get_solarposition(times, *KCL_SITE)["zenith"].to_numpy()
    day = (d["ghi"].to_numpy() > 50) & (zen < 80)
    # closure of the split: GHI = DHI + DNI cos z
    np.testing.assert_allclose(d["dhi"].to_numpy()[day] + d["dni"].to_numpy()[day] * np.cos(np.radians(zen[day])),
                               d["ghi"].to_numpy()[day], rtol=1e-9)
    # Erbs, Klein & Duffie (1982), Solar Energy 28(4) 293, Eq. (1)-(3): diffuse fraction from kt
    i0 = irradiance.get_extra_radiation(times).to_numpy()
    kt = np.clip(d["ghi"].to_numpy() / (i0 * np.maximum(np.cos(np.radians(zen)), 0.065)), 0, 1)
    kd = np.where(kt <= 0.22, 1 - 0.09 * kt,
                  np.where(kt <= 0.80, 0.9511 - 0.1604 * kt + 4.388 * kt**2 - 16.638 * kt**3 + 12.336 * kt**4, 0.165))
    np.testing.assert_allclose(d["dhi"].to_numpy()[day], (kd * d["ghi"].to_numpy())[day], rtol=1e-9)


def test_given_beam_and_diffuse_are_used(tmp_path):
    # clear-sky components at the site (pvlib Ineichen): the file's kdir (beam normal) and kdiff
    # come back unchanged; no split, no warning
    from pvlib.location import Location

    end = _hourly_year(2019)
    cs = Location(*KCL_SITE).get_clearsky(end - pd.Timedelta(minutes=30))
    f = write_forcing(tmp_path / "cs_data_60.txt", end, kdown=cs["ghi"].round(2), kdir=cs["dni"].round(2),
                      kdiff=cs["dhi"].round(2), tair=np.full(len(end), 10.0), u=np.full(len(end), 3.0),
                      pres=np.full(len(end), 101.3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        w = read_weather(f, location=KCL_SITE)
    np.testing.assert_allclose(w.data["dni"].to_numpy(), cs["dni"].round(2).to_numpy())
    np.testing.assert_allclose(w.data["dhi"].to_numpy(), cs["dhi"].round(2).to_numpy())
    assert w.time_offset_min == 30.0


def test_sub_hourly_forcing_is_averaged_to_hours(tmp_path):
    # 5-minute rows whose 12 values per hour average to the hourly file's value (± a pattern
    # that sums to zero): the hours read back as the hourly values
    hourly = _quiet_read(KCL).data
    end5 = pd.date_range("2011-01-01 00:05", "2012-01-01 00:00", freq="5min")  # a non-leap year
    pattern = np.tile(np.array([-5.5, -4.5, -3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5]) / 10, 8760)
    ghi = np.repeat(hourly["ghi"].to_numpy(), 12)
    night = np.repeat(hourly["ghi"].to_numpy() < 1, 12)
    f = write_forcing(tmp_path / "kc_data_5.txt", end5, kdown=np.where(night, ghi, ghi + pattern),
                      tair=np.repeat(hourly["temp_air"].to_numpy(), 12) + pattern, u=np.repeat(hourly["wind_speed"].to_numpy(), 12))
    w = _quiet_read(f)
    assert len(w.data) == 8760 and "5-minute averaged to hours" in w.name
    np.testing.assert_allclose(w.data["ghi"].to_numpy(), hourly["ghi"].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(w.data["temp_air"].to_numpy(), hourly["temp_air"].to_numpy(), atol=1e-9)


def _year(tmp_path, name="f_data_60.txt", **over):
    end = over.pop("end", _hourly_year(2019))
    n = len(end)
    cols = {"kdown": np.where((end.hour >= 9) & (end.hour <= 16), 300.0, 0.0), "tair": np.full(n, 12.0),
            "u": np.full(n, 2.0)}
    cols.update(over)
    return write_forcing(tmp_path / name, end, **cols)


@pytest.mark.parametrize("change, message", [
    ({"tair": "missing"}, r"1 missing values in 'temp_air' \(first at 2019-03-01 00:00"),
    ({"u": 150.0}, r"'u' outside its valid range 0 to 60 .*2019-03-01 01:00 \(line 1418\)"),
    ({"kdown": 2000.0}, r"'kdown' outside its valid range"),
    ({"gap": True}, r"line 1419: the time jumps 120 minutes after 2019-03-01 01:00"),
    ({"half": True}, r"4380 weather rows, expected 8760"),
    ({"nolabels": True}, r"forcing columns missing: tair"),
])
def test_broken_files_are_errors_naming_the_fix(tmp_path, change, message):
    end = _hourly_year(2019)
    n = len(end)
    i = int(np.flatnonzero(end == pd.Timestamp("2019-03-01 01:00"))[0])  # hour 00-01 of 1 March, line i + 2
    over = {}
    if "tair" in change:
        t = np.full(n, 12.0)
        t[i] = -999.0
        over["tair"] = t
    for key in ("u", "kdown"):
        if key in change:
            v = np.full(n, 2.0)
            v[i] = change[key]
            over[key] = v
    if change.get("gap"):
        over["end"] = end.delete(i + 1)
    if change.get("half"):
        over["end"] = end[: n // 2]
    f = _year(tmp_path, **{k: (v[: len(over.get("end", end))] if isinstance(v, np.ndarray) else v) for k, v in over.items()})
    if change.get("nolabels"):
        f.write_text(f.read_text().replace(" Tair ", " Temp "))
    with pytest.raises(InputDataError, match=message):
        _quiet_read(f)


def test_location_is_needed(tmp_path):
    with pytest.raises(InputDataError, match="has no coordinates; pedgis places it at the district's centroid"):
        read_weather(_year(tmp_path))


def _epw_as_forcing(epw: Path, target: Path) -> Path:
    """The sample EPW written as a SUEWS forcing file (one calendar year, 2019, the EPW's hours;
    its pressure from its elevation, kdir/kdiff = DNI/DHI)."""
    from pvlib.atmosphere import alt2pres

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = read_weather(epw)
    d = w.data
    start = pd.DatetimeIndex([pd.Timestamp(2019, t.month, t.day, t.hour) for t in d.index])
    return write_forcing(target, start + pd.Timedelta(hours=1), kdown=d["ghi"], kdir=d["dni"], kdiff=d["dhi"],
                         tair=d["temp_air"], u=d["wind_speed"], pres=np.full(len(d), alt2pres(w.altitude) / 1000))


def test_scenario_with_umep_weather_gives_the_epw_run(tmp_path, capsys):
    # expected: the same weather year as the EPW it was written from, degree days (Eq. 2) and
    # rooftop PV included; the location is the district's centroid (about 3 km from the EPW's
    # 45° N 8° E) and the calendar one year (the TMY's months come from different years), so
    # the sun moves a little; and a forcing file says only which hour a row averages, so the sun
    # stands mid-interval (+30 min) where the EPW's header puts PVGIS's instant at +10.6 min:
    # PV agrees to 0.06 % and exports (PV surplus) to 0.18 % (measured): 3e-3; degree days exactly
    import pedgis.cli as cli

    scenario = write_mini_district(tmp_path / "mini")
    text = scenario.read_text().replace('method = "specific"', 'method = "degree_days"')
    assert 'method = "degree_days"' in text
    scenario.write_text(text)
    epw = next((tmp_path / "mini" / "weather").glob("*.epw"))
    _epw_as_forcing(epw, tmp_path / "mini" / "weather" / "site_data_60.txt")
    umep = tmp_path / "mini" / "umep.toml"
    umep.write_text(text.replace(f'weather/{epw.name}', "weather/site_data_60.txt"))
    assert cli.main(["run", str(scenario), "--out", str(tmp_path / "epw"), "--quiet"]) == 0
    assert cli.main(["run", str(umep), "--out", str(tmp_path / "umep"), "--quiet"]) == 0
    capsys.readouterr()
    a = json.loads((tmp_path / "epw" / "district.json").read_text())
    b = json.loads((tmp_path / "umep" / "district.json").read_text())
    for key in ("ten_sh_kwh", "ten_sc_kwh"):
        assert b[key] == pytest.approx(a[key], rel=1e-12), key
    for key in ("eep_res_kwh", "pei_kwh", "pee_kwh", "ped_balance_kwh"):
        assert b[key] == pytest.approx(a[key], rel=3e-3), key
    assert "site_data_60.txt" in json.dumps(b["assumptions"]["needs"])  # degree days computed from the UMEP file
    assert any("UMEP/SUEWS forcing, 60-minute, placed at 44.9" in n and "kdiff/kdir as given" in n
               for n in b["assumptions"]["notes"])


def test_pv_command_takes_sebe_irradiation_with_umep_weather(tmp_path, capsys):
    # `pedgis pv --irradiation` (a SEBE-style annual raster) with a UMEP file placed at the
    # buildings: yield model "pr", so E = H · A_modules · η · PR by hand (as with an EPW)
    import geopandas as gpd
    import rasterio
    from rasterio.transform import from_origin
    from shapely.geometry import box

    import pedgis.cli as cli
    from pedgis.solar.params import default_row_spacing

    x0, y0 = 421000.0, 4983400.0  # the sample district, EPSG:32632
    gpd.GeoDataFrame({"building_id": ["roof"]}, geometry=[box(x0 + 10, y0 - 20, x0 + 20, y0 - 10)],
                     crs="EPSG:32632").to_file(tmp_path / "b.gpkg")
    irr = np.full((40, 40), np.nan, np.float32)
    irr[10:20, 10:20] = 1000.0
    with rasterio.open(tmp_path / "sebe.tif", "w", driver="GTiff", width=40, height=40, count=1, dtype="float32",
                       crs="EPSG:32632", transform=from_origin(x0, y0, 1.0, 1.0), nodata=np.nan) as dst:
        dst.write(irr, 1)
    (tmp_path / "pr.toml").write_text('[solar]\nyield_model = "pr"\nedge_setback_m = 0.0\nflat_tilt_deg = 0.0\n'
                                      "keep_hourly = false\n")
    epw = Path(__file__).resolve().parents[1] / "sample_data" / "weather" / "pvgis_tmy_45N_8E.epw"
    forcing = _epw_as_forcing(epw, tmp_path / "site_data_60.txt")
    code = cli.main(["pv", "--buildings", str(tmp_path / "b.gpkg"), "--irradiation", str(tmp_path / "sebe.tif"),
                     "--weather", str(forcing), "--config", str(tmp_path / "pr.toml"), "--out", str(tmp_path / "o"),
                     "--quiet"])
    assert code == 0, capsys.readouterr().err
    pv = json.loads((tmp_path / "o" / "pv.json").read_text())
    lat = pv["weather"]["latitude"]  # the roof's centroid: 44.97° N
    assert 44.9 < lat < 45.1 and pv["weather"]["source"].endswith("site_data_60.txt")
    gcr = 1.1 / default_row_spacing(lat, 0.0, 1.1)  # rows spaced for the winter-solstice noon sun at the site
    assert pv["pv_kwh"] == pytest.approx(1000 * 100 * gcr * 0.2 * 0.8, rel=1e-6)
