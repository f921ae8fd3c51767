"""Freqtrade's record of a trade's initial stop, made profitguard's initial stop.

Freqtrade fixes a trade's `initial_stop_loss` (and `initial_stop_loss_pct`) when the
entry fills, from the strategy's `stoploss`: for a `ProfitGuardStrategy` that is the
-10% backstop, so the backtest export, the trades database, FreqUI and
`/api/v1/status` would all show the backstop as the initial stop, and R could not be
recomputed from them. Freqtrade calls `ft_stoploss_adjust` with the real trade (not
the copy the callbacks get); right after a fill (`after_fill`), and in dry-run/live
on every call (a restart's `stoploss_reinitialization` puts the backstop back on a
trade whose stop never moved), the strategy writes its own initial stop there.

Only the record changes: the stop in force (`stop_loss`) stays what `custom_stoploss`
made it. The check is one comparison, so backtests pay nothing measurable for it.
"""

from __future__ import annotations

import math
from typing import Any

from freqtrade.strategy import stoploss_from_absolute

from profitguard.engine import PositionError, check_initial_stop
from profitguard.freqtrade.columns import last_positive, last_value
from profitguard.freqtrade.internals import keep_stop_across_restart
from profitguard.freqtrade.settings import SECTION, ProfitGuardSettings


def initial_ratio(stop: float, open_rate: float, *, is_short: bool, leverage: float) -> float:
    """Freqtrade's `initial_stop_loss_pct` for `stop`: the loss ratio from the entry
    (negative; times the leverage, as Freqtrade stores it)."""
    return -abs(stoploss_from_absolute(stop, open_rate, is_short=is_short, leverage=leverage))


def show_initial_stop(trade: Any, stop: float, *, keep_across_restart: bool = False) -> bool:
    """Write `stop` as `trade`'s initial stop (price and ratio); True if it changed.

    `keep_across_restart` (dry-run and live): Freqtrade's start-up
    (`Trade.stoploss_reinitialization`) resets the stop of every open trade whose
    initial ratio differs from the strategy's `stoploss` and whose stop has not
    trailed, to that backstop: a restart would loosen the stop until the next
    `custom_stoploss` call succeeds. A trade marked as trailed keeps its stop
    (`internals.keep_stop_across_restart`: Freqtrade has no public way to say so)."""
    if keep_across_restart:
        keep_stop_across_restart(trade)
    if trade.initial_stop_loss == stop:
        return False
    trade.initial_stop_loss = float(stop)
    trade.initial_stop_loss_pct = initial_ratio(
        stop, trade.open_rate, is_short=bool(trade.is_short), leverage=trade.leverage or 1.0
    )
    return True


def recorded_initial_stop(trade: Any, backstop: float) -> float | None:
    """The initial stop `show_initial_stop` wrote on `trade`, or None while the trade
    still carries Freqtrade's own (the strategy's `backstop` ratio): a second copy of
    the one R, for a trade whose custom-data record was lost."""
    ratio, stop = trade.initial_stop_loss_pct, trade.initial_stop_loss
    if ratio is None or not ratio < 0 or not stop or not math.isfinite(stop):
        return None  # none placed yet
    if math.isclose(ratio, -abs(backstop), rel_tol=1e-9):
        return None  # Freqtrade's backstop
    on_the_loss_side = stop > trade.open_rate if trade.is_short else stop < trade.open_rate
    return float(stop) if on_the_loss_side else None


def check_returned_stop(stop: Any, entry: float, side: str) -> None:
    """What the strategy's `initial_stop()` returned must define one R (the engine's
    rule, which the plan checks again): a ValueError naming the hook otherwise."""
    try:
        check_initial_stop(side=side, entry=entry, initial_stop=stop)
    except PositionError as exc:
        raise ValueError(f"initial_stop() returned {stop!r}: {exc}") from None


def default_initial_stop(
    settings: ProfitGuardSettings, pair: str, side: str, entry_rate: float, *, dataframe: Any
) -> float:
    """`ProfitGuardStrategy.initial_stop` when not overridden, for `settings` (the
    strategy's `ProfitGuardSettings`): `atr_multiple` ATRs (the dataframe's last row)
    from the entry, else `pct` of it; an ATR asked for by name and missing is an error."""
    initial = settings.initial_stop
    sign = -1.0 if side == "short" else 1.0
    atr = last_positive(dataframe, initial.atr_column)
    if atr is not None:
        return entry_rate - sign * initial.atr_multiple * atr
    if settings.atr_initial_stop:  # asked for: never the pct instead
        raise ValueError(
            f"'{SECTION}.initial_stop.atr_column' {initial.atr_column!r} has no value "
            f"> 0 on the last candle of {pair} "
            f"({last_value(dataframe, initial.atr_column)!r}): no ATR stop to place"
        )
    return entry_rate * (1.0 - sign * initial.pct)
