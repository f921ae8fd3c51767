"""ChaosSample: always in the market, for `profitguard chaos` and live-mode drills.

It enters whenever it is flat (one trade at a time) so that a short run against the
offline exchange's replay is mostly spent managing positions, which is what the
chaos suite checks: take-profits, the stop ladder, restarts. Everything else is
profitguard's defaults (the `r_ladder` preset, the risk gate, fixed-fractional
sizing of 1% of equity), except:

- the initial stop is 0.5% below the entry (no ATR), so one R is the same size in
  every run of the replayed path;
- the entry-slippage rule is off (the replay moves several percent inside one 1m
  candle, so the signal candle's close is far from any live price) and so is the
  losing-streak pause (stop-outs are part of every run).

Not a trading strategy: never run it with money.
"""

from typing import ClassVar

from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy


class ChaosSample(ProfitGuardStrategy):
    timeframe = "1m"
    can_short = False
    startup_candle_count = 0
    process_only_new_candles = True
    use_exit_signal = False

    profitguard_config: ClassVar[dict] = {
        "exits": {"preset": "r_ladder"},
        "initial_stop": {"pct": 0.005},
        "risk": {"max_entry_slippage": None, "max_consecutive_losses": None},
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
