#!/usr/bin/env bash
# The QGIS plugin tests' environment, as a user gets it: Debian's /usr/bin/python3 with
# python3-qgis (no venv, no hand-tuned pins), and the library's dependencies installed by the
# plugin's own installer into $QVENV/deps, the way "Install Python packages…" puts them into a
# QGIS profile (docs/qgis.md). pytest and pytest-qgis go into $QVENV/tools by the same installer,
# which keeps every package Debian already has (so they shadow nothing).
set -euo pipefail
QVENV=${1:-.venv-qgis}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/install-system-deps.sh"
# .venv-qgis used to be a venv made by this script: replace it
if [ -f "$QVENV/pyvenv.cfg" ]; then rm -rf "$QVENV"; fi
mkdir -p "$QVENV"
INSTALLER="$ROOT/qgis_plugin/pedgis_plugin/installer.py"
# QGIS's Python as it starts: nothing of pedgis's on the path
env -u PYTHONPATH -u PEDGIS_DEPS_DIR /usr/bin/python3 "$INSTALLER" --target "$QVENV/deps"
env -u PYTHONPATH -u PEDGIS_DEPS_DIR /usr/bin/python3 "$INSTALLER" --target "$QVENV/tools" \
  --requirement "pytest>=7.4" --requirement "pytest-qgis>=2.0"
