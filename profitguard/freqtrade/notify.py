"""Notification texts (sent through `dp.send_msg`: Telegram, webhooks, FreqUI)."""

from __future__ import annotations

from typing import Any

from profitguard.engine import Position

STOP_REASONS = frozenset({"stop", "stop_loss", "trailing_stop_loss", "stoploss_on_exchange"})


def _r(trade: Any, price: float, initial_stop: float) -> float:
    risk = abs(trade.open_rate - initial_stop)
    move = trade.open_rate - price if trade.is_short else price - trade.open_rate
    return move / risk


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
    if tag in STOP_REASONS:
        return (
            f"profitguard: {trade.pair} (trade {trade.id}) stopped out: "
            f"{order.safe_filled:.8g} at {price:.8g} ({r:+.2f}R)"
        )
    return None
