"""Isolated-margin, one-way-mode position arithmetic of a USDⓈ-M perpetual (pure).

A position is a signed amount (positive long, negative short) at an average entry
price. A BUY adds to a long or reduces a short, a SELL the reverse; the part of a
trade that reduces the position realizes ``closed * (price - entry)`` (sign of the
old position), the part beyond zero opens the other side at the trade price.
Isolated margin: the margin put up for a position is its entry notional divided by
the leverage, given back pro rata as the position is reduced. A reduce-only order
may only shrink the position: one that would open or grow one, or close more than
there is, is refused (Binance's -2022).
"""

from __future__ import annotations

from dataclasses import dataclass

from profitguard.tooling.exchange.ledger import q

MAKER_FEE = 0.0002  # Binance USDⓈ-M's base rates (VIP 0, no BNB discount)
TAKER_FEE = 0.0005
DEFAULT_LEVERAGE = 20  # what Binance sets on a symbol never touched
MARGIN_TYPES = ("ISOLATED", "CROSSED")


def direction(side: str) -> int:
    """+1 for BUY, -1 for SELL (ValueError otherwise)."""
    if side == "BUY":
        return 1
    if side == "SELL":
        return -1
    raise ValueError(f"side must be 'BUY' or 'SELL', was {side!r}")


@dataclass(frozen=True, kw_only=True)
class TradeEffect:
    """What one trade does to a position: its new amount and entry, the amount it
    closed and opened, and the PnL the closed part realized (quote currency)."""

    amount: float
    entry_price: float
    closed: float
    opened: float
    realized_pnl: float


def apply_trade(amount: float, entry_price: float, side: str, qty: float, price: float):
    """The position (``amount``, ``entry_price``) after trading ``qty`` at ``price``."""
    if not qty > 0 or not price > 0:
        raise ValueError(f"a trade needs a positive qty and price, was qty={qty!r} price={price!r}")
    signed = direction(side) * qty
    if amount == 0 or (amount > 0) == (signed > 0):
        new_amount = q(amount + signed)
        entry = (abs(amount) * entry_price + qty * price) / abs(new_amount)
        return TradeEffect(
            amount=new_amount, entry_price=entry, closed=0.0, opened=qty, realized_pnl=0.0
        )
    closed = min(qty, abs(amount))
    opened = q(qty - closed)
    pnl = closed * (price - entry_price) * (1 if amount > 0 else -1)
    new_amount = q(amount + signed)
    if new_amount == 0:
        entry = 0.0
    elif opened > 0:
        entry = price  # flipped: the rest opened the other side at the trade price
    else:
        entry = entry_price
    return TradeEffect(
        amount=new_amount, entry_price=entry, closed=closed, opened=opened, realized_pnl=pnl
    )


def closable(amount: float, side: str) -> float:
    """How much an order on ``side`` can reduce the position ``amount`` (0: none)."""
    return abs(amount) if amount * direction(side) < 0 else 0.0


def reduce_only_refusal(amount: float, side: str, qty: float) -> str | None:
    """Why a reduce-only order of ``qty`` on ``side`` is refused, or None."""
    room = closable(amount, side)
    if room <= 0:
        return f"no position to reduce by a {side} (position {amount})"
    if qty > room + 1e-12:
        return f"{side} {qty} would close more than the position {amount}"
    return None


def initial_margin(qty: float, price: float, leverage: int) -> float:
    """The margin ``qty`` at ``price`` needs at ``leverage`` (notional / leverage)."""
    if leverage < 1:
        raise ValueError(f"leverage must be at least 1, was {leverage!r}")
    return qty * price / leverage


def unrealized_pnl(amount: float, entry_price: float, mark: float) -> float:
    return amount * (mark - entry_price)


def liquidation_price(
    amount: float, entry_price: float, isolated_margin: float, maint_rate: float, cum: float
) -> float:
    """Binance's isolated, one-way liquidation price: where the isolated wallet plus
    the unrealized PnL falls to the maintenance margin (0 for no position)."""
    if amount == 0:
        return 0.0
    size = abs(amount)
    side = 1 if amount > 0 else -1
    price = (isolated_margin + cum - side * size * entry_price) / (size * maint_rate - side * size)
    return max(price, 0.0)
