"""The output writer (pedgis/io/outdir.py): pedgis replaces only folders it wrote, refuses before
computing, finishes crash-safely, and turns operating-system errors into exit 2 with a message.

Expected values come from the rules in docs/outputs.md ("The output folder"); file contents are
compared with hashlib's sha256 computed here, independently of the writer.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from test_cli import SCENARIO as CLI_SCENARIO

from pedgis.cli import main
from pedgis.errors import OutputFolderError
from pedgis.io import outdir
from pedgis.io.outdir import MANIFEST, prepare_output, read_manifest, recover, update_output, verify

# the small district of test_cli.py, with a name that tells two runs apart
SCENARIO = CLI_SCENARIO.replace('name = "cli test"', 'name = "{name}"')


@pytest.fixture
def data(tmp_path):
    """A user's data folder: the scenario, its buildings and a document of theirs."""
    d = tmp_path / "data"
    d.mkdir()
    gdf = gpd.GeoDataFrame({"ID": ["a", "b", "c"], "USE": ["residential", "office", "residential"],
                            "FLOORS": [2, 3, 1], "KWP": [3.0, 0.0, 10.0]},
                           geometry=[box(0, 0, 10, 10), box(20, 0, 40, 10), box(50, 0, 60, 10)], crs="EPSG:32632")
    gdf.to_file(d / "b.gpkg")
    (d / "s.toml").write_text(SCENARIO.format(name="first"), encoding="utf-8")
    (d / "notes").mkdir()
    (d / "notes" / "meeting.txt").write_text("the user's own notes\n", encoding="utf-8")
    return d


