"""`python -m pedgis`: the same as the `pedgis` command."""

import sys

from pedgis.cli import main

sys.exit(main())
