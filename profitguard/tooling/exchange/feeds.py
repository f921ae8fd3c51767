"""Where served prices come from: stored history, or a live replay of candles.

Both feeds answer the same four questions for the API layer: which pairs, the klines
of an interval, the last price, and the OHLCV of a time window (for 24h tickers).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from profitguard.tooling.exchange.candle_files import CandleStore
from profitguard.tooling.exchange.ohlcv import (
    Candles,
    resample,
    select_klines,
    timeframe_ms,
    window_stats,
)
from profitguard.tooling.exchange.pace import PacedClock, ReplayPace
from profitguard.tooling.exchange.replay import (
    PricePath,
    ReplayClock,
    replay_klines,
    scripted_candles,
)

logger = logging.getLogger(__name__)

Ohlcv = tuple[float, float, float, float, float]


class Feed(Protocol):
    mode: str

    def pairs(self) -> list[str]: ...

    def klines(
        self,
        pair: str,
        interval_ms: int,
        *,
        now_ms: int,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
    ) -> Candles: ...

    def last_price(self, pair: str, now_ms: int) -> float | None: ...

    def window(self, pair: str, start_ms: int, end_ms: int, now_ms: int) -> Ohlcv | None: ...

    def reference_price(self, pair: str) -> float | None: ...

    def path_points(self, pair: str, start_ms: int, end_ms: int) -> list[tuple[float, float]]: ...


def source_for_interval(timeframes: list[str], interval_ms: int) -> str | None:
    """The coarsest stored timeframe that tiles ``interval_ms`` exactly, or None."""
    usable = [tf for tf in timeframes if interval_ms % timeframe_ms(tf) == 0]
    return max(usable, key=timeframe_ms) if usable else None


class HistoryFeed:
    """Serves the data directory as it is: candles keep their own timestamps."""

    mode = "history"

    def __init__(self, store: CandleStore) -> None:
        self.store = store
        self._resampled: dict[tuple[str, int], Candles] = {}
        self._lock = threading.Lock()

    def pairs(self) -> list[str]:
        return self.store.pairs()

    def _candles(self, pair: str, interval_ms: int) -> Candles:
        source = source_for_interval(self.store.timeframes(pair), interval_ms)
        if source is None:
            return Candles.empty()
        candles = self.store.candles(pair, source)
        if timeframe_ms(source) == interval_ms:
            return candles
        key = (pair, interval_ms)
        with self._lock:
            if key not in self._resampled:
                self._resampled[key] = resample(candles, interval_ms)
            return self._resampled[key]

    def klines(self, pair, interval_ms, *, now_ms, start_ms, end_ms, limit) -> Candles:
        return select_klines(
            self._candles(pair, interval_ms), start_ms=start_ms, end_ms=end_ms, limit=limit
        )

    def last_price(self, pair: str, now_ms: int) -> float | None:
        finest = self.store.finest(pair)
        return float(finest.close[-1]) if len(finest) else None

    def reference_price(self, pair: str) -> float | None:
        return self.last_price(pair, 0)

    def path_points(self, pair: str, start_ms: int, end_ms: int) -> list[tuple[float, float]]:
        """History has no clock: the price stays at the last close."""
        price = self.last_price(pair, end_ms)
        return [] if price is None else [(start_ms, price), (end_ms, price)]

    def window(self, pair: str, start_ms: int, end_ms: int, now_ms: int) -> Ohlcv | None:
        """History has no wall clock: the window is taken back from the last candle."""
        finest = self.store.finest(pair)
        if not len(finest):
            return None
        tfs = self.store.timeframes(pair)
        data_end = int(finest.ts[-1]) + timeframe_ms(tfs[0])
        length = end_ms - start_ms
        lo = int(np.searchsorted(finest.ts, data_end - length, side="left"))
        return window_stats(finest.slice(lo, len(finest)))


@dataclass(frozen=True)
class ReplaySource:
    """One pair's replayed candles and where live replay starts in them."""

    candles: Candles
    timeframe: str
    start_index: int


def scripted_source(prices, timeframe: str, *, history: int = 0) -> ReplaySource:
    """A replay source walking through ``prices`` (one candle per step); the first
    ``history`` candles are already in the past when replay starts."""
    candles = scripted_candles(prices, start_ms=0, timeframe_ms=timeframe_ms(timeframe))
    if not 0 <= history <= len(candles):
        raise ValueError(f"'history' must be in 0..{len(candles)}, was {history!r}")
    return ReplaySource(candles, timeframe, history)


