"""The invariants of the exit engine, as hypothesis properties (>= 1000 examples each in CI).

Each property was checked by breaking its rule in the engine once and watching
it fail (tests/property/test_mutations.py breaks each rule in a copy of the
engine and checks that its property fails).
"""

from __future__ import annotations

import itertools
import math

from hypothesis import assume, example, given
from hypothesis import strategies as st

from profitguard.engine import (
    STOP_TAG,
    ExitRecord,
    ProtectionConfig,
    ProtectionState,
    TakeProfitLevel,
    rebuild,
    replay,
)
from profitguard.engine.step import level_ask, parse_tp_tags
from tests.property.strategies import Scenario, scenarios

REL = 1e-9

# A ladder whose first level (10% of 10) is below a minimum of 2: the boundary
# cases below are always run, whatever hypothesis draws.
SMALL_FIRST_LEVEL = ProtectionConfig(
    take_profits=(
        TakeProfitLevel(level=1.0, fraction=0.1),
        TakeProfitLevel(level=2.0, fraction=0.4),
        TakeProfitLevel(level=3.0, fraction=0.5),
    )
)


def _scenario(prices, fires, min_amount=0.0):
    return Scenario(
        config=SMALL_FIRST_LEVEL,
        side="long",
        entry=100.0,
        initial_stop=99.0,
        amount=10.0,
        amount_step=1.0,
        min_amount=min_amount,
        prices=prices,
        atrs=(None,) * len(prices),
        fires=fires,
        min_notional=0.0,
    )


def run(s: Scenario):
    return replay(s.open(), s.prices, atrs=s.atrs, fire=s.fires, min_notional=s.min_notional)


def close(a: float, b: float, scale: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=REL * scale)


@given(scenarios())
def test_levels_fire_once_each_in_ascending_order(s):
    fired = [lv for d in run(s) for lv in parse_tp_tags(d.exit_tags)]
    assert fired == sorted(fired)
    assert len(fired) == len(set(fired))


@given(scenarios(with_atr=True))
def test_closed_plus_remaining_equals_original_after_every_price(s):
    exited = 0.0
    for d in run(s):
        exited += d.exit_amount
        assert d.exit_amount >= 0
        assert d.position.remaining >= 0
        assert close(exited + d.position.remaining, s.amount, s.amount)
        assert close(d.position.closed, exited, s.amount)


@given(scenarios(with_atr=True))
def test_stop_only_tightens_for_longs_and_shorts(s):
    stops = [s.initial_stop] + [d.stop for d in run(s)]
    for before, after in itertools.pairwise(stops):
        if s.is_short:
            assert after <= before
        else:
            assert after >= before


@given(st.lists(st.floats(1e-6, 1e6), min_size=1, max_size=8))
def test_fractions_sum_to_one_after_normalization(fractions):
    levels = tuple(TakeProfitLevel(level=i + 1.0, fraction=fr) for i, fr in enumerate(fractions))
    config = ProtectionConfig(take_profits=levels)
    normalized = [lv.fraction for lv in config.take_profits]
    assert math.isclose(math.fsum(normalized), 1.0, rel_tol=1e-12)
    for raw, norm in zip(fractions, normalized, strict=True):  # proportions kept
        assert math.isclose(norm * math.fsum(fractions), raw, rel_tol=1e-9)


@given(scenarios())
@example(_scenario((101.0, 102.0), (True, True), min_amount=2.0))  # TP1 is 1 < 2
def test_no_exit_below_minimum_and_no_dust_remainder(s):
    for d in run(s):
        minimum = max(s.min_amount, s.min_notional / d.price)
        if d.exit_amount and STOP_TAG not in d.exit_tags and d.position.remaining:
            assert d.exit_amount >= minimum * (1 - REL)  # a partial exit
        if d.exit_amount and d.position.remaining:
            assert d.position.remaining >= minimum * (1 - REL)  # what it leaves


@given(scenarios())
def test_partial_exit_is_on_the_step_and_never_beyond_its_levels_cumulative_share(s):
    # targets are cumulative: what rounding to the step kept back of one level is
    # closed with the next, never more than the levels' shares together
    fractions = [lv.fraction for lv in s.config.take_profits]
    for d in run(s):
        levels = parse_tp_tags(d.exit_tags)
        if not levels or d.position.remaining == 0:
            continue  # a stop, or an exit that closed everything
        share = math.fsum(fractions[: max(levels)]) * s.amount
        assert d.position.closed <= share * (1 + REL)
        if s.amount_step:
            steps = d.exit_amount / s.amount_step
            assert abs(steps - round(steps)) < 1e-6


@given(scenarios(min_levels=1))
def test_remaining_is_zero_after_the_final_level(s):
    plan = s.open().plan
    beyond = plan.sign * (plan.tp_x[-1] + plan.risk)  # every path ends past the last level
    decisions = replay(
        s.open(),
        (*s.prices, beyond),
        atrs=(*s.atrs, None),
        fire=(*s.fires, True),
        min_notional=s.min_notional,
    )
    last = f"tp{len(s.config.take_profits)}"
    for d in decisions:
        if last in d.exit_tags:
            assert d.position.remaining == 0
            assert d.position.state is ProtectionState.FINAL_PROFIT_TAKEN
    assert decisions[-1].position.remaining == 0  # stopped out, or the ladder closed it all


