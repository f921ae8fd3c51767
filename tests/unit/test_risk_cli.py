"""`profitguard guard status|pause|resume|kill|reset` on a user data directory."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from profitguard import guard_store
from profitguard.bot_identity import identity_of
from profitguard.cli import main
from profitguard.risk import state as st

# the files of a bot whose config names no bot_name and no db_url (dry-run)
GUARD_FILE = identity_of({}).guard_path(Path()).name
STATUS_FILE = identity_of({}).status_path(Path()).name


@pytest.fixture
def userdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "user_data").mkdir()
    (tmp_path / "user_data" / "config.json").write_text('{"stake_currency": "USDT"}')
    return tmp_path / "user_data"


def guard(*args: str) -> int:
    return main(["guard", *args, "--config", "user_data/config.json"])


def test_guard_when_kill_then_halted_until_reset_with_confirm(userdir, capsys):
    assert guard("kill", "--reason", "exchange outage") == 0
    out = capsys.readouterr().out
    assert "switches HALTED (kill switch ON since" in out
    assert "exits every open trade at its next loop" in out
    state = guard_store.read_state(userdir / GUARD_FILE)
    assert state.halted and state.halted_reason == "exchange outage"

    assert guard("resume") == 2
    assert "only 'profitguard guard reset --confirm' lifts it" in capsys.readouterr().err
    assert guard("reset") == 2
    assert "run it again with --confirm" in capsys.readouterr().err
    assert guard_store.read_state(userdir / GUARD_FILE).halted

    assert guard("reset", "--confirm") == 0
    state = guard_store.read_state(userdir / GUARD_FILE)
    assert not state.halted and not state.paused and state.streak_since is not None


def test_guard_when_pause_then_resume_lifts_it(userdir, capsys):
    assert guard("pause", "--reason", "FOMC") == 0
    assert guard_store.read_state(userdir / GUARD_FILE).paused_reason == "FOMC"
    assert guard("status") == 0
    assert "pause: ON since" in capsys.readouterr().out
    assert guard("resume") == 0
    assert not guard_store.read_state(userdir / GUARD_FILE).paused


def test_guard_status_when_bot_wrote_figures_then_each_rule_against_its_limit(userdir, capsys):
    figure = "loss=5.3%, until=2024-03-14 00:00 UTC"
    check = {"rule": "DAILY_LOSS_LIMIT", "passed": False, "message": "…", "figure": figure,
             "limit": "5.0%", "figures": {}}  # fmt: skip
    guard_store.write_json_atomic(
        userdir / STATUS_FILE,
        {"version": 1, "updated_at": "2024-03-13T15:00:00+00:00", "state": "REDUCING",
         "equity": 9470.0, "checks": [check], "last_entry": None,
         "refusals": {"DAILY_LOSS_LIMIT": 4}, "checked": 4},
    )  # fmt: skip
    assert guard("status") == 0
    out = capsys.readouterr().out
    assert "bot state REDUCING, equity 9470.00" in out
    assert "DAILY_LOSS_LIMIT  loss=5.3%, until=2024-03-14 00:00 UTC  5.0%   NO" in out
    assert "4 entries checked, 4 refused" in out
    assert guard("status", "--json") == 0
    assert json.loads(capsys.readouterr().out)["bot"]["state"] == "REDUCING"


def test_guard_status_when_file_corrupt_then_error_and_status_1(userdir, capsys):
    (userdir / GUARD_FILE).write_text("{")
    assert guard("status") == 1
    out = capsys.readouterr().out
    assert f"error: {userdir / GUARD_FILE}: not valid JSON" in out
    assert guard("resume") == 2  # cannot resume what cannot be read


def test_guard_pause_when_file_corrupt_then_refused_so_a_kill_switch_is_not_lifted(userdir, capsys):
    (userdir / GUARD_FILE).write_text('{"version": 1, "halted": true, "halted_reason": 3}')
    assert guard("pause") == 2  # a fresh paused file would turn the bot's kill switch off
    assert "'kill' or 'reset --confirm' writes a fresh file" in capsys.readouterr().err
    assert (userdir / GUARD_FILE).read_text().startswith('{"version": 1, "halted": true')
    assert not list(userdir.glob(f"{GUARD_FILE}.corrupt-*"))


@pytest.mark.parametrize("action", ["kill", "reset"])
def test_guard_when_file_corrupt_then_kill_and_reset_still_work_and_keep_a_copy(
    userdir, capsys, action
):
    (userdir / GUARD_FILE).write_text("{")
    assert guard(action, "--confirm") == 0
    assert "moved to" in capsys.readouterr().out
    assert guard_store.read_state(userdir / GUARD_FILE).halted is (action == "kill")
    assert [p.read_text() for p in userdir.glob(f"{GUARD_FILE}.corrupt-*")] == ["{"]


def test_guard_when_config_sets_user_data_dir_then_it_is_used(tmp_path, capsys):
    other = tmp_path / "elsewhere"
    other.mkdir()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"user_data_dir": str(other)}))
    assert main(["guard", "kill", "--config", str(config)]) == 0
    assert guard_store.read_state(other / GUARD_FILE).halted
    assert main(["guard", "status", "--userdir", str(other)]) == 0
    assert "switches: HALTED" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give the bot's --config (or its --userdir)"),
        (["--userdir", "nowhere"], "no user data directory at nowhere"),
    ],
)
def test_guard_when_directory_unknown_then_usage_error(
    tmp_path, monkeypatch, capsys, args, message
):
    monkeypatch.chdir(tmp_path)
    assert main(["guard", "status", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def with_database(userdir):
    """The config names the bot's trades database, which the bot has created."""
    from profitguard.guard_store import GuardCopy

    url = f"sqlite:///{userdir / 'tradesv3.dryrun.sqlite'}"
    (userdir / "config.json").write_text(json.dumps({"stake_currency": "USDT", "db_url": url}))
    copy = GuardCopy(url)
    assert copy.load() is None  # the table exists, nothing recorded
    yield copy
    copy.close()


