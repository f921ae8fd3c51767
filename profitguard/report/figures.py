"""The figures of a set of closed trades, in R and in money: one summary that
`report`, `compare` and `sweep` all print, so a figure means the same everywhere.

Trades are identified across runs by `trade_key` (pair, entry time in ms, side)
and taken in closing order (`close_order`): the drawdown depends on the order.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from profitguard.engine import one_r
from profitguard.report.records import TradeRecord

TradeKey = tuple[str, int, bool]


def trade_key(trade: TradeRecord) -> TradeKey:
    """The entry a trade came from: (pair, entry time in ms since the epoch, is_short)."""
    return (trade.pair, round(trade.open_date.timestamp() * 1000), trade.is_short)


def close_order(trades: Iterable[TradeRecord]) -> list[TradeRecord]:
    """`trades` in the order they closed (ties: by entry time, then pair)."""
    return sorted(trades, key=lambda t: (t.close_date, t.open_date, t.pair))


def max_drawdown(values: Iterable[float]) -> float:
    """The largest fall of the cumulative sum from a previous high (the start counts: 0)."""
    total = peak = worst = 0.0
    for v in values:
        total += v
        peak = max(peak, total)
        worst = max(worst, peak - total)
    return worst


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def profit_factor(values: Sequence[float]) -> float | None:
    """Sum of gains / |sum of losses|; None without losses."""
    losses = -math.fsum(v for v in values if v <= 0)
    return math.fsum(v for v in values if v > 0) / losses if losses > 0 else None


@dataclass(frozen=True)
class RSummary:
    """Figures of trades in R (fees included), and in money when it is known."""

    trades: int
    wins: int
    win_rate: float
    expectancy_r: float
    total_r: float
    avg_win_r: float | None
    avg_loss_r: float | None
    profit_factor: float | None  # sum of winning R / |sum of losing R|; None without losses
    sqn: float | None
    max_drawdown_r: float
    profit_abs: float | None = None  # quote currency, fees included
    profit_factor_abs: float | None = None  # the same ratio in money
    max_drawdown_abs: float | None = None  # quote currency

    @property
    def disagrees(self) -> bool:
        """Money and R have opposite signs (each trade's R unit was not the same money)."""
        return self.profit_abs is not None and self.total_r * self.profit_abs < 0


def summarize_r(rs: Sequence[float], money: Sequence[float] | None = None) -> RSummary:
    """The summary of trades whose R are `rs` (and net profits `money`), in closing order."""
    if money is not None and len(money) != len(rs):
        raise ValueError(f"{len(rs)} R values but {len(money)} profits")
    wins = [r for r in rs if r > 0]
    losses = [r for r in rs if r <= 0]
    n = len(rs)
    mean = _mean(rs) or 0.0
    sqn = None
    if n >= 2:
        stdev = statistics.stdev(rs)
        sqn = math.sqrt(n) * mean / stdev if stdev > 0 else None
    return RSummary(
        trades=n,
        wins=len(wins),
        win_rate=len(wins) / n if n else 0.0,
        expectancy_r=mean,
        total_r=math.fsum(rs),
        avg_win_r=_mean(wins),
        avg_loss_r=_mean(losses),
        profit_factor=profit_factor(rs),
        sqn=sqn,
        max_drawdown_r=max_drawdown(rs),
        profit_abs=None if money is None else math.fsum(money),
        profit_factor_abs=None if money is None else profit_factor(money),
        max_drawdown_abs=None if money is None else max_drawdown(money),
    )


def r_against(trade: TradeRecord, stop: float) -> float:
    """The trade's R with `stop` as the initial stop (fees included)."""
    return trade.net_profit / one_r(entry=trade.entry, initial_stop=stop, amount=trade.amount)
