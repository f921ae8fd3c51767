"""ProfitGuardStrategy in `freqtrade trade --dry-run` against the exchange's live replay.

A restart in the middle of a ladder loses nothing and repeats nothing: the bot is
stopped once TP1 has filled and started again; it goes on with TP2 and the stop
the ladder reached, and never sends TP1 twice.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from profitguard.report.records import load_db
from profitguard.tooling.exchange.markets import min_notional_for_quote, step_size
from profitguard.trades_db import TradesDatabase
from tests.exchange_fixtures import ReplayOptions, dry_run_trades, scripted_source

STRATEGIES = Path(__file__).parent / "strategies"

pytestmark = pytest.mark.slow


def ramp(a: float, b: float, n: int) -> list[float]:
    return list(np.linspace(a, b, n + 1)[1:])


# Entry near 100 with a 2% initial stop: 1R ~ 2, TP1 ~ 104, TP2 ~ 106, TP3 ~ 108.
# The replay is held while the bot starts and while it restarts (it runs again at the
# bot's first price request), so the plateaus need not outlast a start-up.
PATH = (
    [100.0] * 121  # history, then the bot enters
    + [100.0] * 8
    + ramp(100.0, 105.0, 25)  # past TP1; the peak passes 2R: stop 1R (~102)
    + [105.0] * 20  # the replay is held here and the bot restarted
    + ramp(105.0, 106.8, 9)  # past TP2 (3R): stop 1.5R (~103)
    + [106.8] * 25
    + ramp(106.8, 102.6, 21)  # down through the stop at 1.5R (~103) ...
    + [102.6] * 40  # ... to a plateau above 1R (~102): a late loop still exits here
    + ramp(102.6, 100.0, 13)
    + [100.0] * 60
)


def _rows(ws, sql: str, **params) -> list[dict]:
    db = TradesDatabase(ws.db_url)  # SQLite or PostgreSQL, as the bot's config says
    try:
        return db.rows(sql, params)
    finally:
        db.close()


def exit_orders(ws, trade_id: int) -> list[dict]:
    return _rows(
        ws,
        "SELECT ft_order_side, ft_order_tag, status, filled, average, price FROM orders "
        "WHERE ft_trade_id = :trade AND ft_order_side = 'sell' ORDER BY id",
        trade=trade_id,
    )


def custom_data(ws, trade_id: int) -> dict:
    (row,) = _rows(
        ws,
        "SELECT cd_value FROM trade_custom_data "
        "WHERE ft_trade_id = :trade AND cd_key = 'profitguard'",
        trade=trade_id,
    )
    return json.loads(row["cd_value"])


def clear_exit_tags(ws, trade_id: int) -> None:
    """What Freqtrade records for an exchange order it recovers after a crash: no tag."""
    from sqlalchemy import text

    db = TradesDatabase(ws.db_url)
    try:
        with db.engine().begin() as conn:
            conn.execute(
                text(
                    "UPDATE orders SET ft_order_tag = NULL "
                    "WHERE ft_trade_id = :trade AND ft_order_side = 'sell'"
                ),
                {"trade": trade_id},
            )
    finally:
        db.close()


@pytest.mark.parametrize(
    ("tag_lost", "database"),
    [(False, "sqlite"), (True, "sqlite"), (False, "postgresql")],
    ids=["tagged", "tag-lost-while-down", "tagged-on-postgresql"],
)
def test_dry_run_when_restarted_after_tp1_then_tp2_and_stop_follow_and_tp1_never_repeats(
    offline_exchange, freqtrade_workspace, tag_lost, database, request, tmp_path
):
    """On PostgreSQL too (the bot's `db_url`): the restart, and afterwards `report
    --db` on it gives the same R as on its SQLite twin (Freqtrade's `convert-db`)."""
    db_url = {}
    if database == "postgresql":
        db_url = {"db_url": request.getfixturevalue("postgresql").new_database()}
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={"RST/USDT": scripted_source(PATH, "1m", history=120)},
        held=True,
    )
    exchange = offline_exchange(replay=replay)
    ws = freqtrade_workspace(
        exchange,
        pairs=["RST/USDT"],
        strategies=[STRATEGIES / "AlwaysIn.py"],
        timeframe="1m",
        max_open_trades=1,
        stake_amount=1000,
        dry_run_wallet=10_000,
        internals={"process_throttle_secs": 1},
        **db_url,
    )

    def tp1_filled() -> bool:
        trades = dry_run_trades(ws)
        return bool(trades) and any(
            o["ft_order_tag"] == "tp1" and o["status"] == "closed"
            for o in exit_orders(ws, trades[0]["id"])
        )

    def ladder_moved_then_hold() -> bool:
        """TP1 filled and the stop at 1R in the database: the replay is held (until the
        restarted bot's first look at the price) and the bot is stopped."""
        if not tp1_filled():
            return False
        trade = dry_run_trades(ws)[0]
        risk = trade["open_rate"] - custom_data(ws, trade["id"])["initial_stop"]
        if trade["stop_loss"] < trade["open_rate"] + risk * 0.99:
            return False
        exchange.hold_replay()
        return True

    first = ws.run_until(
        "trade", "--strategy", "AlwaysIn", until=ladder_moved_then_hold, timeout=150
    )
    assert tp1_filled(), first.stdout[-4000:]
    trade = dry_run_trades(ws)[0]
    assert trade["is_open"]
    state = custom_data(ws, trade["id"])
    entry = trade["open_rate"]
    assert state["initial_stop"] == pytest.approx(entry * 0.98)
    assert state["best"] >= entry + 2 * (entry - state["initial_stop"])  # past 2R
    assert trade["stop_loss"] >= entry + (entry - state["initial_stop"]) * 0.99  # 1R

    if tag_lost:  # the amount, not the tag, says TP1 is done
        clear_exit_tags(ws, trade["id"])

    def first_trade_closed() -> bool:
        return not dry_run_trades(ws)[0]["is_open"]

    second = ws.run_until("trade", "--strategy", "AlwaysIn", until=first_trade_closed, timeout=200)
    assert first_trade_closed(), second.stdout[-4000:]
    assert "Traceback" not in first.running + second.running
    # default settings: Freqtrade's trade copy untouched by profitguard (AlwaysIn's probe)
    assert (ws.userdir / "deepcopy-intact.txt").read_text() == "True"

    trade = dry_run_trades(ws)[0]
    orders = [o for o in exit_orders(ws, trade["id"]) if o["status"] == "closed"]
    tags = [o["ft_order_tag"] for o in orders]
    assert tags[:2] == [None if tag_lost else "tp1", "tp2"], tags
    assert tags.count("tp1") == (0 if tag_lost else 1)
    assert len(tags) == 3 and tags[2] in ("stop_loss", "trailing_stop_loss", "stop")
    amount = trade["amount"] + sum(o["filled"] for o in orders[:2])  # amount is what was left
    step = step_size(100.0, min_notional_for_quote("USDT"))  # the exchange's lot step here
    # each level closes its cumulative share, on the step (50%, then 75% of the amount)
    tp1, upto_tp2 = (math.floor(amount * f / step + 1e-9) * step for f in (0.5, 0.75))
    tp2 = upto_tp2 - tp1
    assert [o["filled"] for o in orders] == pytest.approx([tp1, tp2, amount - tp1 - tp2])
    risk = entry - state["initial_stop"]
    stop_15r = entry + 1.5 * risk
    # The bot polls once a second while the price falls 0.2 a candle, so the stop
    # fills between the 1.5R stop and the plateau below it; a stop that fell back
    # to 1R (or breakeven) would only fill on the later slide, below entry + 1.3R.
    assert entry + 1.3 * risk <= orders[2]["average"] <= stop_15r + 0.1
    if database == "postgresql":
        assert ws.db_url.startswith("postgresql+psycopg://")
        twin = tmp_path / "twin.sqlite"
        converted = subprocess.run(
            [sys.executable, "-m", "freqtrade", "convert-db", "--db-url-from", ws.db_url,
             "--db-url", f"sqlite:///{twin}"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert converted.returncode == 0, converted.stdout[-2000:] + converted.stderr[-2000:]
        on_postgres, on_sqlite = load_db(ws.db_url), load_db(twin)
        assert len(on_postgres) == 1
        assert [t.r for t in on_postgres] == [t.r for t in on_sqlite]
        assert on_postgres == on_sqlite
