"""ProfitGuardQuickSample: profitguard at work within minutes, on the live replay.

Not a strategy to trade. On 1m candles it enters after any rising candle; the
initial stop is 1% below the entry, so on a replay where the price moves a few
tenths of a percent every few seconds the stop ladder moves to breakeven (1R)
and the first take-profit (2R) fills within a minute or two of an entry:

    profitguard offline --mode replay --replay-timeframe 1m --speed 5 \
        --script user_data/replay/quick.json -- \
        freqtrade trade --config user_data/config.json --config user_data/config-dry-run.json \
        --strategy ProfitGuardQuickSample

Risk: the gate's defaults, except two rules that replayed candles trip on nearly
every entry: the entry slippage against the signal candle's close (a replayed
minute moves the price by percents while the bot waits for the next loop) and the
correlation between pairs (the scripted paths move together).
"""

from typing import ClassVar

from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy


class ProfitGuardQuickSample(ProfitGuardStrategy):
    timeframe = "1m"
    can_short = False
    startup_candle_count = 0
    process_only_new_candles = True
    use_exit_signal = False

    profitguard_config: ClassVar[dict] = {
        "exits": {"preset": "r_ladder"},
        "initial_stop": {"pct": 0.01},
        "risk": {
            "max_entry_slippage": None,
            "max_correlated_positions": None,
            "loss_streak_cooldown_minutes": 5,
        },
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        rising = dataframe["close"] > dataframe["open"]
        dataframe.loc[rising & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
