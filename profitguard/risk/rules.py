"""The rules: small pure functions over plain values, each returning a `Check`.

Account limits pause entries once REACHED (realized losses, a losing streak) or below
the minimum balance; an entry may bring a figure UP TO an entry limit, never past it, or
must meet it (reward:risk, slippage, confidence). Comparisons allow 1e-9 (relative) of
float noise, so a figure equal to its limit on paper is equal.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from profitguard.risk.book import Account, ClosedTrade, MarginTerms, Proposal
from profitguard.risk.checks import Check, Figure, Rule, Unit

EPS = 1e-9


def exceeds(value: float, limit: float) -> bool:
    return value > limit + EPS * max(1.0, abs(limit))


def below(value: float, limit: float) -> bool:
    return value < limit - EPS * max(1.0, abs(limit))


def reaches(value: float, limit: float) -> bool:
    return not below(value, limit)


def _vs(
    rule: Rule, ok: bool, name: str, value: Any, limit: Any, unit: Unit, *extra: Figure
) -> Check:
    """A check of a figure against its limit, both in `unit`."""
    return Check(rule, ok, Figure(name, value, unit), Figure("limit", limit, unit), extra)


def min_balance(limit: float, equity: float) -> Check:
    return _vs(Rule.MIN_BALANCE, not below(equity, limit), "equity", equity, limit, Unit.MONEY)


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO week: from Monday 00:00 UTC
    MONTH = "month"


PERIOD_RULE = {
    Period.DAY: Rule.DAILY_LOSS,
    Period.WEEK: Rule.WEEKLY_LOSS,
    Period.MONTH: Rule.MONTHLY_LOSS,
}


def period_start(now: datetime, period: Period) -> datetime:
    """The start (UTC) of the day, ISO week or month holding `now`."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_end(now: datetime, period: Period) -> datetime:
    """When the period holding `now` rolls over (UTC)."""
    start = period_start(now, period)
    days = {Period.DAY: 1, Period.WEEK: 7, Period.MONTH: 32}[period]
    return period_start(start + timedelta(days=days), period)


def _closed_at(trade: ClosedTrade) -> datetime:
    return trade.closed_at


def realized_pnl(closed: Sequence[ClosedTrade], start: datetime, now: datetime) -> float:
    """Profit of the trades closed in [start, now] (`closed` oldest first: found by
    bisection, so a check costs the period's trades, not the whole history)."""
    lo = bisect.bisect_left(closed, start, key=_closed_at)
    hi = bisect.bisect_right(closed, now, key=_closed_at)
    return math.fsum(t.profit for t in closed[lo:hi])


def period_loss(limit: float, period: Period, account: Account) -> Check:
    """Realized loss of the period so far / the equity it started with; reached: entries
    pause until the period rolls over."""
    start = period_start(account.now, period)
    if account.pnl_since is not None:
        pnl = account.pnl_since(start, account.now)
    else:
        pnl = realized_pnl(account.closed, start, account.now)
    return _period_loss(limit, period, start, account.equity, pnl)


@functools.lru_cache(maxsize=256)
def _period_loss(limit: float, period: Period, start: datetime, equity: float, pnl: float) -> Check:
    """`period_loss` from its figures (cached: the entries of a candle, and of the candles
    until a trade closes or opens, ask with the same ones)."""
    loss = max(0.0, -pnl)
    start_equity = equity + loss
    ratio = loss / start_equity if start_equity > 0 else (math.inf if loss else 0.0)
    paused = loss > 0 and reaches(ratio, limit)
    until = (Figure("until", period_end(start, period), Unit.TIME),) if paused else ()
    return _vs(PERIOD_RULE[period], not paused, "loss", ratio, limit, Unit.PCT, *until)


@dataclass(frozen=True, slots=True)
class Streak:
    losses: int  # consecutive losing trades now
    paused_until: datetime | None  # when paused by the cooldown
    paused: bool
    # the cooldown is over but the streak is still at the limit: one trade at a time,
    # the trades entered from this time on (None: no such restriction)
    one_trade_from: datetime | None = None


