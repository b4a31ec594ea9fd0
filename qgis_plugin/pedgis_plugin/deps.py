"""Check that the Python packages pedgis needs import inside QGIS's Python.

QGIS ships its own Python; geopandas, rasterio, pvlib and friends are usually not in it. The
plugin still loads without them (the boundary tools need only QGIS) and says, in one message,
exactly how to install them on Debian/Ubuntu, Windows (OSGeo4W shell) and macOS.

This module imports only the standard library so it works whatever is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field

#: import name → PyPI requirement. Keep in step with ``[project] dependencies`` in
#: pyproject.toml (a test checks it).
REQUIREMENTS: dict[str, str] = {
    "numpy": "numpy>=1.24",
    "pandas": "pandas>=1.5",
    "geopandas": "geopandas>=0.14",
    "shapely": "shapely>=2.0",
    "pyproj": "pyproj>=3.4",
    "pyogrio": "pyogrio>=0.7",
    "rasterio": "rasterio>=1.3",
    "pvlib": "pvlib>=0.10",
    "scipy": "scipy>=1.9",
    "folium": "folium>=0.15",
    "plotly": "plotly>=5.15",
    "xstatic.pkg.leaflet": "xstatic-leaflet>=1.9",
    "xstatic.pkg.jquery": "xstatic-jquery>=3.5",
    "numba": "numba>=0.58",
    "charset_normalizer": "charset-normalizer>=3.0",
    "lxml": "lxml>=4.9",
}
if sys.version_info < (3, 11):
    REQUIREMENTS["tomli"] = "tomli>=2.0"

#: the packages named in the first line of the message (the ones users recognise)
KEY_PACKAGES = ("geopandas", "rasterio", "pyogrio", "pvlib", "folium")


@dataclass
class DependencyReport:
    """Which requirements failed to import, and why."""

    missing: dict[str, str] = field(default_factory=dict)  # import name → error text
    numpy_version: str | None = None

    @property
    def ok(self) -> bool:
        return not self.missing


#: compiled packages imported even in the quick check: a NumPy ABI mismatch shows here
ABI_SENSITIVE = ("numpy", "shapely", "pyproj", "pyogrio", "rasterio")


def check_dependencies(requirements=None, *, deep: bool = True) -> DependencyReport:
    """Check that every requirement imports; never raises.

    Parameters
    ----------
    requirements : import names to check (default: all of :data:`REQUIREMENTS`)
    deep : import every package (slow: numba, scipy, pvlib take seconds). With ``False``
        (used while QGIS starts) only the compiled core in :data:`ABI_SENSITIVE` is imported
        and the rest is located with ``importlib.util.find_spec``.

    Notes
    -----
    An import can fail with more than ``ImportError`` (a NumPy ABI mismatch raises
    ``AttributeError`` or ``ValueError`` from compiled modules), so every exception counts.
    """
    report = DependencyReport()
    for name in requirements or REQUIREMENTS:
        try:
            if deep or name in ABI_SENSITIVE:
                module = importlib.import_module(name)
            else:
                module = None
                if importlib.util.find_spec(name) is None:
                    raise ModuleNotFoundError(f"No module named '{name}'")
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
            report.missing[name] = f"{type(exc).__name__}: {exc}"
        else:
            if name == "numpy" and module is not None:
                report.numpy_version = getattr(module, "__version__", None)
    if report.ok and deep:
        try:
            importlib.import_module("pedgis")
        except Exception as exc:  # noqa: BLE001
            report.missing["pedgis"] = f"{type(exc).__name__}: {exc}"
    return report


def _pip_args(report: DependencyReport) -> str:
    """The requirement list for pip, keeping the NumPy QGIS already uses.

    QGIS's own GDAL bindings are compiled against the NumPy it ships; letting pip upgrade it
    (e.g. to NumPy 2) breaks them, so the command pins the version found.
    """
    reqs = [req for name, req in REQUIREMENTS.items() if name != "numpy"]
    numpy_req = f"numpy=={report.numpy_version}" if report.numpy_version else "numpy<2"
    return " ".join(f'"{r}"' for r in [numpy_req, *reqs])


def this_python() -> str | None:
    """The Python interpreter of the running QGIS, when it can be found on disk."""
    candidates = []
    if os.name == "nt":
        candidates.append(os.path.join(sys.exec_prefix, "python.exe"))
    else:
        candidates.append(os.path.join(sys.exec_prefix, "bin", "python3"))
    exe = os.path.basename(sys.executable or "").lower()
    if exe.startswith("python"):
        candidates.insert(0, sys.executable)
    for path in candidates:
        if path and os.path.isfile(path):
            return path
    return None


def install_message(report: DependencyReport) -> str:
    """One message: what is missing and the exact commands to install it, per platform."""
    names = sorted(report.missing)
    key = [n for n in KEY_PACKAGES if n in report.missing]
    others = [n for n in names if n not in key]
    listed = ", ".join(key + others)
    details = "\n".join(f"  - {n}: {report.missing[n]}" for n in names)
    pkgs = _pip_args(report)
    here = this_python()
    lines = [
        f"pedgis needs Python packages that QGIS's Python cannot import: {listed}.",
        "The boundary tools work without them; the Processing algorithms need them.",
        "Install them into QGIS's Python, then restart QGIS:",
        "",
        "Debian / Ubuntu (QGIS from the distribution or qgis.org packages), in a terminal:",
        "  sudo apt install python3-pip",
        f"  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --user {pkgs}",
        "",
        "Windows: open 'OSGeo4W Shell' from the Start menu (right click, Run as administrator):",
        f"  python -m pip install {pkgs}",
        "",
        "macOS (QGIS.app from qgis.org; use QGIS-LTR.app for the LTR), in Terminal:",
        f"  /Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install --user {pkgs}",
    ]
    if here:
        lines += ["", "This QGIS runs the Python at:", f"  {here} -m pip install --user {pkgs}"]
    lines += ["", "What failed:", details]
    return "\n".join(lines)
