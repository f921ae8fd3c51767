"""Benchmark floor: the sample's entries, Freqtrade's callbacks enabled but returning nothing.

`custom_stoploss` and `adjust_trade_position` are switched on exactly as profitguard
needs them, so Freqtrade pays its own per-callback cost (it deep-copies the trade
for every call); they return None. Trades close by a native stoploss and ROI sized
like the sample's ladders (about 1R = 1%), so trades live about as long.
"""

from typing import ClassVar

from freqtrade.strategy import IStrategy
from ProfitGuardSample import ProfitGuardSample


class BenchFloor(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    startup_candle_count = 200
    process_only_new_candles = True
    use_exit_signal = False
    use_custom_stoploss = True
    position_adjustment_enable = True
    max_entry_position_adjustment = 0
    stoploss = -0.01
    minimal_roi: ClassVar[dict] = {"0": 0.02}

    populate_indicators = ProfitGuardSample.populate_indicators
    populate_entry_trend = ProfitGuardSample.populate_entry_trend
    populate_exit_trend = ProfitGuardSample.populate_exit_trend

    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                        after_fill, **kwargs):  # fmt: skip
        return None

    def adjust_trade_position(self, trade, current_time, current_rate, current_profit,
                              min_stake, max_stake, current_entry_rate, current_exit_rate,
                              current_entry_profit, current_exit_profit, **kwargs):  # fmt: skip
        return None