@dataclass(slots=True)
class StreakFold:
    """The losing-streak rule folded over closed trades, oldest first.

    The streak is the number of trades closed at a loss (profit after fees below 0)
    in a row, counting only trades closed after `since` (the last reset or resume);
    a trade closed at a profit or at 0 ends it. Once it reaches `limit`:
    - without a `cooldown`, entries pause until a reset or resume, whatever closes
      afterwards (the count goes on up to the first win, for the record);
    - with a `cooldown`, entries pause until `cooldown` after the last loss closed.
      The streak is not forgotten when the cooldown ends: one trade may open, and
      no other while it is open; each further loss pauses again for `cooldown`
      from its close; a win ends the streak and lifts all of it.
    The fold does not depend on the time it is asked at, so it can be extended as
    trades close (`extend`) and asked at any later time (`at`).
    """

    limit: int
    since: datetime | None
    cooldown: timedelta | None
    losses: int = 0
    last_loss: datetime | None = None
    until_reset: bool = False  # reached without a cooldown
    counting: bool = True  # after reaching it without a cooldown: until the first win
    last_closed: datetime | None = None

    def add(self, trade: ClosedTrade) -> None:
        if self.since is not None and trade.closed_at <= self.since:
            return
        self.last_closed = trade.closed_at
        lost = trade.profit < 0
        if self.until_reset:
            if self.counting:
                if lost:
                    self.losses += 1
                else:
                    self.counting = False
            return
        if not lost:
            self.losses, self.last_loss = 0, None
            return
        self.losses += 1
        self.last_loss = trade.closed_at
        if self.losses >= self.limit and self.cooldown is None:
            self.until_reset = True

    def extend(self, closed: Sequence[ClosedTrade]) -> StreakFold:
        for trade in closed:
            self.add(trade)
        return self

    def at(self, now: datetime) -> Streak:
        """The streak as of `now` (every trade closed up to `now` folded in)."""
        if self.until_reset:
            return Streak(self.losses, None, True)
        if self.losses < self.limit or self.cooldown is None or self.last_loss is None:
            return Streak(self.losses, None, False)
        until = self.last_loss + self.cooldown
        if now < until:
            return Streak(self.losses, until, True)
        return Streak(self.losses, None, False, one_trade_from=until)


def losing_streak(
    limit: int,
    closed: Sequence[ClosedTrade],
    *,
    since: datetime | None,
    now: datetime,
    cooldown: timedelta | None,
) -> Streak:
    """The `StreakFold` over the trades closed up to `now`, as of `now`."""
    upto = bisect.bisect_right(closed, now, key=_closed_at)
    return StreakFold(limit, since, cooldown).extend(closed[:upto]).at(now)


# The figure of a losing streak's refusal while the one trade after its cooldown is
# open: entries are limited to that trade, not paused.
ONE_TRADE_OPEN = "one trade open"


def loss_streak(
    limit: int,
    account: Account,
    *,
    since: datetime | None,
    cooldown: timedelta | None,
) -> Check:
    """Paused while the streak is at the limit (`StreakFold`); after a cooldown, also while
    the one trade entered since it ended is open."""
    fold = account.streak
    if fold is not None and (fold.limit, fold.since, fold.cooldown) == (limit, since, cooldown):
        streak = fold.at(account.now)  # kept up to date as trades close (the adapter's)
    else:
        streak = losing_streak(
            limit, account.closed, since=since, now=account.now, cooldown=cooldown
        )
    paused = streak.paused
    extra: tuple[Figure, ...] = ()
    if streak.paused:
        until = streak.paused_until if streak.paused_until is not None else "reset"
        extra = (Figure("until", until, Unit.TIME),)
    elif streak.one_trade_from is not None:
        after = streak.one_trade_from
        waiting = sorted(
            p.pair for p in account.positions if p.opened_at is not None and p.opened_at >= after
        )
        if waiting:  # the one trade after the cooldown is open: its close decides
            paused = True
            extra = (Figure(ONE_TRADE_OPEN, ", ".join(waiting), Unit.TEXT),)
    return _vs(Rule.LOSS_STREAK, not paused, "losses", streak.losses, limit, Unit.COUNT, *extra)


def _of_equity(amount: float, equity: float) -> float:
    """`amount` as a ratio of equity (inf with no equity: every limit refuses)."""
    return amount / equity if equity > 0 else math.inf


def _at_most(rule: Rule, name: str, ratio: float, limit: float, *extra: Figure) -> Check:
    """A ratio an entry may bring up to its limit, never past it."""
    return _vs(rule, not exceeds(ratio, limit), name, ratio, limit, Unit.PCT, *extra)


def max_positions(limit: int, open_count: int) -> Check:
    return _vs(Rule.MAX_POSITIONS, open_count < limit, "open", open_count, limit, Unit.COUNT)


def stake_cap(limit: float, equity: float, stake: float) -> Check:
    amount = Figure("amount", stake, Unit.MONEY)
    return _at_most(Rule.STAKE_CAP, "stake", _of_equity(stake, equity), limit, amount)


