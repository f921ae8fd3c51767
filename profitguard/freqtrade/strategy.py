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
- `confirm_trade_entry`, `custom_stake_amount`, `should_exit`, `check_entry_timeout`
  and `bot_loop_start` are the risk gate, sizing and kill switch
  (`profitguard.freqtrade.gate`).

Callbacks fail closed: an error is logged (and sent, in dry-run and live) once per
trade, hook and cause with the trade and the inputs, the stop is left where it is
(never loosened) and no order is placed.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any, ClassVar

from freqtrade.constants import DEFAULT_AMOUNT_RESERVE_PERCENT
from freqtrade.enums import ExitCheckTuple, ExitType, RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from profitguard.engine import (
    STOP_TAG,
    ConfigError,
    Decision,
    Position,
    ProtectionConfig,
    make_plan,
    rebuild,
    step,
)
from profitguard.freqtrade import ledger, notify
from profitguard.freqtrade.gate import KILL_TAG, RiskGate
from profitguard.freqtrade.initial_stop import recorded_initial_stop, show_initial_stop
from profitguard.freqtrade.plotting import TradeSpan, ladder_columns
from profitguard.freqtrade.prices import price_tick, snap_candles
from profitguard.freqtrade.settings import SECTION, ProfitGuardSettings, load_settings
from profitguard.freqtrade.startup import kill_switch_order_type_error, other_exits
from profitguard.freqtrade.trades import (
    STATE_KEY,
    CorruptTradeState,
    TradeMemo,
    amount_step,
    exit_minimum,
    exit_stake,
    exit_tag,
    filled_exits,
    fills_signature,
    original_amount,
    stop_ratio,
)
from profitguard.risk.config import check_min_balance

