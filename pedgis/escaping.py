"""User text is data: one escaping function per output context.

Footprint attributes, scenario strings, variant names and file paths come from third parties.
Every such text reaches a file through the function made for the place it lands in:

==========================  =====================  ==============================================
context                     function               guarantee
==========================  =====================  ==============================================
HTML text, quoted attribute :func:`escape_html`    ``& < > " '`` become character references
plotly label, title, hover  :func:`plotly_text`    no plotly markup (``<br>``, ``<a href>``) starts
JSON inside ``<script>``    :func:`script_json`    nothing closes the element or starts markup
XML text, attribute         :func:`xml_text`,      ``& < > "`` escaped; characters XML 1.0
(QGIS QML/SLD)              :func:`xml_attr`       forbids become U+FFFD
QGIS expression             :func:`qgis_string`,   a string literal / a column reference, never
                            :func:`qgis_field`     expression text
CSV cell (spreadsheets)     :func:`write_csv`      a text cell starting with ``= + - @`` TAB or CR
                            (:func:`csv_cell`)     gets a leading ``'`` (OWASP "CSV Injection");
                                                   a cell with a line break is quoted
terminal (stdout, stderr)   :func:`terminal_text`  no escape sequence or bidi override reaches
                                                   the terminal; such characters show as ``\x1b``
==========================  =====================  ==============================================

No template engine ever compiles user text. Pages rendered by Jinja2 from our own template files
get it as variables (autoescape on). folium/branca compile the output of every element's
macro again as a template (``MacroElement.render`` wraps it in ``Element(...)``), so pages made
with folium get their text through :class:`PageSlots`: folium sees an opaque placeholder and
the text goes in after folium has rendered the page.

Only the standard library here: the I/O layer and the QGIS plugin import it too.
"""

from __future__ import annotations

import html
import json
import re
import secrets
from typing import Any
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _xml_quoteattr

__all__ = [
    "escape_html", "plotly_text", "script_json", "xml_text", "xml_attr", "qgis_string", "qgis_field",
    "csv_cell", "csv_frame", "write_csv", "CSV_FORMULA_START", "PageSlots", "assert_template_free",
    "terminal_text",
]

# a surrogate in a Python str is always a lone one (pairs are decoded to one code point); it
# cannot be written as UTF-8
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# XML 1.0 §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# C0 controls but TAB, LF and CR (the progress bar's own), DEL, C1 controls (CSI, OSC...) and the
# bidirectional embeddings/overrides/isolates that reorder what a terminal shows (Trojan Source)
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]|[}%#]\}")


def _text(value: Any, max_len: int | None = None) -> str:
    """``value`` as text (None → ""), shortened with an ellipsis, lone surrogates → U+FFFD."""
    text = "" if value is None else str(value)
    if max_len is not None and len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return _LONE_SURROGATE.sub("\ufffd", text)


def escape_html(value: Any, max_len: int | None = None) -> str:
    """Text for HTML element content or a quoted attribute value; optionally shortened.

    ``&``, ``<``, ``>``, ``"`` and ``'`` become character references, so the text can neither
    start markup nor leave a quoted attribute. NUL, which HTML parsers drop or replace,
    becomes U+FFFD.
    """
    return html.escape(_text(value, max_len).replace("\x00", "\ufffd"), quote=True)


def plotly_text(value: Any, max_len: int | None = None) -> str:
    """Text for a plotly label, title or hover text; optionally shortened.

    plotly reads a subset of HTML in them (``<br>``, ``<b>``, ``<a href>``) and decodes
    ``&lt; &gt; &amp;`` and numeric character references, but not ``&quot;``: ``& < >`` are
    escaped, quotes stay as they are (without ``<`` no tag, and no attribute, can start).
    """
    return html.escape(_text(value, max_len).replace("\x00", "\ufffd"), quote=False)


