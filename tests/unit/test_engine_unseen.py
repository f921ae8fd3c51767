"""`engine.unseen`: which prices a live trade did not see between two evaluations."""

from datetime import UTC, datetime, timedelta

import pytest

from profitguard.engine import (
    R_LADDER,
    STOP_TAG,
    Candle,
    open_position,
    step,
    unseen_candles,
    unseen_prices,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_unseen_candles_when_a_candle_was_forming_at_either_end_then_it_is_left_out():
    candles = [Candle(at(s), 100, 101, 99, 100) for s in range(10)]
    # seen at 2.5 s: the candle of 2 s was forming; now 8.5 s: the one of 8 s still is
    picked = unseen_candles(candles, seen=at(2.5), now=at(8.5), interval=SECOND)
    assert [c.at for c in picked] == [at(s) for s in range(3, 8)]
    # one opening exactly at the evaluation and one closing exactly now count
    picked = unseen_candles(candles, seen=at(3), now=at(8), interval=SECOND)
    assert [c.at for c in picked] == [at(s) for s in range(3, 8)]


def test_unseen_prices_when_long_or_short_then_the_backtesters_order():
    candle = Candle(at(1), 100, 103, 98, 101)
    assert unseen_prices([candle], is_short=False, seen=at(0), now=at(5), interval=SECOND) == [
        100, 98, 103, 98,
    ]  # fmt: skip
    assert unseen_prices([candle], is_short=True, seen=at(0), now=at(5), interval=SECOND) == [
        100, 103, 98, 103,
    ]  # fmt: skip


@pytest.mark.parametrize("is_short", [False, True])
def test_unseen_prices_when_tp1_passed_and_fell_back_then_the_next_price_fires_it(is_short):
    """The seed-31 case in small: while the loop was blocked the price went past TP1
    (2R = 156 for a long at 150, stop 147) and fell back to 154, above the stop that
    peak moved (1R, 153); the engine, shown the blocked stretch's candles, takes TP1
    at the price of now."""
    sign = -1 if is_short else 1

    def p(x: float) -> float:
        return 150 + sign * (x - 150)

    position = open_position(
        R_LADDER, side="short" if is_short else "long", entry=150,
        initial_stop=p(147), amount=100,
    )  # fmt: skip
    blocked = [
        Candle(at(1), p(151), max(p(151), p(154)), min(p(151), p(154)), p(154)),
        Candle(at(2), p(154), max(p(154), p(157)), min(p(154), p(157)), p(155)),  # past TP1
        Candle(at(3), p(155), max(p(155), p(154)), min(p(155), p(154)), p(154)),
    ]
    for price in unseen_prices(blocked, is_short=is_short, seen=at(0.5), now=at(5),
                               interval=SECOND):  # fmt: skip
        decision = step(position, price, fire_take_profits=False)
        assert not decision.exit_amount
        position = decision.position
    now = step(position, p(154), fire_take_profits=True)
    assert now.exit_tags == ("tp1",) and now.exit_amount == 50
    # without the blocked stretch, the price of now alone takes nothing
    fresh = open_position(
        R_LADDER, side="short" if is_short else "long", entry=150,
        initial_stop=p(147), amount=100,
    )  # fmt: skip
    assert step(fresh, p(154), fire_take_profits=True).exit_amount == 0


def test_unseen_prices_when_a_low_reaches_the_stop_then_the_engine_stops_out():
    position = open_position(R_LADDER, side="long", entry=150, initial_stop=147, amount=100)
    # the high (154.5, 1.5R) raises the stop to 151.5, the low after it (149) goes through
    blocked = [Candle(at(1), 150, 154.5, 149.5, 151), Candle(at(2), 151, 152, 149, 150)]
    tags = []
    for price in unseen_prices(blocked, is_short=False, seen=at(0), now=at(4), interval=SECOND):
        decision = step(position, price, fire_take_profits=False)
        if decision.exit_amount:
            tags = decision.exit_tags
            break
        position = decision.position
    assert tags == (STOP_TAG,)
