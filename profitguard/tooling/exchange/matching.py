"""The matching engine: orders checked against the filters, filled against the replay.

Market orders (and limit orders that cross the book when placed) fill at once
against the synthetic order book around the current price, level by level. Resting
limit orders fill at their price when the replayed price path reaches it; a
STOP_LOSS_LIMIT triggers when the path reaches its stop price and then works as a
limit order. The path is the same piecewise-linear walk the ticker and the book
follow, so an order fills at the moment (and in the order) the price met it.
Matching is lazy: every request first advances the engine to the current time
(resting orders along the path: ``path_matching``).
Fees: ``FEE_RATE`` of each fill, charged in the asset received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from profitguard.tooling.exchange.api import spec_of
from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.grid import floor_to_step, on_grid
from profitguard.tooling.exchange.ledger import InsufficientBalance, Ledger, Order, q
from profitguard.tooling.exchange.markets import MarketSpec, max_price
from profitguard.tooling.exchange.order_book import synth_book
from profitguard.tooling.exchange.params import (
    ApiError,
    client_id_param,
    decimal_param,
    integer_param,
    missing_param,
)
from profitguard.tooling.exchange.path_matching import PathMatching

FEE_RATE = 0.001  # Binance spot's base rate, maker and taker
BOOK_DEPTH = 50
ORDER_TYPES = ("MARKET", "LIMIT", "STOP_LOSS_LIMIT")
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
OrderT = TypeVar("OrderT", bound=Order)


def insufficient_balance() -> ApiError:
    return ApiError(400, -2010, "Account has insufficient balance for requested action.")


def filter_failure(name: str) -> ApiError:
    return ApiError(400, -1013, f"Filter failure: {name}")


def check_filters(spec: MarketSpec, *, qty: float, price: float | None, ref_price: float) -> None:
    """PRICE_FILTER, LOT_SIZE and NOTIONAL as Binance applies them (-1013)."""
    if price is not None and (
        price < spec.tick_size or price > max_price(spec) or not on_grid(price, spec.tick_size)
    ):
        raise filter_failure("PRICE_FILTER")
    if qty < spec.step_size or qty > spec.max_qty or not on_grid(qty, spec.step_size):
        raise filter_failure("LOT_SIZE")
    if qty * (price if price is not None else ref_price) < spec.min_notional - 1e-12:
        raise filter_failure("NOTIONAL")


class MatchingEngine(PathMatching):
    """Places, cancels and fills orders of one account (``ledger``) against ``feed``."""

    # what differs between markets in placing an order: its endpoint, the refusal of a
    # client id in use, and of an order the account cannot pay for
    ORDER_ENDPOINT = "POST /api/v3/order"
    DUPLICATE_CLIENT_ID = (-2010, "Duplicate order sent.")
    insufficient = staticmethod(insufficient_balance)

    def _client_id_in_use(self, spec: MarketSpec, client_id: str) -> bool:
        """An open order of the market already carries `client_id` (Binance refuses it)."""
        return bool(client_id) and any(
            o.client_order_id == client_id and o.spec is spec and o.is_open
            for o in self.ledger.orders.values()
        )

    def __init__(
        self,
        by_symbol: dict[str, MarketSpec],
        feed,
        ledger: Ledger,
        clock: Callable[[], int],
        faults: FaultPlan | None = None,
        fee_rate: float = FEE_RATE,
    ) -> None:
        self.by_symbol = by_symbol
        self.feed = feed
        self.ledger = ledger
        self.clock = clock
        self.faults = faults or FaultPlan.none()
        self.fee_rate = fee_rate
        # order id -> (pieces, ms between pieces, time the price reached the order)
        self._pieces: dict[int, list] = {}
        self._blocked_until: dict[int, float] = {}

    # -- prices ---------------------------------------------------------------------

    def price(self, spec: MarketSpec, now: int) -> float:
        price = self.feed.last_price(spec.pair, now)
        return price if price is not None and price > 0 else spec.price_level

    # -- placing --------------------------------------------------------------------

    def place(self, params: dict[str, str], now: int) -> Order:
        """A new order from Binance's ``POST /api/v3/order`` parameters (ApiError when
        refused: nothing is booked then)."""
        spec, side, kind = self._market_side_type(params, ORDER_TYPES)
        limited = kind != "MARKET"
        tif = params.get("timeInForce", "GTC" if not limited else "").upper()
        if limited and not tif:
            raise missing_param("timeInForce")
        if limited and tif not in TIME_IN_FORCE:
            raise ApiError(400, -1115, "Invalid timeInForce.")
        price = decimal_param(params, "price", required=limited) if limited else None
        stop = decimal_param(params, "stopPrice", required=kind == "STOP_LOSS_LIMIT")
        with self.ledger.lock:
            self.advance(now)
            current = self.price(spec, now)
            qty = decimal_param(params, "quantity", required=False)
            if qty is None:
                quote_qty = decimal_param(params, "quoteOrderQty", required=False)
                if quote_qty is None or kind != "MARKET":
                    raise missing_param("quantity")
                qty = floor_to_step(quote_qty / current, spec.step_size)
            check_filters(spec, qty=qty, price=price, ref_price=current)
            client_id = self._admit(spec, params, stop)
            if kind == "STOP_LOSS_LIMIT" and (
                (side == "SELL" and current <= stop) or (side == "BUY" and current >= stop)
            ):
                raise ApiError(400, -2010, "Order would trigger immediately.")
            order = self._new_order(
                Order, spec, side, kind, tif or "GTC", price, stop, qty, client_id, now
            )
            self._lock_for(order, current)
            self._book(order, now, split=kind != "MARKET")
            if kind != "STOP_LOSS_LIMIT":
                self._take(order, current, now, limit=price)
            return order

    def _market_side_type(
        self, params: dict[str, str], order_types: tuple[str, ...]
    ) -> tuple[MarketSpec, str, str]:
        """The order's market, side and type, each checked as Binance checks them."""
        spec = self._spec(params)
        side = params.get("side", "").upper()
        if side not in ("BUY", "SELL"):
            raise ApiError(400, -1117, "Invalid side.") if side else missing_param("side")
        kind = params.get("type", "").upper()
        if kind not in order_types:
            raise ApiError(400, -1116, "Invalid orderType.") if kind else missing_param("type")
        return spec, side, kind

    def _admit(self, spec: MarketSpec, params: dict[str, str], stop: float | None) -> str:
        """The checks after the filters, in Binance's order: the stop price on the tick
        grid, the client id not on an open order of the market, then the reject the
        fault plan injects, if any (a balance refusal, the market's own error, or a
        filter failure). Returns the client id asked for ('' for none)."""
        if stop is not None and not on_grid(stop, spec.tick_size):
            raise filter_failure("PRICE_FILTER")
        client_id = client_id_param(params, "newClientOrderId")
        if self._client_id_in_use(spec, client_id):
            raise ApiError(400, *self.DUPLICATE_CLIENT_ID)
        reject = self.faults.fire("reject", f"{self.ORDER_ENDPOINT} {spec.pair}")
        if reject is not None:
            reason = reject.get("reason", "insufficient_balance")
            if reason == "insufficient_balance":
                raise self.insufficient()
            raise filter_failure(reason)
        return client_id

    def _new_order(
        self,
        cls: type[OrderT],
        spec: MarketSpec,
        side: str,
        kind: str,
        tif: str,
        price: float | None,
        stop: float | None,
        qty: float,
        client_id: str,
        now: int,
        **extra,
    ) -> OrderT:
        """A new order (of the market's `cls`) with the next id; `pg-<id>` when the
        client named none."""
        order_id = self.ledger.new_order_id()
        return cls(
            order_id=order_id,
            client_order_id=client_id or f"pg-{order_id}",
            spec=spec,
            side=side,
            type=kind,
            time_in_force=tif,
            price=price or 0.0,
            stop_price=stop or 0.0,
            orig_qty=qty,
            time=now,
            update_time=now,
            checked_ms=now,
            **extra,
        )

    def _book(self, order: Order, now: int, *, split: bool) -> None:
        """Book a new order; the fault plan may make it fill in pieces (when `split`)."""
        self.ledger.orders[order.order_id] = order
        order.snapshot(now)
        partial = self.faults.fire("partial_fill", f"{self.ORDER_ENDPOINT} {order.spec.pair}")
        if partial is not None and split:
            self._pieces[order.order_id] = [
                max(2, int(partial.get("pieces", 3))),
                float(partial.get("interval_ms", 2000)),
                None,
            ]

    def _lock_for(self, order: Order, current: float) -> None:
        spec = order.spec
        try:
            if order.side == "SELL":
                self.ledger.lock_funds(order, spec.base, order.orig_qty)
            elif order.type == "MARKET":
                book = synth_book(spec, current, BOOK_DEPTH)
                needed = self._book_cost(book.asks, order.orig_qty)
                if self.ledger.free.get(spec.quote, 0.0) + 1e-12 < needed:
                    raise InsufficientBalance(spec.quote)
            else:
                self.ledger.lock_funds(order, spec.quote, q(order.orig_qty * order.price))
        except InsufficientBalance:
            raise insufficient_balance() from None

    @staticmethod
    def _book_cost(levels, qty: float) -> float:
        cost, left = 0.0, qty
        for level_price, level_qty in levels:
            take = min(left, level_qty)
            cost += take * level_price
            left -= take
            if left <= 1e-12:
                break
        return cost

    def _take(self, order: Order, current: float, now: int, limit: float | None) -> None:
        """Fill what crosses the book now (taker); a limit order rests with the rest."""
        book = synth_book(order.spec, current, BOOK_DEPTH)
        levels = book.asks if order.side == "BUY" else book.bids
        for level_price, level_qty in levels:
            if order.remaining <= 0:
                break
            if limit is not None and (
                level_price > limit if order.side == "BUY" else level_price < limit
            ):
                break
            qty = min(order.remaining, level_qty)
            self.ledger.apply_fill(
                order, price=level_price, qty=qty, fee_rate=self.fee_rate, time=now, maker=False
            )
        if order.is_open and (order.type == "MARKET" or order.time_in_force in ("IOC", "FOK")):
            self._close(order, "EXPIRED", now)

    # -- cancelling -----------------------------------------------------------------

    def find(self, params: dict[str, str]) -> Order:
        """The order named by ``orderId`` or ``origClientOrderId`` (-2013 if none)."""
        spec = self._spec(params)
        order_id = integer_param(params, "orderId")
        client_id = client_id_param(params, "origClientOrderId")
        if order_id is None and not client_id:
            raise ApiError(
                400,
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        with self.ledger.lock:
            if order_id is not None:
                order = self.ledger.orders.get(order_id)
            else:
                matches = [
                    o
                    for o in self.ledger.orders.values()
                    if o.client_order_id == client_id and o.spec is spec
                ]
                order = matches[-1] if matches else None
            if order is None or order.spec is not spec:
                raise ApiError(400, -2013, "Order does not exist.")
            return order

    def cancel(self, params: dict[str, str], now: int) -> Order:
        with self.ledger.lock:
            self.advance(now)
            try:
                order = self.find(params)
            except ApiError as err:
                if err.code == -2013:
                    raise ApiError(400, -2011, "Unknown order sent.") from None
                raise
            if not order.is_open:
                raise ApiError(400, -2011, "Unknown order sent.")
            fault = self.faults.fire("fill_on_cancel", f"DELETE /api/v3/order {order.spec.pair}")
            if fault is not None:
                # the fill reached the matching engine before the cancel did
                self._fill_rest(order, now)
                raise ApiError(400, -2011, "Unknown order sent.")
            self._close(order, "CANCELED", now)
            return order

    def _fill_rest(self, order: Order, now: int) -> None:
        price = order.price if order.type != "MARKET" else self.price(order.spec, now)
        if order.type == "STOP_LOSS_LIMIT" and not order.triggered:
            order.triggered = True
            price = order.stop_price
        self.ledger.apply_fill(
            order, price=price, qty=order.remaining, fee_rate=self.fee_rate, time=now, maker=True
        )

    def _close(self, order: Order, status: str, now: int) -> None:
        self.ledger.release(order)
        order.status = status
        order.update_time = now
        order.snapshot(now)
        self._pieces.pop(order.order_id, None)

    # -- helpers --------------------------------------------------------------------

    def _spec(self, params: dict[str, str]) -> MarketSpec:
        return spec_of(self.by_symbol, params)
