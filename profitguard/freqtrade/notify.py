"""Notification texts (sent through `dp.send_msg`: Telegram, webhooks, FreqUI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from profitguard.engine import Position, r_of_price
from profitguard.exit_tags import STOP_TAGS


def _r(trade: Any, price: float, initial_stop: float) -> float:
    return r_of_price(price, entry=trade.open_rate, initial_stop=initial_stop,
                      is_short=trade.is_short)  # fmt: skip


def breakeven(trade: Any, position: Position) -> str:
    return (
        f"profitguard: {trade.pair} (trade {trade.id}) stop moved to breakeven or better: "
        f"{position.stop:.8g} (entry {trade.open_rate:.8g}, peak {position.peak_r:.2f}R)"
    )


def exit_filled(trade: Any, order: Any, initial_stop: float) -> str | None:
    """A take-profit fill or a stop-out; None for any other exit."""
    tag = order.ft_order_tag or ""
    price = order.safe_price
    r = _r(trade, price, initial_stop)
    if tag.startswith("tp"):
        return (
            f"profitguard: {trade.pair} (trade {trade.id}) take-profit {tag} filled: "
            f"{order.safe_filled:.8g} at {price:.8g} ({r:+.2f}R)"
        )
    if tag in STOP_TAGS:
        return (
            f"profitguard: {trade.pair} (trade {trade.id}) stopped out: "
            f"{order.safe_filled:.8g} at {price:.8g} ({r:+.2f}R)"
        )
    return None


class Notifier:
    """Sends profitguard's messages about a trade, each once (dry-run and live, when
    `notifications` are on; `send` None: nothing is sent). What was sent is kept in
    the trade's memo (`notified`), so a restart does not send it again."""

    def __init__(self, send: Callable[[str], None] | None) -> None:
        self.send = send

    @property
    def enabled(self) -> bool:
        return self.send is not None

    def breakeven(self, trade: Any, memo: Any, position: Position) -> None:
        """Once the stop reaches the entry (or better)."""
        if self.send is None or position.stop_x < position.plan.entry_x:
            return
        if "breakeven" not in memo.notified:
            memo.notified.add("breakeven")
            self.send(breakeven(trade, position))

    def exit_filled(
        self, trade: Any, order: Any, memo: Any, save: Callable[[Any, Any], None]
    ) -> None:
        """A take-profit fill or a stop-out, once per order; the memo is saved first."""
        if self.send is None:
            return
        message = exit_filled(trade, order, memo.initial_stop)
        key = f"order:{order.order_id}"
        if message and key not in memo.notified:
            memo.notified.add(key)
            save(trade, memo)
            self.send(message)
