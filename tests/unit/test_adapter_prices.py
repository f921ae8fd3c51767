"""Candle prices snapped onto the tick: float noise only, never a real price."""

import numpy as np
import pytest
from pandas import DataFrame

from profitguard.freqtrade.prices import price_tick, snap_candles, snap_to_tick


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


def test_snap_candles_when_only_the_low_is_noisy_then_only_the_low_is_replaced():
    """A replaced column keeps the old one's memory alive for the whole backtest (the
    frame's other columns view that block): clean columns stay as they are."""
    frame = DataFrame({
        "open": [0.0435, 0.0436], "high": [0.0437, 0.0438],
        "low": [0.043500000000000004, 0.0434], "close": [0.0436, 0.0437], "volume": [1.0, 2.0],
    })  # fmt: skip
    before = {c: frame[c].to_numpy() for c in frame.columns}
    snapped = snap_candles(frame, 1e-4)
    assert snapped["low"].tolist() == [0.0435, 0.0434]
    for column in ("open", "high", "close", "volume"):
        assert np.shares_memory(snapped[column].to_numpy(), before[column]), column
    assert not np.shares_memory(snapped["low"].to_numpy(), before["low"])
