"""Benchmark floor: the sample's entries, Freqtrade's callbacks enabled but returning nothing.

Every callback ProfitGuardStrategy implements is switched on, so Freqtrade pays its
own cost of calling them (it deep-copies the trade for every trade callback); each
returns "no change". Trades close by a native stoploss and ROI sized like the
sample's ladders (about 1R = 1%), so trades live about as long.
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

    def confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force, current_time,
                            entry_tag, side, **kwargs):  # fmt: skip
        return True

    def custom_stake_amount(self, pair, current_time, current_rate, proposed_stake, min_stake,
                            max_stake, leverage, entry_tag, side, **kwargs):  # fmt: skip
        return proposed_stake

    def custom_exit(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        return None

    def check_entry_timeout(self, pair, trade, order, current_time, **kwargs):
        return False

    def order_filled(self, pair, trade, order, current_time, **kwargs):
        return None

    def bot_loop_start(self, current_time, **kwargs):
        return None
