"""Parity check: every trade of a result replayed through the engine on the same candles.

Each trade's entry, initial stop and amount go into the engine's `replay_candles`,
which shows the engine the candles (the detail timeframe's when the backtest used
`--timeframe-detail`) in the order Freqtrade's backtester does: the open (where a
take-profit may fill), then the high, then the low, and fills each exit at
Freqtrade's price: a stop at the stop price rounded up one tick, at the open when
the candle opens through it, and when a stop moved by the entry candle's high is
hit in that same candle, at Freqtrade's pessimistic price, `max(low, open x stop /
high)`. `simulate --candles` runs the same model. Amounts are truncated to the
amount step Freqtrade kept (the decimals of the trade's own amounts).

A trade matches exactly when the engine's exits have the same tags, amounts, candles
and prices; within one tick when only prices differ, by at most one price tick.
"""

from __future__ import annotations

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
    replay_candles,
)
from profitguard.exit_tags import KILL_TAG, STOP_TAGS
from profitguard.report.records import Fill, TradeRecord

EXACT, WITHIN_TICK, DIFFERS = "exact", "within one tick", "differs"
# the one path the model does not follow: an exit whose price, put on the tick, lies
# outside the candle rests in Freqtrade (fills on a later candle, or times out). The
# engine marks it when it sees it (`CandleTick.rests`); a price a float-noise step
# outside a stored candle that the strategy could not snap (stored with more
# decimals than the exchange's tick) shows as the same exit filled later.
RESTED = "exit order rested in Freqtrade (its price on the tick is outside the candle)"


@dataclass(frozen=True)
class EngineExit:
    tags: tuple[str, ...]
    amount: float
    price: float
    at: datetime | None
    stop_rule: str | None = None  # a stop exit: the rule that set the stop (`stop_rule`)
    rests: bool = False  # its price on the tick lies outside the candle: Freqtrade's rests


@dataclass(frozen=True)
class TradeParity:
    pair: str
    open_date: str
    status: str  # EXACT, WITHIN_TICK or DIFFERS
    cause: str  # why it differs ("" when it matches)
    detail: str
    stop_rule: str | None = None  # matched and closed by a stop: the rule that set it


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


def engine_exits(
    trade: TradeRecord,
    exits: ProtectionConfig,
    candles: Sequence[Candle],
    *,
    amount_step: float | None,
    tick: float | None,
    next_index: Callable[[Position, int], int] | None = None,
) -> tuple[list[EngineExit], bool]:
    """The exits the engine decides on `candles` (the first is the entry candle),
    filled at Freqtrade's prices (`engine.replay_candles`); and whether the position
    is still open after the last candle. `next_index`: see `replay_candles` (the
    sweep skips candles where nothing can happen)."""
    position = open_position(
        exits,
        side="short" if trade.is_short else "long",
        entry=trade.entry,
        initial_stop=trade.initial_stop,
        amount=trade.amount,
        amount_step=amount_step,
    )
    ticks = replay_candles(position, candles, tick=tick, next_index=next_index)
    out = [
        EngineExit(
            t.decision.exit_tags,
            t.decision.exit_amount,
            t.fill,
            t.candle.at,
            t.stop_rule,
            t.rests,
        )
        for t in ticks
        if t.decision.exit_amount and t.fill is not None
    ]
    return out, not (ticks and ticks[-1].decision.position.state.is_closed)


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
    resting = next((e for e in ours if e.rests), None)
    if resting is not None and [(e.tags, e.at) for e in ours] != [
        (_norm_tags(f), f.at) for f in fills
    ]:
        return differs(
            RESTED,
            f"{','.join(resting.tags)} at {resting.at}: {resting.price:.10g} on the tick "
            "lies outside the candle",
        )
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
            late = e.at is not None and f.at is not None and f.at > e.at
            if late and abs(e.price - f.price) <= (tick or 0.0) * (1 + 1e-6):
                # the same order, filled later: it rested, priced a float-noise step off
                # the candle the engine decided on (see RESTED)
                return differs(
                    RESTED,
                    f"{f.tag} at {f.price:.10g}: engine at {e.at}, Freqtrade filled at {f.at}",
                )
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
        **base,
        status=worst,
        cause="",
        detail=f"ended by {ended_by}" if ended_by else "",
        stop_rule=ours[-1].stop_rule if ours else None,
    )


CandleSource = Callable[[str, datetime, datetime], list[Candle]]


def check(
    trades: Sequence[TradeRecord],
    exits: ProtectionConfig,
    candles_for: CandleSource,
    *,
    amount_steps: dict[str, float | None] | None = None,
    ticks: dict[str, float | None] | None = None,
    tick_of: Callable[[TradeRecord], float | None] | None = None,
) -> ParityReport:
    """Replay every trade; `candles_for(pair, open, close)` gives the candles it lived in.
    The price tick of a trade: `tick_of(trade)`, else `ticks[pair]`."""
    report = ParityReport()
    for trade in trades:
        step = (amount_steps or {}).get(trade.pair)
        tick = tick_of(trade) if tick_of is not None else (ticks or {}).get(trade.pair)
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
