"""A real PostgreSQL + PostGIS server for the tests, in a temporary folder (one per test session).

Debian 12's packages ``postgresql`` and ``postgresql-15-postgis-3`` (``scripts/install-system-deps.sh``)
give ``initdb`` and ``pg_ctl`` in /usr/lib/postgresql/<major>/bin. PostgreSQL refuses to run as
root, which the tests often are (containers, CI): the cluster then belongs to Debian's ``postgres``
system user and every server command runs through ``runuser -u postgres``. The server listens on
127.0.0.1 at a free port with password (SCRAM) authentication, so the tests connect like a city's
GIS client, with a password that must never show up in pedgis' messages; durability settings are
off (a test cluster need not survive a crash, and starts in about a second).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ROLE = "planner"
PASSWORD = "Tr0ub4dor&3-secret"
DATABASE = "citygis"


def server_bin() -> Path:
    """The newest installed PostgreSQL server's bin folder."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parents[1].name))
    if not found:
        raise RuntimeError("PostgreSQL's initdb is not installed: run `make system-deps` "
                           "(scripts/install-system-deps.sh installs postgresql and postgis).")
    bindir = found[-1].parent
    if not Path(f"/usr/share/postgresql/{bindir.parent.name}/extension/postgis.control").exists():
        raise RuntimeError(f"PostGIS for PostgreSQL {bindir.parent.name} is not installed: run `make system-deps`.")
    return bindir


class PostgisServer:
    """``initdb`` + ``pg_ctl start``; :meth:`stop` removes everything."""

    def __init__(self) -> None:
        self.bindir = server_bin()
        self.as_postgres = os.geteuid() == 0
        # not in pytest's tmp_path: that is private to root and the server runs as postgres
        self.folder = Path(tempfile.mkdtemp(prefix="pedgis-pg-"))
        self.data = self.folder / "data"
        self.sock = self.folder / "sock"
        self.sock.mkdir()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        pwfile = self.folder / "superuser-password"
        pwfile.write_text("unused-superuser-password\n")
        if self.as_postgres:
            self.folder.chmod(0o755)
            for p in (self.folder, self.sock, pwfile):
                shutil.chown(p, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync",
                  "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}")
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=30")
        try:
            self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.folder / "server.log"),
                      "-w", "-t", "60", "start")
            self.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'", db="postgres")
            self.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}", db="postgres")
            self.psql("CREATE EXTENSION postgis")
        except BaseException:
            self.stop()
            raise

    def _argv(self, tool: str, *args: str) -> list[str]:
        argv = [str(self.bindir / tool), *args]
        return ["runuser", "-u", "postgres", "--", *argv] if self.as_postgres else argv

    def _run(self, tool: str, *args: str) -> str:
        res = subprocess.run(self._argv(tool, *args), capture_output=True, text=True, cwd=self.folder, check=False)
        if res.returncode:
            log = self.folder / "server.log"
            raise RuntimeError(f"{tool} failed ({res.returncode}): {res.stderr}\n"
                               + (log.read_text(errors="replace")[-3000:] if log.exists() else ""))
        return res.stdout

    def psql(self, sql: str, db: str = DATABASE) -> str:
        """Run SQL as the superuser over the server's own socket; returns the unaligned output."""
        return self._run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock),
                         "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql)

    @property
    def url(self) -> str:
        """A libpq URL with the role's password in it (what pedgis must never print)."""
        return f"postgresql://{ROLE}:{PASSWORD.replace('&', '%26')}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def pg_string(self) -> str:
        """The same database as a GDAL ``PG:`` string."""
        return f"PG:host=127.0.0.1 port={self.port} dbname={DATABASE} user={ROLE} password='{PASSWORD}'"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(self._argv("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                           capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
