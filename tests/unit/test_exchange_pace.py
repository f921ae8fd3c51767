"""A held replay stands still until the bot asks for a price, and changes no past answer."""

from __future__ import annotations

import numpy as np
import pytest

from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.pace import ReplayPace
from profitguard.tooling.exchange.server import ReplayOptions, build_api

T0 = 1_767_225_600_000
PRICES = [100.0] * 6 + [100.0 + i for i in range(1, 60)]  # candle k opens at PRICES[k]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def make_api(clock, *, held):
    replay = ReplayOptions(
        seconds_per_candle=1,
        timeframe="1m",
        held=held,
        sources={"RST/USDT": scripted_source(PRICES, "1m", history=5)},
    )
    return build_api(datadir=None, replay=replay, now_ms=T0, clock=clock)


def last_price(api) -> float:
    return float(api.handle("GET", "/api/v3/ticker/price", {"symbol": "RSTUSDT"})[1]["price"])


def klines(api, **q) -> list:
    return api.handle("GET", "/api/v3/klines", {"symbol": "RSTUSDT", "interval": "1m", **q})[1]


def test_pace_when_running_then_identity_and_inverse():
    pace = ReplayPace(T0)
    t = np.array([T0 - 5000, T0, T0 + 1234])
    assert pace.replay_ms(t).tolist() == t.astype(float).tolist()
    assert pace.wall_ms(T0 + 1234) == T0 + 1234


def test_pace_when_held_then_stands_still_and_resumes_where_it_stood():
    pace = ReplayPace(T0)
    pace.hold(T0 + 10_000)
    assert float(pace.replay_ms(T0 + 50_000)) == T0 + 10_000
    assert pace.wall_ms(T0 + 10_001) == float("inf")
    pace.release(T0 + 60_000)
    assert float(pace.replay_ms(T0 + 61_000)) == T0 + 11_000
    assert pace.wall_ms(T0 + 11_000) == T0 + 61_000  # the first time it gets there
    assert pace.wall_ms(T0 + 5_000) == T0 + 5_000  # before the hold: as it was


def test_pace_when_price_request_and_waiting_then_released_other_requests_not():
    pace = ReplayPace(T0, held=True)
    pace.priced("/api/v3/klines", T0 + 5_000)
    pace.priced("/api/v3/exchangeInfo", T0 + 6_000)
    assert pace.held
    pace.priced("/api/v3/depth", T0 + 7_000)
    assert not pace.held
    assert float(pace.replay_ms(T0 + 9_000)) == T0 + 2_000


def test_held_replay_when_started_then_price_waits_for_the_first_price_request():
    clock = Clock()
    api = make_api(clock, held=True)
    clock.now = T0 + 30_000  # 30 candles of wall time while the bot starts
    assert klines(api)[-1][4] == "100.00000000"
    first = last_price(api)  # the bot's first look at the price: the replay starts
    assert first == 100.0
    clock.now += 8_000  # 8 source candles on from the start (38 without the hold)
    assert last_price(api) == pytest.approx(108.0)


@pytest.mark.parametrize("held", [False, True])
def test_replay_when_held_mid_run_then_flat_until_priced_and_history_unchanged(held):
    clock = Clock()
    api = make_api(clock, held=False)
    clock.now = T0 + 10_000
    before = klines(api, endTime=str(T0 + 9_000))
    price = last_price(api)
    api.pace.hold(clock.now)
    clock.now += 120_000  # the bot stopped and restarted: two minutes
    assert klines(api, endTime=str(T0 + 9_000)) == before  # the past is as it was
    assert last_price(api) == price  # the restarted bot's first price: as held
    clock.now += 3_000
    assert last_price(api) == pytest.approx(price + 3)


def test_resting_order_when_replay_held_then_not_filled_until_the_price_moves_again():
    from profitguard.tooling.exchange.private import Credentials
    from tests.unit.test_exchange_private import KEY, SECRET, signed

    clock = Clock()
    source = scripted_source(PRICES, "1m", history=5)
    replay = ReplayOptions(seconds_per_candle=1, timeframe="1m", sources={"RST/USDT": source})
    api = build_api(datadir=None, replay=replay, now_ms=T0, clock=clock,
                    credentials=Credentials(KEY, SECRET), balances={"USDT": 10_000.0})  # fmt: skip
    clock.now = T0 + 1_000  # 101
    params = {"symbol": "RSTUSDT", "side": "BUY", "type": "MARKET", "quantity": "2"}
    assert signed(api, "POST", "/api/v3/order", params)[0] == 200
    limit = {"symbol": "RSTUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
             "price": "104", "quantity": "1.99"}  # fmt: skip
    status, placed = signed(api, "POST", "/api/v3/order", limit)
    assert status == 200 and placed["status"] == "NEW", placed
    api.pace.hold(clock.now)
    clock.now += 60_000
    query = {"symbol": "RSTUSDT", "orderId": str(placed["orderId"])}
    assert signed(api, "GET", "/api/v3/order", query)[1]["status"] == "NEW"
    last_price(api)  # released
    clock.now += 4_000
    status, after = signed(api, "GET", "/api/v3/order", query)
    assert after["status"] == "FILLED"
    assert after["updateTime"] > T0 + 61_000  # filled after the hold, not inside it