log = logging.getLogger(__name__)


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

    plot_config: ClassVar[dict[str, Any]] = {
        "main_plot": {
            "pg_stop": {"color": "#d62728"},
            "pg_entry": {"color": "#7f7f7f"},
            "pg_tp1": {"color": "#2ca02c"},
            "pg_tp2": {"color": "#2ca02c"},
            "pg_tp3": {"color": "#2ca02c"},
        },
    }

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
                f"({_last_value(dataframe, settings.atr_column)!r}): no ATR stop to place"
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
        error naming the field and the value."""
        try:
            self.profitguard_settings: ProfitGuardSettings = load_settings(
                self.profitguard_config, self.config
            )
            wallets = getattr(self, "wallets", None)
            if wallets is not None:  # Freqtrade's, set before ft_bot_start in every mode
                check_min_balance(
                    self.profitguard_settings.risk,
                    wallets.get_starting_balance(),
                    self.config["stake_currency"],
                )
        except ConfigError as exc:
            raise OperationalException(f"profitguard: {exc}") from None
        problem = kill_switch_order_type_error(self.order_types)
        if problem is not None:
            raise OperationalException(f"profitguard: {problem}")
        for warning in other_exits(self):
            log.warning(warning)
        for attribute in ("use_custom_stoploss", "position_adjustment_enable"):
            if not getattr(self, attribute):
                raise OperationalException(
                    f"profitguard: '{attribute}' must be true for the ladders to run, "
                    f"was {getattr(self, attribute)!r} (check the config and the strategy)"
                )
        runmode = self.config.get("runmode")
        self._pg_persist = runmode in (RunMode.DRY_RUN, RunMode.LIVE)
        self._pg_notify = self._pg_persist and self.profitguard_settings.notifications
        self._pg_memos: dict[int, TradeMemo] = {}
        self._pg_frames: dict[str, tuple[datetime | None, DataFrame]] = {}
        self._pg_failures: set[tuple] = set()
        self._pg_ticks: dict[str, float | None] = {}
        self._pg_clock: datetime | None = None
        self._pg_run_gap = timedelta(seconds=2 * _timeframe_seconds(self.timeframe))
        self._pg_exits = self.profitguard_settings.exits
        self._pg_exits_key: Any = object()
        self._pg_gate = RiskGate(
            self,
            self.profitguard_settings.risk,
            persistent=self._pg_persist,
            notify=self._pg_notify,
            timeframe_seconds=_timeframe_seconds(self.timeframe),
            summary_at_exit=runmode is RunMode.BACKTEST,
            summary_per_run=runmode is RunMode.HYPEROPT,
        )
        super().ft_bot_start(**kwargs)
        # The ladders in force from the start, now that hyperopt parameter values are
        # loaded: a bad value stops the bot here, not later in a callback.
        try:
            self._pg_exits = self.exit_config()
        except ConfigError as exc:
            raise OperationalException(f"profitguard: {exc}") from None
        self._pg_exits_key = self.exit_config_key()

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
        """
        try:
            self._pg_tick(current_time)
            decision = self._pg_decide(trade, current_rate, current_time, fire=False)
            return stop_ratio(
                decision.stop, current_rate, is_short=trade.is_short, leverage=trade.leverage
            )
        except Exception as exc:
            self._pg_failed("custom_stoploss", trade, exc, rate=current_rate, after_fill=after_fill)
            return None

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
            try:
                memo = self._pg_known_memo(trade)
                if memo is not None:
                    keep = self._pg_persist
                    show_initial_stop(trade, memo.initial_stop, keep_across_restart=keep)
            except Exception as exc:  # a record only: never stops the stop update
                self._pg_failed("ft_stoploss_adjust (initial stop record)", trade, exc)

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
        """
        try:
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
            decision = self._pg_decide(
                trade, current_exit_rate, current_time, fire=True, min_notional=minimum
            )
            if not decision.exit_amount:
                return None
            if STOP_TAG in decision.exit_tags:
                return -trade.stake_amount, STOP_TAG  # through the stop already: all of it
            step_ = amount_step(trade)
            return exit_stake(trade, decision.exit_amount, step_), exit_tag(decision.exit_tags)
        except Exception as exc:
            self._pg_failed(
                "adjust_trade_position", trade, exc, rate=current_exit_rate, min_stake=min_stake
            )
            return None

    def order_filled(
        self, pair: str, trade: Any, order: Any, current_time: datetime, **kwargs: Any
    ) -> None:
        """Place the initial stop when the entry fills; notify take-profit fills and stops."""
        try:
            self._pg_tick(current_time)
            if order.ft_order_side == trade.entry_side:
                self._pg_memo(trade, current_time)
                return
            if self._pg_notify:
                memo = self._pg_memo(trade, current_time)
                message = notify.exit_filled(trade, order, memo.initial_stop)
                key = f"order:{order.order_id}"
                if message and key not in memo.notified:
                    memo.notified.add(key)
                    self._pg_save(trade, memo)
                    self.dp.send_msg(message)
            # The last exit: forget the trade. Dry-run and live call after updating the
            # trade (closed by now; a partial exit has already taken its amount off);
            # the backtester calls before, with the order covering all of it.
            if not trade.is_open or (not self._pg_persist and order.safe_filled >= trade.amount):
                self._pg_memos.pop(trade.id, None)
                self._pg_forget_failures(trade.id)
        except Exception as exc:
            self._pg_failed("order_filled", trade, exc, order=getattr(order, "order_id", None))

    def ft_advise_signals(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Freqtrade's signals; called for every pair before each backtest run.

        Backtesting (each hyperopt epoch too) calls it before the run's first candle,
        so the run starts afresh: no state of the previous run, the ladders asked for
        again (`exit_config_key`), the ledger of initial stops emptied. The candles'
        float noise is snapped onto the price tick there, so that the backtester
        fills each exit on the candle the engine decided it (`prices`). The time going
        backwards would catch most new runs, but not one that starts within two
        candles of where the last run's final callback was. Dry-run and live call it
        on every candle and have no runs: their state carries on."""
        if not self._pg_persist:
            self._pg_clock = None  # the next callback starts the run afresh (`_pg_tick`)
        dataframe = super().ft_advise_signals(dataframe, metadata)
        if self.config.get("runmode") in (RunMode.BACKTEST, RunMode.HYPEROPT):
            # the backtester fills exits against these candles: prices on the tick, so
            # an exit priced at the open or the low fills there (`prices`)
            dataframe = snap_candles(dataframe, self._pg_price_tick(metadata["pair"]))
        return dataframe

    def _pg_price_tick(self, pair: str) -> float | None:
        """The pair's price tick, kept: hyperopt's workers get the strategy without a
        live exchange, after the main process analyzed every pair (and asked here)."""
        if pair not in self._pg_ticks:
            exchange = getattr(self.dp, "_exchange", None)
            try:
                tick = price_tick(exchange.get_precision_price(pair), exchange.precision_mode_price)
            except AttributeError:  # no exchange (a hyperopt worker): nothing to ask
                return None
            self._pg_ticks[pair] = tick
        return self._pg_ticks[pair]

    # ------------------------------------------------- the risk gate (§4)

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

        On error: False (Freqtrade would otherwise enter), logged once."""
        try:
            self._pg_tick(current_time)
            return self._pg_gate.confirm(
                pair, amount=amount, rate=rate, now=current_time, side=side
            )
        except Exception as exc:
            self._pg_refused_on_error("confirm_trade_entry", pair, exc, current_time, rate=rate)
            return False

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

        0 skips the trade. On error: 0 (Freqtrade would otherwise use its own stake)."""
        try:
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
        except Exception as exc:
            self._pg_refused_on_error(
                "custom_stake_amount", pair, exc, current_time, rate=current_rate
            )
            return 0.0

    def should_exit(
        self, trade: Any, rate: float, current_time: datetime, **kwargs: Any
    ) -> list[ExitCheckTuple]:
        """Freqtrade's exit checks; while the kill switch is on, only the kill exit.

        The kill exit is Freqtrade's emergency exit: a market order for the whole trade
        (its `order_types["emergency_exit"]`, which must be "market"), whatever the exit
        order type, with `use_exit_signal` on or off; an open take-profit order is
        cancelled for it. On error: Freqtrade's exits alone."""
        exits = super().should_exit(trade, rate, current_time, **kwargs)
        if not self._pg_persist:
            return exits  # backtesting and hyperopt have no kill switch
        try:
            if not self._pg_gate.halted():
                return exits
            kill = self._pg_gate.kill_due(trade)
        except Exception as exc:
            self._pg_failed("should_exit", trade, exc, rate=rate)
            return exits
        if kill:
            return [ExitCheckTuple(exit_type=ExitType.EMERGENCY_EXIT, exit_reason=KILL_TAG)]
        return []  # its kill order is open: nothing may replace it

    def check_entry_timeout(
        self, pair: str, trade: Any, order: Any, current_time: datetime, **kwargs: Any
    ) -> bool:
        """Cancel open entry orders while the kill switch is on."""
        try:
            return self._pg_gate.halted()
        except Exception as exc:
            self._pg_failed("check_entry_timeout", trade, exc)
            return False

    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        """Re-read the guard file, log trading-state changes, write the status file.

        Call `super().bot_loop_start(current_time, **kwargs)` when you override it."""
        try:
            self._pg_tick(current_time)
            self._pg_gate.loop(current_time)
        except Exception as exc:
            self._pg_failed("bot_loop_start", None, exc)

    def advise_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Freqtrade's indicators, then the stop and target lines (`pg_*` columns).

        The lines are drawn where a chart is: `plot-dataframe` (the latest backtest's
        trades) and dry-run/live (open trades, for FreqUI). Backtesting and hyperopt
        skip them. A failure to draw is logged and never affects trading."""
        dataframe = super().advise_indicators(dataframe, metadata)
        self._pg_check_columns(dataframe, metadata.get("pair"))
        runmode = self.config.get("runmode")
        if runmode in (RunMode.BACKTEST, RunMode.HYPEROPT):
            self._pg_price_tick(metadata["pair"])  # asked while the exchange is there
        if runmode not in (RunMode.PLOT, RunMode.DRY_RUN, RunMode.LIVE, RunMode.WEBSERVER):
            return dataframe
        try:
            pair = metadata["pair"]
            spans = trade_spans(self, pair, runmode)
            return ladder_columns(
                dataframe,
                spans,
                self._pg_exits,
                lambda side, rate, when, before: self.initial_stop(
                    pair, side, rate, when, dataframe=before
                ),
            )
        except Exception as exc:
            self._pg_failed("advise_indicators (stop and target lines)", None, exc, **metadata)
            return dataframe

    # -------------------------------------------------------------- helpers

    def _pg_check_columns(self, dataframe: DataFrame, pair: str | None) -> None:
        """The ATR column the settings ask for must be in the analyzed frame: an error
        here stops the bot (and a backtest) instead of a silent 2% stop or a trailing
        stop that never moves."""
        column = self.profitguard_settings.initial_stop.atr_column
        if column in dataframe.columns:
            return
        users = []
        if self.profitguard_settings.atr_initial_stop:
            users.append("the initial stop")
        if self._pg_exits.trail_atr_multiple is not None:
            users.append(f"'{SECTION}.exits.trail_atr_multiple'")
        if users:
            raise OperationalException(
                f"profitguard: '{SECTION}.initial_stop.atr_column' is {column!r}, used by "
                f"{' and '.join(users)}, but the analyzed dataframe of {pair} has no such "
                f"column (columns: {', '.join(map(str, dataframe.columns))}); add it in "
                "populate_indicators or name the right one"
            )

    def analyzed(self, pair: str) -> DataFrame:
        """The pair's analyzed dataframe up to the last closed candle (no lookahead).

        Kept for the current callback time: it changes only with the candle, and
        sizing, the gate and the initial stop all ask for it within one."""
        cached = self._pg_frames.get(pair)
        if cached is not None and cached[0] == self._pg_clock:
            return cached[1]
        dataframe, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        self._pg_frames[pair] = (self._pg_clock, dataframe)
        return dataframe

    def _pg_tick(self, now: datetime) -> None:
        """Start afresh at a new backtest run or hyperopt epoch: trade memos, the
        ladders in force and the risk gate's per-run state.

        `ft_advise_signals` marks each run's start (in backtesting); as a safety net,
        time running backwards does too. Detail candles of one pair may precede
        another pair's main candle, so only a jump back of more than two candles counts."""
        if self._pg_clock is None or now < self._pg_clock - self._pg_run_gap:
            self._pg_memos.clear()
            self._pg_frames.clear()
            if not self._pg_persist:  # backtesting: per-run state of the gate and ledger
                self._pg_failures.clear()  # trade ids start again with each run
                self._pg_gate.start_run()
                ledger.start_run()
            key = self.exit_config_key()
            if key != self._pg_exits_key:
                self._pg_exits = self.exit_config()
                self._pg_exits_key = key
            self._pg_clock = now  # the new run's clock: its next callback is not another start
        elif now > self._pg_clock:
            self._pg_clock = now

    @property
    def exits_in_force(self) -> ProtectionConfig:
        """The ladders of the current run (a hyperopt epoch's, or the settings')."""
        return self._pg_exits

    def stop_in_force(self, trade: Any) -> float | None:
        """The engine's stop in force for an open trade known in memory, else None.

        For the risk gate (portfolio heat); never creates state."""
        memo = self._pg_known_memo(trade)
        if memo is None or original_amount(trade) <= 0:
            return None
        return self._pg_position(trade, memo).stop

    def _pg_known_memo(self, trade: Any) -> TradeMemo | None:
        memo = self._pg_memos.get(trade.id)
        return memo if memo is not None and memo.opened_at == trade.open_date else None

    def _pg_memo(self, trade: Any, now: datetime) -> TradeMemo:
        """The trade's memo: from memory, else from its stored record, else new.

        Dry-run and live store the record in the trade's custom data (restarts);
        backtesting keeps only the initial stop, in the run's ledger (custom data is
        a list Freqtrade scans on every access there, and nothing restarts)."""
        memo = self._pg_known_memo(trade)
        if memo is not None:
            return memo
        stop = None
        if self._pg_persist:
            record = trade.get_custom_data(STATE_KEY)
            if record is not None:
                memo = TradeMemo.from_record(record, trade_id=trade.id, opened_at=trade.open_date)
            elif (recorded := recorded_initial_stop(trade, self.stoploss)) is not None:
                stop = recorded  # the record is lost, Freqtrade's copy of the one R is not
            elif _stop_already_placed(trade):
                # today's candles would give another initial stop, another R
                raise CorruptTradeState(
                    f"trade {trade.id}: custom data '{STATE_KEY}' is missing, but its stop was "
                    f"already placed ({trade.stop_loss!r}); the initial stop (one R) is not "
                    "recomputed from today's candles"
                )
        else:
            stop = ledger.initial_stop_of(trade)
        if memo is None:
            if stop is None:
                side = "short" if trade.is_short else "long"
                stop = self.initial_stop(
                    trade.pair, side, trade.open_rate, now, dataframe=self.analyzed(trade.pair)
                )
                _check_initial_stop(stop, trade.open_rate, side)
            memo = TradeMemo(
                trade_id=trade.id,
                opened_at=trade.open_date,
                initial_stop=float(stop),
                best=trade.open_rate,
                worst=trade.open_rate,
            )
            if self._pg_persist:
                self._pg_save(trade, memo)
            else:
                ledger.record(trade, memo.initial_stop)  # R for sizing and the hyperopt loss
        self._pg_memos[trade.id] = memo
        return memo

    def _pg_position(self, trade: Any, memo: TradeMemo) -> Position:
        """The engine state of `trade` from its confirmed fills and its memo.

        Rebuilt only when the fills changed: otherwise the confirmed state after
        the last price (kept by `_pg_decide`) is the state."""
        fills = fills_signature(trade)
        cached = memo.position
        if cached is not None and memo.fills == fills and cached.plan.config is self._pg_exits:
            return cached
        amount = original_amount(trade)
        key = (trade.open_rate, amount, memo.initial_stop)
        if memo.plan is None or memo.plan_key != key or memo.plan.config is not self._pg_exits:
            memo.plan = make_plan(
                self._pg_exits,
                side="short" if trade.is_short else "long",
                entry=trade.open_rate,
                initial_stop=memo.initial_stop,
                amount=amount,
                amount_step=amount_step(trade),
            )
            memo.plan_key = key
        if trade.is_short:
            best = min(memo.best, trade.min_rate or memo.best)
            worst = max(memo.worst, trade.max_rate or memo.worst)
        else:
            best = max(memo.best, trade.max_rate or memo.best)
            worst = min(memo.worst, trade.min_rate or memo.worst)
        memo.position = rebuild(
            memo.plan,
            exits=filled_exits(trade),
            best_price=best,
            worst_price=worst,
            stop_floor=memo.stop_floor,
        )
        memo.fills = fills
        return memo.position

    def _pg_decide(
        self, trade: Any, rate: float, now: datetime, *, fire: bool, min_notional: float = 0.0
    ) -> Decision:
        memo = self._pg_memo(trade, now)
        position = self._pg_position(trade, memo)
        plan = position.plan
        atr = None
        if plan.atr_multiple is not None:
            column = self.profitguard_settings.initial_stop.atr_column
            frame = self.analyzed(trade.pair)
            atr = last_positive(frame, column)
            if atr is None:  # reported, not silent: the stop holds (it never loosens)
                self._pg_failed(
                    "chandelier trailing",
                    trade,
                    ValueError(
                        f"'{column}' is {_last_value(frame, column)!r} on the last candle; "
                        "the ATR trailing stop does not move until it has a value > 0"
                    ),
                )
        decision = step(
            position, rate, now, atr=atr, fire_take_profits=fire, min_notional=min_notional
        )
        after = decision.position
        if not decision.exit_amount:
            memo.position = after  # confirmed: no order rides on it (an exit waits for its fill)
        memo.best, memo.worst = after.peak_price, plan.sign * after.worst_x
        if plan.atr_multiple is not None:
            memo.stop_floor = after.stop
        if self._pg_notify and after.stop_x >= plan.entry_x and "breakeven" not in memo.notified:
            memo.notified.add("breakeven")
            self.dp.send_msg(notify.breakeven(trade, after))
        self._pg_save(trade, memo)
        return decision

    def _pg_save(self, trade: Any, memo: TradeMemo) -> None:
        """Write the memo to custom data when it changed (dry-run and live: restarts)."""
        if not self._pg_persist:
            return
        record = memo.record()
        if record != memo.written:
            trade.set_custom_data(STATE_KEY, record)
            memo.written = record

    def _pg_refused_on_error(
        self, hook: str, pair: str, exc: Exception, now: datetime, **inputs: Any
    ) -> None:
        """Report an error of the gate or of sizing (logged, counted and sent as a
        GATE_ERROR refusal); never raises, so the caller refuses."""
        try:
            self._pg_failed(hook, None, exc, pair=pair, **inputs)
            self._pg_gate.failed(pair, exc, now)
        except Exception:  # a failing report must not turn the refusal into an entry
            log.critical("profitguard %s failed for %s; entry refused", hook, pair, exc_info=True)

    def _pg_failed(self, hook: str, trade: Any, exc: Exception, **inputs: Any) -> None:
        """Log a callback failure, and send it (dry-run and live), once per trade (or
        pair), hook and cause. The key holds no message text, so a message with a
        changing figure is one key; a trade's keys are forgotten when it closes."""
        trade_id = getattr(trade, "id", None)
        key = (trade_id if trade is not None else inputs.get("pair"), hook, type(exc))
        if key in self._pg_failures:
            return
        self._pg_failures.add(key)
        described = ", ".join(f"{k}={v!r}" for k, v in inputs.items())
        outcome = _OUTCOMES.get(hook, "no order placed")
        log.error(
            "profitguard %s failed for trade %s (%s): %s: %s [%s]; %s",
            hook,
            trade_id,
            getattr(trade, "pair", None),
            type(exc).__name__,
            exc,
            described,
            outcome,
            exc_info=exc,
        )
        if self._pg_notify:
            try:
                self.dp.send_msg(
                    f"profitguard {hook} failed for trade {trade_id} "
                    f"({getattr(trade, 'pair', inputs.get('pair'))}): {type(exc).__name__}: "
                    f"{exc}; {outcome}"
                )
            except Exception:  # a failing message must not hide the failure
                log.exception("profitguard: sending the failure of %s failed", hook)

    def _pg_forget_failures(self, trade_id: int) -> None:
        self._pg_failures = {k for k in self._pg_failures if k[0] != trade_id}


