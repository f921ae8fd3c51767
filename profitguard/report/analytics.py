"""R analytics of closed trades: pure functions over `TradeRecord`s.

R of a trade is its net profit (exit value - entry value - fees, both sides) over
the risk it opened with (amount x |entry - initial stop|). With the exit ladders in
force (a `ProtectionConfig`) the report also knows each trade's take-profit prices
and stop-ladder locks, so it can say which levels the peak reached and which rule's
stop closed a trade.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from profitguard.engine import (
    ATR_RULE,
    INITIAL_RULE,
    LADDER_RULE,
    TP_RULE,
    TRAIL_RULE,
    Plan,
    ProtectionConfig,
    make_plan,
    one_r,
    rebuild,
    stop_rule,
)
from profitguard.exit_tags import KILL_TAG, STOP_TAGS
from profitguard.report.figures import RSummary, summarize_r
from profitguard.report.records import Fill, TradeRecord

# exit kinds, in the order the report lists them after the take-profit levels
INITIAL_STOP, LADDER_STOP, TRAILING, STOP_MOVED, STOP_NOT_REPLAYED, KILL = (
    "initial stop",
    "ladder stop",
    "trailing stop",
    "moved stop",
    "stop (ATR trail not replayed)",
    "kill switch",
)
# R-distribution bins: (low, high]
R_EDGES = (-math.inf, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0, math.inf)
# the engine's stop rules (`engine.stop_rule`) as the report names them
RULE_KINDS = {
    INITIAL_RULE: INITIAL_STOP,
    LADDER_RULE: LADDER_STOP,
    TP_RULE: LADDER_STOP,  # breakeven or the previous level after a take-profit
    TRAIL_RULE: TRAILING,
    ATR_RULE: TRAILING,
}
# without the ladders, a stop within this share of one R of the initial stop is it
STOP_MATCH_R = 0.005


def plan_of(trade: TradeRecord, exits: ProtectionConfig) -> Plan:
    """The engine's plan for `trade` under `exits` (its level prices and stop locks)."""
    return make_plan(
        exits,
        side="short" if trade.is_short else "long",
        entry=trade.entry,
        initial_stop=trade.initial_stop,
        amount=trade.amount,
    )


def level_numbers(tag: str) -> list[int]:
    return [int(p[2:]) for p in tag.split(",") if p.startswith("tp") and p[2:].isdigit()]


def fill_r(trade: TradeRecord, fill: Fill) -> float:
    """What one exit fill contributed to the trade's R, fees included (the entry fee
    shared by amount), so a trade's fills sum to its R."""
    value_in = fill.amount * trade.entry
    value_out = fill.amount * fill.price
    profit = (
        trade.sign * (value_out - value_in)
        - value_in * trade.fee_open
        - value_out * trade.fee_close
    )
    return profit / trade.risk


def stop_kind(trade: TradeRecord, plan: Plan | None, rule: str | None = None) -> str:
    """Which rule's stop closed `trade`, as the engine knows it: `rule` from the replay
    of the trade on its candles (`parity`), else the engine's stop at the trade's
    peak (Freqtrade's max_rate: it may include the exit candle's high, which a stop
    hit by that candle's low did not see). A run without trailing settings never
    names a trailing stop. Without the ladders: 'moved stop' past the initial."""
    if rule is not None:
        return RULE_KINDS[rule]
    if plan is None:
        stop = trade.stop_at_exit
        tol = STOP_MATCH_R * one_r(entry=trade.entry, initial_stop=trade.initial_stop)
        return INITIAL_STOP if stop is None or abs(stop - trade.initial_stop) <= tol else STOP_MOVED
    if plan.atr_multiple is not None:
        return STOP_NOT_REPLAYED  # the ATR trail's stop depends on every candle's ATR
    best, worst = (
        (trade.min_rate, trade.max_rate) if trade.is_short else (trade.max_rate, trade.min_rate)
    )
    position = rebuild(
        plan, exits=(), best_price=best or trade.entry, worst_price=worst or trade.entry
    )
    return RULE_KINDS[stop_rule(position)]


def exit_kind(trade: TradeRecord, fill: Fill, plan: Plan | None, rule: str | None = None) -> str:
    if fill.tag.startswith("tp"):
        return fill.tag
    if fill.tag in STOP_TAGS:
        return stop_kind(trade, plan, rule)
    if fill.tag == KILL_TAG:
        return KILL
    return fill.tag or "other"


def asked_price(trade: TradeRecord, fill: Fill, plan: Plan | None) -> float | None:
    """The price the engine asked for: a level's price (the highest of a gap), or the
    stop in force; None for exits that ask no price (kill switch, Freqtrade's own)."""
    if fill.tag.startswith("tp"):
        levels = level_numbers(fill.tag)
        if plan is None or not levels or max(levels) > len(plan.tp_x):
            return None
        return plan.tp_prices[max(levels) - 1]
    if fill.tag in STOP_TAGS:
        return trade.stop_at_exit
    return None


