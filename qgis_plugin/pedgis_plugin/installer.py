"""Install what pedgis needs into the plugin's private folder with pip (docs/qgis.md).

Standard library only: the plugin's dialog is a thin layer over :func:`install`, and
``python installer.py --target DIR`` runs it without QGIS (headless machines, tests, offline
installs with ``--find-links``). It always installs for the Python that runs it.

1. **Resolve against QGIS's Python as it is**: ``pip install --dry-run --report`` lists what pip
   would add; what QGIS's Python already has is kept. The constraints first pin every
   distribution QGIS's Python has (its numpy, which QGIS's GDAL bindings are built against, its
   pyproj, built on QGIS's PROJ, ...), except those pedgis needs newer. If no set of versions fits
   those pins, only numpy and the distributions this process has already imported stay pinned
   (a loaded module cannot be replaced while QGIS runs).
2. **Install exactly that** with ``pip install --target <staging> --no-deps``, each file checked
   against the hash the resolution saw. ``--target`` never touches QGIS's Python, the system or
   the user site, and needs neither root nor ``--break-system-packages`` (the PEP 668 guard is
   about installs into the interpreter's own environment).
3. **Replace the folder whole**: the staging folder becomes ``<folder>.pending`` and then the
   folder, by renames; after a crash there is the old folder or the new one, never a mix. If the
   old folder is in use (Windows locks loaded binaries), the pending one replaces it at the next
   start (:func:`deps.activate`).

Wheels only (``--only-binary :all:``): building rasterio or pyogrio from source needs a compiler
and GDAL's headers. When no wheel fits, the message names the package and what to do.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import queue
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field

try:
    from . import deps
except ImportError:  # run as a script: python installer.py
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import deps  # type: ignore[no-redef]


class InstallError(Exception):
    """The install failed; the message says why and what to do."""


class InstallCancelled(InstallError):
    """The user cancelled; nothing was changed."""


@dataclass
class InstallResult:
    folder: str
    installed: list[tuple[str, str]] = field(default_factory=list)  # (name, version)
    pins: str = "strict"  # "strict": all of QGIS's Python kept; "loaded": numpy and loaded ones
    seconds: float = 0.0
    pending: bool = False  # the old folder was in use: the new one takes over at the next start
    loaded_from_old: list[str] = field(default_factory=list)  # modules of the replaced folder


#: pip's environment: never the user site, never a virtualenv requirement or another target
_PIP_ENV_DROP = ("PIP_TARGET", "PIP_PREFIX", "PIP_ROOT", "PIP_BREAK_SYSTEM_PACKAGES", "PIP_NO_BINARY",
                 "PIP_EDITABLE", "PIP_NO_DEPS", "PIP_DRY_RUN", "PIP_REPORT", "PIP_REQUIREMENT")


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PIP_ENV_DROP}
    env.update(PIP_USER="0", PIP_REQUIRE_VIRTUALENV="0", PIP_NO_INPUT="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONIOENCODING="utf-8")
    return env


def _run(cmd: list[str], on_line, cancelled) -> tuple[int, list[str]]:
    """Run ``cmd``, passing each output line (or None every 0.1 s, so a dialog stays alive) to
    ``on_line``; stop it when ``cancelled()`` turns true. Returns (exit code, output lines)."""
    extra = {"creationflags": subprocess.CREATE_NO_WINDOW} if os.name == "nt" else {}
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=_pip_env(), text=True,
                                encoding="utf-8", errors="replace", **extra)
    except OSError as exc:
        raise InstallError(f"Cannot run {cmd[0]}: {exc}") from exc
    lines: queue.Queue = queue.Queue()

    def read():
        for text in proc.stdout:
            lines.put(text.rstrip("\r\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    output: list[str] = []
    while True:
        if cancelled is not None and cancelled():
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise InstallCancelled("Cancelled: nothing was installed.")
        try:
            text = lines.get(timeout=0.1)
        except queue.Empty:
            on_line(None)
            continue
        if text is None:
            break
        output.append(text)
        on_line(text)
    return proc.wait(), output


# -- what to pin -----------------------------------------------------------------------------
def _floors(requirements) -> dict[str, deps.Requirement]:
    out = {}
    for text in requirements:
        req = deps.Requirement.parse(text)
        if req.applies():
            out[req.key] = req
    return out


def _pin(dist, floors) -> str | None:
    """``name==version`` for an installed distribution, or None when it cannot or must not be
    pinned (a version pip cannot read, or one below pedgis's own floor)."""
    name, version = dist.metadata["Name"], dist.version
    if not name or not version:
        return None
    try:
        deps.version_key(version)
    except ValueError:
        return None
    floor = floors.get(deps.canonical_name(name))
    if floor is not None and not floor.accepts(version):
        return None
    return f"{name}=={version}"


def qgis_pins(folder: str | None, requirements=None, *, loaded_only: bool = False) -> list[str]:
    """Constraints keeping what this Python already has (distributions in ``folder`` excepted).

    ``loaded_only``: only numpy and the distributions with a module imported in this process.
    """
    floors = _floors(requirements or deps.all_requirements())
    keep = None
    if loaded_only:
        tops = {name.partition(".")[0] for name in list(sys.modules)}
        keep = {"numpy"} | {
            deps.canonical_name(d)
            for top, names in importlib.metadata.packages_distributions().items() if top in tops
            for d in names
        }
    pins: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        key = deps.canonical_name(name or "")
        if not key or key in pins or (keep is not None and key not in keep):
            continue
        if folder and deps.is_under(deps.dist_root(dist), folder):
            continue
        pin = _pin(dist, floors)
        if pin:
            pins[key] = pin
    out = sorted(pins.values(), key=str.lower)
    numpy = pins.get("numpy", "").partition("==")[2]
    if numpy and deps.version_key(numpy) < deps.version_key("2"):
        out += list(deps.NUMPY1_LIMITS)  # what wheels built for NumPy 2 only would break
    return out


# -- pip -------------------------------------------------------------------------------------
def _no_pip_message(python: str) -> str:
    return (
        f"pip is not available for QGIS's Python ({python}); pedgis installs its packages with "
        "it (into its own folder only).\n"
        "  Debian / Ubuntu: sudo apt install python3-pip\n"
        "  Windows (OSGeo4W): run the OSGeo4W installer and add the package python3-pip\n"
        "  macOS (QGIS.app): pip comes with QGIS; reinstall QGIS if it is missing"
    )


def pip_version(python: str) -> str:
    """The version of pip in ``python``; InstallError when there is none or it is too old for
    ``--report`` (22.2)."""
    try:
        proc = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True,
                              env=_pip_env(), timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(_no_pip_message(python) + f"\n({exc})") from exc
    m = re.match(r"pip (\S+)", proc.stdout)
    if proc.returncode != 0 or m is None:
        raise InstallError(_no_pip_message(python))
    version = m.group(1)
    if deps.version_key(version) < deps.version_key("22.2"):
        raise InstallError(
            f"QGIS's Python has pip {version}; pedgis's installer needs pip 22.2 or newer. Update it "
            f"for your user only: \"{python}\" -m pip install --user --upgrade pip (Windows: in the "
            "OSGeo4W Shell, python -m pip install --upgrade pip)."
        )
    return version


def _wheel_platform() -> str:
    """How this platform appears in wheel file names."""
    machine = platform.machine().lower()
    if sys.platform.startswith("linux"):
        return f"manylinux…{machine}"
    if sys.platform == "win32":
        return {"amd64": "win_amd64", "arm64": "win_arm64"}.get(machine, "win32")
    if sys.platform == "darwin":
        return f"macosx…{machine} (or universal2)"
    return sysconfig.get_platform()


_NETWORK = ("Failed to establish a new connection", "Temporary failure in name resolution",
            "Could not fetch URL", "ProxyError", "SSLError", "Network is unreachable",
            "Connection refused", "Read timed out", "No route to host", "ConnectTimeoutError")


def explain_pip_failure(output: list[str], requirements) -> str:
    """The user's message for a failed pip run: which package and what to do."""
    text = "\n".join(output)
    tail = "\n".join(output[-25:])
    where = f"Python {sys.version_info[0]}.{sys.version_info[1]} on {sysconfig.get_platform()}"
    m = re.search(r"No matching distribution found for ([^\s;]+)", text)
    if m:
        wanted = m.group(1)
        name = re.split(r"[<>=!~\[ ]", wanted, maxsplit=1)[0]
        seen = re.search(r"satisfies the requirement " + re.escape(wanted) + r" \(from versions: ([^)]*)\)", text)
        versions = seen.group(1).strip() if seen else ""
        have = ("no version at all" if versions in ("", "none")
                else f"only these versions: {versions}")
        needed = next((r for r in requirements if deps.canonical_name(re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0])
                       == deps.canonical_name(name)), wanted)
        return (
            f"No wheel of {name} fits this QGIS's {where}: the package index has {have} "
            f"(pedgis needs {needed}; it installs wheels only, as building {name} needs a compiler"
            " and, for the GIS packages, GDAL's headers).\n"
            "What to do:\n"
            f"  - see https://pypi.org/project/{name}/#files for a .whl file with "
            f"cp{sys.version_info[0]}{sys.version_info[1]} (or abi3, or py3-none-any) and "
            f"{_wheel_platform()} in its name; a QGIS whose Python is one or two years old (an "
            "LTR) usually has them;\n"
            f"  - on Linux your distribution's package (e.g. python3-{name.lower()}) works if it is new "
            "enough: install it, restart QGIS, and pedgis installs only the rest;\n"
            "  - or get the wheel on another machine and install from a folder (docs/qgis.md, "
            "\"Offline\").\n\npip said:\n" + tail
        )
    if any(word in text for word in _NETWORK):
        return (
            "pip could not reach the package index. Check the internet connection or the proxy "
            "(pip reads pip.conf / pip.ini and HTTPS_PROXY), or install from a folder of "
            "downloaded wheels (docs/qgis.md, \"Offline\").\n\npip said:\n" + tail
        )
    if "ResolutionImpossible" in text or "conflicting dependencies" in text:
        cause = text[text.find("The conflict is caused by"):] if "The conflict is caused by" in text else tail
        return ("pip found no versions that fit both pedgis and the packages QGIS's Python "
                "already has:\n" + "\n".join(cause.splitlines()[:20]))
    if "do not match the hashes" in text.lower():
        return ("A downloaded file does not match the hash pip resolved (a changing mirror or a "
                "proxy altering downloads); nothing was installed. Try again.\n\npip said:\n" + tail)
    if "No space left on device" in text:
        return "The disk is full; nothing was installed.\n\npip said:\n" + tail
    return "pip failed; nothing was installed.\n\npip said:\n" + tail


