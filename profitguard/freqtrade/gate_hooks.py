"""The risk gate's hooks of `ProfitGuardStrategy`: entries confirmed and sized, the
kill switch's exits, and the bot loop (the guard file, the watchdog and, live, the
exchange's orders against the bot's).

A base class of `ProfitGuardStrategy` (never used alone): its hooks run on the
parts `ProfitGuardStrategy.ft_bot_start` builds (`wiring`) and report their
failures through its `_pg_report_failure`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freqtrade.enums import ExitCheckTuple, ExitType

from profitguard.exit_tags import KILL_TAG
from profitguard.freqtrade.failures import fail_closed
from profitguard.freqtrade.live_hooks import LiveOrderHooks
from profitguard.freqtrade.monitor import open_trades
from profitguard.freqtrade.watchdog import WATCHDOG_EXIT_TAG


class GateHooks(LiveOrderHooks):
    """`confirm_trade_entry`, `custom_stake_amount`, `should_exit` and `bot_loop_start`:
    the risk gate, sizing and the kill switch (`profitguard.freqtrade.gate`)."""

    @fail_closed(False, entry=True, inputs=lambda a: {"rate": a["rate"]})
    def confirm_trade_entry(
        self,
        pair: str,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        current_time: datetime,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> bool:
        """The risk gate: every rule in order, False at the first refusal (logged, sent).

        On error: False (Freqtrade would otherwise enter), logged once. Your
        `pg_confirm_trade_entry` is asked after the gate confirmed, and can refuse."""
        self._pg_tick(current_time)
        confirmed = self._pg_gate.confirm(
            pair, amount=amount, rate=rate, now=current_time, side=side
        )
        if confirmed and self._pg_client_ids is not None:
            self._pg_expect_entry(pair, "sell" if side == "short" else "buy", order_type, entry_tag)
        return confirmed

    @fail_closed(0.0, entry=True, inputs=lambda a: {"rate": a["current_rate"]})
    def custom_stake_amount(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_stake: float,
        min_stake: float | None,
        max_stake: float,
        leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        """Position sizing (`risk.sizing`), within the stake cap and Freqtrade's min/max stake.

        0 skips the trade. On error: 0 (Freqtrade would otherwise use its own stake).
        Your `pg_custom_stake_amount`: the smaller of the two (anything else than a stake
        >= 0 from yours: 0)."""
        self._pg_tick(current_time)
        return self._pg_gate.stake(
            pair,
            now=current_time,
            rate=current_rate,
            proposed_stake=proposed_stake,
            min_stake=min_stake,
            max_stake=max_stake,
            leverage=leverage,
            side=side,
        )

    def should_exit(
        self, trade: Any, rate: float, current_time: datetime, **kwargs: Any
    ) -> list[ExitCheckTuple]:
        """Freqtrade's exit checks; while the kill switch is on, only the kill exit.

        The kill exit is Freqtrade's emergency exit: a market order for the whole trade
        (its `order_types["emergency_exit"]`, which must be "market"), whatever the exit
        order type, with `use_exit_signal` on or off; an open take-profit order is
        cancelled for it. On error: Freqtrade's exits alone. Sealed: write `custom_exit`."""
        exits = super().should_exit(trade, rate, current_time, **kwargs)
        if not self._pg_persist:
            return exits  # backtesting and hyperopt have no kill switch
        return self._pg_kill_exits(trade, rate, exits)

    @fail_closed(lambda a: a["exits"], hook="should_exit", inputs=lambda a: {"rate": a["rate"]})
    def _pg_kill_exits(
        self, trade: Any, rate: float, exits: list[ExitCheckTuple]
    ) -> list[ExitCheckTuple]:
        """While the kill switch is on, the kill exit instead of Freqtrade's `exits`."""
        if self._pg_monitor.exit_due(trade):
            self._pg_before_kill(trade)  # a forgotten stop must not lock what it sells
            return [
                ExitCheckTuple(exit_type=ExitType.EMERGENCY_EXIT, exit_reason=WATCHDOG_EXIT_TAG)
            ]
        if not self._pg_gate.halted():
            return exits
        if self._pg_gate.kill_due(trade):
            self._pg_before_kill(trade)
            return [ExitCheckTuple(exit_type=ExitType.EMERGENCY_EXIT, exit_reason=KILL_TAG)]
        return []  # its kill order is open: nothing may replace it

    @fail_closed(None)
    def bot_loop_start(self, current_time: datetime, **kwargs: Any) -> None:
        """Re-read the guard file, log trading-state changes, run the watchdog, write the
        status file; live: cancel the resting stops the bot forgot (`stop_orders`), report
        a pair the exchange lost (`vanished`).

        Your `pg_bot_loop_start` runs after this."""
        self._pg_tick(current_time)
        if not self._pg_persist:  # backtesting and hyperopt: every candle, nothing live
            self._pg_gate.loop(current_time, None)
            return
        if self._pg_client_ids is not None:
            self._pg_client_ids.clear()  # an order announced last loop was not placed
        self._pg_gate.loop(current_time, self._pg_watch(current_time))
        self._pg_sweep_forgotten()
        self._pg_report_vanished()
        self._pg_reconcile()

    @fail_closed(None, hook="watchdog")
    def _pg_watch(self, now: datetime) -> dict[str, Any] | None:
        """Dry-run and live: the watchdog, and the open trades' figures to publish."""
        if not self._pg_persist:
            return None
        published = self._pg_monitor.loop(open_trades(), now)
        return published | {
            "callback_errors": self._pg_failures.count,
            "untracked": self.untracked_amount(),  # pair -> base amount (reconciliation)
        }
