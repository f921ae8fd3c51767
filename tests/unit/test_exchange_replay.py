import re

import numpy as np
import pytest

from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.ohlcv import MINUTE_MS, Candles
from profitguard.tooling.exchange.replay import (
    PricePath,
    ReplayClock,
    replay_klines,
    scripted_candles,
)

T0 = 1_767_225_600_000  # aligned to every interval up to a day
FIVE_MIN = 5 * MINUTE_MS


def make_candles(rows) -> Candles:
    """rows of (open, high, low, close, volume), 5m apart."""
    arr = np.asarray(rows, dtype=float)
    return Candles.from_columns(np.arange(len(arr)) * FIVE_MIN, *arr.T)


RISING = (100, 110, 95, 105, 30)  # walks 100 -> 95 -> 110 -> 105
FALLING = (105, 112, 90, 92, 60)  # walks 105 -> 112 -> 90 -> 92


def clock(start_index=0, history_ms=FIVE_MIN, live_ms=FIVE_MIN, t0=T0) -> ReplayClock:
    return ReplayClock(
        t0_ms=t0,
        start_index=start_index,
        history_ms_per_candle=history_ms,
        live_ms_per_candle=live_ms,
    )


def test_position_when_before_and_after_t0_then_history_and_live_rates():
    c = clock(start_index=10, history_ms=FIVE_MIN, live_ms=2000)
    assert c.position(T0) == 10
    assert c.position(T0 - 2 * FIVE_MIN) == 8
    assert c.position(T0 + 3000) == 11.5
    assert c.time_at(8) == T0 - 2 * FIVE_MIN
    assert c.time_at(11.5) == T0 + 3000


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("live_ms_per_candle", {"live_ms": 0}),
        ("history_ms_per_candle", {"history_ms": -1}),
        ("start_index", {"start_index": -1}),
    ],
)
def test_replay_clock_when_invalid_then_raises(field, kwargs):
    with pytest.raises(ValueError, match=field):
        clock(**kwargs)


def test_price_at_when_rising_candle_then_low_before_high():
    path = PricePath(make_candles([RISING]))
    assert path.price_at([0, 1 / 3, 2 / 3]).tolist() == pytest.approx([100, 95, 110])
    assert path.price_at(1 / 6) == pytest.approx(97.5)


def test_price_at_when_falling_candle_then_high_before_low():
    path = PricePath(make_candles([FALLING]))
    assert path.price_at([0, 1 / 3, 2 / 3]).tolist() == pytest.approx([105, 112, 90])


def test_price_before_when_at_boundary_then_previous_close_and_open_after():
    path = PricePath(make_candles([RISING, FALLING]))
    assert path.price_before(1.0) == pytest.approx(105)
    assert path.price_at(1.0) == pytest.approx(105)  # FALLING opens where RISING closed
    assert path.price_before(2.0) == pytest.approx(92)


def test_price_at_when_past_the_end_then_last_close():
    path = PricePath(make_candles([RISING, FALLING]))
    assert path.price_at(7.5) == pytest.approx(92)


def test_aggregate_when_whole_candles_then_equal_to_the_candles():
    data = make_candles([RISING, FALLING])
    agg = PricePath(data).aggregate(np.array([0.0, 1.0, 0.0]), np.array([1.0, 2.0, 2.0]))
    assert agg.open.tolist() == [100, 105, 100]
    assert agg.high.tolist() == [110, 112, 112]
    assert agg.low.tolist() == [95, 90, 90]
    assert agg.close.tolist() == [105, 92, 92]
    assert agg.volume.tolist() == [30, 60, 90]


def test_aggregate_when_part_of_a_candle_then_walk_extremes_and_share_of_volume():
    agg = PricePath(make_candles([RISING])).aggregate(np.array([0.5]), np.array([0.8]))
    # 0.5 is halfway from the low (95) to the high (110); 0.8 is between high and close
    assert agg.open[0] == pytest.approx(102.5)
    assert agg.high[0] == pytest.approx(110)
    assert agg.close[0] == pytest.approx(108)  # 40% of the way from 110 to 105
    assert agg.low[0] == pytest.approx(102.5)
    assert agg.volume[0] == pytest.approx(9)


