"""The small things a new user meets first: default config, closed pipes, the status
page's age, `compare` without data."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from profitguard import guard_store
from profitguard.bot_identity import identity_of
from profitguard.cli import CLOSED_PIPE_STATUS, main
from profitguard.risk.gate_text import ago

REPO = Path(__file__).resolve().parents[2]


def test_guard_when_no_config_given_then_user_data_config_json_as_freqtrade(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "user_data").mkdir()
    config = {"stake_currency": "USDT", "bot_name": "mine"}
    (tmp_path / "user_data" / "config.json").write_text(json.dumps(config))
    assert main(["guard", "kill", "--reason", "drill"]) == 0
    path = identity_of(config).guard_path(tmp_path / "user_data")
    assert path.name == "profitguard-mine-guard.json" and guard_store.read_state(path).halted


def test_guard_status_when_its_reader_closes_the_pipe_then_ends_quietly(tmp_path):
    (tmp_path / "user_data").mkdir()
    (tmp_path / "user_data" / "config.json").write_text('{"stake_currency": "USDT"}')
    proc = subprocess.Popen(
        [sys.executable, "-m", "profitguard", "guard", "status"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # `| head -0`: gone before the first line is written
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(60) == CLOSED_PIPE_STATUS
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_ago_when_the_stamp_is_this_second_or_a_little_ahead_then_just_now():
    assert [ago(s) for s in (-0.4, -3.0, 0.0, 0.6, 1.0, 12.4)] == [
        "just now", "just now", "just now", "just now", "1 s ago", "12 s ago"
    ]  # fmt: skip


def test_compare_when_no_candles_then_says_how_to_get_them(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "user_data" / "strategies", tmp_path / "user_data" / "strategies")
    shutil.copy(REPO / "user_data" / "config.json", tmp_path / "user_data" / "config.json")
    assert main(["compare"]) == 2
    err = capsys.readouterr().err
    assert "no 5m candles in " in err and "for BTC/USDT, ETH/USDT, SOL/USDT" in err
    assert "`profitguard data generate` writes the demo's" in err


class FakeReplay:
    mode = "replay"

    def __init__(self, t0: datetime, prices: dict[str, float]) -> None:
        self.t0_ms = int(t0.timestamp() * 1000)
        self.prices = prices

    def last_price(self, pair: str, now_ms: int) -> float | None:
        return self.prices.get(pair)


def trades_db(path: Path, rows: list[tuple]) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE trades (id INTEGER, pair TEXT, open_date DATETIME, "
                   "open_rate FLOAT, is_open BOOLEAN)")  # fmt: skip
        db.executemany("INSERT INTO trades VALUES (?, ?, ?, ?, ?)", rows)
        db.commit()


def test_offline_when_dry_run_restarts_on_open_trades_older_than_the_replay_then_warns(tmp_path):
    from profitguard.commands.offline import restart_warning

    db = tmp_path / "tradesv3.dryrun.sqlite"
    trades_db(db, [(1, "BTC/USDT", "2026-01-01 10:00:00.123000", 100.0, 1),
                   (2, "ETH/USDT", "2026-01-01 10:05:00", 50.0, 0),  # closed
                   (3, "SOL/USDT", "2026-01-01 12:30:00", 20.0, 1)])  # fmt: skip
    config = {"dry_run": True, "db_url": f"sqlite:///{db}"}
    replay = FakeReplay(datetime(2026, 1, 1, 12, 0, tzinfo=UTC), {"BTC/USDT": 95.86})

    assert restart_warning(config, replay) == (
        f"profitguard offline: warning: {db} holds 1 open trade(s) from before this replay, "
        "which starts over from its first candles: BTC/USDT trade 1 opened 2026-01-01 10:00 at "
        "100, replay now at 95.86 (-4.1%). Their stops and targets will meet the replay's "
        "prices, not the ones they were opened at; a fresh db_url avoids it"
    )
    later = FakeReplay(datetime(2026, 1, 1, 9, 0, tzinfo=UTC), {})
    assert restart_warning(config, later) is None  # every open trade is this replay's
    assert restart_warning({"db_url": f"sqlite:///{tmp_path / 'none.sqlite'}"}, replay) is None