def asset_exposure(limit: float, account: Account, proposal: Proposal | None = None) -> Check:
    """Open stakes in the entry's base asset plus the entry's / equity (no entry: the
    asset held most)."""
    if proposal is None:
        held_by: dict[str, list[float]] = {}
        for position in account.positions:
            held_by.setdefault(position.base, []).append(position.stake)
        totals = {base: math.fsum(stakes) for base, stakes in held_by.items()}
        asset, held = max(totals.items(), key=lambda kv: kv[1], default=("-", 0.0))
        stake = 0.0
    else:
        asset, stake = proposal.base, proposal.stake
        held = math.fsum(p.stake for p in account.positions if p.base == asset)
    ratio = _of_equity(held + stake, account.equity)
    named = Figure("asset", asset, Unit.TEXT)
    return _at_most(Rule.ASSET_EXPOSURE, "exposure", ratio, limit, named)


def portfolio_heat(limit: float, account: Account, proposal: Proposal | None = None) -> Check:
    """Open risk to the stops in force plus the entry's to its initial stop / equity."""
    if account.equity <= 0:
        held, new = math.inf, math.inf
    else:
        held = account.heat
        new = proposal.risk / account.equity if proposal is not None else 0.0
    shares = (Figure("open", held, Unit.PCT), Figure("entry", new, Unit.PCT))
    return _at_most(Rule.HEAT, "heat", held + new, limit, *(shares if proposal is not None else ()))


def isolated_liquidation_price(
    *, is_short: bool, entry: float, amount: float, margin: float, terms: MarginTerms
) -> float:
    """Where an isolated position of `amount` at `entry` with `margin` is liquidated,
    moved by `terms.buffer` of the distance towards the entry (never below 0).

    Binance's isolated formula, the one Freqtrade's `Binance.dry_run_liquidation_price`
    computes (no cross-margin terms), and Freqtrade's `liquidation_buffer` on top:
    liq = (margin + cum - side * amount * entry) / (amount * mmr - side * amount),
    side = 1 for a long, -1 for a short.
    """
    side = -1.0 if is_short else 1.0
    liq = (margin + terms.maintenance_amount - side * amount * entry) / (
        amount * terms.maintenance_rate - side * amount
    )
    gap = abs(entry - liq) * terms.buffer
    return max(liq - gap if is_short else liq + gap, 0.0)


def liquidation(limit: float, proposal: Proposal) -> Check:
    """The initial stop's distance from the entry over the liquidation price's distance:
    refused above `limit` (1.0: the stop must lie inside the liquidation price)."""
    terms = proposal.margin
    if terms is None:
        raise ValueError(f"no margin terms for {proposal.pair}: the rule is for futures only")
    liq = isolated_liquidation_price(
        is_short=proposal.is_short,
        entry=proposal.rate,
        amount=proposal.amount,
        margin=proposal.stake,
        terms=terms,
    )
    room = liq - proposal.rate if proposal.is_short else proposal.rate - liq
    stop_distance = abs(proposal.rate - proposal.initial_stop)
    ratio = stop_distance / room if room > 0 else math.inf
    return _vs(
        Rule.LIQUIDATION,
        not exceeds(ratio, limit) and math.isfinite(ratio),
        "stop_to_liquidation",
        ratio,
        limit,
        Unit.PCT,
        Figure("stop", proposal.initial_stop, Unit.PRICE),
        Figure("liquidation", liq, Unit.PRICE),
        Figure("leverage", terms.leverage),
        Figure("maintenance", terms.maintenance_rate, Unit.PCT),
    )


def stop_too_close(min_ticks: int, min_to_fees: float | None, proposal: Proposal) -> Check:
    """The initial stop's distance from the entry must be at least `min_ticks` price ticks
    and at least `min_to_fees` times the round-trip fees (one fill at the entry, one at
    the stop, per unit): a stop closer than that is noise, and every trade through it a
    loss of fees. An unknown tick or fee leaves its part out (named in the figures)."""
    distance = abs(proposal.rate - proposal.initial_stop)
    tick, fee = proposal.tick, proposal.fee
    by_ticks = min_ticks * tick if tick is not None and tick > 0 else 0.0
    fees = fee * (proposal.rate + proposal.initial_stop) if fee is not None else None
    by_fees = min_to_fees * fees if fees is not None and min_to_fees is not None else 0.0
    minimum = max(by_ticks, by_fees)
    return Check(
        Rule.STOP_TOO_CLOSE,
        distance > 0 and reaches(distance, minimum),
        Figure("distance", distance, Unit.PRICE),
        Figure("min", minimum, Unit.PRICE),
        (
            Figure("stop", proposal.initial_stop, Unit.PRICE),
            Figure("tick", tick if tick else "unknown", Unit.PRICE if tick else Unit.TEXT),
            Figure("min_ticks", min_ticks, Unit.COUNT),
            Figure("fees", fees if fees is not None else "unknown",
                   Unit.PRICE if fees is not None else Unit.TEXT),
        ),
    )  # fmt: skip


