"""Risk gate and sizing settings (`profitguard.risk`): frozen, keyword-only, validated once.

Every limit is a ratio of equity (0.05 = 5%), a count, or an amount in the stake
currency; `null` turns a rule off. A bad value raises `ConfigError` naming the
field and the value; an unknown key suggests the closest known one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar

from profitguard.engine import ConfigError
from profitguard.engine.protection_config import _enum, check_known_keys
from profitguard.risk import validators
from profitguard.risk.account_config import ACCOUNT_RULE_CODES, AccountConfig
from profitguard.risk.registry import RULES, USD_LIKE_STAKES, USD_MIN_BALANCE, Registry

# the rules that hold for a whole account (a shared one's, and each bot's part of them)
ACCOUNT_RULES: Registry = tuple(rule for rule in RULES if rule.code in ACCOUNT_RULE_CODES)

SECTION = "profitguard.risk"


class SizingMethod(StrEnum):
    FIXED_FRACTIONAL = "fixed_fractional"  # risk a ratio of equity to the initial stop
    KELLY = "kelly"  # fractional Kelly from recent closed trades (in R)
    VOLATILITY = "volatility"  # one ATR move costs a ratio of equity
    FIXED = "fixed"  # a fixed stake (or Freqtrade's own stake_amount)


def _known(raw: Any, source: str, keys: Iterable[str]) -> Mapping[str, Any]:
    """`raw` as a mapping of known keys (an unknown one suggests the closest)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"'{source}' must be an object, was {raw!r}", field=source)
    check_known_keys(raw, keys, source)
    return raw


