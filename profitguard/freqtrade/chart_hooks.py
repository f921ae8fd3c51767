"""The stop and target lines of `ProfitGuardStrategy` (`pg_*` columns), drawn where a
chart is: `plot-dataframe` and FreqUI (`plotting`).

A base class of `ProfitGuardStrategy` (never used alone): `advise_indicators` runs on
the parts `ProfitGuardStrategy.ft_bot_start` builds (`wiring`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from freqtrade.enums import RunMode
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from profitguard.freqtrade.columns import check_atr_column
from profitguard.freqtrade.failures import fail_closed
from profitguard.freqtrade.plotting import (
    backtest_trade_spans,
    ladder_columns,
    open_trade_spans,
    say_left_out,
)


class ChartHooks(IStrategy):
    """`advise_indicators`: Freqtrade's indicators, the ATR column checked, then the
    lines; and the `plot_config` that shows them."""

    plot_config: ClassVar[dict[str, Any]] = {
        "main_plot": {
            "pg_stop": {"color": "#d62728"},
            "pg_entry": {"color": "#7f7f7f"},
            "pg_tp1": {"color": "#2ca02c"},
            "pg_tp2": {"color": "#2ca02c"},
            "pg_tp3": {"color": "#2ca02c"},
        },
    }

    def advise_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Freqtrade's indicators, then the stop and target lines (`pg_*` columns).

        The lines are drawn where a chart is: `plot-dataframe` (the latest backtest's
        trades) and dry-run/live (open trades, for FreqUI). Backtesting and hyperopt
        skip them. A failure to draw is logged and never affects trading. Sealed
        (`overrides`): write `populate_indicators`."""
        dataframe = super().advise_indicators(dataframe, metadata)
        check_atr_column(
            dataframe,
            metadata.get("pair"),
            self.profitguard_settings,
            trailing=self.exits_in_force.trail_atr_multiple is not None,
        )
        runmode = self.config.get("runmode")
        if runmode in (RunMode.BACKTEST, RunMode.HYPEROPT):
            self._pg_gate.costs.ask(metadata["pair"])  # asked while the exchange is there
        if runmode not in (RunMode.PLOT, RunMode.DRY_RUN, RunMode.LIVE, RunMode.WEBSERVER):
            return dataframe
        return self._pg_chart_lines(dataframe, metadata, runmode)

    @fail_closed(
        lambda a: a["dataframe"],
        hook="advise_indicators (stop and target lines)",
        inputs=lambda a: dict(a["metadata"]),
    )
    def _pg_chart_lines(self, dataframe: DataFrame, metadata: dict, runmode: RunMode) -> DataFrame:
        """`dataframe` with the stop and target lines of the trades a chart shows."""
        pair = metadata["pair"]
        if runmode is RunMode.PLOT:
            results = Path(self.config["user_data_dir"]) / "backtest_results"
            spans = backtest_trade_spans(pair, results, self.get_strategy_name())
        else:
            spans = open_trade_spans(pair)
        left_out: list[str] = []
        drawn = ladder_columns(
            dataframe,
            spans,
            self.exits_in_force,
            lambda side, rate, when, before: self.initial_stop(
                pair, side, rate, when, dataframe=before
            ),
            left_out,
        )
        say_left_out(pair, left_out)
        return drawn
