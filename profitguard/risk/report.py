"""Text the gate shows: the refusal counts of a backtest, and `profitguard guard status`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from profitguard.risk.checks import Rule

_ORDER = {rule.value: i for i, rule in enumerate(Rule)}


def refusal_table(counts: Mapping[str, int], checked: int, *, title: str) -> str:
    """`counts`: rule code -> refused entries; `checked`: entries the gate saw."""
    refused = sum(counts.values())
    lines = [f"{title}: {checked} entries checked, {refused} refused"]
    if refused:
        width = max(len("rule"), *(len(code) for code in counts))
        lines.append(f"  {'rule':<{width}}  refused")
        for code in sorted(counts, key=lambda c: _ORDER.get(c, len(_ORDER))):
            if counts[code]:
                lines.append(f"  {code:<{width}}  {counts[code]:>7}")
    return "\n".join(lines)


def _rows(checks: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(c["rule"], c["figure"], c["limit"], "ok" if c["passed"] else "NO") for c in checks]


def _table(rows: list[tuple[str, str, str, str]]) -> list[str]:
    if not rows:
        return []
    header = ("rule", "figure", "limit", "ok")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    out = [f"  {header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]:<{widths[2]}}  ok"]
    for rule, figure, limit, ok in rows:
        out.append(f"  {rule:<{widths[0]}}  {figure:<{widths[1]}}  {limit:<{widths[2]}}  {ok}")
    return out


def checks_table(checks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Lines of the rule / figure / limit / ok table of checks as JSON (`Check.as_json`)."""
    return _table(_rows(checks))


def status_text(
    *,
    guard_file: str,
    state: str,
    guard_lines: Sequence[str],
    snapshot: Mapping[str, Any] | None,
    now: datetime,
) -> str:
    """The `guard status` page: the admin switches, then every rule's figure against its limit
    as the running bot last computed it (its status file), then the refusal counts."""
    lines = [f"guard file: {guard_file}", f"switches: {state}", *guard_lines]
    if snapshot is None:
        lines.append("figures: none yet (no bot has written its status file here)")
        return "\n".join(lines)
    updated = datetime.fromisoformat(snapshot["updated_at"])
    age = (now - updated).total_seconds()
    lines.append(
        f"figures: from the bot at {updated:%Y-%m-%d %H:%M:%S} UTC ({age:.0f} s ago), "
        f"bot state {snapshot['state']}, equity {snapshot['equity']:.2f}"
    )
    lines += _table(_rows(snapshot["checks"]))
    last = snapshot.get("last_entry")
    if last:
        lines.append(f"last entry checked: {last['pair']} at {last['time']}")
        lines += _table(_rows(last["checks"]))
    counts = snapshot.get("refusals", {})
    lines.append(
        refusal_table(counts, snapshot.get("checked", 0), title="refusals since the bot started")
    )
    return "\n".join(lines)
