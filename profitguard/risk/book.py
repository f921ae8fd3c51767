"""The plain values the rules read: the account, its open positions, its closed trades,
the proposed entry. Amounts in base currency, prices and money in the stake currency.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from profitguard.engine.position import one_r


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenPosition:
    pair: str
    is_short: bool
    entry: float  # average entry price
    amount: float  # the amount still open
    stop: float  # the stop in force
    stake: float  # the stake still tied up (at the entry price)
    opened_at: datetime | None = None  # UTC (the losing streak's one trade after a cooldown)

    @property
    def base(self) -> str:
        return self.pair.split("/", 1)[0]  # 'BTC/USDT:USDT' -> 'BTC'

    @property
    def risk(self) -> float:
        """What is lost if the stop in force is hit, from the entry; 0 once it is at or beyond."""
        distance = self.stop - self.entry if self.is_short else self.entry - self.stop
        return max(0.0, distance) * self.amount


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosedTrade:
    pair: str
    closed_at: datetime  # UTC
    profit: float  # realized profit of the whole trade, fees included (stake currency)
    r: float | None = None  # profit in R (None when the initial stop is unknown)


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """The account as of `now`. `closed` holds the closed trades, oldest first."""

    now: datetime  # UTC
    equity: float  # the capital the bot trades with (stake currency, at cost)
    positions: Sequence[OpenPosition] = ()
    closed: Sequence[ClosedTrade] = ()
    # `closed` folded by the losing-streak rule so far, when the caller keeps one
    # up to date (else the rule folds `closed` itself)
    streak: Any = None
    # the realized profit of the trades closed in [start, now], when the caller keeps
    # the sums (`rules.realized_pnl` of `closed`, else the rule sums `closed` itself)
    pnl_since: Callable[[datetime, datetime], float] | None = None

    @property
    def heat(self) -> float:
        """Open risk to the stops in force, as a ratio of equity."""
        return sum(p.risk for p in self.positions) / self.equity if self.equity > 0 else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginTerms:
    """An isolated-margin position's terms, as the exchange's leverage bracket sets them."""

    leverage: float
    maintenance_rate: float  # maintenance margin rate of the bracket (0.004 = 0.4%)
    maintenance_amount: float = 0.0  # the bracket's maintenance amount ("cum"), stake currency
    buffer: float = 0.0  # Freqtrade's `liquidation_buffer`: the share of the entry-to-
    # liquidation distance it keeps clear (0.05 = stop 5% of the way before liquidation)


@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal:
    """The entry Freqtrade is about to place. `amount` is the whole position (with
    leverage) and `stake` the margin it ties up; risk is the position's, not the margin's."""

    pair: str
    is_short: bool
    rate: float  # entry price
    amount: float
    stake: float  # amount * rate / leverage
    initial_stop: float
    first_target: float | None  # the first take-profit price; None: the exits have none
    signal_close: float | None  # the close of the signal candle
    confidence: float | None = None  # the signal's confidence, when the strategy supplies one
    margin: MarginTerms | None = None  # futures: the terms of its isolated margin; spot: None
    tick: float | None = None  # the pair's price step (None: unknown, or no step)
    fee: float | None = None  # the fee ratio of one fill (0.001 = 0.1%; None: unknown)

    @property
    def base(self) -> str:
        return self.pair.split("/", 1)[0]  # 'BTC/USDT:USDT' -> 'BTC'

    @property
    def risk(self) -> float:
        return one_r(entry=self.rate, initial_stop=self.initial_stop, amount=self.amount)


def r_multiple(profit: float, *, entry: float, initial_stop: float, amount: float) -> float | None:
    """A closed trade's net profit in R: `profit / (amount entered * |entry - initial stop|)`
    (the risk it opened with); None when that risk is 0 (no R to measure in)."""
    risk = one_r(entry=entry, initial_stop=initial_stop, amount=amount)
    return profit / risk if risk > 0 else None