@dataclass(frozen=True)
class TradeR:
    """One trade's figures in R."""

    pair: str
    side: str
    open_date: str
    close_date: str
    entry: float
    initial_stop: float
    amount: float
    risk: float  # quote currency
    net_profit: float  # quote currency, fees included
    r: float
    mfe_r: float | None  # best price seen, in R
    mae_r: float | None  # worst price seen, in R
    giveback_r: float | None  # mfe_r - r, for trades that went into profit
    exit_reason: str
    exits: tuple[tuple[str, float, float, float], ...]  # (kind, amount, price, R contributed)
    bot: str | None = None  # the bot whose trade it is (several bots' databases together)


def trade_r(trade: TradeRecord, plan: Plan | None = None, rule: str | None = None) -> TradeR:
    """`trade` in R; `rule`: the engine's rule of its final stop, from the replay."""
    best, worst = (
        (trade.min_rate, trade.max_rate) if trade.is_short else (trade.max_rate, trade.min_rate)
    )
    mfe = trade.r_of_price(best) if best else None
    mae = trade.r_of_price(worst) if worst else None
    r = trade.r
    return TradeR(
        pair=trade.pair,
        side="short" if trade.is_short else "long",
        open_date=trade.open_date.isoformat(),
        close_date=trade.close_date.isoformat(),
        entry=trade.entry,
        initial_stop=trade.initial_stop,
        amount=trade.amount,
        risk=trade.risk,
        net_profit=trade.net_profit,
        r=r,
        mfe_r=mfe,
        mae_r=mae,
        giveback_r=(mfe - r) if mfe is not None and mfe > 0 else None,
        exit_reason=trade.exit_reason,
        exits=tuple(
            (exit_kind(trade, f, plan, rule), f.amount, f.price, fill_r(trade, f))
            for f in trade.exits
        ),
        bot=trade.bot,
    )


@dataclass(frozen=True)
class Summary(RSummary):
    """The report's summary: the one R summary (`figures.RSummary`) and the excursions."""

    avg_mfe_r: float | None = None
    avg_mae_r: float | None = None
    avg_giveback_r: float | None = None


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def summarize(rows: Sequence[TradeR]) -> Summary:
    """The R figures of `rows` (in closing order: `close_order`), from the one summary
    `compare` and `sweep` print too, plus the excursions only a report knows."""
    figures = summarize_r([t.r for t in rows])
    return Summary(
        **{f.name: getattr(figures, f.name) for f in fields(RSummary)},
        avg_mfe_r=_mean([t.mfe_r for t in rows if t.mfe_r is not None]),
        avg_mae_r=_mean([t.mae_r for t in rows if t.mae_r is not None]),
        avg_giveback_r=_mean([t.giveback_r for t in rows if t.giveback_r is not None]),
    )


def distribution(rows: Sequence[TradeR]) -> list[tuple[str, int]]:
    """Trades per R bin, (low, high]."""
    out = []
    for low, high in itertools.pairwise(R_EDGES):
        count = sum(1 for t in rows if low < t.r <= high)
        if low == -math.inf:
            label = f"<= {high:g}R"
        elif high == math.inf:
            label = f"> {low:g}R"
        else:
            label = f"{low:g}R to {high:g}R"
        out.append((label, count))
    return out


@dataclass(frozen=True)
class LevelRow:
    level: str  # "tp1"
    target: str  # "2R" or "+3%" (unknown without the ladders: "")
    reached: int | None  # trades whose peak reached the level (None without the ladders)
    filled: int  # trades with a fill for this level
    fill_rate: float  # filled / trades
    contributed_r: float  # R its fills contributed, over all trades
    per_trade_r: float  # contributed_r / trades


def levels(
    trades: Sequence[TradeRecord], rows: Sequence[TradeR], exits: ProtectionConfig | None
) -> list[LevelRow]:
    """Per take-profit level: how often the peak reached it, how often it filled, and
    what its fills contributed (a gap's fill is shared among its levels by fraction)."""
    n_levels = len(exits.take_profits) if exits is not None else 0
    for row in rows:
        for kind, *_ in row.exits:
            if kind.startswith("tp"):
                n_levels = max(n_levels, *level_numbers(kind))
    n = len(rows)
    out = []
    for k in range(1, n_levels + 1):
        reached = None
        target = ""
        if exits is not None and k <= len(exits.take_profits):
            level = exits.take_profits[k - 1].level
            target = f"{level:g}R" if exits.tp_unit.value == "r" else f"+{level:.2%}"
            reached = 0
            for trade, row in zip(trades, rows, strict=True):
                plan = plan_of(trade, exits)
                if (
                    row.mfe_r is not None
                    and trade.r_of_price(plan.tp_prices[k - 1]) <= row.mfe_r + 1e-9
                ):
                    reached += 1
        filled = 0
        contributed = 0.0
        for row in rows:
            hit = False
            for kind, _amount, _price, r in row.exits:
                numbers = level_numbers(kind) if kind.startswith("tp") else []
                if k in numbers:
                    hit = True
                    if exits is not None and max(numbers) <= len(exits.take_profits):
                        weights = [exits.take_profits[i - 1].fraction for i in numbers]
                        share = exits.take_profits[k - 1].fraction / math.fsum(weights)
                    else:
                        share = 1.0 / len(numbers)
                    contributed += r * share
            filled += hit
        out.append(
            LevelRow(
                level=f"tp{k}",
                target=target,
                reached=reached,
                filled=filled,
                fill_rate=filled / n if n else 0.0,
                contributed_r=contributed,
                per_trade_r=contributed / n if n else 0.0,
            )
        )
    return out