def _resolve(python, requirements, pins, pip_args, workdir, on_line, cancelled):
    """pip's dry run: the distributions to add, as (name, version, sha256 or None)."""
    report = os.path.join(workdir, "resolution.json")
    constraints = os.path.join(workdir, "constraints.txt")
    with open(constraints, "w", encoding="utf-8") as f:
        f.write("\n".join(pins) + "\n")
    cmd = [python, "-m", "pip", "install", "--dry-run", "--report", report, "--only-binary", ":all:",
           "--progress-bar", "off", "--constraint", constraints, *pip_args, *requirements]
    code, output = _run(cmd, on_line, cancelled)
    if code != 0 or not os.path.isfile(report):
        return None, output
    with open(report, encoding="utf-8") as f:
        data = json.load(f)
    chosen = []
    for item in data.get("install", []):
        archive = (item.get("download_info") or {}).get("archive_info") or {}
        sha = (archive.get("hashes") or {}).get("sha256")
        if sha is None and str(archive.get("hash", "")).startswith("sha256="):
            sha = archive["hash"].split("=", 1)[1]
        chosen.append((item["metadata"]["name"], item["metadata"]["version"], sha))
    return chosen, output


def install(folder: str, requirements=None, *, python: str | None = None, pip_args=(),
            progress=None, cancelled=None, pins=None) -> InstallResult:
    """Install what is missing for pedgis into ``folder`` (see the module's docstring).

    Parameters
    ----------
    folder : the private folder; replaced whole, and only if the installer wrote it
    requirements : requirement strings (default: :func:`deps.all_requirements`)
    python : the interpreter to install for (default: this process's, :func:`deps.this_python`);
        its environment must be this process's, as the pins are read here
    pip_args : extra pip options, e.g. ``["--no-index", "--find-links", "/wheels"]``
    progress : ``progress(fraction, text)``, also called every 0.1 s while pip runs
    cancelled : ``cancelled() -> bool``, polled every 0.1 s
    pins : constraints to use instead of :func:`qgis_pins` (tests)

    Raises InstallError (InstallCancelled) with the user's message; then nothing changed.
    """
    start = time.monotonic()
    folder = os.path.abspath(folder)
    requirements = list(requirements or deps.all_requirements())
    python = python or deps.this_python()
    if python is None:
        raise InstallError(f"Cannot find the Python interpreter of this QGIS (looked in {sys.exec_prefix}).")
    report = progress or (lambda fraction, text: None)
    state = {"fraction": 0.0, "text": "Checking pip…"}

    def say(fraction=None, text=None):
        if fraction is not None:
            state["fraction"] = fraction
        if text:
            state["text"] = text
        report(state["fraction"], state["text"])

    say(0.0, "Checking pip…")
    if not deps.is_ours(folder):
        raise InstallError(f"{folder} exists and was not written by pedgis's installer; pedgis does "
                           "not replace it. Remove it or set another folder.")
    version = pip_version(python)
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    _remove_leftovers(folder)
    staging = tempfile.mkdtemp(prefix=os.path.basename(folder) + ".new-", dir=parent)
    try:
        result = _install_into(staging, folder, requirements, python, list(pip_args), pins, say, cancelled)
        result.seconds = time.monotonic() - start
        say(0.95, "Putting the packages in place…")
        _write_manifest(staging, requirements, result, python, version, pip_args)
        result.loaded_from_old = sorted({name.partition(".")[0] for name, module in list(sys.modules.items())
                                         if getattr(module, "__file__", None)
                                         and deps.is_under(module.__file__, folder)})
        pending = deps.pending_folder(folder)
        shutil.rmtree(pending, ignore_errors=True)
        os.replace(staging, pending)
        try:
            deps.promote_pending(folder)
        except OSError:
            result.pending = True
        say(1.0, "Done.")
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install_into(staging, folder, requirements, python, pip_args, pins, say, cancelled) -> InstallResult:
    result = InstallResult(folder=folder)
    workdir = os.path.join(staging, ".pedgis-install")
    os.makedirs(workdir)
    resolving = {"n": 0}

    def on_resolve_line(line):
        if line and line.startswith("Collecting "):
            resolving["n"] += 1
            say(0.05 + 0.25 * (1 - 0.9 ** resolving["n"]), "Resolving: " + line[len("Collecting "):])
        else:
            say()

    tiers = [("strict", pins if pins is not None else qgis_pins(folder, requirements))]
    if pins is None:
        tiers.append(("loaded", qgis_pins(folder, requirements, loaded_only=True)))
    chosen = output = None
    for result.pins, tier_pins in tiers:
        say(0.05, "Resolving versions that fit QGIS's Python…")
        chosen, output = _resolve(python, requirements, tier_pins, pip_args, workdir, on_resolve_line, cancelled)
        if chosen is not None or not ("ResolutionImpossible" in "\n".join(output)
                                      or "conflicting dependencies" in "\n".join(output)):
            break
    if chosen is None:
        raise InstallError(explain_pip_failure(output, requirements))
    result.installed = [(name, version) for name, version, _sha in chosen]
    if chosen:
        hashed = all(sha for _n, _v, sha in chosen)
        pinned = os.path.join(workdir, "resolved.txt")
        with open(pinned, "w", encoding="utf-8") as f:
            for name, version, sha in chosen:
                f.write(f"{name}=={version}" + (f" --hash=sha256:{sha}" if hashed else "") + "\n")
        total = len(chosen)
        fetched = {"n": 0}

        def on_install_line(line):
            if line and line.startswith(("Collecting ", "Processing ")):
                fetched["n"] = min(fetched["n"] + 1, total)
                say(0.3 + 0.5 * fetched["n"] / total,
                    f"Downloading {fetched['n']} of {total}: {line.split(' ', 1)[1].strip()}")
            elif line and line.startswith("Installing collected packages"):
                say(0.82, f"Unpacking {total} packages…")
            else:
                say()

        cmd = [python, "-m", "pip", "install", "--target", staging, "--no-deps", "--only-binary", ":all:",
               "--progress-bar", "off", *(["--require-hashes"] if hashed else []), *pip_args,
               "--requirement", pinned]
        code, output = _run(cmd, on_install_line, cancelled)
        if code != 0:
            raise InstallError(explain_pip_failure(output, requirements))
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def _write_manifest(staging, requirements, result, python, pip_version_text, pip_args) -> None:
    manifest = {
        "written_by": "pedgis QGIS plugin installer",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": python,
        "python_version": sys.version.split()[0],
        "platform": sysconfig.get_platform(),
        "pip": pip_version_text,
        "pip_args": list(pip_args),
        "requirements": requirements,
        "pins": result.pins,
        "installed": [{"name": n, "version": v} for n, v in result.installed],
    }
    with open(os.path.join(staging, deps.MANIFEST), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)


