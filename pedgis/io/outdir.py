"""The one writer of pedgis output folders (``run``, ``demo``, ``pv``, ``map``, ``compare``, the QGIS plugin).

The rules (``docs/outputs.md``, "The output folder"):

- pedgis deletes or replaces only what it wrote. Every output folder carries
  ``.pedgis-manifest.json`` (pedgis version, command, time, every file with its size and sha256).
  An existing folder is replaced only when it holds a valid manifest and nothing but the files it
  lists (plus the caches that viewers add beside them: ``-shm``, an empty ``-wal``, ``.aux.xml``,
  ``.DS_Store``, ``Thumbs.db``). An empty folder is fine. Any other folder, a folder that is,
  contains or lies inside an input of the run, a mount point and ``/`` are refused
  (:class:`~pedgis.errors.OutputFolderError`, exit 2) before anything is computed.
- :func:`prepare_output` checks all this at the start of a command and creates the temporary
  folder ``.<name>.pedgis-new-<id>`` beside the target (so a folder that cannot be written fails
  at once); the command writes into :attr:`OutputFolder.path`; :meth:`OutputFolder.commit` writes
  the manifest and swaps the two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``), then
  deletes the previous tree. Without an atomic exchange (other systems and file systems) the
  previous folder is renamed to ``.<name>.pedgis-prev-<id>`` first, and the next start puts it
  back if the process died between the two renames. After ``kill -9`` at any instant the name
  holds the previous or the new complete outputs.
- A leftover of a killed run beside the target is removed by the next start, only when it carries
  the pedgis marker or a manifest and no running pedgis holds its lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from ..errors import OutputFolderError, PedgisError, describe_os_error

try:  # advisory locks: POSIX only (elsewhere concurrent runs into one folder are not guarded)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

MANIFEST = ".pedgis-manifest.json"
MARKER = ".pedgis-writing"  # in a folder being written, until its manifest exists
FORMAT = 1
OS_CACHES = frozenset({".DS_Store", "Thumbs.db"})  # made by file browsers just by looking
SIDECARS = ("-shm", "-wal", ".aux.xml")  # made by SQLite/GDAL readers (QGIS) beside a file they open
_KINDS = ("new", "prev")


# ---------------------------------------------------------------------------------------------
# manifest


def _sha256(path: Path, sync: bool = False) -> tuple[int, str]:
    """(size, sha256) of a file; ``sync`` also puts it on disk (before the swap, so that a power
    cut cannot leave empty files behind a complete-looking manifest)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
        if sync:
            with contextlib.suppress(OSError):
                os.fsync(f.fileno())
        return os.fstat(f.fileno()).st_size, h.hexdigest()


