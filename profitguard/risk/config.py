"""Risk gate and sizing settings (`profitguard.risk`): frozen, keyword-only, validated once.

Every limit is a ratio of equity (0.05 = 5%), a count, or an amount in the stake
currency; `null` turns a rule off. A bad value raises `ConfigError` naming the
field and the value; an unknown key suggests the closest known one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from profitguard.engine import ConfigError
from profitguard.engine.config import _above_zero, _enum, _number, check_known_keys

SECTION = "profitguard.risk"
# Stake currencies whose unit is about one US dollar: the only ones `min_balance`
# has a default for (100 of them). In BTC or ETH, 100 would be a fortune.
USD_LIKE_STAKES = frozenset({"USDT", "USDC", "FDUSD", "USD", "DAI"})
USD_MIN_BALANCE = 100.0


class SizingMethod(StrEnum):
    FIXED_FRACTIONAL = "fixed_fractional"  # risk a ratio of equity to the initial stop
    KELLY = "kelly"  # fractional Kelly from recent closed trades (in R)
    VOLATILITY = "volatility"  # one ATR move costs a ratio of equity
    FIXED = "fixed"  # a fixed stake (or Freqtrade's own stake_amount)


def _ratio(name: str, value: Any, *, upper_open: bool = False) -> None:
    number = _number(name, value)
    if number <= 0 or number > 1 or (upper_open and number >= 1):
        interval = "(0, 1)" if upper_open else "(0, 1]"
        raise ConfigError(
            f"'{name}' must be in {interval} (a ratio: 0.05 = 5%), was {value!r}", field=name
        )


def _count(name: str, value: Any, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"'{name}' must be a whole number, was {value!r}", field=name)
    if value < minimum:
        raise ConfigError(f"'{name}' must be >= {minimum}, was {value!r}", field=name)


def _not_negative(name: str, value: Any) -> None:
    if _number(name, value) < 0:
        raise ConfigError(f"'{name}' must be >= 0, was {value!r}", field=name)


def _at_most(name: str, value: int, bound: int, bound_name: str) -> None:
    if value > bound:
        raise ConfigError(f"'{name}' must be <= {bound_name} ({bound}), was {value!r}", field=name)


def _column(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"'{name}' must be a column name, was {value!r}", field=name)


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
            _ratio(f"{p}.{name}", getattr(self, name))
        _count(f"{p}.kelly_lookback", self.kelly_lookback, minimum=2)
        _count(f"{p}.kelly_min_trades", self.kelly_min_trades, minimum=2)
        _at_most(
            f"{p}.kelly_min_trades", self.kelly_min_trades, self.kelly_lookback, "kelly_lookback"
        )
        _column(f"{p}.atr_column", self.atr_column)
        if self.fixed_stake is not None:
            _above_zero(f"{p}.fixed_stake", self.fixed_stake)

    @classmethod
    def from_mapping(cls, raw: Any, *, source: str = f"{SECTION}.sizing") -> SizingConfig:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"'{source}' must be an object, was {raw!r}", field=source)
        _check_keys(raw, cls, source)
        return cls(**raw, source=source)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskConfig:
    """The pre-trade risk gate. Ratios of equity; None turns a rule off.

    `min_balance` defaults to 100 here; `from_mapping` with the stake currency keeps
    that default for USD-like stakes only (none otherwise)."""

    max_stake_ratio: float | None = 0.10  # the stake is reduced to fit, not refused
    max_open_positions: int | None = 5
    max_heat: float | None = 0.30  # open risk to the stops in force / equity
    max_daily_loss: float | None = 0.05  # realized, UTC day
    max_weekly_loss: float | None = 0.10  # realized, UTC ISO week (from Monday)
    max_monthly_loss: float | None = 0.20  # realized, UTC calendar month
    max_consecutive_losses: int | None = 3
    loss_streak_cooldown_minutes: float | None = None  # None: paused until reset/resume
    min_balance: float | None = USD_MIN_BALANCE  # equity, stake currency (see above)
    min_reward_risk: float | None = 1.5  # first target's distance / initial stop's distance
    # futures: the initial stop's distance from the entry / the liquidation price's
    max_stop_to_liquidation: float | None = 1.0
    max_entry_slippage: float | None = 0.005  # entry rate vs the signal candle's close
    max_asset_exposure: float | None = 0.20  # open stakes in one base asset / equity
    max_correlated_positions: int | None = 2
    correlation_threshold: float = 0.8
    correlation_window: int = 100  # candles of returns
    correlation_min_candles: int = 20  # fewer returns in common: the entry is refused
    min_confidence: float | None = 0.70  # only when the dataframe has `confidence_column`
    confidence_column: str = "confidence"
    sizing: SizingConfig = SizingConfig()
    source: str = field(default=SECTION, compare=False, repr=False)

    def __post_init__(self) -> None:
        p = self.source
        for name in (
            "max_stake_ratio",
            "max_heat",
            "max_daily_loss",
            "max_weekly_loss",
            "max_monthly_loss",
            "max_asset_exposure",
            "max_stop_to_liquidation",
        ):
            if getattr(self, name) is not None:
                _ratio(f"{p}.{name}", getattr(self, name))
        if self.max_entry_slippage is not None:
            _ratio(f"{p}.max_entry_slippage", self.max_entry_slippage, upper_open=True)
        if self.min_confidence is not None:
            _ratio(f"{p}.min_confidence", self.min_confidence)
        for name in ("max_open_positions", "max_consecutive_losses", "max_correlated_positions"):
            if getattr(self, name) is not None:
                _count(f"{p}.{name}", getattr(self, name))
        if self.loss_streak_cooldown_minutes is not None:
            _above_zero(f"{p}.loss_streak_cooldown_minutes", self.loss_streak_cooldown_minutes)
        if self.min_balance is not None:
            _not_negative(f"{p}.min_balance", self.min_balance)
        if self.min_reward_risk is not None:
            _above_zero(f"{p}.min_reward_risk", self.min_reward_risk)
        _ratio(f"{p}.correlation_threshold", self.correlation_threshold, upper_open=True)
        _count(f"{p}.correlation_window", self.correlation_window, minimum=2)
        _count(f"{p}.correlation_min_candles", self.correlation_min_candles, minimum=2)
        _at_most(
            f"{p}.correlation_min_candles",
            self.correlation_min_candles,
            self.correlation_window,
            "correlation_window",
        )
        _column(f"{p}.confidence_column", self.confidence_column)
        if not isinstance(self.sizing, SizingConfig):
            raise ConfigError(
                f"'{p}.sizing' must be a SizingConfig, was {self.sizing!r}", field=f"{p}.sizing"
            )

    @classmethod
    def from_mapping(
        cls, raw: Any, *, source: str = SECTION, stake_currency: str | None = None
    ) -> RiskConfig:
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
        return cls(**values, source=source)


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
