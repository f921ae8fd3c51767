"""Risk gate and sizing settings (`profitguard.risk`): frozen, keyword-only, validated once.

Every limit is a ratio of equity (0.05 = 5%), a count, or an amount in the stake
currency; `null` turns a rule off. A bad value raises `ConfigError` naming the
field and the value; an unknown key suggests the closest known one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, make_dataclass
from enum import StrEnum
from typing import Any

from profitguard.engine import ConfigError
from profitguard.engine.config import _enum, check_known_keys
from profitguard.risk import validators
from profitguard.risk.account_config import ACCOUNT_RULE_CODES, AccountConfig
from profitguard.risk.registry import RULES, USD_LIKE_STAKES, USD_MIN_BALANCE, Registry

SECTION = "profitguard.risk"


class SizingMethod(StrEnum):
    FIXED_FRACTIONAL = "fixed_fractional"  # risk a ratio of equity to the initial stop
    KELLY = "kelly"  # fractional Kelly from recent closed trades (in R)
    VOLATILITY = "volatility"  # one ATR move costs a ratio of equity
    FIXED = "fixed"  # a fixed stake (or Freqtrade's own stake_amount)


def _check_keys(raw: Mapping[str, Any], cls: type, prefix: str) -> None:
    check_known_keys(raw, (f.name for f in fields(cls) if f.name != "source"), prefix)


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
        if not isinstance(raw, Mapping):
            raise ConfigError(f"'{source}' must be an object, was {raw!r}", field=source)
        _check_keys(raw, cls, source)
        return cls(**raw, source=source)


class _RiskConfigBase:
    """What every config made by `config_class` does: validate once, build from JSON."""

    __slots__ = ()
    rules: Registry  # the registry the class was made from (a class attribute)

    def __post_init__(self) -> None:
        p = self.source
        for rule in self.rules:
            for setting in rule.settings:
                value = getattr(self, setting.key)
                if value is not None or not setting.optional:
                    setting.validate(f"{p}.{setting.key}", value)
            if rule.validate_together is not None:
                rule.validate_together(self, p)
        if not isinstance(self.sizing, SizingConfig):
            raise ConfigError(
                f"'{p}.sizing' must be a SizingConfig, was {self.sizing!r}", field=f"{p}.sizing"
            )
        if self.account is not None and not isinstance(self.account, AccountConfig):
            raise ConfigError(
                f"'{p}.account' must be an AccountConfig, was {self.account!r}",
                field=f"{p}.account",
            )

    @classmethod
    def from_mapping(cls, raw: Any, *, source: str = SECTION, stake_currency: str | None = None):
        """Build from JSON-like data (the config's / strategy's `risk` section).

        With `stake_currency`, an unset `min_balance` is 100 for a USD-like stake and
        off for any other (`default_min_balance`)."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"'{source}' must be an object, was {raw!r}", field=source)
        _check_keys(raw, cls, source)
        values = dict(raw)
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


def config_class(rules: Registry, name: str, doc: str | None = None) -> type:
    """A frozen, keyword-only settings class with one field per setting of `rules` (its
    default), plus `sizing` and `source`; validated by each setting's validator."""
    keys = [s.key for rule in rules for s in rule.settings]
    if len(set(keys)) != len(keys):
        raise ValueError(f"a setting is declared twice in the rules of {name}: {keys}")
    specs: list[tuple[str, Any, Any]] = [
        (s.key, Any, field(default=s.default)) for rule in rules for s in rule.settings
    ]
    specs.append(("sizing", SizingConfig, field(default=SizingConfig())))
    # a shared account (`account_config`): None, the bot's budget is its own
    specs.append(("account", Any, field(default=None)))
    specs.append(("source", str, field(default=SECTION, compare=False, repr=False)))
    cls = make_dataclass(
        name,
        specs,
        bases=(_RiskConfigBase,),
        namespace={"rules": rules, "__doc__": doc, "__module__": __name__},
        frozen=True,
        slots=True,
        kw_only=True,
    )
    return cls


RiskConfig = config_class(
    RULES,
    "RiskConfig",
    """The pre-trade risk gate: one field per setting of `registry.RULES` (ratios of
    equity; None turns a rule off), plus `sizing`.

    `min_balance` defaults to 100 here; `from_mapping` with the stake currency keeps
    that default for USD-like stakes only (none otherwise).""",
)


AccountLimits = config_class(
    tuple(rule for rule in RULES if rule.code in ACCOUNT_RULE_CODES),
    "AccountLimits",
    """The limits of a shared account: the account-wide rules of `registry.RULES`, with
    the same settings, defaults and checks, evaluated over every bot's positions and
    closed trades. `sizing` and `account` are not its settings.""",
)


def account_from_mapping(
    raw: Any, *, source: str, stake_currency: str | None = None
) -> AccountConfig:
    """The `account` section: its own keys and the account's limits side by side."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"'{source}' must be an object, was {raw!r}", field=source)
    limit_keys = [s.key for rule in AccountLimits.rules for s in rule.settings]
    check_known_keys(raw, (*AccountConfig.OWN_KEYS, *limit_keys), source)
    for key in ("name", "db_url"):
        if key not in raw:
            raise ConfigError(f"'{source}.{key}' is required, was missing", field=f"{source}.{key}")
    own = {k: v for k, v in raw.items() if k in AccountConfig.OWN_KEYS}
    limits = {k: v for k, v in raw.items() if k not in AccountConfig.OWN_KEYS}
    made = AccountLimits.from_mapping(limits, source=source, stake_currency=stake_currency)
    return AccountConfig(**own, limits=made, source=source)


def default_min_balance(stake_currency: str) -> float | None:
    """100 for a USD-like stake currency, else None (no minimum)."""
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
