"""Each escaping function of pedgis.escaping against every payload, read back by a real parser.

The expected value is the payload itself: Python's HTML parser, ElementTree, the json and csv
modules (the readers a browser, QGIS or a spreadsheet stand for) must give back exactly the
text that went in, and nothing else (no tag, no second element, no formula).
"""

from __future__ import annotations

import csv
import gzip
import html
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pandas as pd
import pytest
from payloads import ALL, CSV, PAYLOADS, SHORT, side_effects

from pedgis.escaping import (
    PageSlots,
    assert_template_free,
    csv_cell,
    escape_html,
    plotly_text,
    qgis_field,
    qgis_string,
    script_json,
    write_csv,
    xml_attr,
    xml_text,
)


class _Parse(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.data = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.data.append(data)

    def handle_comment(self, data):
        self.tags.append(("!--", {}))


def _parse(doc: str) -> _Parse:
    p = _Parse()
    p.feed(doc)
    p.close()
    return p


@pytest.mark.parametrize("text", ALL, ids=range(len(ALL)))
def test_html_text_and_attribute_round_trip(text):
    page = _parse(f'<div title="{escape_html(text)}">{escape_html(text)}</div>')
    # NUL is no HTML character: parsers drop or replace it, escape_html makes it U+FFFD
    expected = text.replace("\x00", "\ufffd")
    assert page.tags == [("div", {"title": expected})]
    assert "".join(page.data) == expected


@pytest.mark.parametrize("text", ALL, ids=range(len(ALL)))
def test_plotly_text_has_no_markup_and_decodes_to_the_text(text):
    out = plotly_text(text)
    # plotly starts a tag at "<" and decodes &lt; &gt; &amp; but not &quot; (svg_text_utils)
    assert "<" not in out and ">" not in out and "&quot;" not in out
    assert html.unescape(out) == text.replace("\x00", "\ufffd")


@pytest.mark.parametrize("text", ALL, ids=range(len(ALL)))
def test_script_json_stays_inside_its_script_element(text):
    obj = {"name": text, "list": [text, 1.5, None]}
    js = script_json(obj)
    page = _parse(f"<script>var x = {js};</script><p>after</p>")
    # the script element holds exactly the JSON: nothing closed it early or opened a comment
    assert [t for t, _ in page.tags] == ["script", "p"]
    assert page.data[0] == f"var x = {js};"
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in js
    assert json.loads(js) == obj


def test_script_json_refuses_nan():
    with pytest.raises(ValueError):
        script_json({"v": float("nan")})


# XML 1.0 §2.2: the characters a document can carry
_XML_CHAR = re.compile("[\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@pytest.mark.parametrize("text", ALL, ids=range(len(ALL)))
def test_xml_text_and_attribute_round_trip(text):
    root = ET.fromstring(f"<qgis label={xml_attr(text)}>{xml_text(text)}</qgis>")
    expected = "".join(c if _XML_CHAR.fullmatch(c) else "\ufffd" for c in text)
    assert root.get("label") == expected
    assert (root.text or "") == expected
    assert list(root) == []


def test_qgis_literals_by_hand():
    # QgsExpression::quotedString / quotedColumnRef (QGIS source, qgsexpression.cpp)
    assert qgis_string("it's") == "'it''s'"
    assert qgis_string("a\\b\nc\td") == "'a\\\\b\\nc\\td'"
    assert qgis_string("x' OR 1=1 OR 'y") == "'x'' OR 1=1 OR ''y'"
    assert qgis_field('pv "kwh"') == '"pv ""kwh"""'


@pytest.mark.parametrize("text", ALL, ids=range(len(ALL)))
def test_csv_cell_neutralises_formulas_only(text):
    # OWASP "CSV Injection": =, +, -, @, tab and carriage return start a formula
    assert csv_cell(text) == ("'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text)


def test_csv_cell_leaves_numbers_alone():
    assert csv_cell(-2.5) == -2.5 and csv_cell(-3) == -3 and csv_cell(None) is None


def _read_csv(path, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("gz", [False, True])
def test_write_csv_neutralises_text_cells_and_headers_keeps_numbers(tmp_path, gz):
    texts = PAYLOADS + ["-5", "+3"]
    numbers = [-1.25 * (i + 1) if i % 2 else 2.5 * i for i in range(len(texts))]
    frame = pd.DataFrame({"id": texts, "value": numbers, **{t: numbers for t in SHORT}})
    path = tmp_path / ("t.csv.gz" if gz else "t.csv")
    write_csv(frame, path, index=False, **({"compression": "gzip"} if gz else {}))
    rows = _read_csv(path, gz)

    def neutral(t):  # expected by hand from the OWASP rule
        return "'" + t if t[:1] in "=+-@\t\r" else t

    assert rows[0] == ["id", "value", *[neutral(t) for t in SHORT]]
    assert len(rows) == 1 + len(texts)  # a CR or LF inside a cell did not split a row
    for row, t, v in zip(rows[1:], texts, numbers, strict=True):
        assert row[0] == neutral(t)
        assert [float(c) for c in row[1:]] == [v] * (1 + len(SHORT))  # negative numbers stay numbers


def test_csv_payloads_are_all_formulas():
    # the corpus' CSV class is what the rule must catch (guards the corpus itself)
    assert all(csv_cell(t) != t for t in CSV)


def test_page_slots_fill_once_and_never_twice():
    slots = PageSlots()
    a = slots.slot("first {{7*7}}")
    b = slots.slot(f"second holds the other key {a}")  # text containing a key: not refilled
    page = f"<p>{a}</p><p>{b}</p>"
    assert slots.fill(page) == f"<p>first {{{{7*7}}}}</p><p>second holds the other key {a}</p>"
    with pytest.raises(RuntimeError):
        slots.fill(f"<p>{a}</p>")  # a placeholder lost by the template engine
    with pytest.raises(RuntimeError):
        slots.fill(page + a)  # or doubled


def test_assert_template_free():
    assert assert_template_free("PED balance [kWh/a]") == "PED balance [kWh/a]"
    for bad in ("{{7*7}}", "Lotto {#3}", "{% if 1 %}"):
        with pytest.raises(ValueError):
            assert_template_free(bad)


def test_no_payload_had_a_side_effect():
    assert side_effects() == []
