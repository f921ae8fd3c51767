"""The worked examples of the exit rules and the edge rules, for longs and shorts."""

import itertools

import pytest

from profitguard.engine import (
    NO_LADDERS,
    R_LADDER,
    SCALED_PCT,
    PositionError,
    ProtectionConfig,
    ProtectionState,
    TakeProfitLevel,
    open_position,
    replay,
    step,
)
from profitguard.engine.protection_config import StopLadderStep

S = ProtectionState


def mirror(price: float, entry: float, is_short: bool) -> float:
    """The same move in R for a short: reflected around the entry."""
    return 2 * entry - price if is_short else price


def make_position(config=R_LADDER, *, is_short=False, entry=150.0, risk=3.0, amount=100.0, **kw):
    stop = entry + risk if is_short else entry - risk
    side = "short" if is_short else "long"
    return open_position(config, side=side, entry=entry, initial_stop=stop, amount=amount, **kw)


def run(position, prices, is_short=False):
    entry = position.plan.entry
    return replay(position, [mirror(p, entry, is_short) for p in prices])


@pytest.mark.parametrize("is_short", [False, True])
def test_r_ladder_when_price_walks_to_4r_then_spec_stops_exits_and_states(is_short):
    decisions = run(make_position(is_short=is_short), [150, 153, 156, 159, 162], is_short)

    stops = [mirror(d.stop, 150, is_short) for d in decisions]
    assert stops == [147, 150, 153, 154.5, 156]
    assert [d.exit_amount for d in decisions] == [0, 0, 50, 25, 25]
    assert [d.exit_tags for d in decisions] == [(), (), ("tp1",), ("tp2",), ("tp3",)]
    assert [d.position.state for d in decisions] == [
        S.INITIAL_RISK,
        S.BREAKEVEN_PROTECTED,
        S.PARTIAL_PROFIT_TAKEN,
        S.ADVANCED_PROFIT_TAKEN,
        S.FINAL_PROFIT_TAKEN,
    ]
    assert [round(d.r, 9) for d in decisions] == [0, 1, 2, 3, 4]
    assert decisions[-1].position.remaining == 0
    assert decisions[-1].position.realized_profit == pytest.approx(50 * 6 + 25 * 9 + 25 * 12)


@pytest.mark.parametrize("is_short", [False, True])
def test_scaled_pct_when_spec_btc_example_then_amounts_profits_and_previous_level_stops(is_short):
    position = make_position(
        SCALED_PCT, is_short=is_short, entry=50000, risk=1000, amount=0.1, amount_step=0.001
    )
    # scaled_pct, long 0.1 at 50000: 0.04 at 51500 (+60, stop 50000),
    # 0.03 at 52500 (+75, stop 51500), 0.03 at 54000.
    # A short gets the same profit ratios: +3% is 48500, +5% is 47500, +8% is 46000.
    prices = [48500, 47500, 46000] if is_short else [51500, 52500, 54000]
    decisions = replay(position, prices)

    assert [d.exit_amount for d in decisions] == [0.04, 0.03, 0.03]
    profits = [decisions[0].position.realized_profit]
    profits += [
        b.position.realized_profit - a.position.realized_profit
        for a, b in itertools.pairwise(decisions)
    ]
    assert profits == pytest.approx([60, 75, 120])
    expected_stops = [50000, 48500] if is_short else [50000, 51500]
    assert [d.stop for d in decisions[:2]] == pytest.approx(expected_stops)
    assert decisions[-1].position.state is S.FINAL_PROFIT_TAKEN


@pytest.mark.parametrize("is_short", [False, True])
def test_trailing_when_best_price_rises_then_stop_trails_by_the_percent(is_short):
    config = ProtectionConfig(take_profits=(), stop_ladder=(), trail_pct=0.03)
    entry = 50000.0
    position = open_position(
        config,
        side="short" if is_short else "long",
        entry=entry,
        initial_stop=52000 if is_short else 48000,
        amount=1,
    )
    if is_short:
        # best (lowest) 48000 -> stop 49440; best 45000 -> stop 46350
        decisions = replay(position, [48000, 45000])
        assert [d.stop for d in decisions] == pytest.approx([49440, 46350])
    else:
        # trail 3%: best 52000 -> stop 50440; best 55000 -> stop 53350
        decisions = replay(position, [52000, 55000])
        assert [d.stop for d in decisions] == pytest.approx([50440, 53350])


