"""Reading the analyzed dataframe's last candle (the signal candle)."""

from __future__ import annotations

import math

from pandas import DataFrame


def last_value(dataframe: DataFrame | None, column: str) -> float | None:
    """The last candle's `column` as a float; None when there is none or it is no number."""
    if dataframe is None or dataframe.empty or column not in dataframe.columns:
        return None
    try:
        return float(_last_cell(dataframe, column))
    except (TypeError, ValueError):
        return None


def confidence(dataframe: DataFrame | None, column: str) -> float | None:
    """The signal's confidence: None when the strategy supplies no such column (the rule
    does not apply), NaN when it does but the value is no number (refused)."""
    if dataframe is None or dataframe.empty or column not in dataframe.columns:
        return None
    try:
        return float(_last_cell(dataframe, column))
    except (TypeError, ValueError):
        return math.nan


def _last_cell(dataframe: DataFrame, column: str) -> object:
    where = dataframe.columns.get_loc(column)
    if isinstance(where, int):  # by position: no Series built (three times faster)
        return dataframe.iat[-1, where]
    return dataframe[column].iat[-1]  # a duplicated column name, as pandas reads it
