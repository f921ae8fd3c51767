"""`replay_candles`: how the engine sees a candle the way Freqtrade's backtester does."""

import pytest

from profitguard.engine import R_LADDER, Candle, ProtectionState, open_position, replay_candles


def mirror(price, is_short, entry=150.0):
    return 2 * entry - price if is_short else price


def candle(o, h, l, c, is_short):  # noqa: E741 - OHLC
    """A long's candle, mirrored for a short (its high becomes the short's low)."""
    if is_short:
        return Candle(None, mirror(o, True), mirror(l, True), mirror(h, True), mirror(c, True))
    return Candle(None, o, h, l, c)


def position(is_short):
    return open_position(
        R_LADDER,
        side="short" if is_short else "long",
        entry=150,
        initial_stop=153 if is_short else 147,
        amount=100,
    )


def kinds(ticks):
    return [t.kind for t in ticks]


@pytest.mark.parametrize("is_short", [False, True])
def test_candles_when_high_crosses_tp1_then_it_fires_at_the_next_open(is_short):
    ticks = replay_candles(
        position(is_short),
        [
            candle(150, 151, 149.5, 150.5, is_short),  # entry candle
            candle(154, 157, 153.5, 155, is_short),  # high 157 passes TP1 (156)
            candle(155, 155.5, 154, 155, is_short),
        ],
    )
    crossing = [t for t in ticks if t.candle is ticks[3].candle]
    assert kinds(crossing) == ["open", "best", "worst"]
    assert all(t.decision.exit_amount == 0 for t in crossing)  # the high only observes
    assert mirror(crossing[-1].decision.stop, is_short) == 153  # but the stop moves now
    fired = ticks[6]
    assert fired.kind == "open" and fired.decision.exit_tags == ("tp1",)
    assert fired.decision.exit_amount == 50
    assert mirror(fired.decision.price, is_short) == 155  # at the next open, not the level


@pytest.mark.parametrize("is_short", [False, True])
def test_candles_when_low_crosses_the_raised_stop_then_fills_at_the_stop_price(is_short):
    # high 154.5 (1.5R) raises the stop to 151.5; the low 148 then crosses it
    ticks = replay_candles(position(is_short), [candle(150, 154.5, 148, 149, is_short)])
    assert kinds(ticks) == ["open", "best", "worst"]
    last = ticks[-1].decision
    assert last.exit_tags == ("stop",)
    assert mirror(last.price, is_short) == 151.5
    assert last.position.state is ProtectionState.STOPPED_OUT


@pytest.mark.parametrize("is_short", [False, True])
def test_candles_when_low_reaches_the_standing_stop_then_no_new_peak_is_taken(is_short):
    # the stop stands at 150 (peak 1R earlier); this candle's low reaches it at once,
    # so its high (which would have raised the stop to 151.5) is never seen
    ticks = replay_candles(
        position(is_short),
        [candle(150, 153, 150.5, 152, is_short), candle(152, 154.5, 149, 150, is_short)],
    )
    assert kinds(ticks) == ["open", "best", "worst", "open", "worst"]
    assert mirror(ticks[-1].decision.price, is_short) == 150


@pytest.mark.parametrize("is_short", [False, True])
def test_candles_when_open_gaps_through_the_stop_then_exits_at_the_open(is_short):
    ticks = replay_candles(
        position(is_short),
        [candle(150, 151, 149, 150, is_short), candle(140, 141, 139, 140, is_short)],
    )
    last = ticks[-1]
    assert last.kind == "open"
    assert last.decision.exit_tags == ("stop",)
    assert mirror(last.decision.price, is_short) == 140


@pytest.mark.parametrize("is_short", [False, True])
def test_candles_when_open_gaps_over_two_levels_then_one_exit_at_the_open(is_short):
    ticks = replay_candles(
        position(is_short),
        [candle(150, 151, 149, 150, is_short), candle(160, 160.5, 159.5, 160, is_short)],
    )
    gap = ticks[3]
    assert gap.kind == "open" and gap.decision.exit_tags == ("tp1", "tp2")
    assert gap.decision.exit_amount == 75


def test_candles_when_min_notional_makes_a_level_too_small_then_carried():
    # TP1's 0.5 unit at 156 is worth 78, below a minimum order of 100: skipped and
    # carried. At TP2, 0.75 (worth 119) would leave 0.25 (worth 40): everything goes.
    pos = open_position(R_LADDER, side="long", entry=150, initial_stop=147, amount=1)
    ticks = replay_candles(
        pos,
        [Candle(None, p, p, p, p) for p in (150, 156, 159, 162)],
        min_notional=100,
    )
    exits = [
        (t.decision.exit_tags, t.decision.exit_amount) for t in ticks if t.decision.exit_amount
    ]
    assert exits == [(("tp1", "tp2"), 1)]
    assert ticks[-1].decision.position.state is ProtectionState.FINAL_PROFIT_TAKEN
