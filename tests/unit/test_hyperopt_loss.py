"""ProfitGuardRLoss: R per trade from the recorded initial stop, drawdown in R, the score."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from freqtrade.exceptions import OperationalException
from freqtrade.resolvers.hyperopt_resolver import HyperOptLossResolver
from hypothesis import given
from hypothesis import strategies as st

from profitguard.freqtrade import backtest_stops
from profitguard.freqtrade.loss import ProfitGuardRLoss, max_drawdown, r_multiples, r_score

REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600_000
MINUTE = 60_000


def row(pair, opened, closed, open_rate, profit_abs, amount, *, is_short=False, dca=None):
    entries = [{"amount": amount, "ft_is_entry": True}]
    if dca:
        entries.append({"amount": dca, "ft_is_entry": True})
    return {
        "pair": pair,
        "open_timestamp": T0 + opened * MINUTE,
        "close_timestamp": T0 + closed * MINUTE,
        "open_date": pd.Timestamp(T0 + opened * MINUTE, unit="ms", tz="UTC"),
        "is_short": is_short,
        "open_rate": open_rate,
        "profit_abs": profit_abs,
        "orders": [*entries, {"amount": amount + (dca or 0), "ft_is_entry": False}],
    }


@pytest.fixture
def run():
    """A backtest run's ledger: record(pair, opened minute, initial stop, is_short)."""
    backtest_stops.start_run()

    def record(pair, opened, stop, is_short=False):
        opened_at = datetime.fromtimestamp((T0 + opened * MINUTE) / 1000, UTC)
        trade = SimpleNamespace(pair=pair, open_date_utc=opened_at, is_short=is_short)
        backtest_stops.record(trade, stop)

    yield record
    backtest_stops.start_run()


@pytest.mark.parametrize(
    ("r_values", "drawdown"),
    [
        ([], 0.0),
        ([1.0, 2.0], 0.0),
        ([-1.0], 1.0),  # from the start (0)
        ([1.0, -2.0, 3.0, -1.0, -1.0], 2.0),
        ([2.0, -1.0, -1.0, 3.0], 2.0),
    ],
)
def test_max_drawdown_when_r_sequence_then_largest_fall_from_a_high(r_values, drawdown):
    assert max_drawdown(r_values) == drawdown


def test_r_score_when_trades_then_total_minus_drawdown_per_trade():
    assert r_score([2.0, -1.0, -1.0, 3.0]) == pytest.approx((3.0 - 2.0) / 4)
    assert r_score([2.0, -1.0, -1.0, 3.0], drawdown_weight=0) == pytest.approx(0.75)
    assert r_score([]) == 0.0


@given(st.lists(st.floats(-5, 20), min_size=1, max_size=50))
def test_r_score_when_any_trades_then_never_above_expectancy(r_values):
    assert r_score(r_values) <= sum(r_values) / len(r_values) + 1e-9


def test_r_multiples_when_long_short_and_dca_then_net_profit_over_initial_risk(run):
    run("BTC/USDT", 0, 98.0)
    run("ETH/USDT", 5, 103.0, is_short=True)
    run("SOL/USDT", 10, 9.0)
    results = pd.DataFrame(
        [
            row("BTC/USDT", 0, 30, 100.0, 30.0, 10.0),  # risk 2 x 10: +1.5R
            row("ETH/USDT", 5, 20, 100.0, -15.0, 5.0, is_short=True),  # risk 3 x 5: -1R
            row("SOL/USDT", 10, 25, 10.0, 4.0, 2.0, dca=2.0),  # risk 1 x 4 entered: +1R
        ]
    )
    assert r_multiples(results) == pytest.approx([-1.0, 1.0, 1.5])  # in closing order


def test_loss_when_called_by_freqtrade_then_minus_the_r_score(run):
    run("BTC/USDT", 0, 98.0)
    run("BTC/USDT", 40, 98.0)
    results = pd.DataFrame(
        [row("BTC/USDT", 0, 30, 100.0, -20.0, 10.0), row("BTC/USDT", 40, 50, 100.0, 60.0, 10.0)]
    )
    loss = ProfitGuardRLoss.hyperopt_loss_function(
        results=results, trade_count=2, min_date=None, max_date=None, config={},
        processed={}, backtest_stats={}, starting_balance=1000,
    )  # fmt: skip
    assert loss == pytest.approx(-((-1.0 + 3.0) - 1.0) / 2)

    class NoDrawdown(ProfitGuardRLoss):
        drawdown_weight = 0.0

    assert NoDrawdown.hyperopt_loss_function(results=results) == pytest.approx(-1.0)


def test_loss_when_trade_has_no_recorded_stop_then_refuses_naming_it(run):
    run("BTC/USDT", 0, 98.0)
    results = pd.DataFrame([row("ETH/USDT", 0, 30, 100.0, 30.0, 10.0)])
    with pytest.raises(OperationalException, match=r"no initial stop recorded for the ETH/USDT"):
        ProfitGuardRLoss.hyperopt_loss_function(results=results)


def test_loss_when_trade_risked_nothing_then_refuses_naming_it(run):
    run("ETH/USDT", 0, 100.0)  # the initial stop at the entry: R is undefined
    results = pd.DataFrame([row("ETH/USDT", 0, 30, 100.0, 30.0, 10.0)])
    with pytest.raises(OperationalException, match=r"ETH/USDT trade .* risked nothing"):
        ProfitGuardRLoss.hyperopt_loss_function(results=results)


def test_loss_file_when_resolved_by_freqtrade_then_the_profitguard_loss():
    loss = HyperOptLossResolver.load_hyperoptloss(
        {
            "hyperopt_loss": "ProfitGuardRLoss",
            "user_data_dir": REPO_ROOT / "user_data",
            "timeframe": "5m",
        }
    )
    assert isinstance(loss, ProfitGuardRLoss)
    assert type(loss) is not ProfitGuardRLoss  # the subclass the file defines
