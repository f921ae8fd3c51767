"""The exit engine: one price in, one decision out.

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

Exit amounts are targets, not events: once the peak has reached level k, the
position should have closed the cumulative fraction of levels 1..k of the
ORIGINAL amount (rounded down to the amount step), and an exit asks for that
target minus what is already closed, never less than nothing. So which levels are
done follows from the amount closed, whatever the exits were tagged: an exit
without a tag (recovered by Freqtrade after a crash), a partially filled order, a
manual partial exit all leave the ladder consistent, and a level's unfilled
remainder is asked for again. A level whose ask is below the minimum is skipped
and carried (the next level's target includes it); an exit that would leave less
than the minimum closes everything; the final level closes all that remains.
Tags only report which levels an exit covers.
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
# An ask this small (relative to the amount) means the level's target is met: a
# few ulps of float noise between summed fills and a target.
_COVERED = 1e-9


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


# The rule a stop in force comes from (`stop_rule`).
INITIAL_RULE, LADDER_RULE, TP_RULE, TRAIL_RULE, ATR_RULE = (
    "initial",
    "ladder",
    "take_profit",
    "trailing",
    "atr_trailing",
)


def stop_and_rule_x(
    plan: Plan,
    floor_x: float,
    floor_rule: str,
    best_x: float,
    levels_reached: int,
    atr: float | None,
) -> tuple[float, str]:
    """The tightest of `floor_x` (the stop so far, set by `floor_rule`), the ladder,
    the take-profit stop rule and the trailing stops, in signed prices, and the rule
    that gives it (the first of them on a tie). Never below `floor_x`."""
    stop_x, rule = floor_x, floor_rule
    triggers = plan.ladder_trigger_x
    for i in range(len(triggers) - 1, -1, -1):
        if best_x >= triggers[i] - plan.tol:
            if plan.ladder_lock_x[i] > stop_x:
                stop_x, rule = plan.ladder_lock_x[i], LADDER_RULE
            break
    if levels_reached:
        if plan.tp_stop_previous and levels_reached >= 2:
            candidate = plan.tp_x[levels_reached - 2]
        else:
            candidate = plan.entry_x  # breakeven once TP1 has fired
        if candidate > stop_x:
            stop_x, rule = candidate, TP_RULE
    if plan.trail_factor is not None and best_x >= plan.trail_activation_x - plan.tol:
        candidate = best_x * plan.trail_factor
        if candidate > stop_x:
            stop_x, rule = candidate, TRAIL_RULE
    if plan.atr_multiple is not None and atr is not None and atr > 0 and math.isfinite(atr):
        candidate = best_x - plan.atr_multiple * atr
        if candidate > stop_x:
            stop_x, rule = candidate, ATR_RULE
    return stop_x, rule


def stop_in_force_x(
    plan: Plan, floor_x: float, best_x: float, levels_reached: int, atr: float | None
) -> float:
    """The tightest of `floor_x` (the stop so far), the ladder, the take-profit stop
    rule and the trailing stops, in signed prices. Never below `floor_x`."""
    return stop_and_rule_x(plan, floor_x, INITIAL_RULE, best_x, levels_reached, atr)[0]


def stop_rule(position: Position, previous_rule: str = INITIAL_RULE) -> str:
    """The rule that set `position`'s stop in force, by the engine's own computation
    (no price matching): the stop is the tightest rule's at the position's peak, and
    every rule but the ATR trail only tightens with the peak. A stop no rule gives
    at this peak was set before and kept (the ATR trail's, or a rebuilt floor):
    `previous_rule`, what the replay last saw set it."""
    plan = position.plan
    reached = _levels_reached(plan, position.best_x, 0)
    stop_x, rule = stop_and_rule_x(
        plan, plan.initial_x, INITIAL_RULE, position.best_x, reached, None
    )
    if position.stop_x > stop_x:
        return previous_rule
    return rule


def _levels_reached(plan: Plan, best_x: float, start: int) -> int:
    tp_x, n, k = plan.tp_x, len(plan.tp_x), start
    while k < n and best_x >= tp_x[k] - plan.tol:
        k += 1
    return k


def levels_reached(position: Position) -> int:
    """How many take-profit levels, lowest first, the position's peak has reached."""
    return _levels_reached(position.plan, position.best_x, 0)


def _covered_tolerance(plan: Plan) -> float:
    """An ask this small is float residue: the level is covered."""
    return _COVERED * plan.amount


def level_ask(plan: Plan, level: int, closed: float) -> float:
    """What is still to close for levels 1..`level` (1-based) when `closed` is closed.

    Their target is their fractions' share of the original amount, rounded down to
    the amount step (the last level's: all of it). Never negative: a manual exit
    beyond the target leaves nothing to ask."""
    if level >= len(plan.tp_x):
        return max(plan.amount - closed, 0.0)
    ask = round_down(plan.tp_target[level] - closed, plan.amount_step, plan.decimals)
    return ask if ask > 0 else 0.0


def levels_filled(plan: Plan, closed: float) -> int:
    """How many levels, lowest first, the closed amount covers: up to the highest
    level whose target is not empty and leaves nothing to ask. (A level whose
    target rounds to nothing is covered only with the next one.)"""
    tolerance = _covered_tolerance(plan)
    filled = 0
    for k in range(1, len(plan.tp_x) + 1):
        if level_ask(plan, k, closed) > tolerance:
            break
        if plan.tp_target[k] > tolerance:
            filled = k
    return filled


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

    # 3. take-profit levels reached by the peak and not yet covered by the closed
    # amount (an observed price only moves the stop: its levels wait for the next
    # price that may exit)
    reached = _levels_reached(plan, best_x, position.levels_taken)
    filled = position.levels_filled
    n = len(plan.tp_x)

    exit_amount = 0.0
    tags: tuple[str, ...] = ()
    closed = position.closed
    if fire_take_profits and reached > filled:
        remaining = plan.amount - closed
        if reached == n:
            exit_amount = remaining
        else:
            minimum = plan.min_amount
            if min_notional > 0 and min_notional / price > minimum:
                minimum = min_notional / price
            want = min(level_ask(plan, reached, closed), remaining)
            if want > _covered_tolerance(plan) and want >= minimum:
                exit_amount = want
                left = remaining - want
                if left < minimum or left <= _DUST * plan.amount:
                    exit_amount = remaining  # no dust left behind
        if exit_amount > 0:
            tags = tuple(tp_tag(i) for i in range(filled, reached))
            closed = plan.amount if exit_amount == remaining else closed + exit_amount
            filled = levels_filled(plan, closed)
    taken = min(filled, reached)

    # 4. the stop in force from the peak
    stop_x = stop_in_force_x(plan, position.stop_x, best_x, reached, atr)

    state = derive_state(
        stopped=False,
        remaining_is_zero=closed >= plan.amount,
        levels_taken=taken,
        stop_at_or_beyond_entry=stop_x >= plan.entry_x,
    )
    if (
        state is position.state
        and stop_x == position.stop_x
        and best_x == position.best_x
        and worst_x == position.worst_x
        and taken == position.levels_taken
        and closed == position.closed
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
        taken,
        filled,
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
    stop_floor: float | None = None,
) -> Position:
    """The state of a position from its confirmed exits and its persisted extremes.

    Which levels are done follows from the amount the exits closed, not from their
    tags: an untagged or manual exit counts by its amount, and a level whose order
    filled only in part is asked for again. `stop_floor` is a persisted stop in
    force (needed for ATR trailing, which the peak alone cannot reproduce). The
    stop is recomputed from the peak and never placed below `stop_floor`.
    """
    _check_price(best_price)
    _check_price(worst_price)
    closed = 0.0
    realized = 0.0
    stopped = False
    for record in exits:
        closed += record.amount
        realized += record.amount * (plan.sign * record.price - plan.entry_x)
        stopped = stopped or STOP_TAG in record.tags
    if closed > plan.amount + plan.amount * 1e-9:
        raise PositionError(f"exits close {closed!r}, more than the amount {plan.amount!r}")
    if plan.amount - closed <= plan.amount * _DUST:
        closed = plan.amount
    filled = levels_filled(plan, closed)
    best_x = max(plan.sign * best_price, plan.entry_x)
    worst_x = min(plan.sign * worst_price, plan.entry_x)

    floor_x = plan.initial_x
    if stop_floor is not None:
        _check_price(stop_floor)
        floor_x = max(floor_x, plan.sign * stop_floor)
    reached = _levels_reached(plan, best_x, 0)
    taken = min(filled, reached)
    stop_x = stop_in_force_x(plan, floor_x, best_x, reached, None)
    state = derive_state(
        stopped=stopped and closed >= plan.amount,  # a stop is only a label once all is out
        remaining_is_zero=closed >= plan.amount,
        levels_taken=taken,
        stop_at_or_beyond_entry=stop_x >= plan.entry_x,
    )
    return Position(plan, state, stop_x, best_x, worst_x, closed, realized, taken, filled)


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
