"""The losing-streak fold, extended as trades close, agrees with folding everything at once.

The oracle is the rule as first written (a loop over the whole history at `now`);
`StreakFold` answers the same for any split of the history into arriving chunks
and any later time of asking, and `realized_pnl`'s bisection sums the same trades
as a scan.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from profitguard.risk.book import ClosedTrade
from profitguard.risk.rules import Streak, StreakFold, losing_streak, realized_pnl

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def oracle(limit, closed, *, since, now, cooldown) -> Streak:
    """The rule as first written: a fold over the whole history, asked at `now`."""
    losses = 0
    paused = False
    for trade in closed:
        if (since is not None and trade.closed_at <= since) or trade.closed_at > now:
            continue
        if paused:
            if trade.profit >= 0:
                break
            losses += 1
            continue
        losses = losses + 1 if trade.profit < 0 else 0
        if losses >= limit:
            if cooldown is None:
                paused = True
                continue
            paused_until = trade.closed_at + cooldown
            if now < paused_until:
                return Streak(losses, paused_until, True)
            losses = 0
    return Streak(losses, None, paused)


@st.composite
def histories(draw):
    gaps = draw(st.lists(st.integers(0, 180), min_size=0, max_size=40))  # minutes; 0: same time
    profits = draw(st.lists(st.sampled_from([-5.0, -1.0, 0.0, 2.0]), min_size=len(gaps),
                            max_size=len(gaps)))  # fmt: skip
    at, closed = T0, []
    for gap, profit in zip(gaps, profits, strict=True):
        at += timedelta(minutes=gap)
        closed.append(ClosedTrade(pair="X/USDT", closed_at=at, profit=profit, r=None))
    return closed


@given(
    histories(),
    st.integers(1, 4),
    st.none() | st.integers(1, 600).map(lambda m: timedelta(minutes=m)),
    st.none() | st.integers(0, 3000).map(lambda m: T0 + timedelta(minutes=m)),
    st.data(),
)
def test_streak_fold_when_extended_in_chunks_then_same_as_the_whole_history(
    closed, limit, cooldown, since, data
):
    fold = StreakFold(limit, since, cooldown)
    done = 0
    while done < len(closed):
        step = data.draw(st.integers(1, len(closed) - done), label="chunk")
        fold.extend(closed[done : done + step])
        done += step
        upto = closed[done - 1].closed_at
        later = upto + timedelta(minutes=data.draw(st.integers(0, 900), label="asked after"))
        for now in (upto, later):
            if done < len(closed) and closed[done].closed_at <= now:
                continue  # a trade closed by then is not folded in yet: not a fair question
            expected = oracle(limit, closed, since=since, now=now, cooldown=cooldown)
            assert fold.at(now) == expected
            assert losing_streak(limit, closed, since=since, now=now, cooldown=cooldown) == expected


@given(histories(), st.integers(0, 3000), st.integers(0, 3000))
def test_realized_pnl_when_bisected_then_same_trades_as_a_scan(closed, a, b):
    start, now = T0 + timedelta(minutes=min(a, b)), T0 + timedelta(minutes=max(a, b))
    scanned = math.fsum(t.profit for t in closed if start <= t.closed_at <= now)
    assert realized_pnl(closed, start, now) == scanned
