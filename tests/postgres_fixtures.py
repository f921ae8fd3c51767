"""A real PostgreSQL server for the tests, started in a temporary directory.

    def test_x(postgresql):
        url = postgresql.new_database()   # postgresql+psycopg://postgres@127.0.0.1:PORT/db_1
        ...

`postgresql` (session scope) runs Debian's server in a fresh data directory on
127.0.0.1 and a free port (`profitguard.tooling.chaos.postgres.LocalPostgres`: the chaos
suite's account scenarios start theirs the same way), with trust authentication for
the local user `postgres`, and stops it after the session. As root (CI), the server
runs as the `postgres` system user, which the Debian package creates. Each test asks
for a database of its own; `own_postgresql` is a server of one test, to stop and
start. Without the server binaries or psycopg the tests that use it are skipped with
the reason; `.ci/run` installs both.
"""

from __future__ import annotations

import pytest

from profitguard.tooling.chaos.postgres import LocalPostgres, PostgresUnavailable

__all__ = ["own_postgresql", "postgresql", "started_postgres"]


def started_postgres() -> LocalPostgres:
    """A started server, or the test skipped with the reason it cannot be."""
    pytest.importorskip("psycopg", reason="psycopg (v3) not installed: pip install -e '.[test]'")
    try:
        server = LocalPostgres()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL: {exc}; .ci/run installs it")
    try:
        return server.start()
    except BaseException:
        server.close()
        raise


@pytest.fixture(scope="session")
def postgresql():
    """A PostgreSQL server of this test session (see the module docstring)."""
    server = started_postgres()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def own_postgresql():
    """A PostgreSQL server of one test, which it may stop and start again."""
    server = started_postgres()
    try:
        yield server
    finally:
        server.close()
