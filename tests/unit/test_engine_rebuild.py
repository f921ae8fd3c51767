"""`rebuild`: the state of a position from its confirmed exits, as after a restart;
and the adverse excursion the engine keeps for it."""

import pytest

from profitguard.engine import (
    R_LADDER,
    STOP_TAG,
    ExitRecord,
    PositionError,
    ProtectionState,
    open_position,
    rebuild,
    replay,
    step,
)


def plan(is_short=False):
    side = "short" if is_short else "long"
    stop = 153 if is_short else 147
    return open_position(R_LADDER, side=side, entry=150, initial_stop=stop, amount=100).plan


def mirror(price, is_short):
    return 300 - price if is_short else price


@pytest.mark.parametrize("is_short", [False, True])
def test_rebuild_when_tp1_filled_then_partial_state_breakeven_stop_and_profit(is_short):
    position = rebuild(
        plan(is_short),
        exits=[ExitRecord(50, mirror(156, is_short), ("tp1",))],
        best_price=mirror(157, is_short),
        worst_price=mirror(149, is_short),
    )
    assert position.state is ProtectionState.PARTIAL_PROFIT_TAKEN
    assert (position.levels_taken, position.levels_filled) == (1, 1)
    assert position.remaining == 50
    assert position.realized_profit == pytest.approx(50 * 6)
    assert mirror(position.stop, is_short) == 153  # peak 2.33R: the ladder locks 1R
    assert position.worst_r == pytest.approx(-1 / 3)


@pytest.mark.parametrize("is_short", [False, True])
def test_rebuild_when_a_stop_exit_is_recorded_then_stopped_out_with_nothing_left(is_short):
    position = rebuild(
        plan(is_short),
        exits=[
            ExitRecord(50, mirror(156, is_short), ("tp1",)),
            ExitRecord(50, mirror(150, is_short), (STOP_TAG,)),
        ],
        best_price=mirror(157, is_short),
        worst_price=mirror(150, is_short),
    )
    assert position.state is ProtectionState.STOPPED_OUT
    assert position.remaining == 0
    assert position.realized_profit == pytest.approx(300)


def test_rebuild_when_exits_close_more_than_the_amount_then_error():
    with pytest.raises(PositionError, match=r"exits close 101\.0, more than the amount 100\.0"):
        rebuild(
            plan(),
            exits=[ExitRecord(50, 156, ("tp1",)), ExitRecord(51, 159, ("tp2",))],
            best_price=159,
            worst_price=150,
        )


@pytest.mark.parametrize("tags", [("tp1",), (), ("force_exit",), ("tp4",), ("tp2,tp3",)], ids=repr)
def test_rebuild_when_tp1_amount_exited_under_any_tag_then_same_state(tags):
    # Freqtrade records an order recovered after a crash without a tag, a user's
    # forceexit has its own: the amount, not the tag, says TP1 is done
    position = rebuild(plan(), exits=[ExitRecord(50, 156, tags)], best_price=157, worst_price=150)
    assert (position.levels_taken, position.levels_filled) == (1, 1)
    assert position.state is ProtectionState.PARTIAL_PROFIT_TAKEN


@pytest.mark.parametrize("is_short", [False, True])
def test_step_when_tp1_exit_lost_its_tag_then_tp1_not_repeated(is_short):
    # the bug: tp1's order recovered untagged, tp1 fired again for the whole remainder
    position = rebuild(
        plan(is_short),
        exits=[ExitRecord(50, mirror(156, is_short), ())],
        best_price=mirror(156, is_short),
        worst_price=mirror(150, is_short),
    )
    decision = step(position, mirror(156.5, is_short))
    assert decision.exit_amount == 0
    decision = step(decision.position, mirror(159, is_short))  # TP2: its 25 only
    assert (decision.exit_amount, decision.exit_tags) == (25, ("tp2",))


def test_step_when_tp1_order_filled_in_part_then_its_remainder_asked_again():
    position = rebuild(
        plan(), exits=[ExitRecord(30, 156, ("tp1",))], best_price=156, worst_price=150
    )
    assert position.levels_taken == 0  # 30 of TP1's 50
    decision = step(position, 156.2)
    assert (decision.exit_amount, decision.exit_tags) == (20, ("tp1",))


def test_step_when_manual_exit_beyond_tp1_then_tp1_asks_nothing_and_tp2_the_rest():
    position = rebuild(plan(), exits=[ExitRecord(60, 151, ())], best_price=151, worst_price=150)
    assert position.levels_taken == 0  # covered, but the price has not reached TP1
    decision = step(position, 156)
    assert decision.exit_amount == 0
    assert decision.position.levels_taken == 1
    decision = step(decision.position, 159)  # TP2's target is 75: 15 more
    assert (decision.exit_amount, decision.exit_tags) == (15, ("tp2",))


def test_step_when_amount_step_rounds_tp1_down_then_tp2_asks_its_cumulative_target():
    position = open_position(
        R_LADDER, side="long", entry=150, initial_stop=147, amount=0.999, amount_step=0.01
    )
    first = step(position, 156)
    assert first.exit_amount == 0.49  # 0.4995 rounded down
    assert first.position.levels_filled == 1
    second = step(first.position, 159)
    assert second.exit_amount == pytest.approx(0.25)  # 0.74 (0.74925 rounded down) - 0.49
    assert second.exit_tags == ("tp2",)


@pytest.mark.parametrize("is_short", [False, True])
def test_adverse_excursion_when_price_dips_then_recovers_then_worst_r_kept(is_short):
    position = open_position(
        R_LADDER,
        side="short" if is_short else "long",
        entry=150,
        initial_stop=153 if is_short else 147,
        amount=100,
    )
    decisions = replay(position, [mirror(p, is_short) for p in (148.5, 152, 149.4)])
    assert [d.position.worst_r for d in decisions] == pytest.approx([-0.5, -0.5, -0.5])
    assert decisions[-1].position.peak_r == pytest.approx(2 / 3)
