"""Correlation of returns between the entry's pair and each open position's pair, over
the last `correlation_window` candles both analyzed dataframes hold (no lookahead).

Computed once per candle (a pair's tail once per analyzed dataframe, a correlation once
per pair of dataframes): Freqtrade asks again on every bot loop of the candle."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from pandas import DataFrame

from profitguard.risk import rules


class Tail:
    """The last `2n` candles of a dataframe: dates as int64 and closes."""

    __slots__ = ("_array", "_returns", "closes", "dates", "increasing", "unit")

    def __init__(self, frame: Any, n: int) -> None:
        # int64 in the column's unit (object arrays of Timestamps are 1000x slower)
        self._array = column_array(frame, "date")[-2 * n :]
        self.unit = self._array.unit
        self.dates = self._array.asi8
        self.closes = np.asarray(column_array(frame, "close")[-2 * n :])
        self.increasing = bool(np.all(self.dates[1:] > self.dates[:-1]))
        self._returns: tuple[int, list[float]] | None = None

    def last_returns(self, n: int) -> list[float]:
        """`rules.returns` of the last `n` closes (kept: the pair meets every open pair)."""
        if self._returns is None or self._returns[0] != n:
            self._returns = (n, rules.returns(self.closes[-n:].tolist()))
        return self._returns[1]

    def in_ms(self) -> Any:
        return self.dates if self.unit == "ms" else self._array.as_unit("ms").asi8


def column_array(frame: DataFrame, column: str) -> Any:
    """The column's values (pandas' array, as `frame[column].array`).

    A fresh dataframe (Freqtrade slices a new one per pair and candle) builds a Series
    for each column read, most of a tail's cost; pandas' own column getter does not.
    Where that getter is missing or the name is not one column, the public way."""
    where = frame.columns.get_loc(column)
    if isinstance(where, int) and _GET_COLUMN_ARRAY is not None:
        return _GET_COLUMN_ARRAY(frame, where)
    return frame[column].array


_GET_COLUMN_ARRAY = getattr(DataFrame, "_get_column_array", None)


def shared_closes(a: Any, b: Any, n: int) -> tuple[list[float], list[float]]:
    """The closes of the last `n` candles both dataframes hold, oldest first.

    Only a bounded tail of each is looked at (twice `n`, so a few gaps in one pair's
    data still leave `n` shared candles): an entry's check stays cheap however long
    the dataframes are."""
    return _shared(Tail(a, n), Tail(b, n), n)


def _same_last(a: Tail, b: Tail, n: int) -> bool:
    """Both pairs hold the same last `n` candles: those are the last `n` shared ones
    (what intersecting the dates finds, without its sort). The common case."""
    dates_a, dates_b = _dates(a, b)
    return (
        a.increasing
        and b.increasing
        and len(dates_a) >= n
        and len(dates_b) >= n
        and np.array_equal(dates_a[-n:], dates_b[-n:])
    )


def _dates(a: Tail, b: Tail) -> tuple[Any, Any]:
    """Both tails' dates in one unit (milliseconds when they differ: candle times are whole ms)."""
    return (a.dates, b.dates) if a.unit == b.unit else (a.in_ms(), b.in_ms())


def _shared(a: Tail, b: Tail, n: int) -> tuple[list[float], list[float]]:
    if _same_last(a, b, n):
        return a.closes[-n:].tolist(), b.closes[-n:].tolist()
    _, ia, ib = np.intersect1d(*_dates(a, b), return_indices=True)
    ia, ib = ia[-n:], ib[-n:]
    return a.closes[ia].tolist(), b.closes[ib].tolist()


class Correlations:
    """The correlations the gate's last rule reads, cached per candle (see the module)."""

    def __init__(self, analyzed: Callable[[str], DataFrame], window: int) -> None:
        self.analyzed = analyzed
        self.window = window
        self.forget()

    def forget(self) -> None:
        self._tails: dict[str, tuple[DataFrame, Tail]] = {}
        self._values: dict[tuple[str, str], tuple[DataFrame, DataFrame, float, int]] = {}

    def of(self, pair: str, others: Iterable[str]) -> list[rules.Correlation]:
        mine = self.analyzed(pair)
        out = []
        for other in sorted(set(others)):
            theirs = self.analyzed(other)
            if mine is None or theirs is None or mine.empty or theirs.empty:
                out.append(rules.Correlation(other, 0.0, 0))
                continue
            key = (pair, other) if pair <= other else (other, pair)
            frames = (mine, theirs) if pair <= other else (theirs, mine)
            known = self._values.get(key)
            if known is None or known[0] is not frames[0] or known[1] is not frames[1]:
                # pearson is symmetric (exactly: its sums are fsum's), so is the pairing
                tail_a, tail_b = self._tail(key[0], frames[0]), self._tail(key[1], frames[1])
                n = self.window + 1
                if _same_last(tail_a, tail_b, n):
                    a, b = tail_a.last_returns(n), tail_b.last_returns(n)
                else:
                    closes_a, closes_b = _shared(tail_a, tail_b, n)
                    a, b = rules.returns(closes_a), rules.returns(closes_b)
                known = (*frames, rules.pearson(a, b), len(a))
                self._values[key] = known
            out.append(rules.Correlation(other, known[2], known[3]))
        return out

    def _tail(self, pair: str, frame: DataFrame) -> Tail:
        known = self._tails.get(pair)
        if known is None or known[0] is not frame:
            known = (frame, Tail(frame, self.window + 1))
            self._tails[pair] = known
        return known[1]
