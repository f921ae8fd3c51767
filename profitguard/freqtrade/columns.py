"""The last value of an analyzed dataframe's column: what a callback may use now.

Freqtrade hands callbacks the dataframe up to the last closed candle (no lookahead),
so its last row is the latest value a decision may see.
"""

from __future__ import annotations

import math
from typing import Any

from freqtrade.exceptions import OperationalException
from pandas import DataFrame

from profitguard.freqtrade.settings import SECTION, ProfitGuardSettings


def last_raw(dataframe: DataFrame | None, column: str) -> Any:
    """The last cell of `column` as stored (None: no frame, no rows, no such column)."""
    if dataframe is None or not len(dataframe.index) or column not in dataframe.columns:
        return None
    where = dataframe.columns.get_loc(column)
    if isinstance(where, int):  # by position: no Series built (several times faster)
        return dataframe.iat[-1, where]
    return dataframe[column].iat[-1]  # a duplicated column name, as pandas reads it


def last_value(dataframe: DataFrame | None, column: str) -> Any:
    """The last value of `column` as a Python value, for messages (None without one)."""
    value = last_raw(dataframe, column)
    return value.item() if hasattr(value, "item") else value


def last_positive(dataframe: DataFrame | None, column: str) -> float | None:
    """The last value of `column`, or None (no frame, no column, NaN, not > 0)."""
    value = last_raw(dataframe, column)
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def check_atr_column(
    dataframe: DataFrame, pair: str | None, settings: ProfitGuardSettings, *, trailing: bool
) -> None:
    """The ATR column the settings ask for must be in the analyzed frame: an error here
    stops the bot (and a backtest) instead of a silent 2% stop or a trailing stop that
    never moves. `trailing`: the exits in force trail by ATR."""
    column = settings.initial_stop.atr_column
    if column in dataframe.columns:
        return
    users = []
    if settings.atr_initial_stop:
        users.append("the initial stop")
    if trailing:
        users.append(f"'{SECTION}.exits.trail_atr_multiple'")
    if users:
        raise OperationalException(
            f"profitguard: '{SECTION}.initial_stop.atr_column' is {column!r}, used by "
            f"{' and '.join(users)}, but the analyzed dataframe of {pair} has no such "
            f"column (columns: {', '.join(map(str, dataframe.columns))}); add it in "
            "populate_indicators or name the right one"
        )
