"""A test strategy that is always in the market (one trade at a time); profitguard exits."""

import logging
from pathlib import Path

from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy


def record_deepcopy_at_exit(userdir: Path) -> None:
    """At the process's end, write to `userdir/deepcopy-intact.txt` whether Freqtrade's
    `strategy_wrapper.deepcopy` is still `copy.deepcopy` (the tests' proof that
    profitguard patched nothing of Freqtrade's with default settings)."""
    import atexit
    import copy

    from freqtrade.strategy import strategy_wrapper

    def record() -> None:
        intact = strategy_wrapper.deepcopy is copy.deepcopy
        (userdir / "deepcopy-intact.txt").write_text(str(intact))

    atexit.register(record)


class AlwaysIn(ProfitGuardStrategy):
    timeframe = "1m"
    startup_candle_count = 0
    process_only_new_candles = True
    profitguard_config = {  # noqa: RUF012 - Freqtrade style
        "initial_stop": {"pct": 0.02},
        "risk": {"sizing": {"method": "fixed"}},  # Freqtrade's stake_amount, as configured
    }

    def bot_start(self, **kwargs) -> None:
        super().bot_start(**kwargs)
        record_deepcopy_at_exit(Path(self.config["user_data_dir"]))

    def pg_bot_loop_start(self, current_time, **kwargs) -> None:
        """Numbers the bot's loops in the log (tests count loops by it)."""
        self.loops = getattr(self, "loops", 0) + 1
        logging.getLogger(__name__).info("AlwaysIn: bot loop %d", self.loops)

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe
