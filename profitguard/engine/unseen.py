"""The prices a live trade did not see: candles that closed between two of its
evaluations, as prices for the engine to observe.

The bot looks at each trade once a loop. A loop blocked for a while (slow answers
to fee lookups, retries, a busy machine) leaves a stretch of the market the engine
never saw: a take-profit level the price passed and fell back from there would be
lost, a stop touched there would go unnoticed. The adapter fetches the candles of
that stretch; these functions say which of them the trade did not see, and in
what order the engine observes their prices.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from profitguard.engine.candles import Candle


def unseen_candles(
    candles: Iterable[Candle], *, seen: datetime, now: datetime, interval: timedelta
) -> list[Candle]:
    """The candles (each `at` its open time) that opened at or after `seen` (the
    trade's last evaluation) and closed by `now`, oldest first.

    A candle that was forming at `seen` is left out: part of its range came before
    the evaluation, and its low, read after a stop that evaluation moved, would
    look like the stop touched. A candle still forming at `now` is left out too:
    its range is not final (the price now is seen anyway)."""
    inside = [c for c in candles if c.at is not None and c.at >= seen and c.at + interval <= now]
    return sorted(inside, key=lambda c: c.at)


def observed_prices(candle: Candle, *, is_short: bool) -> tuple[float, float, float, float]:
    """A candle's prices in the order the engine observes them: Freqtrade's
    backtester's order (`replay_candles`), which assumes the worst inside a candle.

    For a long: the open; the low, where a stop as it stood before the candle is
    touched first; the high (the peak, which may move the stop); the low again,
    against the stop the high moved. A short mirrors it."""
    worst, best = (candle.high, candle.low) if is_short else (candle.low, candle.high)
    return candle.open, worst, best, worst


def unseen_prices(
    candles: Iterable[Candle],
    *,
    is_short: bool,
    seen: datetime,
    now: datetime,
    interval: timedelta,
) -> list[float]:
    """Which prices the trade did not see yet, in the order to observe them: those
    of every candle `unseen_candles` picks."""
    return [
        price
        for candle in unseen_candles(candles, seen=seen, now=now, interval=interval)
        for price in observed_prices(candle, is_short=is_short)
    ]
