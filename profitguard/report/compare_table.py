"""The A/B table of `profitguard compare`: each policy's trades in R against one
reference risk, so policies are comparable.

R of a trade = its net profit (fees included) / (amount x |entry - reference
initial stop|), where the reference stop is the one the strategy's own exits
opened the same entry with (its 2-ATR or configured initial stop): a policy with
a tighter fixed stop does not get a smaller R unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from profitguard.report.analytics import max_drawdown
from profitguard.report.records import TradeRecord

TradeKey = tuple[str, int, bool]


def key(trade: TradeRecord) -> TradeKey:
    return (trade.pair, int(trade.open_date.timestamp()), trade.is_short)


def policy_figures(
    name: str,
    description: str,
    records: Sequence[TradeRecord],
    reference: dict[TradeKey, float],
    stats: dict,
) -> dict:
    """One policy's row: R against `reference` stops, profit and drawdown from Freqtrade."""
    ordered = sorted(records, key=lambda t: (t.close_date, t.open_date, t.pair))
    rs = []
    missing = 0
    for t in ordered:
        stop = reference.get(key(t))
        if stop is None:
            missing += 1
            continue
        rs.append(t.net_profit / (t.amount * abs(t.entry - stop)))
    wins = [r for r in rs if r > 0]
    losses = -math.fsum(r for r in rs if r <= 0)
    ratios = [
        t.net_profit / (t.amount * t.entry) for t in ordered
    ]  # each trade's return on its stake
    return {
        "name": name,
        "description": description,
        "entries": len({key(t) for t in records}),
        "trades": len(records),
        "unmatched_entries": missing,
        "win_rate": len(wins) / len(rs) if rs else 0.0,
        "expectancy_r": math.fsum(rs) / len(rs) if rs else 0.0,
        "total_r": math.fsum(rs),
        "profit_abs": math.fsum(t.net_profit for t in ordered),
        "profit_pct": math.fsum(ratios),
        "max_drawdown": max_drawdown(rs),
        "max_drawdown_abs": stats.get("max_drawdown_abs"),
        "profit_factor": math.fsum(wins) / losses if losses > 0 else None,
        "r_values": rs,
    }


def table_rows(policies: Sequence[dict], currency: str = "") -> tuple[tuple[str, ...], list]:
    headers = (
        "Policy",
        "Entries",
        "Trades",
        "Win rate",
        "Expectancy R",
        "Total R",
        f"Profit {currency}".strip(),
        "Profit % (sum of trades)",
        "Max DD (R)",
        "Profit factor (R)",
    )
    rows = [
        (
            p["name"],
            str(p["entries"]),
            str(p["trades"]),
            f"{p['win_rate']:.1%}",
            f"{p['expectancy_r']:+.3f}",
            f"{p['total_r']:+.2f}",
            f"{p['profit_abs']:,.2f}",
            f"{p['profit_pct']:+.2%}",
            f"{p['max_drawdown']:.2f}",
            "-" if p["profit_factor"] is None else f"{p['profit_factor']:.2f}",
        )
        for p in policies
    ]
    return headers, rows
