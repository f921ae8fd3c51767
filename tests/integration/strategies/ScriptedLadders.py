"""ScriptedEntries with hyperoptable ladders: volume 777 = enter long.

Its ladders come from the `profitguard` parameters (defaults: the r_ladder preset),
or from `ScriptedLadders.json` next to this file when a test writes one.
"""

from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardHyperoptStrategy

ENTRY_MARK = 777


class ScriptedLadders(ProfitGuardHyperoptStrategy):
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
