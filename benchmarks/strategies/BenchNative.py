"""Benchmark reference: the sample's entries exiting with Freqtrade's native tools only.

A fixed stoploss, Freqtrade's trailing stop and an ROI table, no callbacks: what
the same entries cost when Freqtrade manages the exits itself.
"""

from typing import ClassVar

from freqtrade.strategy import IStrategy
from ProfitGuardSample import ProfitGuardSample


class BenchNative(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    startup_candle_count = 200
    process_only_new_candles = True
    use_exit_signal = False
    stoploss = -0.01
    trailing_stop = True
    trailing_stop_positive = 0.005
    trailing_stop_positive_offset = 0.01
    trailing_only_offset_is_reached = True
    minimal_roi: ClassVar[dict] = {"0": 0.04, "120": 0.02}

    populate_indicators = ProfitGuardSample.populate_indicators
    populate_entry_trend = ProfitGuardSample.populate_entry_trend
    populate_exit_trend = ProfitGuardSample.populate_exit_trend
