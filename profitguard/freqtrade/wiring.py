"""The parts a `ProfitGuardStrategy` runs on, built once at bot start.

`ProfitGuardStrategy.ft_bot_start` calls `build_parts` once the settings are checked:
the per-trade tracker, the run clock, the risk gate, the watchdog, notifications
and, live, the client order ids, the forgotten orders and the reconciler. Each is
kept on the strategy as a `_pg_*` attribute, which its hooks use.
"""

from __future__ import annotations

from typing import Any

from freqtrade.enums import RunMode

from profitguard.freqtrade.client_ids import client_ids_for_bot
from profitguard.freqtrade.failures import FailureLog
from profitguard.freqtrade.gate import RiskGate
from profitguard.freqtrade.internals import exchange_of
from profitguard.freqtrade.monitor import TradeMonitor
from profitguard.freqtrade.notify import Notifier
from profitguard.freqtrade.prices import PriceTicks
from profitguard.freqtrade.reconciler import reconciler_for_bot
from profitguard.freqtrade.runclock import RunClock
from profitguard.freqtrade.stop_orders import ForgottenOrders
from profitguard.freqtrade.tracker import TradeTracker
from profitguard.freqtrade.unseen_feed import unseen_candles_for_bot
from profitguard.freqtrade.vanished import VanishedPairs


def build_parts(strategy: Any) -> None:
    """Build `strategy`'s parts (a `ProfitGuardStrategy`, its `profitguard_settings`
    checked) for the run mode in its config."""
    runmode = strategy.config.get("runmode")
    strategy._pg_persist = runmode in (RunMode.DRY_RUN, RunMode.LIVE)
    strategy._pg_client_ids = client_ids_for_bot(strategy)
    if strategy._pg_client_ids is not None:  # live, with the exchange's ccxt instance
        strategy._pg_forgotten = ForgottenOrders(
            exchange_of(strategy.dp, "tags in client order ids"),
            futures=strategy.config.get("trading_mode") == "futures",
            fmt=strategy._pg_client_ids.format,
        )
        strategy._pg_client_ids.stop_ids = strategy._pg_forgotten.stop_id
    ids = strategy._pg_client_ids
    strategy._pg_reconciler = reconciler_for_bot(
        strategy, ids.placement if ids else None, ids.expect if ids else None
    )
    notify = strategy._pg_persist and strategy.profitguard_settings.notifications
    send = strategy._pg_send if notify else None
    strategy._pg_failures = FailureLog(send)
    strategy._pg_notifier = Notifier(send)
    if strategy._pg_persist and exchange_of(strategy.dp, "vanished pairs") is not None:
        strategy._pg_vanished = VanishedPairs(send)
        strategy._pg_vanished.install()
    strategy._pg_frames = {}  # pair -> (callback time, analyzed dataframe)
    strategy._pg_ticks = PriceTicks()
    strategy._pg_clock = RunClock(_timeframe_seconds(strategy.timeframe), strategy._pg_start_run)
    strategy._pg_tracker = TradeTracker(
        strategy.profitguard_settings.exits,
        persist=strategy._pg_persist,
        initial_stop=strategy._pg_initial_stop_of,
        backstop=strategy._pg_backstop,
        atr_column=strategy.profitguard_settings.initial_stop.atr_column,
        analyzed=strategy._pg_analyzed,
        notifier=strategy._pg_notifier,
        report=strategy._pg_report,
        unseen=unseen_candles_for_bot(strategy),
    )
    strategy._pg_exits_key = object()  # `exit_config_key()` of the ladders in force
    strategy._pg_monitor = TradeMonitor(
        strategy._pg_tracker,
        strategy.profitguard_settings.watchdog,
        stop_on_exchange=bool(strategy.order_types.get("stoploss_on_exchange")),
        send=send,
    )
    strategy._pg_gate = RiskGate(
        strategy,
        strategy.profitguard_settings.risk,
        persistent=strategy._pg_persist,
        notify=notify,
        timeframe_seconds=_timeframe_seconds(strategy.timeframe),
        summary_at_exit=runmode is RunMode.BACKTEST,
        summary_per_run=runmode is RunMode.HYPEROPT,
    )


def _timeframe_seconds(timeframe: str | None) -> int:
    from freqtrade.exchange import timeframe_to_seconds

    return timeframe_to_seconds(timeframe or "5m")
