"""profitguard's hooks get the trade itself in a real backtest, and never change it.

The sample under the real `freqtrade backtesting`, run by a probe
(`trade_copy_probe.py`) that snapshots the trade, its orders and its custom data
before and after every call of profitguard's trade hooks. With `fast_backtest` on,
no call gets a copy and no call changes anything; with default settings (Freqtrade's
copy kept for every hook, the skip not installed), the backtest makes exactly the
same trades, every field of every trade and order.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profitguard.tooling.exchange import generate
from profitguard.tooling.exchange.harness import offline_env
from tests.exchange_fixtures import SAMPLE_STRATEGIES, last_backtest_stats
from tests.integration import trade_copy_probe as probe
from tests.unit.test_adapter_trades import make_order, make_trade

PROBE = Path(probe.__file__)
PAIRS = ["B00/USDT", "B01/USDT"]
EXIT_HOOKS = ("custom_stoploss", "adjust_trade_position", "order_filled")


def probed_backtest(ws, tmp: Path, mode: str) -> tuple[dict, list[dict]]:
    """(what the probe saw, the exported trades) of one backtest of the sample."""
    out = tmp / f"probe-{mode}-{time.time_ns()}.json"
    argv = ws.argv("backtesting", "--strategy", "ProfitGuardSample", "--cache", "none",
                   "--export", "trades")  # fmt: skip
    result = subprocess.run(
        [sys.executable, str(PROBE), str(out), *argv[3:]],
        cwd=ws.userdir.parent,
        env={**offline_env(), "PROFITGUARD_TEST_TRADE_COPY": mode},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    seen = json.loads(out.read_text())
    trades = last_backtest_stats(ws)["strategy"]["ProfitGuardSample"]["trades"]
    return seen, trades


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory):
    """The sample backtested with `fast_backtest` on and with default settings (every
    copy kept), on the same data."""
    from profitguard.tooling.exchange.harness import Workspace, start_exchange

    tmp = tmp_path_factory.mktemp("trade-copy")
    datadir = tmp / "data"
    generate.generate(datadir, pairs=PAIRS, timeframes=("5m",), days=20, seed=11)
    with start_exchange(datadir=datadir) as exchange:
        ws = Workspace.create(
            tmp / "ws",
            exchange_url=exchange.url,
            pairs=PAIRS,
            strategies=[SAMPLE_STRATEGIES / "ProfitGuardSample.py"],
            datadir=datadir,
            max_open_trades=3,
            stake_amount=100,
            dry_run_wallet=100_000,
        )
        yield {mode: probed_backtest(ws, tmp, mode) for mode in ("fast", "default")}


@pytest.mark.slow
@pytest.mark.cpu_bound
def test_backtest_when_fast_then_hooks_get_the_trade_itself_and_never_change_it(sample_runs):
    seen, trades = sample_runs["fast"]

    assert seen["skip_installed"]
    assert len(trades) > 5
    assert any(len([o for o in t["orders"] if not o["ft_is_entry"]]) > 1 for t in trades)
    assert all(seen["calls"].get(hook, 0) > len(trades) for hook in EXIT_HOOKS)
    assert seen["copies"] == {}  # no call of a profitguard hook got a copy
    assert seen["mutations"] == []


@pytest.mark.slow
@pytest.mark.cpu_bound
def test_backtest_when_default_settings_then_every_hook_copied_and_the_same_trades(sample_runs):
    kept, kept_trades = sample_runs["default"]
    fast, fast_trades = sample_runs["fast"]

    assert not kept["skip_installed"]
    assert kept["copies"] == kept["calls"] == fast["calls"]
    assert kept_trades == fast_trades  # every field of every trade and order


# ------------------------------------------------ the probe's snapshot can tell


@pytest.mark.parametrize(
    "change",
    [
        lambda t: setattr(t, "stop_loss", 97.0),
        lambda t: setattr(t.orders[0], "ft_order_tag", "tp1"),
        lambda t: t.orders.append(make_order("sell", 1.0, 104.0)),
        lambda t: t.set_custom_data("profitguard", {"best": 1}),
        lambda t: setattr(t, "new_attribute", 1),
    ],
    ids=["trade field", "order field", "an order added", "custom data", "attribute added"],
)
def test_probe_snapshot_when_trade_or_order_changes_then_differs(change):
    from freqtrade.persistence import CustomDataWrapper

    CustomDataWrapper.use_db = False
    CustomDataWrapper.reset_custom_data()
    try:
        trade = make_trade(exits=((2.0, 104.0, "tp1"),))
        before = probe.trade_snapshot(trade)
        assert probe.trade_snapshot(trade) == before
        change(trade)
        after = probe.trade_snapshot(trade)
    finally:
        CustomDataWrapper.reset_custom_data()
        CustomDataWrapper.use_db = True

    assert after != before
    assert probe.differences(before, after)
