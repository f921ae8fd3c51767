from typing import ClassVar

from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy


class MyEmaCross(ProfitGuardStrategy):
    timeframe = "5m"
    startup_candle_count = 50
    profitguard_config: ClassVar[dict] = {
        "exits": {"preset": "r_ladder"},  # 50% at 2R, 25% at 3R, the rest at 4R
        "initial_stop": {"atr_multiple": 2.0},  # 2 ATR below the entry
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = dataframe["close"].ewm(span=12, adjust=False).mean()
        dataframe["ema_slow"] = dataframe["close"].ewm(span=26, adjust=False).mean()
        true_range = (dataframe["high"] - dataframe["low"]).combine(
            (dataframe["high"] - dataframe["close"].shift()).abs(), max
        )
        dataframe["atr"] = true_range.rolling(14).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        crossed_up = (dataframe["ema_fast"] > dataframe["ema_slow"]) & (
            dataframe["ema_fast"].shift() <= dataframe["ema_slow"].shift()
        )
        dataframe.loc[crossed_up & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
