"""An entry the bot sent but never recorded is reported and closed by the watchdog (live).

The real `freqtrade trade` (dry_run false) against the offline exchange. Before the bot
starts, the account holds the user's own 5 RST and a filled market buy of 3 RST that
carries profitguard's entry client id (`pg-new-entry-...`): what a bot SIGKILLed
between sending an entry and recording its trade leaves behind. With
`profitguard.watchdog.action: "exit"` the start-up reconciliation reports it, holds the
pair's entries, and sells what profitguard bought at market, once, under its own client
id; the user's 5 RST are never sold. Then the bot trades the pair as usual.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from profitguard.tooling.chaos.run_readers import (
    db_orders,
    db_trades,
    fetch_ledger,
    tagged_ledger_orders,
)
from profitguard.tooling.exchange.private import Credentials
from tests.exchange_fixtures import ReplayOptions, scripted_source

ALWAYS_IN = Path(__file__).parent / "strategies" / "AlwaysIn.py"
KEY, SECRET = "orphan-entry-key", "orphan-entry-secret"
PAIR = "RST/USDT"
HISTORY = 60
PATH = [100.0] * (HISTORY + 400)  # flat: the trade the bot opens neither stops nor takes profit

pytestmark = pytest.mark.slow


def plant_orphan_entry(ws, amount: float) -> str:
    """A market buy named as profitguard names an entry, sent behind the bot's back."""
    import ccxt

    config = json.loads(ws.config.read_text())["exchange"]["ccxt_config"]
    api = ccxt.binance({**config, "apiKey": KEY, "secret": SECRET})
    client_id = f"pg-new-entry-{int(time.time() * 1000)}"
    api.create_order(PAIR, "market", "buy", amount, None, {"newClientOrderId": client_id})
    return client_id


def test_live_when_entry_never_recorded_then_reported_and_sold_once_and_users_coins_kept(
    offline_exchange, freqtrade_workspace
):
    replay = ReplayOptions(
        seconds_per_candle=0.5,
        timeframe="1m",
        sources={PAIR: scripted_source(PATH, "1m", history=HISTORY)},
    )
    exchange = offline_exchange(
        replay=replay,
        credentials=Credentials(KEY, SECRET),
        balances={"USDT": 10_000.0, "RST": 5.0},  # the user's own 5 RST
    )
    ws = freqtrade_workspace(
        exchange, pairs=[PAIR], strategies=[ALWAYS_IN], timeframe="1m",
        max_open_trades=1, dry_run=False, key=KEY, secret=SECRET, dry_run_wallet=10_000,
        internals={"process_throttle_secs": 1}, stake_amount=500,
        order_types={
            "entry": "market", "exit": "market", "emergency_exit": "market",
            "force_entry": "market", "force_exit": "market", "stoploss": "limit",
            "stoploss_on_exchange": False,
        },
        profitguard={"watchdog": {"action": "exit"}},
    )  # fmt: skip
    orphan = plant_orphan_entry(ws, 3.0)

    def tagged() -> list[dict]:
        return tagged_ledger_orders(fetch_ledger(exchange.url), db_orders(ws.db_path))

    def closed_and_entered() -> bool:
        closes = [o for o in tagged() if o["client_tag"] == "untracked" and o["filled"] > 0]
        return bool(closes) and any(t["is_open"] for t in db_trades(ws.db_path))

    run = ws.run_until("trade", "--strategy", "AlwaysIn", until=closed_and_entered, timeout=90)
    assert closed_and_entered(), run.stdout[-4000:]

    orders = tagged()
    planted = next(o for o in orders if o["client_order_id"] == orphan)
    bought = sum(
        f["amount"] - (f["fee"] if f["fee_asset"] == "RST" else 0) for f in planted["fills"]
    )
    closes = [o for o in orders if o["client_tag"] == "untracked"]
    # one close, a market sell of what the orphan bought (to the lot step), under
    # profitguard's id; unknown to the database as the orphan itself
    assert len(closes) == 1 and closes[0]["side"] == "sell" and closes[0]["type"] == "MARKET"
    assert closes[0]["client_order_id"].startswith("pg-new-untracked-")
    assert bought - 0.01 < closes[0]["filled"] <= bought + 1e-9
    assert closes[0]["trade_id"] is None and planted["trade_id"] is None
    # the pair's entries were held until the close: the bot's entry came after it
    entries = [o for o in orders if o["side"] == "buy" and o["trade_id"] is not None]
    assert entries and min(o["time"] for o in entries) > closes[0]["time"]
    # the user's 5 RST were never sold: the account holds them and the open trade
    ledger = fetch_ledger(exchange.url)
    held = 5.0 + sum(
        (f["amount"] - (f["fee"] if f["fee_asset"] == "RST" else 0))
        if f["side"] == "BUY"
        else -f["amount"]
        for f in ledger["fills"]
        if f["pair"] == PAIR
    )
    open_amount = sum(t["amount"] for t in db_trades(ws.db_path) if t["is_open"])
    assert held - open_amount == pytest.approx(5.0, abs=0.01)
    # reported, then closed, each said once (in the log; and sent as a message)
    said = "profitguard.freqtrade.reconciler - WARNING - profitguard: "
    assert run.stdout.count(f"{said}reconciliation: orphan_fill: {PAIR} order {orphan}") == 1
    assert run.stdout.count(f"{said}watchdog: {PAIR}: sell") == 1, run.stdout[-4000:]
    assert run.stdout.count(f"Sending rpc strategy_msg: profitguard: watchdog: {PAIR}") == 1
