"""The kill switch from another process: `profitguard guard kill` against a running
`freqtrade trade --dry-run` on the exchange's live replay, then `reset --confirm`.

The bot (always in the market; three pairs, two trade slots) holds two trades;
`guard kill` makes it exit both at its next loop (exit reason `kill_switch`) and
refuse the entry the freed slot lets the third pair try; `guard status` shows it;
`guard reset --confirm` lets it trade again.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from profitguard.tooling.chaos.run_readers import db_orders
from tests.exchange_fixtures import ReplayOptions, dry_run_trades, scripted_source

STRATEGIES = Path(__file__).parent / "strategies"
PAIRS = ["KIL/USDT", "SWT/USDT", "WAI/USDT"]

pytestmark = pytest.mark.slow


def guard(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "profitguard", "guard", *args, "--config", "user_data/config.json"],
        cwd=ws.userdir.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )


def bot_files(ws):
    """The identity the workspace's bot keys its guard and status files by."""
    from profitguard.bot_identity import identity_of
    from profitguard.tooling.exchange.freqtrade_config import load_json_config

    return identity_of(load_json_config(ws.config))


def orders(ws) -> list[dict]:
    """Orders in the workspace's dry-run database, SQLite or PostgreSQL (empty if not
    readable yet)."""
    return db_orders(ws.db_url)


def flat_replay() -> ReplayOptions:
    path = [100.0] * 121 + [100.0 + 0.01 * (i % 3) for i in range(600)]
    return ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={pair: scripted_source(path, "1m", history=120) for pair in PAIRS},
    )


ORDER_TYPES_LIMIT_EXITS = {
    "entry": "market",
    "exit": "limit",
    "emergency_exit": "market",
    "stoploss": "market",
    "stoploss_on_exchange": False,
}


def limit_exit_workspace(offline_exchange, freqtrade_workspace, pairs, **config):
    """Market entries, LIMIT exits at the same side of the book (a sell at the ask rests
    in a flat market), two trade slots, one-second loops."""
    return freqtrade_workspace(
        offline_exchange(replay=flat_replay()),
        pairs=pairs,
        strategies=[STRATEGIES / "AlwaysIn.py"],
        timeframe="1m",
        max_open_trades=2,
        stake_amount=500,
        dry_run_wallet=10_000,
        internals={"process_throttle_secs": 1},
        market_orders=False,
        entry_pricing={"price_side": "other", "use_order_book": True, "order_book_top": 1},
        order_types=ORDER_TYPES_LIMIT_EXITS,
        **config,
    )


def refused(ws, rule: str) -> bool:
    """The bot's status file counts a refusal by `rule`."""
    try:
        status = json.loads(bot_files(ws).status_path(ws.userdir).read_text())
    except (FileNotFoundError, ValueError):
        return False
    return status["refusals"].get(rule, 0) >= 1


def refused_by_kill_switch(ws) -> bool:
    """The bot's status file counts a KILL_SWITCH refusal."""
    return refused(ws, "KILL_SWITCH")


def test_guard_kill_when_bot_holds_trades_then_all_exit_entries_stop_until_reset(
    offline_exchange, freqtrade_workspace
):
    path = [100.0] * 121 + [100.0 + 0.01 * (i % 3) for i in range(600)]
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={pair: scripted_source(path, "1m", history=120) for pair in PAIRS},
    )
    ws = freqtrade_workspace(
        offline_exchange(replay=replay),
        pairs=PAIRS,
        strategies=[STRATEGIES / "AlwaysIn.py"],
        timeframe="1m",
        max_open_trades=2,
        stake_amount=500,
        dry_run_wallet=10_000,
        internals={"process_throttle_secs": 1},
    )
    seen: dict = {}

    def step() -> bool:
        """Drive the scenario from outside the bot; True when it is over."""
        trades = dry_run_trades(ws)
        open_ = [t for t in trades if t["is_open"]]
        if "killed" not in seen:
            if len(open_) == 2:
                seen["held"] = [t["id"] for t in open_]
                seen["kill"] = guard(ws, "kill", "--reason", "test drill")
                seen["killed"] = time.monotonic()
            return False
        if "reset" not in seen:
            held = [t for t in trades if t["id"] in seen["held"]]
            if any(t["is_open"] for t in held):
                return False
            seen.setdefault("all_out", time.monotonic())
            if not refused_by_kill_switch(ws):  # the third pair tries a freed slot
                return False
            seen["trades_while_halted"] = len(trades)
            seen["status"] = guard(ws, "status")
            seen["reset_at"] = datetime.now(UTC)
            seen["reset"] = guard(ws, "reset", "--confirm")
            return False
        return len(trades) > seen["trades_while_halted"]  # trading again

    result = ws.run_until("trade", "--strategy", "AlwaysIn", until=step, timeout=240)
    log = result.stdout
    assert "reset" in seen, (seen, log[-4000:])
    assert seen["kill"].returncode == 0, seen["kill"].stderr
    assert "switches HALTED" in seen["kill"].stdout

    trades = dry_run_trades(ws)
    killed = [t for t in trades if t["id"] in seen["held"]]
    assert [t["exit_reason"] for t in killed] == ["kill_switch", "kill_switch"]
    assert seen["all_out"] - seen["killed"] < 20  # out within a few one-second loops

    status = seen["status"].stdout
    assert seen["status"].returncode == 0, seen["status"].stderr
    assert "switches: HALTED" in status
    assert "kill switch: ON since" in status and "test drill" in status
    assert "bot state HALTED" in status
    assert "KILL_SWITCH" in status
    assert "entry refused for" in log and "KILL_SWITCH: on=yes, reason=test drill" in log
    assert seen["trades_while_halted"] == len(killed)  # no entry while the switch was on

    assert seen["reset"].returncode == 0, seen["reset"].stderr
    assert len(trades) > len(killed), log[-4000:]  # entries again after the reset
    reopened = [t for t in trades if t["id"] not in seen["held"]]
    opened = datetime.fromisoformat(reopened[0]["open_date"]).replace(tzinfo=UTC)
    assert opened >= seen["reset_at"].replace(microsecond=0)
    assert "Traceback" not in result.running


