"""Start-up checks of the Freqtrade settings around the ladders.

`ProfitGuardStrategy.ft_bot_start` runs them once the strategy is loaded (the
config's values over the strategy's): a setting that would stop the kill switch
from working is refused with an error naming it; Freqtrade's own exits set next to
the ladders are warned about, naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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
