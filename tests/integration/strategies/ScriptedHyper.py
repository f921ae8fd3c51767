"""ScriptedEntries (volume 777 = enter long) with a hyperopt parameter that changes
nothing: every epoch must trade exactly as a backtest does, so the risk gate has to
start afresh for each epoch."""

from freqtrade.strategy import IntParameter
from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy

ENTRY_MARK = 777


class ScriptedHyper(ProfitGuardStrategy):
    timeframe = "5m"
    startup_candle_count = 0
    process_only_new_candles = True
    profitguard_config = {  # noqa: RUF012 - Freqtrade style
        "initial_stop": {"pct": 0.02},
        "risk": {"sizing": {"method": "fixed"}},  # Freqtrade's stake_amount, as configured
    }
    unused = IntParameter(1, 9, default=5, space="buy")

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["volume"] == ENTRY_MARK, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
