"""Reading the shared account in its PostgreSQL database: its row locked, and what it
holds as a `Snapshot` (positions, reservations, closed trades, bots, switches).

`AccountStore` calls these inside its transactions; rows become the gate's values
here (timestamps in UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from profitguard.account import schema as t
from profitguard.account.snapshot import AccountSwitches, BotSeen, Held, Snapshot
from profitguard.risk.book import ClosedTrade, OpenPosition
from profitguard.risk.state import GuardState


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def switches_of(row: Any) -> AccountSwitches:
    guard = GuardState(
        halted=bool(row["halted"]),
        halted_reason=row["halted_reason"],
        halted_at=utc(row["halted_at"]),
        paused=bool(row["paused"]),
        paused_reason=row["paused_reason"],
        paused_at=utc(row["paused_at"]),
        streak_since=utc(row["streak_since"]),
        reset_at=utc(row["reset_at"]),
        updated_at=utc(row["updated_at"]),
    )
    return AccountSwitches(guard=guard, halted_by=row["halted_by"], paused_by=row["paused_by"])


def lock_row(conn: Any, name: str) -> Any:
    """The account's row, locked until the transaction ends (SELECT … FOR UPDATE)."""
    from sqlalchemy import select

    row = conn.execute(select(t.ACCOUNT).where(t.ACCOUNT.c.name == name).with_for_update()).one()
    return row._mapping


def read_snapshot(conn: Any, name: str, row: Any) -> Snapshot:
    """The account `name` as it stands: its positions and reservations (held), closed
    trades, bots and switches (`row`: its locked row)."""
    from sqlalchemy import func, select

    held = [
        Held(
            r.bot,
            OpenPosition(
                pair=r.pair,
                is_short=r.is_short,
                entry=r.entry,
                amount=r.amount,
                stop=r.stop,
                stake=r.stake,
                opened_at=utc(r.opened_at),
            ),
            r.trade_id,
        )
        for r in conn.execute(
            select(t.POSITION)
            .where(t.POSITION.c.account == name)
            .order_by(t.POSITION.c.bot, t.POSITION.c.trade_id)
        )
    ]
    held += [
        Held(
            r.bot,
            OpenPosition(
                pair=r.pair,
                is_short=r.is_short,
                entry=r.rate,
                amount=r.amount,
                stop=r.stop,
                stake=r.stake,
                opened_at=utc(r.created_at),
            ),
        )
        for r in conn.execute(
            select(t.RESERVATION)
            .where(t.RESERVATION.c.account == name)
            .order_by(t.RESERVATION.c.id)
        )
    ]
    closed = tuple(
        (r.bot, ClosedTrade(pair=r.pair, closed_at=utc(r.closed_at), profit=r.profit))
        for r in conn.execute(
            select(t.CLOSED)
            .where(t.CLOSED.c.account == name)
            .order_by(t.CLOSED.c.closed_at, t.CLOSED.c.bot, t.CLOSED.c.trade_id)
        )
    )
    age = func.extract("epoch", func.now() - t.BOT.c.heartbeat_at)
    bots = tuple(
        BotSeen(
            r.bot,
            utc(r.heartbeat_at),
            float(r.age) if r.age is not None else None,
            r.equity,
            r.db_url,
            r.host,
        )
        for r in conn.execute(
            select(t.BOT, age.label("age")).where(t.BOT.c.account == name).order_by(t.BOT.c.bot)
        )
    )
    return Snapshot(
        name=name, switches=switches_of(row), held=tuple(held), closed=closed, bots=bots
    )
