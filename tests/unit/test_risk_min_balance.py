"""`min_balance`: a default only where 100 of the stake currency is about 100 dollars,
and a start-up error when it would refuse every entry."""

import pytest

from profitguard.engine import ConfigError
from profitguard.freqtrade.settings import load_settings
from profitguard.risk.config import RiskConfig, check_min_balance


@pytest.mark.parametrize(
    ("stake", "expected"),
    [("USDT", 100.0), ("usdc", 100.0), ("FDUSD", 100.0), ("USD", 100.0), ("DAI", 100.0),
     ("BTC", None), ("ETH", None), ("EUR", None)],
)  # fmt: skip
def test_min_balance_when_unset_then_default_only_for_usd_like_stakes(stake, expected):
    assert RiskConfig.from_mapping({}, stake_currency=stake).min_balance == expected
    settings = load_settings({}, {"stake_currency": stake})
    assert settings.risk.min_balance == expected


def test_min_balance_when_set_then_kept_whatever_the_stake():
    config = RiskConfig.from_mapping({"min_balance": 0.5}, stake_currency="BTC")
    assert config.min_balance == 0.5


@pytest.mark.parametrize(("limit", "wallet"), [(100.0, 1.0), (1.0, 1.0), (1000.0, 999.99)])
def test_check_min_balance_when_at_or_above_the_wallet_then_error_naming_both(limit, wallet):
    config = RiskConfig(min_balance=limit)
    with pytest.raises(ConfigError, match=rf"min_balance' \({limit:g} BTC\).*\({wallet:g} BTC\)"):
        check_min_balance(config, wallet, "BTC")


@pytest.mark.parametrize("limit", [None, 0.0, 0.99])
def test_check_min_balance_when_below_the_wallet_or_off_then_passes(limit):
    check_min_balance(RiskConfig(min_balance=limit), 1.0, "BTC")
