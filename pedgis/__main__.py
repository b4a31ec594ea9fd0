"""`python -m pedgis`: the same as the `pedgis` command."""

import sys

from pedgis.cli import console_main

sys.exit(console_main())
