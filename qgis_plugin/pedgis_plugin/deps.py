"""What the pedgis library needs in QGIS's Python, whether QGIS's Python has it, and the
plugin-private folder that holds what was missing (docs/qgis.md, "Python packages").

QGIS ships its own Python. geopandas, rasterio, pvlib and friends are usually not in it, and
what is there can be too old: Debian 12's QGIS has attrs 22.2, with which rasterio's affine
fails (``No '__dict__' attribute on 'Affine' instance``), and plotly 5.4. So the check compares
the version of every requirement with its floor — pyproject.toml's and the undeclared ones that
bite — and walks the declared requirements of what it finds; importing alone proves little.

What is missing goes into a folder of the plugin's own (:mod:`installer` puts it there with
pip); :func:`activate` puts that folder at the front of ``sys.path``.

Only the standard library is needed: the check must work whatever is missing. ``packaging``
compares versions when QGIS's Python has it (Debian, OSGeo4W and QGIS.app do); otherwise a small
PEP 440 comparison below does, enough for the floors listed here, and the walk through the
packages' own declared requirements (whose markers need ``packaging``) is skipped.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import re
import shutil
import sys
import sysconfig
from dataclasses import dataclass, field

#: ``[project] dependencies`` of pyproject.toml, verbatim (a test keeps them identical)
REQUIREMENTS: tuple[str, ...] = (
    "numpy>=1.24",
    "pandas>=1.5",
    "geopandas>=0.14",
    "shapely>=2.0",
    "pyproj>=3.4",
    "pyogrio>=0.7",
    "rasterio>=1.3",
    "pvlib>=0.10",
    "scipy>=1.9",
    "folium>=0.15",
    "plotly>=5.15",
    "xstatic-leaflet>=1.9",
    "xstatic-jquery>=3.5",
    "numba>=0.58",
    "charset-normalizer>=3.0",
    "lxml>=4.9",
    "pyarrow>=14",
    "tomli>=2.0; python_version < '3.11'",
)

#: Floors the packages do not declare but that bite, found by installing into Debian 12's QGIS
#: Python (requirement → why). They are checked and installed like the library's own.
UNDECLARED_FLOORS: dict[str, str] = {
    "attrs>=23.2": "affine 3 (rasterio's) caches properties on slotted attrs classes, which "
    "attrs < 23.2 cannot: rasterio fails with \"No '__dict__' attribute on 'Affine' instance\"",
}

#: Limits a package does not declare, for a QGIS Python whose NumPy is older than 2 (QGIS's GDAL
#: bindings are built against it): constraint → why. The installer adds them to its pins there.
NUMPY1_LIMITS: dict[str, str] = {
    "pyarrow<26": "pyarrow 26 needs NumPy 2 at import (\"pyarrow requires NumPy 2.0 or newer\") but its "
    "metadata does not say so; pyarrow 25 works with NumPy 1 and 2",
}

#: import name of a requirement when it is not the distribution name with "_" for "-"
IMPORT_NAMES = {"xstatic-leaflet": "xstatic.pkg.leaflet", "xstatic-jquery": "xstatic.pkg.jquery"}

#: compiled packages imported even by the quick check at QGIS start-up: a broken binary (a NumPy
#: ABI mismatch, a missing shared library) shows there and then
ABI_SENSITIVE = ("numpy", "shapely", "pyproj", "pyogrio", "rasterio")

#: the packages named first in messages (the ones users recognise)
KEY_PACKAGES = ("geopandas", "rasterio", "pyogrio", "pvlib", "folium")

#: the file the installer writes into the private folder: what it installed, and the proof
#: that the folder is the plugin's own (nothing else is ever replaced or deleted)
MANIFEST = "pedgis-deps.json"

#: environment variable naming the private folder instead of the profile's (shared installs,
#: tests)
FOLDER_ENV = "PEDGIS_DEPS_DIR"


def all_requirements() -> list[str]:
    """The library's requirements and the undeclared floors, in that order."""
    return [*REQUIREMENTS, *UNDECLARED_FLOORS]