@pytest.mark.parametrize("is_short", [False, True])
def test_trailing_when_activation_not_reached_then_stop_stays(is_short):
    config = ProtectionConfig(
        take_profits=(), stop_ladder=(), trail_pct=0.03, trail_activation_pct=0.05
    )
    position = make_position(config, is_short=is_short, entry=100, risk=10)
    inactive, active = run(position, [104, 106], is_short)
    assert inactive.stop == (110 if is_short else 90)
    assert active.stop == pytest.approx(
        mirror(106 * 0.97, 100, False) if not is_short else 94 * 1.03
    )


@pytest.mark.parametrize("is_short", [False, True])
def test_atr_trailing_when_atr_given_then_chandelier_stop_from_peak(is_short):
    config = ProtectionConfig(take_profits=(), stop_ladder=(), trail_atr_multiple=2.0)
    position = make_position(config, is_short=is_short, entry=100, risk=10)
    price = 90.0 if is_short else 110.0
    decision = step(position, price, atr=1.5)
    assert decision.stop == pytest.approx(93.0 if is_short else 107.0)
    # without an ATR (warm-up NaN), the stop is left as it was
    assert step(position, price, atr=float("nan")).stop == position.stop


@pytest.mark.parametrize("is_short", [False, True])
def test_gap_when_price_jumps_over_two_levels_then_one_aggregated_exit(is_short):
    decisions = run(make_position(is_short=is_short), [150, 160, 140], is_short)
    gap = decisions[1]
    assert gap.exit_amount == 75
    assert gap.exit_tags == ("tp1", "tp2")
    assert gap.position.state is S.ADVANCED_PROFIT_TAKEN
    assert mirror(gap.stop, 150, is_short) == 154.5
    stopped = decisions[2]
    assert stopped.exit_tags == ("stop",)
    assert stopped.exit_amount == 25
    assert stopped.position.state is S.STOPPED_OUT
    # a gap through the stop fills at the gap price: 25 * (140 - 150) after 75 * 10
    assert stopped.position.realized_profit == pytest.approx(750 - 250)


@pytest.mark.parametrize("is_short", [False, True])
def test_gap_when_price_jumps_over_every_level_then_everything_closes(is_short):
    (decision,) = run(make_position(is_short=is_short), [170], is_short)
    assert decision.exit_tags == ("tp1", "tp2", "tp3")
    assert decision.exit_amount == 100
    assert decision.position.state is S.FINAL_PROFIT_TAKEN


@pytest.mark.parametrize("is_short", [False, True])
def test_stop_when_price_touches_it_exactly_then_stopped_out(is_short):
    decisions = run(make_position(is_short=is_short), [153, 150], is_short)
    assert decisions[-1].exit_tags == ("stop",)
    assert decisions[-1].position.state is S.STOPPED_OUT
    assert decisions[-1].position.realized_profit == 0


@pytest.mark.parametrize("is_short", [False, True])
def test_stop_when_stopped_after_tp1_then_rest_exits_at_or_beyond_entry(is_short):
    decisions = run(make_position(is_short=is_short), [156, 152], is_short)
    assert decisions[-1].exit_amount == 50
    assert mirror(decisions[-1].price, 150, is_short) <= 153
    assert decisions[-1].position.realized_profit > 0


def test_level_when_amount_below_minimum_then_skipped_and_carried_to_next():
    config = ProtectionConfig(
        take_profits=(
            TakeProfitLevel(level=1.0, fraction=0.1),
            TakeProfitLevel(level=2.0, fraction=0.4),
            TakeProfitLevel(level=3.0, fraction=0.5),
        )
    )
    position = make_position(config, amount=10, amount_step=1, min_amount=2)
    skipped, carried, final = replay(position, [153, 156, 159])
    assert skipped.exit_amount == 0 and skipped.exit_tags == ()
    assert skipped.position.state is S.BREAKEVEN_PROTECTED  # nothing taken yet
    assert carried.exit_amount == 5  # 10% carried + 40%
    assert carried.exit_tags == ("tp1", "tp2")
    assert final.exit_amount == 5


