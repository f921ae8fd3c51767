"""Hyperopt parameters really drive the ladders in `freqtrade backtesting`.

The same crafted paths (entry 100, initial stop 98: 1R = 2) backtested twice: with
the parameter defaults (the r_ladder preset's exits, as in test_strategy_backtest)
and with a params file holding other values, the way hyperopt leaves one next to
the strategy. The exits differ, and each matches `profitguard simulate --params`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.exchange_fixtures import last_backtest_stats, write_candles
from tests.integration.test_strategy_backtest import R_LADDER_PATHS, exits, rows

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]

STRATEGY = Path(__file__).parent / "strategies" / "ScriptedLadders.py"
PATHS = {
    **{pair: R_LADDER_PATHS[pair] for pair in ("LAD/USDT", "BEV/USDT")},
    "TRL/USDT": [  # peak 1.4R, then a fall through breakeven
        R_LADDER_PATHS["LAD/USDT"][0],
        (100.2, 102.8, 100.5, 102.6),  # r_ladder: stop to breakeven (100)
        (102.6, 102.7, 99.7, 99.8),  # low crosses 100 and 102.8 * 0.97
    ],
}
OTHER_LADDER = {
    "pg_tp1_r": 1.5,  # 103, then 3R (106) and 4R (108): 25%, 25%, 50%
    "pg_tp2_step_r": 1.5,
    "pg_tp3_step_r": 1.0,
    "pg_tp1_weight": 1,
    "pg_tp2_weight": 1,
    "pg_tp3_weight": 2,
    "pg_sl1_trigger_r": 1.5,  # no breakeven at 1.25R any more
    "pg_sl2_step_r": 0.5,
    "pg_sl3_step_r": 0.5,
    "pg_sl4_step_r": 1.0,
    "pg_sl5_step_r": 1.0,
    "pg_sl_lock_gap_r": 1.0,
    "pg_sl_lock_ratio": 0.5,
    "pg_trail": True,  # 3% below the best price
    "pg_trail_pct": 0.03,
}


def simulate_exits(trade: dict, datafile: Path, params: Path | None) -> list[tuple]:
    entry_amount = next(o["amount"] for o in trade["orders"] if o["ft_is_entry"])
    result = subprocess.run(
        [
            *(sys.executable, "-m", "profitguard", "simulate", "--side", "long"),
            *("--entry", str(trade["open_rate"]), "--stop", str(trade["open_rate"] * 0.98)),
            *("--amount", str(entry_amount)),
            *(("--params", str(params)) if params else ()),
            *("--candles", str(datafile), "--from", trade["open_date"], "--json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    events = [e for e in json.loads(result.stdout)["events"] if e["exit_amount"]]
    return [(",".join(e["exit_tags"]), e["exit_amount"]) for e in events]


@pytest.fixture(scope="module")
def two_backtests(tmp_path_factory):
    from profitguard.tooling.exchange.harness import Workspace, start_exchange

    root = tmp_path_factory.mktemp("ladder_params")
    datadir = root / "data"
    files = {pair: write_candles(datadir, pair, "5m", rows(path)) for pair, path in PATHS.items()}
    with start_exchange(datadir=datadir) as exchange:
        ws = Workspace.create(
            root / "ft",
            exchange_url=exchange.url,
            pairs=list(PATHS),
            strategies=[STRATEGY],
            datadir=datadir,
            stake_amount=1000,
            dry_run_wallet=100_000,
            max_open_trades=len(PATHS),
        )
        runs = []
        params_file = ws.userdir / "strategies" / "ScriptedLadders.json"
        for values in (None, OTHER_LADDER):
            if values is not None:
                content = {"strategy_name": "ScriptedLadders", "params": {"profitguard": values}}
                params_file.write_text(json.dumps(content))
            result = ws.run(
                "backtesting", "--strategy", "ScriptedLadders", "--cache", "none",
                "--export", "trades",
            )  # fmt: skip
            assert result.returncode == 0, result.stdout[-5000:]
            trades = last_backtest_stats(ws)["strategy"]["ScriptedLadders"]["trades"]
            runs.append({t["pair"]: t for t in trades})
    return runs, files, params_file


def tags_and_amounts(trade: dict) -> list[tuple[str, float]]:
    """profitguard's exits (Freqtrade's force exit at the end of the data left out)."""
    return [(tag, amount) for tag, amount, _, _ in exits(trade) if tag != "force_exit"]


def test_backtest_when_default_parameters_then_the_r_ladder_preset(two_backtests):
    (defaults, _), _, _ = two_backtests
    assert [(t, a, p) for t, a, p, _ in exits(defaults["LAD/USDT"])] == [
        ("tp1", 5.0, 104.5),
        ("tp2", 2.5, 106.5),
        ("tp3", 2.5, 108.5),
    ]
    assert [(t, p) for t, _, p, _ in exits(defaults["BEV/USDT"])] == [("stop", 100.0)]
    assert [(t, p) for t, _, p, _ in exits(defaults["TRL/USDT"])] == [("stop", 100.0)]


@pytest.mark.parametrize("pair", list(PATHS))
def test_backtest_when_other_parameters_then_other_exits_as_simulated(two_backtests, pair):
    (defaults, other), files, params_file = two_backtests
    assert exits(other[pair]) != exits(defaults[pair])
    simulated = simulate_exits(other[pair], files[pair], params_file)
    ours = tags_and_amounts(other[pair])
    assert len(simulated) == len(ours)
    for (tag, amount), (sim_tag, sim_amount) in zip(ours, simulated, strict=True):
        assert tag == sim_tag
        assert amount == pytest.approx(sim_amount, rel=1e-9)


def test_backtest_when_other_parameters_then_levels_fractions_ladder_and_trailing_applied(
    two_backtests,
):
    (_, other), _, _ = two_backtests
    assert [(t, a, p) for t, a, p, _ in exits(other["LAD/USDT"])] == [
        ("tp1", 2.5, 104.5),  # 1.5R (103): the high of the candle before passed it
        ("tp2", 2.5, 106.5),  # 3R (106)
        ("tp3", 5.0, 108.5),  # 4R (108): weights 1:1:2 of 10
    ]
    # no breakeven at a peak of 1.25R (first trigger 1.5R): held to the end of the data
    assert [t for t, _, _, _ in exits(other["BEV/USDT"])] == ["force_exit"]
    # trailing 3% below the peak 102.8 (up to the exchange's tick), not breakeven at 100
    ((tag, _, price, _),) = exits(other["TRL/USDT"])
    assert tag == "stop"
    assert price == pytest.approx(102.8 * 0.97, abs=0.1)
    assert price < 100.0
