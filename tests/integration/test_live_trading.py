"""`freqtrade trade` with dry_run false: real orders on the offline exchange's ledger.

The exchange replays a scripted path (one 1m candle a second); the bot signs its
requests with the config's key; every order and fill is read back from the
exchange's ledger, whose client ids carry profitguard's tags (`pg-1-tp1-2`), and
joined with the bot's own order records for the exact tags (a stop resting on the
exchange carries `pg-1-sl-<n>`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from profitguard.engine import STOP_TAG
from profitguard.freqtrade.client_ids import tag_of
from profitguard.tooling.chaos.run_readers import (
    db_orders,
    db_trades,
    fetch_ledger,
    tagged_ledger_orders,
)
from profitguard.tooling.exchange.private import Credentials
from tests.exchange_fixtures import ReplayOptions, scripted_source

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "user_data" / "strategies" / "ProfitGuardSample.py"
SAMPLE_ENTERS_NOW = Path(__file__).parent / "strategies" / "SampleEntersNow.py"
ALWAYS_IN = Path(__file__).parent / "strategies" / "AlwaysIn.py"
KEY, SECRET = "live-test-key", "live-test-secret-never-logged"

pytestmark = pytest.mark.slow


def tracebacks(log: str) -> list[str]:
    """The log records with a traceback, but Freqtrade's on a stop on the exchange that
    filled while it cancelled it to exit otherwise: it logs that race with the
    traceback, then finds the stop filled (no second sale; the tests check the ledger)."""
    records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - )", log)
    return [
        record
        for record in records
        if "Traceback" in record
        and not ("Could not cancel stoploss order" in record and "Unknown order sent" in record)
    ]


def zigzag(start: float, steps: int, up: float = 0.3, down: float = 0.15) -> list[float]:
    """A rising path with pullbacks (RSI about 67: the sample's breakout entry fires)."""
    path = [start]
    for i in range(steps):
        path.append(round(path[-1] + (up if i % 2 == 0 else -down), 4))
    return path


def ramp(a: float, b: float, n: int) -> list[float]:
    return list(np.linspace(a, b, n + 1)[1:])


def live_run(
    offline_exchange, freqtrade_workspace, *, path, history, strategies, held=False, **config
):
    """``held``: the replay waits for the bot's first price request (only for a bot
    that enters at once: a held market has no volume for an entry signal)."""
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={"RST/USDT": scripted_source(path, "1m", history=history)},
        held=held,
    )
    exchange = offline_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 10_000.0}
    )
    ws = freqtrade_workspace(
        exchange,
        pairs=["RST/USDT"],
        strategies=strategies,
        timeframe="1m",
        max_open_trades=1,
        dry_run=False,
        key=KEY,
        secret=SECRET,
        dry_run_wallet=10_000,
        internals={"process_throttle_secs": 1},
        **config,
    )
    return exchange, ws


def tagged(exchange, ws) -> list[dict]:
    return tagged_ledger_orders(fetch_ledger(exchange.url), db_orders(ws.db_path))


