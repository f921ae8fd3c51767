"""`freqtrade trade` with dry_run false in futures (isolated margin, 3x) against the
exchange's signed /fapi: the futures sample shorts a scripted fall and takes
TP1..TP3 as real exchange orders: a SELL that opens the short, reduce-only BUYs
that close it, every one in the exchange's ledger, and no endpoint left unserved."""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = [
    Path(__file__).parent / "strategies" / "AlwaysShort.py",
    ROOT / "user_data" / "strategies" / "ProfitGuardFuturesSample.py",
]
PAIR = "BTC/USDT:USDT"
KEY, SECRET = "futures-live-key", "futures-live-secret-never-logged"

pytestmark = pytest.mark.slow


def ramp(a: float, b: float, n: int) -> list[float]:
    return list(np.linspace(a, b, n + 1)[1:])


# Short near 100 with a 2% stop: 1R ~ 2, TP1 ~ 96, TP2 ~ 94, TP3 ~ 92.
PATH = (
    [100.0] * 121
    + [100.0] * 15
    + ramp(100.0, 95.0, 15)
    + [95.0] * 20
    + ramp(95.0, 93.5, 8)
    + [93.5] * 15
    + ramp(93.5, 91.0, 8)
    + [91.0] * 60
)


def test_live_futures_when_price_falls_then_short_takes_tp1_to_tp3_as_reduce_only_buys(
    offline_exchange, freqtrade_workspace
):
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={PAIR: scripted_source(PATH, "1m", history=120)},
        held=True,  # until the bot's first price request: it enters at the start
    )
    exchange = offline_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 10_000.0}
    )
    ws = freqtrade_workspace(
        exchange,
        pairs=[PAIR],
        strategies=STRATEGIES,
        timeframe="1m",
        max_open_trades=1,
        stake_amount=300,
        dry_run=False,
        key=KEY,
        secret=SECRET,
        dry_run_wallet=10_000,
        trading_mode="futures",
        internals={"process_throttle_secs": 1},
    )

    def tagged() -> list[dict]:
        return tagged_ledger_orders(fetch_ledger(exchange.url), db_orders(ws.db_path))

    def first_closed() -> bool:
        trades = db_trades(ws.db_path) if ws.db_path.exists() else []
        return bool(trades) and not trades[0]["is_open"]

    run = ws.run_until("trade", "--strategy", "AlwaysShort", until=first_closed, timeout=240)
    assert first_closed(), run.stdout[-4000:]
    assert "Traceback" not in run.running, run.running[-4000:]
    assert SECRET not in run.stdout

    trade = db_trades(ws.db_path)[0]
    assert trade["is_short"] and trade["leverage"] == 3.0 and trade["exit_reason"] == "tp3"
    orders = [o for o in tagged() if o["trade_id"] == 1]
    entry = orders[0]
    assert (entry["side"], entry["status"], entry["reduce_only"]) == ("sell", "FILLED", False)
    assert entry["position_side"] == "BOTH" and entry["market"] == "futures"
    exits = [o for o in orders if o["side"] == "buy" and o["status"] == "FILLED"]
    assert [o["tag"] for o in exits] == ["tp1", "tp2", "tp3"]
    # the exchange's own record names them too: pg-1-tp1-<n>, reduce-only BUYs
    assert [o["client_tag"] for o in exits] == ["tp1", "tp2", "tp3"]
    assert all(o["client_order_id"].startswith("pg-1-tp") for o in exits)
    assert entry["client_tag"] == "entry"
    assert all(o["reduce_only"] for o in exits)
    shorted = sum(f["amount"] for f in entry["fills"])
    covered = [sum(f["amount"] for f in o["fills"]) for o in exits]
    assert sum(covered) == pytest.approx(shorted, abs=1e-9)  # closed, never over
    entry_price = entry["fills"][0]["price"]
    assert all(f["price"] < entry_price for o in exits for f in o["fills"])
    assert all(f["realized_pnl"] > 0 for o in exits for f in o["fills"])

    book = fetch_ledger(exchange.url)["futures"]
    position = book["positions"][PAIR]
    assert (position["amount"], position["leverage"]) == (0.0, 3)
    assert position["margin_type"] == "ISOLATED"
    # the wallet moved by exactly the realized PnL less the fees of the trade's fills
    fills = [f for o in orders for f in o["fills"]]
    moved = sum(f["realized_pnl"] - f["fee"] for f in fills)
    assert book["wallet"]["USDT"] == pytest.approx(10_000 + moved, abs=1e-6)
    assert moved > 0
    stats = exchange.stats()
    assert stats["unserved"] == {}, stats["unserved"]
    # leverage and margin type set on the exchange, funding asked of it (live: the
    # income history), the position's liquidation price read from positionRisk
    assert {
        "POST /fapi/v1/leverage",
        "POST /fapi/v1/marginType",
        "GET /fapi/v1/income",
        "GET /fapi/v3/positionRisk",
    } <= set(stats["hits"]), stats["hits"]
    assert entry_price * 1.25 < trade["liquidation_price"] < entry_price * 4 / 3


