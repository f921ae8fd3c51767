"""Where each bot's guard state is kept, and who may change it: the file and database I/O
above the pure `profitguard.risk.state`.

Each bot has its own guard file, `profitguard-<bot>-guard.json` (`bot_identity`), naming
the bot it was written for. The bot only READS it, re-reading when it changes (inode,
mtime, size); `GuardAdmin` (the `guard` command, the dashboard) writes it under a lock
through a temporary file, fsync and `os.replace`. A copy lives in the bot's trades
database (`GuardCopy`, one row), recorded BEFORE the file is written: a kill switch the
copy has on stays on whatever the file says (`state.reconcile`), so a deleted, old, torn,
hand-written or other bot's file lifts nothing; only `reset --confirm` lifts it. A file
that cannot be trusted raises `GuardStateError` (entries stop, exits go on) carrying the
state kept in force (`state.kept_state`). No file and no record: a fresh start (ACTIVE).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from profitguard.risk import state as st
from profitguard.risk.state import GuardState, GuardStateError, kept_state, reconcile
from profitguard.trades_db import GUARD_TABLE, TradesDatabase, TradesDatabaseError, sqlite_file

log = logging.getLogger(__name__)

# The one guard file all bots of a user_data shared once: no longer read (the bot warns).
SHARED_GUARD_FILE = "profitguard-guard.json"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


class GuardCopyError(RuntimeError):
    """The state's copy (in the trades database) cannot be read or written."""


class ForeignGuardFile(GuardStateError):
    """The guard file was written for another bot: it lifts nothing here."""

    def __init__(self, path: Path, other: str, mine: str) -> None:
        super().__init__(
            f"{path} was written for another bot ({other}), not this one ({mine}): it lifts "
            "nothing and entries stay refused; 'profitguard guard reset --confirm' with this "
            "bot's config writes its own"
        )
        self.other = other


def _on_file(path: Path, bot: str | None) -> GuardState:
    """The file's state; `ForeignGuardFile` when written for another bot than `bot`."""
    on_file = read_state(path)
    if bot is not None and on_file.bot is not None and on_file.bot != bot:
        raise ForeignGuardFile(path, on_file.bot, bot)
    return on_file


def _in_force(path: Path, bot: str | None, recorded: GuardState | None) -> GuardState:
    """The file reconciled with the record (the record alone when the file is gone)."""
    if recorded is not None and not path.exists():
        return recorded
    return reconcile(_on_file(path, bot), recorded)


class GuardCopy:
    """The guard state's copy in the bot's trades database (`profitguard_guard`, one row)."""

    def __init__(self, db_url: str) -> None:
        self._db = TradesDatabase(db_url)

    def load(self) -> GuardState | None:
        """The recorded state (None: none); raises `GuardCopyError`."""
        where = f"{GUARD_TABLE} in {self._db.where}"
        try:
            recorded = self._db.load_guard()
            return (
                None
                if recorded is None
                else GuardState.from_json(json.loads(recorded), where=where)
            )
        except (TypeError, ValueError) as exc:
            raise GuardCopyError(f"{where}: not valid JSON: {exc}") from None
        except (TradesDatabaseError, GuardStateError) as exc:
            raise GuardCopyError(str(exc)) from None

    def save(self, state: GuardState) -> None:
        """Record `state` (replacing the copy, in one transaction)."""
        try:
            self._db.save_guard(json.dumps(state.to_json(), sort_keys=True))
        except TradesDatabaseError as exc:
            raise GuardCopyError(str(exc)) from None

    def close(self) -> None:
        self._db.close()


_MISSING = (-1, -1, -1)  # the stat key of a missing file


