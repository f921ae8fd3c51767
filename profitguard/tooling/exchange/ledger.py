"""The offline exchange's own books: every order, every fill, every balance.

The ledger is the ground truth the live-mode checks read (``GET /_profitguard/ledger``):
what the exchange accepted and executed, whatever the bot believes. It holds data and
moves balances; deciding *when* an order fills is the matching engine's job.
Callers hold ``Ledger.lock`` around anything that must be atomic (a fill moves the
order, the fill list and both balances in one step).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Self

from profitguard.tooling.exchange.markets import MarketSpec, fmt

AMOUNT_DECIMALS = 8
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")


def q(value: float) -> float:
    """A quantity on Binance's 8-decimal grid (no binary noise in balances)."""
    return round(value + 0.0, AMOUNT_DECIMALS)


class InsufficientBalance(Exception):
    """The account cannot fund (or lock) what an order needs."""


@dataclass
class Fill:
    trade_id: int
    order_id: int
    pair: str
    side: str
    price: float
    qty: float
    commission: float
    commission_asset: str
    time: int
    is_maker: bool

    @classmethod
    def of(cls, order: Order, trade_id: int, *, price: float, qty: float, commission: float,
           asset: str, time: int, maker: bool, **extra: Any) -> Self:  # fmt: skip
        """A fill of ``order`` (``extra``: a subclass's own fields)."""
        return cls(
            trade_id, order.order_id, order.spec.pair, order.side, price, qty, commission,
            asset, time, maker, **extra,
        )  # fmt: skip

    @property
    def quote_qty(self) -> float:
        return q(self.price * self.qty)

    def as_json(self) -> dict:
        return {
            "trade_id": self.trade_id,
            "order_id": self.order_id,
            "pair": self.pair,
            "side": self.side,
            "price": self.price,
            "amount": self.qty,
            "cost": self.quote_qty,
            "fee": self.commission,
            "fee_asset": self.commission_asset,
            "time": self.time,
            "maker": self.is_maker,
        }


@dataclass
class Order:
    """One order as the exchange keeps it. ``price`` is the limit (0 for MARKET);
    ``stop_price`` the trigger of a STOP_LOSS_LIMIT (0 otherwise)."""

    order_id: int
    client_order_id: str
    spec: MarketSpec
    side: str  # BUY | SELL
    type: str  # MARKET | LIMIT | STOP_LOSS_LIMIT
    time_in_force: str
    price: float
    stop_price: float
    orig_qty: float
    time: int
    status: str = "NEW"
    executed_qty: float = 0.0
    cum_quote: float = 0.0
    update_time: int = 0
    triggered: bool = False  # a stop whose trigger price was reached
    locked_asset: str = ""
    locked: float = 0.0  # what the order still holds of ``locked_asset``
    checked_ms: int = 0  # the matching engine has walked the price path up to here
    fills: list[Fill] = field(default_factory=list)
    history: list[tuple[int, dict]] = field(default_factory=list)  # (time, Binance view)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> float:
        return q(self.orig_qty - self.executed_qty)

    def add_fill(self, fill: Fill, quote: float) -> bool:
        """Book ``fill`` (worth ``quote``) on the order: its filled amount, cost, time and
        status. True once the order is FILLED (its ledger then releases what it holds)."""
        self.fills.append(fill)
        self.executed_qty = q(self.executed_qty + fill.qty)
        self.cum_quote = q(self.cum_quote + quote)
        self.update_time = fill.time
        self.status = "FILLED" if self.remaining <= 0 else "PARTIALLY_FILLED"
        return self.status == "FILLED"

    def binance_view(self) -> dict:
        """The order as ``GET /api/v3/order`` shows it."""
        spec = self.spec
        return {
            "symbol": spec.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price),
            "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty),
            "cummulativeQuoteQty": fmt(self.cum_quote),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt(self.stop_price),
            "icebergQty": fmt(0.0),
            "time": self.time,
            "updateTime": self.update_time or self.time,
            "isWorking": self.type != "STOP_LOSS_LIMIT" or self.triggered,
            "workingTime": self.time,
            "origQuoteOrderQty": fmt(0.0),
            "selfTradePreventionMode": "NONE",
        }

    def snapshot(self, now: int) -> None:
        """Remember how the order looked at ``now`` (for lagging status answers)."""
        self.history.append((now, self.binance_view()))

    def as_json(self) -> dict:
        return {
            "order_id": self.order_id,
            "client_order_id": self.client_order_id,
            "pair": self.spec.pair,
            "side": self.side.lower(),
            "type": self.type,
            "status": self.status,
            "price": self.price,
            "stop_price": self.stop_price,
            "amount": self.orig_qty,
            "filled": self.executed_qty,
            "cost": self.cum_quote,
            "time": self.time,
            "update_time": self.update_time or self.time,
            "triggered": self.triggered,
            "fills": [f.as_json() for f in self.fills],
        }


