"""What live mode adds around Freqtrade's orders in `ProfitGuardStrategy`: the client
order id that carries each order's tag (`client_ids`), the profitguard orders resting
on the exchange that the bot forgot (`stop_orders`), the exchange's orders against
the trades database (`reconciler`) and a pair the exchange lost (`vanished`).

A base class of `ProfitGuardStrategy` (never used alone): each part is None until
`ProfitGuardStrategy.ft_bot_start` builds it (`wiring`), and stays None outside the
run modes that have it; failures are reported through `_pg_report_failure`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy

from profitguard.freqtrade.client_ids import ClientOrderIds
from profitguard.freqtrade.failures import fail_closed
from profitguard.freqtrade.reconciler import Reconciler
from profitguard.freqtrade.stop_orders import ForgottenOrders
from profitguard.freqtrade.vanished import VanishedPairs


class LiveOrderHooks(IStrategy):
    """`confirm_trade_exit` (the exit's client order id), and the live parts the other
    hooks call."""

    # live mode only, set at bot start: the orders announced for their client ids, and
    # the profitguard orders resting on the exchange that the bot forgot (`stop_orders`)
    _pg_client_ids: ClientOrderIds | None = None
    # live mode only, set at bot start: the exchange against the trades database
    _pg_reconciler: Reconciler | None = None
    _pg_forgotten: ForgottenOrders | None = None
    # dry-run and live, with an exchange: a pair the exchange lost, reported once a loop
    _pg_vanished: VanishedPairs | None = None

    def confirm_trade_exit(
        self,
        pair: str,
        trade: Any,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        exit_reason: str,
        current_time: datetime,
        **kwargs: Any,
    ) -> bool:
        """Confirm every exit: True, unless your `pg_confirm_trade_exit` refuses it
        (never a stop, liquidation or kill exit: `overrides`).

        Freqtrade calls it right before it places a full exit (not a partial one);
        in live mode the order is announced here, so that it carries `exit_reason`
        in its client order id.

        :param exit_reason: the exit's tag (`stop_loss`, `kill_switch`, `force_exit`, ...)
        :return: True to place the exit order, False to refuse it
        """
        self._pg_expect_exit(trade, order_type, exit_reason)
        return True

    @fail_closed(None, hook="client order id")
    def _pg_expect_exit(self, trade: Any, order_type: str, tag: str | None) -> None:
        """Announce `trade`'s next exit order (live mode); an error only loses the id."""
        if self._pg_client_ids is None:
            return
        client_id = self._pg_client_ids.exit_id(trade.id, tag or "exit", len(trade.orders) + 1)
        self._pg_client_ids.expect(trade.pair, trade.exit_side, order_type, client_id)

    def untracked_amount(self) -> dict[str, float]:
        """pair -> base amount the account holds beyond the open trades that
        profitguard's own fills explain, at the last reconciliation (live mode; + long,
        - short); empty when there is none or outside live mode."""
        return self._pg_reconciler.untracked_amount() if self._pg_reconciler else {}

    @fail_closed(None, hook="client order id")
    def _pg_expect_entry(self, pair: str, side: str, order_type: str, tag: str | None) -> None:
        """Announce the entry order the gate just confirmed (live mode)."""
        millis = int(datetime.now().timestamp() * 1000)
        ids = self._pg_client_ids
        ids.expect(pair, side, order_type, ids.entry_id(tag, millis))

    @fail_closed(None, hook="kill switch (forgotten orders)")
    def _pg_before_kill(self, trade: Any) -> None:
        """Cancel the pair's resting profitguard orders the bot forgot (live mode), so
        that a forgotten stop cannot lock the coins the kill exit sells."""
        if self._pg_forgotten is not None:
            self._pg_forgotten.before_kill(trade)

    @fail_closed(None, hook="reconciliation")
    def _pg_reconcile(self) -> None:
        """Live mode, before the loop's exits: each open trade's amount against its
        filled orders, and the exchange's profitguard orders against the database
        (`reconciler`)."""
        if self._pg_reconciler is not None:
            self._pg_reconciler.loop()

    @fail_closed(None, hook="forgotten stops")
    def _pg_sweep_forgotten(self) -> None:
        """Live mode, at the first loop (before Freqtrade places any stop) and once a
        minute: cancel the stops resting on the exchange that the bot forgot, so that
        Freqtrade places a new one at the stop in force (`stop_orders`)."""
        if self._pg_forgotten is not None:
            self._pg_forgotten.loop(Trade.get_trades_proxy(is_open=True))

    @fail_closed(None, hook="vanished pairs")
    def _pg_report_vanished(self) -> None:
        """Dry-run and live: report a pair the exchange no longer knows, once a loop,
        instead of Freqtrade's warnings about it (`vanished`)."""
        if self._pg_vanished is not None:
            self._pg_vanished.loop(Trade.get_trades_proxy(is_open=True))
