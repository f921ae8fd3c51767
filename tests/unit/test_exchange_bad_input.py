"""Bad requests get Binance's parameter and filter errors, never a 500 or a guess.

Binance reads a parameter's text against a pattern before its value: ``1e308``,
``1_0``, full-width digits and a leading space are -1100 (Python's ``float`` and
``int`` accept every one of them), a value with more places than the asset's
precision is -1111, a price above the PRICE_FILTER's maxPrice -1013.
"""

from __future__ import annotations

import pytest

from tests.unit.test_exchange_private import clock, ledger, make_api, order, signed  # noqa: F401

DECIMALS = r"'^([0-9]{1,20})(\.[0-9]{1,20})?$'"
INTEGERS = r"'^[0-9]{1,20}$'"
CLIENT_IDS = r"'^[\.A-Z\:/a-z0-9_-]{1,36}$'"


@pytest.fixture
def api(clock):  # noqa: F811
    return make_api(clock)


def assert_refused(answer, code: int, *words: str) -> None:
    status, body = answer
    assert status == 400, body
    assert body["code"] == code, body
    for word in words:
        assert word in body["msg"], body


def assert_nothing_booked(api) -> None:
    assert ledger(api)["orders"] == []
    assert ledger(api)["balances"]["USDT"] == {"free": 10_000.0, "locked": 0.0}


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("price", "1e308"),  # a 500 -1000 before: the grid check overflowed
        ("price", "1E2"),
        ("price", "1_00"),
        ("price", "\uff11\uff10\uff10"),  # full-width digits
        ("price", " 100"),
        ("price", "100 "),
        ("price", "+100"),
        ("price", "-100"),
        ("price", "100."),
        ("price", ".5"),
        ("price", "nan"),
        ("price", "inf"),
        ("price", "0x64"),
        ("quantity", "1_0"),  # placed as 10 before
        ("quantity", "\uff11"),
        ("quantity", " 1"),
        ("quantity", "1e0"),
        ("quantity", "123456789012345678901"),  # 21 digits
    ],
)
def test_order_when_number_off_binance_pattern_then_1100_naming_it_and_nothing_booked(
    api, field, raw
):
    params = {"type": "LIMIT", "timeInForce": "GTC", "price": "100", "quantity": "1"}
    assert_refused(order(api, side="BUY", **{**params, field: raw}), -1100, f"'{field}'", DECIMALS)
    assert_nothing_booked(api)


@pytest.mark.parametrize("raw", ["1e308", "1_000", "\uff11\uff10\uff10\uff10", " 1000"])
def test_market_order_when_quote_qty_off_pattern_then_1100(api, raw):
    answer = order(api, side="BUY", type="MARKET", quoteOrderQty=raw)
    assert_refused(answer, -1100, "'quoteOrderQty'", DECIMALS)
    assert_nothing_booked(api)


def test_market_order_when_quote_qty_huge_but_well_formed_then_lot_size_filter(api):
    answer = order(api, side="BUY", type="MARKET", quoteOrderQty="99999999999999999999")
    assert_refused(answer, -1013, "LOT_SIZE")
    assert_nothing_booked(api)


def test_limit_order_when_price_above_max_price_then_price_filter(api):
    params = {"type": "LIMIT", "timeInForce": "GTC", "quantity": "1"}
    assert_refused(order(api, side="SELL", price="99999999999999999999", **params), -1013,
                   "PRICE_FILTER")  # fmt: skip
    assert_nothing_booked(api)


@pytest.mark.parametrize(
    ("field", "raw"), [("quantity", "1.000000001"), ("price", "100.000000001")]
)
def test_order_when_more_places_than_precision_then_1111(api, field, raw):
    params = {"type": "LIMIT", "timeInForce": "GTC", "price": "100", "quantity": "1"}
    assert_refused(order(api, side="BUY", **{**params, field: raw}), -1111, f"'{field}'")
    assert_nothing_booked(api)


def test_order_when_trailing_zeros_past_precision_then_accepted(api):
    status, body = order(api, side="BUY", type="MARKET", quantity="1.0000000000")
    assert status == 200, body


@pytest.mark.parametrize(
    "client_id",
    [
        "x" * 37,
        "x" * 10_000,  # accepted before
        "has space",
        "semi;colon",
        "ü-umlaut",
        "pg-1-tp1-1\n",
        "plus+sign",
    ],
)
def test_order_when_client_id_off_binance_alphabet_or_over_36_then_1100(api, client_id):
    answer = order(api, side="BUY", type="MARKET", quantity="1", newClientOrderId=client_id)
    assert_refused(answer, -1100, "'newClientOrderId'", CLIENT_IDS)
    assert_nothing_booked(api)


@pytest.mark.parametrize("client_id", ["x" * 36, "pg-12-tp1-3", "A.b:c/d_e-f", "x-R4BD3S82abc"])
def test_order_when_client_id_of_binance_alphabet_up_to_36_then_placed_under_it(api, client_id):
    status, body = order(api, side="BUY", type="MARKET", quantity="1", newClientOrderId=client_id)
    assert status == 200, body
    assert body["clientOrderId"] == client_id


