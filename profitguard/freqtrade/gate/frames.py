"""Reading the analyzed dataframe's last candle (the signal candle) as a number."""

from __future__ import annotations

import math

from pandas import DataFrame

from profitguard.freqtrade.columns import last_raw


def last_value(dataframe: DataFrame | None, column: str) -> float | None:
    """The last candle's `column` as a float; None when there is none or it is no number."""
    try:
        return float(last_raw(dataframe, column))
    except (TypeError, ValueError):
        return None


def confidence(dataframe: DataFrame | None, column: str) -> float | None:
    """The signal's confidence: None when the strategy supplies no such column (the rule
    does not apply), NaN when it does but the value is no number (refused)."""
    if dataframe is None or dataframe.empty or column not in dataframe.columns:
        return None
    try:
        return float(last_raw(dataframe, column))
    except (TypeError, ValueError):
        return math.nan
