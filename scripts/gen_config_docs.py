"""Regenerate docs/config.md from the scenario schema in pedgis/config.py.

    python scripts/gen_config_docs.py          # write docs/config.md
    python scripts/gen_config_docs.py --check  # exit 1 when docs/config.md is out of date
"""

import sys
from pathlib import Path

from pedgis.config import schema_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "config.md"

if __name__ == "__main__":
    text = schema_markdown()
    if "--check" in sys.argv:
        sys.exit(0 if DOC.exists() and DOC.read_text(encoding="utf-8") == text else 1)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
