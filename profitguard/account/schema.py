"""The shared account's tables (SQLAlchemy Core), created when missing.

One row per account (its kill switch and pause, with who and why), one per bot (its
heartbeat and equity), the reservations of entries on their way (with their expiry),
every bot's open positions and its closed trades' profit. Times are the database's
(`now()`), one clock for bots on several hosts.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

METADATA = MetaData()
NAME = String(64)
TIME = DateTime(timezone=True)

ACCOUNT = Table(
    "profitguard_account",
    METADATA,
    Column("name", NAME, primary_key=True),
    Column("created_at", TIME, nullable=False),
    Column("halted", Boolean, nullable=False, default=False),
    Column("halted_reason", Text),
    Column("halted_at", TIME),
    Column("halted_by", Text),
    Column("paused", Boolean, nullable=False, default=False),
    Column("paused_reason", Text),
    Column("paused_at", TIME),
    Column("paused_by", Text),
    Column("streak_since", TIME),  # the losing streak counts trades closed after this
    Column("reset_at", TIME),
    Column("updated_at", TIME),
)

BOT = Table(
    "profitguard_account_bot",
    METADATA,
    Column("account", NAME, primary_key=True),
    Column("bot", NAME, primary_key=True),  # Freqtrade's bot_name
    Column("db_url", Text),  # its trades database (password hidden)
    Column("host", Text),  # host:pid of the process that last beat
    Column("started_at", TIME),
    Column("heartbeat_at", TIME),
    Column("equity", Float),
)

RESERVATION = Table(
    "profitguard_account_reservation",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", NAME, nullable=False, index=True),
    Column("bot", NAME, nullable=False),
    Column("pair", String(64), nullable=False),
    Column("is_short", Boolean, nullable=False),
    Column("rate", Float, nullable=False),
    Column("amount", Float, nullable=False),
    Column("stake", Float, nullable=False),
    Column("stop", Float, nullable=False),
    Column("created_at", TIME, nullable=False),
    Column("expires_at", TIME, nullable=False),
)

POSITION = Table(
    "profitguard_account_position",
    METADATA,
    Column("account", NAME, primary_key=True),
    Column("bot", NAME, primary_key=True),
    Column("trade_id", Integer, primary_key=True),
    Column("pair", String(64), nullable=False),
    Column("is_short", Boolean, nullable=False),
    Column("entry", Float, nullable=False),
    Column("amount", Float, nullable=False),
    Column("stop", Float, nullable=False),  # the stop in force
    Column("stake", Float, nullable=False),
    Column("opened_at", TIME),
)

CLOSED = Table(
    "profitguard_account_closed",
    METADATA,
    Column("account", NAME, primary_key=True),
    Column("bot", NAME, primary_key=True),
    Column("trade_id", Integer, primary_key=True),
    Column("pair", String(64), nullable=False),
    Column("closed_at", TIME, nullable=False, index=True),
    Column("profit", Float, nullable=False),
)
