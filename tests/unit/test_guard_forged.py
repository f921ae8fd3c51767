"""Only `profitguard guard reset --confirm` lifts a kill switch.

The command records the reset in the bot's trades database before it writes the
guard file; a file that claims a reset the database has no record of (written by
hand, restored, or copied from another bot) lifts nothing: the bot logs why and
keeps the switch on.
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from freqtrade.exceptions import OperationalException

from profitguard import guard_store
from profitguard.bot_identity import identity_of
from profitguard.cli import main
from profitguard.guard_store import GuardCopy
from profitguard.risk import state as st
from tests.unit.test_risk_gate import confirm, open_trade, started

NOW_UTC = datetime(2024, 3, 13, 15, 0, tzinfo=UTC)


def command(tmp_path, *args: str, db_url: str) -> int:
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        return main(["guard", *args, "--userdir", str(tmp_path), "--db-url", db_url])


def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'tradesv3.dryrun.sqlite'}"  # the test bot's (`started`)


def killed_bot(tmp_path):
    """A dry-run bot holding a trade, killed by the real command, seen by the bot."""
    bot = started(tmp_path)
    open_trade(1, "BTC/USDT")
    assert command(tmp_path, "kill", "--reason", "drill", db_url=db_url(tmp_path)) == 0
    assert bot._pg_gate.halted()
    return bot


def forged(path, **values) -> None:
    """A guard file written by hand: the kill switch off, a reset claimed a day ahead."""
    ahead = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    data = {"version": 1, "halted": False, "paused": False, "reset_at": ahead,
            "updated_at": ahead} | values  # fmt: skip
    path.write_text(json.dumps(data))


def test_guard_file_when_forged_to_claim_a_reset_then_the_restarted_bot_stays_halted(
    tmp_path, caplog
):
    bot = killed_bot(tmp_path)
    path = bot._pg_gate.guard_file.path
    bot_label = bot._pg_gate.guard_file.bot
    forged(path, bot=bot_label)  # the bot stopped; the file rewritten by hand

    restarted = started(tmp_path)

    assert restarted._pg_gate.halted()
    assert "claims a reset at" in caplog.text and "the database has no record of" in caplog.text
    assert "it stays on" in caplog.text
    recorded = GuardCopy(db_url(tmp_path)).load()
    assert recorded.halted and recorded.reset_at is None  # the claim was not recorded either


def test_guard_file_when_forged_without_naming_a_bot_then_it_lifts_nothing(tmp_path):
    bot = killed_bot(tmp_path)
    forged(bot._pg_gate.guard_file.path)
    assert started(tmp_path)._pg_gate.halted()


def test_guard_file_when_forged_while_the_bot_runs_then_it_stays_halted(tmp_path):
    bot = killed_bot(tmp_path)
    forged(bot._pg_gate.guard_file.path, bot=bot._pg_gate.guard_file.bot)
    assert bot._pg_gate.halted()


def test_guard_reset_confirm_when_run_then_recorded_first_and_the_switch_lifts(tmp_path):
    bot = killed_bot(tmp_path)
    assert command(tmp_path, "reset", "--confirm", db_url=db_url(tmp_path)) == 0
    assert not bot._pg_gate.halted()
    recorded = GuardCopy(db_url(tmp_path)).load()
    assert not recorded.halted and recorded.reset_at is not None
    assert not started(tmp_path)._pg_gate.halted()


def test_guard_file_when_copied_from_another_bot_then_the_bot_refuses_to_start(tmp_path):
    killed_bot(tmp_path)
    other = identity_of({"bot_name": "other", "db_url": "sqlite:///other.sqlite"})
    reset = st.reset(st.GuardState(bot=other.label), datetime.now(UTC) + timedelta(days=1))
    mine = identity_of({"db_url": db_url(tmp_path)}).guard_path(tmp_path)
    guard_store.write_state(mine, reset)  # the other bot's file, copied over this one's

    with pytest.raises(OperationalException, match="written for another bot") as raised:
        started(tmp_path)
    assert "bot_name='other'" in str(raised.value) and str(mine) in str(raised.value)


def test_guard_file_when_copied_from_another_bot_while_running_then_it_stays_halted(
    tmp_path, caplog
):
    bot = killed_bot(tmp_path)
    other = identity_of({"bot_name": "other", "db_url": "sqlite:///other.sqlite"})
    guard_store.write_state(bot._pg_gate.guard_file.path, st.reset(st.GuardState(bot=other.label),
                                                          datetime.now(UTC)))  # fmt: skip
    assert bot._pg_gate.halted()
    assert isinstance(bot._pg_gate.guard(), st.GuardStateError)
    assert confirm(bot) is False


def test_start_when_the_shared_guard_file_of_earlier_versions_is_there_then_warns(tmp_path, caplog):
    guard_store.write_state(
        tmp_path / guard_store.SHARED_GUARD_FILE, st.kill(st.GuardState(), "old", NOW_UTC)
    )
    bot = started(tmp_path)
    assert not bot._pg_gate.halted()  # no longer read: this bot's own file is
    assert f"{tmp_path / guard_store.SHARED_GUARD_FILE} is no longer read" in caplog.text
    assert bot._pg_gate.guard_file.path.name == "profitguard-tradesv3.dryrun-guard.json"
