"""No hidden skips (issue 14 item 5): with ``PEDGIS_NO_SKIPS=1`` (set by every ``make test``
target) a session in which any test was skipped fails, listing each skip and its reason.

A skip means a test did not run where ``make test`` runs; the fix is to make it run there (its
package in the dev extra, its Debian package in scripts/install-system-deps.sh, its QGIS test in
tests/qgis), not to skip it. Outside ``make test`` (a developer's partial run) skips stay skips.
"""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("PEDGIS_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if not skipped:
        return
    lines = []
    for rep in skipped:
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        lines.append(f"  {rep.nodeid}: {reason}")
    reporter.ensure_newline()
    reporter.write_line(f"PEDGIS_NO_SKIPS: {len(skipped)} test(s) skipped where `make test` runs; make them run "
                        "here (tests/strict_skips.py):", red=True)
    for ln in lines:
        reporter.write_line(ln, red=True)
    if exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
