"""One live run as the checks read it (``RunRecord``), and what a check finds (``Violation``).

Its own module so that ``run_checks`` and ``stop_checks`` both read it without importing
each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

EPS = 1e-9


@dataclass
class Life:
    """One bot process: wall-clock seconds of its start, first loops and end."""

    started: float
    ended: float = 0.0
    killed: bool = False
    heartbeats: list[float] = field(default_factory=list)
    refusals: list[float] = field(default_factory=list)  # exit orders the bot logged refused
    stops_at_end: dict[int, float] = field(default_factory=dict)  # trade id -> stop (DB)
    reported: list[str] = field(default_factory=list)  # client ids the bot's log reported

    @property
    def back(self) -> float | None:
        return self.heartbeats[0] if self.heartbeats else None

    @property
    def settled(self) -> float | None:
        """One full loop after the bot is back (the third loop starts)."""
        return self.heartbeats[2] if len(self.heartbeats) >= 3 else None


@dataclass
class Violation:
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


@dataclass
class RunRecord:
    ledger: dict
    trades: list[dict]
    orders: list[dict]
    custom: list[dict]
    lives: list[Life]
    samples: list[tuple[float, dict[int, tuple[bool, float]]]]  # (time, id -> (open, stop))
    levels_r: tuple[float, ...]
    price: Callable[[str, float], float]  # (pair, wall-clock seconds) -> replayed price
    stoploss_on_exchange: bool
    end: float
    step: float  # the market's lot step
    paused_at: float | None = None
    guard_paused_after: bool | None = None
    tagged: list[dict] = field(default_factory=list)
    tp_fractions: tuple[float, ...] = (0.5, 0.25, 0.25)  # of the original amount, per level
    dust: float = 0.0  # base amount below which a holding cannot be sold (min notional)
    kill_switch_at: float | None = None  # when `guard kill` ran (wall clock), if it did
    min_notional: float = 0.0  # the market's minimum order value: less cannot be sold


def bought_net(fills: list[dict], base: str) -> float:
    return sum(
        f["amount"] - (f["fee"] if f["fee_asset"] == base else 0.0)
        for f in fills
        if f["side"] == "BUY"
    )


def position_at(record: RunRecord, pair: str, at: float) -> float:
    """What the account holds of `pair` at ``at`` (wall-clock seconds) by the ledger."""
    base = pair.split("/")[0]
    fills = [f for f in record.ledger["fills"] if f["pair"] == pair and f["time"] / 1000 <= at]
    return bought_net(fills, base) - sum(f["amount"] for f in fills if f["side"] == "SELL")