# -- versions -----------------------------------------------------------------------------------
def _packaging():
    """``packaging``'s requirement class, or None; looked up on each call so a ``packaging``
    that arrives with the private folder is used once the folder is active."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return None
    return Requirement


_VERSION = re.compile(
    r"""^\s*v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<pre_l>a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?P<pre_n>\d*))?
    (?:-(?P<post_n1>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d*))?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d*))?
    (?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


def version_key(text: str) -> tuple:
    """A sort key of a PEP 440 version: ``X.devN < X.aN < X.bN < X.rcN < X < X.postN``;
    trailing zeros and local labels do not count. Raises ValueError for other text."""
    m = _VERSION.match(text)
    if m is None:
        raise ValueError(f"not a version: {text!r}")
    release = tuple(int(x) for x in m["release"].split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    if m["pre_l"]:
        pre = (_PRE_RANK[m["pre_l"].lower()], int(m["pre_n"] or 0))
    elif m["dev_l"] and not (m["post_n1"] or m["post_l"]):
        pre = (-1, 0)  # 1.0.dev1 comes before 1.0a1
    else:
        pre = (3, 0)  # a final release comes after its pre-releases
    has_post = bool(m["post_n1"] or m["post_l"])
    post = int(m["post_n1"] or m["post_n2"] or 0) if has_post else -1
    dev = (0, int(m["dev_n"] or 0)) if m["dev_l"] else (1, 0)
    return (int(m["epoch"] or 0), release, pre, post, dev)


def _release_prefix(version: str, prefix: str) -> bool:
    """``version == prefix.*``: the release numbers start with the prefix's."""
    have = _VERSION.match(version)["release"].split(".")
    want = prefix.split(".")
    have += ["0"] * (len(want) - len(have))
    return [int(x) for x in have[: len(want)]] == [int(x) for x in want]


def _compare(version: str, op: str, want: str) -> bool:
    """One PEP 440 comparison without ``packaging`` (pre-releases allowed)."""
    if op == "===":
        return version.strip() == want.strip()
    if want.endswith(".*"):
        inside = _release_prefix(version, want[:-2])
        return inside if op == "==" else not inside
    have, floor = version_key(version), version_key(want)
    if op == "~=":
        parts = want.split(".")
        return have >= floor and _release_prefix(version, ".".join(parts[:-1]))
    same_base = have[:2] == floor[:2]  # epoch and release numbers
    if op == ">":  # >V excludes V's post-releases and local versions (unless V is a post-release)
        return have > floor and not (same_base and floor[3] == -1 and (have[3] != -1 or "+" in version))
    if op == "<":  # <V excludes V's pre-releases (unless V is one)
        def is_pre(key):
            return key[2] != (3, 0) or key[4] != (1, 0)
        return have < floor and not (same_base and not is_pre(floor) and is_pre(have))
    return {">=": have >= floor, "<=": have <= floor, "==": have == floor, "!=": have != floor}[op]


_MARKER = re.compile(r"""^\s*(python_version|python_full_version|sys_platform|os_name|platform_system)
    \s*(==|!=|<=|>=|<|>)\s*['"]([^'"]*)['"]\s*$""", re.VERBOSE)


def _marker_applies(marker: str) -> bool:
    """A marker made of ``and``-ed comparisons on the Python version or the platform, without
    ``packaging`` (the only kind this module's own requirements use)."""
    env = {
        "python_version": ".".join(map(str, sys.version_info[:2])),
        "python_full_version": ".".join(map(str, sys.version_info[:3])),
        "sys_platform": sys.platform,
        "os_name": os.name,
        "platform_system": {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}.get(sys.platform, ""),
    }
    for part in re.split(r"\s+and\s+", marker.strip()):
        m = _MARKER.match(part)
        if m is None:
            raise ValueError(f"marker not understood without 'packaging': {marker!r}")
        key, op, value = m.groups()
        if key.startswith("python"):
            ok = _compare(env[key], op, value)
        else:
            ok = (env[key] == value) if op == "==" else (env[key] != value) if op == "!=" else False
        if not ok:
            return False
    return True


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*((?:[<>=!~]=?=?\s*[^,;\s]+\s*,?\s*)*)(?:;(.*))?$")


@dataclass(frozen=True)
class Requirement:
    """A requirement such as ``numpy>=1.24`` or ``tomli>=2.0; python_version < '3.11'``."""

    text: str
    name: str  # as written
    specifier: str  # e.g. ">=1.24" ("" for any version)
    marker: str | None

    @classmethod
    def parse(cls, text: str) -> Requirement:
        packaging_requirement = _packaging()
        if packaging_requirement is not None:
            req = packaging_requirement(text)
            return cls(text, req.name, str(req.specifier), str(req.marker) if req.marker else None)
        m = _REQUIREMENT.match(text)
        if m is None or "[" in text:
            raise ValueError(f"requirement not understood without 'packaging': {text!r}")
        marker = m.group(3).strip() if m.group(3) else None
        return cls(text, m.group(1), re.sub(r"\s+", "", m.group(2)), marker)

    @property
    def key(self) -> str:
        """The normalised distribution name (PEP 503)."""
        return canonical_name(self.name)

    def applies(self) -> bool:
        """Does the marker select this Python (extras are never selected)?"""
        if not self.marker:
            return True
        packaging_requirement = _packaging()
        if packaging_requirement is not None:
            from packaging.markers import Marker

            return Marker(self.marker).evaluate({"extra": ""})
        return _marker_applies(self.marker)

    def accepts(self, version: str) -> bool:
        """Does ``version`` satisfy the specifier (pre-releases count as releases)?"""
        if not self.specifier:
            return True
        packaging_requirement = _packaging()
        if packaging_requirement is not None:
            from packaging.specifiers import SpecifierSet

            return SpecifierSet(self.specifier).contains(version, prereleases=True)
        for clause in self.specifier.split(","):
            op, want = re.match(r"(===|==|!=|~=|<=|>=|<|>)(.+)", clause.strip()).groups()
            if not _compare(version, op, want):
                return False
        return True


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# -- what is installed and loaded -------------------------------------------------------------
def _distributions(name: str) -> list:
    """Every installed distribution called ``name``, in ``sys.path`` order (the first is the
    one imports see); one per folder."""
    found, seen = [], set()
    for dist in importlib.metadata.distributions(name=name):
        root = dist_root(dist)
        if root not in seen:
            seen.add(root)
            found.append(dist)
    return found


def dist_root(dist) -> str:
    """The folder a distribution's files are relative to (its site-packages)."""
    return os.path.realpath(str(dist.locate_file("")))


def _top_level_modules(dist) -> list[str]:
    """The importable top-level names a distribution provides."""
    text = dist.read_text("top_level.txt")
    if text:
        return [n.strip() for n in text.split() if n.strip()]
    names = set()
    for path in dist.files or ():
        first = path.parts[0] if path.parts else ""
        if not first or first == ".." or first.endswith((".dist-info", ".egg-info", ".libs", ".data")):
            continue
        if len(path.parts) == 1:
            if first.endswith(".py"):
                names.add(first[:-3])
            elif first.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
                names.add(first.split(".")[0])
        elif first.isidentifier() and first != "__pycache__":
            names.add(first)
    return sorted(names)


def is_under(path: str, folder: str) -> bool:
    """Is ``path`` ``folder`` or inside it (links resolved)?"""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _loaded_elsewhere(dists: list) -> tuple[str, str] | None:
    """(module, file) when a module of this distribution is already imported from another copy
    of it than the first on ``sys.path`` (a restart is then needed to use the first)."""
    if len(dists) < 2:
        return None
    first_root = dist_root(dists[0])
    other_roots = [dist_root(d) for d in dists[1:]]
    for module_name in _top_level_modules(dists[0]):
        module = sys.modules.get(module_name)
        path = getattr(module, "__file__", None) if module is not None else None
        if path and not is_under(path, first_root) and any(is_under(path, r) for r in other_roots):
            return module_name, path
    return None


# -- the check -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One requirement QGIS's Python does not meet."""

    name: str  # distribution name, as required
    requirement: str  # e.g. "attrs>=23.2"
    kind: str  # "missing", "version", "broken" (installed, does not import) or "restart"
    found: str | None = None  # version found
    where: str | None = None  # folder it was found in (or the loaded module's file)
    detail: str = ""  # the import error, or why the floor exists
    required_by: str = "pedgis"

    def describe(self) -> str:
        by = "" if self.required_by == "pedgis" else f" (for {self.required_by})"
        if self.kind == "missing":
            text = f"{self.name}: not installed; pedgis needs {self.requirement}{by}"
        elif self.kind == "version":
            text = f"{self.name}: {self.found} in {self.where}; needs {self.requirement}{by}"
        elif self.kind == "restart":
            text = (f"{self.name}: {self.found} is already loaded from {self.where}, so the "
                    f"version installed for pedgis ({self.requirement}) takes effect only "
                    "after QGIS restarts")
        else:
            text = f"{self.name}: installed but does not import{by}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class DependencyReport:
    """What the check found; ``ok`` when pedgis can run."""

    problems: list[Problem] = field(default_factory=list)
    numpy_version: str | None = None
    folder: str | None = None  # the private folder, when active

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: Problem) -> None:
        """Record a problem once per package and kind (a floor of ours and the same package
        declared by another give one line)."""
        if not any(p.name == problem.name and p.kind == problem.kind for p in self.problems):
            self.problems.append(problem)

    @property
    def missing(self) -> dict[str, str]:
        """distribution name → one line on what is wrong (every problem)."""
        return {p.name: p.describe() for p in self.problems}

    @property
    def needs_restart(self) -> bool:
        return any(p.kind == "restart" for p in self.problems)

    @property
    def installable(self) -> list[Problem]:
        """The problems an install fixes (all but those waiting for a restart)."""
        return [p for p in self.problems if p.kind != "restart"]


def _import_name(name: str) -> str:
    return IMPORT_NAMES.get(canonical_name(name), name.replace("-", "_"))


def _import(name: str, *, load: bool) -> None:
    """Import the requirement's module, or (``load=False``) only find it."""
    module = _import_name(name)
    if load:
        importlib.import_module(module)
    elif importlib.util.find_spec(module) is None:
        raise ModuleNotFoundError(f"No module named '{module}'")


def check_dependencies(requirements=None, *, deep: bool = True, folder: str | None = None) -> DependencyReport:
    """Check every requirement; never raises.

    Parameters
    ----------
    requirements : requirement strings (default: :func:`all_requirements`)
    deep : import every package (slow: numba, scipy, pvlib take seconds) and then pedgis. With
        ``False`` (while QGIS starts) only the compiled core in :data:`ABI_SENSITIVE` is imported
        and the other modules are only looked for.
    folder : the private folder, named in the report

    Every requirement is found in the installed metadata, its version compared with its floor,
    and — when ``packaging`` is there — the requirements its own metadata declares are followed
    the same way. A module already imported from another copy than the one ``sys.path`` now
    finds first is a "restart" problem. An import can fail with more than ``ImportError`` (a
    NumPy ABI mismatch raises ``AttributeError`` or ``ValueError``), so every exception counts.
    """
    report = DependencyReport(folder=folder)
    walk = _packaging() is not None
    todo = [(text, "pedgis") for text in (requirements or all_requirements())]
    seen: set[str] = set()
    while todo:
        text, required_by = todo.pop(0)
        try:
            req = Requirement.parse(text)
            if not req.applies():
                continue
        except Exception as exc:  # noqa: BLE001 - a malformed declaration in some package
            if required_by == "pedgis":
                report.add(Problem(text, text, "broken", detail=f"{type(exc).__name__}: {exc}"))
            continue
        ours = required_by == "pedgis"
        why = UNDECLARED_FLOORS.get(text, "")
        dists = _distributions(req.name)
        if not dists:
            report.add(Problem(req.name, text, "missing", detail=why, required_by=required_by))
            continue
        dist = dists[0]
        version = dist.version
        if not req.accepts(version):
            report.add(Problem(req.name, text, "version", version, dist_root(dist), why, required_by))
            continue
        loaded = _loaded_elsewhere(dists)
        if loaded is not None:
            old = next((d.version for d in dists[1:] if is_under(loaded[1], dist_root(d))), "?")
            report.add(Problem(req.name, text, "restart", old, loaded[1], required_by=required_by))
            continue
        if ours:
            try:
                _import(req.name, load=deep or req.key in ABI_SENSITIVE)
            except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
                report.add(Problem(req.name, text, "broken", version, dist_root(dist),
                                               f"{type(exc).__name__}: {exc}", required_by))
                continue
        if req.key == "numpy":
            report.numpy_version = version
        if walk and req.key not in seen:
            seen.add(req.key)
            todo += [(r, f"{dist.metadata['Name']} {version}") for r in (dist.requires or [])]
    if report.ok and deep:
        try:
            importlib.import_module("pedgis")
        except Exception as exc:  # noqa: BLE001
            report.add(Problem("pedgis", "pedgis", "broken", detail=f"{type(exc).__name__}: {exc}"))
    return report


# -- the private folder ----------------------------------------------------------------------
def folder_tag() -> str:
    """Python and platform of this interpreter, e.g. ``cpython-311-linux-x86_64``: compiled
    packages only work for the Python they were built for, and a QGIS upgrade that changes
    Python finds an empty folder of its own rather than unusable binaries."""
    return f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}".replace(" ", "_")


