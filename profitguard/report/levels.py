"""Exits by level, from Freqtrade's own backtest results.

Freqtrade's report groups trades by their final exit reason only; profitguard's
partial exits live in each trade's `orders`, tagged `tp1`, `tp2`, … (`tp1,tp2` for a
gap). This table counts every exit order by what closed it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Freqtrade's labels for a stop exit (profitguard's stop, however Freqtrade names it)
STOP_LABELS = frozenset({"stop", "stop_loss", "trailing_stop_loss"})


@dataclass(frozen=True)
class LevelRow:
    exit: str  # "tp1", "tp1,tp2", "stop", or Freqtrade's reason ("force_exit", …)
    orders: int
    share_of_amount: float  # of all amount exited
    avg_move: float  # mean (exit price / entry - 1), signed for the side; a ratio
    profit: float  # quote currency, fees excluded


def _label(tag: str | None) -> str:
    if not tag:
        return "untagged"
    return "stop" if tag in STOP_LABELS else tag


def _order_key(label: str) -> tuple:
    if label.startswith("tp"):
        return (0, [int(p[2:]) for p in label.split(",") if p[2:].isdigit()])
    return (1 if label == "stop" else 2, label)


def exits_by_level(trades: Iterable[Mapping[str, Any]]) -> list[LevelRow]:
    """One row per exit label over all trades' exit orders, take-profits first."""
    counts: dict[str, list[float]] = {}
    total_amount = 0.0
    for trade in trades:
        sign = -1.0 if trade.get("is_short") else 1.0
        entry = float(trade["open_rate"])
        for order in trade.get("orders", []):
            if order.get("ft_is_entry"):
                continue
            amount, price = float(order["amount"]), float(order["safe_price"])
            move = sign * (price / entry - 1.0)
            row = counts.setdefault(_label(order.get("ft_order_tag")), [0, 0.0, 0.0, 0.0])
            row[0] += 1
            row[1] += amount * entry
            row[2] += move
            row[3] += sign * (price - entry) * amount
            total_amount += amount * entry
    return [
        LevelRow(
            exit=label,
            orders=int(n),
            share_of_amount=(value / total_amount) if total_amount else 0.0,
            avg_move=moves / n,
            profit=profit,
        )
        for label, (n, value, moves, profit) in sorted(
            counts.items(), key=lambda kv: _order_key(kv[0])
        )
    ]


def render(rows: list[LevelRow], currency: str = "") -> str:
    header = ("exit", "orders", "share of size", "avg move", f"profit {currency}".strip())
    body = [
        (
            r.exit,
            str(r.orders),
            f"{r.share_of_amount:.1%}",
            f"{r.avg_move:+.2%}",
            f"{r.profit:,.2f}",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    lines = [
        "  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in (header, *body)
    ]
    return "\n".join(lines)
