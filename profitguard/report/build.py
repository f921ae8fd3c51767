"""The R report of a set of closed trades: one object the tables, `--json` and the
HTML page all read, so they show the same figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from profitguard.engine import ProtectionConfig
from profitguard.report import analytics as an
from profitguard.report.figures import TradeKey, close_order, trade_key
from profitguard.report.records import TradeRecord


@dataclass(frozen=True)
class Report:
    source: str
    strategy: str | None
    exits: ProtectionConfig | None
    records: list[TradeRecord]
    trades: list[an.TradeR]
    summary: an.Summary
    distribution: list[tuple[str, int]]
    levels: list[an.LevelRow]
    kinds: list[an.KindRow]
    pairs: list[tuple[str, an.Summary]]
    bots: list[tuple[str, an.Summary]] = field(default_factory=list)  # several bots' trades

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "strategy": self.strategy,
            "r_definition": "net profit (exit value - entry value - fees) / "
            "(amount x |entry - initial stop|)",
            "fees_included": True,
            "summary": asdict(self.summary),
            "trades": [asdict(t) | {"exits": [list(e) for e in t.exits]} for t in self.trades],
            "r_distribution": [{"bin": label, "trades": n} for label, n in self.distribution],
            "levels": [asdict(row) for row in self.levels],
            "exit_kinds": [asdict(row) for row in self.kinds],
            "pairs": [{"pair": pair} | asdict(s) for pair, s in self.pairs],
            "bots": [{"bot": bot} | asdict(s) for bot, s in self.bots],
        }


def build_report(
    records: list[TradeRecord],
    exits: ProtectionConfig | None,
    *,
    source: str,
    strategy: str | None = None,
    stop_rules: Mapping[TradeKey, str | None] | None = None,
) -> Report:
    """Every figure of the report, trades in closing order. `stop_rules`: per trade,
    the rule that set the stop which closed it, from the engine's replay (`parity`)."""
    records = close_order(records)
    rules = stop_rules or {}
    rows = [
        an.trade_r(t, an.plan_of(t, exits) if exits is not None else None, rules.get(trade_key(t)))
        for t in records
    ]
    return Report(
        source=source,
        strategy=strategy,
        exits=exits,
        records=records,
        trades=rows,
        summary=an.summarize(rows),
        distribution=an.distribution(rows),
        levels=an.levels(records, rows, exits),
        kinds=an.exit_kinds(records, rows, exits),
        pairs=an.per_pair(rows),
        bots=an.per_bot(rows),
    )
