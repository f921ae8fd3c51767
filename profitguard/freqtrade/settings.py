"""The `profitguard` settings: a strategy's class attribute, overridden by the config.

A strategy sets `profitguard_config = {...}`; the Freqtrade config may carry a
top-level `"profitguard": {...}` section of the same shape, whose keys win (as
Freqtrade's own config wins over strategy attributes). Each subsection is merged
key by key, then validated once at bot start; a bad value stops the bot with an
error naming the field and the value.

    "profitguard": {
        "exits": {"preset": "r_ladder", "trail_pct": 0.03},
        "initial_stop": {"pct": 0.02, "atr_multiple": 2.0, "atr_column": "atr"},
        "notifications": true,
        "client_order_ids": true,
        "reconcile_every_loops": 10,
        "fast_backtest": false,
        "risk": {"max_daily_loss": 0.05, "sizing": {"method": "fixed_fractional"}}
    }
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from profitguard.engine import ConfigError, ProtectionConfig
from profitguard.engine.protection_config import check_known_keys
from profitguard.freqtrade.operate_settings import DashboardSettings, WatchdogSettings
from profitguard.risk.config import RiskConfig
from profitguard.risk.registry import BACKTEST_STREAK_COOLDOWN_MINUTES

SECTION = "profitguard"
COOLDOWN = "loss_streak_cooldown_minutes"


def backtesting(config: Mapping[str, Any]) -> bool:
    """Freqtrade's run mode is backtesting or hyperopt (its `RunMode` values)."""
    runmode = config.get("runmode")
    return getattr(runmode, "value", runmode) in ("backtest", "hyperopt")


@dataclass(frozen=True, slots=True, kw_only=True)
class InitialStopSettings:
    """How the initial stop (one R) is placed when a trade opens.

    With an `atr_column` in the dataframe: `atr_multiple` ATRs from the entry;
    otherwise `pct` (a ratio: 0.02 = 2%) from the entry. Setting `atr_column` or
    `atr_multiple` asks for the ATR stop: the column must then exist.
    """

    pct: float = 0.02
    atr_multiple: float = 2.0
    atr_column: str = "atr"

    def __post_init__(self) -> None:
        where = f"{SECTION}.initial_stop"
        for name in ("pct", "atr_multiple"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(
                    f"'{where}.{name}' must be a number, was {value!r}", field=f"{where}.{name}"
                )
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(
                    f"'{where}.{name}' must be a finite number > 0, was {value!r}",
                    field=f"{where}.{name}",
                )
        if self.pct >= 1:
            raise ConfigError(
                f"'{where}.pct' must be below 1 (a ratio: 0.02 = 2%), was {self.pct!r}",
                field=f"{where}.pct",
            )
        if not isinstance(self.atr_column, str) or not self.atr_column:
            raise ConfigError(
                f"'{where}.atr_column' must be a column name, was {self.atr_column!r}",
                field=f"{where}.atr_column",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfitGuardSettings:
    exits: ProtectionConfig
    initial_stop: InitialStopSettings = InitialStopSettings()
    notifications: bool = True
    # live mode: orders carry their tag in the client order id (`client_ids`)
    client_order_ids: bool = True
    # live mode: the exchange's orders against the trades database every N bot loops
    # (and at start-up; `reconciler`)
    reconcile_every_loops: int = 10
    # backtesting and hyperopt: Freqtrade hands profitguard's own hooks the trade
    # itself, not its deep copy (`trade_copy`); off by default (no Freqtrade patching)
    fast_backtest: bool = False
    risk: RiskConfig = field(default_factory=RiskConfig)
    # `initial_stop.atr_column` or `.atr_multiple` was set: the ATR stop is asked for,
    # and a frame without the column (or a missing value) is an error, not the pct stop
    atr_initial_stop: bool = False
    watchdog: WatchdogSettings = field(default_factory=WatchdogSettings)
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)


_SUBSECTIONS = (
    "exits",
    "initial_stop",
    "notifications",
    "client_order_ids",
    "reconcile_every_loops",
    "risk",
    "fast_backtest",
    "watchdog",
    "dashboard",
)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"'{where}' must be an object, was {value!r}", field=where)
    return value


def merged_section(strategy_section: Mapping[str, Any], config: Mapping[str, Any]) -> dict:
    """The strategy's `profitguard_config` with the config's `profitguard` keys over it."""
    base = _mapping(strategy_section, "profitguard_config")
    override = _mapping(config.get(SECTION, {}), SECTION)
    merged: dict[str, Any] = {}
    check_known_keys((*base, *override), _SUBSECTIONS, SECTION)
    for key in (*base, *override):
        if key in merged:
            continue
        if key in override and key in base and isinstance(base[key], Mapping):
            merged[key] = {**base[key], **_mapping(override[key], f"{SECTION}.{key}")}
        else:
            merged[key] = override.get(key, base.get(key))
    return merged


def _flag(section: Mapping[str, Any], name: str, default: bool = True) -> bool:
    value = section.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(
            f"'{SECTION}.{name}' must be true or false, was {value!r}", field=f"{SECTION}.{name}"
        )
    return value


def load_settings(
    strategy_section: Mapping[str, Any], config: Mapping[str, Any]
) -> ProfitGuardSettings:
    """Validated settings; raises `ConfigError` naming the field and the value."""
    section = merged_section(strategy_section, config)
    exits = ProtectionConfig.from_mapping(
        _mapping(section.get("exits", {}), f"{SECTION}.exits"), source=f"{SECTION}.exits"
    )
    raw_stop = _mapping(section.get("initial_stop", {}), f"{SECTION}.initial_stop")
    check_known_keys(
        raw_stop, (f.name for f in fields(InitialStopSettings)), f"{SECTION}.initial_stop"
    )
    notifications = _flag(section, "notifications")
    client_order_ids = _flag(section, "client_order_ids")
    risk = _mapping(section.get("risk", {}), f"{SECTION}.risk")
    if backtesting(config) and COOLDOWN not in risk:
        risk = {**risk, COOLDOWN: BACKTEST_STREAK_COOLDOWN_MINUTES}
    every = section.get("reconcile_every_loops", 10)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ConfigError(
            f"'{SECTION}.reconcile_every_loops' must be an integer >= 1, was {every!r}",
            field=f"{SECTION}.reconcile_every_loops",
        )
    fast_backtest = _flag(section, "fast_backtest", default=False)
    return ProfitGuardSettings(
        exits=exits,
        initial_stop=InitialStopSettings(**raw_stop),
        notifications=notifications,
        client_order_ids=client_order_ids,
        reconcile_every_loops=every,
        fast_backtest=fast_backtest,
        risk=RiskConfig.from_mapping(
            risk,
            source=f"{SECTION}.risk",
            stake_currency=config.get("stake_currency"),
        ),
        atr_initial_stop="atr_column" in raw_stop or "atr_multiple" in raw_stop,
        watchdog=WatchdogSettings.from_mapping(section.get("watchdog", {})),
        dashboard=DashboardSettings.from_mapping(section.get("dashboard", {})),
    )
