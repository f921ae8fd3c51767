"""The offline exchange's signed endpoints, matching engine and ledger (no sockets)."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest

from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.private import Credentials, sign
from profitguard.tooling.exchange.server import ReplayOptions, build_api

T0 = 1_767_225_600_000
KEY, SECRET = "test-key-123", "test-secret-very-private-456"
# 1m candles replayed at 1 s each: 100 flat for 10 candles, then +1 a candle
PRICES = [100.0] * 11 + [100.0 + i for i in range(1, 30)]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def make_api(clock, faults=None, balances=None, prices=PRICES):
    replay = ReplayOptions(
        seconds_per_candle=1,
        timeframe="1m",
        sources={"RST/USDT": scripted_source(prices, "1m", history=5)},
    )
    return build_api(
        datadir=None,
        replay=replay,
        now_ms=T0,
        clock=clock,
        credentials=Credentials(KEY, SECRET),
        balances=balances or {"USDT": 10_000.0},
        faults=faults,
    )


@pytest.fixture
def api(clock):
    return make_api(clock)


def signed(api, method, path, params, *, key=KEY, secret=SECRET, in_body=None, **extra):
    params = {"timestamp": api.clock(), **params}
    query = urlencode(params)
    query += "&signature=" + sign(secret, query)
    in_body = method == "POST" if in_body is None else in_body
    return api.handle(
        method,
        path,
        {},
        raw_query="" if in_body else query,
        body=query if in_body else "",
        headers={"X-MBX-APIKEY": key, **extra},
    )


def order(api, secret=SECRET, **params):
    return signed(api, "POST", "/api/v3/order", {"symbol": "RSTUSDT", **params}, secret=secret)


def ledger(api):
    return api.handle("GET", "/_profitguard/ledger", {})[1]


# -- authentication ---------------------------------------------------------------------


def test_private_request_when_no_api_key_then_2014_and_no_order(api):
    status, body = api.handle(
        "POST", "/api/v3/order", {}, body="symbol=RSTUSDT&side=BUY&type=MARKET&quantity=1"
    )
    assert (status, body["code"]) == (401, -2014)
    assert ledger(api)["orders"] == []


def test_private_request_when_wrong_key_then_2015(api):
    status, body = signed(api, "GET", "/api/v3/account", {}, key="other-key")
    assert (status, body["code"]) == (401, -2015)


def test_order_when_wrongly_signed_then_1022_and_no_fill(api):
    status, body = order(api, side="BUY", type="MARKET", quantity="1", secret="guessed")
    assert (status, body["code"]) == (400, -1022)
    assert ledger(api)["orders"] == [] and ledger(api)["fills"] == []


def test_order_when_unsigned_then_1102_signature_missing(api):
    query = urlencode({"symbol": "RSTUSDT", "side": "BUY", "type": "MARKET", "quantity": "1",
                       "timestamp": api.clock()})  # fmt: skip
    status, body = api.handle(
        "POST", "/api/v3/order", {}, body=query, headers={"X-MBX-APIKEY": KEY}
    )
    assert (status, body["code"]) == (400, -1102)
    assert "signature" in body["msg"]
    assert ledger(api)["orders"] == []


def test_signed_request_when_tampered_after_signing_then_1022(api):
    query = urlencode({"symbol": "RSTUSDT", "side": "BUY", "type": "MARKET", "quantity": "1",
                       "timestamp": api.clock()})  # fmt: skip
    query += "&signature=" + sign(SECRET, query)
    status, body = api.handle(
        "POST", "/api/v3/order", {}, body=query.replace("quantity=1", "quantity=9"),
        headers={"X-MBX-APIKEY": KEY},
    )  # fmt: skip
    assert (status, body["code"]) == (400, -1022)


@pytest.mark.parametrize(
    ("offset", "window", "code"),
    [(-6000, None, -1021), (-3000, 2000, -1021), (2000, None, -1021), (0, 70000, -1131)],
)
def test_signed_request_when_timestamp_outside_window_then_refused(api, offset, window, code):
    params = {"timestamp": api.clock() + offset}
    if window is not None:
        params["recvWindow"] = window
    query = urlencode(params)
    query += "&signature=" + sign(SECRET, query)
    status, body = api.handle(
        "GET", "/api/v3/account", {}, raw_query=query, headers={"X-MBX-APIKEY": KEY}
    )
    assert (status, body["code"]) == (400, code)


def test_signed_request_when_query_and_body_then_signature_over_both(api):
    query = urlencode({"symbol": "RSTUSDT", "side": "BUY"})
    body = urlencode({"type": "MARKET", "quantity": "1", "timestamp": api.clock()})
    body += "&signature=" + sign(SECRET, query + body)
    status, answer = api.handle(
        "POST", "/api/v3/order", {}, raw_query=query, body=body, headers={"X-MBX-APIKEY": KEY}
    )
    assert status == 200, answer
    assert answer["status"] == "FILLED"


def test_logs_when_signed_requests_and_errors_then_no_key_and_no_secret(api, caplog):
    caplog.set_level(logging.DEBUG)
    order(api, side="BUY", type="MARKET", quantity="1")
    order(api, side="BUY", type="MARKET", quantity="1", secret="nope")
    signed(api, "GET", "/api/v3/account", {}, key="nope")
    signed(api, "GET", "/api/v3/nothing", {})
    assert caplog.records
    assert SECRET not in caplog.text and KEY not in caplog.text
    assert SECRET not in repr(api.private.credentials)


# -- orders and balances -----------------------------------------------------------------


def test_market_buy_when_filled_then_balances_move_with_fee_in_base(api):
    status, body = order(api, side="BUY", type="MARKET", quantity="2", newClientOrderId="entry")
    assert status == 200, body
    assert body["status"] == "FILLED" and body["clientOrderId"] == "entry"
    cost = float(body["cummulativeQuoteQty"])
    assert 200 < cost < 200.1  # the best ask, a hair above 100
    _, account = signed(api, "GET", "/api/v3/account", {})
    balances = {b["asset"]: float(b["free"]) for b in account["balances"]}
    assert balances["RST"] == pytest.approx(2 * 0.999)
    assert balances["USDT"] == pytest.approx(10_000 - cost)
    fills = ledger(api)["fills"]
    assert [f["fee_asset"] for f in fills] == ["RST"]


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"type": "LIMIT", "price": "100.0001", "quantity": "1", "timeInForce": "GTC"}, -1013,
         "PRICE_FILTER"),
        ({"type": "MARKET", "quantity": "1.0001"}, -1013, "LOT_SIZE"),
        ({"type": "MARKET", "quantity": "0.01"}, -1013, "NOTIONAL"),
        ({"type": "MARKET", "quantity": "1000"}, -2010, "insufficient balance"),
        ({"type": "LIMIT", "price": "99", "quantity": "1"}, -1102, "timeInForce"),
        ({"type": "STOP_LOSS", "quantity": "1"}, -1116, "orderType"),
    ],
)  # fmt: skip
def test_order_when_breaks_a_rule_then_binance_error_and_nothing_booked(api, params, code, msg):
    status, body = order(api, side="BUY", **params)
    assert status == 400
    assert body["code"] == code and msg in body["msg"]
    assert ledger(api)["orders"] == []
    assert ledger(api)["balances"]["USDT"] == {"free": 10_000.0, "locked": 0.0}


def test_limit_sell_when_price_path_reaches_it_then_fills_at_limit_at_that_time(api, clock):
    order(api, side="BUY", type="MARKET", quantity="3")
    status, body = order(
        api, side="SELL", type="LIMIT", price="103", quantity="2", timeInForce="GTC"
    )
    assert status == 200 and body["status"] == "NEW"
    assert ledger(api)["balances"]["RST"]["locked"] == 2
    clock.now += 20_000  # the path passes 103 about 7-8 s after the start
    _, view = signed(api, "GET", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": body["orderId"]})
    assert view["status"] == "FILLED"
    fill = ledger(api)["fills"][-1]
    assert fill["price"] == 103 and fill["amount"] == 2 and fill["maker"]
    assert T0 + 5_000 < fill["time"] < T0 + 10_000
    assert fill["fee"] == pytest.approx(103 * 2 * 0.001)


def test_stop_loss_limit_when_stop_at_price_then_refused_and_resting_stop_untouched(clock):
    api = make_api(clock)
    order(api, side="BUY", type="MARKET", quantity="2")
    status, body = order(
        api, side="SELL", type="STOP_LOSS_LIMIT", quantity="1", price="100", stopPrice="101",
        timeInForce="GTC",
    )  # fmt: skip
    assert (status, body["code"]) == (400, -2010)
    assert body["msg"] == "Order would trigger immediately."
    status, body = order(
        api, side="SELL", type="STOP_LOSS_LIMIT", quantity="1", price="98", stopPrice="99",
        timeInForce="GTC",
    )  # fmt: skip
    assert status == 200 and body["status"] == "NEW" and body["type"] == "STOP_LOSS_LIMIT"
    clock.now += 30_000  # the path only rises: the stop rests, untouched
    _, view = signed(api, "GET", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": body["orderId"]})
    assert view["status"] == "NEW" and view["stopPrice"] == "99.00000000"
    assert view["isWorking"] is False


def test_cancel_when_open_then_funds_released_and_second_cancel_unknown(api):
    _, body = order(api, side="BUY", type="LIMIT", price="90", quantity="2", timeInForce="GTC")
    assert ledger(api)["balances"]["USDT"]["locked"] == 180
    status, cancelled = signed(
        api, "DELETE", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": body["orderId"]}
    )
    assert status == 200 and cancelled["status"] == "CANCELED"
    assert ledger(api)["balances"]["USDT"] == {"free": 10_000.0, "locked": 0.0}
    status, again = signed(
        api, "DELETE", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": body["orderId"]}
    )
    assert (status, again["code"]) == (400, -2011)


def test_query_when_unknown_order_then_2013(api):
    status, body = signed(api, "GET", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": 99})
    assert (status, body["code"]) == (400, -2013)


def test_open_all_orders_and_my_trades_when_several_orders_then_listed(api, clock):
    order(api, side="BUY", type="MARKET", quantity="2", newClientOrderId="a")
    order(api, side="SELL", type="LIMIT", price="150", quantity="1", timeInForce="GTC",
          newClientOrderId="b")  # fmt: skip
    _, open_orders = signed(api, "GET", "/api/v3/openOrders", {"symbol": "RSTUSDT"})
    assert [o["clientOrderId"] for o in open_orders] == ["b"]
    _, all_orders = signed(api, "GET", "/api/v3/allOrders", {"symbol": "RSTUSDT"})
    assert [o["clientOrderId"] for o in all_orders] == ["a", "b"]
    _, trades = signed(api, "GET", "/api/v3/myTrades", {"symbol": "RSTUSDT", "orderId": 1})
    assert sum(float(t["qty"]) for t in trades) == 2 and all(t["isBuyer"] for t in trades)


def test_sell_when_more_than_held_then_insufficient_balance(api):
    order(api, side="BUY", type="MARKET", quantity="1")
    status, body = order(api, side="SELL", type="MARKET", quantity="1")  # 0.999 after the fee
    assert (status, body["code"]) == (400, -2010)


# -- faults the matching engine decides -----------------------------------------------


def plan(*rules, seed=1):
    return FaultPlan.from_dict({"seed": seed, "faults": list(rules)})


def test_partial_fill_fault_when_limit_reached_then_filled_in_pieces_over_time(clock):
    api = make_api(clock, plan({"kind": "partial_fill", "count": 1, "after": 1, "pieces": 3,
                                "interval_ms": 4000}))  # fmt: skip
    order(api, side="BUY", type="MARKET", quantity="4")  # skipped by 'after'
    _, sell = order(api, side="SELL", type="LIMIT", price="102", quantity="3", timeInForce="GTC")
    assert sell["status"] == "NEW"
    clock.now += 8_000  # the path reaches 102 at about 6.6 s: one piece so far
    _, view = signed(api, "GET", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": 2})
    assert (view["status"], view["executedQty"]) == ("PARTIALLY_FILLED", "1.00000000")
    clock.now += 12_000
    _, view = signed(api, "GET", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": 2})
    assert view["status"] == "FILLED"
    fills = [f for f in ledger(api)["fills"] if f["order_id"] == 2]
    assert [f["amount"] for f in fills] == [1, 1, 1]
    assert [f["time"] - fills[0]["time"] for f in fills] == [0, 4000, 8000]
    assert all(f["price"] == 102 for f in fills)


def test_fill_on_cancel_fault_when_cancelling_then_order_filled_and_cancel_unknown(clock):
    api = make_api(clock, plan({"kind": "fill_on_cancel", "count": 1}))
    _, body = order(api, side="BUY", type="LIMIT", price="90", quantity="2", timeInForce="GTC")
    status, answer = signed(
        api, "DELETE", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": body["orderId"]}
    )
    assert (status, answer["code"]) == (400, -2011)
    view = ledger(api)["orders"][0]
    assert view["status"] == "FILLED" and view["filled"] == 2
    assert api.faults.injected["fill_on_cancel"] == 1


def test_status_lag_fault_when_queried_right_after_fill_then_old_status(clock):
    api = make_api(clock, plan({"kind": "status_lag", "count": 1, "lag_ms": 60_000}))
    _, body = order(api, side="BUY", type="MARKET", quantity="2")
    _, view = signed(api, "GET", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": body["orderId"]})
    assert view["status"] == "NEW"  # lags
    _, view = signed(api, "GET", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": body["orderId"]})
    assert view["status"] == "FILLED"


def test_reject_fault_when_fires_then_binance_error_and_nothing_booked(clock):
    api = make_api(clock, plan({"kind": "reject", "count": 1, "reason": "LOT_SIZE"}))
    status, body = order(api, side="BUY", type="MARKET", quantity="1")
    assert (status, body["code"], body["msg"]) == (400, -1013, "Filter failure: LOT_SIZE")
    assert ledger(api)["orders"] == []
    assert order(api, side="BUY", type="MARKET", quantity="1")[0] == 200


def test_fault_plan_when_same_seed_then_same_firings():
    def firings(seed):
        p = plan({"kind": "http_error", "probability": 0.3}, seed=seed)
        return [p.fire("http_error", "GET /api/v3/order") is not None for _ in range(200)]

    assert firings(3) == firings(3)
    assert firings(3) != firings(4)
    assert 30 < sum(firings(3)) < 90


@pytest.mark.parametrize(
    ("rule", "match"),
    [
        ({"kind": "http_eror", "count": 1}, "Did you mean 'http_error'"),
        ({"kind": "slow"}, "'probability' or 'count'"),
        ({"kind": "slow", "probability": 1.5}, "probability must be in"),
        ({"kind": "slow", "count": 1, "delay": 3}, "Did you mean 'delay_s'"),
        ({"kind": "reject", "count": 1, "reason": "broke"}, "unknown 'broke'"),
    ],
)
def test_fault_plan_when_bad_rule_then_error_names_it(rule, match):
    with pytest.raises(ValueError, match=match):
        plan(rule)


FALLING = [100.0] * 11 + [100.0 - i for i in range(1, 30)]


@pytest.mark.parametrize("gap", [False, True])
def test_stop_loss_limit_when_path_falls_through_stop_then_fills_at_stop_unless_gapped(clock, gap):
    faults = plan({"kind": "price_gap", "count": 1, "gap": 0.02, "hold_ms": 4000}) if gap else None
    api = make_api(clock, faults, prices=FALLING)
    order(api, side="BUY", type="MARKET", quantity="2")
    _, stop = order(
        api, side="SELL", type="STOP_LOSS_LIMIT", quantity="1", price="97.5", stopPrice="98",
        timeInForce="GTC",
    )  # fmt: skip
    assert stop["status"] == "NEW"
    clock.now += 9_000  # the path passes 98 at about 7.5 s, then keeps falling
    _, view = signed(api, "GET", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": stop["orderId"]})
    assert view["isWorking"] is True  # triggered either way
    if gap:
        # the market jumped to 96.04, through the 97.5 limit: nothing fills, the order
        # rests (the real danger of a stop-limit) and the base stays locked
        assert view["status"] == "NEW" and view["executedQty"] == "0.00000000"
        assert ledger(api)["balances"]["RST"]["locked"] == 1
        assert api.faults.injected["price_gap"] == 1
    else:
        fills = [f for f in ledger(api)["fills"] if f["order_id"] == stop["orderId"]]
        assert view["status"] == "FILLED"
        assert [(f["price"], f["amount"], f["maker"]) for f in fills] == [(98, 1, False)]
        assert T0 + 6_000 < fills[0]["time"] < T0 + 9_000