def _valid_rel(p) -> bool:
    return (isinstance(p, str) and p and not p.startswith("/") and "\\" not in p
            and all(part not in ("", ".", "..") for part in p.split("/")))


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The manifest of a pedgis output folder, or None when there is none or it is not valid."""
    try:
        with open(Path(folder) / MANIFEST, encoding="utf-8") as f:
            m = json.load(f)
    except (OSError, ValueError):
        return None
    if not (isinstance(m, dict) and m.get("pedgis_manifest") == FORMAT and isinstance(m.get("files"), list)):
        return None
    for e in m["files"]:
        if not (isinstance(e, dict) and _valid_rel(e.get("path")) and isinstance(e.get("size"), int)
                and isinstance(e.get("sha256"), str) and e["path"] not in (MANIFEST, MARKER)):
            return None
    return m


def verify(folder: str | os.PathLike) -> list[str]:
    """Differences between a folder and its manifest (empty when every listed file is there with its
    size and sha256 and nothing else is): what a complete pedgis output looks like."""
    folder = Path(folder)
    m = read_manifest(folder)
    if m is None:
        return [f"{folder}: no valid {MANIFEST}"]
    problems = []
    for e in m["files"]:
        p = folder / e["path"]
        if not p.is_file() or p.is_symlink():
            problems.append(f"{e['path']}: missing")
            continue
        if _sha256(p) != (e["size"], e["sha256"]):
            problems.append(f"{e['path']}: differs from the manifest")
    problems += [f"{p}: not in the manifest" for p in _unlisted(folder, m, strict=True)]
    return problems


def _unlisted(folder: Path, manifest: dict, strict: bool = False) -> list[str]:
    """Entries of ``folder`` (relative paths) that its manifest does not list. Unless ``strict``,
    the caches viewers add are not counted; a non-empty ``-wal`` is (unsaved edits of a database)."""
    listed = {e["path"] for e in manifest["files"]} | {MANIFEST}
    dirs = {"/".join(p.split("/")[:i]) for p in listed for i in range(1, p.count("/") + 1)}
    extra = []
    for root, dnames, fnames in os.walk(folder):
        rel_root = Path(root).relative_to(folder).as_posix()
        prefix = "" if rel_root == "." else rel_root + "/"
        keep = []
        for d in dnames:
            if prefix + d in dirs and not os.path.islink(os.path.join(root, d)):
                keep.append(d)
            else:
                extra.append(prefix + d + "/")
        dnames[:] = keep
        for n in fnames:
            r, full = prefix + n, os.path.join(root, n)
            if r in listed and not os.path.islink(full):
                continue
            if not strict and (n in OS_CACHES or _is_cache(r, listed, full)):
                continue
            extra.append(r)
    return sorted(extra)


def _is_cache(rel: str, listed: set, full: str) -> bool:
    for suffix in SIDECARS:
        if rel.endswith(suffix) and rel[: -len(suffix)] in listed:
            return suffix != "-wal" or os.path.getsize(full) == 0
    return False


def _write_manifest(folder: Path, command: str) -> dict:
    from .. import __version__

    files = []
    for root, _dirs, names in os.walk(folder):
        for n in names:
            p = Path(root, n)
            rel = p.relative_to(folder).as_posix()
            if rel in (MANIFEST, MARKER) or not p.is_file() or p.is_symlink():
                continue
            size, digest = _sha256(p, sync=True)
            files.append({"path": rel, "size": size, "sha256": digest})
    m = {"pedgis_manifest": FORMAT, "pedgis_version": __version__, "command": command,
         "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
         "files": sorted(files, key=lambda e: e["path"])}
    with open(folder / MANIFEST, "w", encoding="utf-8") as f:
        json.dump(m, f, indent=1, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    return m


# ---------------------------------------------------------------------------------------------
# atomic exchange of two folders

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}


def _renameat2():
    """glibc's ``renameat2`` (Linux ≥ 3.15, glibc ≥ 2.28), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step; False where the system or file system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    e = ctypes.get_errno()
    if e in _UNSUPPORTED:
        return False
    raise OSError(e, os.strerror(e), str(a), None, str(b))


# ---------------------------------------------------------------------------------------------
# locks, leftovers


def _lock(fd: int, blocking: bool) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        return True  # no locks on this file system: go on unguarded


@contextlib.contextmanager
def _locked(folder: Path):
    """Hold an exclusive advisory lock on a folder (pedgis processes only: cleanup, checks, swap)."""
    if fcntl is None:  # pragma: no cover - no folder locks on Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        _lock(fd, blocking=True)
        yield
    finally:
        os.close(fd)


def _stem(name: str) -> str:
    return name if len(name) <= 120 else name[:80] + "-" + hashlib.sha256(name.encode()).hexdigest()[:16]


def _sibling(target: Path, kind: str, token: str) -> Path:
    return target.parent / f".{_stem(target.name)}.pedgis-{kind}-{token}"


def _siblings(target: Path, kind: str) -> list[Path]:
    pat = re.compile(rf"\.{re.escape(_stem(target.name))}\.pedgis-{kind}-[0-9a-f]+")
    try:
        return sorted(p for p in target.parent.iterdir() if pat.fullmatch(p.name) and p.is_dir() and not p.is_symlink())
    except OSError:
        return []


