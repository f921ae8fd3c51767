"""What a rule returns: a `Check`, a code plus the figures it decided on.

A failed check is a denial: `DAILY_LOSS_LIMIT: loss=5.3%, limit=5.0%`. Checks are
data to count, log and show (`profitguard guard status`), never exceptions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Rule(StrEnum):
    """Every code a refusal can carry, in the order the gate evaluates them."""

    GUARD_STATE = "GUARD_STATE_UNREADABLE"  # the guard state file cannot be trusted
    KILL_SWITCH = "KILL_SWITCH"
    PAUSED = "PAUSED"  # paused by the admin (`profitguard guard pause`)
    MIN_BALANCE = "MIN_BALANCE"
    DAILY_LOSS = "DAILY_LOSS_LIMIT"
    WEEKLY_LOSS = "WEEKLY_LOSS_LIMIT"
    MONTHLY_LOSS = "MONTHLY_LOSS_LIMIT"
    LOSS_STREAK = "CONSECUTIVE_LOSSES"
    MAX_POSITIONS = "MAX_OPEN_POSITIONS"
    STAKE_CAP = "STAKE_CAP"
    ASSET_EXPOSURE = "ASSET_EXPOSURE"
    HEAT = "PORTFOLIO_HEAT"
    LIQUIDATION = "LIQUIDATION"  # the initial stop is not inside the liquidation price
    STOP_TOO_CLOSE = "STOP_TOO_CLOSE"  # the initial stop is within a few ticks or the fees
    REWARD_RISK = "REWARD_RISK"
    SLIPPAGE = "ENTRY_SLIPPAGE"
    CONFIDENCE = "SIGNAL_CONFIDENCE"
    CORRELATION = "CORRELATED_POSITIONS"
    SIZING = "SIZING"  # no stake could be sized within the limits
    ERROR = "GATE_ERROR"  # the gate itself failed: the entry is refused


class Unit(StrEnum):
    PCT = "pct"  # a ratio shown as a percentage
    COUNT = "count"
    MONEY = "money"  # stake currency
    PRICE = "price"
    NUMBER = "number"  # a plain ratio such as reward:risk 1.50
    TEXT = "text"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: Any
    unit: Unit = Unit.NUMBER

    def render(self, pct_decimals: int = 1) -> str:
        value = self.value
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
        match self.unit:
            case Unit.PCT:
                return f"{value * 100:.{pct_decimals}f}%"
            case Unit.COUNT:
                return str(value)
            case Unit.MONEY:
                return f"{value:.2f}"
            case Unit.PRICE:
                return f"{value:.8g}"
            case Unit.NUMBER:
                return f"{value:.2f}" if math.isfinite(value) else str(value)
            case Unit.TIME:
                if isinstance(value, datetime):
                    return value.strftime("%Y-%m-%d %H:%M UTC")
                return str(value)
        return str(value)

    def named(self, pct_decimals: int = 1) -> str:
        """`name=value` (just the value for a figure without a name)."""
        shown = self.render(pct_decimals)
        return f"{self.name}={shown}" if self.name else shown

    def as_json(self) -> Any:
        if isinstance(self.value, datetime):
            return self.value.isoformat()
        if isinstance(self.value, float) and not math.isfinite(self.value):
            return str(self.value)
        return self.value


@dataclass(frozen=True, slots=True)
class Check:
    """One rule's verdict: `value` against `limit`, plus any further evidence."""

    rule: Rule
    passed: bool
    value: Figure
    limit: Figure | None = None
    extra: tuple[Figure, ...] = ()

    @property
    def figures(self) -> tuple[Figure, ...]:
        return (self.value, *((self.limit,) if self.limit else ()), *self.extra)

    @property
    def evidence(self) -> dict[str, Any]:
        """name -> raw value, for tests and the status file."""
        return {f.name: f.value for f in self.figures}

    def message(self) -> str:
        """`CODE: name=value, limit=value, ...` with enough decimals to tell them apart."""
        decimals = _pct_decimals(self.figures)
        shown = ", ".join(f.named(decimals) for f in self.figures)
        return f"{self.rule.value}: {shown}"

    def as_json(self) -> dict[str, Any]:
        """For the status file: the message, the figure and the limit as shown, raw figures."""
        decimals = _pct_decimals(self.figures)
        shown = ", ".join(f.named(decimals) for f in (self.value, *self.extra))
        return {
            "rule": self.rule.value,
            "passed": self.passed,
            "message": self.message(),
            "figure": shown,
            "limit": self.limit.render(decimals) if self.limit else "-",
            "figures": {f.name: f.as_json() for f in self.figures},
        }

    def __str__(self) -> str:
        return self.message()


def _pct_decimals(figures: tuple[Figure, ...]) -> int:
    """1 decimal; more when two different percentages would look equal, or one like 0."""
    values = [f.value for f in figures if f.unit is Unit.PCT and isinstance(f.value, float | int)]
    for decimals in range(1, 5):
        shown = {}
        clash = False
        for v in values:
            text = f"{v * 100:.{decimals}f}"
            if (text in shown and shown[text] != v) or (v and float(text) == 0):
                clash = True
            shown[text] = v
        if not clash:
            return decimals
    return 4
