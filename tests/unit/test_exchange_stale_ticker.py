"""The `stale_ticker` fault: a pair's prices stop updating while its candles go on."""

from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.server import ReplayOptions, build_api

T0 = 1_767_225_600_000


def api_at(tmp_path, clock, faults):
    """A replay (one 1m candle a second) of two rising pairs on a clock of the test's."""
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={
            "BTC/USDT": scripted_source([60000.0 + 100 * i for i in range(300)], "1m", history=10),
            "ETH/USDT": scripted_source([3000.0 + 10 * i for i in range(300)], "1m", history=10),
        },
    )
    return build_api(datadir=None, replay=replay, now_ms=T0, clock=lambda: clock[0], faults=faults)


def price(api, path, symbol):
    status, body = api.handle("GET", "/api/v3/" + path, {"symbol": symbol})
    assert status == 200, body
    return body


def test_stale_ticker_when_fired_then_pair_prices_frozen_other_pair_and_candles_move(tmp_path):
    plan = FaultPlan.from_dict(
        {"faults": [{"kind": "stale_ticker", "endpoint": "GET /api/v3/* BTC/USDT",
                     "probability": 1.0, "after": 1}]}
    )  # fmt: skip
    clock = [T0]
    api = api_at(tmp_path, clock, plan)
    first = price(api, "ticker/price", "BTCUSDT")["price"]  # skipped (after 1): live
    frozen = price(api, "ticker/price", "BTCUSDT")["price"]  # fires: frozen from here
    book = price(api, "depth", "BTCUSDT")
    eth = price(api, "ticker/price", "ETHUSDT")["price"]
    clock[0] += 50_000  # 50 candles later
    assert price(api, "ticker/price", "BTCUSDT")["price"] == frozen == first
    assert price(api, "depth", "BTCUSDT")["bids"] == book["bids"]
    assert price(api, "ticker/price", "ETHUSDT")["price"] != eth  # only the named pair
    status, klines = api.handle(
        "GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": "1"}
    )
    assert status == 200 and float(klines[-1][4]) > float(frozen)  # candles went on
    assert plan.injected["stale_ticker"] == 4  # every BTC price answer after the first


def test_stale_ticker_when_no_fault_then_prices_move(tmp_path):
    clock = [T0]
    api = api_at(tmp_path, clock, FaultPlan.none())
    before = price(api, "ticker/price", "BTCUSDT")["price"]
    clock[0] += 50_000  # 50 candles later
    assert price(api, "ticker/price", "BTCUSDT")["price"] != before