# The sample's exits as shipped (its ATR stop, r_ladder take-profits, sizing and
# gate); SampleEntersNow only enters without waiting for a breakout, which on
# replayed candles depends on the second the bot starts. The path rises for ten
# replayed minutes, however long the bot takes to start. The stop on the exchange
# is shown with AlwaysIn below (and by the chaos suite); here the sample runs with
# Freqtrade's default, the stop in the bot.
@pytest.mark.parametrize("on_exchange", [False])
def test_live_sample_when_price_rises_then_tp1_to_tp3_are_exchange_orders(
    offline_exchange, freqtrade_workspace, on_exchange
):
    exchange, ws = live_run(
        offline_exchange,
        freqtrade_workspace,
        path=zigzag(100.0, 900),
        history=300,
        strategies=[SAMPLE, SAMPLE_ENTERS_NOW],
        stake_amount="unlimited",
        order_types={
            "entry": "market",
            "exit": "market",
            "emergency_exit": "market",
            "force_entry": "market",
            "force_exit": "market",
            "stoploss": "limit",
            "stoploss_on_exchange": on_exchange,
            "stoploss_on_exchange_interval": 2,
        },
    )

    def filled_exit_ids() -> list[str]:
        """The client ids of trade 1's filled exits, from the exchange's ledger alone."""
        orders = fetch_ledger(exchange.url)["orders"]
        return [
            o["client_order_id"]
            for o in orders
            if o["side"] == "sell" and o["status"] == "FILLED"
            and o["client_order_id"].startswith("pg-1-")
        ]  # fmt: skip

    def first_trade_done() -> bool:
        # the ledger shows the fill a moment before the bot has written its order and
        # closed the trade: wait for both, or the join below misses tp3
        trades = db_trades(ws.db_path)
        closed = bool(trades) and not trades[0]["is_open"]
        return closed and {"tp1", "tp2", "tp3"} <= {tag_of(i) for i in filled_exit_ids()}

    run = ws.run_until("trade", "--strategy", "SampleEntersNow", until=first_trade_done,
                       timeout=180)  # fmt: skip
    assert first_trade_done(), run.stdout[-4000:]
    assert tracebacks(run.running) == []
    assert SECRET not in run.stdout  # neither Freqtrade nor ccxt logged it

    orders = [o for o in tagged(exchange, ws) if o["trade_id"] == 1]
    entry = orders[0]
    assert (entry["side"], entry["type"], entry["status"]) == ("buy", "MARKET", "FILLED")
    exits = [o for o in orders if o["side"] == "sell" and o["status"] == "FILLED"]
    assert [o["tag"] for o in exits] == ["tp1", "tp2", "tp3"]
    # the exchange's own record names each take-profit: pg-<trade>-<tag>-<n>
    assert [tag_of(o["client_order_id"]) for o in exits] == ["tp1", "tp2", "tp3"]
    assert [o["client_order_id"] for o in exits] == filled_exit_ids()
    assert tag_of(entry["client_order_id"]) == "entry"
    bought = sum(f["amount"] - f["fee"] for f in entry["fills"])  # the fee is taken in RST
    sold = [sum(f["amount"] for f in o["fills"]) for o in exits]
    assert sum(sold) <= bought + 1e-9
    assert sold[0] == pytest.approx(bought / 2, abs=0.002)  # 50%, rounded to the lot step
    assert sold[1] == pytest.approx(bought / 4, abs=0.002)
    assert bought - sum(sold) < 0.001  # what is left is dust below one lot step
    trade = db_trades(ws.db_path)[0]
    assert not trade["is_open"] and trade["exit_reason"] == "tp3"
    stops = [o for o in orders if o["type"] == "STOP_LOSS_LIMIT"]
    if on_exchange:
        # profitguard's stop rested on the exchange, replaced higher as the ladder
        # tightened, and none is left behind once the trade is closed
        prices = [o["stop_price"] for o in stops]
        assert len(prices) >= 2 and prices == sorted(prices), prices
        assert prices[0] < entry["fills"][0]["price"] < prices[-1]
        assert all(o["status"] == "CANCELED" for o in stops)
    else:
        assert stops == []


# Entry near 100 with a 2% stop (1R ~ 2): past TP1 (~104) the ladder holds 1R (~102),
# then the price falls through it and the stop resting on the exchange fills.
# After tp1 (2R) the ladder locks the stop at 1R (about 101.97); the fall pauses on a
# plateau between 0.8R and 1R, so the bot sees the stop hit there however slow its
# loop is on a loaded machine (a steady ramp let the price run to 99 first).
STOP_PATH = [100.0] * 141 + ramp(100.0, 105.0, 25) + [105.0] * 20 + ramp(105.0, 101.8, 15)
STOP_PATH += [101.8] * 40 + ramp(101.8, 99.0, 10) + [99.0] * 60


