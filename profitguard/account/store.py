"""The shared account in its PostgreSQL database: every read and write of it.

Admission (`admit`) and publishing (`publish`) each run in ONE transaction that
first locks the account's row (SELECT … FOR UPDATE): two bots entering on the same
instant are served one after the other, the second seeing the first's reservation,
and a bot's reservation turns into its position in one step no admission can see
half of. The decision inside `admit` is the caller's (the gate's pure rules).
Every database failure is raised as `AccountError`, naming the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from profitguard.account import schema as t
from profitguard.account.reading import lock_row, read_snapshot, switches_of, utc
from profitguard.account.snapshot import AccountSwitches, Snapshot
from profitguard.risk.book import ClosedTrade, OpenPosition
from profitguard.trades_db import describe

T = TypeVar("T")
# the advisory lock key serializing the tables' creation (any number, fixed for all bots)
CREATE_LOCK = 0x70675F6163  # "pg_ac"


class AccountError(RuntimeError):
    """The account's database cannot be reached, read or written."""


class BotAlive(ValueError):
    """The bot to forget has a fresh heartbeat: it is still running."""


class BotNameTaken(ValueError):
    """Another bot of the account, alive, has this bot's name (its own trades database)."""


@dataclass(frozen=True, slots=True)
class Published:
    """What a bot's publish left: the account's switches and the database's time."""

    switches: AccountSwitches
    at: datetime