def test_guard_kill_when_file_torn_before_the_bot_read_it_then_the_bot_is_halted(
    userdir, with_database, capsys
):
    assert guard("kill", "--reason", "incident") == 0
    assert with_database.load().halted  # recorded before the file was written
    (userdir / GUARD_FILE).write_text('{"version": 1, "ha')  # torn while the bot was down
    with pytest.raises(st.GuardStateError) as raised:
        guard_store.GuardFile(userdir / GUARD_FILE, with_database).read()  # the bot starting
    assert raised.value.last_good.halted and raised.value.last_good.halted_reason == "incident"
    assert guard("reset", "--confirm") == 0  # moves the torn file aside, lifts both copies
    assert not with_database.load().halted
    assert not guard_store.GuardFile(userdir / GUARD_FILE, with_database).read().halted


def test_guard_when_file_deleted_then_status_and_pause_keep_the_recorded_kill_switch(
    userdir, with_database, capsys
):
    assert guard("kill", "--reason", "incident") == 0
    (userdir / GUARD_FILE).unlink()
    capsys.readouterr()
    assert guard("status") == 0
    assert "kill switch: ON since" in capsys.readouterr().out
    assert guard("pause", "--reason", "news") == 0  # a fresh file keeps the kill switch
    state = guard_store.read_state(userdir / GUARD_FILE)
    assert state.halted and state.halted_reason == "incident" and state.paused


def test_guard_kill_when_no_trades_database_yet_then_file_only_with_a_note(userdir, capsys):
    assert guard("kill") == 0
    captured = capsys.readouterr()
    assert "note: no trades database at" in captured.err
    assert guard_store.read_state(userdir / GUARD_FILE).halted
    assert not (userdir.parent / "tradesv3.dryrun.sqlite").exists()  # never created here


def trades_db(path, trades):
    """A trades table with the columns Freqtrade has and `guard status` reads."""
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE trades (id INTEGER PRIMARY KEY, pair TEXT, is_open BOOLEAN, "
            "is_short BOOLEAN, open_rate FLOAT, amount FLOAT, stake_amount FLOAT, "
            "stop_loss FLOAT, close_date DATETIME, close_profit_abs FLOAT)"
        )
        db.executemany(
            "INSERT INTO trades (pair, is_open, is_short, open_rate, amount, stake_amount, "
            "stop_loss, close_date, close_profit_abs) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?)",
            trades,
        )


