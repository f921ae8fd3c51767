"""The futures account's books: wallet, positions, orders, fills and income.

Orders and fills are numbered from the spot ledger's counters and shown next to the
spot ones at ``/_profitguard/ledger``, so one list holds everything the exchange
executed. Money: the wallet balance (in the settle asset) changes only by realized
PnL, fees and funding; of it, each position's isolated margin and each open order's
margin reservation are not available for new orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from profitguard.tooling.exchange.futures_account import (
    DEFAULT_LEVERAGE,
    MAKER_FEE,
    TAKER_FEE,
    apply_trade,
    closable,
    initial_margin,
)
from profitguard.tooling.exchange.ledger import Fill, Ledger, Order, q
from profitguard.tooling.exchange.markets import fmt

STOP_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET")


@dataclass
class FuturesFill(Fill):
    realized_pnl: float = 0.0

    def as_json(self) -> dict:
        return {**super().as_json(), "realized_pnl": self.realized_pnl, "position_side": "BOTH"}


@dataclass
class FuturesOrder(Order):
    """A /fapi order: ``reduce_only`` may only shrink the position; ``close_position``
    (stops only) closes whatever the position is when it triggers."""

    reduce_only: bool = False
    close_position: bool = False
    position_side: str = "BOTH"
    working_type: str = "CONTRACT_PRICE"
    algo_id: int | None = None  # a conditional (algo) order: hidden until it triggers
    client_algo_id: str = ""

    @property
    def hidden(self) -> bool:
        """An algo order not yet triggered: the plain order endpoints do not know it."""
        return self.algo_id is not None and not self.triggered

    @property
    def avg_price(self) -> float:
        return self.cum_quote / self.executed_qty if self.executed_qty else 0.0

    def binance_view(self) -> dict:
        """The order as ``GET /fapi/v1/order`` shows it."""
        spec = self.spec
        return {
            "orderId": self.order_id,
            "symbol": spec.symbol,
            "status": self.status,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price),
            "avgPrice": fmt(self.avg_price),
            "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty),
            "cumQty": fmt(self.executed_qty),
            "cumQuote": fmt(self.cum_quote),
            "timeInForce": self.time_in_force,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": self.close_position,
            "side": self.side,
            "positionSide": self.position_side,
            "stopPrice": fmt(self.stop_price),
            "workingType": self.working_type,
            "priceProtect": False,
            "origType": self.type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": self.time,
            "updateTime": self.update_time or self.time,
        }

    def as_json(self) -> dict:
        return {
            **super().as_json(),
            "market": "futures",
            "reduce_only": self.reduce_only,
            "close_position": self.close_position,
            "position_side": self.position_side,
            "algo_id": self.algo_id,
        }


@dataclass
class Position:
    """One symbol's settings and one-way position."""

    leverage: int = DEFAULT_LEVERAGE
    margin_type: str = "CROSSED"  # Binance's default until the bot sets ISOLATED
    amount: float = 0.0  # signed: > 0 long, < 0 short
    entry_price: float = 0.0
    isolated_margin: float = 0.0
    update_time: int = 0


@dataclass
class Income:
    tran_id: int
    symbol: str
    income_type: str  # REALIZED_PNL | COMMISSION | FUNDING_FEE
    income: float
    asset: str
    time: int
    trade_id: int | None = None

    def binance_view(self) -> dict:
        return {
            "symbol": self.symbol,
            "incomeType": self.income_type,
            "income": fmt(self.income),
            "asset": self.asset,
            "info": self.income_type,
            "time": self.time,
            "tranId": self.tran_id,
            "tradeId": str(self.trade_id) if self.trade_id is not None else "",
        }


