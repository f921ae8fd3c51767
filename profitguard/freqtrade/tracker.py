"""The per-trade tracker: each open trade's memo, its engine state, its decisions.

For every callback the trade's engine state is rebuilt from Freqtrade's confirmed
orders (what closed, by amount) plus the memo: the initial stop (one R), the best
and worst prices seen, the ATR stop floor and what was notified. Dry-run and live
keep the memo in the trade's custom data too (restarts); backtesting keeps only the
initial stop, in the run's ledger (custom data is a list Freqtrade scans on every
access there, and nothing restarts). Nothing lives on the trade object, and nothing
on it is changed: Freqtrade hands callbacks a copy of it in dry-run and live, and in
backtesting the trade itself (`trade_copy`). Dry-run and live also show the engine
what the market did while the bot did not look at a trade (`observe_unseen`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pandas import DataFrame

from profitguard.engine import (
    Candle,
    Decision,
    Position,
    ProtectionConfig,
    make_plan,
    rebuild,
    step,
    unseen_prices,
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
# (trade, last evaluation, now) -> the candles since then and their interval, or None
# (a normal loop's stretch, or none to be had): `unseen_feed.UnseenCandles`
UnseenFeed = Callable[[Any, datetime, datetime], tuple[list[Candle], timedelta] | None]

log = logging.getLogger(__name__)


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
        unseen: UnseenFeed | None = None,
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
        self._unseen = unseen  # dry-run and live: the candles of a blocked loop
        # trade id -> when the engine last saw its price (`observe_unseen`)
        self.seen: dict[int, datetime] = {}
        # trade id -> an unseen price that reached its stop: it exits in full, late
        self.touched: dict[int, float] = {}

    def clear(self) -> None:
        """A new backtest run: no trade of the last one is open."""
        self.memos.clear()
        self.prices.clear()
        self.seen.clear()
        self.touched.clear()
        self.revision += 1

    def forget(self, trade_id: int) -> None:
        """The trade closed."""
        self.memos.pop(trade_id, None)
        self.prices.pop(trade_id, None)
        self.seen.pop(trade_id, None)
        self.touched.pop(trade_id, None)
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
                # a new trade: the engine has seen nothing since its entry filled
                self.seen[trade.id] = _entry_filled_at(trade)
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
        touched = None
        if self._unseen is not None:  # dry-run and live
            position = self.observe_unseen(trade, memo, position, now, atr)
            touched = self.touched.get(trade.id)
        decision = step(
            position, rate, now, atr=atr, fire_take_profits=fire, min_notional=min_notional
        )
        if touched is not None and not decision.exit_amount:
            # the stop in force was reached while the bot did not look: once the levels
            # the price passed before it are sold (above), the rest exits
            decision = step(position, touched, now, atr=atr, fire_take_profits=False)
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

    def observe_unseen(
        self, trade: Any, memo: TradeMemo, position: Position, now: datetime, atr: float | None
    ) -> Position:
        """`position` after the prices the trade did not see since its last evaluation
        (a loop blocked longer than two loops: `unseen_feed`), observed as the
        backtester shows a candle (`engine.unseen`); dry-run and live only.

        A level the price passed there is reached: it fires at the next price that may
        exit (`adjust_trade_position`, late, at the market price), recorded per level.
        The peak there moves the stop as any peak does. A stop in force reached there
        (`touched`) exits all that remains at the market price, right after the levels
        passed before it are sold: a stop resting on the exchange would have filled
        then, so the trade is not kept open on a stop the market already went through
        (with the stop on the exchange, its own stop may have filled first; Freqtrade
        then closes the trade from that order). After a restart the bot's first look
        starts afresh: the downtime is not fed."""
        seen = self.seen.get(trade.id)
        if seen is None or now <= seen:
            if seen is None:
                self.seen[trade.id] = now
            return position
        self.seen[trade.id] = now
        if self._unseen is None or trade.id in self.touched:
            return position
        try:
            found = self._unseen(trade, seen, now)
        except Exception as exc:  # reported, not raised: the price of now still counts
            self._report("unseen prices", trade, exc)
            return position
        if found is None:
            return position
        candles, interval = found
        prices = unseen_prices(
            candles, is_short=trade.is_short, seen=seen, now=now, interval=interval
        )
        before = position
        for price in prices:
            decision = step(position, price, now, atr=atr, fire_take_profits=False)
            if decision.exit_amount:  # the stop in force, reached
                self.touched[trade.id] = price
                break
            position = decision.position
        if position is not before:
            memo.position = position  # confirmed: an observed price places no order
            self.revision += 1
        if prices:
            log.info(
                "profitguard: %s (trade %s): %d candles (%s s each) the bot did not look at "
                "shown late: peak %.8g, stop %.8g%s",
                trade.pair,
                trade.id,
                len(prices) // 4,
                f"{interval.total_seconds():g}",
                position.peak_price,
                position.stop,
                f", stop reached at {self.touched[trade.id]:.8g}"
                if trade.id in self.touched
                else "",
            )
        return position

    def save(self, trade: Any, memo: TradeMemo) -> None:
        """Write the memo to custom data when it changed (dry-run and live: restarts)."""
        if not self.persist:
            return
        record = memo.record()
        if record != memo.written:
            trade.set_custom_data(STATE_KEY, record)
            memo.written = record


def _entry_filled_at(trade: Any) -> datetime:
    """When the trade's first entry filled (its open date when not recorded), UTC."""
    filled = [
        o.order_filled_date
        for o in trade.select_filled_orders(trade.entry_side)
        if getattr(o, "order_filled_date", None) is not None
    ]
    moment = min(filled) if filled else trade.open_date
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


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
