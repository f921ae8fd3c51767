"""Start-up checks of the Freqtrade settings around the ladders.

`ProfitGuardStrategy.ft_bot_start` runs them once the strategy is loaded (the
config's values over the strategy's): a setting that would stop the kill switch
from working is refused with an error naming it.
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
