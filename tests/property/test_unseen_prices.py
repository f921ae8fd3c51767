"""Properties of `engine.unseen`: the prices a live trade did not see are exactly
those of the candles wholly between two evaluations, and observing them is what
the backtester's candle order does (`replay_candles`)."""

from datetime import UTC, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from profitguard.engine import (
    STOP_TAG,
    Candle,
    observed_prices,
    replay_candles,
    step,
    unseen_candles,
    unseen_prices,
)
from tests.property.strategies import scenarios

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def candle_series(draw):
    interval = timedelta(seconds=draw(st.sampled_from([1, 60, 300])))
    n = draw(st.integers(0, 30))
    candles = []
    for i in range(n):
        o, c = draw(st.floats(1, 1000)), draw(st.floats(1, 1000))
        high = max(o, c) + draw(st.floats(0, 50))
        low = max(min(o, c) - draw(st.floats(0, 50)), 0.5)
        candles.append(Candle(T0 + i * interval, o, high, low, c))
    draw(st.randoms()).shuffle(candles)  # the order they arrive in does not matter
    span = (n + 2) * interval.total_seconds()
    seen = T0 + timedelta(seconds=draw(st.floats(-interval.total_seconds(), span)))
    now = seen + timedelta(seconds=draw(st.floats(0, span)))
    return candles, interval, seen, now


@given(candle_series(), st.booleans())
def test_unseen_prices_are_those_of_the_candles_wholly_between_the_two_looks(series, is_short):
    candles, interval, seen, now = series
    picked = unseen_candles(candles, seen=seen, now=now, interval=interval)
    wholly = sorted(
        (c for c in candles if seen <= c.at and c.at + interval <= now), key=lambda c: c.at
    )
    assert picked == wholly
    prices = unseen_prices(candles, is_short=is_short, seen=seen, now=now, interval=interval)
    assert len(prices) == 4 * len(picked)
    for i, candle in enumerate(picked):  # each candle's prices in place, within its range
        assert prices[4 * i] == candle.open
        assert all(candle.low <= p <= candle.high for p in prices[4 * i : 4 * i + 4])
    if picked:
        assert max(prices) == max(c.high for c in picked)
        assert min(prices) == min(c.low for c in picked)


@given(scenarios(), st.data())
def test_observed_candle_when_stepped_then_same_peak_stop_and_stop_out_as_the_backtest(s, data):
    """Observing a candle's prices (no take-profit fires) reaches the stop exactly when
    the backtester's replay of that candle does, and otherwise leaves the same peak
    and stop (the levels reached set the stop, whether or not they fired)."""
    position = s.open()
    sign = -1 if s.is_short else 1
    o = data.draw(st.sampled_from(s.prices))
    a, b = data.draw(st.sampled_from(s.prices)), data.draw(st.sampled_from(s.prices))
    best, worst = (max(o, a, b), min(o, a, b)) if sign > 0 else (min(o, a, b), max(o, a, b))
    close = data.draw(st.sampled_from([o, a, b]))
    high, low = (best, worst) if sign > 0 else (worst, best)
    candle = Candle(None, o, high, low, close)
    ticks = replay_candles(position, [candle], first_is_entry=False)
    assume(not (ticks[0].decision.exit_amount and STOP_TAG not in ticks[0].decision.exit_tags))
    stopped, observed = False, position
    for price in observed_prices(candle, is_short=s.is_short):
        decision = step(observed, price, fire_take_profits=False)
        if decision.exit_amount:
            stopped = True
            break
        observed = decision.position
    replay_stopped = ticks[-1].decision.exit_tags == (STOP_TAG,)
    assert stopped == replay_stopped
    if not stopped:
        replayed = ticks[-1].decision.position
        assert observed.stop_x == replayed.stop_x
        assert observed.best_x == replayed.best_x
