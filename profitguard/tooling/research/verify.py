"""Check the sweep against Freqtrade: a configuration re-run as a real backtest.

The configuration becomes a parameters file for the strategy, run the way
`compare --params` runs one (a thin subclass of the strategy, the same
identical-entries settings), and every trade is compared with the sweep's
evaluation of the same entry: the same exits (tags, candles, amounts within half
an amount step), every exit price within one price tick, R within 1e-6.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profitguard.engine import STOP_TAG
from profitguard.exit_tags import STOP_TAGS
from profitguard.report.figures import TradeKey, r_against, trade_key
from profitguard.report.records import TradeRecord
from profitguard.tooling.research.evaluate import TradeOutcome
from profitguard.tooling.research.paths import EntryPath, at_ms
from profitguard.tooling.research.recording import (
    BacktestSetup,
    all_trades,
    policy_strategy,
    run_backtest,
)
from profitguard.tooling.research.space import params_file

R_TOLERANCE = 1e-6


@dataclass
class Verified:
    params: dict[str, Any]
    trades: int
    identical: bool
    max_r_diff: float
    differences: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "params": self.params,
            "trades": self.trades,
            "identical": self.identical,
            "max_r_diff": self.max_r_diff,
        }


def _tags(tag: str) -> tuple[str, ...]:
    return (STOP_TAG,) if tag in STOP_TAGS else tuple(tag.split(","))


def compare_trades(
    paths: Sequence[EntryPath], ours: Sequence[TradeOutcome], theirs: Sequence[TradeRecord]
) -> tuple[bool, float, list[str]]:
    """(identical, largest R difference, what differs) of the sweep's outcomes on
    `paths` against Freqtrade's trades."""
    by_key: dict[TradeKey, list[TradeRecord]] = {}
    for t in theirs:
        by_key.setdefault(trade_key(t), []).append(t)
    diffs: list[str] = []
    worst = 0.0
    for path, o in zip(paths, ours, strict=True):
        e = path.entry
        found = by_key.get((e.pair, e.open_ms, e.is_short))
        where = f"{e.pair} {at_ms(e.open_ms):%Y-%m-%d %H:%M}"
        if not found:
            diffs.append(f"{where}: no such trade in the backtest")
            continue
        t = found.pop(0)
        r = r_against(t, e.initial_stop)
        worst = max(worst, abs(r - o.r))
        if abs(r - o.r) > R_TOLERANCE:
            diffs.append(f"{where}: R {o.r:+.6f} swept vs {r:+.6f} backtested")
        if len(t.exits) != len(o.exits):
            diffs.append(
                f"{where}: exits {[','.join(x.tags) for x in o.exits]} swept vs "
                f"{[f.tag for f in t.exits]} backtested"
            )
            continue
        tick = path.tick or 0.0
        step = path.amount_step or 0.0
        for x, f in zip(o.exits, t.exits, strict=True):
            at = at_ms(int(x.at))  # type: ignore[arg-type]
            if x.tags != _tags(f.tag) or at != f.at:
                diffs.append(f"{where}: {','.join(x.tags)} at {at} swept vs {f.tag} at {f.at}")
            elif abs(x.amount - f.amount) > max(step / 2, 1e-9 * f.amount):
                diffs.append(f"{where}: {f.tag} amount {x.amount:.10g} vs {f.amount:.10g}")
            elif abs(x.price - f.price) > tick * (1 + 1e-6) + 1e-9 * f.price:
                diffs.append(f"{where}: {f.tag} price {x.price:.10g} vs {f.price:.10g}")
    extra = sum(len(v) for v in by_key.values())
    if extra:
        diffs.append(f"{extra} backtest trade(s) with no recorded entry")
    return not diffs, worst, diffs


def verify(
    setup: BacktestSetup,
    strategy: str,
    strategy_file: Path,
    chosen: Sequence[tuple[int, dict[str, Any]]],
    paths: Sequence[EntryPath],
    outcomes_of,
    workdir: Path,
    say=print,
) -> list[Verified]:
    """Re-run each (index, params) of `chosen` as a Freqtrade backtest and compare;
    `outcomes_of(params)` gives the sweep's outcomes for the entries in `paths`."""
    from profitguard.tooling.exchange.harness import start_exchange

    out = []
    with start_exchange(datadir=setup.datadir, pairs=setup.pairs, port=0) as exchange:
        for n, (index, params) in enumerate(chosen):
            pfile = workdir / f"verify-{n}.json"
            pfile.write_text(json.dumps(params_file(strategy, params)))
            name, directory = policy_strategy(
                setup, workdir, strategy, strategy_file, n + 1, params_file=pfile
            )
            say(f"==> verify {n + 1}/{len(chosen)}: configuration #{index + 1} as a backtest")
            result = run_backtest(setup, exchange.url, name, workdir, directory)
            theirs = all_trades(result)
            identical, worst, diffs = compare_trades(paths, outcomes_of(params), theirs)
            out.append(Verified(params, len(theirs), identical, worst, diffs))
    return out
