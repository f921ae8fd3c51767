"""`profitguard guard … --this-bot` with a config naming a shared account: the action is
on the bot's own guard file (`profitguard-<bot_name>-guard.json`), and the account's
database is not contacted (its URL here leads nowhere: a contact would fail)."""

from __future__ import annotations

import json

import pytest

from profitguard.cli import main
from profitguard.guard_store import read_state

# nothing listens there: the command must not need it
NOWHERE = "postgresql+psycopg://nobody@127.0.0.1:9/none"


@pytest.fixture
def config(tmp_path):
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    account = {"name": "main", "db_url": NOWHERE}
    path = userdir / "config.json"
    path.write_text(
        json.dumps(
            {
                "stake_currency": "USDT",
                "bot_name": "bot-a",
                "user_data_dir": str(userdir),
                "db_url": f"sqlite:///{userdir / 'tradesv3.sqlite'}",
                "profitguard": {"risk": {"account": account}},
            }
        )
    )
    return path


def guard(config, *args: str) -> int:
    return main(["guard", *args, "--config", str(config), "--this-bot"])


def test_guard_this_bot_when_kill_then_the_bots_own_file_halts_and_reset_lifts_it(config, capsys):
    own = config.parent / "profitguard-bot-a-guard.json"
    assert guard(config, "kill", "--reason", "exit while the account is out of reach") == 0
    out = capsys.readouterr().out
    assert "switches HALTED (kill switch ON since" in out
    assert "on account" not in out  # the bot's own switches, not the account's
    state = read_state(own)
    assert state.halted and state.halted_reason == "exit while the account is out of reach"
    assert "bot_name='bot-a'" in state.bot
    assert guard(config, "status") == 0
    assert "kill switch: ON since" in capsys.readouterr().out
    assert guard(config, "reset", "--confirm") == 0
    assert not read_state(own).halted


def test_guard_this_bot_when_pause_then_only_the_bots_own_file_is_paused(config):
    assert guard(config, "pause", "--reason", "FOMC") == 0
    assert read_state(config.parent / "profitguard-bot-a-guard.json").paused_reason == "FOMC"
    assert guard(config, "resume") == 0
    assert not read_state(config.parent / "profitguard-bot-a-guard.json").paused


def test_guard_without_this_bot_when_the_account_is_out_of_reach_then_an_error_naming_it(
    config, capsys
):
    assert main(["guard", "kill", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "account 'main' at postgresql+psycopg://nobody@127.0.0.1:9/none" in out
    assert not (config.parent / "profitguard-bot-a-guard.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("forget", "--bot", "bot-b", "--confirm"), "--this-bot: forget takes a bot out of the"),
        (("kill", "--bot", "bot-b"), "--this-bot acts on the --config's bot: drop --bot 'bot-b'"),
    ],
)
def test_guard_this_bot_when_combined_with_bot_then_usage_error(config, capsys, args, message):
    assert guard(config, *args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
