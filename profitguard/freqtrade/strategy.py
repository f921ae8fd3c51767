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

The class only maps Freqtrade's hooks onto profitguard's parts: the per-trade
tracker (`tracker`), the run clock (`runclock`), notifications (`notify`), the stop
and target lines (`plotting`) and the risk gate (`gate`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from freqtrade.constants import DEFAULT_AMOUNT_RESERVE_PERCENT
from freqtrade.enums import ExitCheckTuple, ExitType, RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from profitguard.engine import STOP_TAG, ConfigError, ProtectionConfig
from profitguard.exit_tags import KILL_TAG
from profitguard.freqtrade import ledger, trade_copy
from profitguard.freqtrade.client_ids import ClientOrderIds, client_ids_for_bot
from profitguard.freqtrade.columns import check_atr_column, last_positive, last_value
from profitguard.freqtrade.failures import FailureLog, fail_closed
from profitguard.freqtrade.gate import RiskGate
from profitguard.freqtrade.initial_stop import show_initial_stop
from profitguard.freqtrade.internals import exchange_of
from profitguard.freqtrade.monitor import TradeMonitor, open_trades
from profitguard.freqtrade.notify import Notifier
from profitguard.freqtrade.overrides import guard_overrides, refuse_unguarded
from profitguard.freqtrade.plotting import (
    backtest_trade_spans,
    ladder_columns,
    open_trade_spans,
    say_left_out,
)
from profitguard.freqtrade.prices import PriceTicks, snap_candles
from profitguard.freqtrade.reconciler import Reconciler, reconciler_for_bot
from profitguard.freqtrade.runclock import RunClock
from profitguard.freqtrade.settings import SECTION, ProfitGuardSettings
from profitguard.freqtrade.startup import checked_settings
from profitguard.freqtrade.stop_orders import ForgottenOrders
from profitguard.freqtrade.tracker import TradeTracker
from profitguard.freqtrade.trades import amount_step, exit_minimum, exit_stake, exit_tag, stop_ratio
from profitguard.freqtrade.vanished import VanishedPairs
from profitguard.freqtrade.versions import check_freqtrade_version
from profitguard.freqtrade.watchdog import WATCHDOG_EXIT_TAG


class ProfitGuardStrategy(IStrategy):
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
    # (`trade_copy`). An override in a subclass is not listed here and gets the copy.
    _pg_hooks_given_the_trade: ClassVar[frozenset[str]] = frozenset(
        {"custom_stoploss", "adjust_trade_position", "order_filled", "check_entry_timeout"}
    )
    # live mode only, set at bot start: the orders announced for their client ids, and
    # the profitguard orders resting on the exchange that the bot forgot (`stop_orders`)
    _pg_client_ids: ClientOrderIds | None = None
    # live mode only, set at bot start: the exchange against the trades database
    _pg_reconciler: Reconciler | None = None
    _pg_forgotten: ForgottenOrders | None = None
    # dry-run and live, with an exchange: a pair the exchange lost, reported once a loop
    _pg_vanished: VanishedPairs | None = None

    plot_config: ClassVar[dict[str, Any]] = {
        "main_plot": {
            "pg_stop": {"color": "#d62728"},
            "pg_entry": {"color": "#7f7f7f"},
            "pg_tp1": {"color": "#2ca02c"},
            "pg_tp2": {"color": "#2ca02c"},
            "pg_tp3": {"color": "#2ca02c"},
        },
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's override of a Freqtrade hook implemented here keeps
        profitguard's part, with or without `super()` (`overrides`)."""
        super().__init_subclass__(**kwargs)
        guard_overrides(cls)

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
        settings = self.profitguard_settings.initial_stop
        sign = -1.0 if side == "short" else 1.0
        atr = last_positive(dataframe, settings.atr_column)
        if atr is not None:
            return entry_rate - sign * settings.atr_multiple * atr
        if self.profitguard_settings.atr_initial_stop:  # asked for: never the pct instead
            raise ValueError(
                f"'{SECTION}.initial_stop.atr_column' {settings.atr_column!r} has no value "
                f"> 0 on the last candle of {pair} "
                f"({last_value(dataframe, settings.atr_column)!r}): no ATR stop to place"
            )
        return entry_rate * (1.0 - sign * settings.pct)

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
        error naming the field and the value, and so does an override of a hook
        profitguard cannot guard (`overrides.refuse_unguarded`). Overridden: this runs
        at your super() call, or right after your override if it makes none."""
        check_freqtrade_version()
        refuse_unguarded(type(self))
        self.profitguard_settings: ProfitGuardSettings = checked_settings(self)
        runmode = self.config.get("runmode")
        self._pg_persist = runmode in (RunMode.DRY_RUN, RunMode.LIVE)
        self._pg_client_ids = client_ids_for_bot(self)
        if self._pg_client_ids is not None:  # live, with the exchange's ccxt instance
            self._pg_forgotten = ForgottenOrders(
                exchange_of(self.dp, "tags in client order ids"),
                futures=self.config.get("trading_mode") == "futures",
                fmt=self._pg_client_ids.format,
            )
            self._pg_client_ids.stop_ids = self._pg_forgotten.stop_id
        ids = self._pg_client_ids
        self._pg_reconciler = reconciler_for_bot(
            self, ids.placement if ids else None, ids.expect if ids else None
        )
        notify = self._pg_persist and self.profitguard_settings.notifications
        send = self._pg_send if notify else None
        self._pg_failures = FailureLog(send)
        self._pg_notifier = Notifier(send)
        if self._pg_persist and exchange_of(self.dp, "vanished pairs") is not None:
            self._pg_vanished = VanishedPairs(send)
            self._pg_vanished.install()
        self._pg_frames: dict[str, tuple[datetime | None, DataFrame]] = {}
        self._pg_ticks = PriceTicks()
        self._pg_clock = RunClock(_timeframe_seconds(self.timeframe), self._pg_start_run)
        self._pg_tracker = TradeTracker(
            self.profitguard_settings.exits,
            persist=self._pg_persist,
            initial_stop=self._pg_initial_stop_of,
            backstop=self._pg_backstop,
            atr_column=self.profitguard_settings.initial_stop.atr_column,
            analyzed=self._pg_analyzed,
            notifier=self._pg_notifier,
            report=self._pg_report,
        )
        self._pg_exits_key: Any = object()
        self._pg_monitor = TradeMonitor(
            self._pg_tracker,
            self.profitguard_settings.watchdog,
            stop_on_exchange=bool(self.order_types.get("stoploss_on_exchange")),
            send=send,
        )
        self._pg_gate = RiskGate(
            self,
            self.profitguard_settings.risk,
            persistent=self._pg_persist,
            notify=notify,
            timeframe_seconds=_timeframe_seconds(self.timeframe),
            summary_at_exit=runmode is RunMode.BACKTEST,
            summary_per_run=runmode is RunMode.HYPEROPT,
        )
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
        Overridden: Freqtrade gets the tighter of your stop and this one (`overrides`).
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
        stop written as the trade's initial stop (`profitguard.freqtrade.initial_stop`).
        Overridden: this runs at your super() call, or after your override."""
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
        Overridden: this exit, when there is one, is placed instead of your answer.
        """
        self._pg_tick(current_time)
        if self._pg_gate.halted():
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
        if not decision.exit_amount:
            return None
        if STOP_TAG in decision.exit_tags:
            self._pg_expect_exit(trade, self.order_types["exit"], STOP_TAG)
            return -trade.stake_amount, STOP_TAG  # through the stop already: all of it
        tag = exit_tag(decision.exit_tags)
        stake = exit_stake(trade, decision.exit_amount, amount_step(trade))
        # Freqtrade places a partial exit with the "exit" order type, no confirm before it
        self._pg_expect_exit(trade, self.order_types["exit"], tag)
        return stake, tag

    @fail_closed(None, inputs=lambda a: {"order": getattr(a["order"], "order_id", None)})
    def order_filled(
        self, pair: str, trade: Any, order: Any, current_time: datetime, **kwargs: Any
    ) -> None:
        """Place the initial stop when the entry fills; notify take-profit fills and stops.

        Overridden: this runs first, once, whether or not you call super()."""
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

    def ft_advise_signals(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Freqtrade's signals; called for every pair before each backtest run.

        Backtesting (each hyperopt epoch too) calls it before the run's first candle,
        so the run starts afresh (`runclock`): no state of the previous run, the
        ladders asked for again (`exit_config_key`), the ledger of initial stops
        emptied. The candles' float noise is snapped onto the price tick there, so
        that the backtester fills each exit on the candle the engine decided it
        (`prices`), and with `fast_backtest` on Freqtrade's copy of the trade is skipped
        for profitguard's own hooks (`trade_copy`). Dry-run and live call it on every
        candle and have no runs: their state carries on. Overridden: call super() and
        build on its result (an override that does not stops the run, naming it)."""
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

    @fail_closed(None, hook="client order id")
    def _pg_expect_exit(self, trade: Any, order_type: str, tag: str | None) -> None:
        """Announce `trade`'s next exit order (live mode); an error only loses the id."""
        if self._pg_client_ids is None:
            return
        client_id = self._pg_client_ids.exit_id(trade.id, tag or "exit", len(trade.orders) + 1)
        self._pg_client_ids.expect(trade.pair, trade.exit_side, order_type, client_id)

    @fail_closed(None, hook="client order id")
    def _pg_expect_entry(self, pair: str, side: str, order_type: str, tag: str | None) -> None:
        """Announce the entry order the gate just confirmed (live mode)."""
        millis = int(datetime.now().timestamp() * 1000)
        ids = self._pg_client_ids
        ids.expect(pair, side, order_type, ids.entry_id(tag, millis))

    # ------------------------------------------------- the risk gate (§4)

    @fail_closed(False, entry=True, inputs=lambda a: {"rate": a["rate"]})
    def confirm_trade_entry(
        self,
        pair: str,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        current_time: datetime,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> bool:
        """The risk gate: every rule in order, False at the first refusal (logged, sent).

        On error: False (Freqtrade would otherwise enter), logged once. Overridden: the
        entry goes ahead only if your override and the gate both confirm."""
        self._pg_tick(current_time)
        confirmed = self._pg_gate.confirm(
            pair, amount=amount, rate=rate, now=current_time, side=side
        )
        if confirmed and self._pg_client_ids is not None:
            self._pg_expect_entry(pair, "sell" if side == "short" else "buy", order_type, entry_tag)
        return confirmed

    def confirm_trade_exit(
        self,
        pair: str,
        trade: Any,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        exit_reason: str,
        current_time: datetime,
        **kwargs: Any,
    ) -> bool:
        """Confirm every exit. Not overridden: True.

        Freqtrade calls it right before it places a full exit (not a partial one);
        in live mode the order is announced here, so that it carries `exit_reason`
        in its client order id. An override that does not call
        `super().confirm_trade_exit(...)` only loses that id (ccxt's is sent).

        :param exit_reason: the exit's tag (`stop_loss`, `kill_switch`, `force_exit`, ...)
        :return: True to place the exit order, False to refuse it
        """
        self._pg_expect_exit(trade, order_type, exit_reason)
        return True

    @fail_closed(0.0, entry=True, inputs=lambda a: {"rate": a["current_rate"]})
    def custom_stake_amount(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_stake: float,
        min_stake: float | None,
        max_stake: float,
        leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        """Position sizing (`risk.sizing`), within the stake cap and Freqtrade's min/max stake.

        0 skips the trade. On error: 0 (Freqtrade would otherwise use its own stake).
        Overridden: the smaller of your stake and this one (anything else than a stake
        >= 0 from yours: 0)."""
        self._pg_tick(current_time)
        return self._pg_gate.stake(
            pair,
            now=current_time,
            rate=current_rate,
            proposed_stake=proposed_stake,
            min_stake=min_stake,
            max_stake=max_stake,
            leverage=leverage,
            side=side,
        )

    def should_exit(
        self, trade: Any, rate: float, current_time: datetime, **kwargs: Any
    ) -> list[ExitCheckTuple]:
        """Freqtrade's exit checks; while the kill switch is on, only the kill exit.

        The kill exit is Freqtrade's emergency exit: a market order for the whole trade
        (its `order_types["emergency_exit"]`, which must be "market"), whatever the exit
        order type, with `use_exit_signal` on or off; an open take-profit order is
        cancelled for it. On error: Freqtrade's exits alone. Overridden: your exits, with
        the stop and kill exits of this answer that yours left out put first (while the
        kill switch is on: this answer alone)."""
        exits = super().should_exit(trade, rate, current_time, **kwargs)
        if not self._pg_persist:
            return exits  # backtesting and hyperopt have no kill switch
        return self._pg_kill_exits(trade, rate, exits)

    @fail_closed(lambda a: a["exits"], hook="should_exit", inputs=lambda a: {"rate": a["rate"]})
    def _pg_kill_exits(
        self, trade: Any, rate: float, exits: list[ExitCheckTuple]
    ) -> list[ExitCheckTuple]:
        """While the kill switch is on, the kill exit instead of Freqtrade's `exits`."""
        if self._pg_monitor.exit_due(trade):
            self._pg_before_kill(trade)  # a forgotten stop must not lock what it sells
            return [
                ExitCheckTuple(exit_type=ExitType.EMERGENCY_EXIT, exit_reason=WATCHDOG_EXIT_TAG)
            ]
        if not self._pg_gate.halted():
            return exits
        if self._pg_gate.kill_due(trade):
            self._pg_before_kill(trade)
            return [ExitCheckTuple(exit_type=ExitType.EMERGENCY_EXIT, exit_reason=KILL_TAG)]
        return []  # its kill order is open: nothing may replace it

    @fail_closed(None, hook="kill switch (forgotten orders)")
    def _pg_before_kill(self, trade: Any) -> None:
        """Cancel the pair's resting profitguard orders the bot forgot (live mode), so
        that a forgotten stop cannot lock the coins the kill exit sells."""
        if self._pg_forgotten is not None:
            self._pg_forgotten.before_kill(trade)

    @fail_closed(False)
    def check_entry_timeout(
        self, pair: str, trade: Any, order: Any, current_time: datetime, **kwargs: Any
    ) -> bool:
        """Cancel open entry orders while the kill switch is on.

        Overridden: cancelled when either your override or the kill switch says so."""
        return self._pg_gate.halted()

    @fail_closed(None)
    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        """Re-read the guard file, log trading-state changes, run the watchdog, write the
        status file; live: cancel the resting stops the bot forgot (`stop_orders`), report
        a pair the exchange lost (`vanished`).

        Overridden: this runs first, once, whether or not you call super()."""
        if self._pg_client_ids is not None:
            self._pg_client_ids.clear()  # an order announced last loop was not placed
        self._pg_tick(current_time)
        self._pg_gate.loop(current_time, self._pg_watch(current_time))
        self._pg_sweep_forgotten()
        self._pg_report_vanished()
        self._pg_reconcile()

    @fail_closed(None, hook="reconciliation")
    def _pg_reconcile(self) -> None:
        """Live mode, before the loop's exits: each open trade's amount against its
        filled orders, and the exchange's profitguard orders against the database
        (`reconciler`)."""
        if self._pg_reconciler is not None:
            self._pg_reconciler.loop()

    @fail_closed(None, hook="forgotten stops")
    def _pg_sweep_forgotten(self) -> None:
        """Live mode, at the first loop (before Freqtrade places any stop) and once a
        minute: cancel the stops resting on the exchange that the bot forgot, so that
        Freqtrade places a new one at the stop in force (`stop_orders`)."""
        if self._pg_forgotten is not None:
            self._pg_forgotten.loop(Trade.get_trades_proxy(is_open=True))

    @fail_closed(None, hook="vanished pairs")
    def _pg_report_vanished(self) -> None:
        """Dry-run and live: report a pair the exchange no longer knows, once a loop,
        instead of Freqtrade's warnings about it (`vanished`)."""
        if self._pg_vanished is not None:
            self._pg_vanished.loop(Trade.get_trades_proxy(is_open=True))

    @fail_closed(None, hook="watchdog")
    def _pg_watch(self, now: datetime) -> dict[str, Any] | None:
        """Dry-run and live: the watchdog, and the open trades' figures to publish."""
        if not self._pg_persist:
            return None
        published = self._pg_monitor.loop(open_trades(), now)
        return published | {
            "callback_errors": self._pg_failures.count,
            "untracked": self.untracked_amount(),  # pair -> base amount (reconciliation)
        }

    def advise_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Freqtrade's indicators, then the stop and target lines (`pg_*` columns).

        The lines are drawn where a chart is: `plot-dataframe` (the latest backtest's
        trades) and dry-run/live (open trades, for FreqUI). Backtesting and hyperopt
        skip them. A failure to draw is logged and never affects trading. Overridden:
        call super() and build on its result (an override that does not stops the run)."""
        dataframe = super().advise_indicators(dataframe, metadata)
        check_atr_column(
            dataframe,
            metadata.get("pair"),
            self.profitguard_settings,
            trailing=self.exits_in_force.trail_atr_multiple is not None,
        )
        runmode = self.config.get("runmode")
        if runmode in (RunMode.BACKTEST, RunMode.HYPEROPT):
            self._pg_gate.costs.ask(metadata["pair"])  # asked while the exchange is there
        if runmode not in (RunMode.PLOT, RunMode.DRY_RUN, RunMode.LIVE, RunMode.WEBSERVER):
            return dataframe
        return self._pg_chart_lines(dataframe, metadata, runmode)

    @fail_closed(
        lambda a: a["dataframe"],
        hook="advise_indicators (stop and target lines)",
        inputs=lambda a: dict(a["metadata"]),
    )
    def _pg_chart_lines(self, dataframe: DataFrame, metadata: dict, runmode: RunMode) -> DataFrame:
        """`dataframe` with the stop and target lines of the trades a chart shows."""
        pair = metadata["pair"]
        if runmode is RunMode.PLOT:
            results = Path(self.config["user_data_dir"]) / "backtest_results"
            spans = backtest_trade_spans(pair, results, self.get_strategy_name())
        else:
            spans = open_trade_spans(pair)
        left_out: list[str] = []
        drawn = ladder_columns(
            dataframe,
            spans,
            self.exits_in_force,
            lambda side, rate, when, before: self.initial_stop(
                pair, side, rate, when, dataframe=before
            ),
            left_out,
        )
        say_left_out(pair, left_out)
        return drawn

    # -------------------------------------------------------------- helpers

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

    @property
    def exits_in_force(self) -> ProtectionConfig:
        """The ladders of the current run (a hyperopt epoch's, or the settings')."""
        return self._pg_tracker.exits

    def price_tick(self, pair: str) -> float | None:
        """`pair`'s price step (kept per pair), or None (no step, or no exchange)."""
        return self._pg_ticks.of(self.dp, pair)

    def stop_in_force(self, trade: Any) -> float | None:
        """The engine's stop in force for an open trade known in memory, else None.

        For the risk gate (portfolio heat); never creates state."""
        return self._pg_tracker.stop_in_force(trade)

    def stops_revision(self) -> int:
        """Changes whenever `stop_in_force` of some trade may have (the gate's snapshot)."""
        return self._pg_tracker.revision

    def untracked_amount(self) -> dict[str, float]:
        """pair -> base amount the account holds beyond the open trades that
        profitguard's own fills explain, at the last reconciliation (live mode; + long,
        - short); empty when there is none or outside live mode."""
        return self._pg_reconciler.untracked_amount() if self._pg_reconciler else {}

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
            ledger.start_run()
        key = self.exit_config_key()
        if key != self._pg_exits_key:
            self._pg_tracker.exits = self.exit_config()
            self._pg_exits_key = key

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


def _timeframe_seconds(timeframe: str | None) -> int:
    from freqtrade.exchange import timeframe_to_seconds

    return timeframe_to_seconds(timeframe or "5m")
