"""The candles of a stretch in which the bot did not look at a trade (dry-run, live).

Freqtrade shows profitguard each open trade once a loop, at the price of that
moment. A loop blocked for longer (slow answers, the fee lookups of a fill, a
busy machine) hides what the market did meanwhile: a take-profit level the price
passed and fell back from, a stop it touched. When more than two loops' time
(`process_throttle_secs`) went by since the trade's last evaluation, the tracker
asks here for the candles of that stretch, in the finest timeframe the exchange
serves that covers it in one request, and the engine observes them
(`profitguard.engine.unseen`) before the price of now.

The candles come from Freqtrade's exchange object (`internals.exchange_of`), its
`refresh_latest_ohlcv` without its cache (the strategy's own candles are not
touched). Without it the feed is off, with one warning.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from profitguard.engine import Candle
from profitguard.freqtrade.internals import refresh_ohlcv

log = logging.getLogger(__name__)

# Candles one request returns on Binance (and at least as many on most exchanges).
CANDLES_PER_REQUEST = 1000


def finest_timeframe(timeframes: list[str], stretch: timedelta) -> str | None:
    """The shortest of `timeframes` that covers `stretch` in `CANDLES_PER_REQUEST`
    candles, else the longest; None without any."""
    from freqtrade.exchange import timeframe_to_seconds

    ordered = sorted(timeframes, key=timeframe_to_seconds)
    for timeframe in ordered:
        if timeframe_to_seconds(timeframe) * CANDLES_PER_REQUEST >= stretch.total_seconds():
            return timeframe
    return ordered[-1] if ordered else None


class UnseenCandles:
    """`(trade, seen, now)` -> the candles since `seen` and their interval, or None
    (the stretch is a normal loop's, or no candle could be had)."""

    def __init__(self, exchange: Any, *, candle_type: Any, min_gap: timedelta) -> None:
        self._exchange = exchange
        self._candle_type = candle_type
        self.min_gap = min_gap

    def __call__(
        self, trade: Any, seen: datetime, now: datetime
    ) -> tuple[list[Candle], timedelta] | None:
        from freqtrade.exchange import timeframe_to_seconds

        stretch = now - seen
        if stretch <= self.min_gap:
            return None
        timeframe = finest_timeframe(list(self._exchange.timeframes or []), stretch)
        if timeframe is None:
            return None
        pair_key = (trade.pair, timeframe, self._candle_type)
        frames = refresh_ohlcv(self._exchange, [pair_key], since_ms=int(seen.timestamp() * 1000))
        frame = None if frames is None else frames.get(pair_key)
        if frame is None or frame.empty:
            log.warning(
                "profitguard: %s (trade %s): no %s candles for the %.0f s the bot did not look "
                "at it; levels passed and stops touched then are not seen",
                trade.pair,
                trade.id,
                timeframe,
                stretch.total_seconds(),
            )
            return None
        candles = [
            Candle(at.to_pydatetime(), float(o), float(h), float(lo), float(c))
            for at, o, h, lo, c in zip(
                frame["date"], frame["open"], frame["high"], frame["low"], frame["close"],
                strict=True,
            )
        ]  # fmt: skip
        return candles, timedelta(seconds=timeframe_to_seconds(timeframe))


def unseen_candles_for_bot(strategy: Any) -> UnseenCandles | None:
    """The feed of `strategy` in dry-run and live (None in backtesting, where every
    candle is shown, or without Freqtrade's exchange object)."""
    from freqtrade.enums import CandleType

    from profitguard.freqtrade.internals import exchange_of

    if not strategy._pg_persist:
        return None
    exchange = exchange_of(strategy.dp, "seeing the prices of a blocked loop")
    if exchange is None or not hasattr(exchange, "timeframes"):
        return None
    throttle = strategy.config.get("internals", {}).get("process_throttle_secs", 5)
    candle_type = strategy.config.get("candle_type_def", CandleType.SPOT)
    return UnseenCandles(exchange, candle_type=candle_type, min_gap=timedelta(seconds=2 * throttle))