def _ours(folder: Path, target: Path) -> bool:
    """True when a leftover carries proof that pedgis made it for ``target``: a manifest, or the
    marker (still empty when the run died as it created it). An empty folder holds nothing to
    lose (killed between creating the folder and its marker, or while deleting it)."""
    if read_manifest(folder) is not None:
        return True
    try:
        with open(folder / MARKER, "rb") as f:
            text = f.read()
        return not text or json.loads(text).get("target") == target.name
    except FileNotFoundError:
        pass
    except (OSError, ValueError, AttributeError):
        return False
    try:
        return not os.listdir(folder)
    except OSError:
        return False


def _free(folder: Path) -> bool:
    """True when no running pedgis holds the folder's lock."""
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        return _lock(fd, blocking=False)
    finally:
        os.close(fd)


def _remove_tree(folder: Path) -> None:
    """Delete a pedgis tree, its manifest/marker last (a tree cut short stays provably pedgis's);
    symbolic links are removed, never followed. Best effort: what cannot be deleted now (another
    pedgis deleting it too, a file in use) is a leftover the next start removes."""
    proofs = {str(folder / MANIFEST), str(folder / MARKER)}
    for root, dnames, fnames in os.walk(folder, topdown=False):
        for n in fnames + [d for d in dnames if os.path.islink(os.path.join(root, d))]:
            p = os.path.join(root, n)
            if p not in proofs:
                with contextlib.suppress(OSError):
                    os.unlink(p)
        if root != str(folder):
            with contextlib.suppress(OSError):
                os.rmdir(root)
    for p in proofs:
        with contextlib.suppress(OSError):
            os.unlink(p)
    with contextlib.suppress(OSError):
        os.rmdir(folder)


def recover(target: Path) -> list[Path]:
    """Undo what a killed pedgis left beside ``target``: put the previous outputs back if the
    process died between the two renames of a non-atomic swap, then delete every leftover that
    is provably pedgis's and not in use. Returns the folders deleted."""
    if not os.path.lexists(target):
        prev = [p for p in _siblings(target, "prev") if read_manifest(p) is not None and _free(p)]
        if prev:  # the newest previous complete folder goes back under its name
            newest = max(prev, key=lambda p: read_manifest(p).get("created", ""))
            os.rename(newest, target)
    removed = []
    for kind in _KINDS:
        for p in _siblings(target, kind):
            if _ours(p, target) and _free(p):
                _remove_tree(p)
                removed.append(p)
    return removed


# ---------------------------------------------------------------------------------------------
# checks


def _same(a: Path, b: os.stat_result) -> bool:
    try:
        return os.path.samestat(os.stat(a), b)
    except OSError:
        return False


def _check_inputs(target: Path, inputs: Iterable) -> None:
    """Refuse a target that is, contains or lies inside an input (symbolic links resolved)."""
    try:
        tstat = os.stat(target)
    except OSError:
        tstat = None
    for raw in inputs:
        if raw is None:
            continue
        given = Path(os.path.abspath(Path(raw).expanduser()))
        if not os.path.lexists(given):
            continue
        for p in {given, given.resolve()}:
            inside = p == target or target in p.parents or (
                tstat is not None and any(_same(q, tstat) for q in (p, *p.parents)))
            if inside:
                raise OutputFolderError(
                    f"{target}: this output folder {'is' if p == target else 'contains'} an input of the run "
                    f"({given}); pedgis replaces its output folder as a whole and will not put the inputs at "
                    f"risk. Fix: choose a new or empty output folder (--out), e.g. {target / 'pedgis-out'}.")
            if p in target.parents and p.is_dir():
                raise OutputFolderError(
                    f"{target}: this output folder lies inside an input of the run ({given}). "
                    "Fix: choose an output folder (--out) outside the inputs.")