def script_json(obj: Any) -> str:
    """JSON for inclusion inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c`` etc., so no value (a building called
    ``</script><script>…`` or ``<!--``) can close the element or start markup; U+2028/2029
    (line terminators in old JavaScript) are escaped too. JavaScript reads the same strings
    back. NaN and infinities are refused (they are not JSON): give None.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _xml_chars(value: Any) -> str:
    return _NOT_XML_CHAR.sub("\ufffd", _text(value))


def xml_text(value: Any) -> str:
    """Text for XML element content (QML/SLD): ``& < >`` escaped, forbidden characters U+FFFD.

    XML 1.0 cannot carry NUL and most other control characters at all, not even as character
    references; they are replaced so the document still parses. CR is written ``&#13;``
    (parsers turn a raw CR into LF).
    """
    return _xml_escape(_xml_chars(value), {"\r": "&#13;"})


def xml_attr(value: Any) -> str:
    """A quoted XML attribute value, quotes included (``"…"``); tab, CR and LF as references.

    Parsers turn raw tabs and line breaks in attributes into spaces, so they are written as
    ``&#9;``, ``&#13;``, ``&#10;`` and come back unchanged.
    """
    return _xml_quoteattr(_xml_chars(value))


def qgis_string(value: Any) -> str:
    """A QGIS expression string literal for ``value`` (what ``QgsExpression.quotedString`` makes).

    ``'`` doubles, ``\\`` doubles, line breaks and tabs become ``\\n`` and ``\\t``: the value is
    compared as data and never read as expression text. NUL, which QGIS' expression parser
    cannot read, becomes U+FFFD.
    """
    text = _text(value).replace("\x00", "\ufffd")
    text = (text.replace("'", "''").replace("\\", "\\\\")
            .replace("\n", "\\n").replace("\t", "\\t"))
    return f"'{text}'"


def qgis_field(name: Any) -> str:
    """A QGIS expression column reference (what ``QgsExpression.quotedColumnRef`` makes)."""
    return '"' + _text(name).replace('"', '""') + '"'


#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection").
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: ``'`` before text starting a formula.

    Only text is changed: numbers (negative ones too) stay numbers. A spreadsheet shows the
    quote as a text marker; programs reading the CSV see it and can strip it.
    """
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


def csv_frame(frame):
    """A copy of a DataFrame whose text cells, column names and index are :func:`csv_cell`-safe.

    Write CSVs with ``csv_frame(df).to_csv(...)``. Numeric columns are not touched.
    """
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(csv_cell)
    out.columns = [csv_cell(c) for c in out.columns]
    if out.index.dtype == object or pd.api.types.is_string_dtype(out.index.dtype):
        out.index = out.index.map(csv_cell)
    if isinstance(out.index.name, str):
        out.index.name = csv_cell(out.index.name)
    return out


def write_csv(frame, path, **to_csv) -> None:
    """Write a DataFrame as a CSV that is safe to open in a spreadsheet: the one CSV writer.

    Cells go through :func:`csv_frame`; lines end in CRLF (RFC 4180), so every cell holding a
    CR or LF is quoted (with LF line ends pandas leaves a lone CR unquoted and readers split
    the row there). ``to_csv`` are further arguments of ``DataFrame.to_csv``.
    """
    csv_frame(frame).to_csv(path, lineterminator="\r\n", **to_csv)


def terminal_text(value: Any) -> str:
    """Text for a terminal: escape sequences in a building name (``ESC ]0;...BEL`` retitles the
    window, ``ESC [2J`` clears it) and bidi overrides show as ``\\x1b``, ``\\u202e``; TAB, LF
    and CR pass."""
    def shown(m: re.Match) -> str:
        c = ord(m.group())
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"

    return _TERMINAL_CONTROL.sub(shown, _text(value))


def assert_template_free(text: str) -> str:
    """``text`` unchanged, after checking it has no Jinja2 delimiters.

    For the few strings of our own that we hand to folium (layer names): a guard that user
    text never reaches it by mistake. Raises ``ValueError``.
    """
    if _TEMPLATE_SYNTAX.search(text):
        raise ValueError(f"text for a template contains template syntax: {text[:80]!r}")
    return text


class PageSlots:
    """Text put into a page after a template engine we do not control has rendered it.

    ``slot(text)`` returns a placeholder (``pedgis-slot-<random>-<n>``: letters, digits and
    dashes, inert in Jinja2, HTML and JavaScript) to hand to the engine instead of ``text``;
    ``fill(page)`` replaces each placeholder by its text in one pass, so text that happens to
    contain a placeholder is never substituted again. Each placeholder must occur exactly once.

    Why not an element whose ``render`` returns the text: branca re-compiles what elements
    render in several places, and that may change between versions; a placeholder made of
    ``[a-z0-9-]`` is the same text whatever the engine does with it.
    """

    def __init__(self) -> None:
        self._prefix = f"pedgis-slot-{secrets.token_hex(8)}-"
        self._texts: dict[str, str] = {}

    def slot(self, text: str) -> str:
        key = f"{self._prefix}{len(self._texts)}"
        self._texts[key] = text
        return key

    def fill(self, page: str) -> str:
        if not self._texts:
            return page
        pattern = re.compile(re.escape(self._prefix) + r"\d+")
        found = pattern.findall(page)
        if sorted(found) != sorted(self._texts):
            raise RuntimeError(
                f"page slots: expected each of {len(self._texts)} placeholders once, found "
                f"{len(found)} occurrences"
            )
        return pattern.sub(lambda m: self._texts[m.group(0)], page)
