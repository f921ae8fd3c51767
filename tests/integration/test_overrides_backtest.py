"""A strategy with its own part of profitguard's hooks, under the real
`freqtrade backtesting`: the stop ladder and the risk gate still act; a strategy
overriding one of those hooks is refused at start-up.

`LoosePgHooks` returns a stop 50% away from `pg_custom_stoploss` and True from
`pg_confirm_trade_entry`. It is backtested next to `ScriptedEntries` (no hooks of
its own) on the same crafted candles (volume 777 marks the signal; entry 100,
initial stop 98, 1R = 2): both must make the same trades. `OverridesStop` overrides
`custom_stoploss` itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.exchange_fixtures import last_backtest_stats, write_candles
from tests.integration.test_strategy_backtest import ENTRY, FLAT, START, STEP, exits

STRATEGIES = Path(__file__).parent / "strategies"
NAMES = ("ScriptedEntries", "LoosePgHooks")

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]

PATHS = {
    "LAD/USDT": [  # TP1, TP2, TP3 at candle opens
        ENTRY,
        (100.2, 102.5, 100.1, 102.0),
        (102.0, 103.5, 101.5, 103.0),
        (104.5, 105.0, 104.2, 104.8),
        (106.5, 107.0, 106.2, 106.8),
        (108.5, 109.0, 108.2, 108.8),
    ],
    "BEV/USDT": [  # peak 1.25R moves the stop to breakeven; the low then crosses it
        ENTRY,
        (100.2, 102.5, 100.1, 101.5),
        (101.5, 101.8, 99.8, 100.0),
    ],
    "REF/USDT": [ENTRY],  # signals a candle later: a third position, over the limit
}


def rows(path, signal: int, length: int = 70) -> list[list[float]]:
    ohlc = [FLAT] * (signal + 1) + list(path)
    ohlc += [ohlc[-1][3:] * 4] * (length - len(ohlc))
    return [
        [int((START + i * STEP).timestamp() * 1000), o, h, lo, c, 777.0 if i == signal else 10.0]
        for i, (o, h, lo, c) in enumerate(ohlc)
    ]


def workspace(offline_exchange, freqtrade_workspace, tmp_path):
    datadir = tmp_path / "data"
    for pair, path in PATHS.items():
        write_candles(datadir, pair, "5m", rows(path, 30 if pair == "REF/USDT" else 29))
    return freqtrade_workspace(
        offline_exchange(datadir=datadir),
        pairs=list(PATHS),
        strategies=[STRATEGIES / f"{name}.py" for name in (*NAMES, "OverridesStop")],
        datadir=datadir,
        stake_amount=1000,
        dry_run_wallet=100_000,
        max_open_trades=3,
        profitguard={"risk": {"max_open_positions": 2, "sizing": {"method": "fixed"}}},
    )


def test_backtest_when_pg_hooks_answer_looser_then_ladder_and_gate_still_act(
    offline_exchange, freqtrade_workspace, tmp_path
):
    ws = workspace(offline_exchange, freqtrade_workspace, tmp_path)
    result = ws.run(
        "backtesting", "--strategy-list", *NAMES, "--cache", "none", "--export", "trades"
    )
    assert result.returncode == 0, result.stdout[-5000:]
    stats = last_backtest_stats(ws)["strategy"]
    plain, overriding = (
        {t["pair"]: [e[:3] for e in exits(t)] for t in stats[name]["trades"]} for name in NAMES
    )
    assert overriding == {
        "LAD/USDT": [("tp1", 5.0, 104.5), ("tp2", 2.5, 106.5), ("tp3", 2.5, 108.5)],
        "BEV/USDT": [("stop", 10.0, 100.0)],  # the ladder's breakeven stop, not 50% away
    }  # REF/USDT refused by the gate: two positions open
    assert overriding == plain
    refused = re.findall(r"entry refused for (\S+) \(candle [^)]+\): (\w+)", result.stdout)
    assert refused == [("REF/USDT", "MAX_OPEN_POSITIONS")] * 2  # once per strategy
    # the pg_ hooks ran: the entry confirmation only for the entries the gate let in
    asked = sorted(re.findall(r"LoosePgHooks: (\w+) asked for (\S+)", result.stdout))
    assert asked == [
        (hook, pair)
        for hook in ("pg_confirm_trade_entry", "pg_custom_stoploss")
        for pair in ("BEV/USDT", "LAD/USDT")
    ]
    # OverridesStop.py, in the same folder, did not keep them from loading; run, it is refused
    result = ws.run("backtesting", "--strategy", "OverridesStop", "--cache", "none")
    assert result.returncode != 0
    assert (
        "profitguard: OverridesStop overrides custom_stoploss, which profitguard implements"
        in result.stdout
    ), result.stdout[-5000:]
    assert "write pg_custom_stoploss instead" in result.stdout


def test_hyperopt_when_pg_hooks_answer_looser_then_every_epoch_guarded(
    offline_exchange, freqtrade_workspace, tmp_path
):
    # two worker processes: the combined hooks must survive the strategy's trip there
    ws = workspace(offline_exchange, freqtrade_workspace, tmp_path)
    result = ws.run(
        "hyperopt", "--strategy", "LoosePgHooks", "--spaces", "buy", "--epochs", "2",
        "-j", "2", "--hyperopt-loss", "SharpeHyperOptLoss", "--min-trades", "1",
        "--disable-param-export",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-5000:]
    (results,) = (ws.userdir / "hyperopt_results").glob("*.fthypt")
    epochs = [json.loads(line)["results_metrics"] for line in results.read_text().splitlines()]
    assert [e["total_trades"] for e in epochs] == [2, 2]  # REF/USDT refused by the gate
    assert [e["exit_reason_summary"] for e in epochs] == [epochs[0]["exit_reason_summary"]] * 2
    reasons = {row["key"]: row["trades"] for row in epochs[0]["exit_reason_summary"]}
    assert reasons == {"tp3": 1, "trailing_stop_loss": 1, "TOTAL": 2}  # the ladder's exits
