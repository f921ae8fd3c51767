"""The chaos runner switches the guard of the bot it runs: with one guard file per bot,
a `guard` command without the bot's config acts on another bot (the shipped config's)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from profitguard.bot_identity import identity_of
from profitguard.tooling.chaos import scenario_runner
from profitguard.tooling.exchange.freqtrade_config import load_json_config


@pytest.mark.parametrize("switch", ["kill", "pause"])
def test_runner_guard_command_when_run_then_the_bots_own_guard_file_switched(tmp_path, switch):
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"bot_name": "chaos-bot-7", "user_data_dir": str(userdir)}))
    ws = SimpleNamespace(config=config, userdir=userdir)
    scenario_runner._guard(ws, switch, "chaos: test")
    guard = json.loads(identity_of(load_json_config(config)).guard_path(userdir).read_text())
    assert guard["halted" if switch == "kill" else "paused"] is True, guard