# Short near 100 with a 2% stop (1R ~ 2): past TP1 (~96) the ladder holds the stop at
# 1R in profit (~98), then the price rises through it and the stop on the exchange fills.
STOP_PATH = [100.0] * 136 + ramp(100.0, 95.0, 15) + [95.0] * 20 + ramp(95.0, 101.0, 20)
STOP_PATH += [101.0] * 60


def test_live_futures_when_price_turns_after_tp1_then_stop_on_exchange_covers_the_rest(
    offline_exchange, freqtrade_workspace
):
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={PAIR: scripted_source(STOP_PATH, "1m", history=120)},
        held=True,  # until the bot's first price request: it enters at the start
    )
    exchange = offline_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 10_000.0}
    )
    ws = freqtrade_workspace(
        exchange,
        pairs=[PAIR],
        strategies=STRATEGIES,
        timeframe="1m",
        max_open_trades=1,
        stake_amount=300,
        dry_run=False,
        key=KEY,
        secret=SECRET,
        dry_run_wallet=10_000,
        trading_mode="futures",
        internals={"process_throttle_secs": 1},
        order_types={
            "entry": "market",
            "exit": "market",
            "emergency_exit": "market",
            "force_entry": "market",
            "force_exit": "market",
            "stoploss": "market",
            "stoploss_on_exchange": True,
            "stoploss_on_exchange_interval": 2,
        },
    )

    def first_closed() -> bool:
        trades = db_trades(ws.db_path)
        return bool(trades) and not trades[0]["is_open"]

    run = ws.run_until("trade", "--strategy", "AlwaysShort", until=first_closed, timeout=240)
    assert first_closed(), run.stdout[-4000:]
    assert "Traceback" not in run.running, run.running[-4000:]

    # the bot knows a conditional order by its algo id, the ledger by the actual order's
    bot = {str(o["order_id"]): o for o in db_orders(ws.db_path) if o["order_id"]}
    orders = []
    for o in fetch_ledger(exchange.url)["orders"]:
        mine = bot.get(str(o["algo_id"] if o["algo_id"] is not None else o["order_id"]))
        if mine is not None and mine["ft_trade_id"] == 1:
            tag = "stoploss" if mine["ft_order_side"] == "stoploss" else mine["ft_order_tag"]
            orders.append({**o, "tag": tag})
    entry = orders[0]
    entry_price = entry["fills"][0]["price"]
    filled = [o for o in orders if o["side"] == "buy" and o["status"] == "FILLED"]
    assert [o["tag"] for o in filled] == ["tp1", "stoploss"]
    assert all(o["reduce_only"] for o in filled)
    stop = filled[-1]
    assert stop["type"] == "STOP_MARKET" and stop["algo_id"] is not None
    stops = [o["stop_price"] for o in orders if o["type"] == "STOP_MARKET"]
    # placed above the entry, moved down past it (never up), filled at its price
    assert stops == sorted(stops, reverse=True) and stops[0] > entry_price > stops[-1]
    assert stop["fills"][0]["price"] == stop["stop_price"] <= entry_price - 0.9 * 0.02 * 100
    covered = sum(f["amount"] for o in filled for f in o["fills"])
    assert covered == pytest.approx(sum(f["amount"] for f in entry["fills"]), abs=1e-9)
    trade = db_trades(ws.db_path)[0]
    assert trade["exit_reason"] == "stoploss_on_exchange"
    assert exchange.stats()["unserved"] == {}