def _check_replaceable(target: Path) -> dict | None:
    """Refuse an existing ``target`` pedgis may not replace; returns its manifest (None: empty/missing)."""
    if not os.path.lexists(target):
        return None
    if not target.is_dir():
        raise OutputFolderError(f"{target}: exists and is not a folder. Fix: choose another output folder (--out).")
    if os.path.ismount(target):
        raise OutputFolderError(f"{target}: is a mount point (a whole disk); pedgis replaces its output folder as a "
                                f"whole. Fix: choose a new folder inside it, e.g. {target / 'pedgis-out'}.")
    names = [n for n in os.listdir(target) if n not in OS_CACHES]
    if not names:
        return None
    m = read_manifest(target)
    if m is None:
        shown = ", ".join(sorted(names)[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        invalid = " (its .pedgis-manifest.json is not valid)" if MANIFEST in names else ""
        raise OutputFolderError(
            f"{target}: this folder is not empty and not a pedgis output folder{invalid}; it holds {shown}. "
            "pedgis replaces its output folder as a whole, so it only writes into a new or empty folder or "
            f"one it wrote before. Fix: choose a new or empty output folder (--out), e.g. {target / 'pedgis-out'} "
            "(an output folder of an older pedgis without a manifest: delete it yourself first).")
    extra = _unlisted(target, m)
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        wal = [e for e in extra if e.endswith("-wal")]
        hint = (f" ({', '.join(wal)}: a database there is open with changes not yet saved, e.g. an edited layer "
                "in QGIS: save or discard the edits and remove the layer)") if wal else ""
        raise OutputFolderError(
            f"{target}: this pedgis output folder also holds files pedgis did not write: {shown}{hint}. pedgis "
            "replaces its output folder as a whole and will not delete them. Fix: move those files out of the "
            "folder, or choose another output folder (--out).")
    return m


# ---------------------------------------------------------------------------------------------
# the writer


def _os_error(exc: OSError, target: Path, doing: str) -> OutputFolderError:
    reason, fix = describe_os_error(exc)
    name = Path(os.fsdecode(exc.filename)) if exc.filename else target
    if name.parent == target.parent and name.name.startswith(f".{_stem(target.name)}.pedgis-"):
        name = target.parent  # our temporary folder means nothing to the user: its folder does
    detail = f" ({name})" if name != target else ""
    return OutputFolderError(f"{target}: cannot {doing}: {reason}{detail}. Fix: {fix}.")


# GDAL and SQLite report OS failures in their own exception types, with these words
_LIBRARY_OS_ERRORS = ((re.compile(r"disk (is )?full|no space left|quota exceeded", re.I), errno.ENOSPC),
                      (re.compile(r"read-only file system|readonly database", re.I), errno.EROFS),
                      (re.compile(r"permission denied", re.I), errno.EACCES))


class OutputFolder:
    """An output folder being written: files go into :attr:`path` (beside :attr:`target`);
    :meth:`commit` puts them in place, :meth:`abort` (or leaving a ``with`` block without a
    commit) removes them. Make one with :func:`prepare_output` or :func:`update_output`."""

    def __init__(self, target: Path, path: Path, fd: int | None, command: str):
        self.target = target
        self.path = path
        self.command = command
        self._fd = fd  # holds the lock that tells other pedgis processes the folder is in use
        self.committed = False

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc) -> None:
        if not self.committed:
            self.abort()

    def __fspath__(self) -> str:
        return str(self.path)

    @contextlib.contextmanager
    def writing(self):
        """Around the code that writes into :attr:`path`: an operating-system error (disk full,
        permission, read-only) becomes an :class:`OutputFolderError` naming the folder."""
        try:
            yield self.path
        except PedgisError:
            raise
        except OSError as exc:
            raise _os_error(exc, self.target, "write the outputs") from exc
        except Exception as exc:
            code = next((e for pattern, e in _LIBRARY_OS_ERRORS if pattern.search(str(exc))),
                        errno.ENOSPC if _nearly_full(self.path) else None)
            if code is None:
                raise
            raise _os_error(OSError(code, str(exc)), self.target, "write the outputs") from exc

    def commit(self) -> Path:
        """Write the manifest and swap the new outputs in; returns the target folder."""
        target, tmp = self.target, self.path
        try:
            _write_manifest(tmp, self.command)
            os.unlink(tmp / MARKER)  # the manifest is the proof from now on
            with _locked(target.parent):
                _check_replaceable(target)  # again: files may have been added while computing
                if not os.path.lexists(target):
                    os.rename(tmp, target)
                elif exchange(tmp, target):
                    pass  # tmp now holds the previous tree
                else:  # no atomic exchange here: rename pair, undone by recover() if cut short
                    prev = _sibling(target, "prev", tmp.name.rsplit("-", 1)[-1])
                    os.rename(target, prev)
                    try:
                        os.rename(tmp, target)
                    except OSError:
                        os.rename(prev, target)  # the previous outputs back under their name
                        raise
                    tmp = prev
                _fsync_dir(target.parent)
        except PedgisError:
            self.abort()
            raise
        except OSError as exc:
            self.abort()
            raise _os_error(exc, target, "put the new outputs in place") from exc
        self.committed = True
        self._release()
        if os.path.lexists(tmp):  # the previous tree, checked above: pedgis's own or empty
            _remove_tree(tmp)
        return target

    def abort(self) -> None:
        """Remove the temporary folder (nothing of this run stays behind)."""
        if not self.committed and os.path.lexists(self.path):
            _remove_tree(self.path)
        self._release()

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path).free < (1 << 20)
    except OSError:
        return False


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every system can sync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _resolve_target(out_dir) -> Path:
    target = Path(out_dir).expanduser().resolve()
    if target.parent == target:
        raise OutputFolderError(f"{target}: the root of the file system cannot be an output folder. "
                                "Fix: choose a new output folder (--out), e.g. ./pedgis-out.")
    return target


