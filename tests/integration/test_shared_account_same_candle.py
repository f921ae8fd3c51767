"""Two `freqtrade trade` bots live on ONE offline exchange account, sharing an account
of one slot (`max_open_positions` 1), both signalling an entry on every candle: the
exchange's ledger shows exactly one entry per repetition, repeated inside one run.

Each trade exits a second after its entry (`RoundTrips`), which frees the slot: both
bots are then flat and signal on the same candle, and race for it. Freqtrade locks
the pair just exited until the next candle, so each bot trades several pairs and the
race comes again every few seconds instead of once a minute. On the ledger, in time
order, entries and exits alternate (never a second entry before the first one's exit)
and no two positions are held at once; both bots win some of the races.

CI runs `REPETITIONS` of them (about a minute); `PROFITGUARD_LONG_TESTS=1` runs the 20
the shared account's acceptance asks for.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from profitguard.tooling.chaos.account_checks import AccountRecord, max_open_positions
from profitguard.tooling.chaos.run_readers import db_trades, fetch_ledger
from profitguard.tooling.exchange.private import Credentials
from tests.exchange_fixtures import ReplayOptions, scripted_source
from tests.integration.test_shared_account_live import KEY, SECRET, before_shutdown, run_together

ROUND_TRIPS = Path(__file__).parent / "strategies" / "RoundTrips.py"
LONG = os.environ.get("PROFITGUARD_LONG_TESTS") == "1"
REPETITIONS = 20 if LONG else 6
# each bot's pairs: one is locked for the rest of the candle after each of its exits
PAIRS = {
    bot: [f"{x}{x}{c}/USDT" for c in "ABCDEFGHIJKL"] for bot, x in (("bot-a", "A"), ("bot-b", "B"))
}

pytestmark = pytest.mark.slow


def test_two_live_bots_racing_for_one_slot_on_the_same_candle_then_one_entry_each_time(
    offline_exchange, freqtrade_workspace, postgresql
):
    url = postgresql.new_database()
    flat = [100.0] * 900
    every = [pair for pairs in PAIRS.values() for pair in pairs]
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={pair: scripted_source(flat, "1m", history=120) for pair in every},
    )
    exchange = offline_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 10_000.0}
    )
    section = {"name": "main", "db_url": url, "max_open_positions": 1}
    # the round trips lose their fees: the account's losing streak would stop them
    section |= {"max_correlated_positions": None, "max_consecutive_losses": None}
    workspaces = {
        bot: freqtrade_workspace(
            exchange,
            pairs=pairs,
            strategies=[ROUND_TRIPS],
            timeframe="1m",
            max_open_trades=1,
            dry_run=False,
            key=KEY,
            secret=SECRET,
            stake_amount=100,
            bot_name=bot,
            internals={"process_throttle_secs": 1},
            profitguard={"risk": {"account": section}},
        )
        for bot, pairs in PAIRS.items()
    }

    def entries() -> list[dict]:
        return [o for o in fetch_ledger(exchange.url)["orders"] if o["side"] == "buy"]

    # the first entry is a race too (both bots start together); one more for the last exit
    logs = run_together(
        workspaces,
        lambda logs: len(entries()) >= REPETITIONS + 1,
        timeout=60 + 10 * REPETITIONS,
        strategy="RoundTrips",
    )
    ledger = fetch_ledger(exchange.url)
    orders = sorted(ledger["orders"], key=lambda o: (o["time"], o["order_id"]))
    sides = "".join("b" if o["side"] == "buy" else "s" for o in orders if o["filled"] > 0)
    assert sides.count("b") >= REPETITIONS + 1, {bot: log[-3000:] for bot, log in logs.items()}
    assert "bb" not in sides, sides  # a second entry before the first one's exit
    assert [o["status"] for o in orders if o["side"] == "buy"].count("FILLED") == sides.count("b")
    record = AccountRecord(
        ledger=ledger,
        trades={},
        max_open_positions=1,
        min_notional=1.0,
        reservation_ttl=60,
        end=0,
    )
    assert max_open_positions(record) == []
    won = {bot: len(db_trades(ws.db_path)) for bot, ws in workspaces.items()}
    assert all(n >= 1 for n in won.values()), won  # both bots raced, each won some
    assert sum(won.values()) == sides.count("b")
    for bot, log in logs.items():
        assert "MAX_OPEN_POSITIONS" in log and "account=main" in log, (bot, log[-3000:])
        assert "Traceback" not in before_shutdown(log)
