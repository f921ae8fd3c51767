"""The client id hook against the pinned Freqtrade and ccxt, over loopback.

`profitguard.freqtrade.client_ids` wraps `create_order` of the ccxt instance inside
Freqtrade's exchange object: this fails when either side changes how that call is
made or what ccxt does with `newClientOrderId` (the bot would then stop at start-up,
or send ccxt's ids).
"""

from __future__ import annotations

import inspect
import logging

import ccxt
import pytest
from freqtrade.enums import RunMode
from freqtrade.resolvers import ExchangeResolver

from profitguard.freqtrade.client_ids import HOOK_PARAMETERS, ClientOrderIds, install
from profitguard.freqtrade.stop_orders import ForgottenOrders
from profitguard.tooling.chaos.run_readers import fetch_ledger
from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.freqtrade_config import freqtrade_config
from profitguard.tooling.exchange.harness import start_exchange
from profitguard.tooling.exchange.private import Credentials
from profitguard.tooling.exchange.server import ReplayOptions

KEY, SECRET = "contract-key", "contract-secret"


@pytest.fixture
def freqtrade_exchange():
    replay = ReplayOptions(
        seconds_per_candle=0.5,
        timeframe="1m",
        sources={"RST/USDT": scripted_source([100.0] * 80, "1m", history=36)},
    )
    with start_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 5000.0}
    ) as running:
        config = freqtrade_config(
            exchange_url=running.url, pairs=["RST/USDT"], key=KEY, secret=SECRET,
            dry_run=False, timeframe="1m",
        )  # fmt: skip
        config["runmode"] = RunMode.LIVE
        exchange = ExchangeResolver.load_exchange(config, validate=False)
        try:
            yield running, exchange
        finally:
            exchange.close()


def test_ccxt_binance_create_order_when_pinned_then_the_wrapped_signature():
    names = tuple(inspect.signature(ccxt.binance.create_order).parameters)
    assert names[1:] == HOOK_PARAMETERS  # after self


def test_freqtrade_orders_when_announced_then_the_ledger_shows_our_ids(freqtrade_exchange):
    server, exchange = freqtrade_exchange
    ids = ClientOrderIds()
    install(exchange, ids)
    ids.expect("RST/USDT", "buy", "market", "pg-new-entry-1")
    entry = exchange.create_order(
        pair="RST/USDT", ordertype="market", side="buy", amount=10, rate=100, leverage=1.0
    )
    assert (entry["status"], entry["clientOrderId"]) == ("closed", "pg-new-entry-1")
    # a stop resting on the exchange (Freqtrade's create_stoploss, named arguments)
    # is never given an announced id: ccxt's, and the announcement is gone
    ids.expect("RST/USDT", "sell", "market", "pg-1-tp1-2")
    stop = exchange.create_stoploss(
        pair="RST/USDT", amount=5, stop_price=95, order_types={"stoploss": "limit"},
        side="sell", leverage=1.0,
    )  # fmt: skip
    assert stop["clientOrderId"].startswith("x-") and ids.pending() == []
    ids.expect("RST/USDT", "sell", "limit", "pg-1-tp1-3")
    take = exchange.create_order(
        pair="RST/USDT", ordertype="limit", side="sell", amount=4, rate=110, leverage=1.0,
        initial_order=False,
    )  # fmt: skip
    assert take["clientOrderId"] == "pg-1-tp1-3"
    plain = exchange.create_order(
        pair="RST/USDT", ordertype="limit", side="sell", amount=0.5, rate=111, leverage=1.0,
        initial_order=False,
    )  # fmt: skip
    ledger = [o["client_order_id"] for o in fetch_ledger(server.url)["orders"]]
    assert ledger[:2] == ["pg-new-entry-1", stop["clientOrderId"]]
    assert ledger[2:] == ["pg-1-tp1-3", plain["clientOrderId"]]
    assert plain["clientOrderId"].startswith("x-")  # nothing announced: ccxt's id


class _Trade:
    """What `ForgottenOrders` reads of a Freqtrade trade."""

    def __init__(self, trade_id, pair, amount, orders=()):
        self.id, self.pair, self.amount = trade_id, pair, amount
        self.exit_side, self.is_open = "sell", True
        self.orders = [type("Order", (), {"order_id": o})() for o in orders]


