"""Live replay: source candles re-stamped with wall-clock time at a chosen speed.

A replay maps wall-clock time to a *position* in the source candles (candle ``k``
spans positions ``[k, k + 1)``). Before the replay starts (``t < t0``) one source
candle passes per history period (by default the source timeframe, so the history a
bot downloads at start-up looks like ordinary candles ending now). From ``t0`` on, one
source candle passes every ``seconds_per_candle`` seconds of wall-clock time.

Inside a source candle the price walks open -> low -> high -> close for a rising
candle and open -> high -> low -> close for a falling one, linearly over thirds of
the candle, so a served candle of any interval is the exact high, low, open and
close of that walk over its time span, and the ticker visits every wick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from profitguard.tooling.exchange.ohlcv import Candles, bucket_start


@dataclass(frozen=True, kw_only=True)
class ReplayClock:
    """Wall-clock milliseconds <-> fractional source-candle position."""

    t0_ms: int  # wall-clock time at which live replay starts
    start_index: int  # source position at t0; earlier candles are history
    history_ms_per_candle: float  # before t0: one source candle per this much time
    live_ms_per_candle: float  # from t0 on: one source candle per this much time

    def __post_init__(self) -> None:
        for name in ("history_ms_per_candle", "live_ms_per_candle"):
            value = getattr(self, name)
            if not value > 0 or not math.isfinite(value):
                raise ValueError(f"{name!r} must be positive, was {value!r}")
        if self.start_index < 0:
            raise ValueError(f"'start_index' must be >= 0, was {self.start_index!r}")

    def position(self, t_ms):
        """Source position at wall-clock time(s) ``t_ms`` (float or array)."""
        t = np.asarray(t_ms, dtype=np.float64) - self.t0_ms
        rate = np.where(t < 0, self.history_ms_per_candle, self.live_ms_per_candle)
        return self.start_index + t / rate

    def time_at(self, position: float) -> float:
        """Wall-clock ms at which the replay reaches ``position`` (inverse of position)."""
        offset = position - self.start_index
        rate = self.history_ms_per_candle if offset < 0 else self.live_ms_per_candle
        return self.t0_ms + offset * rate


class PricePath:
    """The piecewise-linear intra-candle walk through a series of source candles."""

    def __init__(self, candles: Candles) -> None:
        if len(candles) == 0:
            raise ValueError("a price path needs at least one candle")
        self.n = len(candles)
        rising = candles.close >= candles.open
        first = np.where(rising, candles.low, candles.high)
        second = np.where(rising, candles.high, candles.low)
        # vertices of candle k at positions k, k+1/3, k+2/3 and (from the left) k+1
        self.vertices = np.stack([candles.open, first, second, candles.close], axis=1)
        self.close = candles.close
        self.volume = candles.volume
        self.cum_volume = np.concatenate(([0.0], np.cumsum(candles.volume)))
        flat_pos = np.arange(self.n)[:, None] + np.array([0.0, 1 / 3, 2 / 3, 1.0])[None, :]
        self.flat_pos = flat_pos.ravel()
        self.flat_val = self.vertices.ravel()

    def _clamp(self, position):
        return np.clip(np.asarray(position, dtype=np.float64), 0.0, float(self.n))

    def price_at(self, position):
        """Price at ``position``; at an exact candle boundary, the next candle's open.
        Beyond the last candle the price stays at the last close."""
        p = self._clamp(position)
        k = np.minimum(np.floor(p).astype(np.int64), self.n - 1)
        third = np.clip((p - k) * 3.0, 0.0, 3.0)
        seg = np.minimum(np.floor(third).astype(np.int64), 2)
        a = self.vertices[k, seg]
        b = self.vertices[k, seg + 1]
        return a + (b - a) * (third - seg)

    def price_before(self, position):
        """Price just before ``position`` (the close of candle k-1 at boundary k)."""
        p = self._clamp(position)
        at_boundary = (p == np.floor(p)) & (p > 0)
        prev = np.maximum(p.astype(np.int64) - 1, 0)
        return np.where(at_boundary, self.close[np.minimum(prev, self.n - 1)], self.price_at(p))

    def volume_until(self, position):
        p = self._clamp(position)
        k = np.minimum(np.floor(p).astype(np.int64), self.n - 1)
        return self.cum_volume[k] + self.volume[k] * (p - k)

    def aggregate(self, p0: np.ndarray, p1: np.ndarray) -> Candles:
        """OHLCV of the walk over each span [p0[i], p1[i]) (``ts`` left as zeros)."""
        p0 = self._clamp(p0)
        p1 = np.maximum(self._clamp(p1), p0)
        opens = np.asarray(self.price_at(p0), dtype=np.float64).reshape(-1)
        closes = np.asarray(self.price_before(p1), dtype=np.float64).reshape(-1)
        highs = np.maximum(opens, closes)
        lows = np.minimum(opens, closes)
        lo_idx = np.searchsorted(self.flat_pos, p0, side="right")
        hi_idx = np.searchsorted(self.flat_pos, p1, side="left")
        for i in np.flatnonzero(hi_idx > lo_idx):
            inner = self.flat_val[lo_idx[i] : hi_idx[i]]
            highs[i] = max(highs[i], inner.max())
            lows[i] = min(lows[i], inner.min())
        volumes = self.volume_until(p1) - self.volume_until(p0)
        return Candles(np.zeros(len(opens), dtype=np.int64), opens, highs, lows, closes, volumes)


def replay_klines(
    path: PricePath,
    clock: ReplayClock,
    *,
    interval_ms: int,
    now_ms: int,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> Candles:
    """The /klines answer for a replayed market at wall-clock ``now_ms``.

    Candles open from the first interval boundary at or after the start of the source
    data up to the candle containing ``now_ms``, which is partial (as on a live exchange).
    """
    first_open = int(bucket_start(math.ceil(clock.time_at(0.0)), interval_ms))
    if first_open < clock.time_at(0.0):
        first_open += interval_ms
    last_open = int(bucket_start(now_ms, interval_ms))
    lo = (
        first_open
        if start_ms is None
        else max(first_open, int(bucket_start(start_ms, interval_ms)))
    )
    if start_ms is not None and lo < start_ms:
        lo += interval_ms
    hi = last_open if end_ms is None else min(last_open, int(bucket_start(end_ms, interval_ms)))
    if hi < lo:
        return Candles.empty()
    count = (hi - lo) // interval_ms + 1
    if count > limit:
        if start_ms is not None:
            hi = lo + (limit - 1) * interval_ms
        else:
            lo = hi - (limit - 1) * interval_ms
    opens_ms = np.arange(lo, hi + 1, interval_ms, dtype=np.int64)
    ends_ms = np.minimum(opens_ms + interval_ms, now_ms)
    agg = path.aggregate(clock.position(opens_ms), clock.position(ends_ms))
    return Candles(opens_ms, agg.open, agg.high, agg.low, agg.close, agg.volume)


def scripted_candles(
    prices,
    *,
    start_ms: int,
    timeframe_ms: int,
    wiggle: float = 0.0005,
    volume: float = 100.0,
) -> Candles:
    """Candles that walk through ``prices``, one candle per price after the first.

    Candle i opens at prices[i] and closes at prices[i+1]; its high and low reach
    ``wiggle`` (a ratio) beyond the larger and smaller of the two.
    """
    p = np.asarray(prices, dtype=np.float64)
    if p.ndim != 1 or len(p) < 2 or not np.all(p > 0):
        raise ValueError("a scripted path needs at least two positive prices")
    o, c = p[:-1], p[1:]
    n = len(o)
    ts = start_ms + np.arange(n, dtype=np.int64) * timeframe_ms
    high = np.maximum(o, c) * (1 + wiggle)
    low = np.minimum(o, c) * (1 - wiggle)
    return Candles.from_columns(ts, o, high, low, c, np.full(n, float(volume)))
