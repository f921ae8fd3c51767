"""The real `freqtrade` (backtesting, hyperopt, trade --dry-run) against the offline exchange.

Freqtrade runs as a subprocess with proxies that refuse anything but loopback, so a
run that needed the internet would fail here.
"""

import itertools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from profitguard.tooling.exchange import generate as gen
from profitguard.tooling.exchange.ohlcv import MINUTE_MS, resample
from tests.exchange_fixtures import (
    SAMPLE_STRATEGIES,
    ReplayOptions,
    dry_run_trades,
    last_backtest_stats,
    scripted_candles,
    scripted_source,
    write_candles,
)

# every test here runs the real freqtrade: what `-m "not slow"` leaves out
pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]

PROBE = Path(__file__).parent / "strategies" / "ReplayProbe.py"
T0 = 1_767_225_600_000


def crafted_minutes(prices_5m: list[float]):
    """1m candles walking linearly between consecutive 5m closes (so 5m = 1m aggregated)."""
    steps = np.concatenate([np.linspace(a, b, 6)[1:] for a, b in itertools.pairwise(prices_5m)])
    return scripted_candles([prices_5m[0], *steps], start_ms=T0, timeframe_ms=MINUTE_MS)


def test_backtesting_when_crafted_candles_then_trades_exit_by_roi_and_stoploss(
    tmp_path, offline_exchange, freqtrade_workspace
):
    flat = [100.0 + 0.05 * (i % 2) for i in range(40)]
    up = [flat[-1] * 1.004**k for k in range(1, 30)]
    down = [up[-1] * 0.996**k for k in range(1, 40)]
    minutes = crafted_minutes(flat + up + down)
    datadir = tmp_path / "data"
    write_candles(datadir, "BTC/USDT", "1m", minutes)
    write_candles(datadir, "BTC/USDT", "5m", resample(minutes, 5 * MINUTE_MS))
    exchange = offline_exchange(datadir=datadir)
    ws = freqtrade_workspace(
        exchange, pairs=["BTC/USDT"], strategies=[PROBE], datadir=datadir, max_open_trades=1
    )

    result = ws.run(
        "backtesting", "--strategy", "ReplayProbe", "--timeframe", "5m",
        "--timeframe-detail", "1m", "--export", "trades", timeout=180,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:]
    trades = last_backtest_stats(ws)["strategy"]["ReplayProbe"]["trades"]
    reasons = {t["exit_reason"] for t in trades}
    assert {"roi", "stop_loss"} <= reasons
    assert exchange.stats()["hits"]["GET /api/v3/exchangeInfo"] >= 1
    assert exchange.stats()["unserved"] == {}


def test_hyperopt_when_few_epochs_then_completes_offline(
    tmp_path, offline_exchange, freqtrade_workspace
):
    datadir = tmp_path / "data"
    gen.generate(datadir, pairs=("BTC/USDT", "ETH/USDT"), timeframes=("5m",), days=10, seed=1)
    exchange = offline_exchange(datadir=datadir)
    ws = freqtrade_workspace(
        exchange,
        pairs=["BTC/USDT", "ETH/USDT"],
        strategies=[SAMPLE_STRATEGIES / "PlainSample.py"],
        datadir=datadir,
    )

    result = ws.run(
        "hyperopt", "--strategy", "PlainSample", "--spaces", "buy", "--epochs", "3",
        "--hyperopt-loss", "SharpeHyperOptLoss", "-j", "1", "--random-state", "1",
        "--min-trades", "1", timeout=300,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:]
    assert list((ws.userdir / "hyperopt_results").glob("*.fthypt"))
    assert "buy_rsi" in result.stdout
    assert exchange.stats()["unserved"] == {}


