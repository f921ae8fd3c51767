"""The price tick a Freqtrade backtest rounds exits to, from the candles themselves.

Freqtrade's backtest rounds every exit price (and holds the stop) to a tick it reads
from the main timeframe's candles: per month, their most decimals within 14
significant digits (`get_tick_size_over_time`), so float noise beyond them does
not count. A month whose prices have no decimals has none; Freqtrade then uses the
exchange's tick, which the data's decimals stand in for here (whole numbers: 1).
`report --check` and `simulate --candles` read the tick the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

PRICES = ["open", "high", "low", "close"]


def decimals_of(values: Sequence[float]) -> int:
    """The most decimals any value needs (up to 12)."""
    most = 0
    for v in values:
        text = f"{v:.12f}".rstrip("0")
        most = max(most, len(text.split(".")[1]) if "." in text else 0)
    return most


class BacktestTicks:
    """One pair's backtest tick over time, from its main-timeframe candles (`frame`:
    Freqtrade's columns date, open, high, low, close)."""

    def __init__(self, frame: pd.DataFrame, pair: str) -> None:
        self.series = _monthly(frame, pair) if not frame.empty else None
        sample = frame[PRICES].to_numpy(dtype=float)[:2000].ravel()
        self.fallback = 10.0 ** -decimals_of(list(sample)) if len(sample) else None

    def at(self, when: datetime) -> float | None:
        """The tick a trade opened at `when` was rounded to."""
        tick = self.series.asof(when) if self.series is not None else float("nan")
        return self.fallback if tick != tick else float(tick)  # NaN: the exchange's

    def finest(self) -> float | None:
        """The finest tick over the whole data (what snapping float noise uses)."""
        if self.series is not None and self.series.notna().any():
            return float(self.series.min())
        return self.fallback


def _monthly(frame: pd.DataFrame, pair: str) -> pd.Series | None:
    """Freqtrade's own computation (a reach: `profitguard.freqtrade.internals`)."""
    from profitguard.freqtrade.internals import backtest_tick_series

    return backtest_tick_series(frame[["date", *PRICES]])


def frame_of(candles) -> pd.DataFrame:
    """A Freqtrade-style frame of engine `Candle`s."""
    return pd.DataFrame(
        {
            "date": pd.to_datetime([c.at for c in candles], utc=True),
            "open": [c.open for c in candles],
            "high": [c.high for c in candles],
            "low": [c.low for c in candles],
            "close": [c.close for c in candles],
        }
    )
