"""The settings for operating a live bot: the watchdog (in the bot) and the dashboard
(its own process), both in the config's `profitguard` section:

    "profitguard": {
        "watchdog": {"unprotected_loops": 3, "action": "report", "stale_price_s": 300},
        "dashboard": {"username": "admin", "password": "…", "metrics_token": "…"}
    }
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from profitguard.engine import ConfigError
from profitguard.engine.protection_config import check_known_keys

WATCHDOG_ACTIONS = ("report", "exit")


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchdogSettings:
    """What the bot does about an open trade without protection, or without prices.

    `unprotected_loops`: with `stoploss_on_exchange`, a trade with no resting stop order
    for more than this many bot loops is reported (`action: "report"`) or closed at
    market (`action: "exit"`). `stale_price_s`: a trade whose price has not changed for
    this many seconds is reported (its stop in the bot sees no price)."""

    unprotected_loops: int = 3
    action: str = "report"
    stale_price_s: float = 300.0

    def __post_init__(self) -> None:
        where = "profitguard.watchdog"
        loops = self.unprotected_loops
        if isinstance(loops, bool) or not isinstance(loops, int) or loops < 1:
            raise ConfigError(
                f"'{where}.unprotected_loops' must be an integer >= 1, was {loops!r}",
                field=f"{where}.unprotected_loops",
            )
        if self.action not in WATCHDOG_ACTIONS:
            raise ConfigError(
                f"'{where}.action' must be one of {', '.join(WATCHDOG_ACTIONS)}, "
                f"was {self.action!r}",
                field=f"{where}.action",
            )
        stale = self.stale_price_s
        if (
            isinstance(stale, bool)
            or not isinstance(stale, int | float)
            or not math.isfinite(stale)
            or stale <= 0
        ):
            raise ConfigError(
                f"'{where}.stale_price_s' must be a number of seconds > 0, was {stale!r}",
                field=f"{where}.stale_price_s",
            )

    @classmethod
    def from_mapping(cls, raw: Any) -> WatchdogSettings:
        return cls(**_checked(raw, "profitguard.watchdog", cls))


# A dashboard served on another address than loopback needs at least this password.
MIN_REMOTE_PASSWORD = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardSettings:
    """Who may use `profitguard dashboard`: HTTP basic auth with `username` and
    `password` (without this section: Freqtrade's `api_server` ones); `/metrics` is
    open unless `metrics_token` is set (then `Authorization: Bearer <token>`)."""

    username: str | None = None
    password: str | None = None
    metrics_token: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and (not isinstance(value, str) or not value):
                shown = "<hidden>" if f.name != "username" and isinstance(value, str) else value
                raise ConfigError(
                    f"'profitguard.dashboard.{f.name}' must be a non-empty text, was {shown!r}",
                    field=f"profitguard.dashboard.{f.name}",
                )

    def __repr__(self) -> str:  # never the password or the token
        return f"DashboardSettings(username={self.username!r}, password=<hidden>)"

    @classmethod
    def from_mapping(cls, raw: Any) -> DashboardSettings:
        return cls(**_checked(raw, "profitguard.dashboard", cls))


def _checked(raw: Any, where: str, cls: type) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"'{where}' must be an object, was {raw!r}", field=where)
    check_known_keys(raw, (f.name for f in fields(cls)), where)
    return dict(raw)
