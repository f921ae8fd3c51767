"""What the risk gate needs from the strategy it runs in (a Protocol: the gate never
imports the strategy, which builds the gate and passes itself)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pandas import DataFrame

from profitguard.engine import ProtectionConfig


class GateHost(Protocol):
    config: dict[str, Any]  # Freqtrade's config (trading_mode, user_data_dir, db_url)
    wallets: Any  # Freqtrade's Wallets (None before the bot starts)
    dp: Any  # Freqtrade's DataProvider (send_msg, its exchange's leverage tiers)
    exits_in_force: ProtectionConfig  # the ladders of the current run

    def get_strategy_name(self) -> str: ...

    def analyzed(self, pair: str) -> DataFrame: ...  # up to the last closed candle

    def initial_stop(
        self, pair: str, side: str, entry_rate: float, current_time: datetime, **kwargs: Any
    ) -> float: ...  # the user's, unchecked (`dataframe` in kwargs)

    def price_tick(self, pair: str) -> float | None: ...  # None: no step, or no exchange

    def stop_in_force(self, trade: Any) -> float | None: ...  # the engine's, else None

    def stops_revision(self) -> int: ...  # changes whenever any `stop_in_force` may have
