"""The shared account's rows as the rules read them (pure): equity, the account's
positions and reservations, refusals naming the bot that holds or lost what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from profitguard.account.snapshot import (
    BotSeen,
    Held,
    Snapshot,
    account_equity,
    account_of,
    holders,
    naming_bots,
)
from profitguard.risk.account_config import AccountEquity
from profitguard.risk.book import ClosedTrade, OpenPosition
from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.state import GuardState

NOW = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)


def pos(pair: str, stake: float = 100.0) -> OpenPosition:
    return OpenPosition(pair=pair, is_short=False, entry=10.0, amount=stake / 10, stop=9.0,
                        stake=stake)  # fmt: skip


def snapshot(**kwargs) -> Snapshot:
    from profitguard.account.snapshot import AccountSwitches

    return Snapshot(name="main", switches=AccountSwitches(guard=GuardState()), **kwargs)


HELD = (
    Held("bot-b", pos("ETH/USDT"), 3),
    Held("bot-a", pos("BTC/USDT"), 1),
    Held("bot-a", pos("BTC/USDT:USDT")),  # reserved
)


def test_holders_when_bots_hold_and_reserve_then_each_bot_with_its_pairs():
    assert holders(HELD) == "bot-a: BTC/USDT, BTC/USDT:USDT (reserved); bot-b: ETH/USDT"
    assert holders(HELD, "BTC") == "bot-a: BTC/USDT, BTC/USDT:USDT (reserved)"
    assert holders(HELD, "SOL") == "-"


def test_account_equity_when_shared_then_the_bots_own_when_sum_then_every_bots():
    bots = (BotSeen("bot-a", NOW, 1.0, 900.0), BotSeen("bot-b", NOW, 200.0, 500.0),
            BotSeen("bot-c", None, None, None))  # fmt: skip
    snap = snapshot(bots=bots)
    assert account_equity(snap, AccountEquity.SHARED, "bot-a", 1000.0) == 1000.0
    # its own equity as it is now (1000, not the 900 it published), the others' as published
    assert account_equity(snap, AccountEquity.SUM, "bot-a", 1000.0) == 1500.0
    assert bots[1].stale(60) and not bots[0].stale(60) and bots[2].stale(60)


def test_account_of_when_rows_then_every_position_and_the_trades_closed_by_now():
    closed = (
        ("bot-a", ClosedTrade(pair="BTC/USDT", closed_at=NOW - timedelta(hours=1), profit=-5.0)),
        ("bot-b", ClosedTrade(pair="ETH/USDT", closed_at=NOW + timedelta(hours=1), profit=7.0)),
    )
    account = account_of(snapshot(held=HELD, closed=closed), now=NOW, equity=1000.0)
    assert [p.pair for p in account.positions] == ["ETH/USDT", "BTC/USDT", "BTC/USDT:USDT"]
    assert [t.profit for t in account.closed] == [-5.0]  # no lookahead
    assert account.heat == pytest.approx(3 * 10.0 / 1000.0)


def test_naming_bots_when_refused_then_the_account_and_who_holds_or_lost_what():
    check = Check(Rule.ASSET_EXPOSURE, False, Figure("exposure", 0.3, Unit.PCT),
                  Figure("limit", 0.2, Unit.PCT), (Figure("asset", "BTC", Unit.TEXT),))  # fmt: skip
    named = naming_bots(check, snapshot(held=HELD), NOW, "BTC")
    assert named.message() == (
        "ASSET_EXPOSURE: exposure=30.0%, limit=20.0%, asset=BTC, account=main, "
        "held by=bot-a: BTC/USDT, BTC/USDT:USDT (reserved)"
    )
    closed = (
        ("bot-a", ClosedTrade(pair="BTC/USDT", closed_at=NOW - timedelta(hours=1), profit=-30.0)),
        ("bot-b", ClosedTrade(pair="ETH/USDT", closed_at=NOW - timedelta(days=2), profit=-9.0)),
    )
    daily = Check(Rule.DAILY_LOSS, False, Figure("loss", 0.05, Unit.PCT))
    named = naming_bots(daily, snapshot(closed=closed), NOW, None)
    assert named.evidence["by bot"] == "bot-a: -30.00; bot-b: +0.00"  # bot-b's was 2 days ago
    paused = Check(Rule.PAUSED, False, Figure("on", True, Unit.TEXT))
    assert naming_bots(paused, snapshot(), NOW, None).evidence == {"on": True, "account": "main"}
