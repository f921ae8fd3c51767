"""ProfitGuardStrategy: Freqtrade's callbacks, every exit decision delegated to the engine.

A trader subclasses it and writes `populate_indicators` / `populate_entry_trend`
as usual. Each callback rebuilds the trade's engine state from Freqtrade's
confirmed orders plus a small record in the trade's custom data, runs one engine
`step` at the price Freqtrade shows it, and turns the decision into Freqtrade's
terms:

- `custom_stoploss` (the candle's favourable extreme in backtesting, the live rate
  otherwise) observes the price and returns the stop in force;
- `adjust_trade_position` (the candle open in backtesting, the live rate
  otherwise) exits the take-profit levels the peak has reached (tagged `tp1`,
  `tp2`, …; one order for a gap), and exits at once when the price is already
  through the stop;
- `order_filled` places the initial stop when the entry fills, and notifies fills;
- in live mode, `confirm_trade_exit`, `adjust_trade_position` and
  `confirm_trade_entry` announce the order Freqtrade places next, which then carries
  its tag in the client order id (`client_ids`);
- `confirm_trade_entry`, `custom_stake_amount`, `should_exit`, `check_entry_timeout`
  and `bot_loop_start` are the risk gate, sizing and kill switch
  (`profitguard.freqtrade.gate`).

Callbacks fail closed (`failures.fail_closed`): an error is logged (and sent, in
dry-run and live) once per trade, hook and cause with the trade and the inputs, the
stop is left where it is (never loosened) and no order is placed.

The class only maps Freqtrade's hooks onto profitguard's parts (built at bot start:
`wiring`): the per-trade tracker (`tracker`), the run clock (`runclock`),
notifications (`notify`), the stop and target lines (`plotting`) and the risk gate
(`gate`). Its hooks live by job: the exits here; the gate's in `gate_hooks`, live
mode's order ids and checks in `live_hooks`, the chart lines in `chart_hooks`, a
backtest run's start and its candles in `run_hooks` (base classes, each a few hooks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from freqtrade.constants import DEFAULT_AMOUNT_RESERVE_PERCENT
from freqtrade.exceptions import OperationalException
from pandas import DataFrame

from profitguard.engine import ConfigError, ProtectionConfig
from profitguard.freqtrade.chart_hooks import ChartHooks
from profitguard.freqtrade.failures import fail_closed
from profitguard.freqtrade.gate_hooks import GateHooks
from profitguard.freqtrade.initial_stop import default_initial_stop, show_initial_stop
from profitguard.freqtrade.overrides import combine_pg_hooks, refuse_overrides
from profitguard.freqtrade.run_hooks import RunHooks
from profitguard.freqtrade.settings import ProfitGuardSettings
from profitguard.freqtrade.startup import checked_settings
from profitguard.freqtrade.trades import exit_minimum, exit_order, stop_ratio
from profitguard.freqtrade.versions import check_freqtrade_version
from profitguard.freqtrade.wiring import build_parts


class ProfitGuardStrategy(GateHooks, ChartHooks, RunHooks):
    """A Freqtrade strategy whose exits are managed by profitguard.

    Subclass it, write the entries as usual, and configure the protection in
    `profitguard_config` (or the config's `profitguard` section, which wins).
    """

    INTERFACE_VERSION = 3

    # What the ladders need from Freqtrade. A config that turns these off is
    # refused at start-up: the ladders would silently never run.
    use_custom_stoploss = True
    position_adjustment_enable = True
    max_entry_position_adjustment = 0  # no DCA: the R unit is fixed at entry
    # A backstop only, until the engine places the initial stop at the entry fill
    # (and whenever our stop callback cannot run). Any initial stop, wider or
    # tighter, replaces it.
    stoploss = -0.10
    # Off: exits belong to the ladders. Set your own ROI table to combine both.
    minimal_roi: ClassVar[dict[str, float]] = {"0": 100.0}
    trailing_stop = False

    profitguard_config: ClassVar[dict[str, Any]] = {}

    # These hooks, as defined here, only read the trade: with `fast_backtest` on,
    # Freqtrade hands them the trade itself in backtesting and hyperopt, not its copy
    # (`trade_copy`). A subclass's `pg_…` hook puts another function in the hook's
    # place (`overrides`): not listed here, it gets the copy.
    _pg_hooks_given_the_trade: ClassVar[frozenset[str]] = frozenset(
        {"custom_stoploss", "adjust_trade_position", "order_filled", "check_entry_timeout"}
    )

    def __init__(self, config: dict) -> None:
        """Refuse a strategy that overrides a hook implemented here (`overrides`)."""
        refuse_overrides(type(self))
        super().__init__(config)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Combine a subclass's `pg_…` hooks with the hooks implemented here (`overrides`)."""
        super().__init_subclass__(**kwargs)
        combine_pg_hooks(cls)

    # ------------------------------------------------------------------ hooks

    def initial_stop(
        self,
        pair: str,
        side: str,
        entry_rate: float,
        current_time: datetime,
        dataframe: DataFrame,
        **kwargs: Any,
    ) -> float:
        """The initial stop price of a trade entered at `entry_rate`: it defines one R.

        Called when an entry fills (and by position sizing, before it). When not
        overridden: `initial_stop.atr_multiple` ATRs from the entry if `dataframe`
        has the `initial_stop.atr_column` column (its last row), else
        `initial_stop.pct` (a ratio) of the entry. When the settings name the ATR
        column or multiple, a missing value is an error (the entry is refused).

        :param pair: the pair, e.g. "BTC/USDT"
        :param side: "long" or "short"
        :param entry_rate: entry price (quote currency)
        :param current_time: now (the candle time in backtesting)
        :param dataframe: the analyzed dataframe up to the last closed candle (no lookahead)
        :param **kwargs: always accepted, for future arguments
        :return: a price below `entry_rate` for a long, above it for a short
        """
        return default_initial_stop(
            self.profitguard_settings, pair, side, entry_rate, dataframe=dataframe
        )

    def exit_config(self) -> ProtectionConfig:
        """The ladders in force. Not overridden: the `exits` settings.

        Hyperoptable strategies override this (and `exit_config_key`) to build the
        ladders from their parameters (`ProfitGuardHyperoptStrategy`). It is asked at
        start-up, after the parameter values are loaded (an invalid config stops the
        bot), and again at the start of each backtest run, so every hyperopt epoch
        gets its own ladders."""
        return self.profitguard_settings.exits

    def exit_config_key(self) -> Any:
        """A cheap value that changes whenever `exit_config()` would."""
        return None

    # ------------------------------------------------------- Freqtrade hooks

    def ft_bot_start(self, **kwargs: Any) -> None:
        """Validate the profitguard settings before anything else runs.

        Runs before the user's `bot_start`; a bad setting stops the bot with an
        error naming the field and the value. Sealed (`overrides`): write `bot_start`."""
        check_freqtrade_version()
        self.profitguard_settings: ProfitGuardSettings = checked_settings(self)
        build_parts(self)
        super().ft_bot_start(**kwargs)
        # The ladders in force from the start, now that hyperopt parameter values are
        # loaded: a bad value stops the bot here, not later in a callback.
        try:
            self._pg_tracker.exits = self.exit_config()
        except ConfigError as exc:
            raise OperationalException(f"profitguard: {exc}") from None
        self._pg_exits_key = self.exit_config_key()

    @fail_closed(None, inputs=lambda a: {"rate": a["current_rate"], "after_fill": a["after_fill"]})
    def custom_stoploss(
        self,
        pair: str,
        trade: Any,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool,
        **kwargs: Any,
    ) -> float | None:
        """The engine's stop in force, as Freqtrade's ratio from `current_rate`.

        Sees the candle high (low for a short) in backtesting, the live exit rate
        otherwise; that price updates the peak and the stop, take-profits wait
        for `adjust_trade_position`. On error: None (the stop stays where it is).
        Your `pg_custom_stoploss`: Freqtrade gets the tighter of the two (`overrides`).
        """
        self._pg_tick(current_time)
        decision = self._pg_tracker.decide(trade, current_rate, current_time, fire=False)
        return stop_ratio(
            decision.stop, current_rate, is_short=trade.is_short, leverage=trade.leverage
        )

    def ft_stoploss_adjust(
        self,
        current_rate: float,
        trade: Any,
        current_time: datetime,
        current_profit: float,
        force_stoploss: float,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Freqtrade's stop update (`custom_stoploss` inside), then profitguard's initial
        stop written as the trade's initial stop (`profitguard.freqtrade.initial_stop`)."""
        super().ft_stoploss_adjust(
            current_rate, trade, current_time, current_profit, force_stoploss, *args, **kwargs
        )
        if kwargs.get("after_fill") or self._pg_persist:
            self._pg_show_initial_stop(trade)

    @fail_closed(None, hook="ft_stoploss_adjust (initial stop record)")
    def _pg_show_initial_stop(self, trade: Any) -> None:
        """A record only: a failure never stops the stop update."""
        memo = self._pg_tracker.known(trade)
        if memo is not None:
            show_initial_stop(trade, memo.initial_stop, keep_across_restart=self._pg_persist)

    @fail_closed(
        None, inputs=lambda a: {"rate": a["current_exit_rate"], "min_stake": a["min_stake"]}
    )
    def adjust_trade_position(
        self,
        trade: Any,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        min_stake: float | None,
        max_stake: float,
        current_entry_rate: float,
        current_exit_rate: float,
        current_entry_profit: float,
        current_exit_profit: float,
        **kwargs: Any,
    ) -> tuple[float, str] | None:
        """Exit the take-profit levels the peak has reached (a negative stake, tagged).

        Sees the candle open in backtesting, the live exit rate otherwise. While an
        order of the trade is open nothing new is placed; a cancelled order does not
        count, and its level is asked for again. On error: None (no order).
        Your `pg_adjust_trade_position` is asked only when this has no exit (nor while
        the kill switch is on).
        """
        self._pg_tick(current_time)
        # backtesting and hyperopt have no kill switch (no guard file, no shared account)
        if self._pg_persist and self._pg_gate.halted():
            return None  # the kill switch exits it in full (`should_exit`), at market
        if trade.has_open_orders:
            return None
        minimum = exit_minimum(
            min_stake,
            self.stoploss,
            self.config.get("amount_reserve_percent", DEFAULT_AMOUNT_RESERVE_PERCENT),
            live=self._pg_persist,
        )
        decision = self._pg_tracker.decide(
            trade, current_exit_rate, current_time, fire=True, min_notional=minimum
        )
        order = exit_order(trade, decision)
        if order is not None:  # a partial exit has the "exit" order type, no confirm before it
            self._pg_expect_exit(trade, self.order_types["exit"], order[1])
        return order

    @fail_closed(None, inputs=lambda a: {"order": getattr(a["order"], "order_id", None)})
    def order_filled(
        self, pair: str, trade: Any, order: Any, current_time: datetime, **kwargs: Any
    ) -> None:
        """Place the initial stop when the entry fills; notify take-profit fills and stops.

        Your `pg_order_filled` runs after this."""
        self._pg_tick(current_time)
        self._pg_gate.trade_changed()  # a shared account sees the fill now
        if order.ft_order_side == trade.entry_side:
            self._pg_tracker.memo(trade, current_time)
            return
        if self._pg_reconciler is not None:
            self._pg_reconciler.exit_filled()  # its amount checked at the next loop
        if self._pg_notifier.enabled:
            memo = self._pg_tracker.memo(trade, current_time)
            self._pg_notifier.exit_filled(trade, order, memo, self._pg_tracker.save)
        # The last exit: forget the trade. Dry-run and live call after updating the
        # trade (closed by now; a partial exit has already taken its amount off);
        # the backtester calls before, with the order covering all of it.
        if not trade.is_open or (not self._pg_persist and order.safe_filled >= trade.amount):
            self._pg_tracker.forget(trade.id)
            self._pg_failures.forget(trade.id)

    @fail_closed(False)
    def check_entry_timeout(
        self, pair: str, trade: Any, order: Any, current_time: datetime, **kwargs: Any
    ) -> bool:
        """Cancel open entry orders while the kill switch is on.

        Your `pg_check_entry_timeout` can cancel it too."""
        return self._pg_gate.halted()

    # -------------------------------------------------------------- helpers

    @property
    def exits_in_force(self) -> ProtectionConfig:
        """The ladders of the current run (a hyperopt epoch's, or the settings')."""
        return self._pg_tracker.exits

    def stop_in_force(self, trade: Any) -> float | None:
        """The engine's stop in force for an open trade known in memory, else None.

        For the risk gate (portfolio heat); never creates state."""
        return self._pg_tracker.stop_in_force(trade)

    def stops_revision(self) -> int:
        """Changes whenever `stop_in_force` of some trade may have (the gate's snapshot)."""
        return self._pg_tracker.revision

    def _pg_initial_stop_of(self, trade: Any, now: datetime) -> Any:
        """What the `initial_stop` hook gives for `trade` (the tracker checks it)."""
        side = "short" if trade.is_short else "long"
        return self.initial_stop(
            trade.pair, side, trade.open_rate, now, dataframe=self.analyzed(trade.pair)
        )

    # What the tracker asks the strategy for: methods (not lambdas, so that hyperopt
    # can pickle the strategy), each looking up the strategy's own at every call, as
    # a subclass or a test may replace it.

    def _pg_backstop(self) -> float:
        return self.stoploss

    def _pg_analyzed(self, pair: str) -> DataFrame:
        return self.analyzed(pair)

    def _pg_report(self, hook: str, trade: Any, exc: Exception) -> None:
        self._pg_failed(hook, trade, exc)

    def _pg_send(self, message: str) -> None:
        self.dp.send_msg(message)

    def _pg_failed(self, hook: str, trade: Any, exc: Exception, **inputs: Any) -> None:
        """Log a callback failure, and send it (dry-run and live), once per trade (or
        pair), hook and cause (`failures.FailureLog`)."""
        self._pg_failures.report(hook, trade, exc, **inputs)

    def _pg_report_failure(
        self, hook: str, exc: Exception, arguments: dict, inputs: dict, *, entry: bool
    ) -> None:
        """`fail_closed`'s report: a trade hook's failure once; an entry hook's is also
        counted and sent as the gate's GATE_ERROR refusal of the pair."""
        if not entry:
            self._pg_failed(hook, arguments.get("trade"), exc, **inputs)
            return
        pair = arguments["pair"]
        self._pg_failed(hook, None, exc, pair=pair, **inputs)
        self._pg_gate.failed(pair, exc, arguments["current_time"])
