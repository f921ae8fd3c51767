"""`profitguard chaos` with the shared-account scenarios: listed, chosen by name, and a
machine without PostgreSQL skips them, saying so on the run's line and in the summary."""

from __future__ import annotations

from profitguard.cli import main
from profitguard.tooling.chaos import account_runner
from profitguard.tooling.chaos.postgres import PostgresUnavailable

NAMES = ("account-kill-reserved", "account-drop-mid-transaction", "account-restart-postgresql")


def test_chaos_list_when_asked_then_the_account_scenarios_are_listed(capsys):
    assert main(["chaos", "--list"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert f"{name:<28} account: 2 bots, max_open_positions=1" in out


def test_chaos_when_an_account_scenario_is_misspelt_then_the_close_name_is_suggested(capsys):
    assert main(["chaos", "--scenario", "account-restart-postgres"]) == 2
    assert "Did you mean 'account-restart-postgresql'?" in capsys.readouterr().err


def test_chaos_when_no_postgresql_then_the_account_run_is_skipped_and_counted(
    tmp_path, capsys, monkeypatch
):
    def unavailable(scenario, **kwargs):
        raise PostgresUnavailable("PostgreSQL server not installed (initdb/pg_ctl)")

    monkeypatch.setattr(account_runner, "run_account_scenario", unavailable)
    args = ["chaos", "--scenario", NAMES[2], "--workdir", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "account-restart-postgresql   skipped: PostgreSQL: PostgreSQL server not" in out
    assert "account scenarios: 0 runs, 1 skipped (no PostgreSQL), violations: 0" in out