def test_guard_status_when_no_bot_then_limits_and_todays_figures_from_the_trades_db(
    userdir, capsys
):
    from datetime import UTC, datetime, timedelta

    config = {"stake_currency": "USDT", "dry_run": True, "dry_run_wallet": 1000,
              "tradable_balance_ratio": 1.0,
              "profitguard": {"risk": {"max_daily_loss": 0.04}}}  # fmt: skip
    (userdir / "config.json").write_text(json.dumps(config))
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S.%f")
    trades_db(
        userdir.parent / "tradesv3.dryrun.sqlite",
        [
            ("BTC/USDT", 0, 100.0, 1.0, 100.0, 90.0, earlier, -30.0),
            ("ETH/USDT", 0, 100.0, 1.0, 100.0, 90.0, earlier, -20.0),
            ("SOL/USDT", 1, 10.0, 10.0, 100.0, 9.5, None, None),
        ],
    )

    assert guard("status") == 0

    out = capsys.readouterr().out
    assert "figures: none yet (no bot has written its status file here)" in out
    assert "computed now from the trades database tradesv3.dryrun.sqlite, 3 trades" in out
    assert "state REDUCING, equity 950.00 USDT" in out
    # today's realized loss: 50 of the 1000 the day started with, against the config's 4%
    assert re.search(r"DAILY_LOSS_LIMIT +loss=5\.0%, until=\S+ 00:00 UTC +4\.0% +NO", out)
    assert re.search(r"MAX_OPEN_POSITIONS +open=1 +5 +ok", out)
    assert "MIN_BALANCE" in out  # the USDT default, 100
    assert guard("status", "--json") == 0
    computed = json.loads(capsys.readouterr().out)["computed"]
    assert computed["state"] == "REDUCING"


def test_guard_status_when_bot_figures_older_than_a_few_loops_then_marked_stale(userdir, capsys):
    guard_store.write_json_atomic(
        userdir / STATUS_FILE,
        {"version": 1, "updated_at": "2024-03-13T15:00:00+00:00", "state": "ACTIVE",
         "equity": 1000.0, "checks": [], "last_entry": None, "refusals": {}, "checked": 0},
    )  # fmt: skip

    assert guard("status") == 0

    out = capsys.readouterr().out
    assert "STALE: the bot last wrote its figures" in out
    assert "more than 5 loops of 5 s" in out
    assert "computed now from the trades database" in out  # no trades yet: the limits
    assert guard("status", "--json") == 0
    assert json.loads(capsys.readouterr().out)["bot_stale"] is True


def test_guard_kill_when_the_database_cannot_be_read_then_warned_and_the_file_written(
    userdir, capsys
):
    url = f"sqlite:///{userdir / 'tradesv3.dryrun.sqlite'}"
    (userdir / "tradesv3.dryrun.sqlite").write_text("not a database")
    (userdir / "config.json").write_text(json.dumps({"stake_currency": "USDT", "db_url": url}))
    assert guard("kill", "--reason", "incident") == 0
    assert "warning: " in capsys.readouterr().err
    assert guard_store.read_state(userdir / GUARD_FILE).halted


@pytest.mark.parametrize("by", ["command", "dashboard"])
def test_guard_reset_when_the_database_cannot_be_read_then_refused_and_the_kill_kept(
    userdir, capsys, by
):
    """The command and the dashboard act through one `GuardAdmin`: a reset the trades
    database cannot record writes nothing (the bot would keep its kill switch on)."""
    url = f"sqlite:///{userdir / 'tradesv3.dryrun.sqlite'}"
    (userdir / "config.json").write_text(json.dumps({"stake_currency": "USDT", "db_url": url}))
    assert guard("kill", "--reason", "incident") == 0  # no database yet: the file alone
    (userdir / "tradesv3.dryrun.sqlite").write_text("not a database")
    if by == "command":
        assert guard("reset", "--confirm") == 2
        assert "the reset cannot be recorded; nothing written" in capsys.readouterr().err
    else:
        admin = guard_store.GuardAdmin(userdir / GUARD_FILE, url, identity_of({}, url).label)
        with pytest.raises(st.GuardActionError, match="the reset cannot be recorded"):
            admin.apply("reset", "", datetime.now(UTC))
        admin.close()
    assert guard_store.read_state(userdir / GUARD_FILE).halted
