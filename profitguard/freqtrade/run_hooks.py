"""Backtest runs and their candles in `ProfitGuardStrategy`: a new run (each hyperopt
epoch too) starts afresh (`runclock`), the candles are snapped onto the price tick
(`prices`), and the analyzed dataframe is kept for the callback time.

A base class of `ProfitGuardStrategy` (never used alone): it runs on the parts
`ProfitGuardStrategy.ft_bot_start` builds (`wiring`).
"""

from __future__ import annotations

from datetime import datetime

from freqtrade.enums import RunMode
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from profitguard.freqtrade import backtest_stops, trade_copy
from profitguard.freqtrade.prices import snap_candles


class RunHooks(IStrategy):
    """`ft_advise_signals` (a run's start, candles on the tick), the run clock every
    hook advances, `analyzed` and `price_tick`."""

    def ft_advise_signals(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Freqtrade's signals; called for every pair before each backtest run.

        Backtesting (each hyperopt epoch too) calls it before the run's first candle,
        so the run starts afresh (`runclock`): no state of the previous run, the
        ladders asked for again (`exit_config_key`), the ledger of initial stops
        emptied. The candles' float noise is snapped onto the price tick there, so
        that the backtester fills each exit on the candle the engine decided it
        (`prices`), and with `fast_backtest` on Freqtrade's copy of the trade is skipped
        for profitguard's own hooks (`trade_copy`). Dry-run and live call it on every
        candle and have no runs: their state carries on. Sealed (`overrides`): write
        `populate_entry_trend` and `populate_exit_trend`."""
        if not self._pg_persist:
            self._pg_clock.restart()
        dataframe = super().ft_advise_signals(dataframe, metadata)
        if self.config.get("runmode") in (RunMode.BACKTEST, RunMode.HYPEROPT):
            # before the run's first hook, in every process that backtests (hyperopt's
            # workers get the strategy pickled and never start it); opt-in only
            if self.profitguard_settings.fast_backtest:
                trade_copy.install()
            # the backtester fills exits against these candles: prices on the tick, so
            # an exit priced at the open or the low fills there (`prices`)
            dataframe = snap_candles(dataframe, self._pg_ticks.of(self.dp, metadata["pair"]))
        return dataframe

    def analyzed(self, pair: str) -> DataFrame:
        """The pair's analyzed dataframe up to the last closed candle (no lookahead).

        Kept for the current callback time: it changes only with the candle, and
        sizing, the gate and the initial stop all ask for it within one."""
        cached = self._pg_frames.get(pair)
        if cached is not None and cached[0] == self._pg_clock.now:
            return cached[1]
        dataframe, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        self._pg_frames[pair] = (self._pg_clock.now, dataframe)
        return dataframe

    def price_tick(self, pair: str) -> float | None:
        """`pair`'s price step (kept per pair), or None (no step, or no exchange)."""
        return self._pg_ticks.of(self.dp, pair)

    def _pg_tick(self, now: datetime) -> None:
        self._pg_clock.advance(now)

    def _pg_start_run(self) -> None:
        """A new backtest run or hyperopt epoch starts afresh: trade memos, the ladders
        in force and the risk gate's per-run state (`runclock`)."""
        self._pg_tracker.clear()
        self._pg_frames.clear()
        if not self._pg_persist:  # backtesting: per-run state of the gate and ledger
            self._pg_failures.clear()  # trade ids start again with each run
            self._pg_gate.start_run()
            backtest_stops.start_run()
        key = self.exit_config_key()
        if key != self._pg_exits_key:
            self._pg_tracker.exits = self.exit_config()
            self._pg_exits_key = key