# what a failure of a hook leaves behind, for its message (default: no order placed)
_OUTCOMES = {
    "custom_stoploss": "the stop is left where it is",
    "chandelier trailing": "the other stops still apply",
}


def trade_spans(strategy: IStrategy, pair: str, runmode: RunMode) -> list[TradeSpan]:
    """The trades whose lines a chart of `pair` shows."""
    if runmode is RunMode.PLOT:
        from pathlib import Path

        from freqtrade.data.btanalysis import load_backtest_data

        results = Path(strategy.config["user_data_dir"]) / "backtest_results"
        try:
            trades = load_backtest_data(results, strategy=strategy.get_strategy_name())
        except ValueError:  # no backtest results yet: nothing to draw
            return []
        spans = []
        for row in trades[trades["pair"] == pair].itertuples():
            entries = [o for o in row.orders if o["ft_is_entry"]]
            spans.append(
                TradeSpan(
                    open_date=row.open_date.to_pydatetime(),
                    close_date=row.close_date.to_pydatetime(),
                    open_rate=float(row.open_rate),
                    amount=sum(o["amount"] for o in entries),
                    is_short=bool(row.is_short),
                )
            )
        return spans
    from freqtrade.persistence import Trade

    return [
        TradeSpan(
            open_date=t.open_date_utc,
            close_date=None,
            open_rate=t.open_rate,
            amount=original_amount(t),
            is_short=t.is_short,
        )
        for t in Trade.get_trades_proxy(pair=pair, is_open=True)
    ]


