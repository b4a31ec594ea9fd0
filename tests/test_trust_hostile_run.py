"""A real run of the sample district with a payload in every user text (tests/hostile_sample.py).

`pedgis run`, `pedgis pv` and `pedgis map --title` must succeed, write every text literally
(read back from the files with real parsers and compared with what went in) and no payload may
have had a side effect. The pages' DOM in a browser: tests/browser/test_hostile_pages.py.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hostile_sample import TITLE, clip, pedgis, write_hostile_sample
from payloads import side_effects


@pytest.fixture(scope="module")
def hostile_inputs(tmp_path_factory):
    """The hostile inputs; returns the scenario file."""
    scenario, _ = write_hostile_sample(tmp_path_factory.mktemp("hostile"))
    return scenario


@pytest.fixture(scope="module")
def hostile(hostile_inputs):
    """The output folder of `pedgis run` on the hostile inputs (run once)."""
    out = hostile_inputs.parent.parent / "out"
    rc = pedgis("run", hostile_inputs, "--out", out, "--quiet", "--csv")
    return hostile_inputs, out, rc


class _Tags(HTMLParser):
    """Every start tag (iframe srcdoc documents included), and the text of <title>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.title, self._in_title = [], "", False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._in_title = tag == "title"
        if tag == "iframe" and attrs.get("srcdoc"):
            inner = _Tags()
            inner.feed(attrs["srcdoc"])
            self.tags += inner.tags

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def _tags(path) -> _Tags:
    p = _Tags()
    p.feed(path.read_text("utf-8"))
    return p


def test_run_succeeds_and_no_payload_ran(hostile):
    _, out, rc = hostile
    assert rc == 0
    for name in ("map.html", "report.html", "sankey.html", "timeseries.html", "timeseries.csv", "timeseries.parquet"):
        assert (out / name).is_file(), name
    assert side_effects() == []


TITLES = {"map.html": TITLE, "sankey.html": TITLE, "report.html": f"PED assessment — {TITLE}",
          "timeseries.html": f"{TITLE}: time-resolved balance"}


@pytest.mark.parametrize("page", list(TITLES))
def test_pages_hold_no_injected_markup(hostile, page):
    _, out, _ = hostile
    p = _tags(out / page)
    handlers = [(t, a) for t, attrs in p.tags for a in attrs if a.lower().startswith("on")]
    assert handlers == []
    injected = [(t, a) for t, a in p.tags if t in ("img", "svg") or
                (t == "a" and a.get("href", "").lower().startswith("javascript:"))]
    assert injected == []
    assert p.title == TITLES[page]  # the scenario name, every payload in it, as text


def test_map_carries_every_id_and_name_literally(hostile):
    _, out, _ = hostile
    text = (out / "map.html").read_text("utf-8")
    m = re.search(r"var raw = (\{.*?\});\n", text)
    assert m, "embedded building data not found"
    props = [f[1] for f in json.loads(m.group(1))["features"]]
    b = gpd.read_file(out / "buildings.gpkg", layer="buildings")
    assert [p["i"] for p in props] == [clip(i) for i in b["building_id"]]
    assert [p.get("n", "") for p in props] == [clip(n or "") for n in b["name"]]
    assert [p.get("u", "") for p in props] == [clip(u or "") for u in b["use"]]
    # the payload-carrying columns really carry payloads (the test would be empty otherwise)
    assert any("{#3}" in i for i in b["building_id"]) and any("</script>" in n for n in b["name"])


def test_timeseries_csv_numbers_intact(hostile):
    _, out, _ = hostile
    with open(out / "timeseries.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "time" and len(rows) == 8761
    for row in rows[1:]:
        [float(c) for c in row[1:]]  # every value a number (raises otherwise)


def test_pv_hourly_csv_ids_neutralised_numbers_intact(hostile_inputs, tmp_path):
    data = hostile_inputs.parent
    out = tmp_path / "pv"
    rc = pedgis("pv", "--buildings", data / "buildings.gpkg", "--id-column", "CAD_ID",
                "--dsm", data / "dsm.tif", "--weather", data / "weather" / "pvgis_tmy_45N_8E.epw",
                "--out", out, "--quiet", "--csv")
    assert rc == 0
    b = gpd.read_file(out / "buildings.gpkg", layer="buildings")
    # Parquet keeps the ids as they are (column names are data there, never formulas)
    assert sorted(pd.read_parquet(out / "pv_hourly_kwh.parquet").columns) == sorted(str(i) for i in b["building_id"])
    with gzip.open(out / "pv_hourly_kwh.csv.gz", "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0][1:]

    def neutral(t):  # OWASP "CSV Injection": a leading quote before = + - @ TAB CR
        return "'" + t if t[:1] in "=+-@\t\r" else t

    ids = [str(i) for i in b["building_id"]]
    assert sorted(header) == sorted(neutral(i) for i in ids)
    assert any(h.startswith("'=") for h in header) and any(h.startswith("'-") for h in header)
    assert len(rows) == 8761  # no id with CR or LF split a row
    values = np.array([[float(c) for c in r[1:]] for r in rows[1:]])
    # annual sums of the hourly profiles are the buildings' pv_kwh (to the 4 digits written)
    by_id = dict(zip(ids, b["pv_kwh"].to_numpy(float), strict=True))
    for k, h in enumerate(header):
        i = h[1:] if h.startswith("'") and h[1:] in by_id and h not in by_id else h
        expected = by_id[i]
        if np.isfinite(expected):
            assert values[:, k].sum() == pytest.approx(expected, rel=1e-3, abs=0.05)
    assert side_effects() == []


def test_map_command_title_is_text(hostile, tmp_path):
    _, out, _ = hostile
    copy = tmp_path / "pages"
    shutil.copytree(out, copy)
    title = "Corte {% interno %} </title><script>alert(1)</script> " + TITLE
    assert pedgis("map", copy, "--title", title) == 0
    p = _tags(copy / "map.html")
    assert p.title == title
    assert _tags(copy / "report.html").title == f"PED assessment — {title}"
    assert side_effects() == []