def _start(target: Path, command: str, mode: int | None) -> OutputFolder:
    """Create the locked temporary folder beside ``target`` (the parent lock is held by the caller)."""
    token = secrets.token_hex(6)
    tmp = _sibling(target, "new", token)
    os.mkdir(tmp, 0o700)
    fd = None
    if fcntl is not None:  # the lock tells other pedgis processes this folder is in use
        fd = os.open(tmp, os.O_RDONLY)
        _lock(fd, blocking=False)
    folder = OutputFolder(target, tmp, fd, command)
    try:
        with open(tmp / MARKER, "w", encoding="utf-8") as f:
            json.dump({"pedgis_writing": FORMAT, "target": target.name, "pid": os.getpid(), "command": command}, f)
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o777 & ~umask
        os.chmod(tmp, mode)  # a normal folder for colleagues, like the one it replaces
    except BaseException:
        folder.abort()
        raise
    return folder


def prepare_output(out_dir, inputs: Iterable = (), command: str = "pedgis") -> OutputFolder:
    """Check ``out_dir`` before any work and open a temporary folder beside it.

    Refuses (:class:`OutputFolderError`, the CLI's exit 2) a folder that is, contains or lies
    inside one of ``inputs``, a non-empty folder that is not a pedgis output, a pedgis output
    holding files pedgis did not write, a file, a mount point, ``/``; and a folder that cannot be
    written (permission, read-only, disk full, a path through a file). Removes the leftovers of
    killed runs first. Use as ``with prepare_output(...) as folder: ...; folder.commit()``.
    """
    target = _resolve_target(out_dir)
    _check_inputs(target, inputs)
    for a in target.parents:  # the nearest existing folder above: a file there is a clearer message
        if os.path.exists(a):
            if not a.is_dir():
                raise OutputFolderError(f"{target}: {a} is a file, not a folder. Fix: choose another output folder (--out).")
            break
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _locked(target.parent):
            recover(target)
            _check_replaceable(target)
            mode = stat.S_IMODE(os.stat(target).st_mode) if target.is_dir() else None
            return _start(target, command, mode)
    except OSError as exc:
        raise _os_error(exc, target, "write the output folder") from exc


