"""ProfitGuardFuturesSample with its entries written into the data: volume 777 = enter
short, 778 = enter long. Its exits, its leverage (3x) and the risk gate are the
sample's; the initial stop is 2% from the entry (the scripted paths have no ATR) and
the stake is Freqtrade's `stake_amount` (the margin), so the amounts are known.
BNB/USDT:USDT trades at 50x instead: too much for a 2% stop (the gate refuses it)."""

import sys
from datetime import datetime
from pathlib import Path

from pandas import DataFrame

sys.path.insert(0, str(Path(__file__).parent))  # the sample sits next to this file

from ProfitGuardFuturesSample import ProfitGuardFuturesSample

SHORT_MARK = 777
LONG_MARK = 778


class ScriptedFutures(ProfitGuardFuturesSample):
    startup_candle_count = 0
    profitguard_config = {  # noqa: RUF012 - Freqtrade style
        "exits": {"preset": "r_ladder"},
        "initial_stop": {"pct": 0.02},
        "risk": {"sizing": {"method": "fixed"}, "max_stake_ratio": None},
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["volume"] == SHORT_MARK, "enter_short"] = 1
        dataframe.loc[dataframe["volume"] == LONG_MARK, "enter_long"] = 1
        return dataframe

    def leverage(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> float:
        if pair.startswith("BNB/"):
            return min(50.0, max_leverage)
        return super().leverage(
            pair, current_time, current_rate, proposed_leverage, max_leverage, entry_tag, side
        )
