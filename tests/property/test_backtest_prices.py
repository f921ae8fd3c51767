"""The candle model's prices are Freqtrade's: an exit put on the tick as
`price_to_precision` puts it, a stop held as `Trade.adjust_stop_loss` holds it.

Freqtrade's own functions are the reference; the engine never imports them."""

from __future__ import annotations

from ccxt import ROUND_DOWN, ROUND_UP, TICK_SIZE
from freqtrade.exchange import price_to_precision
from hypothesis import given
from hypothesis import strategies as st

from profitguard.engine import exit_price, held_stop

TICKS = st.sampled_from([1.0, 0.5, 0.1, 0.01, 0.05, 0.0001, 1e-8, 0.25])
PRICES = st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False)


@given(PRICES, TICKS)
def test_exit_price_when_any_price_then_freqtrades_rounding(price, tick):
    assert exit_price(price, tick) == price_to_precision(price, tick, TICK_SIZE)


@given(PRICES, TICKS, st.booleans())
def test_held_stop_when_off_the_noise_then_freqtrades_stop(price, tick, is_short):
    ours = held_stop(price, tick, is_short)
    theirs = price_to_precision(
        price, tick, TICK_SIZE, rounding_mode=ROUND_DOWN if is_short else ROUND_UP
    )
    # the engine reads a stop within a billionth of a tick of the grid as on it (its
    # own float noise); elsewhere it holds the stop exactly where Freqtrade does
    n = price / tick
    if abs(n - round(n)) > 2e-9:  # clear of the boundary, in float arithmetic
        assert ours == theirs
    else:
        assert abs(ours - theirs) <= tick * (1 + 1e-9)
