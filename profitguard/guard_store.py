"""Where each bot's guard state is kept: its guard file in user_data/ and its copy in
the trades database. The file and database I/O of the risk gate's state, above the
pure `profitguard.risk.state`.

Each bot has its own guard file, `profitguard-<bot>-guard.json` (`bot_identity`:
named by its `bot_name`, else its database), which records the bot it was written
for. The bot only ever READS its guard file; the `profitguard guard` command writes
it (under a lock, through a temporary file, fsync and `os.replace`), so the two
processes never overwrite each other. The bot re-reads it when it changes (inode,
mtime, size). A file that cannot be read or validated raises `GuardStateError`:
entries stop, exits go on.

A copy of the state lives in the bot's trades database (`GuardCopy`: its own table,
one row, through `profitguard.trades_db`: SQLite, PostgreSQL, whatever Freqtrade
accepts), so the file alone cannot lift a kill switch: `reset --confirm` records the
reset there before it writes the file, and a kill switch the copy has on stays on
whatever the file says (`state.reconcile`): a hand-written file, one restored from a
backup, one copied from another bot. A missing file where a state was recorded (or
that this process had seen) is an error that keeps the recorded kill switch on.
Without any record, a missing file is a fresh start (ACTIVE).

This module is the one owner of both stores: `GuardAdmin` (the `profitguard guard`
command and the dashboard) records a switch in the database, then writes the file;
`GuardFile` (the bot) reads the file and keeps the database in step. Both read the
file with `_on_file` and reconcile it with the record by `state.reconcile`: only a
`reset` recorded in the database lifts a kill switch.
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

# The one guard file every bot of a user_data shared before each had its own: no
# longer read (the bot warns when it finds one).
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
    """The state in the file; raises `GuardStateError` for a broken file, and
    `ForeignGuardFile` for one written for another bot than `bot` (its label)."""
    on_file = read_state(path)
    if bot is not None and on_file.bot is not None and on_file.bot != bot:
        raise ForeignGuardFile(path, on_file.bot, bot)
    return on_file


def _in_force(path: Path, bot: str | None, recorded: GuardState | None) -> GuardState:
    """What the bot goes by: the file reconciled with the recorded copy (the copy alone
    when the file is missing and a state was recorded)."""
    if recorded is not None and not path.exists():
        return recorded
    return reconcile(_on_file(path, bot), recorded)


class GuardCopy:
    """The guard state's copy in the bot's trades database (`profitguard_guard`, one row,
    the table made on first use): a lost, old or torn file lifts nothing."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._db = TradesDatabase(db_url)

    @property
    def where(self) -> str:
        """The database, for messages (no password)."""
        return self._db.where

    def load(self) -> GuardState | None:
        """The recorded guard state (None: none recorded); raises `GuardCopyError`."""
        try:
            recorded = self._db.load_guard()
        except TradesDatabaseError as exc:
            raise GuardCopyError(str(exc)) from None
        if recorded is None:
            return None
        where = f"{GUARD_TABLE} in {self.where}"
        try:
            return GuardState.from_json(json.loads(recorded), where=where)
        except (TypeError, ValueError) as exc:
            raise GuardCopyError(f"{where}: not valid JSON: {exc}") from None
        except GuardStateError as exc:
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
    """The guard file as the bot sees it: re-read only when it changed on disk.

    With a `copy` (the state's copy in the trades database), the state read is
    reconciled with it and recorded there; while the file cannot be trusted (broken,
    or written for another bot than `bot`), `read` raises and the error carries the
    state kept in force (`kept_state`)."""

    def __init__(self, path: Path, copy: GuardCopy | None = None, bot: str | None = None) -> None:
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
            st_ = os.stat(self.path)
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
            key = (st_.st_ino, st_.st_mtime_ns, st_.st_size)
            if key != self._key:
                self._key = key
                self._seen = True
                self._load(self._load_copy())
        if self._error is not None:
            raise self._error
        assert self._state is not None
        return self._state

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


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class GuardAdmin:
    """The admin's side of one bot's guard (`profitguard guard`, the dashboard).

    Each switch is recorded in the bot's trades database first, then written to the
    file, under the file's lock: a file lost or torn after that lifts nothing. A reset
    that cannot be recorded is refused (the bot would keep its kill switch on). The
    database is never created from here: without it, the file alone holds the switches
    until the bot records them (`missing_database` says so)."""

    def __init__(
        self, path: Path, db_url: str | None, bot: str | None, warn: Callable[[str], None] = _warn
    ) -> None:
        self.path = Path(path)
        self.db_url = db_url
        self.bot = bot  # the bot's `BotIdentity.label`, written into the file
        self.warn = warn
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
        """The copy and its recorded state ((None, None) without a database, or with a
        warning when it cannot be read; `required`: raises `GuardActionError` then)."""
        if self.missing_database() is not None:
            return None, None
        if self._copy is None:
            self._copy = GuardCopy(str(self.db_url))
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
        """The state in force as the bot sees it; raises `GuardStateError` for a broken
        file, or one written for another bot."""
        return _in_force(self.path, self.bot, self.recorded()[1])

    def apply(self, action: str, reason: str, now: datetime) -> GuardState:
        """Switch `action` (pause, resume, kill, reset) with `reason`; the new state.
        Raises `GuardActionError` when it does not apply, or for a reset it cannot record."""
        with locked(self.path):
            copy, recorded = self.recorded(required=action == "reset")
            try:
                current = _in_force(self.path, self.bot, recorded)
            except GuardStateError as exc:
                # A fresh file without the kill switch would lift one the broken file had
                # on (the bot keeps the last good state): only kill and reset write it.
                if action in ("pause", "resume"):
                    raise st.GuardActionError(
                        f"{exc}; 'kill' or 'reset --confirm' writes a fresh file"
                    ) from None
                current = GuardState()
                backup = self.path.with_name(f"{self.path.name}.corrupt-{now:%Y%m%dT%H%M%S}")
                os.replace(self.path, backup)
                print(f"the unreadable guard file was moved to {backup}")
            reason = reason or f"profitguard guard {action}"
            if action == "pause":
                new = st.pause(current, reason, now)
            elif action == "resume":
                new = st.resume(current, now)
            elif action == "kill":
                new = st.kill(current, reason, now)
            else:
                new = st.reset(current, now)
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