def update_output(out_dir, command: str = "pedgis", rewrites: Iterable[str] = ()) -> OutputFolder:
    """Open an existing pedgis output folder for changes (``pedgis map``): the temporary folder
    starts as a copy of it — files named in ``rewrites`` copied, the others hard-linked (they are
    not written again) — and :meth:`OutputFolder.commit` swaps it in like a new run."""
    target = _resolve_target(out_dir)
    rewrites = set(rewrites)
    missing = OutputFolderError(f"{target}: no such output folder. Fix: give the folder `pedgis run --out` wrote "
                                "(it holds district.json and buildings.gpkg).")
    try:
        if not target.parent.is_dir():
            raise missing
        with _locked(target.parent):
            recover(target)
            if not target.is_dir():
                raise missing
            if read_manifest(target) is None:
                raise OutputFolderError(
                    f"{target}: not a pedgis output folder (no valid {MANIFEST}); pedgis changes only folders it "
                    "wrote itself. Fix: give a folder that `pedgis run --out` wrote (an output of an older pedgis "
                    "without a manifest: run `pedgis run` again into a new folder).")
            m = _check_replaceable(target)
            folder = _start(target, command, stat.S_IMODE(os.stat(target).st_mode))
        try:
            for e in m["files"]:
                src, dst = target / e["path"], folder.path / e["path"]
                if not src.is_file():
                    continue
                dst.parent.mkdir(parents=True, exist_ok=True)
                if e["path"] in rewrites:
                    shutil.copy2(src, dst)
                else:
                    try:
                        os.link(src, dst)
                    except OSError:  # no hard links here (FAT, some network shares)
                        shutil.copy2(src, dst)
        except BaseException:
            folder.abort()
            raise
        return folder
    except OSError as exc:
        raise _os_error(exc, target, "update the output folder") from exc


def scenario_inputs(scenario) -> list[Path]:
    """Every input file of a scenario: the scenario file and every path in its document."""
    found = [scenario.path] if getattr(scenario, "path", None) else []

    def walk(o):
        if isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                walk(v)
        elif isinstance(o, Path):
            found.append(o)

    walk(scenario.doc)
    return found


# ---------------------------------------------------------------------------------------------
# single files named by the user (``pedgis gap --json FILE``, ``pedgis uncertainty --json FILE``)


def _pedgis_json(path: Path) -> bool:
    """True for a JSON object pedgis wrote (it carries ``pedgis_version``)."""
    try:
        with open(path, encoding="utf-8") as f:
            return "pedgis_version" in json.load(f)
    except (OSError, ValueError, TypeError):
        return False


def check_json_file(path, inputs: Iterable = ()) -> Path:
    """Refuse, before computing, a JSON output file that is an input, a folder, an existing file
    pedgis did not write, or in a folder that cannot be written. Returns the resolved path."""
    target = _resolve_target(path)
    tstat = os.stat(target) if os.path.exists(target) else None
    for p in (Path(os.path.abspath(Path(p).expanduser())) for p in inputs if p is not None):
        if os.path.lexists(p) and (p.resolve() == target or (tstat is not None and _same(p, tstat))):
            raise OutputFolderError(f"{target}: is an input of the run. Fix: choose a new file name for --json.")
    if target.is_dir():
        raise OutputFolderError(f"{target}: is a folder. Fix: give a file name for --json, e.g. {target / 'result.json'}.")
    if os.path.lexists(target) and not _pedgis_json(target):
        raise OutputFolderError(f"{target}: exists and pedgis did not write it (not a pedgis JSON result); pedgis "
                                "replaces only what it wrote. Fix: choose a new file name for --json.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(_sibling(target, "new", secrets.token_hex(6)), "x") as probe:  # writable?
            os.unlink(probe.name)
    except OSError as exc:
        raise _os_error(exc, target, "write the file") from exc
    return target


def write_json_file(path, obj: dict, inputs: Iterable = ()) -> Path:
    """Write ``obj`` (with ``pedgis_version``) to ``path`` whole: into a temporary file beside it,
    then renamed over it, after the checks of :func:`check_json_file`."""
    from .. import __version__

    target = check_json_file(path, inputs)
    tmp = _sibling(target, "new", secrets.token_hex(6))
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            json.dump({**obj, "pedgis_version": __version__}, f, indent=2, ensure_ascii=False, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise _os_error(exc, target, "write the file") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target
