"""Guard state: the admin's pause and kill switch as a value, read from JSON, and the
admin's actions on it. Where it is kept is `profitguard.guard_store`'s; here the pure
rules of who lifts what: `reconcile` and `kept_state`. Pauses derived from history
(losses, a losing streak) are not stored: the trade history recomputes them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

VERSION = 1


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"  # entries allowed (each still checked by the rules)
    REDUCING = "REDUCING"  # paused: no entries; take-profits and stops go on
    HALTED = "HALTED"  # kill switch: no entries, every open trade exits


class GuardStateError(RuntimeError):
    """The guard state cannot be trusted: entries are refused. `last_good`: the state kept
    in force (a kill switch it has on stays on: a broken file never lifts it)."""

    def __init__(self, message: str, *, last_good: GuardState | None = None) -> None:
        super().__init__(message)
        self.last_good = last_good


class GuardActionError(ValueError):
    """An admin action that does not apply to the current state."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardState:
    halted: bool = False
    halted_reason: str | None = None
    halted_at: datetime | None = None
    paused: bool = False
    paused_reason: str | None = None
    paused_at: datetime | None = None
    streak_since: datetime | None = None  # the losing streak counts trades closed after this
    reset_at: datetime | None = None  # the last `reset --confirm`
    updated_at: datetime | None = None
    bot: str | None = None  # the bot it was written for (`BotIdentity.label`)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            data[f.name] = value.isoformat() if isinstance(value, datetime) else value
        return data

    @classmethod
    def from_json(cls, data: Any, *, where: str) -> GuardState:
        if not isinstance(data, dict):
            raise GuardStateError(f"{where}: expected a JSON object, found {type(data).__name__}")
        if data.get("version") != VERSION:
            version = data.get("version")
            raise GuardStateError(
                f"{where}: unknown version {version!r} (this profitguard reads {VERSION})"
            )
        unknown = sorted(set(data) - {f.name for f in fields(cls)} - {"version"})
        if unknown:
            raise GuardStateError(f"{where}: unknown keys {unknown}")
        values = {k: _value(k, v, where) for k, v in data.items() if k != "version"}
        return cls(**values)


def _value(name: str, value: Any, where: str) -> Any:
    if name in ("halted", "paused"):
        if not isinstance(value, bool):
            raise GuardStateError(f"{where}: '{name}' must be true or false, was {value!r}")
        return value
    if value is None:
        return None
    if name.endswith("_reason") or name == "bot":
        if not isinstance(value, str):
            raise GuardStateError(f"{where}: '{name}' must be text, was {value!r}")
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise GuardStateError(f"{where}: '{name}' must be an ISO time, was {value!r}") from None
    if parsed.tzinfo is None:
        raise GuardStateError(f"{where}: '{name}' must carry a time zone, was {value!r}")
    return parsed.astimezone(UTC)


def pause(state: GuardState, reason: str, now: datetime) -> GuardState:
    return replace(state, paused=True, paused_reason=reason, paused_at=now, updated_at=now)


def resume(state: GuardState, now: datetime) -> GuardState:
    """Lift the admin's pause and restart the losing-streak count. Not the kill switch."""
    if state.halted:
        raise GuardActionError(
            "the kill switch is on; only 'profitguard guard reset --confirm' lifts it"
        )
    return replace(
        state, paused=False, paused_reason=None, paused_at=None, streak_since=now, updated_at=now
    )


def kill(state: GuardState, reason: str, now: datetime) -> GuardState:
    return replace(state, halted=True, halted_reason=reason, halted_at=now, updated_at=now)


def reset(state: GuardState, now: datetime) -> GuardState:
    """Everything lifted: kill switch, pause, losing streak (counted again from now)."""
    return GuardState(streak_since=now, reset_at=now, updated_at=now, bot=state.bot)


def reconcile(on_file: GuardState, recorded: GuardState | None) -> GuardState:
    """The file's state, except that a kill switch `recorded` (the database's copy) has on
    stays on: `reset --confirm` records its reset there before it writes the file, so a
    file that claims a reset alone lifts nothing."""
    if recorded is None or not recorded.halted or on_file.halted:
        return on_file
    return replace(
        on_file,
        halted=True,
        halted_reason=recorded.halted_reason,
        halted_at=recorded.halted_at,
        reset_at=recorded.reset_at,  # a reset claimed by the file alone is not one
    )


def kept_state(last_good: GuardState | None, recorded: GuardState | None) -> GuardState | None:
    """What a missing or broken file leaves in force: the last good state, with a kill
    switch either it or the recorded copy has on."""
    kept = last_good if last_good is not None else recorded
    if recorded is not None and recorded.halted and (kept is None or not kept.halted):
        kept = recorded
    return kept
