"""A test strategy whose entries are written into the data: volume 777 = enter long.

Every exit comes from profitguard. The ladder preset can be switched per test
through the config's `profitguard` section.
"""

from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy

ENTRY_MARK = 777


class ScriptedEntries(ProfitGuardStrategy):
    timeframe = "5m"
    startup_candle_count = 0
    process_only_new_candles = True
    profitguard_config = {  # noqa: RUF012 - Freqtrade style
        "initial_stop": {"pct": 0.02},
        "risk": {"sizing": {"method": "fixed"}},  # Freqtrade's stake_amount, as configured
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["volume"] == ENTRY_MARK, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