def private_folder(settings_dir: str) -> str:
    """The folder pedgis's packages go into: ``$PEDGIS_DEPS_DIR`` when set, else
    ``<QGIS profile>/python/pedgis_deps/<folder_tag()>``."""
    override = os.environ.get(FOLDER_ENV)
    if override:
        return os.path.abspath(override)
    return os.path.join(settings_dir, "python", "pedgis_deps", folder_tag())


def pending_folder(folder: str) -> str:
    """A complete install waiting to replace ``folder`` (Windows keeps loaded binaries locked)."""
    return folder + ".pending"


def is_ours(folder: str) -> bool:
    """Is ``folder`` missing, empty or a folder the installer wrote (it holds the manifest)?"""
    if not os.path.isdir(folder):
        return not os.path.exists(folder)
    return os.path.isfile(os.path.join(folder, MANIFEST)) or not os.listdir(folder)


def promote_pending(folder: str) -> bool:
    """Replace ``folder`` by its pending install, if there is a complete one. Returns True when
    the pending install is now in place. Raises OSError when a file of ``folder`` is in use."""
    pending = pending_folder(folder)
    if not os.path.isfile(os.path.join(pending, MANIFEST)):
        return False
    if not is_ours(folder):
        raise OSError(f"{folder} exists and was not written by pedgis; not replacing it")
    old = f"{folder}.old-{os.getpid()}"
    if os.path.exists(folder):
        os.replace(folder, old)
    try:
        os.replace(pending, folder)
    except OSError:
        if os.path.exists(old):
            os.replace(old, folder)
        raise
    remove_replaced(folder)
    return True


