"""A copy of the guard state in the bot's trades database: a lost file lifts nothing.

The guard file is what the admin writes; a file can be deleted, restored from an
old backup or torn. So the guard state is also kept in the trades database the
bot already relies on (its own table, `profitguard_guard`, one row): the
`profitguard guard` command writes it before the file, and the bot writes it
whenever the state it runs under differs. With that copy:
- a kill switch stays on until a `reset --confirm` newer than it, whatever the
  file says (`state.reconcile`);
- a missing or unreadable file where a state was recorded is an error (entries
  stop) that keeps the copy's kill switch on, across restarts too.

Kept through `profitguard.trades_db` (SQLAlchemy on the bot's `db_url`: SQLite,
PostgreSQL, whatever Freqtrade accepts), no Freqtrade import: the command line opens
the same database the bot does.
"""

from __future__ import annotations

import json

from profitguard.risk.state import GuardCopyError, GuardState, GuardStateError
from profitguard.trades_db import GUARD_TABLE, TradesDatabase, TradesDatabaseError, sqlite_file

TABLE = GUARD_TABLE
__all__ = ["TABLE", "GuardCopy", "GuardCopyError", "sqlite_file"]


class GuardCopy:
    """The guard state's copy in the database at `db_url` (the table made on first use)."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._db = TradesDatabase(db_url)

    @property
    def where(self) -> str:
        """The database, for messages (no password)."""
        return self._db.where

    def load(self) -> GuardState | None:
        """The recorded guard state (None: none recorded)."""
        try:
            recorded = self._db.load_guard()
        except TradesDatabaseError as exc:
            raise GuardCopyError(str(exc)) from None
        if recorded is None:
            return None
        where = f"{GUARD_TABLE} in {self.where}"
        try:
            data = json.loads(recorded)
        except (TypeError, ValueError) as exc:
            raise GuardCopyError(f"{where}: not valid JSON: {exc}") from None
        try:
            return GuardState.from_json(data, where=where)
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
