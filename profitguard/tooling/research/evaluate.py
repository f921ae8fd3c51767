"""One ladder over recorded entries: the engine's exits at Freqtrade's prices, in R.

Each entry is replayed by `report.parity.engine_exits`, the engine's `step` in
Freqtrade's backtest order with Freqtrade's fill rules on top (what `report
--check` compares backtests with), so the sweep applies no rule of its own. A
trade still open at the backtest's last candle is closed at that candle's open,
as Freqtrade closes trades left open at the end of a backtest.

Two shortcuts make it fast; neither decides an exit:
- Between two candles where something can happen the engine only watches.
  After each candle `next_event` finds, with numpy over the entry's path, the
  next candle whose best price reaches a level, a stop-ladder trigger or the
  trailing threshold (any new peak once trailing is armed), or whose worst price
  reaches the stop held; the candles between are skipped.
- An entry whose best price, until the initial stop takes it out (or the data
  ends), stays below everything the ladder could act on ends the same way under
  every ladder: the engine's outcome without ladders, replayed once per entry
  (`Prepared`), is reused. Which entries qualify is found for all entries at once
  with numpy, with a margin that only ever sends more entries to the engine.
The property tests (tests/property/test_sweep_evaluator.py) run random ladders
over random paths with and without both and require identical exits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from profitguard.engine import NO_LADDERS, LevelUnit, Position, ProtectionConfig, levels_reached
from profitguard.report.figures import r_against
from profitguard.report.parity import EngineExit, engine_exits
from profitguard.report.records import Fill, TradeRecord
from profitguard.tooling.research.paths import EntryPath, at_ms

FORCE_EXIT = "force_exit"
_FIRST_CHUNK = 16
# how far below a threshold (in R) an entry's peak must stay to skip the engine
_MARGIN_R = 1e-6


@dataclass(frozen=True)
class TradeOutcome:
    """One entry under one ladder; exit times (`EngineExit.at`) in ms."""

    exits: tuple[EngineExit, ...]
    close_ms: int
    r: float  # net of fees, against the entry's recorded initial stop


def _first(mask_of: Callable[[int, int], np.ndarray], start: int, n: int) -> int:
    """The first index >= start where mask_of(lo, hi) is true; n when none. Looks at
    a few candles first, then ever larger chunks (most events come soon)."""
    size = _FIRST_CHUNK
    while start < n:
        end = min(n, start + size)
        mask = mask_of(start, end)
        k = int(mask.argmax())
        if mask[k]:
            return start + k
        start = end
        size *= 8
    return n


def next_event(path: EntryPath) -> Callable[[Position, int], int]:
    """`engine_exits`' `next_index` for `path`: the next candle after `i` where the
    position can exit, or its stop can move other than by trailing.

    Once trailing is armed every new peak raises the stop, but only the highest
    peak before the next exit check matters (the stop follows the best price so
    far): the candles up to the next one whose worst price reaches the highest
    stop trailing could have reached by then are skipped, except the one holding
    their highest peak, which is replayed first."""
    best_x, worst_x, tick = path.best_x, path.worst_x, path.tick or 0.0
    n = len(best_x)

    def next_index(position: Position, i: int) -> int:
        if i + 1 >= n:
            return n
        plan = position.plan
        reached = levels_reached(position)
        if plan.atr_multiple is not None or reached > position.levels_filled:
            return i + 1  # ATR trailing moves with every candle; a level waits for the open
        best = position.best_x
        up = math.inf
        if reached < len(plan.tp_x):
            up = plan.tp_x[reached] - plan.tol
        for trigger in plan.ladder_trigger_x:
            if trigger - plan.tol > best:
                up = min(up, trigger - plan.tol)
                break
        factor = plan.trail_factor
        if factor is not None and best < plan.trail_activation_x - plan.tol:
            up = min(up, plan.trail_activation_x - plan.tol)
            factor = None  # not armed: reaching the activation is an event
        up -= abs(up) * 1e-9 if math.isfinite(up) else 0.0
        stop_x = position.stop_x
        if factor is None:
            down = stop_x + tick + abs(stop_x) * 1e-9
            return _first(lambda lo, hi: (best_x[lo:hi] >= up) | (worst_x[lo:hi] <= down), i + 1, n)
        peak = [best]

        def trailing_mask(lo: int, hi: int) -> np.ndarray:
            highest = np.maximum(np.maximum.accumulate(best_x[lo:hi]), peak[0])
            peak[0] = float(highest[-1])
            stop = np.maximum(highest * factor, stop_x)
            return (best_x[lo:hi] >= up) | (worst_x[lo:hi] <= stop + tick + np.abs(stop) * 1e-9)

        k = _first(trailing_mask, i + 1, n)
        if i + 1 < k < n:
            m = i + 1 + int(best_x[i + 1 : k].argmax())
            if best_x[m] > best:
                return m  # the highest peak before the event: the stop it sets
        return k

    return next_index


class _Opened:
    """What `engine_exits` reads of a trade: side, entry, the stop it opens with, amount."""

    __slots__ = ("amount", "entry", "initial_stop", "is_short")

    def __init__(self, is_short: bool, entry: float, initial_stop: float, amount: float) -> None:
        self.is_short = is_short
        self.entry = entry
        self.initial_stop = initial_stop
        self.amount = amount


def outcome(
    path: EntryPath,
    config: ProtectionConfig,
    *,
    stop_ratio: float | None = None,
    skip: bool = True,
) -> TradeOutcome:
    """The entry of `path` under `config`. `stop_ratio` opens it with a fixed stop that
    far from the entry instead of the strategy's (R stays measured against the
    strategy's). `skip=False` replays every candle (the reference the tests use)."""
    e = path.entry
    stop = e.initial_stop
    if stop_ratio is not None:
        stop = e.price * (1 + stop_ratio if e.is_short else 1 - stop_ratio)
    exits, still_open = engine_exits(
        _Opened(e.is_short, e.price, stop, e.amount),  # type: ignore[arg-type]
        config,
        path.candles,
        amount_step=path.amount_step,
        tick=path.tick,
        next_index=next_event(path) if skip else None,
    )
    if still_open:
        left = e.amount - math.fsum(x.amount for x in exits)
        if left > 1e-12 * e.amount:
            exits.append(EngineExit((FORCE_EXIT,), left, path.last_open, path.last_ms))  # type: ignore[arg-type]
    close_ms = int(exits[-1].at) if exits else path.last_ms  # type: ignore[arg-type]
    return TradeOutcome(tuple(exits), close_ms, trade_r(path, exits))


