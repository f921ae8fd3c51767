"""QuickSample: a fast-trading plain strategy for watching a dry-run on the live replay.

Not a strategy to trade: on 1m candles it enters after any rising candle and exits
at +1% (ROI) or -1% (stoploss), so entries, take-profits and stops show up within
minutes of starting `freqtrade trade` against
`profitguard exchange --mode replay --speed 12 --history-speed 12`.
"""

from typing import ClassVar

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class QuickSample(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = False
    startup_candle_count = 0
    process_only_new_candles = True

    minimal_roi: ClassVar[dict] = {"0": 0.01}
    stoploss = -0.01
    use_exit_signal = False

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        rising = dataframe["close"] > dataframe["open"]
        dataframe.loc[rising & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
