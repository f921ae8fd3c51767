"""The risk gate's caches change no decision: a backtest of the sample on generated data
makes exactly the trades recorded in `fixtures/gate_sample_trades.json`.

The record was made before the gate kept its account, history and correlations across
the entries of a candle; every trade (pair, dates, rates, amounts, stake, exit reason,
profit and every order) must stay the same. Two risk settings: the sample's defaults,
and tight limits so that each rule refuses often (the refusal counts are recorded too).

Regenerate (only for a deliberate change of behaviour):
`PROFITGUARD_RECORD_GATE_TRADES=1 pytest tests/integration/test_gate_same_trades.py`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path

import pytest

from profitguard.tooling.exchange import generate
from tests.exchange_fixtures import SAMPLE_STRATEGIES, last_backtest_stats

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]  # real freqtrade backtesting

RECORD = Path(__file__).parent / "fixtures" / "gate_sample_trades.json"
PAIRS = ["B00/USDT", "B01/USDT", "B02/USDT"]
TRADE_KEYS = ("pair", "open_timestamp", "close_timestamp", "open_rate", "close_rate",
              "amount", "stake_amount", "exit_reason", "profit_abs")  # fmt: skip
ORDER_KEYS = ("order_filled_timestamp", "ft_order_side", "amount", "safe_price", "ft_order_tag")
RISK = {
    "defaults": {},
    "tight": {
        "max_open_positions": 2,
        "max_heat": 0.012,
        "max_daily_loss": 0.004,
        "max_consecutive_losses": 2,
        "loss_streak_cooldown_minutes": 60,
        "max_asset_exposure": 0.15,
        "max_correlated_positions": 1,
        "correlation_threshold": 0.2,
        "max_entry_slippage": 0.002,
    },
    "book": {  # the open positions' limits, which read the account the gate keeps per candle
        "max_correlated_positions": None,
        "max_consecutive_losses": None,
        "max_open_positions": 2,
        "max_heat": 0.012,
        "max_asset_exposure": None,
    },
}


def fingerprint(trades: list[dict]) -> list:
    return [
        [*(t.get(k) for k in TRADE_KEYS), [[o.get(k) for k in ORDER_KEYS] for o in t["orders"]]]
        for t in trades
    ]


def refusal_table(output: str) -> list[str]:
    """The gate's refusal counts per rule, as printed when the backtest ends."""
    start = output.index("profitguard risk gate (ProfitGuardSample, last run)")
    lines = output[start:].splitlines()
    rows = itertools.takewhile(lambda line: "(" not in line, lines[1:])
    return [" ".join(row.split()) for row in rows]


@pytest.fixture(scope="module")
def datadir(tmp_path_factory):
    path = tmp_path_factory.mktemp("gate-data")
    generate.generate(path, pairs=PAIRS, timeframes=("5m",), days=20, seed=11)
    return path


def run(offline_exchange, freqtrade_workspace, datadir, risk: dict) -> tuple[list, str]:
    ws = freqtrade_workspace(
        offline_exchange(datadir=datadir),
        pairs=PAIRS,
        strategies=[SAMPLE_STRATEGIES / "ProfitGuardSample.py"],
        datadir=datadir,
        max_open_trades=10,
        stake_amount=100,
        dry_run_wallet=10_000,
        profitguard={"risk": risk},
    )
    result = ws.run(
        "backtesting", "--strategy", "ProfitGuardSample", "--cache", "none", "--export", "trades"
    )
    assert result.returncode == 0, result.stdout[-5000:]
    trades = last_backtest_stats(ws)["strategy"]["ProfitGuardSample"]["trades"]
    return fingerprint(trades), result.stdout


@pytest.mark.parametrize("setting", sorted(RISK))
def test_backtest_of_the_sample_when_gate_on_then_same_trades_as_recorded(
    offline_exchange, freqtrade_workspace, datadir, setting
):
    trades, output = run(offline_exchange, freqtrade_workspace, datadir, RISK[setting])
    refused = sorted(
        list(r) for r in re.findall(r"entry refused for (\S+) \(candle ([^)]+) UTC\)", output)
    )
    got = {"trades": trades, "refused": refused, "counts": refusal_table(output)}
    record = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    if os.environ.get("PROFITGUARD_RECORD_GATE_TRADES"):
        record[setting] = got
        RECORD.write_text(json.dumps(record, indent=0) + "\n")
    assert len(trades) > 20
    assert got["trades"] == record[setting]["trades"]
    assert got["refused"] == record[setting]["refused"]
    assert got["counts"] == record[setting]["counts"]