def test_guard_kill_when_exits_are_limit_orders_then_kill_exits_are_market_orders(
    offline_exchange, freqtrade_workspace
):
    ws = limit_exit_workspace(offline_exchange, freqtrade_workspace, PAIRS[:2])
    seen: dict = {}

    def step() -> bool:
        open_ = [t for t in dry_run_trades(ws) if t["is_open"]]
        if "kill" not in seen:
            if len(open_) == 2:
                seen["held"] = [t["id"] for t in open_]
                seen["kill"] = guard(ws, "kill", "--reason", "drill")
                seen["at"] = time.monotonic()
            return False
        kills = [o for o in orders(ws) if o["ft_order_tag"] == "kill_switch"]
        if any(o["order_type"] != "market" for o in kills):
            return time.monotonic() - seen["at"] > 10  # a resting limit kill: seen enough
        return not open_

    result = ws.run_until("trade", "--strategy", "AlwaysIn", until=step, timeout=180)
    assert "kill" in seen, result.stdout[-4000:]
    kills = [o for o in orders(ws) if o["ft_order_tag"] == "kill_switch"]
    assert sorted(o["ft_trade_id"] for o in kills) == sorted(seen["held"])  # one each
    assert {o["order_type"] for o in kills} == {"market"}
    assert {o["status"] for o in kills} == {"closed"}
    trades = dry_run_trades(ws)
    assert [t["exit_reason"] for t in trades if t["id"] in seen["held"]] == ["kill_switch"] * 2
    assert len(trades) == 2  # no entry while the switch is on
    assert "Traceback" not in result.running


def loop_at(log: str, position: int) -> int:
    """The bot loop running at ``position`` of ``log``: the number of the last
    "AlwaysIn: bot loop N" line before it (0 before the first loop)."""
    starts = [(m.start(), int(m.group(1))) for m in re.finditer(r"AlwaysIn: bot loop (\d+)", log)]
    return max((n for at, n in starts if at < position), default=0)


@pytest.mark.parametrize("breakage", ["deleted", "torn", "deleted-on-postgresql"])
def test_guard_kill_when_file_lost_while_the_bot_was_down_then_restart_exits_all_at_market(
    offline_exchange, freqtrade_workspace, breakage, request
):
    """Kill written while the bot was down, then the guard file deleted or torn: the
    copy in the trades database (SQLite, or PostgreSQL as the bot's `db_url`) keeps the
    switch on. Within the restarted bot's first two loops every trade exits with a
    market order; no entry gets through."""
    config = {}
    if breakage.endswith("postgresql"):
        config["db_url"] = request.getfixturevalue("postgresql").new_database()
    ws = limit_exit_workspace(offline_exchange, freqtrade_workspace, PAIRS, **config)

    def two_open() -> bool:
        return len([t for t in dry_run_trades(ws) if t["is_open"]]) == 2

    first = ws.run_until("trade", "--strategy", "AlwaysIn", until=two_open, timeout=120)
    held = [t["id"] for t in dry_run_trades(ws) if t["is_open"]]
    assert len(held) == 2, first.stdout[-4000:]
    killed = guard(ws, "kill", "--reason", "while down")
    assert killed.returncode == 0, killed.stderr
    guard_file = bot_files(ws).guard_path(ws.userdir)
    if breakage.startswith("deleted"):
        guard_file.unlink()
    else:
        guard_file.write_text(guard_file.read_text()[:25])  # torn mid-write

    def out_and_refused() -> bool:
        trades = dry_run_trades(ws)
        return not any(t["is_open"] for t in trades) and refused(ws, "GUARD_STATE_UNREADABLE")

    second = ws.run_until("trade", "--strategy", "AlwaysIn", until=out_and_refused, timeout=120)
    log = second.running
    trades = dry_run_trades(ws)
    assert [t["id"] for t in trades] == held, log[-4000:]  # no entry got through
    assert [t["exit_reason"] for t in trades] == ["kill_switch", "kill_switch"]
    kills = [o for o in orders(ws) if o["ft_order_tag"] == "kill_switch"]
    assert sorted(o["ft_trade_id"] for o in kills) == sorted(held)
    assert {(o["order_type"], o["status"]) for o in kills} == {("market", "closed")}
    exiting = [log.index(f"exiting {t['pair']} (trade {t['id']})") for t in trades]
    # each exit in the loop whose start the strategy logged last before it: loop 1 or 2
    assert [loop_at(log, at) for at in exiting] in ([1, 1], [1, 2], [2, 1], [2, 2]), log[-4000:]
    assert "Traceback" not in log
