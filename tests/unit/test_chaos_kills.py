"""The chaos runner's kill moments: when the bot is killed next."""

from __future__ import annotations

import random

import pytest

from profitguard.tooling.chaos.run_checks import Life
from profitguard.tooling.chaos.scenario_runner import _Kills, unrecorded_fills

T0 = 1_000_000.0


def buy(trade_id, t, filled=8.0) -> dict:
    return {"side": "buy", "type": "MARKET", "status": "FILLED", "filled": filled,
            "trade_id": trade_id, "time": int(t * 1000), "fills": [], "tag": None,
            "client_tag": "entry"}  # fmt: skip


@pytest.mark.parametrize(
    ("orders", "due"),
    [
        ([buy(None, T0 + 5)], T0 + 6),  # filled, the bot has no trade for it yet: now
        ([buy(1, T0 + 5)], None),  # recorded: not the moment
        ([buy(None, T0 - 5)], None),  # left by an earlier life
        ([buy(None, T0 + 5, filled=0.0)], None),  # not filled
    ],
)
def test_kills_when_entry_filled_before_the_bot_recorded_it_then_killed_at_once(orders, due):
    kills = _Kills(("entry_sent",), random.Random(1))
    life = Life(started=T0 - 30, heartbeats=[T0])
    assert kills.next_due(life, orders, [], T0 + 6) == due


@pytest.mark.parametrize(
    ("order", "unrecorded"),
    [
        (buy(None, T0), True),  # filled, the database lacks it: one more life finds it
        (buy(1, T0), False),  # recorded
        (buy(None, T0, filled=0.0), False),  # not filled
        ({**buy(None, T0), "client_tag": None}, False),  # not profitguard's
        ({**buy(None, T0), "client_tag": "untracked"}, False),  # the watchdog's close
    ],
)
def test_run_end_when_stopped_with_an_unrecorded_fill_then_one_more_life(order, unrecorded):
    assert unrecorded_fills([buy(2, T0), order]) == ([order] if unrecorded else [])