class AccountStore:
    def __init__(self, url: str, name: str, *, reservation_ttl: float = 60.0) -> None:
        self.url = url
        self.name = name
        self.ttl = timedelta(seconds=reservation_ttl)
        self._engine: Any = None
        self._ready = False

    @property
    def where(self) -> str:
        return f"account {self.name!r} at {describe(self.url)}"

    def engine(self) -> Any:
        if self._engine is None:
            from sqlalchemy import create_engine

            # short timeouts: a lost database refuses entries quickly, it does not hang a loop
            self._engine = create_engine(
                self.url,
                pool_pre_ping=True,
                connect_args={
                    "connect_timeout": 5,
                    "options": "-c statement_timeout=15000 -c lock_timeout=15000",
                },
            )
        return self._engine

    def _run(self, work: Callable[[Any], T]) -> T:
        """`work(conn)` in one transaction (the tables made first, once)."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            if not self._ready:
                self._create()
            with self.engine().begin() as conn:
                return work(conn)
        except SQLAlchemyError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise AccountError(f"{self.where}: {type(exc).__name__}: {first}") from exc

    def _create(self) -> None:
        """The tables and the account's row, once. Bots started together on a fresh
        database would race to create the same tables (PostgreSQL refuses the second
        CREATE TABLE of a name): a transaction-scoped advisory lock takes them in turn."""
        from sqlalchemy import func, select, text
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        with self.engine().begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CREATE_LOCK})
            t.METADATA.create_all(conn)
            found = conn.execute(select(t.ACCOUNT.c.name).where(t.ACCOUNT.c.name == self.name))
            if found.first() is None:
                conn.execute(
                    pg_insert(t.ACCOUNT)
                    .values(name=self.name, created_at=func.now(), halted=False, paused=False)
                    .on_conflict_do_nothing()
                )
        self._ready = True

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def snapshot(self) -> Snapshot:
        """The account as it stands (for `guard status`), read under its lock."""
        return self._run(lambda conn: read_snapshot(conn, self.name, lock_row(conn, self.name)))

    # ----------------------------------------------------------- the bots

    def register(
        self, bot: str, *, db_url: str | None, host: str, stale_after: float = 60.0
    ) -> datetime:
        """The bot's row (made, or taken over from this bot's last run or a bot silent for
        `stale_after` seconds); the database's time of its start. Raises `BotNameTaken`
        when a live bot of another trades database has the name."""
        from sqlalchemy import func, select
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        def work(conn: Any) -> datetime:
            lock_row(conn, self.name)
            age = func.extract("epoch", func.now() - t.BOT.c.heartbeat_at)
            other = conn.execute(
                select(t.BOT.c.db_url, t.BOT.c.host, age.label("age")).where(
                    t.BOT.c.account == self.name, t.BOT.c.bot == bot
                )
            ).first()
            if (
                other is not None
                and other.db_url != db_url
                and other.age is not None
                and float(other.age) < stale_after
            ):
                raise BotNameTaken(
                    f"{self.where}: a bot named {bot!r} is running already ({other.host}, "
                    f"trades database {other.db_url}, heartbeat {float(other.age):.0f} s ago): "
                    "give each bot of the account its own 'bot_name'"
                )
            values = {"db_url": db_url, "host": host, "started_at": func.now()}
            conn.execute(
                pg_insert(t.BOT)
                .values(account=self.name, bot=bot, **values)
                .on_conflict_do_update(index_elements=["account", "bot"], set_=values)
            )
            return _db_now(conn)

        return self._run(work)

    def admit(
        self,
        bot: str,
        reservation: OpenPosition,
        decide: Callable[[Snapshot], T],
        allowed: Callable[[T], bool],
    ) -> T:
        """Under the account's lock: drop expired reservations, read the account, ask
        `decide`; when `allowed` by its answer, reserve `reservation` for `bot` until the
        reservation time-to-live runs out. One transaction."""
        from sqlalchemy import delete, func, insert

        def work(conn: Any) -> T:
            row = lock_row(conn, self.name)
            conn.execute(
                delete(t.RESERVATION).where(
                    t.RESERVATION.c.account == self.name,
                    t.RESERVATION.c.expires_at < func.now(),
                )
            )
            verdict = decide(read_snapshot(conn, self.name, row))
            if allowed(verdict):
                conn.execute(
                    insert(t.RESERVATION).values(
                        account=self.name,
                        bot=bot,
                        pair=reservation.pair,
                        is_short=reservation.is_short,
                        rate=reservation.entry,
                        amount=reservation.amount,
                        stake=reservation.stake,
                        stop=reservation.stop,
                        created_at=func.now(),
                        expires_at=func.now() + self.ttl,
                    )
                )
            return verdict

        return self._run(work)

    def publish(
        self,
        bot: str,
        *,
        equity: float | None,
        positions: Sequence[tuple[int, OpenPosition]],
        closed: Iterable[tuple[int, ClosedTrade]],
        released_before: datetime | None,
        host: str,
    ) -> Published:
        """The bot's heartbeat, equity, open positions (replacing its last ones) and newly
        closed trades; its reservations that became positions (their pair is open) or that
        were made before `released_before` (its last publish: an entry not placed since)
        are released. Returns the account's switches. One transaction, under the lock."""
        from sqlalchemy import delete, func, insert, or_
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        def work(conn: Any) -> Published:
            row = lock_row(conn, self.name)
            beat = {"heartbeat_at": func.now(), "equity": equity, "host": host}
            conn.execute(
                pg_insert(t.BOT)
                .values(account=self.name, bot=bot, started_at=func.now(), **beat)
                .on_conflict_do_update(index_elements=["account", "bot"], set_=beat)
            )
            mine = (t.POSITION.c.account == self.name) & (t.POSITION.c.bot == bot)
            conn.execute(delete(t.POSITION).where(mine))
            if positions:
                conn.execute(
                    insert(t.POSITION),
                    [
                        {
                            "account": self.name,
                            "bot": bot,
                            "trade_id": trade_id,
                            "pair": p.pair,
                            "is_short": p.is_short,
                            "entry": p.entry,
                            "amount": p.amount,
                            "stop": p.stop,
                            "stake": p.stake,
                            "opened_at": p.opened_at,
                        }
                        for trade_id, p in positions
                    ],
                )
            rows = [
                {
                    "account": self.name,
                    "bot": bot,
                    "trade_id": trade_id,
                    "pair": c.pair,
                    "closed_at": c.closed_at,
                    "profit": c.profit,
                }
                for trade_id, c in closed
            ]
            if rows:
                conn.execute(pg_insert(t.CLOSED).on_conflict_do_nothing(), rows)
            res = t.RESERVATION.c
            gone = [res.pair.in_([p.pair for _, p in positions])]
            if released_before is not None:
                gone.append(res.created_at < released_before)
            conn.execute(
                delete(t.RESERVATION).where(res.account == self.name, res.bot == bot, or_(*gone))
            )
            return Published(switches_of(row), _db_now(conn))

        return self._run(work)

    def release(self, bot: str) -> None:
        """Every reservation of `bot` (a bot stopping cleanly)."""
        from sqlalchemy import delete

        res = t.RESERVATION.c
        self._run(
            lambda conn: conn.execute(
                delete(t.RESERVATION).where(res.account == self.name, res.bot == bot)
            )
        )

    def forget(self, bot: str, *, alive_within: float) -> int | None:
        """Drop `bot`'s row, positions and reservations (None: no such bot); closed trades
        stay. Raises `BotAlive` when its heartbeat is younger than `alive_within` s."""
        from sqlalchemy import delete, func, select

        def work(conn: Any) -> int | None:
            lock_row(conn, self.name)
            age = func.extract("epoch", func.now() - t.BOT.c.heartbeat_at)
            row = conn.execute(
                select(age.label("age")).where(t.BOT.c.account == self.name, t.BOT.c.bot == bot)
            ).first()
            if row is None:
                return None
            if row.age is not None and float(row.age) < alive_within:
                raise BotAlive(
                    f"{self.where}: bot {bot!r} is running (heartbeat {float(row.age):.0f} s "
                    "ago): stop it first"
                )
            dropped = 0
            for table in (t.POSITION, t.RESERVATION):
                gone = conn.execute(
                    delete(table).where(table.c.account == self.name, table.c.bot == bot)
                )
                dropped += gone.rowcount
            conn.execute(delete(t.BOT).where(t.BOT.c.account == self.name, t.BOT.c.bot == bot))
            return dropped

        return self._run(work)

    # --------------------------------------------------------- switches

    def switches(self) -> AccountSwitches:
        return self._run(lambda conn: switches_of(lock_row(conn, self.name)))

    def set_switches(
        self, change: Callable[[AccountSwitches, datetime], AccountSwitches]
    ) -> AccountSwitches:
        """`change(current, now)` written in one transaction under the lock."""
        from sqlalchemy import update

        def work(conn: Any) -> AccountSwitches:
            current = switches_of(lock_row(conn, self.name))
            new = change(current, _db_now(conn))
            g = new.guard
            conn.execute(
                update(t.ACCOUNT)
                .where(t.ACCOUNT.c.name == self.name)
                .values(
                    halted=g.halted,
                    halted_reason=g.halted_reason,
                    halted_at=g.halted_at,
                    halted_by=new.halted_by,
                    paused=g.paused,
                    paused_reason=g.paused_reason,
                    paused_at=g.paused_at,
                    paused_by=new.paused_by,
                    streak_since=g.streak_since,
                    reset_at=g.reset_at,
                    updated_at=g.updated_at,
                )
            )
            return new

        return self._run(work)


def _db_now(conn: Any) -> datetime:
    from sqlalchemy import func, select

    return utc(conn.execute(select(func.now())).scalar_one())
