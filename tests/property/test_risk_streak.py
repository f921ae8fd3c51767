"""The losing streak: the fold, extended as trades close, agrees with the rule read off
the whole history; and with a cooldown, a streak at the limit lets one trade through
per loss, never more.

The oracle reads the rule off the whole history at `now` (the trailing losses);
`StreakFold` answers the same for any split of the history into arriving chunks
and any later time of asking, and `realized_pnl`'s bisection sums the same trades
as a scan.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from profitguard.risk.book import Account, ClosedTrade, OpenPosition
from profitguard.risk.rules import Streak, StreakFold, losing_streak, loss_streak, realized_pnl

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def oracle(limit, closed, *, since, now, cooldown) -> Streak:
    """The rule read off the whole history at `now`: the trailing losses (the first
    `limit` in a row, without a cooldown), and the cooldown from the last of them."""
    counted = [t for t in closed if (since is None or t.closed_at > since) and t.closed_at <= now]
    if cooldown is None:
        run = 0
        for i, trade in enumerate(counted):
            run = run + 1 if trade.profit < 0 else 0
            if run >= limit:  # paused for good; the count goes on up to the first win
                rest = counted[i + 1 :]
                more = next((k for k, t in enumerate(rest) if t.profit >= 0), len(rest))
                return Streak(run + more, None, True)
        return Streak(run, None, False)
    tail = list(itertools.takewhile(lambda t: t.profit < 0, reversed(counted)))
    if len(tail) < limit:
        return Streak(len(tail), None, False)
    until = tail[0].closed_at + cooldown
    if now < until:
        return Streak(len(tail), until, True)
    return Streak(len(tail), None, False, one_trade_from=until)


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


@given(
    st.integers(1, 4),
    st.none() | st.integers(1, 300).map(lambda m: timedelta(minutes=m)),
    st.lists(
        st.tuples(st.integers(0, 120), st.integers(1, 300), st.sampled_from([-1.0, 1.0])),
        max_size=60,
    ),
)
def test_streak_when_at_the_limit_then_at_most_one_entry_per_loss_and_none_in_cooldown(
    limit, cooldown, attempts
):
    """A bot asks to enter every few minutes; each entry it gets closes later at a loss or
    a win. Between two closes, while the losses in a row are at the limit: with a
    cooldown, at most one entry, none before the cooldown from the last loss is over;
    without one, no entry at all."""
    now, open_trades, closed, entries = T0, [], [], []
    for gap, duration, profit in attempts:
        now += timedelta(minutes=gap)
        for trade in sorted((t for t in open_trades if t[1] <= now), key=lambda t: t[1]):
            open_trades.remove(trade)
            closed.append(ClosedTrade(pair="X/USDT", closed_at=trade[1], profit=trade[2], r=None))
        positions = [
            OpenPosition(pair="X/USDT", is_short=False, entry=1.0, amount=1.0, stop=0.9,
                         stake=1.0, opened_at=t[0])
            for t in open_trades
        ]  # fmt: skip
        account = Account(now=now, equity=1e4, positions=positions, closed=closed)
        if loss_streak(limit, account, since=None, cooldown=cooldown).passed:
            entries.append(now)
            open_trades.append((now, now + timedelta(minutes=duration), profit))
    closes = [t.closed_at for t in closed] + [None]
    for k, trade in enumerate(closed):
        run = len(list(itertools.takewhile(lambda t: t.profit < 0, reversed(closed[: k + 1]))))
        if run < limit:
            continue
        following = closes[k + 1]
        inside = [
            e for e in entries if e >= trade.closed_at and (following is None or e < following)
        ]
        if cooldown is None:
            assert inside == []
        else:
            assert len(inside) <= 1, (inside, trade)
            assert all(e >= trade.closed_at + cooldown for e in inside)