def last_positive(dataframe: DataFrame | None, column: str) -> float | None:
    """The last value of `column`, or None (no frame, no column, NaN, not > 0)."""
    if dataframe is None or dataframe.empty or column not in dataframe.columns:
        return None
    value = dataframe[column].iat[-1]
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def _last_value(dataframe: DataFrame | None, column: str) -> Any:
    """The last value of `column`, for messages (None without one)."""
    if dataframe is None or dataframe.empty or column not in dataframe.columns:
        return None
    value = dataframe[column].iat[-1]
    return value.item() if hasattr(value, "item") else value


def _stop_already_placed(trade: Any) -> bool:
    """Whether our stop has moved the trade's stop off the one Freqtrade set at entry
    (its `stoploss` backstop): a trade without a record then lost it."""
    stop, initial = trade.stop_loss, trade.initial_stop_loss
    return bool(stop) and bool(initial) and not math.isclose(stop, initial, rel_tol=1e-12)


def _check_initial_stop(stop: Any, entry: float, side: str) -> None:
    if isinstance(stop, bool) or not isinstance(stop, int | float) or not math.isfinite(stop):
        raise ValueError(f"initial_stop() must return a price, returned {stop!r}")
    if stop <= 0 or (side == "long" and stop >= entry) or (side == "short" and stop <= entry):
        where = "above" if side == "short" else "below"
        raise ValueError(
            f"initial_stop() must return a price {where} the entry {entry!r} "
            f"for a {side}, returned {stop!r}"
        )


def _timeframe_seconds(timeframe: str | None) -> int:
    from freqtrade.exchange import timeframe_to_seconds

    return timeframe_to_seconds(timeframe or "5m")
