"""ProfitGuardSample: a simple trend-following entry; profitguard manages every exit.

Entry (long only, spot): in an uptrend (EMA 50 above EMA 200, both rising), the
close breaks above the highest high of the previous 20 candles, with RSI not yet
overbought. Every indicator uses closed candles only, and Freqtrade enters at the
next candle's open, so there is no lookahead.

Exits: none of its own. The initial stop is 2 ATR below the entry (the
dataframe's `atr` column), and the `r_ladder` preset takes 50% at 2R, 25% at 3R
and the rest at 4R, with the stop ladder locking profit as the peak grows.

The ladders are hyperoptable (`ProfitGuardHyperoptStrategy`, space `profitguard`);
their defaults are the `r_ladder` preset, so nothing changes until hyperopt has
written `ProfitGuardSample.json` next to this file:

    freqtrade hyperopt --strategy ProfitGuardSample --spaces profitguard \
        --hyperopt-loss ProfitGuardRLoss -e 100

Risk: profitguard's gate and sizing with their defaults (docs/risk-gate.md, "Risk gate and
sizing"), but a losing streak pauses entries for 4 hours rather than until a reset.
"""

from typing import ClassVar

import talib.abstract as ta
from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardHyperoptStrategy, ProfitGuardStrategy


class ProfitGuardSample(ProfitGuardHyperoptStrategy):
    timeframe = "5m"
    can_short = False
    startup_candle_count = 200
    process_only_new_candles = True
    use_exit_signal = False

    profitguard_config: ClassVar[dict] = {
        "exits": {"preset": "r_ladder"},
        "initial_stop": {"atr_multiple": 2.0, "atr_column": "atr"},
        # After 3 losses in a row, pause 4 hours (by default: until `profitguard guard
        # resume`, which nobody types during a backtest). Every other risk limit and
        # the sizing (1% of equity at risk per trade) are profitguard's defaults.
        "risk": {"loss_streak_cooldown_minutes": 240},
    }

    plot_config: ClassVar[dict] = {
        "main_plot": {
            **ProfitGuardStrategy.plot_config["main_plot"],
            "ema_fast": {"color": "#1f77b4"},
            "ema_slow": {"color": "#ff7f0e"},
            "breakout": {"color": "#9467bd"},
        },
        "subplots": {"RSI": {"rsi": {"color": "#17becf"}}, "ATR": {"atr": {"color": "#8c564b"}}},
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=50)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=200)
        dataframe["atr"] = ta.ATR(dataframe, timeperiod=14)
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        # the highest high of the 20 candles before this one (this candle excluded)
        dataframe["breakout"] = dataframe["high"].rolling(20).max().shift(1)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        uptrend = (
            (dataframe["ema_fast"] > dataframe["ema_slow"])
            & (dataframe["ema_fast"] > dataframe["ema_fast"].shift(5))
            & (dataframe["ema_slow"] > dataframe["ema_slow"].shift(5))
        )
        breakout = dataframe["close"] > dataframe["breakout"]
        dataframe.loc[
            uptrend & breakout & (dataframe["rsi"] < 75) & (dataframe["volume"] > 0), "enter_long"
        ] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
