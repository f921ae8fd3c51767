"""What the risk gate needs from the strategy it runs in (a `ProfitGuardStrategy`).

A Protocol, so the gate never imports the strategy: the strategy builds the gate
and passes itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pandas import DataFrame

from profitguard.engine import ProtectionConfig


class GateHost(Protocol):
    config: dict[str, Any]  # Freqtrade's config (trading_mode, user_data_dir, db_url)
    wallets: Any  # Freqtrade's Wallets (None before the bot starts)
    dp: Any  # Freqtrade's DataProvider (send_msg, its exchange's leverage tiers)

    def get_strategy_name(self) -> str: ...

    def analyzed(self, pair: str) -> DataFrame:
        """The pair's analyzed dataframe up to the last closed candle (no lookahead)."""
        ...

    def initial_stop(
        self,
        pair: str,
        side: str,
        entry_rate: float,
        current_time: datetime,
        dataframe: DataFrame,
        **kwargs: Any,
    ) -> float:
        """The user's initial stop price for an entry at `entry_rate` (unchecked)."""
        ...

    def price_tick(self, pair: str) -> float | None:
        """The pair's price step, or None (no step, or no exchange to ask)."""
        ...

    def stop_in_force(self, trade: Any) -> float | None:
        """The engine's stop of an open trade known in memory, else None."""
        ...

    def stops_revision(self) -> int:
        """A number that changes whenever `stop_in_force` of any trade may have."""
        ...

    @property
    def exits_in_force(self) -> ProtectionConfig:
        """The ladders of the current run."""
        ...
