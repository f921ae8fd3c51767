"""ChaosAccount: ChaosSample's trading for the chaos suite's shared-account scenarios.

Always in the market (one trade at a time), profitguard's `r_ladder` exits, a stop
0.5% below the entry, the entry-slippage rule and the losing-streak pause off: as
ChaosSample (its own file, which Freqtrade loads alone). Besides, while
`<user_data>/hold-entry` exists, an entry that profitguard's gate and the shared
account admitted (its share reserved) stops inside confirm_trade_entry before
Freqtrade places its order, after writing `<user_data>/reserved`: the scenario
SIGKILLs the bot there.

Not a trading strategy: never run it with money.
"""

import time
from pathlib import Path
from typing import ClassVar

from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy


class ChaosAccount(ProfitGuardStrategy):
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

    def confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force, current_time,
                            entry_tag, side, **kwargs) -> bool:  # fmt: skip
        admitted = super().confirm_trade_entry(
            pair, order_type, amount, rate, time_in_force, current_time, entry_tag, side,
            **kwargs,
        )  # fmt: skip
        userdir = Path(self.config["user_data_dir"])
        if admitted and (userdir / "hold-entry").exists():
            (userdir / "reserved").write_text(pair)
            time.sleep(600)  # SIGKILLed here, between the reservation and the order
        return admitted

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
