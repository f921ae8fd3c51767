"""The exit engine: one price in, one decision out (SPEC.md §2).

`step` is the only place the exit rules live. The Freqtrade adapter, the
`simulate` command and the tests all call it. Processing one price:

1. If the price has reached the stop in force, exit everything remaining (tag
   `stop`, STOPPED_OUT).
2. Update the peak (best price) and the adverse excursion.
3. Every take-profit level reached (by the peak) and not yet taken fires, lowest
   first; levels passed in one jump fire together as one aggregated exit.
4. Recompute the stop in force from the stop ladder (peak R), the take-profit
   stop rule and the trailing stops. It never moves backwards.

A price can also be only observed (`fire_take_profits=False`): the peak, the
stop and stop-outs are processed, and levels reached wait for the next price
that may exit. This is how the Freqtrade backtester shows a strategy a candle:
`custom_stoploss` sees the high, but only `adjust_trade_position`, at the next
open, can take profit. A level whose order was cancelled is retried the same way.

Exit amounts: a level closes its fraction of the ORIGINAL amount, rounded down to
the amount step. A level whose amount is below the minimum is skipped and its
fraction carried to the next level; an exit that would leave less than the
minimum closes everything; the final level closes all that remains.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from profitguard.engine.amounts import round_down
from profitguard.engine.position import Plan, Position, PositionError, tp_tag
from profitguard.engine.states import ProtectionState, check_transition, derive_state

STOP_TAG = "stop"
# A remainder this small (relative to the amount) is float residue, not a position.
_DUST = 1e-12


class Decision(NamedTuple):
    """What to do at one price: the stop in force, and what (if anything) to close."""

    position: Position  # the state after this price
    price: float
    at: datetime | None
    exit_amount: float  # 0.0 when nothing exits
    exit_tags: tuple[str, ...]  # ("tp1", "tp2") for a gap, ("stop",), or () when nothing exits

    @property
    def stop(self) -> float:
        return self.position.stop

    @property
    def r(self) -> float:
        return self.position.plan.r(self.price)


def stop_in_force_x(
    plan: Plan, floor_x: float, best_x: float, levels_reached: int, atr: float | None
) -> float:
    """The tightest of `floor_x` (the stop so far), the ladder, the take-profit stop
    rule and the trailing stops, in signed prices. Never below `floor_x`."""
    stop_x = floor_x
    triggers = plan.ladder_trigger_x
    for i in range(len(triggers) - 1, -1, -1):
        if best_x >= triggers[i] - plan.tol:
            if plan.ladder_lock_x[i] > stop_x:
                stop_x = plan.ladder_lock_x[i]
            break
    if levels_reached:
        if plan.tp_stop_previous and levels_reached >= 2:
            candidate = plan.tp_x[levels_reached - 2]
        else:
            candidate = plan.entry_x  # breakeven once TP1 has fired
        if candidate > stop_x:
            stop_x = candidate
    if plan.trail_factor is not None and best_x >= plan.trail_activation_x - plan.tol:
        candidate = best_x * plan.trail_factor
        if candidate > stop_x:
            stop_x = candidate
    if plan.atr_multiple is not None and atr is not None and atr > 0 and math.isfinite(atr):
        candidate = best_x - plan.atr_multiple * atr
        if candidate > stop_x:
            stop_x = candidate
    return stop_x


def _levels_reached(plan: Plan, best_x: float, start: int) -> int:
    tp_x, n, k = plan.tp_x, len(plan.tp_x), start
    while k < n and best_x >= tp_x[k] - plan.tol:
        k += 1
    return k


def _check_price(price: float) -> None:
    if not (isinstance(price, float | int) and math.isfinite(price) and price > 0):
        raise PositionError(f"'price' must be a finite number > 0, was {price!r}", field="price")


def step(
    position: Position,
    price: float,
    at: datetime | None = None,
    *,
    atr: float | None = None,
    fire_take_profits: bool = True,
    min_notional: float = 0.0,
) -> Decision:
    """Process one price (and optionally the current ATR for chandelier trailing).

    With `fire_take_profits=False` the price is only observed: no take-profit
    exits, which wait for the next price that may exit (stops still apply).
    `min_notional` is the exchange's minimum order value at this price (quote
    currency): together with the plan's `min_amount` it is the minimum an exit,
    and a remainder, must reach."""
    if position.state.is_closed:
        raise PositionError(
            f"position is closed ({position.state}); 'price' {price!r} not processed"
        )
    _check_price(price)
    plan = position.plan
    x = plan.sign * price

    # 1. the stop in force, as it stood before this price
    if x <= position.stop_x + plan.tol:
        exit_amount = plan.amount - position.closed
        closed = position._replace(
            state=check_transition(position.state, ProtectionState.STOPPED_OUT),
            worst_x=min(position.worst_x, x),
            closed=plan.amount,
            realized_profit=position.realized_profit + exit_amount * (x - plan.entry_x),
        )
        return Decision(closed, price, at, exit_amount, (STOP_TAG,))

    # 2. peak and adverse excursion
    best_x = x if x > position.best_x else position.best_x
    worst_x = x if x < position.worst_x else position.worst_x

    # 3. take-profit levels reached by the peak and not yet taken (an observed
    # price only moves the stop: its levels wait for the next price that may exit)
    taken = position.levels_taken
    reached = _levels_reached(plan, best_x, taken)
    new_taken = reached if fire_take_profits else taken
    n = len(plan.tp_x)

    exit_amount = 0.0
    tags: tuple[str, ...] = ()
    closed = position.closed
    paid = position.levels_paid
    if new_taken > taken:
        remaining = plan.amount - closed
        if new_taken == n:
            exit_amount = remaining
        else:
            minimum = plan.min_amount
            if min_notional > 0 and min_notional / price > minimum:
                minimum = min_notional / price
            want = (plan.tp_cum[new_taken] - plan.tp_cum[paid]) * plan.amount
            want = min(round_down(want, plan.amount_step, plan.decimals), remaining)
            if want > 0 and want >= minimum:
                exit_amount = want
                left = remaining - want
                if left < minimum or left <= _DUST * plan.amount:
                    exit_amount = remaining  # no dust left behind
        if exit_amount > 0:
            tags = tuple(tp_tag(i) for i in range(paid, new_taken))
            paid = new_taken
            closed = plan.amount if exit_amount == remaining else closed + exit_amount

    # 4. the stop in force from the peak
    stop_x = stop_in_force_x(plan, position.stop_x, best_x, reached, atr)

    state = derive_state(
        stopped=False,
        remaining_is_zero=closed >= plan.amount,
        levels_taken=new_taken,
        stop_at_or_beyond_entry=stop_x >= plan.entry_x,
    )
    if (
        state is position.state
        and stop_x == position.stop_x
        and best_x == position.best_x
        and worst_x == position.worst_x
        and new_taken == taken
    ):
        return Decision(position, price, at, 0.0, ())  # nothing changed: no allocation

    new = Position(
        plan,
        check_transition(position.state, state),
        stop_x,
        best_x,
        worst_x,
        closed,
        position.realized_profit + exit_amount * (x - plan.entry_x),
        new_taken,
        paid,
    )
    return Decision(new, price, at, exit_amount, tags)


class ExitRecord(NamedTuple):
    """A confirmed exit: what a restart rebuilds the state from."""

    amount: float
    price: float
    tags: tuple[str, ...]


def parse_tp_tags(tags: Iterable[str]) -> list[int]:
    """Level numbers (1-based) named by take-profit tags: ("tp1", "tp2") -> [1, 2]."""
    levels = []
    for tag in tags:
        if tag.startswith("tp") and tag[2:].isdigit():
            levels.append(int(tag[2:]))
    return levels


def rebuild(
    plan: Plan,
    *,
    exits: Iterable[ExitRecord],
    best_price: float,
    worst_price: float,
    levels_skipped: int = 0,
    stop_floor: float | None = None,
) -> Position:
    """The state of a position from its confirmed exits and its persisted extremes.

    `levels_skipped` is the number of levels passed without an order (their amount
    was below the minimum); `stop_floor` is a persisted stop in force (needed for
    ATR trailing, which the peak alone cannot reproduce). The stop is recomputed
    from the peak and never placed below `stop_floor`.
    """
    _check_price(best_price)
    _check_price(worst_price)
    closed = 0.0
    realized = 0.0
    paid = 0
    stopped = False
    for record in exits:
        closed += record.amount
        realized += record.amount * (plan.sign * record.price - plan.entry_x)
        levels = parse_tp_tags(record.tags)
        if levels:
            paid = max(paid, *levels)
        elif not record.tags:
            # an exit without a tag (an order adopted after a restart, a manual exit):
            # the levels whose whole share the confirmed amount already covers are paid
            slack = plan.amount_step or plan.amount * 1e-9
            covered = sum(1 for cum in plan.tp_cum[1:] if cum * plan.amount <= closed + slack)
            paid = max(paid, min(covered, len(plan.tp_x)))
        stopped = stopped or STOP_TAG in record.tags
    if paid > len(plan.tp_x):
        raise PositionError(f"exit tags name level {paid}, the ladder has {len(plan.tp_x)}")
    if closed > plan.amount + plan.amount * 1e-9:
        raise PositionError(f"exits close {closed!r}, more than the amount {plan.amount!r}")
    if plan.amount - closed <= plan.amount * _DUST:
        closed = plan.amount
    taken = max(paid, min(levels_skipped, len(plan.tp_x)))
    best_x = max(plan.sign * best_price, plan.entry_x)
    worst_x = min(plan.sign * worst_price, plan.entry_x)

    floor_x = plan.initial_x
    if stop_floor is not None:
        _check_price(stop_floor)
        floor_x = max(floor_x, plan.sign * stop_floor)
    reached = _levels_reached(plan, best_x, taken)
    stop_x = stop_in_force_x(plan, floor_x, best_x, reached, None)
    state = derive_state(
        stopped=stopped,
        remaining_is_zero=closed >= plan.amount,
        levels_taken=taken,
        stop_at_or_beyond_entry=stop_x >= plan.entry_x,
    )
    return Position(plan, state, stop_x, best_x, worst_x, closed, realized, taken, paid)


def replay(
    position: Position,
    prices: Iterable[float],
    times: Iterable[datetime | None] | None = None,
    *,
    atrs: Iterable[float | None] | None = None,
    fire: Iterable[bool] | None = None,
    min_notional: float = 0.0,
) -> list[Decision]:
    """`step` over `prices` until the position closes; one decision per price processed.

    `fire` says, per price, whether take-profits may exit there (default: always)."""
    decisions = []
    times_it = iter(times) if times is not None else None
    atrs_it = iter(atrs) if atrs is not None else None
    fire_it = iter(fire) if fire is not None else None
    for price in prices:
        at = next(times_it) if times_it is not None else None
        atr = next(atrs_it) if atrs_it is not None else None
        can_fire = next(fire_it) if fire_it is not None else True
        decision = step(
            position, price, at, atr=atr, fire_take_profits=can_fire, min_notional=min_notional
        )
        decisions.append(decision)
        position = decision.position
        if position.state.is_closed:
            break
    return decisions


class Candle(NamedTuple):
    at: datetime | None
    open: float
    high: float
    low: float
    close: float


class CandleTick(NamedTuple):
    """One decision inside a candle, and which price of the candle it saw."""

    candle: Candle
    kind: str  # "open" (may take profit), "best" (observed), "worst" (stop check)
    decision: Decision


def replay_candles(
    position: Position,
    candles: Iterable[Candle],
    *,
    atr: float | None = None,
    min_notional: float = 0.0,
) -> list[CandleTick]:
    """`step` over OHLC candles in the order Freqtrade's backtester shows them.

    Per candle, for a long (a short mirrors it with low and high swapped):
    1. the open, where `adjust_trade_position` may take profit; a gap through the
       stop exits at the open;
    2. if the low already reaches the stop as it stood, the stop fills at the stop
       price (Freqtrade does not call `custom_stoploss` then);
    3. otherwise the high, seen by `custom_stoploss`: peak and stop only;
    4. then the low, where the stop is checked; crossing it fills at the stop
       price, as the path passed through it.
    The close is not a decision point: the next candle's open is. `atr` (one value
    for every candle) feeds chandelier trailing.
    """
    ticks: list[CandleTick] = []

    def at(kind: str, price: float, fire: bool, candle: Candle) -> bool:
        nonlocal position
        decision = step(
            position, price, candle.at, atr=atr, fire_take_profits=fire, min_notional=min_notional
        )
        ticks.append(CandleTick(candle, kind, decision))
        position = decision.position
        return position.state.is_closed

    for candle in candles:
        sign = position.plan.sign
        best, worst = (candle.low, candle.high) if sign < 0 else (candle.high, candle.low)
        if at("open", candle.open, True, candle):
            break
        if sign * worst <= position.stop_x:
            at("worst", position.stop, False, candle)  # the stop as it stood fills
            break
        at("best", best, False, candle)
        if sign * worst <= position.stop_x:
            at("worst", position.stop, False, candle)
            break
        if at("worst", worst, False, candle):
            break
    return ticks
