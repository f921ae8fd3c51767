"""What a new user meets in the first hour, run with the real freqtrade."""

from pathlib import Path

import pytest

from profitguard.tooling.exchange import generate as gen
from tests.exchange_fixtures import SAMPLE_STRATEGIES, last_backtest_stats

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]

BTC_PAIRS = ["ETH/BTC", "SOL/BTC", "XRP/BTC"]


@pytest.fixture
def btc_workspace(tmp_path, offline_exchange, freqtrade_workspace):
    """The shipped sample on BTC pairs, a BTC stake and a 1 BTC wallet."""

    def create(**config):
        datadir = tmp_path / "data"
        gen.generate(datadir, pairs=tuple(BTC_PAIRS), timeframes=("5m",), days=10)
        exchange = offline_exchange(datadir=datadir)
        return freqtrade_workspace(
            exchange,
            pairs=BTC_PAIRS,
            strategies=[SAMPLE_STRATEGIES / "ProfitGuardSample.py"],
            datadir=datadir,
            stake_currency="BTC",
            dry_run_wallet=1,
            stake_amount=0.1,
            **config,
        )

    return create


def test_sample_when_btc_stake_and_1_btc_wallet_then_trades(btc_workspace):
    ws = btc_workspace()

    result = ws.run("backtesting", "--strategy", "ProfitGuardSample")

    assert result.returncode == 0, result.stdout[-3000:]
    trades = last_backtest_stats(ws)["strategy"]["ProfitGuardSample"]["trades"]
    assert trades
    assert "MIN_BALANCE" not in result.stdout


def test_sample_when_min_balance_at_or_above_the_wallet_then_start_up_error(btc_workspace):
    ws = btc_workspace(profitguard={"risk": {"min_balance": 1}})

    result = ws.run("backtesting", "--strategy", "ProfitGuardSample")

    assert result.returncode != 0
    assert "'profitguard.risk.min_balance' (1 BTC) must be below the starting wallet" in (
        result.stdout
    )
    assert "(0.99 BTC)" in result.stdout  # 1 BTC x tradable_balance_ratio 0.99


def test_hyperopt_when_the_gate_refuses_then_one_summary_line_per_epoch_at_most(
    tmp_path, offline_exchange, freqtrade_workspace
):
    datadir = tmp_path / "data"
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    gen.generate(datadir, pairs=tuple(pairs), timeframes=("5m",), days=10)
    ws = freqtrade_workspace(
        offline_exchange(datadir=datadir),
        pairs=pairs,
        strategies=[SAMPLE_STRATEGIES / "ProfitGuardSample.py"],
        datadir=datadir,
    )
    epochs = 4

    result = ws.run(
        "hyperopt", "--strategy", "ProfitGuardSample", "--spaces", "profitguard",
        "--hyperopt-loss", "OnlyProfitHyperOptLoss", "-e", str(epochs), "-j", "1",
        "--random-state", "42",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:]
    gate_lines = [line for line in result.stdout.splitlines() if "profitguard" in line]
    summaries = [line for line in gate_lines if "risk gate (ProfitGuardSample, epoch)" in line]
    assert 1 <= len(summaries) <= epochs
    assert "refused (" in summaries[0]  # the sample's gate refuses some entries here
    assert not [line for line in gate_lines if "entry refused" in line or "trading state" in line]


def test_backtest_when_the_gate_refuses_then_its_summary_says_how_freqtrade_counts(
    tmp_path, offline_exchange, freqtrade_workspace
):
    datadir = tmp_path / "data"
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    gen.generate(datadir, pairs=tuple(pairs), timeframes=("5m",), days=10)
    ws = freqtrade_workspace(
        offline_exchange(datadir=datadir),
        pairs=pairs,
        strategies=[SAMPLE_STRATEGIES / "ProfitGuardSample.py"],
        datadir=datadir,
    )

    result = ws.run("backtesting", "--strategy", "ProfitGuardSample")

    assert result.returncode == 0, result.stdout[-3000:]
    assert "Rejected Entry signals" in result.stdout
    summary = result.stdout[result.stdout.index("profitguard risk gate (ProfitGuardSample") :]
    assert "not in\n  Freqtrade's 'Rejected Entry signals'" in summary


def test_readme_dry_run_when_started_then_a_ladder_moves_and_tp1_fills_within_minutes(tmp_path):
    """The README's dry-run section as a user runs it: one command, then Ctrl-C."""
    import shutil
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    repo = SAMPLE_STRATEGIES.parents[1]
    shutil.copytree(repo / "user_data", tmp_path / "user_data", ignore=_generated)
    freqtrade = str(Path(sys.executable).with_name("freqtrade"))
    entry = "import sys; from profitguard.cli import main; sys.exit(main())"
    argv = [
        sys.executable, "-c", entry, "offline", "--mode", "replay", "--replay-timeframe", "1m",
        "--speed", "5", "--script", "user_data/replay/quick.json", "--",
        freqtrade, "trade", "--config", "user_data/config.json",
        "--config", "user_data/config-dry-run.json", "--strategy", "ProfitGuardQuickSample",
    ]  # fmt: skip
    db = tmp_path / "tradesv3.dryrun.sqlite"

    def tp1_filled() -> bool:
        if not db.exists():
            return False
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                query = (
                    "SELECT count(*) FROM orders WHERE ft_order_tag = 'tp1' AND status = 'closed'"
                )
                return conn.execute(query).fetchone()[0] > 0
        except sqlite3.OperationalError:  # tables not created yet
            return False

    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(argv, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300  # the README promises under five minutes
            # the fill in the database, and its message in the log (Freqtrade sends the
            # strategy's messages at the start of its next loop)
            while (
                time.monotonic() < deadline
                and proc.poll() is None
                and not (tp1_filled() and "take-profit tp1 filled" in log.read_text())
            ):
                time.sleep(2)
        finally:
            running_when_stopped = proc.poll() is None
            before_stop = log.stat().st_size
            proc.send_signal(signal.SIGINT)  # Ctrl-C: the command and the exchange stop
            status = proc.wait(60)
    output = log.read_text()

    assert tp1_filled(), output[-4000:]
    assert "stop moved to breakeven or better" in output  # the ladder moved
    assert "take-profit tp1 filled" in output
    assert "entry refused" not in output
    # stopped by the Ctrl-C, not crashed: still running when it came, and the status
    # Freqtrade (and profitguard offline after it) gives an interrupted run
    assert running_when_stopped, output[-4000:]
    assert status == 130, output[-4000:]
    assert "Traceback" not in output[:before_stop], output[-4000:]


def _generated(directory: str, names: list[str]) -> list[str]:
    """Leave out what runs write into user_data (data, results, logs, databases)."""
    return [n for n in names if n in ("data", "backtest_results", "hyperopt_results", "logs")]
