"""What a new user meets in the first hour, run with the real freqtrade."""

import pytest

from profitguard.exchange import generate as gen
from tests.exchange_fixtures import SAMPLE_STRATEGIES, last_backtest_stats

pytestmark = pytest.mark.slow

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
