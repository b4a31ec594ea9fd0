"""Offline assets: Leaflet and jQuery inlined from the ``xstatic-*`` packages, no CDN.

Planners open these pages in council rooms and on intranets without internet; folium loads
Leaflet, jQuery, Bootstrap and Font Awesome from CDNs by default, which leaves a blank page
offline. The pages here carry their scripts and styles inline (images as ``data:`` URIs).
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from pathlib import Path

from pedgis.errors import MissingDependencyError

_REMOTE_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_CSS_REMOTE = re.compile(r"""(?:url\(\s*["']?|@import\s+["']?)\s*(?:https?:)?//""", re.IGNORECASE)
# elements whose attribute makes the browser fetch something by itself
_FETCHING = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src",
             "audio": "src", "video": "src", "embed": "src", "object": "data", "input": "src"}


def _xstatic_dir(module: str, pip_name: str) -> Path:
    try:
        mod = __import__(f"xstatic.pkg.{module}", fromlist=["BASE_DIR"])
    except ImportError as exc:  # pragma: no cover - they are hard dependencies
        raise MissingDependencyError(
            f"The offline map needs the Python package '{pip_name}'. "
            f"Fix: pip install {pip_name}"
        ) from exc
    return Path(mod.BASE_DIR)


def _script_safe(js: str) -> str:
    # a literal "</script" inside inlined code would end the element early
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


@lru_cache(maxsize=1)
def leaflet_js() -> str:
    """Leaflet's minified JavaScript (from ``xstatic-leaflet``)."""
    return _script_safe((_xstatic_dir("leaflet", "xstatic-leaflet") / "leaflet.js").read_text("utf-8"))


@lru_cache(maxsize=1)
def jquery_js() -> str:
    """jQuery's minified JavaScript (from ``xstatic-jquery``)."""
    return _script_safe((_xstatic_dir("jquery", "xstatic-jquery") / "jquery.min.js").read_text("utf-8"))


@lru_cache(maxsize=1)
def leaflet_css() -> str:
    """Leaflet's CSS with its images (layer-control icon, markers) as ``data:`` URIs."""
    base = _xstatic_dir("leaflet", "xstatic-leaflet")
    css = (base / "leaflet.css").read_text("utf-8")

    def inline(match: re.Match) -> str:
        rel = match.group(1)
        path = base / rel
        if not path.is_file():
            return "none"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[^)]+\.png)\)", inline, css)
    return css.replace("</", "<\\/")


def leaflet_head() -> str:
    """``<style>`` and ``<script>`` elements carrying Leaflet and jQuery inline."""
    return (
        f"<style>{leaflet_css()}</style>\n"
        f"<script>{leaflet_js()}</script>\n"
        f"<script>{jquery_js()}</script>\n"
    )


def remote_references(html_text: str) -> list[str]:
    """Everything in ``html_text`` that would make the browser fetch from the network.

    Checks the attributes that load by themselves (``<script src>``, ``<link href>``,
    ``<img src>``, ``<iframe src>`` …), CSS ``url()``/``@import`` in ``<style>`` elements and
    ``style`` attributes, and iframe ``srcdoc`` documents recursively. Hyperlinks the user
    clicks (``<a href>``) and strings inside scripts load nothing and are not reported.
    """
    from html.parser import HTMLParser

    found: list[str] = []

    class _Scan(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self._in_style = False

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            key = _FETCHING.get(tag)
            if key and a.get(key) and _REMOTE_URL.match(a[key]):
                found.append(f"<{tag} {key}={a[key]!r}>")
            if a.get("style") and _CSS_REMOTE.search(a["style"]):
                found.append(f"<{tag} style=...{a['style'][:60]}>")
            if tag == "iframe" and a.get("srcdoc"):
                found.extend(remote_references(a["srcdoc"]))
            self._in_style = tag == "style"

        def handle_endtag(self, tag):
            self._in_style = False

        def handle_data(self, data):
            if self._in_style and _CSS_REMOTE.search(data):
                m = _CSS_REMOTE.search(data)
                found.append(data[m.start(): m.start() + 80])

    _Scan().feed(html_text)
    return found
