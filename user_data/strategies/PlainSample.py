"""PlainSample: a plain Freqtrade strategy (no profitguard) for the offline exchange's tests.

Trend filter (EMA 50 over EMA 200), pullback entry (RSI crossing up through
``buy_rsi``), fixed stoploss and ROI table. ``buy_rsi`` and ``buy_ema_gap`` are
hyperoptable (``--spaces buy``). For profitguard's exits see ProfitGuardSample.
"""

from typing import ClassVar

import talib.abstract as ta
from freqtrade.strategy import DecimalParameter, IntParameter, IStrategy
from pandas import DataFrame


class PlainSample(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = False
    startup_candle_count = 200
    process_only_new_candles = True

    minimal_roi: ClassVar[dict] = {"0": 0.04, "60": 0.02, "180": 0.01}
    stoploss = -0.03
    trailing_stop = False

    buy_rsi = IntParameter(20, 45, default=35, space="buy")
    buy_ema_gap = DecimalParameter(0.0, 0.01, decimals=3, default=0.0, space="buy")
    sell_rsi = IntParameter(60, 85, default=75, space="sell")

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=50)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=200)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        rsi_cross_up = (dataframe["rsi"] > self.buy_rsi.value) & (
            dataframe["rsi"].shift(1) <= self.buy_rsi.value
        )
        uptrend = dataframe["ema_fast"] > dataframe["ema_slow"] * (1 + self.buy_ema_gap.value)
        dataframe.loc[rsi_cross_up & uptrend & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] > self.sell_rsi.value, "exit_long"] = 1
        return dataframe
