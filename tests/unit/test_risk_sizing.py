"""Position sizing: each method's formula, the stake cap, Freqtrade's min/max stake."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profitguard.risk.config import SizingConfig, SizingMethod
from profitguard.risk.sizing import kelly, size


def sized(method=SizingMethod.FIXED_FRACTIONAL, *, config=None, **kwargs):
    values = {
        "equity": 10_000.0,
        "rate": 100.0,
        "initial_stop": 98.0,
        "proposed_stake": 250.0,
        "min_stake": None,
        "max_stake": 1e9,
        "max_stake_ratio": None,
    } | kwargs
    return size(config or SizingConfig(method=method), **values)


@pytest.mark.parametrize("stop", [98.0, 102.0])  # a long and a short
def test_fixed_fractional_when_stop_2pct_away_then_1pct_of_equity_at_risk(stop):
    result = sized(initial_stop=stop)
    # 1% of 10,000 = 100 at risk; 2 per unit to the stop: 50 units, stake 5,000
    assert result.stake == pytest.approx(5_000)
    assert result.method == "fixed_fractional"
    assert not result.capped


def test_fixed_fractional_when_leverage_then_stake_is_the_margin():
    assert sized(leverage=5.0).stake == pytest.approx(1_000)


def test_sizing_when_raw_stake_above_the_cap_then_reduced_to_fit():
    result = sized(max_stake_ratio=0.10)
    assert result.stake == pytest.approx(1_000)
    assert result.capped
    assert result.raw_stake == pytest.approx(5_000)
    assert result.refusal is None


def test_sizing_when_freqtrade_max_stake_lower_then_reduced_to_it():
    assert sized(max_stake=700.0, max_stake_ratio=0.10).stake == 700.0


@pytest.mark.parametrize(("min_stake", "stake"), [(4_999.0, 5_000.0), (5_000.0, 5_000.0)])
def test_sizing_when_stake_at_or_above_freqtrade_minimum_then_kept(min_stake, stake):
    assert sized(min_stake=min_stake).stake == pytest.approx(stake)


def test_sizing_when_stake_below_freqtrade_minimum_then_no_trade_rather_than_more_risk():
    result = sized(min_stake=5_001.0)
    assert result.stake == 0
    assert result.refusal.message() == (
        "SIZING: stake=5000.00, min_stake=5001.00, method=fixed_fractional"
    )


def test_kelly_when_half_win_2r_lose_1r_then_quarter():
    assert kelly([2.0, -1.0] * 10) == pytest.approx(0.5 - 0.5 / 2.0)


@pytest.mark.parametrize(
    ("rs", "expected"),
    [([1.0, 2.0], 1.0), ([-1.0, -2.0], -math.inf), ([3.0, -1.0, -1.0, -1.0], 0.25 - 0.75 / 3.0)],
)
def test_kelly_when_edge_cases_then_formula_holds(rs, expected):
    assert kelly(rs) == pytest.approx(expected)


def test_kelly_sizing_when_enough_trades_then_fractional_and_capped():
    config = SizingConfig(
        method=SizingMethod.KELLY, kelly_fraction=0.5, kelly_max_risk=1.0, kelly_min_trades=20
    )
    result = sized(config=config, r_history=[2.0, -1.0] * 10)  # f* = 0.25: risk 12.5%
    assert result.stake == pytest.approx(0.125 * 10_000 / 2 * 100)
    capped = SizingConfig(method=SizingMethod.KELLY, kelly_max_risk=0.02)
    assert sized(config=capped, r_history=[2.0, -1.0] * 10).stake == pytest.approx(10_000)


def test_kelly_sizing_when_lookback_then_only_the_last_trades_count():
    config = SizingConfig(
        method=SizingMethod.KELLY, kelly_lookback=20, kelly_min_trades=20, kelly_max_risk=1.0
    )
    old_losses = [-1.0] * 50
    result = sized(config=config, r_history=[*old_losses, *([2.0, -1.0] * 10)])
    assert result.stake == pytest.approx(0.5 * 0.25 * 10_000 / 2 * 100)


@pytest.mark.parametrize(("trades", "method"), [(19, "fixed_fractional (kelly: 19 < 20 trades)"),
                                                (20, "kelly")])  # fmt: skip
def test_kelly_sizing_when_sample_around_the_minimum_then_falls_back_below(trades, method):
    config = SizingConfig(method=SizingMethod.KELLY, kelly_min_trades=20)
    result = sized(config=config, r_history=([2.0, -1.0] * 10)[:trades])
    assert result.method == method
    if trades < 20:
        assert result.stake == pytest.approx(5_000)  # 1% to the stop


def test_kelly_sizing_when_no_edge_then_no_trade():
    config = SizingConfig(method=SizingMethod.KELLY, kelly_min_trades=20)
    result = sized(config=config, r_history=[1.0, -1.0, -1.0] * 10)
    assert result.stake == 0
    assert result.refusal.evidence["kelly"] == pytest.approx(1 / 3 - (2 / 3))


def test_volatility_sizing_when_atr_then_one_atr_costs_the_budget():
    config = SizingConfig(method=SizingMethod.VOLATILITY, atr_risk=0.01)
    # 1% of 10,000 = 100 per ATR of 4: 25 units at 100
    assert sized(config=config, atr=4.0).stake == pytest.approx(2_500)


@pytest.mark.parametrize("atr", [None, math.nan, 0.0])
def test_volatility_sizing_when_atr_missing_then_no_trade(atr):
    result = sized(SizingMethod.VOLATILITY, atr=atr)
    assert result.stake == 0
    assert "column=atr" in result.refusal.message()


def test_fixed_sizing_when_amount_set_then_it_else_freqtrade_stake():
    assert sized(config=SizingConfig(method="fixed", fixed_stake=300.0)).stake == 300.0
    assert sized(SizingMethod.FIXED).stake == 250.0  # proposed: the config's stake_amount
    assert sized(SizingMethod.FIXED, max_stake_ratio=0.01).stake == 100.0  # still capped


@pytest.mark.parametrize(
    ("kwargs", "figure"),
    [({"equity": 0.0}, "equity"), ({"initial_stop": 100.0}, "stop_distance")],
)
def test_sizing_when_inputs_cannot_size_then_no_trade(kwargs, figure):
    result = sized(**kwargs)
    assert result.stake == 0
    assert figure in result.refusal.evidence


@given(
    equity=st.floats(100, 1e7),
    rate=st.floats(0.001, 1e5),
    stop_pct=st.floats(0.001, 0.5),
    risk=st.floats(0.001, 1.0),
    cap=st.one_of(st.none(), st.floats(0.01, 1.0)),
    max_stake=st.floats(1, 1e8),
    leverage=st.floats(1, 20),
)
def test_fixed_fractional_property_stake_within_limits_and_risk_within_budget(
    equity, rate, stop_pct, risk, cap, max_stake, leverage
):
    stop = rate * (1 - stop_pct)
    result = sized(
        config=SizingConfig(risk_per_trade=risk),
        equity=equity,
        rate=rate,
        initial_stop=stop,
        max_stake=max_stake,
        max_stake_ratio=cap,
        leverage=leverage,
    )
    assert result.stake <= max_stake * (1 + 1e-12)
    if cap is not None:
        assert result.stake <= cap * equity * (1 + 1e-12)
    at_risk = result.stake * leverage / rate * (rate - stop)
    assert at_risk <= risk * equity * (1 + 1e-9)


@given(
    rs=st.lists(st.floats(-5, 10, allow_nan=False), min_size=20, max_size=60),
    max_risk=st.floats(0.001, 1.0),
)
def test_kelly_property_risk_never_above_its_cap(rs, max_risk):
    config = SizingConfig(method=SizingMethod.KELLY, kelly_max_risk=max_risk)
    result = sized(config=config, r_history=rs)
    at_risk = result.stake / 100.0 * 2.0
    assert at_risk <= max_risk * 10_000 * (1 + 1e-9)