def test_query_when_orig_client_id_illegal_then_1100_not_2013(api):
    answer = signed(api, "GET", "/api/v3/order",
                    {"symbol": "RSTUSDT", "origClientOrderId": "x" * 37})  # fmt: skip
    assert_refused(answer, -1100, "'origClientOrderId'", CLIENT_IDS)


@pytest.mark.parametrize("raw", ["abc", "-1", "1_0", "\uff11", " 1", "1.0"])
def test_query_when_order_id_not_an_integer_then_1100(api, raw):
    answer = signed(api, "GET", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": raw})
    assert_refused(answer, -1100, "'orderId'", INTEGERS)


def test_query_when_order_id_unknown_then_2013(api):
    answer = signed(api, "GET", "/api/v3/order", {"symbol": "RSTUSDT", "orderId": "99"})
    assert_refused(answer, -2013, "Order does not exist.")


def all_orders(api, **params):
    return signed(api, "GET", "/api/v3/allOrders", {"symbol": "RSTUSDT", **params})


@pytest.mark.parametrize(
    ("field", "raw"),
    [("orderId", "abc"), ("startTime", "abc"), ("endTime", "1e12"), ("startTime", "-5"),
     ("limit", "abc"), ("limit", "-1"), ("limit", "1_0"), ("limit", "\uff12")],
)  # fmt: skip
def test_all_orders_when_parameter_not_an_integer_then_1100_naming_it(api, field, raw):
    order(api, side="BUY", type="MARKET", quantity="1")
    assert_refused(all_orders(api, **{field: raw}), -1100, f"'{field}'", INTEGERS)


def test_all_orders_when_limit_zero_then_1130(api):
    assert_refused(all_orders(api, limit="0"), -1130, "'limit'")


def test_all_orders_when_start_after_end_then_1128(api):
    assert_refused(all_orders(api, startTime="20", endTime="10"), -1128)


def test_all_orders_when_limit_above_most_then_served_at_most(api):
    for _ in range(3):
        order(api, side="BUY", type="MARKET", quantity="1")
    status, body = all_orders(api, limit="5000")
    assert status == 200 and len(body) == 3
    status, body = all_orders(api, limit="2")
    assert status == 200 and [o["orderId"] for o in body] == [1, 2]


@pytest.mark.parametrize("field", ["orderId", "fromId", "startTime", "limit"])
def test_my_trades_when_parameter_not_an_integer_then_1100(api, field):
    answer = signed(api, "GET", "/api/v3/myTrades", {"symbol": "RSTUSDT", field: "1_0"})
    assert_refused(answer, -1100, f"'{field}'", INTEGERS)


@pytest.mark.parametrize(("field", "raw"), [("timestamp", "1_0"), ("recvWindow", "\uff15000")])
def test_signed_request_when_timestamp_or_window_not_an_integer_then_1100(api, field, raw):
    answer = signed(api, "GET", "/api/v3/account", {field: raw})
    assert_refused(answer, -1100, f"'{field}'")


@pytest.mark.parametrize(
    ("field", "raw"), [("startTime", "1_0"), ("limit", "-1"), ("endTime", "x")]
)
def test_klines_when_parameter_not_an_integer_then_1100(api, field, raw):
    status, body = api.handle(
        "GET", "/api/v3/klines", {"symbol": "RSTUSDT", "interval": "1m", field: raw}
    )
    assert (status, body["code"]) == (400, -1100), body
    assert f"'{field}'" in body["msg"]


# -- USD-M futures: the same reading ---------------------------------------------------


@pytest.fixture
def futures(clock):  # noqa: F811
    return _futures_api(clock)


def _futures_api(clock):  # noqa: F811
    from profitguard.tooling.exchange.feeds import scripted_source
    from profitguard.tooling.exchange.private import Credentials
    from profitguard.tooling.exchange.server import ReplayOptions, build_api
    from tests.unit.test_exchange_futures_private import KEY, PAIR, PRICES, SECRET, T0

    replay = ReplayOptions(seconds_per_candle=1, timeframe="1m",
                           sources={PAIR: scripted_source(PRICES, "1m", history=5)})  # fmt: skip
    clock.now = T0
    return build_api(datadir=None, replay=replay, now_ms=T0, clock=clock,
                     credentials=Credentials(KEY, SECRET), balances={"USDT": 1000.0})  # fmt: skip


def futures_order(api, **params):
    from tests.unit.test_exchange_futures_private import SYMBOL
    from tests.unit.test_exchange_futures_private import signed as fsigned

    return fsigned(api, "POST", "/fapi/v1/order", {"symbol": SYMBOL, **params})


@pytest.mark.parametrize(
    ("field", "raw"),
    [("quantity", "1_0"), ("quantity", "1e308"), ("price", "\uff11\uff10\uff10"), ("price", " 1")],
)
def test_futures_order_when_number_off_pattern_then_1100(futures, field, raw):
    params = {"side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "price": "100",
              "quantity": "1"}  # fmt: skip
    assert_refused(futures_order(futures, **{**params, field: raw}), -1100, f"'{field}'")


def test_futures_order_when_client_id_over_36_then_1100(futures):
    answer = futures_order(futures, side="SELL", type="MARKET", quantity="1",
                           newClientOrderId="y" * 37)  # fmt: skip
    assert_refused(answer, -1100, "'newClientOrderId'", CLIENT_IDS)