def _keys(cls: type) -> list[str]:
    return [f.name for f in fields(cls) if f.name != "source"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SizingConfig:
    """How the stake of a new trade is sized (before the stake cap and Freqtrade's limits)."""

    method: SizingMethod = SizingMethod.FIXED_FRACTIONAL
    risk_per_trade: float = 0.01  # fixed_fractional (and Kelly's fallback): equity ratio at risk
    kelly_fraction: float = 0.5  # the share of full Kelly taken
    kelly_max_risk: float = 0.02  # Kelly never risks more than this equity ratio
    kelly_lookback: int = 50  # closed trades Kelly learns from
    kelly_min_trades: int = 20  # fewer closed trades (with an R): fixed_fractional instead
    atr_risk: float = 0.01  # volatility: one ATR against the trade costs this equity ratio
    atr_column: str = "atr"
    fixed_stake: float | None = None  # fixed: the stake; None = Freqtrade's stake_amount
    source: str = field(default=f"{SECTION}.sizing", compare=False, repr=False)

    def __post_init__(self) -> None:
        p = self.source
        object.__setattr__(self, "method", _enum(f"{p}.method", SizingMethod, self.method))
        for name in ("risk_per_trade", "kelly_max_risk", "atr_risk", "kelly_fraction"):
            validators.ratio(f"{p}.{name}", getattr(self, name))
        validators.count_of_two(f"{p}.kelly_lookback", self.kelly_lookback)
        validators.count_of_two(f"{p}.kelly_min_trades", self.kelly_min_trades)
        validators.at_most(
            f"{p}.kelly_min_trades", self.kelly_min_trades, self.kelly_lookback, "kelly_lookback"
        )
        validators.column(f"{p}.atr_column", self.atr_column)
        if self.fixed_stake is not None:
            validators.above_zero(f"{p}.fixed_stake", self.fixed_stake)

    @classmethod
    def from_mapping(cls, raw: Any, *, source: str = f"{SECTION}.sizing") -> SizingConfig:
        return cls(**_known(raw, source, _keys(cls)), source=source)


def _validate(config: AccountLimits) -> None:
    """Each setting of the class's rules by its validator, then each rule's settings together."""
    p = config.source
    for rule in config.rules:
        for setting in rule.settings:
            value = getattr(config, setting.key)
            if value is not None or not setting.optional:
                setting.validate(f"{p}.{setting.key}", value)
        if rule.validate_together is not None:
            rule.validate_together(config, p)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountLimits:
    """The limits that pause every entry (`ACCOUNT_RULES`): a bot's own (in `RiskConfig`)
    and a shared account's (`account_from_mapping`). Ratios of equity; None: off."""

    rules: ClassVar[Registry] = ACCOUNT_RULES
    # 100 for USD-like stakes; `from_mapping` with another stake currency: none
    min_balance: float | None = USD_MIN_BALANCE
    max_daily_loss: float | None = 0.05  # realized, UTC day
    max_weekly_loss: float | None = 0.10  # realized, UTC ISO week (from Monday)
    max_monthly_loss: float | None = 0.20  # realized, UTC calendar month
    max_consecutive_losses: int | None = 3
    loss_streak_cooldown_minutes: float | None = None  # None: paused until reset/resume
    max_open_positions: int | None = 5
    max_asset_exposure: float | None = 0.20  # open stakes in one base asset / equity
    max_heat: float | None = 0.30  # open risk to the stops in force / equity
    max_correlated_positions: int | None = 2
    correlation_threshold: float = 0.8
    correlation_window: int = 100  # candles of returns
    correlation_min_candles: int = 20  # fewer returns in common: the entry is refused
    source: str = field(default=SECTION, compare=False, repr=False)

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_mapping(cls, raw: Any, *, source: str = SECTION, stake_currency: str | None = None):
        """From the `risk` section; with `stake_currency`, an unset `min_balance` is 100 for
        a USD-like stake and off for any other."""
        values = dict(_known(raw, source, _keys(cls)))
        if stake_currency is not None and "min_balance" not in values:
            values["min_balance"] = default_min_balance(stake_currency)
        if "sizing" in values:
            values["sizing"] = SizingConfig.from_mapping(
                values["sizing"], source=f"{source}.sizing"
            )
        if values.get("account") is not None:
            values["account"] = account_from_mapping(
                values["account"], source=f"{source}.account", stake_currency=stake_currency
            )
        return cls(**values, source=source)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskConfig(AccountLimits):
    """The pre-trade risk gate: the account limits, the limits on one entry (`RULES`'
    settings are these fields: `settings_mismatch` keeps them in step), the sizing, and
    a shared account if any."""

    rules: ClassVar[Registry] = RULES
    max_stake_ratio: float | None = 0.10  # the stake is reduced to fit, not refused
    max_stop_to_liquidation: float | None = 1.0  # futures: stop distance / liquidation's
    min_stop_ticks: int | None = 3  # the initial stop at least this many ticks away
    min_stop_to_fees: float | None = 1.0  # ... and this many times the round-trip fees
    min_reward_risk: float | None = 1.5  # first target's distance / initial stop's
    max_entry_slippage: float | None = 0.005  # entry rate vs the signal candle's close
    min_confidence: float | None = 0.70  # only when the dataframe has `confidence_column`
    confidence_column: str = "confidence"
    sizing: SizingConfig = SizingConfig()
    account: AccountConfig | None = None  # a shared account; None: the bot's budget is its own

    def __post_init__(self) -> None:
        _validate(self)
        kinds = {
            "sizing": (SizingConfig, "a SizingConfig"),
            "account": (AccountConfig | None, "an AccountConfig"),
        }
        for name, (kind, shown) in kinds.items():
            if not isinstance(value := getattr(self, name), kind):
                where = f"{self.source}.{name}"
                raise ConfigError(f"'{where}' must be {shown}, was {value!r}", field=where)


def settings_mismatch(cls: type[AccountLimits]) -> list[str]:
    """How the fields of a limits class differ from its registry's settings, in order
    (empty: in step). A rule is a `RuleSpec` in the registry plus its fields here."""
    own = {"sizing", "account", "source"}
    declared = [f.name for f in fields(cls) if f.name not in own]
    registered = [s.key for rule in cls.rules for s in rule.settings]
    missing = [f"no field for setting {k!r}" for k in registered if k not in declared]
    extra = [f"field {k!r} is no rule's setting" for k in declared if k not in registered]
    return missing + extra


def account_from_mapping(
    raw: Any, *, source: str, stake_currency: str | None = None
) -> AccountConfig:
    """The `account` section: its own keys and the account's limits side by side."""
    _known(raw, source, (*AccountConfig.OWN_KEYS, *_keys(AccountLimits)))
    for key in ("name", "db_url"):
        if key not in raw:
            raise ConfigError(f"'{source}.{key}' is required, was missing", field=f"{source}.{key}")
    own = {k: v for k, v in raw.items() if k in AccountConfig.OWN_KEYS}
    limits = {k: v for k, v in raw.items() if k not in AccountConfig.OWN_KEYS}
    made = AccountLimits.from_mapping(limits, source=source, stake_currency=stake_currency)
    return AccountConfig(**own, limits=made, source=source)


def default_min_balance(stake_currency: str) -> float | None:
    return USD_MIN_BALANCE if stake_currency.upper() in USD_LIKE_STAKES else None


def check_min_balance(config: RiskConfig, starting_wallet: float, stake_currency: str) -> None:
    """A `min_balance` at or above the starting wallet would refuse every entry from the
    first one: a start-up error naming both figures."""
    limit = config.min_balance
    if limit is not None and limit > 0 and limit >= starting_wallet:
        name = f"{config.source}.min_balance"
        raise ConfigError(
            f"'{name}' ({limit:g} {stake_currency}) must be below the starting wallet "
            f"({starting_wallet:g} {stake_currency}), or every entry is refused "
            f"(MIN_BALANCE); lower it, or set it to null",
            field=name,
        )
