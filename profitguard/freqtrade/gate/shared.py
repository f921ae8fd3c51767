"""A bot's side of a shared account (`profitguard.risk.account`), dry-run and live only.

- `admit` (after the bot's own gate passed an entry): the account-wide limits over
  every bot's positions, reservations and closed trades, by the gate's own rules
  (`risk.pipeline.evaluate`), in one transaction under the account's row lock; a
  pass reserves the entry's share (a slot, its heat, its stake in the asset);
- `loop` (every bot loop): the heartbeat, the bot's open positions (stop in force,
  stake) and newly closed trades published, its reservations that became trades or
  were never placed released, the account's kill switch and pause read;
- a database that cannot be reached refuses every entry (GUARD_STATE_UNREADABLE,
  naming the account) until it answers again; a kill switch read before stays on;
  stops, take-profits and the kill switch's exits go on (nothing here touches exits).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from profitguard.account.snapshot import (
    AccountSwitches,
    Snapshot,
    account_equity,
    account_of,
    naming_bots,
)
from profitguard.account.store import AccountError, AccountStore, BotNameTaken
from profitguard.risk.account_config import AccountConfig
from profitguard.risk.book import ClosedTrade, OpenPosition, Proposal
from profitguard.risk.pipeline import Verdict, evaluate, guard_checks, state_of
from profitguard.risk.rules import Correlation
from profitguard.risk.state import GuardState, GuardStateError
from profitguard.trades_db import describe, sqlite_file

log = logging.getLogger(__name__)


class SharedAccount:
    def __init__(self, config: AccountConfig, *, bot: str, db_url: str | None) -> None:
        self.config = config
        self.bot = bot
        self.db_url = _trades_db(db_url)
        self.host = f"{socket.gethostname()}:{os.getpid()}"
        self.store = AccountStore(
            config.db_url, config.name, reservation_ttl=config.reservation_ttl
        )
        self.switches: AccountSwitches | None = None  # as last read
        self.error: Exception | None = None
        self._registered_at: datetime | None = None
        self._last_publish: datetime | None = None
        self._closed_after: datetime | None = None  # closed trades published up to here

    def start(self) -> None:
        """Join the account; reservations left by this bot's last run are released at
        its first publish unless they became trades."""
        try:
            self._register()
            self.switches = self.store.switches()
            self._ok()
        except AccountError as exc:
            self._failed(exc)

    def _register(self) -> None:
        self._registered_at = self._last_publish = self.store.register(
            self.bot, db_url=self.db_url, host=self.host, stale_after=self.config.heartbeat_stale
        )

    def guard(self) -> GuardState | GuardStateError:
        """The account's switches, or why they cannot be trusted now (entries refused)."""
        if self.error is None and self.switches is not None:
            return self.switches.guard
        last = self.switches.guard if self.switches is not None else None
        why = self.error or "not read yet"
        return GuardStateError(
            f"shared account {self.config.name!r}: {why}; no entries until it answers",
            last_good=last,
        )

    def halted(self) -> bool:
        """The account's kill switch is on (as last read: a lost database lifts nothing)."""
        return self.switches is not None and self.switches.guard.halted

    def loop(
        self,
        *,
        equity: float | None,
        positions: Sequence[tuple[int, OpenPosition]],
        closed: Callable[[datetime | None], list[tuple[int, ClosedTrade]]],
    ) -> None:
        """Publish this bot's state; read the account's switches."""
        try:
            if self._registered_at is None:
                self._register()
            since = self._closed_after
            newly = closed(since - timedelta(seconds=1) if since is not None else None)
            published = self.store.publish(
                self.bot,
                equity=equity,
                positions=positions,
                closed=newly,
                released_before=self._last_publish,
                host=self.host,
            )
        except (AccountError, BotNameTaken) as exc:
            self._failed(exc)
            return
        if newly:
            latest = max(c.closed_at for _, c in newly)
            self._closed_after = latest if since is None else max(since, latest)
        self.switches = published.switches
        self._last_publish = published.at
        self._ok()

    def admit(
        self,
        limits: Any,
        *,
        own_equity: float,
        now: datetime,
        proposal: Proposal,
        correlations: Callable[[str, list[str]], Sequence[Correlation]],
    ) -> Verdict:
        """The account's verdict on `proposal`; when it passes, its share is reserved."""
        reservation = OpenPosition(
            pair=proposal.pair,
            is_short=proposal.is_short,
            entry=proposal.rate,
            amount=proposal.amount,
            stop=proposal.initial_stop,
            stake=proposal.stake,
            opened_at=now,
        )

        def decide(snapshot: Snapshot) -> Verdict:
            self.switches = snapshot.switches
            equity = account_equity(snapshot, self.config.equity, self.bot, own_equity)
            account = account_of(snapshot, now=now, equity=equity)
            pairs = sorted({p.pair for p in account.positions})
            verdict = evaluate(
                limits,
                snapshot.switches.guard,
                account,
                proposal,
                functools.partial(correlations, proposal.pair, pairs),
            )
            refusal = verdict.refusal
            if refusal is None:
                return verdict
            named = naming_bots(refusal, snapshot, now, proposal.base)
            return Verdict(verdict.state, (*verdict.checks[:-1], named))

        try:
            verdict = self.store.admit(self.bot, reservation, decide, lambda v: v.allowed)
        except AccountError as exc:
            self._failed(exc)
            checks = guard_checks(self.guard())
            return Verdict(state_of(checks), tuple(checks[:1]))
        self._ok()
        return verdict

    def release(self) -> None:
        """This bot's reservations (it stops)."""
        try:
            self.store.release(self.bot)
        except AccountError as exc:
            log.warning("profitguard: %s", exc)

    def _failed(self, exc: Exception) -> None:
        if self.error is None:
            log.error(
                "profitguard: %s: entries are refused until the account's database answers; "
                "stops and take-profits go on",
                exc,
            )
        self.error = exc

    def _ok(self) -> None:
        if self.error is not None:
            log.warning("profitguard: %s answers again: entries resume", self.store.where)
        self.error = None


