"""Risk settings: the documented defaults, errors naming field and value, unknown keys."""

from __future__ import annotations

import pytest

from profitguard.engine import ConfigError
from profitguard.risk.config import RiskConfig, SizingConfig, SizingMethod

P = r"'profitguard\.risk\."  # every error names the full setting


def test_defaults_when_nothing_set_then_the_spec_table():
    config = RiskConfig.from_mapping({})
    assert (
        config.max_stake_ratio,
        config.max_open_positions,
        config.max_heat,
        (config.max_daily_loss, config.max_weekly_loss, config.max_monthly_loss),
        config.max_consecutive_losses,
        config.loss_streak_cooldown_minutes,
        config.min_balance,
        config.min_reward_risk,
        config.max_entry_slippage,
        config.max_asset_exposure,
        (config.max_correlated_positions, config.correlation_threshold),
        config.min_confidence,
    ) == (0.10, 5, 0.30, (0.05, 0.10, 0.20), 3, None, 100.0, 1.5, 0.005, 0.20, (2, 0.8), 0.70)
    assert config.sizing.method is SizingMethod.FIXED_FRACTIONAL
    assert config.sizing.risk_per_trade == 0.01


def test_from_mapping_when_rules_null_then_turned_off_and_sizing_parsed():
    config = RiskConfig.from_mapping(
        {"max_heat": None, "max_open_positions": None, "sizing": {"method": "kelly"}}
    )
    assert config.max_heat is None and config.max_open_positions is None
    assert config.sizing == SizingConfig(method=SizingMethod.KELLY)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"max_heat": 1.5}, P + r"max_heat' must be in \(0, 1\] .*was 1.5"),
        ({"max_daily_loss": 0}, P + r"max_daily_loss' must be in \(0, 1\]"),
        ({"max_daily_loss": "5%"}, P + r"max_daily_loss' must be a number, was '5%'"),
        ({"max_open_positions": 2.5}, P + r"max_open_positions' must be a whole"),
        ({"max_open_positions": 0}, P + r"max_open_positions' must be >= 1, was 0"),
        ({"max_consecutive_losses": True}, P + r"max_consecutive_losses' must be"),
        ({"min_balance": -1}, P + r"min_balance' must be >= 0, was -1"),
        ({"max_entry_slippage": 1}, P + r"max_entry_slippage' must be in \(0, 1\)"),
        ({"correlation_threshold": 1.0}, P + r"correlation_threshold' must be in"),
        ({"correlation_window": 10, "correlation_min_candles": 20}, r"correlation_min_candles"),
        ({"loss_streak_cooldown_minutes": 0}, P + r"loss_streak_cooldown_minutes'"),
        ({"confidence_column": ""}, P + r"confidence_column' must be a column"),
        ({"max_hat": 0.3}, r"unknown setting 'profitguard.risk.max_hat'. Did you mean 'max_heat'"),
        ({"sizing": {"method": "martingale"}}, P + r"sizing.method' must be one of"),
        ({"sizing": {"risk_per_trade": 2}}, P + r"sizing.risk_per_trade' must be"),
        ({"sizing": {"kelly_min_trades": 60}}, P + r"sizing.kelly_min_trades' must"),
        ({"sizing": {"fixed_stake": 0}}, P + r"sizing.fixed_stake' must be > 0"),
        ({"sizing": {"risk_per_trad": 0.01}}, r"Did you mean 'risk_per_trade'"),
        ({"sizing": []}, P + r"sizing' must be an object"),
    ],
)
def test_from_mapping_when_value_invalid_then_error_names_field_and_value(raw, match):
    with pytest.raises(ConfigError, match=match):
        RiskConfig.from_mapping(raw)


def test_from_mapping_when_not_an_object_then_error():
    with pytest.raises(ConfigError, match=r"'profitguard.risk' must be an object, was 3"):
        RiskConfig.from_mapping(3)
