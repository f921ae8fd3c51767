"""ProfitGuardFuturesSample: ProfitGuardSample's breakout, long and short, with leverage.

For Binance USDⓈ-M futures (`trading_mode: futures`, `margin_mode: isolated`; see
`user_data/config.futures.json`). The same signal, mirrored:
- long: in an uptrend (EMA 50 above EMA 200, both rising) the close breaks above the
  highest high of the previous 20 candles, RSI below 75;
- short: in a downtrend (EMA 50 below EMA 200, both falling) the close breaks below
  the lowest low of the previous 20 candles, RSI above 25.
Every indicator uses closed candles; Freqtrade enters at the next candle's open.

Exits: profitguard's, the same rules on both sides. The initial stop is 2 ATR from
the entry (below for a long, above for a short); `r_ladder` takes 50% at 2R, 25% at
3R and the rest at 4R, and the stop ladder moves the stop up for a long and down
for a short as the peak R grows.

Leverage: 3x (`leverage()`), capped by the exchange's bracket. profitguard sizes by
the risk to the stop, so leverage changes the margin a trade ties up, not what it
risks: 1% of equity to the initial stop either way. The risk gate refuses an entry
whose initial stop lies beyond its liquidation price (`LIQUIDATION`).
"""

from datetime import datetime
from typing import ClassVar

import talib.abstract as ta
from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy

LEVERAGE = 3.0


class ProfitGuardFuturesSample(ProfitGuardStrategy):
    timeframe = "5m"
    can_short = True
    startup_candle_count = 200
    process_only_new_candles = True
    use_exit_signal = False

    profitguard_config: ClassVar[dict] = {
        "exits": {"preset": "r_ladder"},
        "initial_stop": {"atr_multiple": 2.0, "atr_column": "atr"},
        "risk": {"loss_streak_cooldown_minutes": 240},
    }

    plot_config: ClassVar[dict] = {
        "main_plot": {
            **ProfitGuardStrategy.plot_config["main_plot"],
            "ema_fast": {"color": "#1f77b4"},
            "ema_slow": {"color": "#ff7f0e"},
        },
        "subplots": {"RSI": {"rsi": {"color": "#17becf"}}, "ATR": {"atr": {"color": "#8c564b"}}},
    }

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=50)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=200)
        dataframe["atr"] = ta.ATR(dataframe, timeperiod=14)
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        # the extremes of the 20 candles before this one (this candle excluded)
        dataframe["breakout_up"] = dataframe["high"].rolling(20).max().shift(1)
        dataframe["breakout_down"] = dataframe["low"].rolling(20).min().shift(1)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        fast, slow = dataframe["ema_fast"], dataframe["ema_slow"]
        uptrend = (fast > slow) & (fast > fast.shift(5)) & (slow > slow.shift(5))
        downtrend = (fast < slow) & (fast < fast.shift(5)) & (slow < slow.shift(5))
        traded = dataframe["volume"] > 0
        dataframe.loc[
            uptrend & (dataframe["close"] > dataframe["breakout_up"]) & (dataframe["rsi"] < 75)
            & traded,
            "enter_long",
        ] = 1  # fmt: skip
        dataframe.loc[
            downtrend & (dataframe["close"] < dataframe["breakout_down"])
            & (dataframe["rsi"] > 25) & traded,
            "enter_short",
        ] = 1  # fmt: skip
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def leverage(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> float:
        """3x, or the most the pair's bracket allows if that is less."""
        return min(LEVERAGE, max_leverage)