def bot_state(book: Any) -> dict[str, Any]:
    """What a bot publishes, from Freqtrade's trades: its equity, its open trades as
    positions (the gate's `AccountBook`: the stop in force) and a reader of the trades
    closed after a time (`SharedAccount.loop`'s arguments)."""
    from freqtrade.persistence import Trade

    trades = Trade.get_trades_proxy(is_open=True)
    positions = list(zip((t.id for t in trades), book.positions(trades), strict=True))

    def closed(since: datetime | None) -> list[tuple[int, ClosedTrade]]:
        done = Trade.get_trades_proxy(is_open=False, close_date=since)
        return [
            (
                t.id,
                ClosedTrade(
                    pair=t.pair, closed_at=t.close_date_utc, profit=float(t.close_profit_abs or 0)
                ),
            )
            for t in done
            if t.close_date is not None
        ]

    try:
        equity: float | None = book.equity()
    except RuntimeError:  # no wallets yet
        equity = None
    return {"equity": equity, "positions": positions, "closed": closed}


def known_correlations(
    correlations: Any, analyzed: Callable[[str], Any]
) -> Callable[[str, list[str]], Sequence[Correlation]]:
    """The correlations of an entry with the account's pairs this bot has candles of
    (another bot's pair it does not analyse cannot be measured here: left out)."""

    def of(pair: str, others: list[str]) -> Sequence[Correlation]:
        known = [p for p in others if p == pair or _has_candles(analyzed(p))]
        return correlations.of(pair, known)

    return of


def _has_candles(frame: Any) -> bool:
    return frame is not None and not frame.empty


def _trades_db(db_url: str | None) -> str | None:
    """The bot's trades database as the account shows it (and tells bots apart by): a
    SQLite file by its absolute path (Freqtrade's default is relative to the working
    directory), a server's URL without its password."""
    if not db_url:
        return None
    path = sqlite_file(db_url)
    return f"sqlite:///{path.resolve()}" if path is not None else describe(db_url)
