"""`profitguard.risk.account`: a shared account's settings, validated like the rest of
the risk config (the field and the value named, the closest key suggested)."""

from __future__ import annotations

import pytest

from profitguard.engine import ConfigError
from profitguard.freqtrade.settings import load_settings
from profitguard.risk.account_config import AccountEquity
from profitguard.risk.checks import Rule
from profitguard.risk.config import AccountLimits, RiskConfig

URL = "postgresql+psycopg://bot:secret@db.example/accounts"


def risk(account, stake_currency="USDT"):
    return RiskConfig.from_mapping(
        {"account": account}, source="profitguard.risk", stake_currency=stake_currency
    )


def test_risk_config_when_no_account_then_none_and_the_rest_unchanged():
    assert RiskConfig().account is None
    assert RiskConfig.from_mapping({"max_heat": 0.2}).account is None
    settings = load_settings({}, {"stake_currency": "USDT"})
    assert settings.risk.account is None
    assert settings.risk == RiskConfig.from_mapping({}, stake_currency="USDT")


def test_account_when_set_then_its_keys_and_its_limits_with_the_risk_defaults():
    account = risk({"name": "main", "db_url": URL, "reservation_ttl": 30, "max_open_positions": 1})
    account = account.account
    assert (account.name, account.db_url, account.reservation_ttl) == ("main", URL, 30)
    assert account.equity is AccountEquity.SHARED
    assert isinstance(account.limits, AccountLimits)
    assert account.limits.max_open_positions == 1
    assert account.limits.max_heat == RiskConfig().max_heat
    assert account.limits.min_balance == 100.0  # USD-like stake, as the bot's own
    codes = {rule.code for rule in account.limits.rules}
    assert Rule.MAX_POSITIONS in codes and Rule.HEAT in codes
    assert Rule.STAKE_CAP not in codes and Rule.REWARD_RISK not in codes


def test_account_when_in_the_freqtrade_config_then_loaded_with_the_settings():
    config = {"profitguard": {"risk": {"account": {"name": "main", "db_url": URL}}}}
    assert load_settings({}, config).risk.account.name == "main"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"name": "main", "db_url": URL, "max_open_position": 1},
            r"unknown setting 'profitguard.risk.account.max_open_position'. "
            r"Did you mean 'max_open_positions'\?",
        ),
        (
            {"name": "main", "db_url": URL, "reservaton_ttl": 5},
            r"Did you mean 'reservation_ttl'\?",
        ),
        (
            {"name": "main", "db_url": URL, "sizing": {}},
            r"unknown setting 'profitguard.risk.account.sizing'",
        ),
        ({"db_url": URL}, r"'profitguard.risk.account.name' is required"),
        ({"name": "main"}, r"'profitguard.risk.account.db_url' is required"),
        ({"name": "", "db_url": URL}, r"'profitguard.risk.account.name' must be a name .* was ''"),
        (
            {"name": "main", "db_url": "sqlite:///accounts.sqlite"},
            r"'profitguard.risk.account.db_url' must be a PostgreSQL URL .* "
            r"was 'sqlite:///accounts.sqlite'",
        ),
        (
            {"name": "main", "db_url": "not a url"},
            r"'profitguard.risk.account.db_url' must be a database URL .* was 'not a url'",
        ),
        (
            {"name": "main", "db_url": URL, "reservation_ttl": 0},
            r"'profitguard.risk.account.reservation_ttl' must be > 0, was 0",
        ),
        (
            {"name": "main", "db_url": URL, "reservation_ttl": 7200},
            r"'profitguard.risk.account.reservation_ttl' must be <= its bound in seconds "
            r"\(3600.0\), was 7200",
        ),
        (
            {"name": "main", "db_url": URL, "equity": "both"},
            r"'profitguard.risk.account.equity' must be one of 'shared', 'sum', was 'both'",
        ),
        (
            {"name": "main", "db_url": URL, "max_heat": 2},
            r"'profitguard.risk.account.max_heat' must be in \(0, 1\]",
        ),
        ("main", r"'profitguard.risk.account' must be an object, was 'main'"),
    ],
)
def test_account_when_bad_then_error_names_the_field_and_the_value(raw, message):
    with pytest.raises(ConfigError, match=message):
        risk(raw)


def test_account_error_when_url_has_a_password_then_it_is_not_shown():
    with pytest.raises(ConfigError) as caught:
        risk({"name": "main", "db_url": "mysql://bot:secret@db/x"})
    assert "secret" not in str(caught.value)