def default_start_index(n_candles: int, history: int = 1500) -> int:
    """Live replay starts after ``history`` candles, or halfway through short data."""
    return min(history, n_candles // 2)


class ReplayFeed:
    """Serves candles stamped with wall-clock time, replayed at ``seconds_per_candle``."""

    mode = "replay"

    def __init__(
        self,
        sources: dict[str, ReplaySource],
        *,
        t0_ms: int,
        seconds_per_candle: float,
        history_seconds_per_candle: float | None = None,
        pace: ReplayPace | None = None,
    ) -> None:
        """``history_seconds_per_candle``: pace of the candles before ``t0_ms``
        (default: each source's own timeframe, i.e. real time). ``pace``: the
        replay is held while it is (see ``profitguard.tooling.exchange.pace``)."""
        self.t0_ms = t0_ms
        self.seconds_per_candle = seconds_per_candle
        self._paths: dict[str, PricePath] = {}
        self._clocks: dict[str, ReplayClock | PacedClock] = {}
        for pair, source in sources.items():
            if not len(source.candles):
                logger.warning("replay: no candles for %s, it is not served", pair)
                continue
            self._paths[pair] = PricePath(source.candles)
            clock = ReplayClock(
                t0_ms=t0_ms,
                start_index=min(source.start_index, len(source.candles)),
                history_ms_per_candle=(
                    history_seconds_per_candle * 1000.0
                    if history_seconds_per_candle is not None
                    else float(timeframe_ms(source.timeframe))
                ),
                live_ms_per_candle=seconds_per_candle * 1000.0,
            )
            self._clocks[pair] = clock if pace is None else PacedClock(clock, pace)
        self._warned_end: set[str] = set()

    def pairs(self) -> list[str]:
        return sorted(self._paths)

    def _check_end(self, pair: str, now_ms: int) -> None:
        path, clock = self._paths[pair], self._clocks[pair]
        if pair not in self._warned_end and clock.position(now_ms) >= path.n:
            self._warned_end.add(pair)
            logger.warning("replay: %s reached the end of its data; its price now stays flat", pair)

    def klines(self, pair, interval_ms, *, now_ms, start_ms, end_ms, limit) -> Candles:
        if pair not in self._paths:
            return Candles.empty()
        self._check_end(pair, now_ms)
        return replay_klines(
            self._paths[pair],
            self._clocks[pair],
            interval_ms=interval_ms,
            now_ms=now_ms,
            start_ms=start_ms,
            end_ms=end_ms,
            limit=limit,
        )

    def last_price(self, pair: str, now_ms: int) -> float | None:
        if pair not in self._paths:
            return None
        position = self._clocks[pair].position(now_ms)
        return float(self._paths[pair].price_before(position))

    def reference_price(self, pair: str) -> float | None:
        return self.last_price(pair, self.t0_ms)

    def path_points(self, pair: str, start_ms: int, end_ms: int) -> list[tuple[float, float]]:
        """(time, price) corners of the replayed walk from ``start_ms`` to ``end_ms``:
        the price moves linearly between them, so a resting order meets it there."""
        if pair not in self._paths or end_ms < start_ms:
            return []
        path, clock = self._paths[pair], self._clocks[pair]
        p0, p1 = float(clock.position(start_ms)), float(clock.position(end_ms))
        lo = int(np.searchsorted(path.flat_pos, p0, side="right"))
        hi = int(np.searchsorted(path.flat_pos, p1, side="left"))
        points = [(float(start_ms), float(path.price_at(p0)))]
        points += [
            (clock.time_at(float(pos)), float(val))
            for pos, val in zip(path.flat_pos[lo:hi], path.flat_val[lo:hi], strict=True)
        ]
        points.append((float(end_ms), float(path.price_before(p1))))
        return points

    def window(self, pair: str, start_ms: int, end_ms: int, now_ms: int) -> Ohlcv | None:
        if pair not in self._paths:
            return None
        clock = self._clocks[pair]
        p0 = max(float(clock.position(start_ms)), 0.0)
        p1 = float(clock.position(min(end_ms, now_ms)))
        if p1 <= p0:
            return None
        agg = self._paths[pair].aggregate(np.array([p0]), np.array([p1]))
        return window_stats(agg)
