"""A shared account (`profitguard.risk.account`): bots whose configs name the same
account share one risk budget kept in a PostgreSQL database.

    "account": {"name": "main", "db_url": "postgresql+psycopg://…",
                "reservation_ttl": 60, "max_open_positions": 3, "max_heat": 0.3}

The account's own keys are here; the account-wide limits (`ACCOUNT_RULE_CODES`:
realized losses, the losing streak, open positions, exposure per asset, heat,
correlated positions, the minimum balance) sit beside them with the same names,
defaults and checks as the bot's own limits (`config.AccountLimits`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from profitguard.engine import ConfigError
from profitguard.engine.protection_config import _enum
from profitguard.risk import validators
from profitguard.risk.checks import Rule

# The rules that hold for the whole account; the others (stake cap, reward:risk,
# slippage, confidence, liquidation) are about one entry and stay each bot's own.
ACCOUNT_RULE_CODES = frozenset(
    {
        Rule.MIN_BALANCE,
        Rule.DAILY_LOSS,
        Rule.WEEKLY_LOSS,
        Rule.MONTHLY_LOSS,
        Rule.LOSS_STREAK,
        Rule.MAX_POSITIONS,
        Rule.ASSET_EXPOSURE,
        Rule.HEAT,
        Rule.CORRELATION,
    }
)
MAX_RESERVATION_TTL = 3600.0  # seconds: a reservation never holds budget longer


class AccountEquity(StrEnum):
    # every bot trades the same exchange balance: the admitting bot's equity is the account's
    SHARED = "shared"
    # each bot trades its own capital (available_capital, its own wallet): their sum
    SUM = "sum"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountConfig:
    """The account's name and database, how long a reservation holds, when a bot's
    heartbeat is stale, how the account's equity is made, and its limits."""

    name: str
    db_url: str
    reservation_ttl: float = 60.0  # seconds an unfilled reservation holds its share
    heartbeat_stale: float = 60.0  # seconds without a heartbeat: the bot is shown stale
    equity: AccountEquity = AccountEquity.SHARED
    limits: Any = None  # `config.AccountLimits`
    source: str = field(default="profitguard.risk.account", compare=False, repr=False)

    OWN_KEYS = ("name", "db_url", "reservation_ttl", "heartbeat_stale", "equity")

    def __post_init__(self) -> None:
        p = self.source
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 64:
            raise ConfigError(
                f"'{p}.name' must be a name of 1 to 64 characters, was {self.name!r}",
                field=f"{p}.name",
            )
        _check_url(f"{p}.db_url", self.db_url)
        validators.above_zero(f"{p}.reservation_ttl", self.reservation_ttl)
        validators.at_most(
            f"{p}.reservation_ttl",
            self.reservation_ttl,
            MAX_RESERVATION_TTL,
            "its bound in seconds",
        )
        validators.above_zero(f"{p}.heartbeat_stale", self.heartbeat_stale)
        object.__setattr__(self, "equity", _enum(f"{p}.equity", AccountEquity, self.equity))


def _check_url(name: str, value: Any) -> None:
    """A PostgreSQL URL (the account's row lock needs SELECT … FOR UPDATE). Read by its
    scheme only: the database is opened above risk/ (`profitguard.account`)."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"'{name}' must be a database URL, was {value!r}", field=name)
    scheme, sep, _ = value.partition("://")
    if not sep or not re.fullmatch(r"[\w+]+", scheme):
        raise ConfigError(
            f"'{name}' must be a database URL such as "
            f"'postgresql+psycopg://user:password@host/db', was {value!r}",
            field=name,
        )
    if scheme.split("+", 1)[0] != "postgresql":
        shown = re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", value)  # no password
        raise ConfigError(
            f"'{name}' must be a PostgreSQL URL (postgresql+psycopg://…): the account's "
            f"admission locks its row, was {shown!r}",
            field=name,
        )
