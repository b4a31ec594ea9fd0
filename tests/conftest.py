"""Shared by every test folder: ``tests/`` on the import path (payloads.py, hostile_sample.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from strict_skips import pytest_sessionfinish  # noqa: E402,F401  (a skip fails `make test`)
