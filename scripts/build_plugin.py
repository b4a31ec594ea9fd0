#!/usr/bin/env python3
"""Build the installable QGIS plugin zip (``make plugin``): the plugin plus the pedgis library.

The zip has one top folder, ``pedgis_plugin/``, as QGIS's "Install from ZIP" and
plugins.qgis.org expect: the plugin code from ``qgis_plugin/pedgis_plugin`` (no tests, no
caches), the pedgis library in ``pedgis_plugin/libs/pedgis`` (put first on ``sys.path`` by the
plugin), and ``LICENSE``. The plugin's version is the library's (``pedgis.__version__``);
metadata.txt must agree. The build is reproducible: files sorted, timestamps fixed.

Only the standard library is used, so any Python ≥ 3.10 can run it.

Usage: ``python scripts/build_plugin.py [--out dist]`` → ``dist/pedgis_plugin-<version>.zip``.
"""

from __future__ import annotations

import argparse
import configparser
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_SRC = ROOT / "qgis_plugin" / "pedgis_plugin"
LIBRARY_SRC = ROOT / "pedgis"
TOP = "pedgis_plugin"
EXCLUDED_DIRS = {"__pycache__", "tests", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo", ".so", ".pyd", ".orig", ".rej", ".swp"}
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


class BuildError(Exception):
    """The plugin cannot be built; the message says why and what to fix."""


def library_version() -> str:
    text = (LIBRARY_SRC / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    if not match:
        raise BuildError(f"{LIBRARY_SRC / '__init__.py'}: no __version__ = \"...\" line.")
    return match.group(1)


def metadata_version() -> str:
    meta = configparser.ConfigParser(interpolation=None)
    meta.read(PLUGIN_SRC / "metadata.txt", encoding="utf-8")
    return meta.get("general", "version", fallback="")


def files_under(folder: Path):
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part in EXCLUDED_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix not in EXCLUDED_SUFFIXES:
            yield path, rel


def build(out_dir: Path) -> Path:
    version = library_version()
    if metadata_version() != version:
        raise BuildError(
            f"{PLUGIN_SRC / 'metadata.txt'}: version={metadata_version()} but pedgis.__version__ is "
            f"{version}; set the same version in both."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{TOP}-{version}.zip"
    entries: list[tuple[str, Path]] = []
    for path, rel in files_under(PLUGIN_SRC):
        entries.append((f"{TOP}/{rel.as_posix()}", path))
    for path, rel in files_under(LIBRARY_SRC):
        entries.append((f"{TOP}/libs/pedgis/{rel.as_posix()}", path))
    entries.append((f"{TOP}/LICENSE", ROOT / "LICENSE"))
    names = [name for name, _ in entries]
    if len(set(names)) != len(names):
        raise BuildError("duplicate paths in the plugin zip: " + ", ".join(sorted({n for n in names if names.count(n) > 1})))
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in sorted(entries):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    tmp.replace(target)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist)")
    args = parser.parse_args(argv)
    try:
        target = build(Path(args.out))
    except BuildError as exc:
        print(f"build_plugin: {exc}", file=sys.stderr)
        return 2
    with zipfile.ZipFile(target) as zf:
        count = len(zf.namelist())
    print(f"{target} ({count} files, {target.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
