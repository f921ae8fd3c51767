"""The bot's own guard and status files (dry-run and live). The status file is what
`profitguard guard status` and the dashboard show: the trading state, every limit against
the account, the last entry checked, the refusals, and what the strategy publishes
(`monitor`: open trades in R, events, alerts); rewritten at most once a second."""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from freqtrade.exceptions import OperationalException

from profitguard.bot_identity import BotClaimError, claim, identity_of
from profitguard.guard_store import SHARED_GUARD_FILE, GuardCopy, GuardFile, write_json_atomic
from profitguard.risk.book import Account
from profitguard.risk.checks import Check
from profitguard.risk.config import RiskConfig
from profitguard.risk.pipeline import entry_limits, portfolio_checks
from profitguard.risk.state import GuardStateError, TradingState

log = logging.getLogger("profitguard.freqtrade.gate")

STATUS_INTERVAL_S = 1.0


def own_files(ft_config: dict[str, Any], config: RiskConfig) -> tuple[GuardFile, StatusFile]:
    """This bot's guard and status files (`bot_identity`), held while it runs. Refuses to
    start when another running bot holds them, when the guard file was written for another
    bot, or without a trades database to keep the guard state's copy in."""
    db_url = ft_config.get("db_url")
    if not db_url:  # Freqtrade sets it in dry-run and live
        raise OperationalException(
            "profitguard: no 'db_url' in the config: the kill switch is kept in the "
            "trades database too, so a lost guard file cannot lift it"
        )
    userdir = Path(ft_config["user_data_dir"])
    identity = identity_of(ft_config)
    try:
        claim(identity, userdir)
    except BotClaimError as exc:
        raise OperationalException(f"profitguard: {exc}") from None
    guard = GuardFile(identity.guard_path(userdir), GuardCopy(db_url), bot=identity.label)
    try:
        guard.read()
    except GuardStateError as exc:
        if guard.foreign is not None:
            raise OperationalException(f"profitguard: {exc}") from None
    if (userdir / SHARED_GUARD_FILE).exists():
        log.warning(
            "profitguard: %s is no longer read: each bot has its own guard file, this one's "
            "is %s ('profitguard guard --config <this bot's config>' acts on it)",
            userdir / SHARED_GUARD_FILE,
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
        last_entry: tuple[str, datetime, tuple[Check, ...]] | None,
        log: Any,  # the gate's `RefusalLog`
        published: dict[str, Any] | None = None,
    ) -> None:
        self.last_written = time.monotonic()
        every = (*checks, *portfolio_checks(self.config, account), *entry_limits(self.config))
        if last_entry is not None:
            pair, when, entry_checks = last_entry
            last = {"pair": pair, "time": when.isoformat(), "checks": _json(entry_checks)}
        data = {
            "version": 1,
            "updated_at": now.isoformat(),
            "state": state.value,
            "equity": account.equity,
            "checks": _json(every),
            "last_entry": last if last_entry is not None else None,
            "refusals": dict(log.refusals),
            "checked": log.checked,
            "recent_refusals": [
                {"time": t.isoformat(), "pair": p, **c.as_json()} for t, p, c in log.recent
            ],
        }
        write_json_atomic(self.path, data | (published or {}))


def _json(checks: Any) -> list[dict[str, Any]]:
    return [c.as_json() for c in checks]
