"""Guard state: the admin's pause and kill switch, persisted atomically in user_data/.

The bot only ever READS the guard file (`profitguard-guard.json`); the
`profitguard guard` command writes it (under a lock, through a temporary file,
fsync and `os.replace`), so the two processes never overwrite each other. The bot
re-reads it when it changes (inode, mtime, size). A file that cannot be read or
validated raises `GuardStateError`: entries stop, exits go on. A missing file is a
fresh start (ACTIVE), unless the bot had seen one before: then it is an error too.

Pauses derived from history (realized losses, a losing streak) are not stored:
they are recomputed from the trade history, which survives restarts on its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

GUARD_FILE = "profitguard-guard.json"
STATUS_FILE = "profitguard-status.json"
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
    updated_at: datetime | None = None

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
            elif name.endswith("_reason"):
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
    return GuardState(streak_since=now, updated_at=now)


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


class GuardFile:
    """The guard file as the bot sees it: re-read only when it changed on disk.

    While it cannot be trusted, `read` raises; the error carries the last good state."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._key: tuple[int, int, int] | None = None
        self._state: GuardState | None = None
        self._error: GuardStateError | None = None
        self._last_good: GuardState | None = None
        self._seen = False

    def read(self) -> GuardState:
        """The current state; raises `GuardStateError` while the file cannot be trusted."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._seen:
                raise GuardStateError(
                    f"{self.path}: the guard file disappeared; "
                    "'profitguard guard reset --confirm' writes a new one",
                    last_good=self._last_good,
                ) from None
            return GuardState()
        except OSError as exc:
            raise GuardStateError(f"{self.path}: cannot be read: {exc}") from None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._key:
            self._key = key
            self._seen = True
            try:
                self._state, self._error = read_state(self.path), None
                self._last_good = self._state
            except GuardStateError as exc:
                self._state = None
                self._error = GuardStateError(str(exc), last_good=self._last_good)
        if self._error is not None:
            raise self._error
        assert self._state is not None
        return self._state