@dataclass
class FuturesLedger:
    """The futures wallet (per settle asset), positions by pair, orders, fills, income.
    Shares the spot ledger's lock and id counters."""

    spot: Ledger
    wallet: dict[str, float]
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[int, FuturesOrder] = field(default_factory=dict)
    fills: list[FuturesFill] = field(default_factory=list)
    income: list[Income] = field(default_factory=list)

    @property
    def lock(self):
        return self.spot.lock

    def new_order_id(self) -> int:
        return self.spot.new_order_id()

    def new_trade_id(self) -> int:
        return self.spot.new_trade_id()

    def position(self, pair: str) -> Position:
        return self.positions.setdefault(pair, Position())

    # -- money ----------------------------------------------------------------------

    def order_margin(self, asset: str) -> float:
        return sum(o.locked for o in self.orders.values() if o.is_open and o.locked_asset == asset)

    def position_margin(self, asset: str) -> float:
        return sum(
            p.isolated_margin for pair, p in self.positions.items() if pair.endswith(":" + asset)
        )

    def available(self, asset: str) -> float:
        """What new orders can still use: the wallet less margins held."""
        return q(
            self.wallet.get(asset, 0.0) - self.position_margin(asset) - self.order_margin(asset)
        )

    def reserve(self, order: FuturesOrder, amount: float) -> None:
        order.locked_asset, order.locked = order.spec.quote, q(amount)

    def release(self, order: Order) -> None:
        order.locked = 0.0

    def _book_income(self, symbol, kind, amount, asset, time, trade_id=None) -> None:
        if amount:
            self.income.append(
                Income(len(self.income) + 1, symbol, kind, q(amount), asset, time, trade_id)
            )

    # -- fills ----------------------------------------------------------------------

    def apply_fill(
        self, order: FuturesOrder, *, price: float, qty: float, fee_rate: float, time: int,
        maker: bool,
    ) -> FuturesFill | None:  # fmt: skip
        """Execute ``qty`` of ``order`` at ``price``: position, margin, wallet, order and
        fill list change together (the caller holds ``lock``). A reduce-only order
        never takes more than the position it reduces: the part it cannot fill any
        more expires. ``fee_rate`` is ignored: futures charge the maker or taker rate
        on the notional, in the settle asset."""
        if not order.is_open:
            return None
        spec, pos = order.spec, self.position(order.spec.pair)
        asset = spec.quote
        qty = q(qty)
        if order.reduce_only or order.close_position:
            qty = q(min(qty, closable(pos.amount, order.side)))
            if qty <= 0:
                self._expire(order, time)
                return None
        before = order.remaining
        effect = apply_trade(pos.amount, pos.entry_price, order.side, qty, price)
        if pos.amount and effect.closed:
            released = pos.isolated_margin * effect.closed / abs(pos.amount)
            pos.isolated_margin = q(pos.isolated_margin - released)
        if effect.amount == 0:
            pos.isolated_margin = 0.0
        if effect.opened:
            pos.isolated_margin = q(
                pos.isolated_margin + initial_margin(effect.opened, price, pos.leverage)
            )
        pos.amount, pos.entry_price, pos.update_time = effect.amount, effect.entry_price, time
        if order.locked:
            order.locked = q(order.locked * (1 - qty / before)) if before > 0 else 0.0
        notional = q(price * qty)
        commission = q(notional * (MAKER_FEE if maker else TAKER_FEE))
        pnl = q(effect.realized_pnl)
        self.wallet[asset] = q(self.wallet.get(asset, 0.0) + pnl - commission)
        fill = FuturesFill.of(
            order, self.new_trade_id(), price=price, qty=qty, commission=commission,
            asset=asset, time=time, maker=maker, realized_pnl=pnl,
        )  # fmt: skip
        self._book_income(spec.symbol, "REALIZED_PNL", pnl, asset, time, fill.trade_id)
        self._book_income(spec.symbol, "COMMISSION", -commission, asset, time, fill.trade_id)
        self.fills.append(fill)
        if order.add_fill(fill, notional):
            self.release(order)
        elif (order.reduce_only or order.close_position) and pos.amount == 0:
            self._expire(order, time, snapshot=False)  # nothing left to reduce
        order.snapshot(time)
        return fill

    def _expire(self, order: FuturesOrder, time: int, snapshot: bool = True) -> None:
        self.release(order)
        order.status = "EXPIRED"
        order.update_time = time
        if snapshot:
            order.snapshot(time)

    def charge_funding(self, pair: str, symbol: str, time: int, mark: float, rate: float) -> None:
        """Funding at ``time``: a long pays ``notional * rate`` to the shorts (a
        negative rate the other way round)."""
        pos = self.position(pair)
        if pos.amount == 0:
            return
        fee = -pos.amount * mark * rate
        asset = pair.rsplit(":", 1)[1]
        self.wallet[asset] = q(self.wallet.get(asset, 0.0) + fee)
        self._book_income(symbol, "FUNDING_FEE", fee, asset, time)

    # -- views ----------------------------------------------------------------------

    def as_json(self) -> dict:
        with self.lock:
            return {
                "wallet": dict(self.wallet),
                "positions": {
                    pair: {
                        "amount": p.amount,
                        "entry_price": p.entry_price,
                        "leverage": p.leverage,
                        "margin_type": p.margin_type,
                        "isolated_margin": p.isolated_margin,
                        "position_side": "BOTH",
                    }
                    for pair, p in sorted(self.positions.items())
                },
                "income": [i.binance_view() for i in self.income],
            }