class Ledger:
    """Balances (free and locked per asset), orders and fills of the one account."""

    def __init__(self, balances: dict[str, float] | None = None) -> None:
        self.lock = threading.RLock()
        self.free: dict[str, float] = {k: q(v) for k, v in (balances or {}).items()}
        self.locked: dict[str, float] = {k: 0.0 for k in self.free}
        self.orders: dict[int, Order] = {}
        self.fills: list[Fill] = []
        self._next_order_id = 1
        self._next_trade_id = 1

    # -- ids ------------------------------------------------------------------------

    def new_order_id(self) -> int:
        order_id, self._next_order_id = self._next_order_id, self._next_order_id + 1
        return order_id

    def new_trade_id(self) -> int:
        trade_id, self._next_trade_id = self._next_trade_id, self._next_trade_id + 1
        return trade_id

    # -- balances -------------------------------------------------------------------

    def balance(self, asset: str) -> tuple[float, float]:
        return self.free.get(asset, 0.0), self.locked.get(asset, 0.0)

    def lock_funds(self, order: Order, asset: str, amount: float) -> None:
        """Move ``amount`` of ``asset`` from free to locked for ``order``."""
        amount = q(amount)
        if self.free.get(asset, 0.0) + 1e-12 < amount:
            raise InsufficientBalance(asset)
        self.free[asset] = q(self.free.get(asset, 0.0) - amount)
        self.locked[asset] = q(self.locked.get(asset, 0.0) + amount)
        order.locked_asset, order.locked = asset, amount

    def release(self, order: Order) -> None:
        """Give back what ``order`` still holds locked (cancel, or done)."""
        if order.locked > 0:
            asset = order.locked_asset
            self.locked[asset] = q(self.locked.get(asset, 0.0) - order.locked)
            self.free[asset] = q(self.free.get(asset, 0.0) + order.locked)
        order.locked = 0.0

    def _spend(self, order: Order, asset: str, amount: float) -> None:
        """Take ``amount`` of ``asset`` for a fill: from the order's lock first."""
        amount = q(amount)
        from_lock = min(amount, order.locked) if order.locked_asset == asset else 0.0
        if from_lock:
            order.locked = q(order.locked - from_lock)
            self.locked[asset] = q(self.locked.get(asset, 0.0) - from_lock)
        rest = q(amount - from_lock)
        if rest > 0:
            if self.free.get(asset, 0.0) + 1e-12 < rest:
                raise InsufficientBalance(asset)
            self.free[asset] = q(self.free.get(asset, 0.0) - rest)

    def apply_fill(
        self, order: Order, *, price: float, qty: float, fee_rate: float, time: int, maker: bool
    ) -> Fill:
        """Execute ``qty`` of ``order`` at ``price``: the order, the fill list and both
        balances change together (the caller holds ``lock``). The fee is charged in
        the asset received, as Binance does without BNB."""
        spec = order.spec
        qty = q(qty)
        quote = q(price * qty)
        if order.side == "BUY":
            self._spend(order, spec.quote, quote)
            commission, asset = q(qty * fee_rate), spec.base
            self.free[spec.base] = q(self.free.get(spec.base, 0.0) + qty - commission)
        else:
            self._spend(order, spec.base, qty)
            commission, asset = q(quote * fee_rate), spec.quote
            self.free[spec.quote] = q(self.free.get(spec.quote, 0.0) + quote - commission)
        fill = Fill.of(
            order, self.new_trade_id(), price=price, qty=qty, commission=commission,
            asset=asset, time=time, maker=maker,
        )  # fmt: skip
        self.fills.append(fill)
        if order.add_fill(fill, quote):
            self.release(order)
        order.snapshot(time)
        return fill

    # -- views ----------------------------------------------------------------------

    def as_json(self) -> dict:
        with self.lock:
            assets = sorted(set(self.free) | set(self.locked))
            return {
                "balances": {
                    a: {"free": self.free.get(a, 0.0), "locked": self.locked.get(a, 0.0)}
                    for a in assets
                },
                "orders": [o.as_json() for o in self.orders.values()],
                "fills": [f.as_json() for f in self.fills],
            }
