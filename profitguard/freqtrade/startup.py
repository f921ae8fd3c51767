"""Start-up checks of the profitguard settings and the Freqtrade settings around the ladders.

`ProfitGuardStrategy.ft_bot_start` runs them once the strategy is loaded (the
config's values over the strategy's): a bad setting, or one that would stop the
ladders or the kill switch from working, stops the bot with an error naming it;
Freqtrade's own exits set next to the ladders are warned about, naming them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from freqtrade.exceptions import OperationalException

from profitguard.engine import ConfigError
from profitguard.freqtrade.settings import (
    COOLDOWN,
    ProfitGuardSettings,
    backtesting,
    load_settings,
    merged_section,
)
from profitguard.risk.config import check_min_balance

log = logging.getLogger(__name__)

# What the ladders need from Freqtrade (ProfitGuardStrategy sets both; a config may not)
REQUIRED_ON = ("use_custom_stoploss", "position_adjustment_enable")


def checked_settings(strategy: Any) -> ProfitGuardSettings:
    """The strategy's profitguard settings, the config's over its own, checked together
    with Freqtrade's settings around them (`OperationalException` naming the field and
    the value); Freqtrade's own exits beside the ladders are logged as warnings."""
    try:
        settings = load_settings(strategy.profitguard_config, strategy.config)
        wallets = getattr(strategy, "wallets", None)
        if wallets is not None:  # Freqtrade's, set before ft_bot_start in every mode
            check_min_balance(
                settings.risk, wallets.get_starting_balance(), strategy.config["stake_currency"]
            )
    except ConfigError as exc:
        raise OperationalException(f"profitguard: {exc}") from None
    problem = kill_switch_order_type_error(strategy.order_types)
    if problem is not None:
        raise OperationalException(f"profitguard: {problem}")
    for warning in other_exits(strategy):
        log.warning(warning)
    note = streak_default_note(settings, strategy.profitguard_config, strategy.config)
    if note is not None:
        log.info(note)
    dropped = dropped_messages_warning(settings, strategy.config)
    if dropped is not None:
        log.warning(dropped)
    for attribute in REQUIRED_ON:
        if not getattr(strategy, attribute):
            raise OperationalException(
                f"profitguard: '{attribute}' must be true for the ladders to run, "
                f"was {getattr(strategy, attribute)!r} (check the config and the strategy)"
            )
    return settings


def kill_switch_order_type_error(order_types: Mapping[str, Any]) -> str | None:
    """Why the kill switch cannot exit at market with these `order_types` (None: it can).

    The kill switch exits through Freqtrade's emergency exit, whose order type is
    `order_types["emergency_exit"]` (market when unset): a limit order there could
    rest unfilled while the market runs away."""
    kind = order_types.get("emergency_exit", "market")
    if kind == "market":
        return None
    return (
        f"'order_types.emergency_exit' must be 'market' (the kill switch exits every trade "
        f"with it), was {kind!r}"
    )


def other_exits(strategy: Any) -> list[str]:
    """Warnings naming what Freqtrade itself will exit trades by, besides the ladders.

    Freqtrade's own trailing stop moves the stop next to profitguard's (the tighter
    wins), and any ROI entry below 100 (10,000%: `ProfitGuardStrategy` sets
    `{"0": 100}`, which no trade reaches) closes a trade once its profit reaches it,
    before the ladders take what they planned."""
    warnings = []
    if getattr(strategy, "trailing_stop", False):
        positive = getattr(strategy, "trailing_stop_positive", None)
        offset = getattr(strategy, "trailing_stop_positive_offset", 0.0) or 0.0
        detail = f"{positive:g} behind the best price" if positive else "at the stoploss ratio"
        if positive and offset:
            detail += f" once the profit reaches {offset:.2%}"
        warnings.append(
            f"profitguard: Freqtrade's 'trailing_stop' is on: besides the ladders, Freqtrade "
            f"trails the stop itself ({detail}) and exits a trade when it is hit"
        )
    roi = getattr(strategy, "minimal_roi", {}) or {}
    reachable = sorted((int(k), float(v)) for k, v in roi.items() if float(v) < 100)
    if reachable:
        levels = ", ".join(f"{v:.2%} from minute {k}" for k, v in reachable)
        warnings.append(
            f"profitguard: 'minimal_roi' exits trades besides the ladders: Freqtrade closes "
            f"a trade in full once its profit reaches {levels} "
            '(set minimal_roi to {"0": 100} to leave the exits to the ladders)'
        )
    return warnings


def streak_default_note(
    settings: ProfitGuardSettings, strategy_section: Mapping[str, Any], config: Mapping[str, Any]
) -> str | None:
    """The backtest's default cooldown after a losing streak, said once (None: not used)."""
    risk = merged_section(strategy_section, config).get("risk", {})
    if not backtesting(config) or COOLDOWN in risk or settings.risk.max_consecutive_losses is None:
        return None
    return (
        f"profitguard: backtesting: after {settings.risk.max_consecutive_losses} losses in a "
        f"row entries pause for {settings.risk.loss_streak_cooldown_minutes} minutes "
        f"(profitguard.risk.{COOLDOWN} unset: Freqtrade's StoplossGuard default; dry-run and "
        "live pause until 'profitguard guard resume')"
    )


# Freqtrade's notification channels that deliver a strategy's `dp.send_msg` messages,
# each only with `allow_custom_messages` on in its own section (rpc_manager.py)
MESSAGE_CHANNELS = ("telegram", "discord", "webhook")


def dropped_messages_warning(
    settings: ProfitGuardSettings, config: Mapping[str, Any]
) -> str | None:
    """Dry-run and live, notifications on: the channels that are on but would drop
    profitguard's messages, as one warning naming the setting (None: none would)."""
    runmode = config.get("runmode")
    if getattr(runmode, "value", runmode) not in ("dry_run", "live") or not settings.notifications:
        return None
    dropping = [
        name
        for name in MESSAGE_CHANNELS
        if isinstance(config.get(name), Mapping)
        and config[name].get("enabled", False)
        and not config[name].get("allow_custom_messages", False)
    ]
    if not dropping:
        return None
    where = ", ".join(f"'{name}'" for name in dropping)
    return (
        f"profitguard: notifications are on, but Freqtrade drops them: set "
        f'"allow_custom_messages": true in {where} of the config (or profitguard\'s '
        f'"notifications": false to mean it)'
    )
