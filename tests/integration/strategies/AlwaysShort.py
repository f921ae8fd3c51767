"""ProfitGuardFuturesSample always short (one trade at a time): its leverage (3x) and
profitguard's exits, with a 2% initial stop (scripted paths have no ATR)."""

import sys
from pathlib import Path

from pandas import DataFrame

sys.path.insert(0, str(Path(__file__).parent))  # the sample sits next to this file

from ProfitGuardFuturesSample import ProfitGuardFuturesSample


class AlwaysShort(ProfitGuardFuturesSample):
    timeframe = "1m"
    startup_candle_count = 0
    profitguard_config = {  # noqa: RUF012 - Freqtrade style
        "exits": {"preset": "r_ladder"},
        "initial_stop": {"pct": 0.02},
        "risk": {"sizing": {"method": "fixed"}, "max_stake_ratio": None},
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_short"] = 1
        return dataframe
