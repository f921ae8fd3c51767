"""A real PostgreSQL server for the tests, started in a temporary directory.

    def test_x(postgresql):
        url = postgresql.new_database()   # postgresql+psycopg://postgres@127.0.0.1:PORT/db_1
        ...

`postgresql` (session scope) runs Debian's server (`initdb` and `pg_ctl`, from PATH
or /usr/lib/postgresql/*/bin) in a fresh data directory on 127.0.0.1 and a free
port, with trust authentication for the local user `postgres`, and stops it after
the session. As root (CI), the server runs as the `postgres` system user, which
the Debian package creates. Each test asks for a database of its own. Without the
server binaries or psycopg the tests that use it are skipped with the reason;
`.ci/run` installs both.
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
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "find_postgres_bin", "postgresql"]


def find_postgres_bin() -> Path | None:
    """The directory holding `initdb` and `pg_ctl` (None: not installed)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """A running server: `new_database()` gives the URL of an empty database."""

    port: int
    user: str = "postgres"
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self, name: str | None = None) -> str:
        """Create a database (named `name`, else the next `db_<n>`) and return its URL."""
        import psycopg

        name = name or f"db_{next(self._names)}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_server_user() -> dict:
    """Run the server as `postgres` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("PostgreSQL: running as root and there is no 'postgres' user to run it as")
    return {"user": "postgres", "group": "postgres"}


@pytest.fixture(scope="session")
def postgresql():
    """A PostgreSQL server of this test session (see the module docstring)."""
    bindir = find_postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server not installed (initdb/pg_ctl); .ci/run installs it")
    pytest.importorskip("psycopg", reason="psycopg (v3) not installed: pip install -e '.[test]'")
    runas = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="pg-test-"))
    data, log = root / "data", root / "server.log"
    if runas:
        shutil.chown(root, "postgres", "postgres")
    os.chmod(root, 0o700)
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "env": env, **runas}
    subprocess.run(
        [bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        timeout=120,
        **quiet,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off"
    subprocess.run(
        [bindir / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"],
        check=True,
        timeout=120,
        **quiet,
    )
    try:
        yield PostgresServer(port)
    finally:
        subprocess.run(
            [bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"],
            timeout=60,
            check=False,
            **quiet,
        )
        shutil.rmtree(root, ignore_errors=True)
