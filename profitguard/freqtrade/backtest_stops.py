"""The initial stop of every trade of the current backtest run, for the R-based loss.

R needs each trade's initial stop, and Freqtrade's results do not carry it (their
`initial_stop_loss_abs` is the `stoploss` backstop). `ProfitGuardStrategy` records
the stop here when it places it (backtesting only) and empties the ledger before
each run; `ProfitGuardRLoss` reads it. Freqtrade computes an epoch's loss in the
process that has just run the epoch's backtest, straight after it
(`HyperOptimizer.generate_optimizer`), so the ledger holds exactly that epoch's trades.

This module must not define a strategy base class: Freqtrade pickles the modules
of a strategy's base classes by value into hyperopt workers, which would give the
strategy and the loss two different ledgers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

TradeKey = tuple[str, int, bool]  # (pair, open time in ms, is_short)

_stops: dict[TradeKey, float] = {}


def key(pair: str, open_ms: int, is_short: bool) -> TradeKey:
    return (pair, int(open_ms), bool(is_short))


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def start_run() -> None:
    """Forget the previous run's trades."""
    _stops.clear()


def record(trade: Any, initial_stop: float) -> None:
    """The initial stop of `trade` (a Freqtrade trade), keyed as its result row will be."""
    _stops[key(trade.pair, _ms(trade.open_date_utc), trade.is_short)] = float(initial_stop)


def initial_stop_of(trade: Any) -> float | None:
    """The recorded initial stop of `trade` (a Freqtrade trade) in this run, or None."""
    return _stops.get(key(trade.pair, _ms(trade.open_date_utc), trade.is_short))


def initial_stop(pair: str, open_ms: int, is_short: bool) -> float | None:
    """The recorded initial stop of the run's trade, or None."""
    return _stops.get(key(pair, open_ms, is_short))


def size() -> int:
    return len(_stops)