def remove_replaced(folder: str) -> None:
    """Delete the replaced copies (``<folder>.old-*``) left beside ``folder``; one still in use
    (Windows) stays until a later start."""
    parent, base = os.path.split(os.path.abspath(folder))
    if os.path.isdir(parent):
        for name in os.listdir(parent):
            if name.startswith(base + ".old-"):
                shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def _deepbind_hook(folder: str):
    """A ``sys.path`` hook loading the compiled modules of ``folder`` with ``RTLD_DEEPBIND``.

    On Linux, QGIS has already loaded its own GDAL, GEOS, PROJ and HDF5 with global symbol
    scope. A wheel's extension module (rasterio, pyogrio, shapely, pyproj, h5py) would resolve
    its GDAL/GEOS/... calls to those first and not to the libraries the wheel ships: in QGIS 3.22
    on Debian 12 rasterio then runs on GDAL 3.6 though built for 3.10, shapely 2.1 fails ("WKB
    output dimension must be 2 or 3"), h5py fails ("Not a datatype") and QGIS crashes at exit.
    Deep binding makes each such module use its own libraries first. Only modules loaded from
    ``folder`` are affected; Windows and macOS bind to the named library anyway.
    """
    flag = getattr(os, "RTLD_DEEPBIND", None)
    if flag is None or not sys.platform.startswith("linux"):
        return None

    class DeepBindExtensionLoader(importlib.machinery.ExtensionFileLoader):
        def create_module(self, spec):
            flags = sys.getdlopenflags()
            sys.setdlopenflags(flags | flag)
            try:
                return super().create_module(spec)
            finally:
                sys.setdlopenflags(flags)

    loaders = (
        (DeepBindExtensionLoader, importlib.machinery.EXTENSION_SUFFIXES),
        (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
        (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
    )

    def hook(path):
        if not path or not is_under(path, folder):
            raise ImportError("not in pedgis's private folder")
        return importlib.machinery.FileFinder(path, *loaders)

    hook.pedgis_folder = os.path.realpath(folder)
    return hook


def activate(folder: str) -> bool:
    """Make the private folder importable, first on ``sys.path``; True when it exists.

    A complete pending install replaces the folder first (see :func:`promote_pending`). The
    folder goes in front of ``sys.path`` so its packages win over older copies in QGIS's Python
    (Debian's attrs 22); a module already imported keeps its old copy until QGIS restarts
    (:func:`check_dependencies` reports it). Import caches are cleared so packages installed
    while QGIS runs are found without a restart.
    """
    folder = os.path.abspath(folder)
    try:
        promote_pending(folder)
    except OSError:
        pass  # still in use: the pending install stays for the next start
    remove_replaced(folder)
    if not os.path.isdir(folder):
        return False
    real = os.path.realpath(folder)
    if not any(getattr(h, "pedgis_folder", None) == real for h in sys.path_hooks):
        hook = _deepbind_hook(folder)
        if hook is not None:
            sys.path_hooks.insert(0, hook)
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    for entry in list(sys.path_importer_cache):
        if is_under(entry, folder):
            del sys.path_importer_cache[entry]
    importlib.invalidate_caches()
    return True


def deactivate(folder: str) -> None:
    """Undo :func:`activate` (the modules already imported stay)."""
    folder = os.path.abspath(folder)
    while folder in sys.path:
        sys.path.remove(folder)
    real = os.path.realpath(folder)
    sys.path_hooks[:] = [h for h in sys.path_hooks if getattr(h, "pedgis_folder", None) != real]
    for entry in list(sys.path_importer_cache):
        if is_under(entry, folder):
            del sys.path_importer_cache[entry]
    importlib.invalidate_caches()


# -- messages --------------------------------------------------------------------------------
def this_python() -> str | None:
    """The Python interpreter of the running QGIS, when it can be found on disk (inside QGIS
    ``sys.executable`` is QGIS itself)."""
    candidates = []
    if os.name == "nt":
        candidates.append(os.path.join(sys.exec_prefix, "python.exe"))
        candidates.append(os.path.join(sys.exec_prefix, "python3.exe"))
    else:
        ver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        candidates += [os.path.join(sys.exec_prefix, "bin", "python3"),
                       os.path.join(sys.exec_prefix, "bin", ver)]
    exe = os.path.basename(sys.executable or "").lower()
    if exe.startswith("python"):
        candidates.insert(0, sys.executable)
    for path in candidates:
        if path and os.path.isfile(path):
            return path
    return None


def install_command(folder: str | None) -> str:
    """The command line that runs the plugin's installer without QGIS's window."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "installer.py")
    python = this_python() or "python3"
    target = f' --target "{folder}"' if folder else ""
    return f'"{python}" "{here}"{target}'


def install_message(report: DependencyReport) -> str:
    """One message: what is wrong, and how to fix it (a restart, or the installer)."""
    names = [p.name for p in report.problems]
    key = [n for n in KEY_PACKAGES if n in names]
    listed = ", ".join(dict.fromkeys(key + sorted(n for n in names if n not in key)))
    details = "\n".join(f"  - {p.describe()}" for p in report.problems)
    if report.needs_restart:
        stale = ", ".join(p.name for p in report.problems if p.kind == "restart")
        lines = [
            f"pedgis's Python packages are installed, but QGIS must restart to use them: {stale} "
            "was loaded before pedgis's folder came first.",
            "Restart QGIS. If this message comes back after a restart, QGIS or another plugin "
            "imports the old version at start-up: disable the other plugins and restart, or "
            "tell us which one (docs/qgis.md).",
        ]
    else:
        lines = [
            f"pedgis needs Python packages that QGIS's Python lacks or has too old: {listed}.",
            "The boundary tools work without them; the Processing algorithms need them.",
            "Install them with Plugins > pedgis > Install Python packages… (or the Install "
            "button of the message bar): with your consent pip puts them into pedgis's own folder",
            f"  {report.folder or '(in the QGIS profile)'}",
            "and leaves QGIS's Python and the system as they are. Without QGIS's window:",
            f"  {install_command(report.folder)}",
        ]
    lines += ["", "What was found:", details]
    return "\n".join(lines)
