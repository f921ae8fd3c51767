"""One of `profitguard chaos`'s shared-account scenarios, seeded: two live bots on one
exchange account, the account's PostgreSQL (the run's own) stopped and started again
under them; no violation of the account's checks or of each bot's, and the summary
counts the account scenario (the three: `profitguard chaos --scenario account-…`)."""

from __future__ import annotations

import pytest

from profitguard.cli import main
from profitguard.tooling.chaos.postgres import find_postgres_bin

pytestmark = pytest.mark.slow


def test_chaos_account_restart_when_seeded_then_no_entry_while_down_and_no_violation(
    tmp_path, capsys
):
    if find_postgres_bin() is None:
        pytest.skip("PostgreSQL server not installed (initdb/pg_ctl); .ci/run installs it")
    pytest.importorskip("psycopg", reason="psycopg (v3) not installed: pip install -e '.[test]'")
    status = main(
        ["chaos", "--seed", "1", "--duration", "45", "--workdir", str(tmp_path),
         "--scenario", "account-restart-postgresql"]
    )  # fmt: skip
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert "account database down 1 time(s)" in out, out
    assert "entries refused by an unreachable account (GUARD_STATE_UNREADABLE)" in out, out
    assert lines[-9] == "account scenarios: 1 runs, violations: 0", out
    assert lines[-1] == "violations: 0", out
    assert status == 0
