"""ProfitGuardSample's exits exactly as shipped, with an entry that does not wait.

The sample enters on a breakout of the served candles. Against a replayed exchange
those aggregate many replayed candles each once replay runs, so whether a breakout
shows (and RSI is still under 75) depends on the second the bot happened to start:
a slow start on a loaded machine missed it. The live tests are about the exits, so
this strategy enters on the first candle whose ATR (the sample's initial stop) is
known and keeps every other part of the sample.
"""

from pandas import DataFrame
from ProfitGuardSample import ProfitGuardSample


class SampleEntersNow(ProfitGuardSample):
    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[(dataframe["atr"] > 0) & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe
