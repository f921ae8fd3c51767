"""ReplayProbe: enters every pair on every candle; exits by ROI (+2%) or stoploss (-2%).

A test fixture for dry-run against the offline exchange's live replay: on a rising
scripted path its trades end in ROI, on a falling one in the stoploss.
"""

from typing import ClassVar

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class ReplayProbe(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = False
    startup_candle_count = 0
    process_only_new_candles = True
    minimal_roi: ClassVar[dict] = {"0": 0.02}
    stoploss = -0.02
    use_exit_signal = False

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        return dataframe
