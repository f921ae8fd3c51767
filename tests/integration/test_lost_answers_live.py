"""An order whose answer is lost is found by its client id and placed once (live).

The real `freqtrade trade` (dry_run false) against the offline exchange, with a fault
file that drops the answers to the first three order requests: the entry, the first
take-profit and the stop exit. The exchange executes each one and cuts its answer
off half-way, as a connection that breaks after the exchange accepted the order.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from profitguard.freqtrade.client_ids import tag_of
from profitguard.tooling.chaos.run_readers import (
    db_orders,
    db_trades,
    fetch_ledger,
    tagged_ledger_orders,
)
from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.private import Credentials
from tests.exchange_fixtures import ReplayOptions, scripted_source

ALWAYS_IN = Path(__file__).parent / "strategies" / "AlwaysIn.py"
KEY, SECRET = "lost-answer-key", "lost-answer-secret"

pytestmark = pytest.mark.slow


def ramp(a: float, b: float, n: int) -> list[float]:
    return list(np.linspace(a, b, n + 1)[1:])


# Two candles a second. Entry near 100 with a 2% stop (1R ~ 2): flat while the bot
# starts, up past TP1 (2R ~ 104), then down to a plateau below the 1R stop the ladder
# locked at 2R, where the bot exits the rest.
HISTORY = 60
PATH = [100.0] * (HISTORY + 80) + ramp(100.0, 105.0, 10) + [105.0] * 16
PATH += ramp(105.0, 101.0, 6) + [101.0] * 80


def test_live_when_answers_to_entry_tp1_and_stop_lost_then_each_order_once_and_recorded(
    offline_exchange, freqtrade_workspace, tmp_path
):
    fault_file = tmp_path / "lost-answers.json"
    fault_file.write_text(
        json.dumps(
            {"seed": 3, "faults": [{"kind": "drop", "endpoint": "POST /api/v3/order", "count": 3}]}
        )
    )
    plan = FaultPlan.from_file(fault_file)
    replay = ReplayOptions(
        seconds_per_candle=0.5,
        timeframe="1m",
        sources={"RST/USDT": scripted_source(PATH, "1m", history=HISTORY)},
    )
    exchange = offline_exchange(
        replay=replay,
        credentials=Credentials(KEY, SECRET),
        balances={"USDT": 10_000.0},
        faults=plan,
    )
    ws = freqtrade_workspace(
        exchange, pairs=["RST/USDT"], strategies=[ALWAYS_IN], timeframe="1m",
        max_open_trades=1, dry_run=False, key=KEY, secret=SECRET, dry_run_wallet=10_000,
        internals={"process_throttle_secs": 1}, stake_amount=1000,
        order_types={
            "entry": "market", "exit": "market", "emergency_exit": "market",
            "force_entry": "market", "force_exit": "market", "stoploss": "limit",
            "stoploss_on_exchange": False,
        },
    )  # fmt: skip

    def first_trade_closed() -> bool:
        trades = db_trades(ws.db_path)
        return bool(trades) and not trades[0]["is_open"]

    run = ws.run_until("trade", "--strategy", "AlwaysIn", until=first_trade_closed, timeout=150)
    assert first_trade_closed(), run.stdout[-4000:]
    assert plan.injected["drop"] == 3, plan.log  # the three answers were lost
    assert run.stdout.count("found on the exchange by its client id") == 3, run.stdout[-4000:]

    orders = tagged_ledger_orders(fetch_ledger(exchange.url), db_orders(ws.db_path))
    closed_at = max(f["time"] for o in orders if o["side"] == "sell" for f in o["fills"])
    until_closed = [o for o in orders if o["time"] <= closed_at]
    # every order on the exchange is the bot's, under trade 1, and each client id names
    # one order: nothing was placed twice after its answer was lost
    assert [o["trade_id"] for o in until_closed] == [1] * len(until_closed)
    client_ids = [o["client_order_id"] for o in until_closed]
    assert len(set(client_ids)) == len(client_ids), client_ids
    # exactly one entry, one take-profit and one stop exit filled, each recorded with
    # the tag its client id carries
    filled = [o for o in until_closed if o["fills"]]
    assert [(o["side"], tag_of(o["client_order_id"])) for o in filled] == [
        ("buy", "entry"),
        ("sell", "tp1"),
        ("sell", filled[2]["client_tag"]),
    ]
    assert filled[2]["client_tag"] in ("stop", "stop_loss", "trailing_stop_loss")
    assert [o["tag"] for o in filled[1:]] == ["tp1", filled[2]["client_tag"]]
    assert all(o["status"] == "FILLED" for o in filled)
    # the stop exit is a limit order ("stoploss": "limit"): when the price moved away
    # before it filled, Freqtrade cancelled it unfilled and placed it again at the new
    # price (a new request with its own id, not the lost one repeated)
    replaced = [o for o in until_closed if not o["fills"]]
    assert all(
        o["status"] == "CANCELED" and o["side"] == "sell" and o["tag"] == filled[2]["tag"]
        for o in replaced
    ), replaced
    bought = sum(f["amount"] - f["fee"] for f in filled[0]["fills"])
    sold = sum(f["amount"] for o in filled[1:] for f in o["fills"])
    assert sold <= bought + 1e-9 and bought - sold < 0.01  # all of it, once
    trade = db_trades(ws.db_path)[0]
    assert trade["exit_reason"] == filled[2]["tag"]