def test_replay_klines_when_real_time_then_served_candles_equal_source():
    source = make_candles([RISING, FALLING, RISING, FALLING])
    c = clock(start_index=2)  # candles 0 and 1 are history, 2 and 3 replayed in real time
    out = replay_klines(
        PricePath(source), c, interval_ms=FIVE_MIN, now_ms=T0 + 2 * FIVE_MIN,
        start_ms=None, end_ms=None, limit=500,
    )  # fmt: skip
    assert out.ts.tolist() == [T0 + k * FIVE_MIN for k in (-2, -1, 0, 1, 2)]
    assert out.open[:4].tolist() == source.open.tolist()
    assert out.high[:4].tolist() == source.high.tolist()
    assert out.close[:4].tolist() == source.close.tolist()
    # the candle opening now has not started to move yet (data ended: flat)
    assert out.volume[4] == 0


def test_replay_klines_when_fast_then_current_candle_partial_and_compressed():
    source = make_candles([RISING, FALLING] * 5)
    c = clock(start_index=2, live_ms=1000)  # a source candle per second after t0
    now = T0 + 3500  # 3.5 source candles into the replay
    out = replay_klines(
        PricePath(source), c, interval_ms=MINUTE_MS, now_ms=now,
        start_ms=None, end_ms=None, limit=2,
    )  # fmt: skip
    assert out.ts.tolist() == [T0 - MINUTE_MS, T0]
    current = out.slice(1, 2)
    assert current.open[0] == pytest.approx(100)  # source candle 2 opens at t0
    assert current.close[0] == pytest.approx(PricePath(source).price_at(5.5))
    assert current.high[0] == 112
    assert current.low[0] == 90
    assert current.volume[0] == pytest.approx(30 + 60 + 30 + 30)


def test_replay_klines_when_start_time_given_then_first_candles_from_it():
    source = make_candles([RISING] * 20)
    c = clock(start_index=20)
    out = replay_klines(
        PricePath(source), c, interval_ms=FIVE_MIN, now_ms=T0,
        start_ms=T0 - 10 * FIVE_MIN + 1, end_ms=None, limit=3,
    )  # fmt: skip
    assert out.ts.tolist() == [T0 - k * FIVE_MIN for k in (9, 8, 7)]


def test_replay_klines_when_before_the_data_then_nothing():
    source = make_candles([RISING] * 3)
    out = replay_klines(
        PricePath(source), clock(start_index=3), interval_ms=FIVE_MIN, now_ms=T0,
        start_ms=None, end_ms=T0 - 4 * FIVE_MIN, limit=10,
    )  # fmt: skip
    assert len(out) == 0


def test_scripted_candles_when_prices_given_then_candle_per_step_with_wiggle():
    c = scripted_candles([100, 102, 101], start_ms=0, timeframe_ms=MINUTE_MS, wiggle=0.01)
    assert c.open.tolist() == [100, 102]
    assert c.close.tolist() == [102, 101]
    assert c.high.tolist() == pytest.approx([103.02, 103.02])
    assert c.low.tolist() == pytest.approx([99, 99.99])


@pytest.mark.parametrize("prices", [[100], [100, -1], [[1, 2]]])
def test_scripted_candles_when_invalid_then_raises(prices):
    with pytest.raises(ValueError, match="at least two positive prices"):
        scripted_candles(prices, start_ms=0, timeframe_ms=MINUTE_MS)


def test_scripted_source_when_history_too_long_then_raises():
    with pytest.raises(ValueError, match=re.escape("'history' must be in 0..2, was 3")):
        scripted_source([1, 2, 3], "1m", history=3)
