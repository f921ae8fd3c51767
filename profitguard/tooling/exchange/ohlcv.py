"""OHLCV arrays, Binance intervals, klines slicing and resampling (pure numpy)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
# Binance's weekly candles open on Monday; 1970-01-01 was a Thursday.
WEEK_OFFSET_MS = 4 * DAY_MS

# The intervals /api/v3/klines accepts, except "1M" (calendar months), which we
# serve only when a monthly file exists.
INTERVALS_MS: dict[str, int] = {
    "1s": SECOND_MS,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": WEEK_MS,
}
BINANCE_INTERVALS = (*INTERVALS_MS, "1M")

KLINES_DEFAULT_LIMIT = 500
KLINES_MAX_LIMIT = 1000

_TIMEFRAME_RE = re.compile(r"^(\d+)([smhdwM])$")
_UNIT_MS = {"s": SECOND_MS, "m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS, "w": WEEK_MS}


def timeframe_ms(timeframe: str) -> int:
    """'5m' -> 300000. Any Freqtrade-style timeframe except months."""
    match = _TIMEFRAME_RE.match(timeframe)
    if not match or match[2] == "M" or int(match[1]) == 0:
        raise ValueError(f"unsupported timeframe {timeframe!r} (e.g. '1m', '5m', '1h', '1d')")
    return int(match[1]) * _UNIT_MS[match[2]]


def bucket_start(ts_ms, interval_ms: int):
    """Open time of the candle of ``interval_ms`` containing ``ts_ms`` (int or array)."""
    offset = WEEK_OFFSET_MS if interval_ms % WEEK_MS == 0 else 0
    return (np.asarray(ts_ms, dtype=np.int64) - offset) // interval_ms * interval_ms + offset


@dataclass(frozen=True)
class Candles:
    """Candles sorted by open time: ``ts`` in epoch milliseconds, prices, base volume."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def from_columns(cls, ts, open_, high, low, close, volume) -> Candles:
        ts = np.asarray(ts, dtype=np.int64)
        cols = [np.asarray(c, dtype=np.float64) for c in (open_, high, low, close, volume)]
        if any(len(c) != len(ts) for c in cols):
            raise ValueError("all OHLCV columns must have the same length")
        if len(ts) > 1 and not np.all(np.diff(ts) > 0):
            order = np.argsort(ts, kind="stable")
            ts = ts[order]
            keep = np.concatenate(([True], np.diff(ts) > 0))  # drop duplicate stamps
            ts = ts[keep]
            cols = [c[order][keep] for c in cols]
        return cls(ts, *cols)

    @classmethod
    def from_rows(cls, rows) -> Candles:
        """From ``[[ts_ms, open, high, low, close, volume], ...]``."""
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        return cls.from_columns(arr[:, 0].astype(np.int64), *arr[:, 1:].T)

    @classmethod
    def empty(cls) -> Candles:
        return cls.from_columns([], [], [], [], [], [])

    def __len__(self) -> int:
        return len(self.ts)

    def slice(self, start: int, stop: int) -> Candles:
        return Candles(*(col[start:stop] for col in self.columns()))

    def columns(self) -> tuple[np.ndarray, ...]:
        return (self.ts, self.open, self.high, self.low, self.close, self.volume)


def resample(candles: Candles, interval_ms: int) -> Candles:
    """Aggregate candles into ``interval_ms`` buckets (first/max/min/last/sum).

    A bucket that the source only partly covers (missing source candles, or the
    last, still-open bucket) is built from what is there, as exchanges do.
    """
    if len(candles) == 0:
        return candles
    buckets = bucket_start(candles.ts, interval_ms)
    starts = np.flatnonzero(np.concatenate(([True], buckets[1:] != buckets[:-1])))
    ends = np.concatenate((starts[1:], [len(candles)])) - 1
    return Candles(
        buckets[starts],
        candles.open[starts],
        np.maximum.reduceat(candles.high, starts),
        np.minimum.reduceat(candles.low, starts),
        candles.close[ends],
        np.add.reduceat(candles.volume, starts),
    )


def select_klines(
    candles: Candles,
    *,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> Candles:
    """Binance's /klines window: open time in [start, end]; the first ``limit`` of them
    when a start is given, otherwise the last ``limit``."""
    lo = 0 if start_ms is None else int(np.searchsorted(candles.ts, start_ms, side="left"))
    hi = len(candles) if end_ms is None else int(np.searchsorted(candles.ts, end_ms, "right"))
    if hi <= lo:
        return candles.slice(0, 0)
    if start_ms is not None:
        return candles.slice(lo, min(hi, lo + limit))
    return candles.slice(max(lo, hi - limit), hi)


def kline_rows(candles: Candles, interval_ms: int, fmt_price, fmt_qty) -> list[list]:
    """Rows as Binance sends them: strings for numbers, close time = next open - 1."""
    rows = []
    for ts, o, h, lo, c, v in zip(*(col.tolist() for col in candles.columns()), strict=True):
        mid = (o + c) / 2
        rows.append(
            [
                ts,
                fmt_price(o),
                fmt_price(h),
                fmt_price(lo),
                fmt_price(c),
                fmt_qty(v),
                ts + interval_ms - 1,
                fmt_qty(v * mid),
                max(1, int(v * 7)) if v > 0 else 0,
                fmt_qty(v / 2),
                fmt_qty(v * mid / 2),
                "0",
            ]
        )
    return rows


def window_stats(candles: Candles) -> tuple[float, float, float, float, float] | None:
    """(open, high, low, close, volume) over all of ``candles``; None when empty."""
    if len(candles) == 0:
        return None
    return (
        float(candles.open[0]),
        float(candles.high.max()),
        float(candles.low.min()),
        float(candles.close[-1]),
        float(candles.volume.sum()),
    )