def test_dry_run_when_live_replay_then_enters_and_exits_by_roi_and_stoploss(
    offline_exchange, freqtrade_workspace
):
    history = [100 * (1 + 0.0005 * (i % 2)) for i in range(121)]
    rising = history + [history[-1] * 1.0025**k for k in range(1, 300)]
    falling = history + [history[-1] * 0.9975**k for k in range(1, 300)]
    replay = ReplayOptions(
        seconds_per_candle=1.0,  # one scripted 1m candle per wall-clock second
        timeframe="1m",
        sources={
            "UP/USDT": scripted_source(rising, "1m", history=120),
            "DOWN/USDT": scripted_source(falling, "1m", history=120),
        },
    )
    exchange = offline_exchange(replay=replay)
    ws = freqtrade_workspace(
        exchange,
        pairs=["UP/USDT", "DOWN/USDT"],
        strategies=[PROBE],
        timeframe="1m",
        internals={"process_throttle_secs": 1},
    )

    def both_exits_seen() -> bool:
        closed = {(t["pair"], t["exit_reason"]) for t in dry_run_trades(ws) if not t["is_open"]}
        return {("UP/USDT", "roi"), ("DOWN/USDT", "stop_loss")} <= closed

    result = ws.run_until("trade", "--strategy", "ReplayProbe", until=both_exits_seen, timeout=150)

    assert both_exits_seen(), result.stdout[-3000:]
    assert "Traceback" not in result.running
    hits = exchange.stats()["hits"]
    assert hits["GET /api/v3/klines"] >= 2
    assert hits["GET /api/v3/depth"] >= 2  # prices for entries, exits and stops
    assert exchange.stats()["unserved"] == {}


def test_demo_when_fresh_user_dir_then_generates_data_and_backtests(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    userdir = tmp_path / "user_data"
    shutil.copytree(repo / "user_data" / "strategies", userdir / "strategies")
    shutil.copy(repo / "user_data" / "config.json", userdir / "config.json")
    entry = "import sys; from profitguard.cli import main; sys.exit(main())"

    result = subprocess.run(
        [sys.executable, "-c", entry, "demo", "--no-detail"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout[-3000:]
    assert "==> generating demo data" in result.stdout
    assert "==> running: profitguard offline -- freqtrade backtesting" in result.stdout
    assert "STRATEGY SUMMARY" in result.stdout
    assert "==> results: user_data/backtest_results/backtest-result-" in result.stdout
    assert (userdir / "data" / "binance" / "BTC_USDT-1m.feather").is_file()
    # the sample strategy's ladders at work, from Freqtrade's results: the report in R
    assert "ProfitGuardSample" in result.stdout
    assert "==> the backtest in R: profitguard report --file" in result.stdout
    levels = result.stdout.split("TAKE-PROFIT LEVELS", 1)[1].split("EXITS BY KIND", 1)[0]
    for level in ("tp1", "tp2", "tp3"):  # each filled at least once
        assert re.search(rf"{level} .* [1-9]\d* \(", levels), (level, levels)
    kinds = result.stdout.split("EXITS BY KIND", 1)[1].split("PER PAIR", 1)[0]
    assert "ladder stop" in kinds and "initial stop" in kinds, kinds
    assert "Expectancy (R per trade)" in result.stdout
    for line in readme_demo_lines(repo / "README.md"):  # the README shows this run's figures
        assert line in result.stdout, line


def readme_demo_lines(readme: Path) -> list[str]:
    """The lines of the README block after `<!-- demo output` (from `demo --no-detail`)."""
    text = readme.read_text()
    block = text.split("<!-- demo output", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    assert lines, "no demo output block in the README"
    return lines


def test_demo_futures_when_fresh_user_dir_then_shorts_take_the_levels_and_stops_move_down(
    tmp_path,
):
    repo = Path(__file__).resolve().parents[2]
    userdir = tmp_path / "user_data"
    shutil.copytree(repo / "user_data" / "strategies", userdir / "strategies")
    shutil.copy(repo / "user_data" / "config.futures.json", userdir / "config.futures.json")
    entry = "import sys; from profitguard.cli import main; sys.exit(main())"

    result = subprocess.run(
        [sys.executable, "-c", entry, "demo", "--futures", "--no-detail"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )

    assert result.returncode == 0, result.stdout[-3000:]
    assert "ProfitGuardFuturesSample" in result.stdout
    futures = userdir / "data" / "binance" / "futures"
    for name in ("BTC_USDT_USDT-5m-futures", "BTC_USDT_USDT-1h-mark",
                 "BTC_USDT_USDT-1h-funding_rate"):  # fmt: skip
        assert (futures / f"{name}.feather").is_file(), name
    shorts = re.search(
        r"==> shorts: (\d+) trades; take-profits filled: (.*); (\d+) left at a stop the "
        r"ladder had moved down",
        result.stdout,
    )
    assert shorts, result.stdout[-3000:]
    assert int(shorts[3]) > 0  # shorts left at stops the ladder had moved down
    filled = dict(item.split(" ") for item in shorts[2].split(", "))
    for level in ("tp1", "tp2", "tp3"):
        assert int(filled.get(level, 0)) > 0, (level, shorts[0])
