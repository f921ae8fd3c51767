"""The run clock: where a backtest run (or a hyperopt epoch) starts.

Backtesting runs the same strategy object over and over (each hyperopt epoch is a
run) and trade ids start again with each run, so per-run state must start afresh.
`ProfitGuardStrategy.ft_advise_signals` marks each run's start (`restart`); as a
safety net, time running backwards does too. Detail candles of one pair may precede
another pair's main candle, so only a jump back of more than two candles counts.
Dry-run and live have one run: their state carries on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta


class RunClock:
    """The latest callback time of the current run (None before its first callback)."""

    def __init__(self, candle_seconds: int, start_run: Callable[[], None]) -> None:
        self.now: datetime | None = None
        self.run_gap = timedelta(seconds=2 * candle_seconds)
        self._start_run = start_run  # what a new run resets
        # `now - run_gap`, kept with `now` (every hook advances the clock: one
        # comparison, not a subtraction, per call)
        self._run_back: datetime | None = None

    def restart(self) -> None:
        """The next callback starts a new run."""
        self.now = None

    def advance(self, now: datetime) -> None:
        """Move to `now`; at a new run, `start_run()` first (if it fails, the next
        callback tries again: the run has not started)."""
        if self.now is None or now < self._run_back:
            self._start_run()
            self._set(now)  # the new run's clock: its next callback is not another start
        elif now > self.now:
            self._set(now)

    def _set(self, now: datetime) -> None:
        self.now = now
        self._run_back = now - self.run_gap if now is not None else None
