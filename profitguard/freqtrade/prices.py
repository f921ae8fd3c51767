"""Candle prices as the exchange quoted them: float noise snapped back onto the tick.

Stored candles carry binary noise (a low of 5.924000000000001e-05 for a quoted
0.00005924). Freqtrade's backtester rounds an exit price to the tick, then fills it
only if it lies within the candle's low..high: an exit priced at such a low (or at
such an open when it is the low) rounds to 5.924e-05, lands just outside the
candle, rests and times out, and the trade drifts away from what the engine
decided. Snapping prices that lie within float noise of a tick onto it makes the
candle the backtester checks the one the exchange quoted; a price genuinely off
the tick (a tick size that changed since) is left alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pandas import DataFrame

from profitguard.engine.amounts import step_decimals
from profitguard.freqtrade.internals import exchange_of

PRICE_COLUMNS = ("open", "high", "low", "close")
# Noise is a few ulps; 1e-9 of the price is far below any tick and far above an ulp.
NOISE = 1e-9

# ccxt precision modes (freqtrade.exchange re-exports them from ccxt)
_DECIMAL_PLACES = 2
_TICK_SIZE = 4


def price_tick(precision: float | None, mode: int | None) -> float | None:
    """The price step from a market's precision, or None (significant digits: no step)."""
    if precision is None or mode is None:
        return None
    if mode == _TICK_SIZE:
        return float(precision)
    if mode == _DECIMAL_PLACES:
        return 10.0 ** -int(precision)
    return None


class PriceTicks:
    """Each pair's price tick, asked of Freqtrade's exchange once and kept: hyperopt's
    workers get the strategy without a live exchange, after the main process analyzed
    every pair (and asked here)."""

    def __init__(self) -> None:
        self._ticks: dict[str, float | None] = {}

    def of(self, dp: Any, pair: str) -> float | None:
        """`pair`'s tick, or None (no step, or no exchange to ask)."""
        if pair not in self._ticks:
            exchange = exchange_of(dp, "snapping candles onto the price tick")
            try:
                tick = price_tick(exchange.get_precision_price(pair), exchange.precision_mode_price)
            except AttributeError:  # no exchange (a hyperopt worker): nothing to ask
                return None
            self._ticks[pair] = tick
        return self._ticks[pair]


def snap_to_tick(values: np.ndarray, tick: float) -> np.ndarray:
    """`values` with every price within float noise of a tick replaced by that tick
    (as the float of its decimal, what Freqtrade's rounding returns)."""
    values = np.asarray(values, dtype=float)
    snapped = np.round(np.round(values / tick) * tick, step_decimals(tick))
    noise = np.abs(values - snapped) <= NOISE * np.abs(values)
    return np.where(noise, snapped, values)


def snap_candles(dataframe: DataFrame, tick: float | None) -> DataFrame:
    """The frame with its OHLC columns snapped to `tick` (unchanged without one).

    Only a column with a price to snap is replaced: a new column keeps the old one's
    memory alive beside it (the frame's other columns still view that block), a
    column's worth per pair for the whole backtest."""
    if tick is None or dataframe.empty:
        return dataframe
    for column in PRICE_COLUMNS:
        if column in dataframe.columns:
            values = dataframe[column].to_numpy()
            snapped = snap_to_tick(values, tick)
            if not np.array_equal(snapped, values):
                dataframe[column] = snapped
    return dataframe
