"""The reaches into Freqtrade's internals that profitguard still makes, in one place.

Freqtrade's public API for a strategy is its callbacks, `self.dp`'s public methods,
`self.wallets` and the trade's public methods. Three things profitguard needs have
no public way in; each is read here, and only here (docs/freqtrade-internals.md
lists them with their contract tests):

- `DataProvider._exchange`: Freqtrade's exchange object, for a pair's price
  precision mode (candle snapping in backtests), the futures leverage tiers (the
  gate's liquidation check), in dry-run and live the candles of a stretch the bot
  did not look at a trade (`Exchange.refresh_latest_ohlcv` without its cache:
  `unseen_feed`) and, in live mode only, the ccxt instance the client order ids
  hook into (`client_ids`);
- `Trade.is_stop_loss_trailing`: set on a profitguard trade in dry-run and live so
  that Freqtrade's start-up (`Trade.stoploss_reinitialization`) keeps its stop;
- `strategy_wrapper.deepcopy`: replaced only with `"fast_backtest": true`
  (`trade_copy`), in backtesting and hyperopt;
- `historic_precision.get_tick_size_over_time`: the price tick a backtest rounds
  exits to, which `report --check` and `simulate --candles` round to as well.

Each accessor has a fallback: when the internal is not there (a Freqtrade that
changed it), the feature that needs it is switched off with one warning, and the
bot runs on.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)

EXCHANGE = "DataProvider._exchange"
STOP_TRAILED = "Trade.is_stop_loss_trailing"
BACKTEST_TICKS = "data.btanalysis.historic_precision.get_tick_size_over_time"
REFRESH_OHLCV = "Exchange.refresh_latest_ohlcv"
_MISSING = object()


@functools.cache
def _warn_once(internal: str, feature: str) -> None:
    log.warning(
        "profitguard: Freqtrade's %s is not there: %s is off (this Freqtrade release changed it)",
        internal,
        feature,
    )


def exchange_of(dp: Any, feature: str) -> Any | None:
    """Freqtrade's exchange object behind `dp` (a DataProvider), or None: no exchange
    (a hyperopt worker, `profitguard report`), or a Freqtrade without the attribute
    (`feature` is then off, with one warning naming it)."""
    if dp is None:
        return None
    exchange = getattr(dp, "_exchange", _MISSING)
    if exchange is _MISSING:
        _warn_once(EXCHANGE, feature)
        return None
    return exchange


def refresh_ohlcv(exchange: Any, pairs: list[tuple], *, since_ms: int) -> dict | None:
    """Freqtrade's exchange's candles of `pairs` ((pair, timeframe, candle type))
    since `since_ms`, the forming candle dropped, without touching its cache: its
    `refresh_latest_ohlcv`. None (one warning) when this Freqtrade has no such method
    (or it takes other arguments): the prices of a blocked loop are then not seen."""
    refresh = getattr(exchange, "refresh_latest_ohlcv", None)
    if refresh is None:
        _warn_once(REFRESH_OHLCV, "seeing the prices of a blocked loop")
        return None
    try:
        return refresh(pairs, since_ms=since_ms, cache=False, drop_incomplete=True)
    except TypeError:
        _warn_once(REFRESH_OHLCV, "seeing the prices of a blocked loop")
        return None


def keep_stop_across_restart(trade: Any) -> bool:
    """Mark `trade`'s stop as moved, so that Freqtrade's start-up does not put the
    strategy's backstop ratio back on it (its `stoploss_reinitialization` skips a
    trade whose stop trailed). True if the mark is set; False (one warning) when
    this Freqtrade's trade has no such mark: a restart then loosens the stop to the
    backstop until the next `custom_stoploss` call tightens it again."""
    if not hasattr(trade, "is_stop_loss_trailing"):
        _warn_once(STOP_TRAILED, "keeping the stop across a restart")
        return False
    if not trade.is_stop_loss_trailing:
        trade.is_stop_loss_trailing = True
    return True


def backtest_tick_series(frame: Any) -> Any | None:
    """The price tick Freqtrade's backtest rounds exits to, per month, from the main
    timeframe's candles (`frame`: date, open, high, low, close): its
    `get_tick_size_over_time`, which `Backtesting.get_pair_precision` reads. None (one
    warning) when this Freqtrade has no such function: the caller then uses the data's
    decimals."""
    try:
        from freqtrade.data.btanalysis.historic_precision import get_tick_size_over_time
    except ImportError:
        _warn_once(BACKTEST_TICKS, "the backtest's own price tick (the data's decimals instead)")
        return None
    return get_tick_size_over_time(frame.copy())
