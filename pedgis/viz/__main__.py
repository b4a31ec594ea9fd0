"""``python -m pedgis.viz OUT_DIR``: same as ``pedgis map OUT_DIR``."""

import sys

from pedgis.viz.cli import main

sys.exit(main())
