"""The status file `profitguard guard status` and `profitguard dashboard` show (dry-run
and live): the trading state, every limit against the account, the last entry checked,
the refusal counts and the last refusals, and what the strategy publishes (`monitor`:
the open trades in R, events, watchdog alerts, callback errors); rewritten at most once
a second."""

from __future__ import annotations

import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from profitguard.risk.book import Account
from profitguard.risk.checks import Check
from profitguard.risk.config import RiskConfig
from profitguard.risk.pipeline import entry_limits, portfolio_checks
from profitguard.risk.state import TradingState, write_json_atomic

STATUS_INTERVAL_S = 1.0


class StatusFile:
    def __init__(self, path: Path, config: RiskConfig) -> None:
        self.path = path
        self.config = config
        self.last_written = -math.inf  # time.monotonic() of the last write

    def due(self) -> bool:
        return time.monotonic() - self.last_written >= STATUS_INTERVAL_S

    def write(
        self,
        now: datetime,
        state: TradingState,
        checks: list[Check],
        account: Account,
        *,
        last_entry: tuple[str, datetime, tuple[Check, ...]] | None,
        refusals: dict[str, int],
        checked: int,
        published: dict[str, Any] | None = None,
        recent_refusals: list[tuple[datetime, str, Check]] = (),
    ) -> None:
        self.last_written = time.monotonic()
        every = (*checks, *portfolio_checks(self.config, account), *entry_limits(self.config))
        write_json_atomic(
            self.path,
            {
                "version": 1,
                "updated_at": now.isoformat(),
                "state": state.value,
                "equity": account.equity,
                "checks": [c.as_json() for c in every],
                "last_entry": _last_entry_json(last_entry),
                "refusals": refusals,
                "checked": checked,
                "recent_refusals": [
                    {"time": t.isoformat(), "pair": p, **c.as_json()} for t, p, c in recent_refusals
                ],
                **(published or {}),
            },
        )


def _last_entry_json(last: tuple[str, datetime, tuple[Check, ...]] | None) -> dict[str, Any] | None:
    if last is None:
        return None
    pair, when, checks = last
    return {"pair": pair, "time": when.isoformat(), "checks": [c.as_json() for c in checks]}
