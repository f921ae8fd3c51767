"""The futures sample in `freqtrade trade --dry-run` (trading_mode futures, isolated
margin, 3x) against the exchange's live replay of /fapi: it opens a short and
manages it: TP1 and TP2 as the price falls, the stop moved down the ladder, TP3."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from tests.exchange_fixtures import ReplayOptions, dry_run_trades, scripted_source

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = [
    Path(__file__).parent / "strategies" / "AlwaysShort.py",
    ROOT / "user_data" / "strategies" / "ProfitGuardFuturesSample.py",
]
PAIR = "BTC/USDT:USDT"  # a pair Freqtrade's cached leverage tiers know

pytestmark = pytest.mark.slow


def ramp(a: float, b: float, n: int) -> list[float]:
    return list(np.linspace(a, b, n + 1)[1:])


# Short near 100 with a 2% stop: 1R ~ 2, TP1 ~ 96, TP2 ~ 94, TP3 ~ 92.
PATH = (
    [100.0] * 121  # history, then the bot enters
    + [100.0] * 15
    + ramp(100.0, 95.0, 15)  # past TP1; the trough passes 2R: stop down to 1R (~98)
    + [95.0] * 20
    + ramp(95.0, 93.5, 8)  # past TP2 (3R): stop 1.5R (~97)
    + [93.5] * 15
    + ramp(93.5, 91.0, 8)  # past TP3 (4R): all closed
    + [91.0] * 60
)


def exit_orders(ws, trade_id: int) -> list[dict]:
    with sqlite3.connect(ws.db_path, timeout=5) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT ft_order_side, ft_order_tag, status, filled, average FROM orders "
            "WHERE ft_trade_id = ? AND ft_order_side = 'buy' ORDER BY id",
            (trade_id,),
        )
        return [dict(r) for r in rows]


def test_dry_run_when_price_falls_then_short_takes_tp1_tp2_tp3_and_stop_moves_down(
    offline_exchange, freqtrade_workspace
):
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={PAIR: scripted_source(PATH, "1m", history=120)},
        held=True,  # until the bot's first price request: it enters at the start
    )
    exchange = offline_exchange(replay=replay)
    ws = freqtrade_workspace(
        exchange,
        pairs=[PAIR],
        strategies=STRATEGIES,
        timeframe="1m",
        max_open_trades=1,
        stake_amount=300,
        dry_run_wallet=10_000,
        trading_mode="futures",
        internals={"process_throttle_secs": 1},
    )
    seen_stops: list[float] = []

    def first_closed() -> bool:
        trades = dry_run_trades(ws)
        if trades and trades[0]["is_open"] and trades[0]["stop_loss"]:
            seen_stops.append(trades[0]["stop_loss"])
        return bool(trades) and not trades[0]["is_open"]

    run = ws.run_until("trade", "--strategy", "AlwaysShort", until=first_closed, timeout=240)
    assert first_closed(), run.stdout[-4000:]
    assert "Traceback" not in run.running, run.running[-4000:]
    trade = dry_run_trades(ws)[0]
    assert trade["is_short"] and trade["leverage"] == 3.0
    assert trade["trading_mode"] == "FUTURES"
    entry = trade["open_rate"]
    orders = [o for o in exit_orders(ws, trade["id"]) if o["status"] == "closed"]
    assert [o["ft_order_tag"] for o in orders] == ["tp1", "tp2", "tp3"]
    assert [o["average"] < entry for o in orders] == [True, True, True]
    # the stop sat above the entry (the initial 2%; before the fill was seen, Freqtrade's
    # -10% backstop at 3x) and the ladder moved it down past the entry, never back up
    assert any(stop == pytest.approx(entry * 1.02, rel=2e-3) for stop in seen_stops)
    assert min(seen_stops) <= entry - 0.99 * 0.02 * entry  # at least 1R locked
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(seen_stops))
    stats = exchange.stats()
    assert stats["unserved"] == {}, stats["unserved"]
    # Freqtrade read the funding it charges from the mark klines and the funding history
    assert {"GET /fapi/v1/markPriceKlines", "GET /fapi/v1/fundingRate"} <= set(stats["hits"])
