"""The per-trade tracker: each open trade's memo, its engine state, its decisions.

For every callback the trade's engine state is rebuilt from Freqtrade's confirmed
orders (what closed, by amount) plus the memo: the initial stop (one R), the best
and worst prices seen, the ATR stop floor and what was notified. Dry-run and live
keep the memo in the trade's custom data too (restarts); backtesting keeps only the
initial stop, in the run's ledger (custom data is a list Freqtrade scans on every
access there, and nothing restarts). Nothing lives on the trade object, and nothing
on it is changed: Freqtrade hands callbacks a copy of it in dry-run and live, and in
backtesting the trade itself (`trade_copy`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pandas import DataFrame

from profitguard.engine import (
    Decision,
    Position,
    ProtectionConfig,
    make_plan,
    rebuild,
    step,
)
from profitguard.freqtrade import backtest_stops
from profitguard.freqtrade.columns import last_positive, last_value
from profitguard.freqtrade.initial_stop import check_returned_stop, recorded_initial_stop
from profitguard.freqtrade.notify import Notifier
from profitguard.freqtrade.trades import (
    STATE_KEY,
    CorruptTradeState,
    TradeMemo,
    amount_step,
    filled_exits,
    fills_signature,
    original_amount,
)

# (trade, now) -> the initial stop price the strategy's `initial_stop` hook gives
InitialStop = Callable[[Any, datetime], float]
# (hook, trade, error) -> None: reported once, never raised
Report = Callable[[str, Any, Exception], None]


class TradeTracker:
    """Memo, rebuild, decide, save: the engine's view of each open trade."""

    def __init__(
        self,
        exits: ProtectionConfig,
        *,
        persist: bool,
        initial_stop: InitialStop,
        backstop: Callable[[], float],
        atr_column: str,
        analyzed: Callable[[str], DataFrame],
        notifier: Notifier,
        report: Report,
    ) -> None:
        self.exits = exits  # the ladders in force (a hyperopt epoch's, or the settings')
        self.persist = persist  # dry-run and live: memos saved in the trade's custom data
        self.memos: dict[int, TradeMemo] = {}
        # trade id -> (the last price the stop was checked at, when it last changed): the
        # watchdog's stale-price check and the dashboard's R now
        self.prices: dict[int, tuple[float, datetime]] = {}
        # changes whenever a stop in force (`stop_in_force`) may have: the risk gate's
        # account snapshot keeps the open positions' stops until it does
        self.revision = 0
        self._initial_stop = initial_stop
        self._backstop = backstop
        self._atr_column = atr_column
        self._analyzed = analyzed
        self._notifier = notifier
        self._report = report

    def clear(self) -> None:
        """A new backtest run: no trade of the last one is open."""
        self.memos.clear()
        self.prices.clear()
        self.revision += 1

    def forget(self, trade_id: int) -> None:
        """The trade closed."""
        self.memos.pop(trade_id, None)
        self.prices.pop(trade_id, None)
        self.revision += 1

    def known(self, trade: Any) -> TradeMemo | None:
        """The memo of `trade` in memory (None: not seen yet, or its id was reused)."""
        memo = self.memos.get(trade.id)
        return memo if memo is not None and memo.opened_at == trade.open_date else None

    def memo(self, trade: Any, now: datetime) -> TradeMemo:
        """The trade's memo: from memory, else from its stored record, else new (the
        initial stop asked for now, checked, and recorded)."""
        memo = self.known(trade)
        if memo is not None:
            return memo
        stop = None
        if self.persist:
            record = trade.get_custom_data(STATE_KEY)
            if record is not None:
                memo = TradeMemo.from_record(record, trade_id=trade.id, opened_at=trade.open_date)
            elif (recorded := recorded_initial_stop(trade, self._backstop())) is not None:
                stop = recorded  # the record is lost, Freqtrade's copy of the one R is not
            elif _stop_already_placed(trade, self._backstop()):
                # today's candles would give another initial stop, another R
                raise CorruptTradeState(
                    f"trade {trade.id}: custom data '{STATE_KEY}' is missing, but its stop was "
                    f"already placed ({trade.stop_loss!r}); the initial stop (one R) is not "
                    "recomputed from today's candles"
                )
        else:
            stop = backtest_stops.initial_stop_of(trade)
        if memo is None:
            if stop is None:
                stop = self._initial_stop(trade, now)
                check_returned_stop(stop, trade.open_rate, "short" if trade.is_short else "long")
            memo = TradeMemo(
                trade_id=trade.id,
                opened_at=trade.open_date,
                initial_stop=float(stop),
                best=trade.open_rate,
                worst=trade.open_rate,
            )
            if self.persist:
                self.save(trade, memo)
            else:
                backtest_stops.record(
                    trade, memo.initial_stop
                )  # R for sizing and the hyperopt loss
        self.memos[trade.id] = memo
        self.revision += 1
        return memo

    def position(self, trade: Any, memo: TradeMemo) -> Position:
        """The engine state of `trade` from its confirmed fills and its memo.

        Rebuilt only when the fills changed: otherwise the confirmed state after
        the last price (kept by `decide`) is the state."""
        fills = fills_signature(trade)
        cached = memo.position
        if cached is not None and memo.fills == fills and cached.plan.config is self.exits:
            return cached
        amount = original_amount(trade)
        key = (trade.open_rate, amount, memo.initial_stop)
        if memo.plan is None or memo.plan_key != key or memo.plan.config is not self.exits:
            memo.plan = make_plan(
                self.exits,
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
        self.revision += 1
        return memo.position

    def stop_in_force(self, trade: Any) -> float | None:
        """The engine's stop in force for an open trade known in memory, else None
        (never creates state)."""
        memo = self.known(trade)
        if memo is None or original_amount(trade) <= 0:
            return None
        return self.position(trade, memo).stop

    def decide(
        self, trade: Any, rate: float, now: datetime, *, fire: bool, min_notional: float = 0.0
    ) -> Decision:
        """One engine step at `rate`; the memo follows (and is saved) unless an exit
        rides on the decision (it waits for its fill)."""
        memo = self.memo(trade, now)
        seen = self.prices.get(trade.id)
        # one price source only (the stop check's): `custom_stoploss` and
        # `adjust_trade_position` may be handed different rates (bid and last), and two
        # frozen rates taken in turn would look like a price that keeps changing
        if not fire and (seen is None or seen[0] != rate):
            self.prices[trade.id] = (rate, now)
        position = self.position(trade, memo)
        plan = position.plan
        atr = None
        if plan.atr_multiple is not None:
            frame = self._analyzed(trade.pair)
            atr = last_positive(frame, self._atr_column)
            if atr is None:  # reported, not silent: the stop holds (it never loosens)
                self._report(
                    "chandelier trailing",
                    trade,
                    ValueError(
                        f"'{self._atr_column}' is {last_value(frame, self._atr_column)!r} on "
                        "the last candle; the ATR trailing stop does not move until it has a "
                        "value > 0"
                    ),
                )
        decision = step(
            position, rate, now, atr=atr, fire_take_profits=fire, min_notional=min_notional
        )
        after = decision.position
        if not decision.exit_amount:
            memo.position = after  # confirmed: no order rides on it (an exit waits for its fill)
            if after.stop != position.stop:
                self.revision += 1  # the stop in force moved
        memo.best, memo.worst = after.peak_price, plan.sign * after.worst_x
        if plan.atr_multiple is not None:
            memo.stop_floor = after.stop
        if self.persist:  # backtesting sends and saves nothing: no calls per candle
            self._notifier.breakeven(trade, memo, after)
            self.save(trade, memo)
        return decision

    def save(self, trade: Any, memo: TradeMemo) -> None:
        """Write the memo to custom data when it changed (dry-run and live: restarts)."""
        if not self.persist:
            return
        record = memo.record()
        if record != memo.written:
            trade.set_custom_data(STATE_KEY, record)
            memo.written = record


def _stop_already_placed(trade: Any, backstop: float) -> bool:
    """Whether our stop has moved the trade's stop off the one Freqtrade set at entry
    (its `stoploss` backstop): a trade without a record then lost it.

    Freqtrade moves the backstop itself when the entry fills at another price than
    the order's (the open rate is recalculated and the stop follows it, a tick or
    more): that stop still carries the backstop's ratio (`stop_loss_pct`), ours never
    does, so only a stop off the initial one with another ratio is ours."""
    stop, initial = trade.stop_loss, trade.initial_stop_loss
    if not stop or not initial or math.isclose(stop, initial, rel_tol=1e-12):
        return False
    ratio = trade.stop_loss_pct
    return ratio is None or not math.isclose(ratio, -abs(backstop), rel_tol=1e-9)
