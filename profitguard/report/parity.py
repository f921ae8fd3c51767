"""Parity check: every trade of a result replayed through the engine on the same candles.

Each trade's entry, initial stop and amount go into the engine's `replay_candles`,
which shows the engine the candles (the detail timeframe's when the backtest used
`--timeframe-detail`) in the order Freqtrade's backtester does: the open (where a
take-profit may fill), then the high, then the low. Freqtrade's own fill rules are
modelled on top: a stop fills at the stop price rounded up one tick, at the open
when the candle opens through it, and when a stop moved by the entry candle's high
is hit in that same candle, at Freqtrade's pessimistic price, `max(low, open x
stop / high)`. Amounts are truncated to the amount step Freqtrade kept (the
decimals of the trade's own amounts).

A trade matches exactly when the engine's exits have the same tags, amounts, candles
and prices; within one tick when only prices differ, by at most one price tick.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from profitguard.engine import (
    STOP_TAG,
    Candle,
    Position,
    ProtectionConfig,
    make_plan,
    open_position,
    step,
)
from profitguard.exit_tags import KILL_TAG, STOP_TAGS
from profitguard.report.records import Fill, TradeRecord

EXACT, WITHIN_TICK, DIFFERS = "exact", "within one tick", "differs"


@dataclass(frozen=True)
class EngineExit:
    tags: tuple[str, ...]
    amount: float
    price: float
    at: datetime | None


@dataclass(frozen=True)
class TradeParity:
    pair: str
    open_date: str
    status: str  # EXACT, WITHIN_TICK or DIFFERS
    cause: str  # why it differs ("" when it matches)
    detail: str


@dataclass
class ParityReport:
    trades: list[TradeParity] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for t in self.trades if t.status == status)

    def causes(self) -> list[tuple[str, int, TradeParity]]:
        """(cause, trades, an example), most frequent first."""
        groups: dict[str, list[TradeParity]] = {}
        for t in self.trades:
            if t.status == DIFFERS:
                groups.setdefault(t.cause, []).append(t)
        return sorted(
            ((c, len(ts), ts[0]) for c, ts in groups.items()), key=lambda g: (-g[1], g[0])
        )

    def to_json(self) -> dict:
        n = len(self.trades)
        return {
            "trades": n,
            "exact": self.count(EXACT),
            "within_one_tick": self.count(WITHIN_TICK),
            "differ": self.count(DIFFERS),
            "causes": [
                {
                    "cause": c,
                    "trades": k,
                    "example": {"pair": e.pair, "open_date": e.open_date, "detail": e.detail},
                }
                for c, k, e in self.causes()
            ],
        }


def decimals_of(values: Sequence[float]) -> int:
    """The most decimals any value needs (up to 12): Freqtrade rounds to a step."""
    most = 0
    for v in values:
        text = f"{v:.12f}".rstrip("0")
        most = max(most, len(text.split(".")[1]) if "." in text else 0)
    return most


def _round_to(price: float, tick: float, up: bool) -> float:
    n = price / tick
    n = math.ceil(n - 1e-9) if up else math.floor(n + 1e-9)
    return n * tick


def engine_exits(
    trade: TradeRecord,
    exits: ProtectionConfig,
    candles: Sequence[Candle],
    *,
    amount_step: float | None,
    tick: float | None,
    next_index: Callable[[Position, int], int] | None = None,
) -> tuple[list[EngineExit], bool]:
    """The exits the engine decides on `candles`, filled at Freqtrade's prices; and
    whether the position is still open after the last candle.

    The candle order is `replay_candles`'s (open, then the high, then the low); the
    stop Freqtrade holds is the engine's rounded up to the price tick (down for a
    short), so a low between the two stops the trade in Freqtrade.

    `next_index(position, i)` (the research sweep's) names the next candle after
    candle `i` in which anything can happen to `position` (the candles between are
    no-ops for its exits); default: every candle."""
    side = "short" if trade.is_short else "long"
    position = open_position(
        exits,
        side=side,
        entry=trade.entry,
        initial_stop=trade.initial_stop,
        amount=trade.amount,
        amount_step=amount_step,
    )
    sign = position.plan.sign
    out: list[EngineExit] = []

    def held(stop: float) -> float:
        return _round_to(stop, tick, up=sign > 0) if tick else stop

    first = candles[0].at if len(candles) else None
    i, count = 0, len(candles)
    while i < count:
        candle = candles[i]
        best, worst = (candle.low, candle.high) if sign < 0 else (candle.high, candle.low)
        d = step(position, candle.open, candle.at, fire_take_profits=True)
        position = d.position
        if d.exit_amount:
            out.append(EngineExit(d.exit_tags, d.exit_amount, candle.open, candle.at))
            if position.state.is_closed:
                return out, False
        for observe in (True, False):
            stop = position.stop
            if sign * worst <= sign * held(stop):  # Freqtrade's stop is hit in this candle
                d = step(position, stop, candle.at, fire_take_profits=False)
                price = held(stop)
                moved = abs(stop - trade.initial_stop) > 1e-12 * trade.entry
                if candle.at == first and moved:  # Freqtrade's pessimistic entry-candle fill
                    pessimistic = candle.open * stop / best
                    price = max(worst, pessimistic) if sign > 0 else min(worst, pessimistic)
                out.append(EngineExit(d.exit_tags, d.exit_amount, price, candle.at))
                return out, False
            if observe:  # the high (low for a short), seen by custom_stoploss
                position = step(position, best, candle.at, fire_take_profits=False).position
        position = step(position, worst, candle.at, fire_take_profits=False).position
        i = i + 1 if next_index is None else next_index(position, i)
    return out, True


def _norm_tags(fill: Fill) -> tuple[str, ...]:
    if fill.tag in STOP_TAGS:
        return (STOP_TAG,)
    return tuple(fill.tag.split(","))


def compare_trade(
    trade: TradeRecord,
    ours: list[EngineExit],
    still_open: bool,
    *,
    tick: float | None,
    amount_step: float | None,
) -> TradeParity:
    """How the engine's exits compare with the trade's fills."""
    fills = list(trade.exits)
    ended_by = None
    if fills and fills[-1].tag not in STOP_TAGS and not fills[-1].tag.startswith("tp"):
        ended_by = fills.pop().tag  # force_exit, kill_switch, exit_signal…: not an engine exit
    base = {"pair": trade.pair, "open_date": trade.open_date.isoformat()}

    def differs(cause: str, detail: str) -> TradeParity:
        return TradeParity(**base, status=DIFFERS, cause=cause, detail=detail)

    if ended_by is not None:
        cut = fills[-1].at if fills else None
        close = trade.close_date
        ours = [e for e in ours if e.at is None or e.at < close]
        if cut is not None and ended_by == KILL_TAG:
            ours = [e for e in ours if e.at is None or e.at <= cut]
    if len(ours) != len(fills):
        return differs(
            "exit count differs",
            f"engine {[(','.join(e.tags), str(e.at)) for e in ours]} vs "
            f"Freqtrade {[(f.tag, str(f.at)) for f in fills]}",
        )
    worst = EXACT
    for e, f in zip(ours, fills, strict=True):
        if e.tags != _norm_tags(f):
            return differs(
                "exit tags differ", f"engine {','.join(e.tags)} vs Freqtrade {f.tag} at {f.at}"
            )
        if e.at != f.at:
            return differs("exit candle differs", f"{f.tag}: engine at {e.at}, Freqtrade at {f.at}")
        step = amount_step or 0.0
        if abs(e.amount - f.amount) > max(step * 0.5, 1e-9 * f.amount):
            return differs(
                "exit amount differs",
                f"{f.tag} at {f.at}: engine {e.amount:.10g}, Freqtrade {f.amount:.10g}",
            )
        gap = abs(e.price - f.price)
        if gap > 1e-9 * f.price:
            if tick and gap <= tick * (1 + 1e-6):
                worst = WITHIN_TICK
            else:
                return differs(
                    "exit price differs by more than a tick",
                    f"{f.tag} at {f.at}: engine {e.price:.10g}, Freqtrade {f.price:.10g}",
                )
    if ended_by is None and still_open:
        return differs("engine still open at the close", f"Freqtrade closed at {trade.close_date}")
    return TradeParity(
        **base, status=worst, cause="", detail=f"ended by {ended_by}" if ended_by else ""
    )


CandleSource = Callable[[str, datetime, datetime], list[Candle]]


def check(
    trades: Sequence[TradeRecord],
    exits: ProtectionConfig,
    candles_for: CandleSource,
    *,
    amount_steps: dict[str, float | None] | None = None,
    ticks: dict[str, float | None] | None = None,
) -> ParityReport:
    """Replay every trade; `candles_for(pair, open, close)` gives the candles it lived in."""
    report = ParityReport()
    for trade in trades:
        step = (amount_steps or {}).get(trade.pair)
        tick = (ticks or {}).get(trade.pair)
        if exits.trail_atr_multiple is not None:
            report.trades.append(
                TradeParity(
                    trade.pair,
                    trade.open_date.isoformat(),
                    DIFFERS,
                    "ATR trailing is not replayed (needs the ATR of every candle)",
                    "",
                )
            )
            continue
        candles = candles_for(trade.pair, trade.open_date, trade.close_date)
        if not candles:
            report.trades.append(
                TradeParity(
                    trade.pair, trade.open_date.isoformat(), DIFFERS, "no candles for the trade", ""
                )
            )
            continue
        try:
            make_plan(
                exits,
                side="short" if trade.is_short else "long",
                entry=trade.entry,
                initial_stop=trade.initial_stop,
                amount=trade.amount,
            )
            ours, still_open = engine_exits(trade, exits, candles, amount_step=step, tick=tick)
        except ValueError as exc:
            report.trades.append(
                TradeParity(
                    trade.pair,
                    trade.open_date.isoformat(),
                    DIFFERS,
                    "engine refused the trade",
                    str(exc),
                )
            )
            continue
        report.trades.append(compare_trade(trade, ours, still_open, tick=tick, amount_step=step))
    return report