def reward_risk(limit: float, proposal: Proposal) -> Check:
    """Distance to the first take-profit / distance to the initial stop. No target: refused."""
    if proposal.first_target is None:
        none = Figure("target", "none: the exits have no take-profit", Unit.TEXT)
        return _vs(Rule.REWARD_RISK, False, "reward_risk", None, limit, Unit.NUMBER, none)
    sign = -1.0 if proposal.is_short else 1.0
    risk = sign * (proposal.rate - proposal.initial_stop)
    reward = sign * (proposal.first_target - proposal.rate)
    ratio = reward / risk if risk > 0 else -math.inf
    target = Figure("target", proposal.first_target, Unit.PRICE)
    stop = Figure("stop", proposal.initial_stop, Unit.PRICE)
    return _vs(
        Rule.REWARD_RISK,
        reaches(ratio, limit),
        "reward_risk",
        ratio,
        limit,
        Unit.NUMBER,
        target,
        stop,
    )


def entry_slippage(limit: float, proposal: Proposal) -> Check:
    """How much worse than the signal candle's close the entry is (better is never refused)."""
    close = proposal.signal_close
    if close is None or not math.isfinite(close) or close <= 0:
        unknown = Figure("signal_close", "unknown", Unit.TEXT)
        return _vs(Rule.SLIPPAGE, False, "slippage", None, limit, Unit.PCT, unknown)
    worse = proposal.rate - close if not proposal.is_short else close - proposal.rate
    prices = (Figure("rate", proposal.rate, Unit.PRICE), Figure("close", close, Unit.PRICE))
    return _at_most(Rule.SLIPPAGE, "slippage", worse / close, limit, *prices)


def signal_confidence(limit: float, confidence: float | None) -> Check:
    """The signal's confidence, when the strategy supplies one (None: it does not)."""
    if confidence is None:
        return Check(
            Rule.CONFIDENCE,
            True,
            Figure("confidence", "not supplied", Unit.TEXT),
            Figure("limit", limit),
        )
    known = isinstance(confidence, int | float) and math.isfinite(confidence)
    return Check(
        Rule.CONFIDENCE,
        known and reaches(confidence, limit),
        Figure(
            "confidence", confidence if known else "unknown", Unit.NUMBER if known else Unit.TEXT
        ),
        Figure("limit", limit),
    )


@dataclass(frozen=True, slots=True)
class Correlation:
    """The correlation of returns between the entry's pair and an open position's."""

    pair: str
    value: float
    samples: int  # returns in common


def correlated_positions(
    limit: int, threshold: float, min_samples: int, correlations: Sequence[Correlation]
) -> Check:
    """Refused when `limit` open positions already correlate above `threshold` with the entry,
    or when the history in common with an open position is too short to tell."""
    short = [c for c in correlations if c.samples < min_samples]
    if short:
        return Check(
            Rule.CORRELATION,
            False,
            Figure("history", min(c.samples for c in short), Unit.COUNT),
            Figure("needed", min_samples, Unit.COUNT),
            (Figure("with", ",".join(c.pair for c in short), Unit.TEXT),),
        )
    correlated = [c for c in correlations if c.value > threshold]
    pairs = ",".join(f"{c.pair}({c.value:.2f})" for c in correlated) or "-"
    return _vs(
        Rule.CORRELATION,
        len(correlated) < limit,
        "correlated",
        len(correlated),
        limit,
        Unit.COUNT,
        Figure("threshold", threshold),
        Figure("with", pairs, Unit.TEXT),
    )


def pearson(a: Sequence[float], b: Sequence[float]) -> float:
    """The correlation of two equally long series; 0 when either does not move."""
    n = len(a)
    if n != len(b):
        raise ValueError(f"series of different lengths: {n} and {len(b)}")
    if n < 2:
        return 0.0
    mean_a = math.fsum(a) / n
    mean_b = math.fsum(b) / n
    da = [x - mean_a for x in a]
    db = [y - mean_b for y in b]
    var_a = math.fsum(x * x for x in da)
    var_b = math.fsum(y * y for y in db)
    if var_a <= 0 or var_b <= 0:
        return 0.0  # a flat series moves with nothing
    cov = math.fsum(x * y for x, y in zip(da, db, strict=True))
    return max(-1.0, min(1.0, cov / math.sqrt(var_a * var_b)))


def returns(closes: Sequence[float]) -> list[float]:
    return [b / a - 1.0 for a, b in itertools.pairwise(closes)]
