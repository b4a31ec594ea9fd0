#!/usr/bin/env bash
# A venv for the QGIS plugin tests: Debian's /usr/bin/python3 with its site packages
# (python3-qgis), NumPy 1 (Debian's GDAL bindings are built against it) and attrs>=23
# (Debian's attrs is too old for rasterio).
set -euo pipefail
QVENV=${1:-.venv-qgis}
bash "$(dirname "$0")/install-system-deps.sh"
test -x "$QVENV/bin/python" || /usr/bin/python3 -m venv --system-site-packages "$QVENV"
"$QVENV/bin/python" -m pip install -q --upgrade pip
"$QVENV/bin/python" -m pip install -q 'numpy<2' 'attrs>=23' -e '.[dev,qgis]'
