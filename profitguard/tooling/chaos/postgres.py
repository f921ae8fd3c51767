"""A PostgreSQL server of one run, in a temporary directory on 127.0.0.1.

The chaos suite's account scenarios start one (a shared account's database), stop and
start it under running bots, and end its connections; the tests start theirs through
here too. Debian's server binaries (`initdb`, `pg_ctl`: on PATH or in
/usr/lib/postgresql/*/bin), trust authentication for the local user `postgres`, a
free port; as root the server runs as the `postgres` system user (initdb refuses root).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No server binaries, no psycopg, or no user to run the server as."""


def find_postgres_bin() -> Path | None:
    """The directory holding `initdb` and `pg_ctl` (None: not installed)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_user() -> dict:
    """`subprocess` arguments running the server as `postgres` when we are root."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root and there is no 'postgres' user to run PostgreSQL as"
        ) from None
    return {"user": "postgres", "group": "postgres"}


class LocalPostgres:
    """A server in its own directory: `start`, `stop` (and start again), `close` (gone)."""

    user = "postgres"

    def __init__(self) -> None:
        bindir = find_postgres_bin()
        if bindir is None:
            raise PostgresUnavailable("PostgreSQL server not installed (initdb/pg_ctl)")
        self.bindir = bindir
        self.runas = server_user()
        # its own directory under the system's temporary one: as root the server runs as
        # `postgres`, which must reach it (a run's work directory may be private)
        self.root = Path(tempfile.mkdtemp(prefix="profitguard-pg-"))
        if self.runas:
            shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o700)
        self.port = free_port()
        self.env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        self._names = itertools.count(1)
        self._run("initdb", "-D", self.data, "-U", self.user, "--auth=trust", "-E", "UTF8")

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args, check: bool = True) -> None:
        done = subprocess.run(
            [self.bindir / args[0], *args[1:]],
            check=False,
            timeout=120,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            **self.runas,
        )
        if check and done.returncode:
            said = (done.stderr or "").strip().splitlines()
            raise RuntimeError(
                f"PostgreSQL: {args[0]} {args[1]} failed (status {done.returncode}): "
                f"{said[-1] if said else 'no message'}"
            )

    def start(self) -> LocalPostgres:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        log = self.root / "server.log"
        self._run("pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`: every connection ended, open transactions rolled back)."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def close(self) -> None:
        """Stop it if it runs and remove its directory."""
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        """A psycopg connection (autocommit) as the server's user."""
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname=database, autocommit=True
        )

    def new_database(self, name: str | None = None) -> str:
        """Create a database (named `name`, else the next `db_<n>`) and return its URL."""
        name = name or f"db_{next(self._names)}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
