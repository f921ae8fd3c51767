"""What the dashboard shows, as one JSON document (`GET /api/status`).

Read, never written: the guard's switches (as `profitguard guard` reads them), the
status file the bot rewrites every loop (trading state, limits, open trades in R,
events, watchdog alerts, refusal counts) and the trades database (closed trades in R,
take-profit fills). When the bot is down its figures are stale, and the limits are
computed from the trades database instead (as `profitguard guard status` does).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from profitguard.trades_db import TradesDatabase, TradesDatabaseError

PERIODS = {
    "DAILY_LOSS_LIMIT": "daily",
    "WEEKLY_LOSS_LIMIT": "weekly",
    "MONTHLY_LOSS_LIMIT": "monthly",
}
STATE_CODES = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}


@dataclass(frozen=True)
class BotFiles:
    """Where one bot keeps what the dashboard reads."""

    guard: Path
    status: Path
    db_url: str  # the trades database (any URL Freqtrade accepts, `trades_db`)
    stale_after_s: float  # the bot's figures are stale after this (five loops)


def read_status_file(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _ratio(check: Mapping[str, Any], name: str) -> tuple[float | None, float | None]:
    """(the figure `name`, its limit) of a check, as numbers (None: not a number). By
    name: the status file's keys are sorted."""
    figures = check.get("figures", {})
    return _number(figures.get(name)), _number(figures.get("limit"))


def _check(checks: list[dict], rule: str) -> dict | None:
    return next((c for c in checks if c.get("rule") == rule), None)


def _age_s(iso: str | None, now: datetime) -> float | None:
    if not iso:
        return None
    try:
        return (now - datetime.fromisoformat(iso)).total_seconds()
    except (TypeError, ValueError):
        return None


def closed_trades(db_url: str) -> list[dict]:
    """Closed trades oldest first, with their R and the cumulative R (the equity in R)."""
    from profitguard.report.records import ResultError, load_db

    try:
        records = load_db(db_url)
    except ResultError:  # no database yet, or not readable now: no curve
        return []
    total = 0.0
    out = []
    for record in records:
        r = record.r if record.initial_stop else None
        total += r or 0.0
        out.append(
            {
                "pair": record.pair,
                "closed_at": record.close_date.isoformat(),
                "r": r,
                "cumulative_r": total,
                "profit": record.profit_abs,
            }
        )
    return out


def take_profit_fills(database: TradesDatabase) -> dict[str, int]:
    """Filled take-profit orders per level (`tp1`, …), from the trades database."""
    try:
        if not database.exists() or not database.has_table("orders"):
            return {}
        rows = database.rows(
            "SELECT ft_order_tag AS tag, COUNT(*) AS n FROM orders WHERE filled > 0 "
            "AND ft_order_tag LIKE 'tp%' GROUP BY ft_order_tag"
        )
    except TradesDatabaseError:
        return {}
    return {row["tag"]: int(row["n"]) for row in rows}


def trading_state(guard: Any, snapshot: dict | None, stale: bool) -> dict[str, Any]:
    """The trading state with its reason and since when: the admin's switches first
    (they hold whether the bot runs or not), else the bot's own figure."""
    if isinstance(guard, Exception):
        return {"state": "HALTED", "reason": f"guard file unreadable: {guard}", "since": None}
    if guard.halted:
        since = guard.halted_at.isoformat() if guard.halted_at else None
        return {"state": "HALTED", "reason": f"kill switch: {guard.halted_reason}", "since": since}
    if guard.paused:
        since = guard.paused_at.isoformat() if guard.paused_at else None
        return {"state": "REDUCING", "reason": f"paused: {guard.paused_reason}", "since": since}
    if snapshot is None or stale:
        return {"state": "ACTIVE", "reason": "switches off (the bot's own figures are not fresh)",
                "since": guard.updated_at.isoformat() if guard.updated_at else None}  # fmt: skip
    failed = [c["message"] for c in snapshot.get("checks", []) if not c.get("passed", True)]
    return {
        "state": snapshot.get("state", "ACTIVE"),
        "reason": "; ".join(failed) or "every limit clear",
        "since": None,
    }