@pytest.mark.parametrize("on_exchange", [True, False])
def test_live_when_price_turns_after_tp1_then_stop_exits_the_rest(
    offline_exchange, freqtrade_workspace, on_exchange
):
    exchange, ws = live_run(
        offline_exchange,
        freqtrade_workspace,
        path=STOP_PATH,
        history=120,
        strategies=[ALWAYS_IN],
        held=True,  # AlwaysIn enters in its first loop: at the start of the path
        stake_amount=1000,
        order_types={
            "entry": "market",
            "exit": "market",
            "emergency_exit": "market",
            "force_entry": "market",
            "force_exit": "market",
            "stoploss": "limit",
            "stoploss_on_exchange": on_exchange,
            "stoploss_on_exchange_interval": 2,
        },
    )

    def first_trade_closed() -> bool:
        trades = db_trades(ws.db_path)
        return bool(trades) and not trades[0]["is_open"]

    run = ws.run_until("trade", "--strategy", "AlwaysIn", until=first_trade_closed, timeout=200)
    assert first_trade_closed(), run.stdout[-4000:]
    assert tracebacks(run.running) == []
    # default settings: Freqtrade's trade copy untouched by profitguard (AlwaysIn's probe)
    assert (ws.userdir / "deepcopy-intact.txt").read_text() == "True"

    orders = [o for o in tagged(exchange, ws) if o["trade_id"] == 1]
    entry_price = orders[0]["fills"][0]["price"]
    risk = entry_price * 0.02
    filled_exits = [o for o in orders if o["side"] == "sell" and o["status"] == "FILLED"]
    assert filled_exits[0]["tag"] == "tp1"
    last = filled_exits[-1]
    exit_price = last["fills"][-1]["price"]
    assert len(filled_exits) == 2
    stops = [o for o in orders if o["type"] == "STOP_LOSS_LIMIT"]
    if on_exchange:
        # the stop rested on the exchange, was moved up (never down) and filled there
        assert last["type"] == "STOP_LOSS_LIMIT" and last["tag"] == "stoploss"
        # a stop on the exchange is named too: pg-1-sl-<n>, each new one a new n
        assert [o["client_tag"] for o in stops] == ["sl"] * len(stops)
        assert last["client_order_id"] == f"pg-1-sl-{len(orders)}"
        prices = [o["stop_price"] for o in stops]
        assert prices == sorted(prices) and prices[0] < entry_price < prices[-1]
        assert last["stop_price"] >= entry_price + 0.9 * risk
    else:
        assert stops == []
        # the bot saw the stop hit and sent the exit itself: Freqtrade's stop check
        # (order_types.stoploss: limit), or, when the price crossed the stop after that
        # check and before adjust_trade_position in the same bot loop, the engine's exit
        # through the stop (order_types.exit: market, tag "stop"), in full either way
        exits_through_the_stop = {("LIMIT", "stop_loss"), ("LIMIT", "trailing_stop_loss"),
                                  ("MARKET", STOP_TAG)}  # fmt: skip
        assert (last["type"], last["tag"]) in exits_through_the_stop, last
        assert last["client_tag"] == last["tag"]  # its client id: pg-1-<tag>-<n>
    assert filled_exits[0]["client_tag"] == "tp1"
    # the stop in force at the exit was the 1R stop, not breakeven
    stop_at_exit = db_trades(ws.db_path)[0]["stop_loss"]
    assert stop_at_exit >= entry_price + 0.8 * risk, stop_at_exit
    if on_exchange:
        assert exit_price >= entry_price + 0.8 * risk  # filled at its stop on the exchange
    # (the bot's own exit is sent when its loop sees the price through the stop: the
    # plateau between 0.8R and 1R gives it 40 s, and a loop starved of CPU longer than
    # that fills lower (CI saw 99.03 once), which says nothing of the stop)
