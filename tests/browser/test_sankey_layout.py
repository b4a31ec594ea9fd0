"""The Sankey fits a 1280 x 720 screen and a bigger one, with no label over another (issue 14 item 1).

Chromium draws sankey.html of the sample district and of a generated district with a dozen
carriers and systems (tests/viz/busy_district.py); every node label, column head and the title
is read from the DOM as a rectangle: no two may intersect, and none, nor any node, may leave the
window (the page must not scroll).
"""

import time

import pytest
from busy_district import busy_district
from cdp import Browser

from pedgis.viz.sankey import sankey_html

pytestmark = pytest.mark.browser

_BOXES = """(function () {
  function rect(e) { var r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
  return {
    labels: Array.from(document.querySelectorAll('.sankey-node .node-label, .annotation-text, .gtitle'))
      .filter(function (e) { return e.textContent.trim(); })
      .map(function (e) { return [e.textContent].concat(rect(e)); }),
    nodes: Array.from(document.querySelectorAll('.sankey-node .node-rect')).map(rect),
    w: innerWidth, h: innerHeight, scroll: document.documentElement.scrollHeight
  };
})()"""


def _problems(m):
    out = []
    labels = m["labels"]
    for i, a in enumerate(labels):
        if a[1] < 0 or a[2] < 0 or a[3] > m["w"] or a[4] > m["h"]:
            out.append(f"outside the window: {a[0]!r}")
        for b in labels[i + 1:]:
            if a[3] > b[1] and a[1] < b[3] and a[4] > b[2] and a[2] < b[4]:
                out.append(f"{a[0]!r} overlaps {b[0]!r}")
    out += [f"node outside: {n}" for n in m["nodes"] if n[0] < 0 or n[1] < 0 or n[2] > m["w"] or n[3] > m["h"]]
    if m["scroll"] > m["h"]:
        out.append(f"the page scrolls: {m['scroll']} px in a {m['h']} px window")
    return out


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
@pytest.mark.parametrize("district", ["sample", "busy"])
def test_sankey_labels_never_overlap_and_fit_the_window(district, size, sample_pages, tmp_path, artifacts):
    if district == "sample":
        page = sample_pages / "sankey.html"
    else:
        page = tmp_path / "sankey.html"
        page.write_text(sankey_html(busy_district(), "Busy district: 12 carriers, 12 systems"), encoding="utf-8")
    with Browser(width=size[0], height=size[1]) as b:
        b.open(page)
        b.wait_for("document.querySelectorAll('.sankey-node').length > 0")
        time.sleep(0.5)  # plotly's responsive relayout
        m = b.eval(_BOXES)
        b.screenshot(artifacts / f"sankey_{district}_{size[0]}x{size[1]}.png")
    assert len(m["nodes"]) >= (30 if district == "busy" else 20)
    assert _problems(m) == []
