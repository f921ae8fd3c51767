"""Guard state: the admin's pause and kill switch, persisted atomically in user_data/.

Each bot has its own guard file, `profitguard-<bot>-guard.json` (`bot_identity`:
named by its `bot_name`, else its database), which records the bot it was written
for. The bot only ever READS its guard file; the
`profitguard guard` command writes it (under a lock, through a temporary file,
fsync and `os.replace`), so the two processes never overwrite each other. The bot
re-reads it when it changes (inode, mtime, size). A file that cannot be read or
validated raises `GuardStateError`: entries stop, exits go on.

A copy of the state lives in the bot's trades database (`guard_copy`), so the file
alone cannot lift a kill switch: `reset --confirm` records the reset there before it
writes the file, and a kill switch the copy has on stays on whatever the file says
(`reconcile`): a hand-written file, one restored from a backup, one copied from
another bot. A missing file where a state was recorded (or that this process had
seen) is an error that keeps the recorded kill switch on. Without any record, a
missing file is a fresh start (ACTIVE).

Pauses derived from history (realized losses, a losing streak) are not stored:
they are recomputed from the trade history, which survives restarts on its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

# The one guard file every bot of a user_data shared before each had its own: no
# longer read (the bot warns when it finds one).
SHARED_GUARD_FILE = "profitguard-guard.json"
VERSION = 1


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"  # entries allowed (each still checked by the rules)
    REDUCING = "REDUCING"  # paused: no entries; take-profits and stops go on
    HALTED = "HALTED"  # kill switch: no entries, every open trade exits


class GuardStateError(RuntimeError):
    """The guard state cannot be trusted; entries are refused until it is repaired.

    `last_good` is the last state read from the file, if any: a kill switch it had on
    stays on (a broken file never lifts it)."""

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
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known) - {"version"})
        if unknown:
            raise GuardStateError(f"{where}: unknown keys {unknown}")
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "version":
                continue
            if name in ("halted", "paused"):
                if not isinstance(value, bool):
                    raise GuardStateError(f"{where}: '{name}' must be true or false, was {value!r}")
            elif name.endswith("_reason") or name == "bot":
                if value is not None and not isinstance(value, str):
                    raise GuardStateError(f"{where}: '{name}' must be text, was {value!r}")
            else:
                value = _time(value, name, where)
            values[name] = value
        return cls(**values)


def _time(value: Any, name: str, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise GuardStateError(f"{where}: '{name}' must be an ISO time, was {value!r}") from None
    if parsed.tzinfo is None:
        raise GuardStateError(f"{where}: '{name}' must carry a time zone, was {value!r}")
    return parsed.astimezone(UTC)


# ------------------------------------------------------------ admin actions


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
    """The state in force: the file's, except that a kill switch `recorded` (the copy in
    the trades database) has on stays on, whatever the file says. `reset --confirm`
    records its reset in the database before it writes the file, so a real reset has
    lifted the recorded kill switch first; a file that claims a reset alone lifts nothing."""
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
    """What a missing or broken guard file leaves in force: the last good state, with
    a kill switch either it or the recorded copy has on."""
    kept = last_good if last_good is not None else recorded
    if recorded is not None and recorded.halted and (kept is None or not kept.halted):
        kept = recorded
    return kept


# -------------------------------------------------------------- persistence


def read_state(path: Path) -> GuardState:
    """The guard state in `path` (a fresh ACTIVE state when there is no file)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return GuardState()
    except (OSError, UnicodeDecodeError) as exc:
        raise GuardStateError(f"{path}: cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GuardStateError(f"{path}: not valid JSON: {exc}") from None
    return GuardState.from_json(data, where=str(path))


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` to `path` so a reader sees the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_state(path: Path, state: GuardState) -> None:
    write_json_atomic(path, state.to_json())


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock for a read-modify-write of `path` (admin commands)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class GuardCopyError(RuntimeError):
    """The state's copy (in the trades database) cannot be read or written."""


class StateCopy(Protocol):
    """Where the guard state is kept a second time (`guard_copy.GuardCopy`: the trades
    database); `load` and `save` raise `GuardCopyError`."""

    def load(self) -> GuardState | None: ...

    def save(self, state: GuardState) -> None: ...


_MISSING = (-1, -1, -1)  # the stat key of a missing file


class GuardFile:
    """The guard file as the bot sees it: re-read only when it changed on disk.

    With a `copy` (the state's copy in the trades database), the state read is
    reconciled with it and recorded there; while the file cannot be trusted (broken,
    or written for another bot than `bot`), `read` raises and the error carries the
    state kept in force (`kept_state`)."""

    def __init__(self, path: Path, copy: StateCopy | None = None, bot: str | None = None) -> None:
        self.path = Path(path)
        self.copy = copy
        self.bot = bot  # this bot's `BotIdentity.label`: a file written for another lifts nothing
        self.foreign: str | None = None  # the other bot named by the file last read
        self._key: tuple[int, int, int] | None = None
        self._state: GuardState | None = None
        self._error: GuardStateError | None = None
        self._last_good: GuardState | None = None
        self._recorded: GuardState | None = None
        self._seen = False
        self._told: set[str] = set()

    def read(self) -> GuardState:
        """The current state; raises `GuardStateError` while the file cannot be trusted."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._key != _MISSING:
                self._key = _MISSING
                recorded = self._load_copy()
                if self._seen or recorded is not None:
                    self._fail(
                        f"{self.path}: the guard file disappeared; "
                        "'profitguard guard reset --confirm' writes a new one",
                        recorded,
                    )
                else:
                    self._state, self._error = GuardState(), None
        except OSError as exc:
            # there, but it cannot be looked at: what was in force stays in force
            recorded = self._recorded if self._key is not None else self._load_copy()
            raise GuardStateError(
                f"{self.path}: cannot be read: {exc}",
                last_good=kept_state(self._last_good, recorded),
            ) from None
        else:
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            if key != self._key:
                self._key = key
                self._seen = True
                self._load(self._load_copy())
        if self._error is not None:
            raise self._error
        assert self._state is not None
        return self._state

    def _load(self, recorded: GuardState | None) -> None:
        try:
            on_file = read_state(self.path)
        except GuardStateError as exc:
            self._fail(str(exc), recorded)
            return
        if self.bot is not None and on_file.bot is not None and on_file.bot != self.bot:
            self._fail(
                f"{self.path} was written for another bot ({on_file.bot}), not this one "
                f"({self.bot}): it lifts nothing and entries stay refused; "
                "'profitguard guard reset --confirm' with this bot's config writes its own",
                recorded,
            )
            self.foreign = on_file.bot
            return
        self.foreign = None
        state = reconcile(on_file, recorded)
        if state.halted and not on_file.halted:
            claim = (
                f"claims a reset at {on_file.reset_at} the database has no record of"
                if on_file.reset_at is not None
                and (recorded is None or recorded.reset_at != on_file.reset_at)
                else "has the kill switch off"
            )
            self._tell(
                logging.WARNING,
                f"profitguard: {self.path} {claim}, but the trades database recorded the kill "
                f"switch on (since {state.halted_at}: {state.halted_reason}) and no "
                "'profitguard guard reset --confirm' since: it stays on",
            )
        self._record(state, recorded)
        self._state, self._error, self._last_good = state, None, state

    def _fail(self, message: str, recorded: GuardState | None) -> None:
        self._state = None
        self._error = GuardStateError(message, last_good=kept_state(self._last_good, recorded))

    def _load_copy(self) -> GuardState | None:
        """The recorded copy (the last one read, if the database cannot be read now)."""
        if self.copy is None:
            return None
        try:
            self._recorded = self.copy.load()
        except GuardCopyError as exc:
            self._tell(logging.ERROR, f"profitguard: the guard state's copy unreadable: {exc}")
        return self._recorded

    def _record(self, state: GuardState, recorded: GuardState | None) -> None:
        """Keep the copy in step with the state in force (unless the copy is newer: the
        admin's command writes it before the file)."""
        if self.copy is None or state == recorded:
            return
        if (
            recorded is not None
            and recorded.updated_at is not None
            and state.updated_at is not None
            and recorded.updated_at > state.updated_at
        ):
            return
        try:
            self.copy.save(state)
            self._recorded = state
        except GuardCopyError as exc:
            self._tell(logging.ERROR, f"profitguard: the guard state's copy not written: {exc}")

    def _tell(self, level: int, message: str) -> None:
        if message not in self._told:
            self._told.add(message)
            log.log(level, message)
