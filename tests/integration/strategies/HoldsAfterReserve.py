"""A test strategy always in the market that, while `user_data/hold-entry` exists,
stops inside confirm_trade_entry (in `pg_confirm_trade_entry`, asked after the risk
gate confirmed and the shared account reserved the entry), before Freqtrade places
the order: the tests SIGKILL the bot there (`user_data/reserved` tells them it got
there)."""

import time
from pathlib import Path

from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy


class HoldsAfterReserve(ProfitGuardStrategy):
    timeframe = "1m"
    startup_candle_count = 0
    process_only_new_candles = True
    profitguard_config = {  # noqa: RUF012 - Freqtrade style
        "initial_stop": {"pct": 0.02},
        "risk": {"sizing": {"method": "fixed"}},
    }

    def pg_confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force,
                               current_time, entry_tag, side, **kwargs) -> bool:  # fmt: skip
        userdir = Path(self.config["user_data_dir"])
        if (userdir / "hold-entry").exists():
            (userdir / "reserved").write_text(pair)
            time.sleep(600)  # killed here
        return True

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
