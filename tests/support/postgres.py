"""A throwaway PostgreSQL cluster for tests and benchmarks: ``initdb`` into a temporary folder,
``pg_ctl start`` on a free loopback port, one database, and a stop by PID that never leaves a
postmaster behind.

pg = start_postgres()            # ~1 s; raises PostgresUnavailable when no binaries exist
pg.url                           # postgresql://bcs:<password>@127.0.0.1:PORT/bcsd
pg.create_database("other")      # another empty database on the same cluster
pg.stop()                        # pg_ctl stop -m immediate, then SIGKILL by PID

``initdb`` refuses to run as root: when we are root, every server command runs as the
``postgres`` system user (or ``nobody``) through ``runuser``, and the folder is handed to it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SEARCH_DIRS = ("/usr/local/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (tests skip with this reason)."""


def find_bin_dir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: PATH first, then the Debian layout."""
    found = shutil.which("initdb")
    candidates = [Path(found).parent] if found else []
    candidates += [Path(d) for d in SEARCH_DIRS]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")


def client_program(name: str) -> str:
    """``psql`` / ``pg_dump``: on PATH, else beside the server binaries of the Debian layout."""
    found = shutil.which(name)
    if found:
        return found
    for folder in (find_bin_dir(), *(Path(d) for d in SEARCH_DIRS)):
        if (folder / name).exists():
            return str(folder / name)
    raise PostgresUnavailable(f"no {name} on this machine")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    """The unprivileged account to run the server as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise PostgresUnavailable("running as root and no unprivileged 'postgres' or 'nobody' user exists")


@dataclass
class PostgresCluster:
    bin_dir: Path
    root: Path
    port: int
    user: str
    password: str
    database: str
    run_as: str | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run(self, argv: list[str], timeout: float = 60) -> None:
        name = Path(argv[0]).name
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed: {(done.stderr or done.stdout)[-2000:]}")

    def _pg(self, name: str) -> str:
        return str(self.bin_dir / name)

    def create_database(self, name: str) -> str:
        """Create an empty database on this cluster; returns its URL."""
        import psycopg

        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def _conninfo(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} password={self.password} dbname={database}"

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        return None

    def stop(self) -> None:
        """Immediate shutdown; the postmaster is SIGKILLed by PID if it is still there."""
        pid = self.postmaster_pid()
        with contextlib.suppress(Exception):
            self._run([self._pg("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "immediate", "-w"])
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, 0)
                os.kill(pid, signal.SIGKILL)
                time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(database: str = "bcsd", *, durable: bool = False) -> PostgresCluster:
    """initdb + pg_ctl start on 127.0.0.1:<free port> + createdb; password auth over TCP.
    Tests run with ``fsync=off`` (a throwaway cluster); ``durable=True`` keeps the server's
    defaults, for benchmarks that compare durable commits."""
    bin_dir = find_bin_dir()
    run_as = _server_user()
    root = Path(tempfile.mkdtemp(prefix="bcs-pg-"))
    password = secrets.token_urlsafe(12)
    cluster = PostgresCluster(bin_dir, root, _free_port(), "bcs", password, database, run_as)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    try:
        cluster._run(
            [
                cluster._pg("initdb"), "-D", str(cluster.data_dir), "-U", cluster.user,
                "--pwfile", str(pwfile),
                "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
            ]
        )  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {root}"
        if not durable:
            options += " -c fsync=off"
        cluster._run(
            [
                cluster._pg("pg_ctl"), "start", "-D", str(cluster.data_dir), "-w", "-t", "30",
                "-l", str(root / "server.log"), "-o", options,
            ]
        )  # fmt: skip
        cluster.create_database(database)
    except BaseException:
        cluster.stop()
        raise
    return cluster
