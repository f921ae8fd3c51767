"""Candle prices snapped onto the tick: float noise only, never a real price."""

import numpy as np
import pytest

from profitguard.freqtrade.prices import price_tick, snap_to_tick


def test_snap_when_low_is_one_ulp_above_the_tick_then_the_ticks_float():
    noisy = np.array([5.924000000000001e-05, 0.043500000000000004, 6.0990000000000004e-05])
    assert snap_to_tick(noisy, 1e-8).tolist() == [5.924e-05, 0.0435, 6.099e-05]


def test_snap_when_price_is_genuinely_off_the_tick_then_unchanged():
    off = np.array([5.9245e-05, 100.05])
    assert snap_to_tick(off, 1e-8)[0] == 5.9245e-05
    assert snap_to_tick(off, 0.1)[1] == 100.05


@pytest.mark.parametrize(
    ("precision", "mode", "tick"), [(1e-8, 4, 1e-8), (8, 2, 1e-8), (5, 3, None), (None, 4, None)]
)
def test_price_tick_from_the_market_precision(precision, mode, tick):
    assert price_tick(precision, mode) == tick
