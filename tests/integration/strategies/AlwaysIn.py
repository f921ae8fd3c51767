"""A test strategy that is always in the market (one trade at a time); profitguard exits."""

from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy


class AlwaysIn(ProfitGuardStrategy):
    timeframe = "1m"
    startup_candle_count = 0
    process_only_new_candles = True
    profitguard_config = {  # noqa: RUF012 - Freqtrade style
        "initial_stop": {"pct": 0.02},
        "risk": {"sizing": {"method": "fixed"}},  # Freqtrade's stake_amount, as configured
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
