"""The ladder against arbitrary fills: tagged, untagged, partial, cancelled, manual.

An exchange fills what the engine asks for in any of these ways, and a user exits
part of the position by hand now and then. After each fill the position is rebuilt
from the fills alone, as the strategy does. The ladder's targets are recomputed
here from the configuration, independently of the engine.
"""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from profitguard.engine import STOP_TAG, ExitRecord, rebuild, step
from profitguard.engine.step import parse_tp_tags
from tests.property.strategies import scenarios

REL = 1e-9

# what becomes of an order the ladder asks for
OUTCOMES = ("filled", "untagged", "partial", "cancelled")


def target(plan, level: int) -> float:
    """Cumulative amount levels 1..level should have closed (the last: all of it)."""
    n = len(plan.config.take_profits)
    if level == 0:
        return 0.0
    if level >= n:
        return plan.amount
    share = math.fsum(lv.fraction for lv in plan.config.take_profits[:level]) * plan.amount
    if plan.amount_step:
        share = round(math.floor(share / plan.amount_step + 1e-9) * plan.amount_step, 12)
    return share


def on_step(amount: float, step_: float | None) -> float:
    if not step_:
        return amount
    return round(math.floor(amount / step_ + 1e-9) * step_, 12)


def reached(plan, best_x: float) -> int:
    return sum(1 for x in plan.tp_x if best_x >= x - plan.tol)


def filled_levels(plan, closed: float) -> int:
    """Levels whose cumulative target `closed` meets, lowest first (an empty
    target, a level rounded to nothing, counts only with the next one it meets)."""
    tolerance = (plan.amount_step or 0) * 1e-6 + REL * plan.amount
    filled = 0
    for k in range(1, len(plan.tp_x) + 1):
        if closed < target(plan, k) - tolerance:
            break
        if target(plan, k) > tolerance:
            filled = k
    return filled


@given(scenarios(min_levels=1), st.data())
def test_mixed_fills_never_sell_more_than_the_ladder_asks_and_never_repeat_a_level(s, data):
    position = s.open()
    plan = position.plan
    fills: list[ExitRecord] = []
    manual = 0.0  # closed by the user
    for price, fire in zip(s.prices, s.fires, strict=True):
        closed = math.fsum(f.amount for f in fills)
        remaining = plan.amount - closed
        # sometimes the user exits part of it by hand (a forceexit has no level tag)
        if data.draw(st.integers(0, 9), label="manual?") == 0 and remaining > 0:
            amount = on_step(
                data.draw(st.floats(0, 1), label="manual share") * remaining, plan.amount_step
            )
            if 0 < amount < remaining * (1 - REL):
                tag = data.draw(st.sampled_from([(), ("force_exit",)]), label="manual tag")
                fills.append(ExitRecord(amount, price, tag))
                manual += amount
                position = rebuild(
                    plan,
                    exits=fills,
                    best_price=position.peak_price,
                    worst_price=plan.sign * position.worst_x,
                )
                closed += amount
                remaining = plan.amount - closed

        before = position
        decision = step(position, price, fire_take_profits=fire, min_notional=s.min_notional)
        after = decision.position
        k = reached(plan, after.best_x)
        done_before = filled_levels(plan, closed)

        if not decision.exit_amount:
            position = after
            # nothing reached is left waiting at a price that may exit, but an ask
            # below the exchange minimum
            if fire and k > done_before and not after.state.is_closed:
                minimum = max(plan.min_amount, s.min_notional / price)
                assert target(plan, k) - closed < minimum * (1 + REL) + REL * plan.amount
            continue
        closes_all = math.isclose(decision.exit_amount, remaining, rel_tol=REL, abs_tol=REL)
        if STOP_TAG in decision.exit_tags:
            assert closes_all
        else:
            # a ladder exit: never a level already done, never beyond the peak's target
            levels = parse_tp_tags(decision.exit_tags)
            assert levels, decision
            assert min(levels) > done_before, (levels, done_before, closed)
            assert max(levels) <= k
            ask = target(plan, k) - closed
            if not closes_all:
                assert decision.exit_amount <= ask + REL * plan.amount, (decision, ask)
            else:  # all of it: the final level, or what would be left is below the minimum
                minimum = max(plan.min_amount, s.min_notional / price)
                left = remaining - ask
                assert k == len(plan.tp_x) or left < minimum * (1 + REL) + REL * plan.amount

        outcome = data.draw(st.sampled_from(OUTCOMES), label="outcome")
        amount = decision.exit_amount
        if outcome == "partial":
            amount = on_step(amount * data.draw(st.floats(0, 1), label="part"), plan.amount_step)
        if outcome != "cancelled" and amount > 0:
            tags = () if outcome == "untagged" else decision.exit_tags
            fills.append(ExitRecord(amount, price, tags))
        if math.fsum(f.amount for f in fills) >= plan.amount * (1 - REL):
            return  # the trade is closed
        position = rebuild(
            plan,
            exits=fills,
            best_price=after.peak_price,
            worst_price=plan.sign * after.worst_x,
        )
        untagged = rebuild(  # the ladder's tags lost
            plan,
            exits=[f._replace(tags=()) if STOP_TAG not in f.tags else f for f in fills],
            best_price=after.peak_price,
            worst_price=plan.sign * after.worst_x,
        )
        # tags never decide anything (a stop's is a label once all of it is out)
        assert untagged == position
        closed = math.fsum(f.amount for f in fills)
        assert math.isclose(position.closed + position.remaining, plan.amount, rel_tol=REL)
        assert math.isclose(position.closed, closed, rel_tol=REL, abs_tol=REL * plan.amount)
        assert position.levels_taken >= before.levels_taken  # nothing done is undone
    assert manual <= plan.amount
