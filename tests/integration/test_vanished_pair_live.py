"""A pair removed from the exchange while the bot holds it (`freqtrade trade`, dry_run
false, against the offline exchange): one profitguard report a bot loop that says what
to do, instead of Freqtrade's ~16 warnings a second (1,200 in 75 s)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from profitguard.tooling.chaos.run_readers import db_trades
from profitguard.tooling.exchange.private import Credentials
from tests.exchange_fixtures import ReplayOptions, scripted_source

ALWAYS_IN = Path(__file__).parent / "strategies" / "AlwaysIn.py"
KEY, SECRET = "vanish-key", "vanish-secret"
HOLD_S = 12.0  # bot loops (1 s each) after the pair is gone

pytestmark = pytest.mark.slow


def test_live_when_the_exchange_drops_a_held_pair_then_one_report_a_loop(
    offline_exchange, freqtrade_workspace
):
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={"RST/USDT": scripted_source([100.0] * 400, "1m", history=60)},
    )
    exchange = offline_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 10_000.0}
    )
    ws = freqtrade_workspace(
        exchange, pairs=["RST/USDT"], strategies=[ALWAYS_IN], timeframe="1m",
        max_open_trades=1, stake_amount=100, dry_run=False, key=KEY, secret=SECRET,
        internals={"process_throttle_secs": 1},
    )  # fmt: skip
    removed: list[float] = []

    def held_a_while_after_removal() -> bool:
        if not removed:
            if any(t["is_open"] and t["amount"] for t in db_trades(ws.db_path)):
                spec = exchange.api.markets.pop("RST/USDT")  # delisted under the bot
                exchange.api.by_symbol.pop(spec.symbol)
                removed.append(time.monotonic())
            return False
        return time.monotonic() > removed[0] + HOLD_S

    run = ws.run_until("trade", "--strategy", "AlwaysIn", until=held_a_while_after_removal,
                       timeout=120)  # fmt: skip
    assert removed, run.stdout[-3000:]
    lines = run.stdout.splitlines()
    gone = re.compile(r"BadSymbol|Invalid symbol|-1121")
    flood = [line for line in lines if " - WARNING - " in line and gone.search(line)
             and " - profitguard" not in line]  # fmt: skip
    reports = [line for line in lines if "profitguard: RST/USDT is no longer traded" in line]
    loops = [line for line in lines if "AlwaysIn: bot loop" in line]
    assert flood == [], flood[:5]
    assert 1 <= len(reports) <= len(loops)
    text = " ".join(run.stdout.split())  # the log wraps long lines
    assert re.search(r"trade 1 holds 0\.99\d RST, which the bot can neither price nor exit", text)
    assert "remove the trade from the bot (/delete 1, Telegram or the REST API)" in text
