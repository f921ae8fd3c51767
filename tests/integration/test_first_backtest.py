"""A new user's first backtest: the README's EMA-cross strategy, profitguard's
defaults, the demo data. A losing streak pauses for the backtest's default cooldown,
so the strategy trades about as often as it would without the streak rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from profitguard.tooling.exchange import generate as gen
from tests.exchange_fixtures import last_backtest_stats

pytestmark = pytest.mark.slow  # real freqtrade backtesting, twice

STRATEGY = Path(__file__).parent / "strategies" / "ReadmeEmaCross.py"
PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]  # the demo's (user_data/config.json)


def backtest(offline_exchange, freqtrade_workspace, datadir, profitguard):
    ws = freqtrade_workspace(
        offline_exchange(datadir=datadir),
        pairs=PAIRS,
        strategies=[STRATEGY],
        datadir=datadir,
        profitguard=profitguard,
    )
    result = ws.run("backtesting", "--strategy", "MyEmaCross", "--cache", "none")
    assert result.returncode == 0, result.stdout[-5000:]
    return last_backtest_stats(ws)["strategy"]["MyEmaCross"]["trades"], result.stdout


def test_readme_strategy_when_backtested_with_defaults_then_trades_at_least_half_as_often(
    offline_exchange, freqtrade_workspace, tmp_path
):
    datadir = tmp_path / "data"
    gen.generate(datadir, pairs=tuple(PAIRS), timeframes=("5m",))  # the demo's candles

    default, output = backtest(offline_exchange, freqtrade_workspace, datadir, {})
    off, _ = backtest(
        offline_exchange, freqtrade_workspace, datadir, {"risk": {"max_consecutive_losses": None}}
    )

    assert len(off) > 100
    assert len(default) >= len(off) / 2, (len(default), len(off))
    assert "entries pause for 60 minutes" in output
    assert "profitguard: warning" not in output


def test_backtest_when_streak_pauses_until_resume_then_one_warning_line_naming_the_rule(
    offline_exchange, freqtrade_workspace, tmp_path
):
    datadir = tmp_path / "data"
    gen.generate(datadir, pairs=tuple(PAIRS), timeframes=("5m",))

    until_resume = {"risk": {"loss_streak_cooldown_minutes": None}}
    _, output = backtest(offline_exchange, freqtrade_workspace, datadir, until_resume)

    warnings = [line for line in output.splitlines() if "profitguard: warning" in line]
    assert len(warnings) == 1, warnings
    assert "CONSECUTIVE_LOSSES" in warnings[0]
    assert "refused 9" in warnings[0] and "paused entries for 9" in warnings[0], warnings[0]