def test_freqtrade_stop_when_placed_then_named_and_forgotten_one_cancelled(
    freqtrade_exchange, caplog
):
    """Freqtrade's create_stoploss goes through the same wrapper and gets the trade's
    `pg-<trade>-sl-<n>`; a resting one the trade does not know is found by that id and
    cancelled with Freqtrade's cancel_stoploss_order; a known one and ccxt's are left."""
    server, exchange = freqtrade_exchange
    ids = ClientOrderIds()
    ids.stop_ids = lambda pair: {"RST/USDT": "pg-7-sl-2"}.get(pair)
    install(exchange, ids)
    exchange.create_order(
        pair="RST/USDT", ordertype="market", side="buy", amount=10, rate=100, leverage=1.0
    )
    stop_args = {"order_types": {"stoploss": "limit"}, "side": "sell", "leverage": 1.0}
    forgotten = exchange.create_stoploss(pair="RST/USDT", amount=4, stop_price=95, **stop_args)
    assert forgotten["clientOrderId"] == "pg-7-sl-2"
    ids.stop_ids = lambda pair: "pg-7-sl-3"
    known = exchange.create_stoploss(pair="RST/USDT", amount=3, stop_price=94, **stop_args)
    ids.stop_ids = None
    foreign = exchange.create_stoploss(pair="RST/USDT", amount=2, stop_price=93, **stop_args)
    assert foreign["clientOrderId"].startswith("x-")

    trade = _Trade(7, "RST/USDT", 4.0, orders=["1", known["id"]])
    sweeper = ForgottenOrders(exchange, futures=False, trades_of=lambda pair: [trade])
    resting = sweeper.resting("RST/USDT")
    assert sorted(r.client_id for r in resting) == ["pg-7-sl-2", "pg-7-sl-3"]
    assert all(r.stop and r.trade_id == 7 for r in resting)
    with caplog.at_level(logging.WARNING, logger="profitguard"):
        cancelled = sweeper.sweep([trade], "start-up")
    assert [r.order_id for r in cancelled] == [forgotten["id"]] == ["2"]
    assert (
        "profitguard: start-up: cancelling stop 2 (pg-7-sl-2, sell 4) of trade 7 on RST/USDT, "
        "unknown to the bot (it matches the trade's amount and side)" in caplog.text
    )
    status = {o["client_order_id"]: o["status"] for o in fetch_ledger(server.url)["orders"]}
    assert status["pg-7-sl-2"] == "CANCELED"
    assert status["pg-7-sl-3"] == "NEW" and status[foreign["clientOrderId"]] == "NEW"
    assert sweeper.sweep([trade], "reconciliation") == []  # nothing left to cancel


def test_freqtrade_futures_stop_when_placed_then_named_found_and_cancelled():
    """USDⓈ-M futures: Freqtrade's stop is a conditional (algo) order; ccxt turns the
    wrapper's `newClientOrderId` into `clientAlgoId`, and the forgotten one is found
    among the conditional open orders and cancelled with the stop flag."""
    pair = "BTC/USDT:USDT"
    replay = ReplayOptions(
        seconds_per_candle=0.5,
        timeframe="1m",
        sources={pair: scripted_source([100.0] * 80, "1m", history=36)},
    )
    with start_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 5000.0}
    ) as running:
        config = freqtrade_config(
            exchange_url=running.url, pairs=[pair], key=KEY, secret=SECRET, dry_run=False,
            timeframe="1m", trading_mode="futures",
        )  # fmt: skip
        config["runmode"] = RunMode.LIVE
        exchange = ExchangeResolver.load_exchange(config, validate=False)
        try:
            ids = ClientOrderIds()
            ids.stop_ids = lambda p: "pg-3-sl-2"
            install(exchange, ids)
            exchange.create_order(
                pair=pair, ordertype="market", side="sell", amount=1, rate=100, leverage=2.0
            )
            stop = exchange.create_stoploss(
                pair=pair, amount=1, stop_price=104, order_types={"stoploss": "market"},
                side="buy", leverage=2.0,
            )  # fmt: skip
            assert stop["clientOrderId"] == "pg-3-sl-2"
            trade = _Trade(3, pair, 1.0, orders=["1"])
            trade.exit_side = "buy"
            sweeper = ForgottenOrders(exchange, futures=True, trades_of=lambda p: [trade])
            [resting] = sweeper.resting(pair)
            assert (resting.client_id, resting.order_id, resting.stop) == (
                "pg-3-sl-2", stop["id"], True
            )  # fmt: skip
            assert [r.order_id for r in sweeper.sweep([trade], "start-up")] == [stop["id"]]
            assert sweeper.resting(pair) == []
        finally:
            exchange.close()


@pytest.mark.parametrize("trading_mode", ["spot", "futures"])
def test_freqtrade_order_when_answer_dropped_then_found_by_client_id_and_placed_once(
    trading_mode,
):
    """The exchange executes the order and cuts its answer off: Freqtrade's
    `create_order` returns the order found by its client id (the same one), and the
    ledger holds it once."""
    futures = trading_mode == "futures"
    pair = "RST/USDT:USDT" if futures else "RST/USDT"
    endpoint = "POST /fapi/v1/order" if futures else "POST /api/v3/order"
    plan = FaultPlan.from_dict(
        {"seed": 1, "faults": [{"kind": "drop", "endpoint": endpoint, "count": 2}]}
    )
    replay = ReplayOptions(
        seconds_per_candle=0.5,
        timeframe="1m",
        sources={pair: scripted_source([100.0] * 80, "1m", history=36)},
    )
    with start_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 5000.0},
        faults=plan,
    ) as server:  # fmt: skip
        config = freqtrade_config(
            exchange_url=server.url, pairs=[pair], key=KEY, secret=SECRET, dry_run=False,
            timeframe="1m", trading_mode=trading_mode,
        )  # fmt: skip
        config["runmode"] = RunMode.LIVE
        config["exchange"]["ccxt_config"]["timeout"] = 3000
        exchange = ExchangeResolver.load_exchange(config, validate=False)
        try:
            ids = ClientOrderIds()
            placement = install(exchange, ids)
            ids.expect(pair, "buy", "market", "pg-new-entry-1")
            entry = exchange.create_order(
                pair=pair, ordertype="market", side="buy", amount=10, rate=100, leverage=1.0
            )
            ids.expect(pair, "sell", "limit", "pg-1-tp1-2")
            take = exchange.create_order(
                pair=pair, ordertype="limit", side="sell", amount=4, rate=110, leverage=1.0,
                reduceOnly=futures, initial_order=False,
            )  # fmt: skip
            ledger = fetch_ledger(server.url)
        finally:
            exchange.close()
    assert plan.injected["drop"] == 2  # both answers were lost
    assert (entry["clientOrderId"], entry["status"], entry["filled"]) == (
        "pg-new-entry-1", "closed", 10.0,
    )  # fmt: skip
    assert (take["clientOrderId"], take["status"], take["amount"]) == ("pg-1-tp1-2", "open", 4.0)
    assert [o["client_order_id"] for o in ledger["orders"]] == ["pg-new-entry-1", "pg-1-tp1-2"]
    assert [o["order_id"] for o in ledger["orders"]] == [int(entry["id"]), int(take["id"])]
    assert placement.found_answers == 2 and placement.blocked() == {}


def test_freqtrade_parts_the_reconciler_uses_when_pinned_then_there():
    """`profitguard.freqtrade.reconciler` reads the exchange's orders and writes the
    trades through these; a Freqtrade without one switches reconciliation off."""
    from freqtrade.exchange import Exchange
    from freqtrade.persistence import Order, Trade

    assert tuple(inspect.signature(Exchange.fetch_orders).parameters)[:3] == (
        "self",
        "pair",
        "since",
    )
    assert tuple(inspect.signature(Order.parse_from_ccxt_object).parameters)[:3] == (
        "order", "pair", "side",
    )  # fmt: skip
    assert "is_closing" in inspect.signature(Trade.recalc_trade_from_orders).parameters
    assert tuple(inspect.signature(Trade.close).parameters)[:2] == ("self", "rate")
    assert callable(Trade.get_trades_proxy) and callable(Trade.commit)


def test_freqtrade_fill_processing_when_pinned_then_commits_the_order_before_the_amount():
    """The window the reconciler's amount check closes: Freqtrade commits a filled
    order (`update_order`), then asks for its fee (`handle_order_fee`: myTrades), then
    takes the amount off the trade (`update_trade`). If this order changes, the check
    in `bot_loop_start` may be needed no more, or somewhere else."""
    from freqtrade.freqtradebot import FreqtradeBot

    source = inspect.getsource(FreqtradeBot.update_trade_state)
    steps = ["trade.update_order(order)", "self.handle_order_fee(", "trade.update_trade("]
    positions = [source.index(step) for step in steps]
    assert positions == sorted(positions)
    process = inspect.getsource(FreqtradeBot.process)
    assert process.index("bot_loop_start") < process.index("self.exit_positions(")
