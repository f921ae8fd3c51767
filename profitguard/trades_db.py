"""Freqtrade's trades database, read and written by profitguard through one door.

Freqtrade keeps its trades wherever its `db_url` points: SQLite by default,
PostgreSQL or MySQL in production. Every part of profitguard that reads that
database (`report --db`, `guard status`'s figures, the chaos records) or writes to
it (the guard state's copy, table `profitguard_guard`) goes through this module,
with SQLAlchemy Core on the same URL the bot uses: whatever Freqtrade accepts,
profitguard reads. No Freqtrade import: the command line opens the database the
bot does without starting Freqtrade.

Values come back as the database driver gives them: a date is a `datetime` from
PostgreSQL and a string from SQLite, a flag a bool or 0/1; readers accept both.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

GUARD_TABLE = "profitguard_guard"
GUARD_ROW = "guard"


class TradesDatabaseError(RuntimeError):
    """The database cannot be opened, read or written; the message names it."""


def database_url(target: str | Path) -> str:
    """`target` as a SQLAlchemy URL: a URL is kept, a file path becomes sqlite's."""
    text = str(target)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


def describe(url: str) -> str:
    """The URL for messages, its password hidden."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy parses: say what was given
        return url


def sqlite_file(url: str) -> Path | None:
    """The file of a sqlite `url` (None: not sqlite, or in memory)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class TradesDatabase:
    """One trades database (`url`, SQLAlchemy's form, as in Freqtrade's `db_url`).

    The engine is made on first use and kept; `close` releases its connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Any = None
        self._guard_ready = False

    @property
    def where(self) -> str:
        """The database for messages: a SQLite file's path, else the URL (no password)."""
        path = sqlite_file(self.url)
        return str(path) if path is not None else describe(self.url)

    def exists(self) -> bool:
        """False only for a sqlite file that is not there (opening it would create it);
        a server database is assumed there (opening it says otherwise)."""
        path = sqlite_file(self.url)
        return path is None or path.is_file()

    def _failed(self, exc: Exception) -> TradesDatabaseError:
        return TradesDatabaseError(f"{self.where}: {type(exc).__name__}: {exc}")

    def engine(self) -> Any:
        if self._engine is None:
            from sqlalchemy import create_engine

            args = {"check_same_thread": False} if self.url.startswith("sqlite") else {}
            try:
                self._engine = create_engine(self.url, connect_args=args)
            except Exception as exc:
                raise self._failed(exc) from None
        return self._engine

    def has_table(self, name: str) -> bool:
        from sqlalchemy import inspect

        try:
            return inspect(self.engine()).has_table(name)
        except TradesDatabaseError:
            raise
        except Exception as exc:
            raise self._failed(exc) from None

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every row of a SELECT, each as a dict of column -> value."""
        from sqlalchemy import text

        try:
            with self.engine().connect() as conn:
                return [dict(r._mapping) for r in conn.execute(text(sql), dict(params or {}))]
        except TradesDatabaseError:
            raise
        except Exception as exc:
            raise self._failed(exc) from None

    def table_rows(self, table: str, order_by: str = "id") -> list[dict[str, Any]]:
        """Every row of one of Freqtrade's tables (none while it is not created yet)."""
        if not self.exists() or not self.has_table(table):
            return []
        return self.rows(f"SELECT * FROM {table} ORDER BY {order_by}")

    # ----------------------------------------------------- Freqtrade's tables

    def closed_trades(self) -> list[dict[str, Any]]:
        if not self.has_table("trades"):
            return []
        return self.rows(
            "SELECT * FROM trades WHERE is_open = :open ORDER BY close_date, id", {"open": False}
        )

    def filled_orders(self, trade_id: int) -> list[dict[str, Any]]:
        return self.rows(
            "SELECT * FROM orders WHERE ft_trade_id = :trade AND filled > 0 "
            "ORDER BY order_filled_date, id",
            {"trade": trade_id},
        )

    def trade_columns(self, columns: tuple[str, ...]) -> list[dict[str, Any]]:
        """`columns` of every trade (none before the bot made its tables)."""
        if not self.exists() or not self.has_table("trades"):
            return []
        return self.rows(f"SELECT {', '.join(columns)} FROM trades")

    # ------------------------------------------- profitguard's own: the guard copy

    def _guard_table(self) -> None:
        from sqlalchemy import text

        if self._guard_ready:
            return
        try:
            with self.engine().begin() as conn:
                conn.execute(
                    text(
                        f"CREATE TABLE IF NOT EXISTS {GUARD_TABLE} "
                        "(name VARCHAR(32) PRIMARY KEY, state TEXT NOT NULL)"
                    )
                )
            self._guard_ready = True
        except TradesDatabaseError:
            raise
        except Exception as exc:
            raise self._failed(exc) from None

    def load_guard(self) -> str | None:
        """The guard state's copy as recorded (JSON text), None: none recorded."""
        self._guard_table()
        rows = self.rows(f"SELECT state FROM {GUARD_TABLE} WHERE name = :name", {"name": GUARD_ROW})
        return rows[0]["state"] if rows else None

    def save_guard(self, payload: str) -> None:
        """Replace the guard state's copy with `payload`, in one transaction."""
        from sqlalchemy import text

        self._guard_table()
        try:
            with self.engine().begin() as conn:
                conn.execute(
                    text(f"DELETE FROM {GUARD_TABLE} WHERE name = :name"), {"name": GUARD_ROW}
                )
                conn.execute(
                    text(f"INSERT INTO {GUARD_TABLE} (name, state) VALUES (:name, :state)"),
                    {"name": GUARD_ROW, "state": payload},
                )
        except Exception as exc:
            raise self._failed(exc) from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._guard_ready = False
