"""Recorded entries and the candles after them, as flat numpy arrays.

An entry is what one Freqtrade backtest filled: pair, time, price, amount, the
strategy's initial stop (the R unit) and the fee ratios. The candles of each pair
are kept once (times in ms, open, high, low); an entry's path is a view from its
entry candle to the backtest's last candle. Plain data: cheap to pickle to worker
processes and to put in Ray's object store once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from profitguard.engine import Candle


@dataclass(frozen=True)
class Entry:
    """One recorded entry (a long or short filled at `price` on the candle `open_ms`)."""

    pair: str
    is_short: bool
    open_ms: int
    price: float
    amount: float
    initial_stop: float  # the strategy's own initial stop: one R for every policy
    fee_open: float
    fee_close: float
    tick: float | None = None  # the price tick the backtest rounded this trade's exits to


@dataclass(frozen=True)
class PairCandles:
    """One pair's candles up to the backtest's last one, with its price tick and amount step."""

    times: np.ndarray  # int64 ms
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    tick: float | None
    amount_step: float | None

    def start_of(self, open_ms: int) -> int:
        """Index of the candle that opens at `open_ms` (the entry candle)."""
        i = int(np.searchsorted(self.times, open_ms))
        if i >= len(self.times) or int(self.times[i]) != open_ms:
            raise ValueError(f"no candle at {open_ms} ms")
        return i


def at_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class CandleView(Sequence):
    """Candles `start..` of a pair as engine `Candle`s, built only when read; their
    `at` is the candle's open time in ms (no datetime per candle)."""

    __slots__ = ("_c", "_len", "_start")

    def __init__(self, candles: PairCandles, start: int) -> None:
        self._c = candles
        self._start = start
        self._len = len(candles.times) - start

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        c, k = self._c, self._start + i
        # `at` in ms: the engine only carries it into its decisions
        at: Any = int(c.times[k])
        return Candle(at, float(c.open[k]), float(c.high[k]), float(c.low[k]), 0.0)


@dataclass(frozen=True)
class EntryPath:
    """An entry with its candles, and the signed best and worst price of each
    (high and low for a long; -low and -high for a short) for the event search."""

    entry: Entry
    candles: CandleView
    candles_ms: np.ndarray  # the candles' open times
    best_x: np.ndarray
    worst_x: np.ndarray
    last_open: float  # the backtest's last candle: open trades are closed at its open
    last_ms: int
    tick: float | None
    amount_step: float | None


def entry_path(entry: Entry, candles: PairCandles) -> EntryPath:
    start = candles.start_of(entry.open_ms)
    high, low = candles.high[start:], candles.low[start:]
    best_x, worst_x = (-low, -high) if entry.is_short else (high, low)
    return EntryPath(
        entry,
        CandleView(candles, start),
        candles.times[start:],
        np.ascontiguousarray(best_x),
        np.ascontiguousarray(worst_x),
        float(candles.open[-1]),
        int(candles.times[-1]),
        entry.tick if entry.tick is not None else candles.tick,
        candles.amount_step,
    )


def candles_from_rows(
    rows: Sequence[tuple[int, float, float, float]],
    *,
    tick: float | None = None,
    amount_step: float | None = None,
) -> PairCandles:
    """PairCandles from (ms, open, high, low) rows, in time order."""
    a = np.asarray(rows, dtype=float).reshape(-1, 4)
    return PairCandles(
        a[:, 0].astype(np.int64), a[:, 1].copy(), a[:, 2].copy(), a[:, 3].copy(), tick, amount_step
    )
