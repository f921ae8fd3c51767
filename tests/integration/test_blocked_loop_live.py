"""A take-profit level the price reached while the bot's loop was blocked is taken (live).

The real `freqtrade trade` (dry_run false) against the offline exchange. Right after
the entry the bot's loop blocks (`BlockedLoop`: as a loop stuck on slow answers to
fee lookups does). The test holds the replay until the loop is blocked, lets it run
past TP1 and back below it, and only then unblocks the loop: the bot never sees a
price at TP1. The engine is shown the candles of the blocked stretch
(`unseen_feed`) and sells TP1 late, at the market price.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from profitguard.tooling.chaos.run_readers import (
    db_orders,
    db_trades,
    fetch_ledger,
    tagged_ledger_orders,
)
from profitguard.tooling.exchange.private import Credentials
from tests.exchange_fixtures import ReplayOptions, scripted_source

STRATEGIES = Path(__file__).parent / "strategies"
KEY, SECRET = "blocked-loop-key", "blocked-loop-secret"
PAIR = "RST/USDT"

pytestmark = pytest.mark.slow


def ramp(a: float, b: float, n: int) -> list[float]:
    return list(np.linspace(a, b, n + 1)[1:])


# Two candles a second. Entry at 100 with AlwaysIn's 2% stop (1R = 2): flat, then up
# past TP1 (2R = 104) to 105 (the ladder locks 1R, 102), back down to a plateau at 103
# (between the stop and TP1) for a minute, then down through the stop.
HISTORY = 60
RISE = 16  # the path's index where the rise starts (after the flat start)
PATH = [100.0] * RISE + ramp(100.0, 105.0, 8) + [105.0] * 6 + ramp(105.0, 103.0, 4)
PLATEAU = len(PATH) + HISTORY
PATH += [103.0] * 120 + ramp(103.0, 99.0, 8) + [99.0] * 60


def test_live_when_tp1_passed_while_the_loop_was_blocked_then_tp1_is_sold_late(
    offline_exchange, freqtrade_workspace
):
    replay = ReplayOptions(
        seconds_per_candle=0.5,
        timeframe="1m",
        sources={PAIR: scripted_source([100.0] * HISTORY + PATH, "1m", history=HISTORY)},
        held=True,  # AlwaysIn enters in its first loop: at the start of the path
    )
    exchange = offline_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 10_000.0}
    )
    ws = freqtrade_workspace(
        exchange, pairs=[PAIR], strategies=[STRATEGIES / "AlwaysIn.py",
                                            STRATEGIES / "BlockedLoop.py"],
        timeframe="1m", max_open_trades=1, dry_run=False, key=KEY, secret=SECRET,
        dry_run_wallet=10_000, internals={"process_throttle_secs": 1}, stake_amount=1000,
        order_types={
            "entry": "market", "exit": "market", "emergency_exit": "market",
            "force_entry": "market", "force_exit": "market", "stoploss": "limit",
            "stoploss_on_exchange": False,
        },
    )  # fmt: skip
    api, pace = exchange.api, exchange.api.pace
    blocked, unblock = ws.userdir / "blocked", ws.userdir / "unblock"
    seen: list[float] = []  # the prices while the loop was blocked

    def price() -> float:
        return float(api.feed.last_price(PAIR, api.clock()))

    def step() -> bool:
        """The test's clock: hold the replay from the entry until the loop is blocked,
        run it past TP1 and down to the plateau, then unblock the loop. Done once TP1
        sold or the trade closed."""
        trades = db_trades(ws.db_path)
        if trades and not blocked.exists() and not pace.held and not seen:
            pace.hold(api.clock(), release_on_price=False)  # flat until the loop blocks
        if blocked.exists() and not unblock.exists():
            if pace.held:
                pace.release(api.clock())
            seen.append(price())
            if max(seen) >= 105.0 and seen[-1] <= 103.0:
                unblock.write_text(str(time.time()))
        # a sale the bot has recorded (the tag is the database's): stopping the bot as
        # soon as the ledger shows it could cut its answer off
        sold = [
            o
            for o in tagged_ledger_orders(fetch_ledger(exchange.url), db_orders(ws.db_path))
            if o["side"] == "sell" and o["fills"] and o["tag"] is not None
        ]
        return bool(sold) or (bool(trades) and not trades[0]["is_open"])

    run = ws.run_until("trade", "--strategy", "BlockedLoop", until=step, timeout=150, poll=0.2)
    assert unblock.exists(), run.stdout[-4000:]
    assert max(seen) >= 105.0 and min(seen) > 99.0, seen  # TP1 passed while blocked
    orders = tagged_ledger_orders(fetch_ledger(exchange.url), db_orders(ws.db_path))
    entry = next(o for o in orders if o["side"] == "buy")
    sales = [o for o in orders if o["side"] == "sell" and o["fills"]]
    assert sales, run.stdout[-4000:]
    tp1 = sales[0]
    # the first sale is TP1, half the position, sold late at the plateau (below TP1's
    # price: the market price when the bot looked again), recorded with its tag
    assert (tp1["tag"], tp1["client_tag"]) == ("tp1", "tp1"), (tp1, run.stdout[-4000:])
    bought = sum(f["amount"] - f["fee"] for f in entry["fills"])
    sold = sum(f["amount"] for f in tp1["fills"])
    assert sold == pytest.approx(bought / 2, abs=0.01)
    assert all(102.0 < f["price"] < 104.0 for f in tp1["fills"]), tp1["fills"]
    assert "the bot did not look at shown late" in run.stdout
    assert "Traceback" not in run.running
