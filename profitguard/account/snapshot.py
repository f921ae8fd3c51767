"""The shared account as its tables hold it, turned into the values the risk rules read.

Pure: a `Snapshot` (what `store.AccountStore` read inside its transaction) in, an
`Account` (every bot's positions, reservations and closed trades) and checks that
name the bot holding what out. The rules themselves are the gate's own
(`risk.pipeline`), run on this account instead of one bot's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from profitguard.risk.account_config import AccountEquity
from profitguard.risk.book import Account, ClosedTrade, OpenPosition
from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.rules import PERIOD_RULE, period_start, realized_pnl
from profitguard.risk.state import GuardState


@dataclass(frozen=True, slots=True)
class Held:
    """One bot's open position (`trade_id`) or reservation (`trade_id` None)."""

    bot: str
    position: OpenPosition
    trade_id: int | None = None

    @property
    def reserved(self) -> bool:
        return self.trade_id is None


@dataclass(frozen=True, slots=True)
class BotSeen:
    """A bot of the account as its row says: its last heartbeat and equity."""

    bot: str
    heartbeat_at: datetime | None
    age: float | None  # seconds since the heartbeat, by the database's clock
    equity: float | None
    db_url: str | None = None
    host: str | None = None

    def stale(self, after: float) -> bool:
        return self.age is None or self.age > after


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSwitches:
    """The account's kill switch and pause, with who set them."""

    guard: GuardState = field(default_factory=GuardState)
    halted_by: str | None = None
    paused_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    name: str
    switches: AccountSwitches
    held: tuple[Held, ...] = ()
    closed: tuple[tuple[str, ClosedTrade], ...] = ()  # (bot, trade), oldest first
    bots: tuple[BotSeen, ...] = ()


def account_equity(snapshot: Snapshot, mode: AccountEquity, bot: str, own_equity: float) -> float:
    """SHARED: the admitting bot's equity (every bot reads the same balance); SUM: every
    bot's last published equity, the admitting bot's as it is now."""
    if mode is AccountEquity.SHARED:
        return own_equity
    others = (b.equity or 0.0 for b in snapshot.bots if b.bot != bot)
    return math.fsum((own_equity, *others))


def account_of(snapshot: Snapshot, *, now: datetime, equity: float) -> Account:
    """Every bot's positions and reservations, and the trades closed by `now`."""
    return Account(
        now=now,
        equity=equity,
        positions=tuple(h.position for h in snapshot.held),
        closed=[t for _, t in snapshot.closed if t.closed_at <= now],
    )


_HOLDING_RULES = frozenset({Rule.MAX_POSITIONS, Rule.ASSET_EXPOSURE, Rule.HEAT, Rule.CORRELATION})


def holders(held: Sequence[Held], base: str | None = None) -> str:
    """'bot-a: BTC/USDT, ETH/USDT; bot-b: SOL/USDT (reserved)', only `base`'s when given."""
    by_bot: dict[str, list[str]] = {}
    for h in held:
        if base is not None and h.position.base != base:
            continue
        label = f"{h.position.pair} (reserved)" if h.reserved else h.position.pair
        by_bot.setdefault(h.bot, []).append(label)
    return "; ".join(f"{bot}: {', '.join(sorted(p))}" for bot, p in sorted(by_bot.items())) or "-"


def losses_by_bot(snapshot: Snapshot, rule: Rule, now: datetime) -> str:
    """Each bot's realized profit in the period of a period-loss rule."""
    period = next(p for p, r in PERIOD_RULE.items() if r is rule)
    start = period_start(now, period)
    by_bot: dict[str, list[ClosedTrade]] = {}
    for bot, trade in snapshot.closed:
        by_bot.setdefault(bot, []).append(trade)
    parts = [
        f"{bot}: {realized_pnl(trades, start, now):+.2f}" for bot, trades in sorted(by_bot.items())
    ]
    return "; ".join(parts) or "-"


def naming_bots(check: Check, snapshot: Snapshot, now: datetime, base: str | None) -> Check:
    """The account's refusal with who holds or lost what, and the account's name."""
    account = Figure("account", snapshot.name, Unit.TEXT)
    if check.rule in _HOLDING_RULES:
        only = base if check.rule is Rule.ASSET_EXPOSURE else None
        extra = (Figure("held by", holders(snapshot.held, only), Unit.TEXT),)
    elif check.rule in PERIOD_RULE.values():
        extra = (Figure("by bot", losses_by_bot(snapshot, check.rule, now), Unit.TEXT),)
    elif check.rule is Rule.LOSS_STREAK:
        last = [f"{bot}: {t.pair} {t.profit:+.2f}" for bot, t in snapshot.closed[-5:]]
        extra = (Figure("last closed", "; ".join(last) or "-", Unit.TEXT),)
    else:
        extra = ()
    return replace(check, extra=(*check.extra, account, *extra))