def test_exit_when_remainder_would_be_below_minimum_then_closes_everything():
    config = ProtectionConfig(
        take_profits=(
            TakeProfitLevel(level=2, fraction=0.9),
            TakeProfitLevel(level=3, fraction=0.1),
        )
    )
    position = make_position(config, amount=10, amount_step=0.5, min_amount=2)
    (decision,) = replay(position, [156])
    assert decision.exit_amount == 10
    assert decision.position.state is S.FINAL_PROFIT_TAKEN


def test_exit_when_fraction_is_off_the_step_then_rounded_down_and_final_takes_the_rest():
    config = ProtectionConfig(
        take_profits=(
            TakeProfitLevel(level=2, fraction=0.45),
            TakeProfitLevel(level=3, fraction=0.45),
            TakeProfitLevel(level=4, fraction=0.1),
        )
    )
    decisions = replay(make_position(config, amount=10, amount_step=1), [156, 159, 162])
    # cumulative targets: 4 (4.5 rounded down), 9, then all; never beyond them
    assert [d.exit_amount for d in decisions] == [4, 5, 1]


def test_no_ladders_when_price_rises_then_only_the_initial_stop_protects():
    decisions = replay(make_position(NO_LADDERS), [170, 200, 146])
    assert [d.stop for d in decisions] == [147, 147, 147]
    assert [d.exit_tags for d in decisions] == [(), (), ("stop",)]


def test_ladder_tp_stop_when_tp1_below_1r_then_stop_still_moves_to_breakeven():
    config = ProtectionConfig(
        take_profits=(
            TakeProfitLevel(level=0.5, fraction=0.5),
            TakeProfitLevel(level=3, fraction=0.5),
        )
    )
    (decision,) = replay(make_position(config), [151.5])
    assert decision.exit_tags == ("tp1",)
    assert decision.stop == 150


def test_step_when_position_closed_then_error():
    (decision,) = replay(make_position(), [140])
    with pytest.raises(PositionError, match="closed"):
        step(decision.position, 150)


@pytest.mark.parametrize("price", [0, -1, float("nan"), float("inf"), "150"])
def test_step_when_price_invalid_then_error_names_price(price):
    with pytest.raises(PositionError, match="'price' must be a finite number > 0"):
        step(make_position(), price)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"side": "both"}, "'side' must be 'long' or 'short', was 'both'"),
        ({"entry": 0}, "'entry' must be a finite number > 0, was 0"),
        ({"initial_stop": 151}, "'initial_stop' must be below the entry"),
        ({"side": "short", "initial_stop": 149}, "'initial_stop' must be above the entry"),
        ({"amount": -1}, "'amount' must be a finite number > 0, was -1"),
        ({"amount_step": 0}, "'amount_step' must be a finite number > 0, was 0"),
        ({"min_amount": -0.1}, "'min_amount' must be a finite number >= 0, was -0.1"),
        ({"entry": float("nan")}, "'entry' must be a finite number > 0, was nan"),
    ],
)
def test_open_when_input_invalid_then_error_names_field_and_value(kwargs, match):
    args = {"side": "long", "entry": 150, "initial_stop": 147, "amount": 1} | kwargs
    with pytest.raises(PositionError, match=match):
        open_position(R_LADDER, **args)


def test_stop_ladder_when_custom_then_locks_follow_peak_r():
    config = ProtectionConfig(
        take_profits=(),
        stop_ladder=(
            StopLadderStep(trigger_r=0.5, lock_r=-0.5),
            StopLadderStep(trigger_r=2, lock_r=1),
        ),
    )
    decisions = replay(make_position(config), [151.5, 153, 156, 154])
    assert [d.stop for d in decisions] == [148.5, 148.5, 153, 153]
    assert decisions[0].position.state is S.INITIAL_RISK  # stop still below entry