def exposure(trades: list[dict], equity: float | None) -> list[dict]:
    """Open value per base asset, and its share of the equity."""
    held: dict[str, float] = {}
    for t in trades:
        price = t.get("price") or t.get("entry") or 0.0
        asset = str(t["pair"]).split("/")[0]
        held[asset] = held.get(asset, 0.0) + float(t.get("amount") or 0.0) * float(price)
    return [
        {"asset": a, "value": v, "ratio": (v / equity) if equity else None}
        for a, v in sorted(held.items(), key=lambda kv: -kv[1])
    ]


def _untracked(snapshot: dict | None) -> dict[str, float]:
    raw = snapshot.get("untracked") if snapshot else None
    if not isinstance(raw, dict):
        return {}
    return {str(pair): v for pair, v in raw.items() if _number(v) is not None}


def status(
    files: BotFiles,
    now: datetime,
    guard: Any,
    computed: Callable[[Any], dict | None],
    database: TradesDatabase,
) -> dict[str, Any]:
    """The dashboard's figures. `guard` is the admin's state in force (or the error
    reading it); `computed(guard)` the limits from the trades database (bot down);
    `database` the bot's trades database (kept open by the caller)."""
    snapshot = read_status_file(files.status)
    loop_at = snapshot.get("loop_at") or snapshot.get("updated_at") if snapshot else None
    loop_age = _age_s(loop_at, now)
    stale = snapshot is None or loop_age is None or loop_age > files.stale_after_s
    checks = list(snapshot.get("checks", [])) if snapshot else []
    equity = snapshot.get("equity") if snapshot else None
    if stale:
        figures = computed(guard)
        if figures is not None:
            checks, equity = figures["checks"], figures["equity"]
    periods = []
    for rule, period in PERIODS.items():
        check = _check(checks, rule)
        if check is not None:
            loss, limit = _ratio(check, "loss")
            periods.append({"period": period, "loss": loss, "limit": limit,
                            "passed": check.get("passed", True)})  # fmt: skip
    streak = _check(checks, "CONSECUTIVE_LOSSES")
    heat = _check(checks, "PORTFOLIO_HEAT")
    heat_value, heat_limit = _ratio(heat, "heat") if heat else (None, None)
    streak_value, streak_limit = _ratio(streak, "losses") if streak else (None, None)
    trades = list(snapshot.get("trades", [])) if snapshot and not stale else []
    if snapshot and stale:
        trades = list(snapshot.get("trades", []))  # as last published, marked stale
    for t in trades:
        t["age_s"] = _age_s(t.get("opened_at"), now)
    events = list(snapshot.get("events", [])) if snapshot else []
    for refusal in snapshot.get("recent_refusals", []) if snapshot else []:
        events.append({"time": refusal["time"], "kind": "REFUSAL", "pair": refusal.get("pair"),
                       "message": f"{refusal.get('pair')}: {refusal['message']}"})  # fmt: skip
    events.sort(key=lambda e: e.get("time") or "", reverse=True)
    closed = closed_trades(files.db_url)
    return {
        "now": now.isoformat(),
        **trading_state(guard, snapshot, stale),
        "guard": guard.to_json() if not isinstance(guard, Exception) else None,
        "equity": equity,
        "periods": periods,
        "streak": {"losses": streak_value, "limit": streak_limit},
        "heat": {"ratio": heat_value, "limit": heat_limit},
        "exposure": exposure(trades, equity),
        "trades": trades,
        "events": events[:50],
        "closed": closed,
        "checks": checks,
        "bot": {
            "loop_at": loop_at,
            "loop_age_s": loop_age,
            "stale": stale,
            "stale_after_s": files.stale_after_s,
        },
        "watchdog": list(snapshot.get("watchdog", [])) if snapshot and not stale else [],
        "refusals": dict(snapshot.get("refusals", {})) if snapshot else {},
        "callback_errors": int(snapshot.get("callback_errors", 0)) if snapshot else 0,
        # pair -> base amount held beyond the open trades that profitguard bought
        # (the bot's last reconciliation, live mode)
        "untracked": _untracked(snapshot),
        "take_profit_fills": take_profit_fills(database),
    }
