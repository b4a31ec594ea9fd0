"""Hostile attribute values (cadastral data are user data) never become markup.

The synthetic folder puts script tags, quotes and ampersands, a 5000-character string and
non-Latin scripts into building names, ids, uses, exclusion reasons, flags and the
assumptions (see district_fixture.HOSTILE).
"""

import html
import json
import re
from html.parser import HTMLParser

from district_fixture import HOSTILE

from pedgis.escaping import escape_html, script_json
from pedgis.viz import assets


class _Collect(HTMLParser):
    """Every start tag with its attributes; iframe srcdoc documents parsed too."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.srcdocs = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "iframe" and dict(attrs).get("srcdoc"):
            self.srcdocs.append(dict(attrs)["srcdoc"])


def _all_tags(text):
    p = _Collect()
    p.feed(text)
    tags = list(p.tags)
    for doc in p.srcdocs:
        tags += _all_tags(doc)
    return tags


def _check_no_injection(text, where):
    tags = _all_tags(text)
    # no <img> anywhere in our pages, and no event-handler attributes
    assert not [t for t in tags if t[0] == "img"], where
    handlers = [(t, a) for t, attrs in tags for a in attrs if a.lower().startswith("on")]
    assert not handlers, (where, handlers[:3])
    # the raw hostile markup never appears as markup
    assert "<script>alert(1)</script>" not in text, where
    assert "<img src=x onerror=alert(2)>" not in text, where


def test_pages_contain_no_injected_markup(pages):
    for name in ("map.html", "sankey.html", "report.html"):
        _check_no_injection((pages / name).read_text("utf-8"), name)


def test_map_data_round_trips_hostile_values_as_text(pages):
    text = (pages / "map.html").read_text("utf-8")
    m = re.search(r"var raw = (\{.*?\});\n", text)
    assert m, "embedded building data not found"
    data = json.loads(m.group(1))
    props = [f[1] for f in data["features"]]
    # JSON inside <script> escapes <, > and & as \u003c etc.; JS reads back the same text
    assert props[0]["n"] == HOSTILE[0]
    assert props[1]["i"] == HOSTILE[1]
    assert props[2]["r"] == HOSTILE[2]
    assert props[2]["u"] == HOSTILE[3]
    # the 5000-character name is shortened for display, with an ellipsis
    assert len(props[4]["n"]) == 300 and props[4]["n"].endswith("…")
    assert "\\u003cscript\\u003ealert(1)" in m.group(1)


def test_report_shows_hostile_values_escaped(pages):
    text = (pages / "report.html").read_text("utf-8")
    assert html.escape(HOSTILE[0]) in text  # shown as text: &lt;script&gt;…
    assert "Ελληνικά" in text and "العربية" in text  # non-Latin scripts kept verbatim
    assert "x" * 5000 not in text  # very long values shortened


def test_script_json_cannot_close_the_script_element():
    s = script_json({"a": "</script><script>alert(1)</script>", "b": "a & b", "c": "\u2028"})
    assert "<" not in s and ">" not in s and "&" not in s and "\u2028" not in s
    assert json.loads(s) == {"a": "</script><script>alert(1)</script>", "b": "a & b",
                             "c": "\u2028"}


def test_escape_quotes_and_shortens():
    assert escape_html("\"'<&>") == "&quot;&#x27;&lt;&amp;&gt;"
    assert escape_html("abcdef", max_len=4) == "abc…"


def test_no_remote_assets_in_pages(pages):
    for name in ("map.html", "sankey.html", "report.html"):
        assert assets.remote_references((pages / name).read_text("utf-8")) == [], name


def test_remote_reference_detector_finds_cdn_links():
    page = ('<script src="https://cdn.example/x.js"></script><link href="//cdn/x.css">'
            '<style>a{background:url(https://x/y.png)}</style><a href="https://ok">link</a>')
    found = assets.remote_references(page)
    assert len(found) == 3
