"""ccxt's binance in USDⓈ-M futures mode, signed, against the offline exchange's
private /fapi endpoints: the calls Freqtrade makes in live futures."""

from __future__ import annotations

import json
import time
import urllib.request

import ccxt
import pytest

from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.freqtrade_config import ccxt_config
from profitguard.tooling.exchange.harness import start_exchange
from profitguard.tooling.exchange.private import Credentials
from profitguard.tooling.exchange.server import ReplayOptions

KEY, SECRET = "ccxt-futures-key", "ccxt-futures-secret-do-not-log"
PAIR = "BTC/USDT:USDT"
# replayed 1m candles at 0.5 s each: flat at 100, then a fall of 0.5 a candle
PRICES = [100.0] * 40 + [100.0 - 0.5 * i for i in range(1, 60)]


@pytest.fixture
def exchange():
    replay = ReplayOptions(
        seconds_per_candle=0.5,
        timeframe="1m",
        sources={PAIR: scripted_source(PRICES, "1m", history=36)},
    )
    with start_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 5000.0}
    ) as running:
        yield running


def client(exchange):
    api = ccxt.binance(
        {
            **ccxt_config(exchange.url, "futures"),
            "apiKey": KEY,
            "secret": SECRET,
            "options": {"defaultType": "swap", "fetchMarkets": {"types": ["linear"]}},
        }
    )
    api.load_markets()
    return api


def ledger(exchange) -> dict:
    with urllib.request.urlopen(exchange.url + "/_profitguard/ledger", timeout=10) as answer:
        return json.loads(answer.read())


def test_ccxt_futures_when_short_then_position_leverage_and_reduce_only_take_profit(exchange):
    api = client(exchange)
    assert api.fetch_balance()["USDT"]["total"] == 5000.0
    api.set_margin_mode("isolated", PAIR)
    api.set_leverage(3, PAIR)
    short = api.create_order(PAIR, "market", "sell", 3, params={"newClientOrderId": "entry"})
    assert (short["status"], short["filled"], short["clientOrderId"]) == ("closed", 3, "entry")
    (position,) = api.fetch_positions([PAIR])
    assert (position["side"], position["contracts"], position["leverage"]) == ("short", 3, 3)
    assert position["marginMode"] == "isolated"
    assert position["initialMargin"] == pytest.approx(short["average"], rel=1e-3)  # 3 / 3x
    assert position["liquidationPrice"] > short["average"] * 1.3

    take = api.create_order(PAIR, "limit", "buy", 1, 98, params={"reduceOnly": True})
    assert (take["status"], take["reduceOnly"]) == ("open", True)
    assert [o["id"] for o in api.fetch_open_orders(PAIR)] == [take["id"]]
    deadline = time.monotonic() + 30
    while api.fetch_order(take["id"], PAIR)["status"] != "closed":
        assert time.monotonic() < deadline, "the falling path never filled the take-profit"
        time.sleep(0.5)
    trades = api.fetch_my_trades(PAIR)
    assert [(t["side"], t["amount"]) for t in trades] == [("sell", 3), ("buy", 1)]
    assert trades[-1]["price"] == 98 and trades[-1]["fee"]["currency"] == "USDT"
    assert float(trades[-1]["info"]["realizedPnl"]) == pytest.approx(short["average"] - 98)
    (position,) = api.fetch_positions([PAIR])
    assert position["contracts"] == 2
    assert api.fetch_funding_history(PAIR) == []  # no funding moment has passed
    orders = api.fetch_orders(PAIR)
    assert [(o["side"], o["reduceOnly"], o["status"]) for o in orders] == [
        ("sell", False, "closed"),
        ("buy", True, "closed"),
    ]
    book = ledger(exchange)
    assert [(o["side"], o["reduce_only"]) for o in book["orders"]] == [
        ("sell", False),
        ("buy", True),
    ]
    assert book["futures"]["positions"][PAIR]["amount"] == -2.0
    assert exchange.stats()["unserved"] == {}


def test_ccxt_futures_when_reduce_only_would_flip_or_grow_then_refused(exchange):
    api = client(exchange)
    api.set_leverage(3, PAIR)
    with pytest.raises(ccxt.ExchangeError, match="-2022"):
        api.create_order(PAIR, "market", "buy", 1, params={"reduceOnly": True})  # no position
    api.create_order(PAIR, "market", "sell", 2)
    with pytest.raises(ccxt.ExchangeError, match="-2022"):
        api.create_order(PAIR, "market", "buy", 3, params={"reduceOnly": True})
    with pytest.raises(ccxt.ExchangeError, match="-2022"):
        api.create_order(PAIR, "market", "sell", 1, params={"reduceOnly": True})
    assert len(ledger(exchange)["orders"]) == 1
    cancel_me = api.create_order(PAIR, "limit", "buy", 2, 90, params={"reduceOnly": True})
    assert api.cancel_order(cancel_me["id"], PAIR)["status"] == "canceled"
    assert api.fetch_open_orders(PAIR) == []


def test_ccxt_futures_when_secret_wrong_then_authentication_error(exchange):
    api = client(exchange)
    api.secret = "not-the-secret"
    with pytest.raises(ccxt.AuthenticationError):
        api.fetch_balance()
    with pytest.raises(ccxt.AuthenticationError):
        api.create_order(PAIR, "market", "sell", 1)
    assert ledger(exchange)["orders"] == []


def test_ccxt_futures_when_leverage_above_brackets_then_refused(exchange):
    api = client(exchange)
    with pytest.raises(ccxt.BadRequest):
        api.set_leverage(1000, PAIR)
    assert api.fetch_leverage(PAIR)["longLeverage"] == 20  # Binance's default, unchanged


def test_ccxt_futures_when_stop_market_then_algo_order_fetched_and_cancelled(exchange):
    """As Freqtrade's stoploss on exchange sends it: a reduce-only STOP_MARKET, which
    ccxt routes to the algo-order endpoints."""
    api = client(exchange)
    api.set_leverage(3, PAIR)
    api.create_order(PAIR, "market", "sell", 2)
    params = {"stopPrice": 103, "reduceOnly": True, "workingType": "MARK_PRICE"}
    stop = api.create_order(PAIR, "STOP_MARKET", "buy", 2, params=params)
    assert (stop["status"], stop["triggerPrice"], stop["reduceOnly"]) == ("open", 103, True)
    fetched = api.fetch_order(stop["id"], PAIR, params={"stop": True})
    assert (fetched["id"], fetched["status"], fetched["amount"]) == (stop["id"], "open", 2)
    assert api.fetch_open_orders(PAIR) == []  # plain orders: the stop is an algo order
    assert [o["id"] for o in api.fetch_open_orders(PAIR, params={"trigger": True})] == [stop["id"]]
    cancelled = api.cancel_order(stop["id"], PAIR, params={"trigger": True})
    assert cancelled["id"] == stop["id"]
    assert api.fetch_order(stop["id"], PAIR, params={"stop": True})["status"] == "canceled"
    assert exchange.stats()["unserved"] == {}
