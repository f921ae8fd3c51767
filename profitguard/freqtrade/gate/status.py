"""The status file `profitguard guard status` and `profitguard dashboard` show (dry-run
and live): the trading state, every limit against the account, the last entry checked,
the refusal counts and the last refusals, and what the strategy publishes (`monitor`:
the open trades in R, events, watchdog alerts, callback errors); rewritten at most once
a second. `own_files`: the bot's guard and status files, its own."""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from profitguard.bot_identity import BotClaimError, claim, identity_of
from profitguard.guard_store import SHARED_GUARD_FILE, GuardCopy, GuardFile, write_json_atomic
from profitguard.risk.book import Account
from profitguard.risk.checks import Check
from profitguard.risk.config import RiskConfig
from profitguard.risk.pipeline import entry_limits, portfolio_checks
from profitguard.risk.state import GuardStateError, TradingState

log = logging.getLogger("profitguard.freqtrade.gate")

STATUS_INTERVAL_S = 1.0


def own_files(
    ft_config: Any, userdir: Path, copy: GuardCopy, config: RiskConfig
) -> tuple[GuardFile, StatusFile]:
    """This bot's guard and status files (`bot_identity`), held for as long as it runs.

    Refuses to start (OperationalException, naming the file and the other bot) when
    another running bot holds them, or when the guard file was written for another
    bot; warns about a guard file shared by every bot (no longer read)."""
    from freqtrade.exceptions import OperationalException

    identity = identity_of(ft_config)
    try:
        claim(identity, userdir)
    except BotClaimError as exc:
        raise OperationalException(f"profitguard: {exc}") from None
    guard = GuardFile(identity.guard_path(userdir), copy, bot=identity.label)
    try:
        guard.read()
    except GuardStateError as exc:
        if guard.foreign is not None:
            raise OperationalException(f"profitguard: {exc}") from None
    shared = userdir / SHARED_GUARD_FILE
    if shared.exists():
        log.warning(
            "profitguard: %s is no longer read: each bot has its own guard file, this one's "
            "is %s ('profitguard guard --config <this bot's config>' acts on it)",
            shared,
            guard.path,
        )
    return guard, StatusFile(identity.status_path(userdir), config)


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
