"""`profitguard chaos` with no --runs runs every scenario once, however many there are."""

from __future__ import annotations

from types import SimpleNamespace

import profitguard.chaos.runner as runner
from profitguard.chaos.scenarios import SCENARIOS
from profitguard.cli import main


def test_chaos_when_no_runs_given_then_every_scenario_runs_once(monkeypatch, tmp_path, capsys):
    ran = []

    def fake_run(scenario, *, seed, root, duration_s):
        ran.append(scenario.name)
        return SimpleNamespace(
            line=lambda: scenario.name, violations=[], notes=[], restarts=0, faults=0,
            lost_answers=0,
        )  # fmt: skip

    monkeypatch.setattr(runner, "run_scenario", fake_run)
    assert main(["chaos", "--workdir", str(tmp_path)]) == 0
    assert ran == [s.name for s in SCENARIOS]
    assert f"runs: {len(SCENARIOS)}" in capsys.readouterr().out


def test_chaos_when_runs_given_then_scenarios_in_turn(monkeypatch, tmp_path):
    ran = []

    def fake_run(scenario, *, seed, root, duration_s):
        ran.append((scenario.name, seed))
        return SimpleNamespace(
            line=lambda: "", violations=[], notes=[], restarts=0, faults=0, lost_answers=0
        )

    monkeypatch.setattr(runner, "run_scenario", fake_run)
    runs = len(SCENARIOS) + 1
    assert main(["chaos", "--runs", str(runs), "--seed", "5", "--workdir", str(tmp_path)]) == 0
    assert ran[-1] == (SCENARIOS[0].name, 6)  # the second turn takes the next seed
