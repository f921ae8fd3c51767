"""Text the gate shows: the refusal counts of a backtest, and `profitguard guard status`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from profitguard.risk.checks import Rule
from profitguard.risk.pipeline import guard_checks, state_of
from profitguard.risk.state import GuardState

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


def checks_table(checks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Lines of the rule / figure / limit / ok table of checks as JSON (`Check.as_json`)."""
    rows = [(c["rule"], c["figure"], c["limit"], "ok" if c["passed"] else "NO") for c in checks]
    if not rows:
        return []
    header = ("rule", "figure", "limit", "ok")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    out = [f"  {header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]:<{widths[2]}}  ok"]
    for rule, figure, limit, ok in rows:
        out.append(f"  {rule:<{widths[0]}}  {figure:<{widths[1]}}  {limit:<{widths[2]}}  {ok}")
    return out


def ago(seconds: float) -> str:
    """`12 s ago`; `just now` under a second, and for a stamp a little ahead of this
    clock (the bot stamps its loop's time): never "-0 s ago"."""
    return "just now" if seconds < 1 else f"{seconds:.0f} s ago"


def _switch(on: bool, since: datetime | None, reason: str | None) -> str:
    if not on:
        return "off"
    when = f"{since:%Y-%m-%d %H:%M:%S} UTC" if since is not None else "?"
    return f"ON since {when}: {reason or '-'}"


def guard_lines(guard: GuardState) -> list[str]:
    """The admin's switches: the state they make, the kill switch, the pause, the streak."""
    lines = [
        f"switches: {state_of(guard_checks(guard)).value}",
        f"kill switch: {_switch(guard.halted, guard.halted_at, guard.halted_reason)}",
        f"pause: {_switch(guard.paused, guard.paused_at, guard.paused_reason)}",
    ]
    if guard.streak_since is not None:
        lines.append(f"losing streak counted from {guard.streak_since:%Y-%m-%d %H:%M:%S} UTC")
    return lines


def status_text(
    *, guard_file: str, guard: GuardState, snapshot: Mapping[str, Any] | None, now: datetime
) -> str:
    """The `guard status` page: the admin switches, then every rule's figure against its limit
    as the running bot last computed it (its status file), then the refusal counts."""
    lines = [f"guard file: {guard_file}", *guard_lines(guard)]
    if snapshot is None:
        lines.append("figures: none yet (no bot has written its status file here)")
        return "\n".join(lines)
    updated = datetime.fromisoformat(snapshot["updated_at"])
    age = (now - updated).total_seconds()
    lines.append(
        f"figures: from the bot at {updated:%Y-%m-%d %H:%M:%S} UTC ({ago(age)}), "
        f"bot state {snapshot['state']}, equity {snapshot['equity']:.2f}"
    )
    lines += checks_table(snapshot["checks"])
    last = snapshot.get("last_entry")
    if last:
        lines.append(f"last entry checked: {last['pair']} at {last['time']}")
        lines += checks_table(last["checks"])
    counts = snapshot.get("refusals", {})
    lines.append(
        refusal_table(counts, snapshot.get("checked", 0), title="refusals since the bot started")
    )
    return "\n".join(lines)


# A backtest whose gate refused more than this share of the entry signals, or paused
# entries for more than this share of the time it ran, ends with a warning line.
REFUSED_WARN_SHARE = 0.5
PAUSED_WARN_SHARE = 0.25


def run_warning(
    refusals: Mapping[str, int],
    checked: int,
    paused: Mapping[str, timedelta],
    span: timedelta,
    settings: Mapping[str, Sequence[str]],
) -> str | None:
    """One line when the gate stood in the way of most of a backtest (None otherwise):
    more than half the entry signals refused, or entries paused for more than a quarter
    of the run; naming the rule most responsible, its share and its settings.

    `paused`: rule code -> time entries were paused by it; `span`: the run's time from
    the first entry signal to the last; `settings`: rule code -> its setting keys."""
    parts: list[str] = []
    rules: list[str] = []
    refused = sum(refusals.values())
    if checked and refused / checked > REFUSED_WARN_SHARE:
        code = max(refusals, key=lambda c: refusals[c])
        parts.append(
            f"refused {refused / checked:.0%} of the entry signals ({refused} of {checked}; "
            f"{code} {refusals[code]})"
        )
        rules.append(code)
    total = sum(paused.values(), timedelta())
    if span > timedelta() and total / span > PAUSED_WARN_SHARE:
        code = max(paused, key=lambda c: paused[c])
        parts.append(f"paused entries for {total / span:.0%} of the run ({code})")
        if code not in rules:
            rules.append(code)
    if not parts:
        return None
    keys = [f"profitguard.risk.{k}" for code in rules for k in settings.get(code, ())]
    hint = f"; see {', '.join(keys)}" if keys else ""
    return f"profitguard: warning: the risk gate {' and '.join(parts)}{hint}"