def forbid_compute(monkeypatch) -> list:
    """From now on the test fails if the engine starts: refusals must come before any computing."""
    calls = []

    def must_not_run(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the engine started before the output folder was checked")

    monkeypatch.setattr("pedgis.pipeline.run", must_not_run)
    monkeypatch.setattr("pedgis.solar.rooftop.rooftop_solar", must_not_run)
    return calls


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its sha256 (hashlib, independent of the writer)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(capsys, argv, *needles):
    """Run the CLI (with progress shown), expect exit 2, a one-paragraph message and no progress."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("pedgis: error:") and "Traceback" not in err
    assert not re.search(r"^\s*\d+% ", err, re.M), "progress shown: computing started before the check"
    for n in needles:
        assert n in err, err
    return err


# ---------------------------------------------------------------------------------------------
# folders pedgis did not write are refused, before computing, and stay byte-identical


def test_out_is_the_data_folder(data, capsys, monkeypatch):
    forbid_compute(monkeypatch)
    before = snapshot(data)
    refused(capsys, ["run", str(data / "s.toml"), "--out", str(data)], str(data), "contains an input",
            "Fix: choose a new or empty output folder")
    assert snapshot(data) == before
    assert sorted(p.name for p in data.parent.iterdir()) == ["data"]  # no temporary folder left


def test_out_is_the_current_folder(data, capsys, monkeypatch):
    forbid_compute(monkeypatch)
    monkeypatch.chdir(data)
    before = snapshot(data)
    refused(capsys, ["run", "s.toml", "--out", "."], "contains an input")
    assert snapshot(data) == before
    # a current folder without inputs but with the user's files: not pedgis's, refused as well
    monkeypatch.chdir(data / "notes")
    refused(capsys, ["run", str(data / "s.toml"), "--out", "."], str(data / "notes"),
            "not empty and not a pedgis output folder", "meeting.txt")
    assert snapshot(data) == before


def test_out_is_a_parent_of_the_data_the_home_folder_or_root(data, capsys, monkeypatch):
    forbid_compute(monkeypatch)  # also keeps an old pedgis from ever writing at `/`
    before = snapshot(data)
    refused(capsys, ["run", str(data / "s.toml"), "--out", str(data.parent)], "contains an input")
    home = data.parent / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "thesis.odt").write_bytes(b"years of work")
    monkeypatch.setenv("HOME", str(home))
    refused(capsys, ["run", str(data / "s.toml"), "--out", "~/Documents"], "not a pedgis output folder")
    refused(capsys, ["run", str(data / "s.toml"), "--out", "~"], "not a pedgis output folder")
    refused(capsys, ["run", str(data / "s.toml"), "--out", "/"], "root of the file system")
    assert (home / "Documents" / "thesis.odt").read_bytes() == b"years of work"
    assert snapshot(data) == before


@pytest.mark.skipif(not os.path.ismount("/proc"), reason="needs a mount point (/proc)")
def test_a_mount_point_is_refused(data, capsys, monkeypatch):
    forbid_compute(monkeypatch)
    refused(capsys, ["run", str(data / "s.toml"), "--out", "/proc"], "mount point")


def test_user_file_inside_a_pedgis_output_is_kept_and_the_run_refused(data, capsys, monkeypatch):
    out = data.parent / "out"
    assert main(["run", str(data / "s.toml"), "--out", str(out), "--quiet"]) == 0
    (out / "my analysis.xlsx").write_bytes(b"the user's spreadsheet")
    (out / "extra").mkdir()
    (out / "extra" / "n.txt").write_text("mine")
    before = snapshot(out)
    forbid_compute(monkeypatch)
    refused(capsys, ["run", str(data / "s.toml"), "--out", str(out)], "files pedgis did not write",
            "my analysis.xlsx", "extra/", "move those files out")
    assert snapshot(out) == before


def test_pv_refuses_an_output_folder_holding_its_input(data, capsys, monkeypatch):
    """`pedgis pv --buildings out/buildings.gpkg --out out`: the input is a file pedgis wrote
    there, and the folder would be replaced under it."""
    out = data.parent / "out"
    assert main(["run", str(data / "s.toml"), "--out", str(out), "--quiet"]) == 0
    before = snapshot(out)
    forbid_compute(monkeypatch)
    epw = Path(__file__).resolve().parents[1] / "sample_data" / "weather" / "pvgis_tmy_45N_8E.epw"
    refused(capsys, ["pv", "--buildings", str(out / "buildings.gpkg"), "--dsm", str(data / "b.gpkg"),
                     "--weather", str(epw), "--out", str(out)], "contains an input", str(out / "buildings.gpkg"))
    assert snapshot(out) == before


def test_input_reached_through_a_symbolic_link_is_refused(data, capsys, monkeypatch):
    """The scenario names `link.gpkg`, a link to a file inside the output folder of an earlier run."""
    out = data.parent / "out"
    with prepare_output(out) as f:
        shutil.copy(data / "b.gpkg", f.path / "b.gpkg")
        f.commit()
    (data / "link.gpkg").symlink_to(out / "b.gpkg")
    (data / "s2.toml").write_text(SCENARIO.format(name="x").replace('"b.gpkg"', '"link.gpkg"'), encoding="utf-8")
    forbid_compute(monkeypatch)
    refused(capsys, ["run", str(data / "s2.toml"), "--out", str(out)], "contains an input")
    assert verify(out) == []


def test_output_folder_inside_an_input_folder_is_refused(tmp_path):
    gdb = tmp_path / "city.gdb"  # a FileGDB is a folder
    gdb.mkdir()
    (gdb / "a0000001.gdbtable").write_bytes(b"x")
    with pytest.raises(OutputFolderError, match="lies inside an input"):
        prepare_output(gdb / "out", inputs=[gdb])
    assert not (gdb / "out").exists()


def test_empty_folder_and_viewer_caches_are_fine(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, 0o750)
    (out / ".DS_Store").write_bytes(b"finder")
    with prepare_output(out) as f:
        (f.path / "a.txt").write_text("a")
        f.commit()
    assert verify(out) == [] and oct(out.stat().st_mode & 0o777) == oct(0o750)  # its mode is kept
    # SQLite/GDAL readers (QGIS) leave -shm, an empty -wal and .aux.xml beside files they open
    for name, content in (("a.txt-shm", b"\0" * 32), ("a.txt-wal", b""), ("a.txt.aux.xml", b"<PAMDataset/>")):
        (out / name).write_bytes(content)
    with prepare_output(out) as f:
        (f.path / "b.txt").write_text("b")
        f.commit()
    assert snapshot(out).keys() == {MANIFEST, "b.txt"}
    # ... but a -wal with content holds edits not saved into the database: refused, kept
    with prepare_output(out) as f:
        (f.path / "a.txt").write_text("a")
        f.commit()
    (out / "a.txt-wal").write_bytes(b"unsaved edits")
    with pytest.raises(OutputFolderError, match=r"a\.txt-wal: a database there is open with changes not yet saved"):
        prepare_output(out)
    assert (out / "a.txt-wal").read_bytes() == b"unsaved edits"


def test_invalid_manifest_is_not_a_pedgis_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"pedgis_manifest": 1, "files": [{"path": "../../etc/passwd",
                                                                               "size": 1, "sha256": "0"}]}))
    (out / "thesis.odt").write_bytes(b"x")
    with pytest.raises(OutputFolderError, match=r"manifest\.json is not valid"):
        prepare_output(out)
    assert (out / "thesis.odt").exists()


# ---------------------------------------------------------------------------------------------
# what a run writes: the manifest, a replaced previous output, `map` and leftovers


def test_rerun_replaces_a_previous_output_and_the_manifest_lists_every_file(data, capsys):
    out = data.parent / "out"
    assert main(["run", str(data / "s.toml"), "--out", str(out), "--quiet"]) == 0
    (data / "s.toml").write_text(SCENARIO.format(name="second"), encoding="utf-8")
    assert main(["run", str(data / "s.toml"), "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "district.json").read_text(encoding="utf-8"))["scenario"] == "second"
    m = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    from pedgis import __version__

    assert m["pedgis_version"] == __version__ and m["command"].startswith("pedgis run ") and m["created"]
    files = snapshot(out)
    files.pop(MANIFEST)
    assert {e["path"]: e["sha256"] for e in m["files"]} == files
    assert all(e["size"] == (out / e["path"]).stat().st_size for e in m["files"])
    assert {"district.json", "buildings.gpkg", "map.html", "report.html"} <= files.keys()
    assert sorted(p.name for p in data.parent.iterdir()) == ["data", "out"]  # nothing left beside it


def test_map_redraws_inside_the_folder_and_updates_the_manifest(data, capsys):
    out = data.parent / "out"
    assert main(["run", str(data / "s.toml"), "--out", str(out), "--quiet"]) == 0
    district_inode = (out / "district.json").stat().st_ino
    assert main(["map", str(out), "--indicator", "flags", "--title", "redrawn"]) == 0
    assert verify(out) == []
    assert "redrawn" in (out / "map.html").read_text(encoding="utf-8")
    assert read_manifest(out)["command"].startswith("pedgis map ")
    assert (out / "district.json").stat().st_ino == district_inode  # unchanged files are linked, not copied
    # a folder pedgis did not write is not redrawn
    (data / "map.html").write_text("the user's own map")
    assert main(["map", str(data)]) == 2
    assert "not a pedgis output folder" in capsys.readouterr().err
    assert (data / "map.html").read_text() == "the user's own map"


def test_leftovers_of_killed_runs_are_removed_and_only_those(tmp_path):
    out = tmp_path / "out"
    with prepare_output(out) as f:
        (f.path / "a.txt").write_text("previous")
        f.commit()
    # a run killed while writing (marker), one killed after its manifest, and one cut short
    # while deleting a previous tree (manifest and a file left)
    for token, proof in (("aa", "marker"), ("bb", "manifest"), ("cc", "manifest")):
        d = tmp_path / f".out.pedgis-new-{token}"
        d.mkdir()
        (d / "part.bin").write_bytes(b"x" * 100)
        if proof == "marker":
            (d / ".pedgis-writing").write_text(json.dumps({"target": "out"}))
        else:
            shutil.copy(out / MANIFEST, d / MANIFEST)
    # killed as it created its folder: nothing inside yet, or a marker not written yet
    (tmp_path / ".out.pedgis-new-a0").mkdir()
    (tmp_path / ".out.pedgis-new-a1").mkdir()
    (tmp_path / ".out.pedgis-new-a1" / ".pedgis-writing").write_bytes(b"")
    # not provably pedgis's: a look-alike name without marker, a marker for another folder, a link
    (tmp_path / ".out.pedgis-new-dd").mkdir()
    (tmp_path / ".out.pedgis-new-dd" / "user.txt").write_text("mine")
    (tmp_path / ".out.pedgis-new-ee").mkdir()
    (tmp_path / ".out.pedgis-new-ee" / ".pedgis-writing").write_text(json.dumps({"target": "other"}))
    victim = tmp_path / "victim"
    victim.mkdir()
    shutil.copy(out / MANIFEST, victim / MANIFEST)
    (tmp_path / ".out.pedgis-new-ff").symlink_to(victim, target_is_directory=True)
    # a run in progress (holds its lock) is left alone
    running = prepare_output(out)
    with prepare_output(out) as f:
        f.commit()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["out", "victim", ".out.pedgis-new-dd", ".out.pedgis-new-ee", ".out.pedgis-new-ff",
                            running.path.name])
    assert (victim / MANIFEST).exists()
    running.abort()
    assert not running.path.exists()


def test_killed_between_the_two_renames_the_previous_output_comes_back(tmp_path):
    """Without an atomic exchange the previous folder is renamed aside first; a kill before the
    second rename leaves no `out`; the next start puts the previous complete outputs back."""
    out = tmp_path / "out"
    with prepare_output(out) as f:
        (f.path / "a.txt").write_text("previous")
        f.commit()
    expected = snapshot(out)
    os.rename(out, tmp_path / ".out.pedgis-prev-0a1b")  # what the first rename did
    newer = tmp_path / ".out.pedgis-new-0a1b"  # the complete new tree, never renamed in
    newer.mkdir()
    (newer / "a.txt").write_text("new")
    outdir._write_manifest(newer, "killed run")
    with prepare_output(out) as f:
        assert snapshot(out) == expected and verify(out) == []
        f.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_without_atomic_exchange_the_rename_pair_is_used(tmp_path, monkeypatch):
    monkeypatch.setattr(outdir, "_renameat2", lambda: None)
    out = tmp_path / "out"
    for text in ("one", "two"):
        with prepare_output(out) as f:
            (f.path / "a.txt").write_text(text)
            f.commit()
    assert (out / "a.txt").read_text() == "two" and verify(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.skipif(outdir._renameat2() is None, reason="no renameat2 on this system")
def test_exchange_swaps_two_folders_and_reports_errors(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    ia, ib = a.stat().st_ino, b.stat().st_ino
    assert outdir.exchange(a, b)
    assert (a.stat().st_ino, b.stat().st_ino) == (ib, ia)
    with pytest.raises(OSError) as e:
        outdir.exchange(a, tmp_path / "missing")
    assert e.value.errno == errno.ENOENT


# ---------------------------------------------------------------------------------------------
# operating-system errors: exit 2, a message naming the path and the fix, never a traceback

ROOT = Path(__file__).resolve().parents[1]


def _cli(args, cwd, drop_privileges=False):
    """``pedgis`` in a subprocess; ``drop_privileges`` makes file permissions apply even to root
    (its override capabilities dropped with util-linux's setpriv)."""
    cmd = [sys.executable, "-m", "pedgis.cli", *args]
    if drop_privileges and os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search,-fowner"
        cmd = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


needs_permissions = pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"),
                                       reason="root without setpriv: permissions cannot be enforced")


@needs_permissions
def test_permission_denied_on_the_output_folder(data):
    parent = data.parent / "locked"
    parent.mkdir()
    os.chmod(parent, 0o500)
    try:
        r = _cli(["run", str(data / "s.toml"), "--out", str(parent / "out")], data, drop_privileges=True)
    finally:
        os.chmod(parent, 0o700)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "%" not in r.stderr  # refused before computing
    assert f"{parent / 'out'}: cannot write the output folder: permission denied ({parent})" in r.stderr
    assert "Fix: choose a folder you may write to" in r.stderr


@needs_permissions
def test_unreadable_scenario_file(data):
    os.chmod(data / "s.toml", 0)
    try:
        r = _cli(["run", "s.toml", "--out", str(data.parent / "out")], data, drop_privileges=True)
    finally:
        os.chmod(data / "s.toml", 0o644)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "s.toml: cannot read the scenario file: permission denied. Fix: make the file readable" in r.stderr


def test_scenario_path_is_a_folder(data, capsys):
    assert main(["run", str(data), "--out", str(data.parent / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{data}: is a folder, not a scenario file" in err and str(data / "scenario.toml") in err
    assert "Traceback" not in err and not (data.parent / "out").exists()


def test_output_path_through_a_file(data, capsys, monkeypatch):
    forbid_compute(monkeypatch)
    (data.parent / "report.pdf").write_bytes(b"%PDF")
    refused(capsys, ["run", str(data / "s.toml"), "--out", str(data.parent / "report.pdf" / "out")],
            f"{data.parent / 'report.pdf'} is a file, not a folder")
    assert (data.parent / "report.pdf").read_bytes() == b"%PDF"


def test_disk_full_while_writing_becomes_a_message(tmp_path):
    """/dev/full is a real device whose writes fail with ENOSPC."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with prepare_output(tmp_path / "out") as f:
        with pytest.raises(OutputFolderError) as e, f.writing():
            with open("/dev/full", "wb") as dev:
                dev.write(b"x" * 65536)
                dev.flush()
    assert str(e.value).startswith(f"{tmp_path / 'out'}: cannot write the outputs: the disk is full")
    assert "Fix: free some space" in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the temporary folder is gone


def _in_mount_namespace(tmp_path, options, argv):
    """Run ``pedgis`` with a small tmpfs (``options``) mounted on tmp_path/mnt, in a private
    mount namespace (root only; skipped where mounting is not allowed)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("mounting a small file system needs root and unshare")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    probe = subprocess.run(["unshare", "-m", "mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mnt)],
                           capture_output=True, text=True)
    if probe.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.strip()}")
    script = f"mount -t tmpfs -o {options} tmpfs {mnt} && exec {sys.executable} -m pedgis.cli {' '.join(argv)}"
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300)


def test_disk_full_during_a_run(data, tmp_path):
    """A real full file system: a 200 kB tmpfs fills up while the outputs are written."""
    r = _in_mount_namespace(tmp_path, "size=200k", ["run", str(data / "s.toml"), "--out", str(tmp_path / "mnt" / "out"),
                                                    "--quiet"])
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert f"{tmp_path / 'mnt' / 'out'}: cannot write the outputs: the disk is full" in r.stderr


def test_read_only_file_system(data, tmp_path):
    r = _in_mount_namespace(tmp_path, "size=200k,ro", ["run", str(data / "s.toml"), "--out",
                                                       str(tmp_path / "mnt" / "out")])
    assert r.returncode == 2 and "Traceback" not in r.stderr and "%" not in r.stderr
    assert "the file system is read-only" in r.stderr and "Fix: choose a folder on a writable disk" in r.stderr


# ---------------------------------------------------------------------------------------------
# kill -9 at any instant: the folder holds the previous or the new complete outputs


WRITER = """
import sys
from pedgis.io import outdir
target, gen, mode = sys.argv[1:4]
if mode == "rename-pair":
    outdir._renameat2 = lambda: None   # as on a system without an atomic exchange
with outdir.prepare_output(target, command="crash test " + gen) as f:
    for i in range(24):
        (f.path / f"part{i:02d}.bin").write_bytes((gen + str(i)).encode() * 20000)
    (f.path / "sub").mkdir()
    (f.path / "sub" / "gen.txt").write_text(gen)
    f.commit()
"""


def _generation(out: Path) -> str:
    """Which complete output ``out`` holds (it must verify against its manifest)."""
    assert out.is_dir(), "the output folder is missing"
    assert verify(out) == []
    return (out / "sub" / "gen.txt").read_text()


def _kill_at(cmd, cwd, parent: Path, delay: float) -> None:
    """Start ``cmd``, wait until its temporary folder appears beside the output, then SIGKILL it
    ``delay`` seconds later (0 ≤ delay; beyond the end the process has simply finished)."""
    import time

    before = set(os.listdir(parent))  # leftovers of earlier kills do not count
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while p.poll() is None and not any(".pedgis-new-" in n for n in set(os.listdir(parent)) - before):
            time.sleep(0.0005)
        time.sleep(delay)
        p.kill()
    finally:
        p.wait()


def _phase_length(cmd, cwd, parent: Path) -> float:
    """Seconds from the temporary folder's appearance to the end of an uninterrupted run."""
    import time

    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while p.poll() is None and not any(".pedgis-new-" in n for n in os.listdir(parent)):
        time.sleep(0.0005)
    t0 = time.monotonic()
    _, err = p.communicate()
    assert p.returncode == 0, err
    return time.monotonic() - t0


@pytest.mark.parametrize("mode", ["exchange", "rename-pair"])
def test_kill_9_at_many_instants_of_the_write_and_commit(tmp_path, mode):
    import random

    if mode == "exchange" and outdir._renameat2() is None:
        pytest.skip("no renameat2 on this system")
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", WRITER, str(out), "g0", mode]
    length = _phase_length(cmd, ROOT, tmp_path)
    assert _generation(out) == "g0"
    rng = random.Random(11)
    delays = sorted(rng.uniform(0, 1.2 * length) for _ in range(28))
    for i, delay in enumerate(delays, start=1):
        previous = _generation(out)
        _kill_at([sys.executable, "-c", WRITER, str(out), f"g{i}", mode], ROOT, tmp_path, delay)
        if mode == "rename-pair":
            recover(out)  # the next start undoes a kill between the two renames
        assert _generation(out) in (previous, f"g{i}"), f"killed {delay * 1000:.1f} ms into the phase"
    # the next run removes what the killed ones left and leaves nothing else
    subprocess.run([sys.executable, "-c", WRITER, str(out), "last", mode], cwd=ROOT, check=True)
    assert _generation(out) == "last"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_kill_9_during_pedgis_run(data, tmp_path):
    """The real command, killed at instants spread over its writing and swapping phase (timed from
    the first output file in the temporary folder, measured on an uninterrupted run)."""
    import random
    import time

    out = tmp_path / "out"

    def cmd(name):
        (data / "s.toml").write_text(SCENARIO.format(name=name), encoding="utf-8")
        return [sys.executable, "-m", "pedgis.cli", "run", str(data / "s.toml"), "--out", str(out), "--quiet"]

    def first_file_appears(p, before=frozenset()):
        while p.poll() is None:
            tmp = [n for n in set(os.listdir(tmp_path)) - before if ".pedgis-new-" in n]
            if tmp and os.path.exists(tmp_path / tmp[0] / "district.json"):
                return time.monotonic()
            time.sleep(0.0005)
        return time.monotonic()

    p = subprocess.Popen(cmd("run 0"), cwd=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = first_file_appears(p)
    p.wait()
    length = time.monotonic() - t0
    assert p.returncode == 0

    def scenario_name():
        assert verify(out) == []
        return json.loads((out / "district.json").read_text(encoding="utf-8"))["scenario"]

    rng = random.Random(5)
    for i, delay in enumerate(sorted(rng.uniform(0, length) for _ in range(5)), start=1):
        previous = scenario_name()
        before = set(os.listdir(tmp_path))  # leftovers of earlier kills do not count
        p = subprocess.Popen(cmd(f"run {i}"), cwd=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first_file_appears(p, before)
        time.sleep(delay)
        p.kill()
        p.wait()
        assert scenario_name() in (previous, f"run {i}"), f"killed {delay * 1000:.0f} ms into writing"
    assert main(["run", str(data / "s.toml"), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", "data"])


def test_update_output_refuses_what_is_not_a_pedgis_output(tmp_path):
    with pytest.raises(OutputFolderError, match="no such output folder"):
        update_output(tmp_path / "missing")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "district.json").write_text("{}")
    with pytest.raises(OutputFolderError, match="not a pedgis output folder"):
        update_output(tmp_path / "mine")


def test_json_result_file_never_replaces_an_input_or_a_file_of_the_user(data, capsys, monkeypatch):
    """`pedgis gap --json FILE`: refused before the engine runs for the scenario file itself and
    for a file pedgis did not write; a JSON result pedgis wrote is replaced whole."""
    monkeypatch.setattr("pedgis.timeseries.scenarios.gap", lambda *a, **k: pytest.fail("engine ran before the check"))
    before = snapshot(data)
    refused(capsys, ["gap", str(data / "s.toml"), "--lever", "pv_kwp", "--json", str(data / "s.toml")],
            "is an input of the run")
    (data / "notes" / "budget.json").write_text('{"total": 1}')
    refused(capsys, ["gap", str(data / "s.toml"), "--lever", "pv_kwp", "--json", str(data / "notes" / "budget.json")],
            "exists and pedgis did not write it")
    assert snapshot(data) == before | {"notes/budget.json": hashlib.sha256(b'{"total": 1}').hexdigest()}
    path = outdir.write_json_file(data.parent / "gap.json", {"lever": "pv_kwp"})
    outdir.write_json_file(path, {"lever": "storage_kwh"}, inputs=[data / "s.toml"])
    assert json.loads(path.read_text())["lever"] == "storage_kwh"
    assert sorted(p.name for p in data.parent.iterdir()) == ["data", "gap.json"]
