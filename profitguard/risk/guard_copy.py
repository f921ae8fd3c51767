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

SQLAlchemy Core on the bot's `db_url` (Freqtrade's engine library), no Freqtrade
import: the command line opens the same database the bot does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from profitguard.risk.state import GuardState, GuardStateError

TABLE = "profitguard_guard"
ROW = "guard"


class GuardCopyError(RuntimeError):
    """The copy in the database cannot be read or written."""


class GuardCopy:
    """The guard state's copy in the database at `db_url` (the table made on first use)."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._engine: Any = None

    @property
    def where(self) -> str:
        """The database, for messages (no password)."""
        from sqlalchemy.engine import make_url

        return make_url(self.db_url).render_as_string(hide_password=True)

    def _connect(self) -> Any:
        if self._engine is None:
            from sqlalchemy import create_engine, text

            args = {"check_same_thread": False} if self.db_url.startswith("sqlite") else {}
            try:
                engine = create_engine(self.db_url, future=True, connect_args=args)
                with engine.begin() as conn:
                    conn.execute(
                        text(
                            f"CREATE TABLE IF NOT EXISTS {TABLE} "
                            "(name VARCHAR(32) PRIMARY KEY, state TEXT NOT NULL)"
                        )
                    )
            except Exception as exc:
                raise GuardCopyError(f"{self.where}: {type(exc).__name__}: {exc}") from None
            self._engine = engine
        return self._engine

    def load(self) -> GuardState | None:
        """The recorded guard state (None: none recorded)."""
        from sqlalchemy import text

        try:
            with self._connect().connect() as conn:
                row = conn.execute(
                    text(f"SELECT state FROM {TABLE} WHERE name = :name"), {"name": ROW}
                ).first()
        except GuardCopyError:
            raise
        except Exception as exc:
            raise GuardCopyError(f"{self.where}: {type(exc).__name__}: {exc}") from None
        if row is None:
            return None
        where = f"{TABLE} in {self.where}"
        try:
            data = json.loads(row[0])
        except (TypeError, ValueError) as exc:
            raise GuardCopyError(f"{where}: not valid JSON: {exc}") from None
        try:
            return GuardState.from_json(data, where=where)
        except GuardStateError as exc:
            raise GuardCopyError(str(exc)) from None

    def save(self, state: GuardState) -> None:
        """Record `state` (replacing the copy, in one transaction)."""
        from sqlalchemy import text

        payload = json.dumps(state.to_json(), sort_keys=True)
        try:
            with self._connect().begin() as conn:
                conn.execute(text(f"DELETE FROM {TABLE} WHERE name = :name"), {"name": ROW})
                conn.execute(
                    text(f"INSERT INTO {TABLE} (name, state) VALUES (:name, :state)"),
                    {"name": ROW, "state": payload},
                )
        except GuardCopyError:
            raise
        except Exception as exc:
            raise GuardCopyError(f"{self.where}: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def sqlite_file(db_url: str) -> Path | None:
    """The file of a sqlite `db_url` (None: not sqlite, or in memory)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)
