"""OHLC candles through the engine the way Freqtrade's backtester shows them, and
the prices Freqtrade fills the exits at.

One model for `simulate --candles`, `report --check` (parity) and the sweep: the
order in which a backtest shows a candle to the strategy decides what the engine
does; Freqtrade's own fill rules decide the price each exit gets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import NamedTuple

from profitguard.engine.position import Position
from profitguard.engine.step import INITIAL_RULE, STOP_TAG, Decision, step, stop_rule


class Candle(NamedTuple):
    at: datetime | None
    open: float
    high: float
    low: float
    close: float


class CandleTick(NamedTuple):
    """One decision inside a candle, which price of the candle it saw, and for an
    exit the price Freqtrade's backtest fills it at (`fill`) and, for a stop exit,
    the rule that set the stop (`stop_rule`)."""

    candle: Candle
    kind: str  # "open" (may take profit), "best" (observed), "worst" (stop check)
    decision: Decision
    fill: float | None = None  # an exit's fill price in a backtest; None: no exit
    stop_rule: str | None = None
    rests: bool = False  # the exit's price, on the tick, lies outside this candle


def _on_tick(price: float, tick: float, rounding: str, slack: str = "0") -> float:
    """`price` on the `tick` grid, as the exchange's decimal string read back; `slack`
    (in ticks) is taken off before rounding up, added before rounding down."""
    step = Decimal(repr(tick))
    n = Decimal(repr(price)) / step
    n += -Decimal(slack) if rounding == ROUND_CEILING else Decimal(slack)
    return float(n.to_integral_value(rounding=rounding) * step)


def held_stop(stop: float, tick: float | None, is_short: bool) -> float:
    """The stop Freqtrade holds for the engine's `stop`: rounded to the price tick
    away from the position (up for a long), as `Trade.adjust_stop_loss` does. A stop
    within a billionth of a tick of the grid is on it (the engine's float noise)."""
    if not tick:
        return stop
    return _on_tick(stop, tick, ROUND_FLOOR if is_short else ROUND_CEILING, "1e-9")


def exit_price(price: float, tick: float | None) -> float:
    """The price of an exit order Freqtrade's backtest places at `price`: the nearest
    tick (`price_to_precision`). The order fills in the candle only when that price
    lies within its low and high (`Backtesting._get_order_filled`); otherwise it
    rests, and fills on a later candle or times out."""
    return _on_tick(price, tick, ROUND_HALF_UP) if tick else price


def replay_candles(
    position: Position,
    candles: Iterable[Candle],
    *,
    atr: float | None = None,
    min_notional: float = 0.0,
    tick: float | None = None,
    first_is_entry: bool = True,
    next_index: Callable[[Position, int], int] | None = None,
) -> list[CandleTick]:
    """`step` over OHLC candles in the order Freqtrade's backtester shows them.

    Per candle, for a long (a short mirrors it with low and high swapped):
    1. the open, where `adjust_trade_position` may take profit (filled at the open);
       a gap through the stop exits at the open;
    2. if the low already reaches the stop as it stood, the stop fills (Freqtrade
       does not call `custom_stoploss` then);
    3. otherwise the high, seen by `custom_stoploss`: peak and stop only;
    4. then the low, where the stop is checked.
    Freqtrade holds the engine's stop rounded up to `tick` (down for a short), so a
    low between the two stops it, at the held price; every exit's price is put on
    the nearest tick (`exit_price`), and one that then lies outside the candle is
    marked `rests`: Freqtrade's order would rest there, which this model does not
    follow (it fills the exit in the candle it decided). On the entry candle
    (`first_is_entry`: the first candle is the one the trade entered on) a stop
    the high moved and the low hits fills at Freqtrade's pessimistic price,
    `max(low, open x stop / high)` (`Backtesting._get_close_rate_for_stoploss`).
    The close is not a decision point: the next candle's open is. `atr` (one value
    for every candle) feeds chandelier trailing.

    `next_index(position, i)` (the research sweep's; `candles` then a sequence)
    names the next candle after candle `i` in which anything can happen to
    `position`: the candles between are not shown to the engine.
    """
    ticks: list[CandleTick] = []
    initial_x = position.plan.initial_x
    rule = INITIAL_RULE

    def at(kind: str, price: float, fire: bool, candle: Candle) -> Decision:
        nonlocal position, rule
        before = position
        decision = step(
            position, price, candle.at, atr=atr, fire_take_profits=fire, min_notional=min_notional
        )
        fill, named = None, None
        if decision.exit_tags == (STOP_TAG,):
            named = stop_rule(before, rule)
        elif decision.exit_amount:
            fill = price
        position = decision.position
        if position.stop_x != before.stop_x:
            rule = stop_rule(position, rule)
        ticks.append(CandleTick(candle, kind, decision, fill, named))
        return decision

    def stop_fill(candle: Candle, first: bool) -> None:
        """The stop in force fills in this candle, at Freqtrade's price."""
        sign = position.plan.sign
        best = candle.low if sign < 0 else candle.high
        worst = candle.high if sign < 0 else candle.low
        stop = position.stop
        moved = position.stop_x > initial_x
        price = held_stop(stop, tick, sign < 0)
        if sign * price > sign * best:  # the held stop is beyond the whole candle
            price = candle.open
        elif first and moved:  # Freqtrade's pessimistic fill on the entry candle
            pessimistic = candle.open * stop / best
            price = max(worst, pessimistic) if sign > 0 else min(worst, pessimistic)
        at("worst", stop, False, candle)
        ticks[-1] = ticks[-1]._replace(fill=price)

    shown = (
        enumerate(candles) if next_index is None else _shown(candles, next_index, lambda: position)
    )
    for i, candle in shown:
        first = first_is_entry and i == 0
        sign = position.plan.sign
        best, worst = (candle.low, candle.high) if sign < 0 else (candle.high, candle.low)
        d = at("open", candle.open, True, candle)
        if d.position.state.is_closed:
            if d.exit_tags == (STOP_TAG,):
                ticks[-1] = ticks[-1]._replace(fill=candle.open)  # a gap through the stop
            break
        if sign * worst <= sign * held_stop(position.stop, tick, sign < 0):
            stop_fill(candle, first)
            break
        at("best", best, False, candle)
        if sign * worst <= sign * held_stop(position.stop, tick, sign < 0):
            stop_fill(candle, first)
            break
        if at("worst", worst, False, candle).position.state.is_closed:
            ticks[-1] = ticks[-1]._replace(fill=worst)
            break
    return [_placed(t, tick) for t in ticks]


def _shown(candles, next_index, current) -> Iterator[tuple[int, Candle]]:
    """(index, candle) of the candles `next_index` picks, asked after each one with
    the position as that candle left it (`current()`)."""
    i, n = 0, len(candles)
    while i < n:
        yield i, candles[i]
        i = next_index(current(), i)


def _placed(tick_: CandleTick, tick: float | None) -> CandleTick:
    """`tick_` with its fill on the price grid, and whether that order would rest."""
    if tick_.fill is None:
        return tick_
    fill = exit_price(tick_.fill, tick)
    candle = tick_.candle
    return tick_._replace(fill=fill, rests=not candle.low <= fill <= candle.high)