@dataclass(frozen=True)
class KindRow:
    kind: str
    exits: int  # exit orders
    trades: int  # trades with such an exit
    amount_share: float  # of all amount exited
    contributed_r: float
    avg_slippage_r: float | None  # fill vs the asked price, in R (positive: better)
    avg_slippage_pct: float | None  # the same as a ratio of the asked price
    slipped: int  # fills with an asked price measured


def _kind_order(kind: str) -> tuple:
    if kind.startswith("tp"):
        return (0, level_numbers(kind))
    order = [LADDER_STOP, TRAILING, STOP_MOVED, STOP_NOT_REPLAYED, INITIAL_STOP, KILL]
    return (1, order.index(kind)) if kind in order else (2, kind)


def exit_kinds(
    trades: Sequence[TradeRecord], rows: Sequence[TradeR], exits: ProtectionConfig | None
) -> list[KindRow]:
    """Exits by kind (take-profit tags, the stop's rule, kill switch, Freqtrade's own),
    with the slippage of each fill against the price the engine asked for."""
    acc: dict[str, dict] = {}
    total_amount = 0.0
    for trade, row in zip(trades, rows, strict=True):
        plan = plan_of(trade, exits) if exits is not None else None
        seen = set()
        for fill, (kind, amount, _price, r) in zip(trade.exits, row.exits, strict=True):
            a = acc.setdefault(kind, {"exits": 0, "trades": 0, "amount": 0.0, "r": 0.0, "slip": []})
            a["exits"] += 1
            if kind not in seen:
                a["trades"] += 1
                seen.add(kind)
            a["amount"] += amount
            a["r"] += r
            total_amount += amount
            asked = asked_price(trade, fill, plan)
            if asked:
                a["slip"].append(
                    (
                        trade.sign
                        * (fill.price - asked)
                        / one_r(entry=trade.entry, initial_stop=trade.initial_stop),
                        trade.sign * (fill.price / asked - 1.0),
                    )
                )
    return [
        KindRow(
            kind=kind,
            exits=a["exits"],
            trades=a["trades"],
            amount_share=a["amount"] / total_amount if total_amount else 0.0,
            contributed_r=a["r"],
            avg_slippage_r=_mean([s[0] for s in a["slip"]]),
            avg_slippage_pct=_mean([s[1] for s in a["slip"]]),
            slipped=len(a["slip"]),
        )
        for kind, a in sorted(acc.items(), key=lambda kv: _kind_order(kv[0]))
    ]


def per_pair(rows: Sequence[TradeR]) -> list[tuple[str, Summary]]:
    pairs = sorted({t.pair for t in rows})
    return [(p, summarize([t for t in rows if t.pair == p])) for p in pairs]


def per_bot(rows: Sequence[TradeR]) -> list[tuple[str, Summary]]:
    """Each bot's summary (none when the trades carry no bot: one database)."""
    bots = sorted({t.bot for t in rows if t.bot is not None})
    return [(b, summarize([t for t in rows if t.bot == b])) for b in bots]


def as_dict(value) -> dict:
    return asdict(value)


@dataclass(frozen=True)
class LevelShortfall:
    """What filling each take-profit at the next open, rather than at its level, cost."""

    level: str  # "tp1"
    fills: int
    shortfall_r: float  # sum over the fills of (level - fill price) in R; + means a cost


def take_profit_shortfall(
    trades: Sequence[TradeRecord], exits: ProtectionConfig, unit_of=None
) -> list[LevelShortfall]:
    """Per level, the R its fills gave up against fills at the level's own price (a
    resting limit order's). A gap's fill is counted at its highest level's price, the
    price the engine asked for. `unit_of(trade)`: the trade's R unit in money (default:
    its own risk)."""
    acc: dict[int, list[float]] = {}
    for trade in trades:
        plan = plan_of(trade, exits)
        unit = unit_of(trade) if unit_of is not None else trade.risk
        for fill in trade.exits:
            asked = asked_price(trade, fill, plan) if fill.tag.startswith("tp") else None
            if asked is None:
                continue
            level = max(level_numbers(fill.tag))
            acc.setdefault(level, []).append(trade.sign * (asked - fill.price) * fill.amount / unit)
    return [LevelShortfall(f"tp{k}", len(v), math.fsum(v)) for k, v in sorted(acc.items())]
