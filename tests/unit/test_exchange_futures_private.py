"""The offline exchange's signed /fapi endpoints: auth, positions, margin, reduce-only,
stops, funding and the ledger (no sockets, a clock the test moves)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.private import Credentials, sign
from profitguard.tooling.exchange.server import ReplayOptions, build_api

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC: a funding moment
EIGHT_HOURS = 8 * 3600 * 1000
KEY, SECRET = "fut-key", "fut-secret-never-logged"
PAIR, SYMBOL = "BTC/USDT:USDT", "BTCUSDT"
# 1m candles replayed at 1 s each: 100 for 10 candles, then -1 a candle down to 80
PRICES = [100.0] * 11 + [100.0 - i for i in range(1, 21)]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def api(clock):
    replay = ReplayOptions(
        seconds_per_candle=1,
        timeframe="1m",
        sources={PAIR: scripted_source(PRICES, "1m", history=5)},
    )
    return build_api(
        datadir=None,
        replay=replay,
        now_ms=T0,
        clock=clock,
        credentials=Credentials(KEY, SECRET),
        balances={"USDT": 1000.0},
    )


def signed(api, method, path, params=None, *, key=KEY, secret=SECRET):
    query = urlencode({**(params or {}), "timestamp": api.clock()})
    query += "&signature=" + sign(secret, query)
    post = method == "POST"
    return api.handle(
        method, path, {}, raw_query="" if post else query, body=query if post else "",
        headers={"X-MBX-APIKEY": key},
    )  # fmt: skip


def ok(answer):
    status, body = answer
    assert status == 200, body
    return body


def numbers(view: dict) -> tuple[float, float]:
    return float(view["executedQty"]), float(view["avgPrice"])


def order(api, **params):
    return signed(api, "POST", "/fapi/v1/order", {"symbol": SYMBOL, **params})


def position(api) -> dict:
    return ok(signed(api, "GET", "/fapi/v3/positionRisk", {"symbol": SYMBOL}))[0]


def usdt(api) -> dict:
    return next(a for a in ok(signed(api, "GET", "/fapi/v3/account"))["assets"])


def ledger(api) -> dict:
    return api.handle("GET", "/_profitguard/ledger", {})[1]


def short_three_at_3x(api) -> dict:
    ok(signed(api, "POST", "/fapi/v1/marginType", {"symbol": SYMBOL, "marginType": "ISOLATED"}))
    ok(signed(api, "POST", "/fapi/v1/leverage", {"symbol": SYMBOL, "leverage": 3}))
    return ok(order(api, side="SELL", type="MARKET", quantity="3"))


# -- authentication ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "secret", "code"),
    [("", SECRET, -2014), ("wrong-key", SECRET, -2015), (KEY, "wrong-secret", -1022)],
)
def test_fapi_signed_request_when_key_or_signature_wrong_then_refused_and_nothing_booked(
    api, key, secret, code
):
    status, body = signed(
        api, "POST", "/fapi/v1/order",
        {"symbol": SYMBOL, "side": "SELL", "type": "MARKET", "quantity": "1"},
        key=key, secret=secret,
    )  # fmt: skip
    assert (status >= 400, body["code"]) == (True, code)
    assert ledger(api)["orders"] == [] and float(position(api)["positionAmt"]) == 0.0


def test_fapi_signed_request_when_timestamp_stale_then_1021(api, clock):
    query = urlencode({"timestamp": clock.now - 10_000})
    query += "&signature=" + sign(SECRET, query)
    status, body = api.handle(
        "GET", "/fapi/v3/account", {}, raw_query=query, headers={"X-MBX-APIKEY": KEY}
    )
    assert (status, body["code"]) == (400, -1021)


# -- positions, margin and fees ---------------------------------------------------------


def test_short_when_sold_at_3x_isolated_then_margin_is_a_third_and_fee_charged(api):
    entry = short_three_at_3x(api)
    price = float(entry["avgPrice"])
    assert (entry["status"], entry["reduceOnly"], entry["positionSide"]) == (
        "FILLED", False, "BOTH",
    )  # fmt: skip
    pos = position(api)
    assert float(pos["positionAmt"]) == -3.0 and pos["marginType"] == "isolated"
    assert float(pos["isolatedWallet"]) == pytest.approx(3 * price / 3)
    assert float(pos["liquidationPrice"]) > price * 1.3
    fee = 3 * price * 0.0005  # taker
    asset = usdt(api)
    assert float(asset["walletBalance"]) == pytest.approx(1000 - fee)
    assert float(asset["availableBalance"]) == pytest.approx(1000 - fee - price, abs=1e-6)


def test_reduce_only_buy_when_price_fell_then_pnl_realized_to_wallet(api, clock):
    entry = short_three_at_3x(api)
    price = float(entry["avgPrice"])
    clock.now += 15_000  # the path is at 96 now
    cover = ok(order(api, side="BUY", type="MARKET", quantity="1", reduceOnly="true"))
    cover_price = float(cover["avgPrice"])
    assert cover_price < price - 3
    trades = ok(signed(api, "GET", "/fapi/v1/userTrades", {"symbol": SYMBOL}))
    assert float(trades[-1]["realizedPnl"]) == pytest.approx(price - cover_price)
    fees = 3 * price * 0.0005 + cover_price * 0.0005
    assert float(usdt(api)["walletBalance"]) == pytest.approx(
        1000 + price - cover_price - fees, abs=1e-6
    )
    pos = position(api)
    assert float(pos["positionAmt"]) == -2.0
    assert float(pos["isolatedWallet"]) == pytest.approx(2 * price / 3)
    book = ledger(api)
    assert [(o["side"], o["reduce_only"], o["position_side"]) for o in book["orders"]] == [
        ("sell", False, "BOTH"),
        ("buy", True, "BOTH"),
    ]
    assert book["fills"][-1]["realized_pnl"] == pytest.approx(price - cover_price)
    assert book["futures"]["positions"][PAIR]["amount"] == -2.0


@pytest.mark.parametrize(
    ("side", "qty"),
    [("BUY", "3.5"), ("SELL", "1")],  # over-close (would flip), or grow the short
)
def test_reduce_only_when_it_would_flip_or_grow_then_2022_and_nothing_booked(api, side, qty):
    short_three_at_3x(api)
    status, body = order(api, side=side, type="MARKET", quantity=qty, reduceOnly="true")
    assert (status, body) == (400, {"code": -2022, "msg": "ReduceOnly Order is rejected."})
    assert len(ledger(api)["orders"]) == 1
    assert float(position(api)["positionAmt"]) == -3.0


def test_reduce_only_when_no_position_then_2022(api):
    _status, body = order(api, side="BUY", type="MARKET", quantity="1", reduceOnly="true")
    assert body["code"] == -2022 and ledger(api)["orders"] == []


def test_order_when_margin_short_then_2019_and_nothing_booked(api):
    ok(signed(api, "POST", "/fapi/v1/leverage", {"symbol": SYMBOL, "leverage": 1}))
    status, body = order(api, side="SELL", type="MARKET", quantity="11")  # ~1100 > 1000
    assert (status, body["code"]) == (400, -2019)
    assert ledger(api)["orders"] == []


def test_reduce_only_when_below_min_notional_then_allowed_other_orders_refused(api):
    short_three_at_3x(api)
    status, body = order(api, side="SELL", type="MARKET", quantity="0.01")  # 1 USDT
    assert (status, body["code"]) == (400, -4164)
    cover = ok(order(api, side="BUY", type="MARKET", quantity="0.01", reduceOnly="true"))
    assert cover["status"] == "FILLED"


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/fapi/v1/leverage", {"leverage": 0}, -4028),
        ("/fapi/v1/leverage", {"leverage": 500}, -4028),
        ("/fapi/v1/marginType", {"marginType": "CROSSED"}, -4046),  # already (default)
        ("/fapi/v1/marginType", {"marginType": "BOTH"}, -1116),
    ],
)
def test_settings_when_invalid_then_binance_error(api, path, params, code):
    status, body = signed(api, "POST", path, {"symbol": SYMBOL, **params})
    assert (status, body["code"]) == (400, code)


def test_margin_type_when_position_open_then_4048(api):
    short_three_at_3x(api)
    _status, body = signed(
        api, "POST", "/fapi/v1/marginType", {"symbol": SYMBOL, "marginType": "CROSSED"}
    )
    assert body["code"] == -4048


# -- resting orders ---------------------------------------------------------------------


def test_limit_reduce_only_buy_when_path_reaches_it_then_fills_at_limit_as_maker(api, clock):
    short_three_at_3x(api)
    take = ok(order(api, side="BUY", type="LIMIT", quantity="1", price="95", reduceOnly="true"))
    assert take["status"] == "NEW"
    clock.now += 20_000
    got = ok(signed(api, "GET", "/fapi/v1/order", {"symbol": SYMBOL, "orderId": take["orderId"]}))
    assert (got["status"], float(got["avgPrice"])) == ("FILLED", 95.0)
    fill = ledger(api)["fills"][-1]
    assert fill["maker"] and fill["fee"] == pytest.approx(95 * 0.0002)


def algo(api, **params):
    return signed(
        api, "POST", "/fapi/v1/algoOrder", {"symbol": SYMBOL, "algoType": "CONDITIONAL", **params}
    )


def get_algo(api, algo_id) -> dict:
    return ok(signed(api, "GET", "/fapi/v1/algoOrder", {"symbol": SYMBOL, "algoId": algo_id}))


def get_order(api, order_id) -> dict:
    return ok(signed(api, "GET", "/fapi/v1/order", {"symbol": SYMBOL, "orderId": order_id}))


def test_stop_market_when_sent_as_plain_order_then_4120_use_algo_endpoint(api):
    short_three_at_3x(api)
    status, body = order(api, side="BUY", type="STOP_MARKET", stopPrice="102", quantity="3")
    assert (status, body["code"]) == (400, -4120)
    assert len(ledger(api)["orders"]) == 1


def test_take_profit_when_position_shrank_then_fills_only_the_rest_and_expires(api, clock):
    """A reduce-only conditional order sized for the whole short, after a market buy
    covered a third: when it triggers it buys back only what is left, never a long."""
    short_three_at_3x(api)
    status, body = algo(api, side="BUY", type="STOP_MARKET", triggerPrice="99", quantity="3",
                        reduceOnly="true")  # fmt: skip
    assert (status, body["code"]) == (400, -2021)  # at 100 a buy-stop at 99 triggers at once
    take = ok(algo(api, side="BUY", type="TAKE_PROFIT_MARKET", triggerPrice="96", quantity="3",
                   reduceOnly="true"))  # fmt: skip
    ok(order(api, side="BUY", type="MARKET", quantity="1", reduceOnly="true"))
    clock.now += 20_000
    done = get_algo(api, take["algoId"])
    assert done["algoStatus"] == "FINISHED"
    got = get_order(api, done["actualOrderId"])
    assert (got["status"], *numbers(got)) == ("EXPIRED", 2.0, 96.0)
    assert float(position(api)["positionAmt"]) == 0.0
    assert ok(signed(api, "GET", "/fapi/v1/openOrders", {"symbol": SYMBOL})) == []


def test_stop_market_when_price_rises_through_it_then_short_closed_at_stop(clock):
    replay = ReplayOptions(
        seconds_per_candle=1, timeframe="1m",
        sources={PAIR: scripted_source([100.0] * 11 + [100.0 + i for i in range(1, 11)], "1m",
                                       history=5)},
    )  # fmt: skip
    api = build_api(datadir=None, replay=replay, now_ms=T0, clock=clock,
                    credentials=Credentials(KEY, SECRET), balances={"USDT": 1000.0})  # fmt: skip
    short_three_at_3x(api)
    stop = ok(algo(api, side="BUY", type="STOP_MARKET", triggerPrice="102", closePosition="true",
                   clientAlgoId="stop-1"))  # fmt: skip
    assert (stop["closePosition"], stop["reduceOnly"], stop["algoStatus"]) == (True, True, "NEW")
    # not triggered: an algo order, unknown to the plain order endpoints
    assert ok(signed(api, "GET", "/fapi/v1/openOrders", {"symbol": SYMBOL})) == []
    opened = ok(signed(api, "GET", "/fapi/v1/openAlgoOrders", {"symbol": SYMBOL}))
    assert [o["clientAlgoId"] for o in opened] == ["stop-1"]
    clock.now += 20_000
    done = get_algo(api, stop["algoId"])
    assert (done["algoStatus"], float(done["actualPrice"])) == ("FINISHED", 102.0)
    got = get_order(api, done["actualOrderId"])
    assert (got["status"], *numbers(got)) == ("FILLED", 3.0, 102.0)
    assert float(position(api)["positionAmt"]) == 0.0
    book = ledger(api)
    assert book["orders"][-1]["algo_id"] == stop["algoId"]
    assert book["orders"][-1]["reduce_only"]


def test_algo_order_when_cancelled_then_canceled_and_not_open(api):
    short_three_at_3x(api)
    stop = ok(algo(api, side="BUY", type="STOP_MARKET", triggerPrice="110", quantity="3",
                   reduceOnly="true"))  # fmt: skip
    named = {"symbol": SYMBOL, "algoId": stop["algoId"]}
    gone = ok(signed(api, "DELETE", "/fapi/v1/algoOrder", named))
    assert gone["code"] == "200"
    assert get_algo(api, stop["algoId"])["algoStatus"] == "CANCELED"
    assert ok(signed(api, "GET", "/fapi/v1/openAlgoOrders", {"symbol": SYMBOL})) == []
    status, body = signed(api, "DELETE", "/fapi/v1/algoOrder", named)
    assert (status, body["code"]) == (400, -2011)


def test_cancel_when_open_then_margin_reservation_released(api):
    before = float(usdt(api)["availableBalance"])
    rest = ok(order(api, side="SELL", type="LIMIT", quantity="3", price="110"))
    # the default leverage (20x): a twentieth of the notional plus the taker fee
    assert float(usdt(api)["availableBalance"]) == pytest.approx(before - 16.5 - 0.165)
    ok(signed(api, "DELETE", "/fapi/v1/order", {"symbol": SYMBOL, "orderId": rest["orderId"]}))
    assert float(usdt(api)["availableBalance"]) == pytest.approx(before)


# -- funding ----------------------------------------------------------------------------


def test_funding_when_a_funding_moment_passes_then_short_receives_it_in_income(api, clock):
    short_three_at_3x(api)
    wallet = float(usdt(api)["walletBalance"])
    clock.now = T0 + EIGHT_HOURS + 1000
    rows = ok(signed(api, "GET", "/fapi/v1/income", {"symbol": SYMBOL,
                                                     "incomeType": "FUNDING_FEE"}))  # fmt: skip
    assert len(rows) == 1 and rows[0]["time"] == T0 + EIGHT_HOURS
    mark = 80.0  # the path ended long before
    assert float(rows[0]["income"]) == pytest.approx(3 * mark * 0.0001)  # shorts receive
    assert float(usdt(api)["walletBalance"]) == pytest.approx(wallet + 3 * mark * 0.0001)
    clock.now += 1000
    assert len(ok(signed(api, "GET", "/fapi/v1/income", {"incomeType": "FUNDING_FEE"}))) == 1


def test_funding_when_position_opened_after_the_moment_then_not_charged_for_it(clock):
    """A resting order that opened the position 8 s after a funding moment, seen by a
    request later: the position was flat at that moment and pays nothing for it."""
    clock.now = T0 - 5000
    replay = ReplayOptions(
        seconds_per_candle=1, timeframe="1m",
        sources={PAIR: scripted_source(PRICES, "1m", history=5)},
    )  # fmt: skip
    api = build_api(datadir=None, replay=replay, now_ms=clock.now, clock=clock,
                    credentials=Credentials(KEY, SECRET), balances={"USDT": 1000.0})  # fmt: skip
    ok(order(api, side="BUY", type="LIMIT", quantity="1", price="97"))  # opens a long
    clock.now = T0 + 20_000
    assert float(position(api)["positionAmt"]) == 1.0
    kind = {"incomeType": "FUNDING_FEE"}
    assert ok(signed(api, "GET", "/fapi/v1/income", kind)) == []
    clock.now = T0 + EIGHT_HOURS + 1
    rows = ok(signed(api, "GET", "/fapi/v1/income", kind))
    assert [(r["time"], float(r["income"])) for r in rows] == [
        (T0 + EIGHT_HOURS, pytest.approx(-80 * 0.0001))  # a long pays
    ]


# -- what Freqtrade asks at start-up ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/fapi/v1/positionSide/dual", {"dualSidePosition": False}),
        ("/fapi/v1/multiAssetsMargin", {"multiAssetsMargin": False}),
    ],
)
def test_startup_checks_when_asked_then_one_way_single_asset(api, path, expected):
    assert ok(signed(api, "GET", path)) == expected
    assert api.stats()["unserved"] == {}
