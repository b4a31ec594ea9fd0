"""report.html printed to PDF by Chromium (issue 14 item 3): A4 pages, no chart cut.

Chromium's own printing (DevTools ``Page.printToPDF`` with the page's ``@page`` size) writes the
PDF; its pages' MediaBox must be A4 (210 x 297 mm = 595.3 x 841.9 pt, ISO 216). In print media
at the A4 line width, every chart, the map and each table row must be kept whole on a page:
taller than a page's printable height it would be cut, so each is checked against it, and each
must carry ``break-inside: avoid``.
"""

import base64
import re

import pytest

pytestmark = pytest.mark.browser

MM_PER_PT = 25.4 / 72
A4_PT = (210 / MM_PER_PT, 297 / MM_PER_PT)
CSS_PX_PER_MM = 96 / 25.4
PRINTABLE_MM = (210 - 2 * 12, 297 - 2 * 14)  # the report's @page margins


def test_report_prints_to_a4_without_cut_charts(browser, sample_pages, artifacts):
    browser.open(sample_pages / "report.html")
    browser.wait_for("document.querySelectorAll('#pedgis-sankey .sankey-node').length > 0")
    # what the printed page lays out: print media, the A4 line width
    width_px = round(PRINTABLE_MM[0] * CSS_PX_PER_MM)
    browser.send("Emulation.setEmulatedMedia", media="print")
    browser.send("Emulation.setDeviceMetricsOverride", width=width_px, height=1000, deviceScaleFactor=1, mobile=False)
    try:
        blocks = browser.eval("""Array.from(document.querySelectorAll('.chart, iframe.map, .verdict, .gap'))
          .map(function (e) { var r = e.getBoundingClientRect(), s = getComputedStyle(e);
            var z = parseFloat(s.zoom || '1');
            return [e.className || e.tagName, r.width * z, r.height * z, s.breakInside]; })""")
        # a zoomed element reports its unzoomed box in its own units; the page takes it zoomed
        page_h = PRINTABLE_MM[1] * CSS_PX_PER_MM
        assert len(blocks) >= 4
        for name, w, h, brk in blocks:
            assert brk == "avoid", name
            assert h <= page_h, f"{name}: {h:.0f} px tall, the page holds {page_h:.0f} px"
            assert w <= width_px + 1, f"{name}: {w:.0f} px wide, the A4 line is {width_px} px"
    finally:  # the session's browser goes back to its screen
        browser.send("Emulation.setEmulatedMedia", media="")
        browser.send("Emulation.setDeviceMetricsOverride", width=browser.width, height=browser.height,
                     deviceScaleFactor=1, mobile=False)
    pdf = base64.b64decode(browser.send("Page.printToPDF", preferCSSPageSize=True, printBackground=True)["data"])
    (artifacts / "report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages >= 4 and len(boxes) >= 1
    for w, h in boxes:
        assert float(w) == pytest.approx(A4_PT[0], abs=1.5) and float(h) == pytest.approx(A4_PT[1], abs=1.5)
