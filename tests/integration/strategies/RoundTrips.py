"""A test strategy always signalling an entry on every pair, whose trades exit after a
second (`custom_exit`, tag `round_trip`): with a shared account of one slot, every
exit frees the slot and both bots, flat and signalling on the same candle, race for it
again (Freqtrade locks only the pair just exited, so each bot trades several)."""

import logging

from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy

HOLD_S = 1.0


class RoundTrips(ProfitGuardStrategy):
    timeframe = "1m"
    startup_candle_count = 0
    process_only_new_candles = True
    profitguard_config = {  # noqa: RUF012 - Freqtrade style
        "initial_stop": {"pct": 0.02},
        # Freqtrade's stake_amount, as configured; the round trips lose their fees
        "risk": {"sizing": {"method": "fixed"}, "max_consecutive_losses": None},
    }

    def pg_bot_loop_start(self, current_time, **kwargs) -> None:
        """Numbers the bot's loops in the log."""
        self.loops = getattr(self, "loops", 0) + 1
        logging.getLogger(__name__).info("RoundTrips: bot loop %d", self.loops)

    def custom_exit(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        if (current_time - trade.open_date_utc).total_seconds() >= HOLD_S:
            return "round_trip"
        return None

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