class GuardFile:
    """The guard file as the bot sees it, re-read only when it changed on disk, reconciled
    with the `copy` and recorded there; `foreign`: the other bot a file last read names."""

    def __init__(self, path: Path, copy: GuardCopy | None = None, bot: str | None = None) -> None:
        self.path, self.copy, self.bot = Path(path), copy, bot
        self.foreign: str | None = None
        self._key: tuple[int, int, int] | None = None
        self._read: GuardState | GuardStateError = GuardState()  # as last read
        self._last_good: GuardState | None = None
        self._recorded: GuardState | None = None
        self._seen = False
        self._told: set[str] = set()

    def read(self) -> GuardState:
        """The current state; raises `GuardStateError` while the file cannot be trusted."""
        try:
            stat = os.stat(self.path)
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
                    self._read = GuardState()
        except OSError as exc:  # there, but it cannot be looked at: what was in force stays
            recorded = self._recorded if self._key is not None else self._load_copy()
            raise GuardStateError(
                f"{self.path}: cannot be read: {exc}",
                last_good=kept_state(self._last_good, recorded),
            ) from None
        else:
            key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if key != self._key:
                self._key, self._seen = key, True
                self._load(self._load_copy())
        if isinstance(self._read, GuardStateError):
            raise self._read
        return self._read

    def _load(self, recorded: GuardState | None) -> None:
        self.foreign = None
        try:
            on_file = _on_file(self.path, self.bot)
        except GuardStateError as exc:
            self.foreign = exc.other if isinstance(exc, ForeignGuardFile) else None
            self._fail(str(exc), recorded)
            return
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
        # the copy follows the state in force, unless it is newer (the admin writes it first)
        newer = (
            recorded is not None
            and None not in (recorded.updated_at, state.updated_at)
            and recorded.updated_at > state.updated_at
        )
        if self.copy is not None and state != recorded and not newer:
            try:
                self.copy.save(state)
                self._recorded = state
            except GuardCopyError as exc:
                self._tell(logging.ERROR, f"profitguard: the guard state's copy not written: {exc}")
        self._read = self._last_good = state

    def _fail(self, message: str, recorded: GuardState | None) -> None:
        self._read = GuardStateError(message, last_good=kept_state(self._last_good, recorded))

    def _load_copy(self) -> GuardState | None:
        """The recorded copy (the last one read, if the database cannot be read now)."""
        if self.copy is not None:
            try:
                self._recorded = self.copy.load()
            except GuardCopyError as exc:
                self._tell(logging.ERROR, f"profitguard: the guard state's copy unreadable: {exc}")
        return self._recorded

    def _tell(self, level: int, message: str) -> None:
        if message not in self._told:
            self._told.add(message)
            log.log(level, message)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


_ACTIONS = {
    "pause": lambda s, reason, now: st.pause(s, reason, now),
    "resume": lambda s, reason, now: st.resume(s, now),
    "kill": lambda s, reason, now: st.kill(s, reason, now),
    "reset": lambda s, reason, now: st.reset(s, now),
}


class GuardAdmin:
    """The admin's side of one bot's guard: each switch recorded in the bot's trades
    database first, then written to the file, under the file's lock. A reset that cannot
    be recorded is refused. The database is never created here: without it the file alone
    holds the switches until the bot records them (`missing_database` says so)."""

    def __init__(
        self, path: Path, db_url: str | None, bot: str | None, warn: Callable[[str], None] = _warn
    ) -> None:
        self.path, self.db_url, self.bot, self.warn = Path(path), db_url, bot, warn
        self._database = sqlite_file(db_url) if db_url else None
        self._copy: GuardCopy | None = None

    def missing_database(self) -> str | None:
        """Why there is no copy to keep (None: there is one)."""
        if self.db_url is None:
            return "no trades database given"
        if self._database is not None and not self._database.is_file():
            return f"no trades database at {self._database}"
        return None

    def recorded(self, *, required: bool = False) -> tuple[GuardCopy | None, GuardState | None]:
        """The copy and its state ((None, None) without a database, or with a warning when
        it cannot be read; `required`: `GuardActionError` then)."""
        if self.missing_database() is not None:
            return None, None
        self._copy = self._copy or GuardCopy(str(self.db_url))
        try:
            return self._copy, self._copy.load()
        except GuardCopyError as exc:
            if required:
                raise st.GuardActionError(
                    f"{exc}: the reset cannot be recorded; nothing written"
                ) from None
            self.warn(f"{exc}: the guard file alone is used")
            self.close()
            return None, None

    def state(self) -> GuardState:
        """The state in force as the bot sees it; `GuardStateError` for a file it distrusts."""
        return _in_force(self.path, self.bot, self.recorded()[1])

    def apply(self, action: str, reason: str, now: datetime) -> GuardState:
        """Switch `action` (pause, resume, kill, reset); `GuardActionError` when it does not
        apply, or for a reset it cannot record."""
        with locked(self.path):
            copy, recorded = self.recorded(required=action == "reset")
            try:
                current = _in_force(self.path, self.bot, recorded)
            except GuardStateError as exc:
                # a fresh file without the kill switch would lift one the broken file had on
                if action in ("pause", "resume"):
                    raise st.GuardActionError(
                        f"{exc}; 'kill' or 'reset --confirm' writes a fresh file"
                    ) from None
                current = GuardState()
                backup = self.path.with_name(f"{self.path.name}.corrupt-{now:%Y%m%dT%H%M%S}")
                os.replace(self.path, backup)
                print(f"the unreadable guard file was moved to {backup}")
            new = _ACTIONS[action](current, reason or f"profitguard guard {action}", now)
            new = replace(new, bot=self.bot)
            if copy is not None:
                try:
                    copy.save(new)  # first: a file lost or torn after this lifts nothing
                except GuardCopyError as exc:
                    if action == "reset":
                        raise st.GuardActionError(
                            f"{exc}: the reset cannot be recorded; nothing written"
                        ) from None
                    self.warn(f"{exc}: the guard file alone holds it")
            write_state(self.path, new)
        return new

    def close(self) -> None:
        if self._copy is not None:
            self._copy.close()  # its engine's connections (PostgreSQL's are sockets)
            self._copy = None