@given(scenarios(min_levels=1))
def test_stop_at_or_beyond_entry_once_tp1_fired(s):
    position = s.open()
    entry_x, sign = position.plan.entry_x, position.plan.sign
    for d in run(s):
        if d.position.levels_taken >= 1 and STOP_TAG not in d.exit_tags:
            assert sign * d.stop >= entry_x


@given(scenarios())
def test_stop_at_least_the_lock_of_every_ladder_step_the_peak_reached(s):
    tol = 1e-9
    for d in run(s):
        p = d.position
        for step_ in s.config.stop_ladder:
            if p.peak_r >= step_.trigger_r + tol:
                assert p.stop_r >= step_.lock_r - tol


# Powers of two scale a float exactly, so every R the engine computes is the same bit
# for bit and any difference is an absolute price constant in a rule. Another factor
# rounds each price its own way, and a price drawn onto a boundary (a level, or the
# stop plus its 1e-9 R tolerance) then lands on either side of it by float noise.
@given(scenarios(), st.integers(-10, 10).map(lambda k: 2.0**k))
def test_r_states_and_exits_unchanged_when_prices_scaled(s, factor):
    scaled = Scenario(
        config=s.config,
        side=s.side,
        entry=s.entry * factor,
        initial_stop=s.initial_stop * factor,
        amount=s.amount,
        amount_step=s.amount_step,
        min_amount=s.min_amount,
        prices=tuple(p * factor for p in s.prices),
        atrs=s.atrs,
        fires=s.fires,
        min_notional=s.min_notional * factor,
    )
    a, b = run(s), run(scaled)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.position.state is y.position.state
        assert x.exit_tags == y.exit_tags
        assert x.exit_amount == y.exit_amount
        assert math.isclose(x.r, y.r, rel_tol=1e-7, abs_tol=1e-7)
        assert math.isclose(x.position.stop_r, y.position.stop_r, rel_tol=1e-7, abs_tol=1e-7)


@given(scenarios(with_atr=True))
def test_same_inputs_same_decisions(s):
    first, second = run(s), run(s)
    assert first == second


def _persisted(decisions):
    """What a restart has: confirmed exits, the extremes, the stop."""
    exits = [ExitRecord(d.exit_amount, d.price, d.exit_tags) for d in decisions if d.exit_amount]
    p = decisions[-1].position
    return exits, p.peak_price, p.plan.sign * p.worst_x, p.stop


@given(scenarios(with_atr=True), st.data())
def test_rebuild_from_recorded_exits_then_replay_matches_uninterrupted_run(s, data):
    whole = run(s)
    assume(len(whole) >= 2)
    cut = data.draw(st.integers(1, len(whole) - 1), label="cut")
    exits, best, worst, stop = _persisted(whole[:cut])
    plan = whole[0].position.plan
    # ATR trailing depends on the ATR history, so the stop is persisted too;
    # without ATR the stop must be recomputed from the peak alone.
    floor = stop if s.config.trail_atr_multiple is not None else None
    restored = rebuild(
        plan,
        exits=exits,
        best_price=best,
        worst_price=worst,
        stop_floor=floor,
    )
    before = whole[cut - 1].position
    assert restored.state is before.state
    assert restored.levels_taken == before.levels_taken
    assert restored.stop_x == before.stop_x
    assert close(restored.closed, before.closed, s.amount)

    resumed = replay(
        restored, s.prices[cut:], atrs=s.atrs[cut:], fire=s.fires[cut:], min_notional=s.min_notional
    )
    assert len(resumed) == len(whole) - cut
    for x, y in zip(whole[cut:], resumed, strict=True):
        assert x.exit_tags == y.exit_tags
        assert close(x.exit_amount, y.exit_amount, s.amount)
        assert x.position.stop_x == y.position.stop_x
        assert x.position.state is y.position.state


@given(scenarios(min_levels=1))
@example(_scenario((102.5, 101.5), (False, True)))  # the high reached TP2, the open is below
def test_take_profits_exit_only_where_allowed_and_then_take_every_level_the_peak_reached(s):
    for d, can_fire in zip(run(s), s.fires, strict=False):
        p = d.position
        reached = sum(1 for x in p.plan.tp_x if p.best_x >= x - p.plan.tol)
        assert p.levels_taken <= reached  # never a level the price has not reached
        if not can_fire:
            assert not parse_tp_tags(d.exit_tags)  # observed prices never take profit
        elif not p.state.is_closed:  # nothing reached is left waiting, but a level too small
            ask = level_ask(p.plan, reached, p.closed)
            minimum = max(p.plan.min_amount, s.min_notional / d.price)
            assert p.levels_taken == reached or ask <= REL * s.amount or ask < minimum