def _remove_leftovers(folder: str) -> None:
    """Staging and replaced folders an interrupted install left beside ``folder``."""
    parent, base = os.path.split(folder)
    for name in os.listdir(parent):
        if name.startswith(base + ".new-"):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
    deps.remove_replaced(folder)


# -- command line ----------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Install the Python packages pedgis needs into the QGIS plugin's private folder, "
        "for the Python that runs this script (run it with QGIS's Python).")
    parser.add_argument("--target", default=os.environ.get(deps.FOLDER_ENV),
                        help=f"the private folder (default: ${deps.FOLDER_ENV}); the plugin's message "
                        "prints the command with the folder of your QGIS profile")
    parser.add_argument("--find-links", action="append", default=[], metavar="DIR",
                        help="also look for wheels in DIR (offline installs: add --no-index)")
    parser.add_argument("--no-index", action="store_true", help="do not use the package index")
    parser.add_argument("--requirement", action="append", default=[], metavar="REQ",
                        help="install REQ instead of pedgis's requirements (repeatable; the test "
                        "environment's pytest)")
    parser.add_argument("--list", action="store_true",
                        help="print the requirements (for pip download on another machine) and exit")
    args = parser.parse_args(argv)
    if args.list:
        for text in deps.all_requirements():
            print(text)
        return 0
    if not args.target:
        parser.error(f"--target is required (or set ${deps.FOLDER_ENV})")
    pip_args = [*(["--no-index"] if args.no_index else []),
                *[x for d in args.find_links for x in ("--find-links", os.path.abspath(d))]]
    last = {"text": None}

    def progress(fraction, text):
        if text != last["text"]:
            last["text"] = text
            print(f"[{fraction:4.0%}] {text}", file=sys.stderr, flush=True)

    try:
        result = install(args.target, args.requirement or None, pip_args=pip_args, progress=progress)
    except InstallError as exc:
        print(f"installer: {exc}", file=sys.stderr)
        return 2
    names = ", ".join(f"{n} {v}" for n, v in result.installed) or "nothing (QGIS's Python has it all)"
    print(f"Installed into {result.folder} in {result.seconds:.0f} s: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
