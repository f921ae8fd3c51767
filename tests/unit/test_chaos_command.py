"""`profitguard chaos` with no --runs runs every scenario once, however many there are
(the single-bot ones, then the shared account's)."""

from __future__ import annotations

from types import SimpleNamespace

import profitguard.tooling.chaos.account_runner as account_runner
import profitguard.tooling.chaos.scenario_runner as runner
from profitguard.cli import main
from profitguard.tooling.chaos.account_runner import ACCOUNT_SCENARIOS
from profitguard.tooling.chaos.scenarios import SCENARIOS

ALL = [*SCENARIOS, *ACCOUNT_SCENARIOS]


def fake_runs(monkeypatch) -> list[tuple[str, int]]:
    """Both runners replaced by one that records (scenario, seed): no bot, no database."""
    ran = []

    def fake_run(scenario, *, seed, root, duration_s):
        ran.append((scenario.name, seed))
        return SimpleNamespace(
            line=lambda: scenario.name, violations=[], notes=[], restarts=0, faults=0,
            lost_answers=0,
        )  # fmt: skip

    monkeypatch.setattr(runner, "run_scenario", fake_run)
    monkeypatch.setattr(account_runner, "run_account_scenario", fake_run)
    return ran


def test_chaos_when_no_runs_given_then_every_scenario_runs_once(monkeypatch, tmp_path, capsys):
    ran = fake_runs(monkeypatch)
    assert main(["chaos", "--workdir", str(tmp_path)]) == 0
    assert [name for name, _ in ran] == [s.name for s in ALL]
    out = capsys.readouterr().out
    assert f"runs: {len(ALL)}" in out
    assert f"account scenarios: {len(ACCOUNT_SCENARIOS)} runs, violations: 0" in out


def test_chaos_when_runs_given_then_scenarios_in_turn(monkeypatch, tmp_path):
    ran = fake_runs(monkeypatch)
    runs = len(ALL) + 1
    assert main(["chaos", "--runs", str(runs), "--seed", "5", "--workdir", str(tmp_path)]) == 0
    assert ran[: len(ALL)] == [(s.name, 5) for s in ALL]
    assert ran[-1] == (SCENARIOS[0].name, 6)  # the second turn takes the next seed


def test_chaos_when_workdir_relative_then_runs_get_an_absolute_root(monkeypatch, tmp_path):
    """Each bot runs in its run's directory: a relative --workdir would leave it a path
    to its config that names nothing there (every bot exited with status 2)."""
    roots = []

    def fake_run(scenario, *, seed, root, duration_s):
        roots.append(root)
        return SimpleNamespace(
            line=lambda: scenario.name, violations=[], notes=[], restarts=0, faults=0,
            lost_answers=0,
        )  # fmt: skip

    monkeypatch.setattr(runner, "run_scenario", fake_run)
    monkeypatch.chdir(tmp_path)
    assert main(["chaos", "--workdir", "out", "--scenario", SCENARIOS[0].name]) == 0
    assert roots == [tmp_path / "out" / "run-01"] and roots[0].is_absolute()