@dataclass(frozen=True)
class Prepared:
    """Per entry, once: the outcome without ladders and the best signed price until
    it closed; and the entries' prices and risks as arrays."""

    paths: Sequence[EntryPath]
    plain: list[TradeOutcome]
    peak_x: np.ndarray
    sign: np.ndarray
    entry: np.ndarray
    risk: np.ndarray  # one R in price (> 0)


def prepare(paths: Sequence[EntryPath]) -> Prepared:
    plain, peaks = [], []
    for p in paths:
        o = outcome(p, NO_LADDERS)
        last = int(np.searchsorted(p.candles_ms, o.close_ms, side="right"))
        peaks.append(float(p.best_x[: max(last, 1)].max()))
        plain.append(o)
    sign = np.array([-1.0 if p.entry.is_short else 1.0 for p in paths])
    entry = np.array([p.entry.price for p in paths])
    stop = np.array([p.entry.initial_stop for p in paths])
    return Prepared(paths, plain, np.array(peaks), sign, entry, np.abs(entry - stop))


def lowest_threshold_x(config: ProtectionConfig, prep: Prepared) -> np.ndarray:
    """Per entry, a signed price at or below the lowest one at which `config` can
    take profit or move its stop (the first level, the first ladder trigger, the
    price from which trailing would raise the stop)."""
    entry_x = prep.sign * prep.entry
    initial_x = entry_x - prep.risk
    low = np.full(len(entry_x), np.inf)
    if config.take_profits:
        level = config.take_profits[0].level
        if config.tp_unit is LevelUnit.R:
            low = np.minimum(low, entry_x + level * prep.risk)
        else:
            low = np.minimum(low, entry_x + level * prep.entry)
    if config.stop_ladder:
        low = np.minimum(low, entry_x + config.stop_ladder[0].trigger_r * prep.risk)
    if config.trail_pct is not None:
        factor = 1.0 - prep.sign * config.trail_pct
        activation = entry_x + config.trail_activation_pct * prep.entry
        low = np.minimum(low, np.maximum(activation, initial_x / factor))
    if config.trail_atr_multiple is not None:
        low = np.minimum(low, entry_x)
    finite = np.isfinite(low)
    return np.where(
        finite, low - _MARGIN_R * prep.risk - 1e-12 * np.abs(np.where(finite, low, 0.0)), low
    )


def outcomes(
    config: ProtectionConfig, prep: Prepared, stop_ratio: float | None = None
) -> list[TradeOutcome]:
    """Every prepared entry under `config`."""
    if stop_ratio is not None:
        return [outcome(p, config, stop_ratio=stop_ratio) for p in prep.paths]
    plain = prep.peak_x < lowest_threshold_x(config, prep)
    return [prep.plain[j] if plain[j] else outcome(p, config) for j, p in enumerate(prep.paths)]


def record_of(path: EntryPath, exits: Sequence[EngineExit]) -> TradeRecord:
    """The trade as `report` and `compare` read one (their R and figures apply)."""
    e = path.entry
    return TradeRecord(
        pair=e.pair,
        is_short=e.is_short,
        open_date=at_ms(e.open_ms),
        close_date=at_ms(int(exits[-1].at) if exits else path.last_ms),  # type: ignore[arg-type]
        entry=e.price,
        amount=e.amount,
        initial_stop=e.initial_stop,
        fee_open=e.fee_open,
        fee_close=e.fee_close,
        exits=tuple(Fill(",".join(x.tags), x.amount, x.price, None) for x in exits),
        exit_reason=",".join(exits[-1].tags) if exits else "",
        stop_at_exit=None,
        max_rate=None,
        min_rate=None,
    )


def trade_r(path: EntryPath, exits: Sequence[EngineExit]) -> float:
    """R as `compare` measures it (`report.figures.r_against`): net profit, fees both
    sides, over amount x |entry - the strategy's initial stop|."""
    return r_against(record_of(path, exits), path.entry.initial_stop)
