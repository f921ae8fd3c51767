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
    assert (position.levels_taken, position.levels_paid) == (1, 1)
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


def test_rebuild_when_a_tag_names_a_level_beyond_the_ladder_then_error():
    with pytest.raises(PositionError, match="exit tags name level 4, the ladder has 3"):
        rebuild(plan(), exits=[ExitRecord(50, 156, ("tp4",))], best_price=165, worst_price=150)


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
