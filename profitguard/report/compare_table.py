"""The A/B table of `profitguard compare`: each policy's trades in R against one
reference risk, and in money, side by side.

R of a trade = its net profit (fees included) / (amount x |entry - reference
initial stop|), where the reference stop is the one the strategy's own exits
opened the same entry with (its 2-ATR or configured initial stop): a policy with
a tighter fixed stop does not get a smaller R unit. `compare` sizes every entry so
that this R unit is the same money for every trade of every policy, so money is R
times that unit (up to the amount step) and the two rank policies alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict

from profitguard.engine import one_r
from profitguard.report.figures import TradeKey, close_order, r_against, summarize_r, trade_key
from profitguard.report.records import TradeRecord


def policy_figures(
    name: str,
    description: str,
    records: Sequence[TradeRecord],
    reference: dict[TradeKey, float],
) -> dict:
    """One policy's row: R against `reference` stops, and money, from the one summary."""
    ordered = close_order(records)
    matched = [(t, reference[trade_key(t)]) for t in ordered if trade_key(t) in reference]
    rs = [r_against(t, stop) for t, stop in matched]
    money = [t.net_profit for t, _ in matched]
    figures = summarize_r(rs, money)
    units = [one_r(entry=t.entry, initial_stop=stop, amount=t.amount) for t, stop in matched]
    return {
        "name": name,
        "description": description,
        "entries": len({trade_key(t) for t in records}),
        "trades": len(records),
        "unmatched_entries": len(ordered) - len(matched),
        **{k: v for k, v in asdict(figures).items() if k not in ("trades", "max_drawdown_r")},
        "max_drawdown": figures.max_drawdown_r,
        "money_disagrees": figures.disagrees,
        "risk_per_trade_abs": math.fsum(units) / len(units) if units else None,
        "profit_pct": math.fsum(t.net_profit / (t.amount * t.entry) for t in ordered),
        "r_values": rs,
    }


def table_rows(policies: Sequence[dict], currency: str = "") -> tuple[tuple[str, ...], list]:
    money = currency.strip() or "money"
    headers = (
        "Policy",
        "Entries",
        "Trades",
        "Win rate",
        "Expectancy R",
        "Total R",
        f"Profit {money}",
        "Profit factor (R)",
        f"Profit factor ({money})",
        "Max DD (R)",
        f"Max DD ({money})",
    )

    def num(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    rows = [
        (
            p["name"] + (" (!)" if p.get("money_disagrees") else ""),
            str(p["entries"]),
            str(p["trades"]),
            f"{p['win_rate']:.1%}",
            f"{p['expectancy_r']:+.3f}",
            f"{p['total_r']:+.2f}",
            num(p.get("profit_abs"), "+,.2f"),
            num(p["profit_factor"], ".2f"),
            num(p.get("profit_factor_abs"), ".2f"),
            f"{p['max_drawdown']:.2f}",
            num(p.get("max_drawdown_abs"), ",.2f"),
        )
        for p in policies
    ]
    return headers, rows


def verdict(policies: Sequence[dict]) -> list[str]:
    """The lines under the table that name the best policy: by expectancy in R, and
    by money when that is another policy; a sign of R and money that disagree is said."""
    if not policies:
        return []
    best = max(policies, key=lambda p: p["expectancy_r"])
    lines = [f"highest expectancy: {best['name']} ({best['expectancy_r']:+.3f} R per trade)"]
    for p in policies:
        if p.get("money_disagrees"):
            lines.append(
                f"(!) {p['name']}: R and money disagree in sign ({p['total_r']:+.2f} R, "
                f"{p['profit_abs']:+,.2f} in money): its trades did not risk the same money "
                "per R, so neither figure alone says whether it made money"
            )
    if all(p.get("profit_abs") is not None for p in policies):
        richest = max(policies, key=lambda p: p["profit_abs"])
        if richest is not best:
            lines.append(
                f"most money: {richest['name']} ({richest['profit_abs']:+,.2f}), not the "
                "policy with the highest expectancy in R"
            )
    return lines


def tp_fill_note(shortfall: Sequence, trades: int, policies: Sequence[dict]) -> str:
    """The line beside the table on how a backtest fills take-profits, with what it
    cost the strategy's own ladder in this run (`analytics.take_profit_shortfall`)."""
    text = (
        "Take-profits: a backtest fills each at the open of the candle after the high "
        "crossed its level (Freqtrade asks adjust_trade_position only at a candle's "
        "open), where Freqtrade's ROI and a resting limit order would fill at the level. "
        "profitguard does not offer resting limit take-profits (exits.tp_orders: "
        '"limit"): see docs/backtest-fills.md.'
    )
    if not shortfall or not trades:
        return text
    per_trade = math.fsum(s.shortfall_r for s in shortfall) / trades
    levels = ", ".join(
        f"{s.level} {s.shortfall_r / s.fills:+.3f} R a fill ({s.fills})" for s in shortfall
    )
    if per_trade > 0:
        text += (
            f" In this run the strategy's ladder gave up {per_trade:.3f} R per trade to "
            f"next-open fills against fills at the level ({levels})"
        )
    else:
        text += (
            f" In this run next-open fills gained the strategy's ladder {-per_trade:.3f} R "
            f"per trade over fills at the level ({levels})."
        )
        return text
    own = policies[0]
    others = [p for p in policies[1:] if p["expectancy_r"] > own["expectancy_r"]]
    if others:
        best = max(others, key=lambda p: p["expectancy_r"])
        gap = best["expectancy_r"] - own["expectancy_r"]
        text += f": {per_trade / gap:.1%} of its {gap:.3f} R per trade behind {best['name']}"
    return text + "."
