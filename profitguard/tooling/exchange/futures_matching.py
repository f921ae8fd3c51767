"""The futures matching engine: the spot engine's rules on a /fapi order's terms.

What is the same as spot is the spot engine's code: filters, market orders walking
the synthetic book, resting limits filling when the replayed path reaches them,
cancels and the injected faults. What differs: orders carry ``reduceOnly`` and
``positionSide`` (one-way mode: BOTH only); a new order needs margin
(notional / leverage) rather than the asset it sells, reduce-only orders are exempt
from the minimum notional and are refused (-2022) when they would open, grow or
over-close the position; STOP_MARKET / TAKE_PROFIT_MARKET trigger when the path
reaches the stop price and fill there as a taker; fills go to the futures ledger.
"""

from __future__ import annotations

import itertools

from profitguard.tooling.exchange.api import ApiError
from profitguard.tooling.exchange.futures_account import (
    TAKER_FEE,
    apply_trade,
    initial_margin,
    reduce_only_refusal,
)
from profitguard.tooling.exchange.futures_ledger import STOP_TYPES, FuturesLedger, FuturesOrder
from profitguard.tooling.exchange.matching import (
    BOOK_DEPTH,
    TIME_IN_FORCE,
    MatchingEngine,
    check_filters,
)
from profitguard.tooling.exchange.order_book import synth_book
from profitguard.tooling.exchange.params import decimal_param

FUTURES_ORDER_TYPES = ("MARKET", "LIMIT", *STOP_TYPES)


def _flag(params: dict[str, str], name: str) -> bool:
    raw = params.get(name, "false")
    if str(raw).lower() not in ("true", "false"):
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'.")
    return str(raw).lower() == "true"


def reduce_only_rejected() -> ApiError:
    return ApiError(400, -2022, "ReduceOnly Order is rejected.")


def margin_insufficient() -> ApiError:
    return ApiError(400, -2019, "Margin is insufficient.")


class FuturesMatchingEngine(MatchingEngine):
    """Places, cancels and fills /fapi orders of the futures account (``ledger``)."""

    ledger: FuturesLedger  # type: ignore[assignment]
    ORDER_ENDPOINT = "POST /fapi/v1/order"
    DUPLICATE_CLIENT_ID = (-4116, "ClientOrderId is duplicated.")
    insufficient = staticmethod(margin_insufficient)

    def place(self, params: dict[str, str], now: int) -> FuturesOrder:  # type: ignore[override]
        spec, side, kind = self._market_side_type(params, FUTURES_ORDER_TYPES)
        position_side = params.get("positionSide", "BOTH").upper()
        if position_side != "BOTH":
            raise ApiError(400, -4061, "Order's position side does not match user's setting.")
        reduce_only = _flag(params, "reduceOnly")
        close_position = _flag(params, "closePosition")
        if close_position and kind not in STOP_TYPES:
            raise ApiError(
                400, -4136, f"Target strategy invalid for orderType {kind},closePosition true"
            )
        limited = kind == "LIMIT"
        tif = params.get("timeInForce", "GTC").upper() if limited else "GTC"
        if tif not in TIME_IN_FORCE:
            raise ApiError(400, -1115, "Invalid timeInForce.")
        price = decimal_param(params, "price", required=limited) if limited else None
        stop = decimal_param(params, "stopPrice", required=True) if kind in STOP_TYPES else None
        with self.ledger.lock:
            self.advance(now)
            current = self.price(spec, now)
            pos = self.ledger.position(spec.pair)
            if close_position:
                qty = abs(pos.amount)
                if qty <= 0:
                    raise reduce_only_rejected()
            else:
                qty = decimal_param(params, "quantity", required=True)
            ref = price or stop or current
            try:
                check_filters(spec, qty=qty, price=price, ref_price=ref)
            except ApiError as err:
                if not err.msg.endswith("NOTIONAL"):
                    raise
                if not (reduce_only or close_position):  # reduce-only is exempt
                    raise ApiError(
                        400, -4164,
                        f"Order's notional must be no smaller than {spec.min_notional} "
                        "(unless you choose reduce only).",
                    ) from None  # fmt: skip
            client_id = self._admit(spec, params, stop)
            if (reduce_only or close_position) and reduce_only_refusal(pos.amount, side, qty):
                raise reduce_only_rejected()
            if kind in STOP_TYPES and self._would_trigger(kind, side, stop, current):
                raise ApiError(400, -2021, "Order would immediately trigger.")
            reserve = 0.0
            if not (reduce_only or close_position):
                opened = apply_trade(pos.amount, pos.entry_price, side, qty, ref).opened
                reserve = self._margin_for(spec, opened, ref, pos.leverage, side, current)
                if reserve > self.ledger.available(spec.quote) + 1e-9:
                    raise margin_insufficient()
            order = self._new_order(
                FuturesOrder,
                spec,
                side,
                kind,
                tif,
                price,
                stop,
                qty,
                client_id,
                now,
                reduce_only=reduce_only or close_position,
                close_position=close_position,
                working_type=params.get("workingType", "CONTRACT_PRICE").upper(),
            )
            self.ledger.reserve(order, reserve)
            self._book(order, now, split=kind == "LIMIT")
            if kind not in STOP_TYPES:
                self._take(order, current, now, limit=price)
            return order

    def _margin_for(self, spec, qty: float, ref: float, leverage: int, side: str, current: float):
        """Margin (plus the taker fee) an order opening ``qty`` holds while it is open;
        a market order is costed at the book it will walk."""
        if qty <= 0:
            return 0.0
        if ref == current:
            book = synth_book(spec, current, BOOK_DEPTH)
            cost = self._book_cost(book.asks if side == "BUY" else book.bids, qty)
            ref = cost / qty if cost > 0 else current
        return initial_margin(qty, ref, leverage) + qty * ref * TAKER_FEE

    @staticmethod
    def _would_trigger(kind: str, side: str, stop: float, current: float) -> bool:
        # a stop-loss buys above and sells below the market; a take-profit the reverse
        above = (side == "BUY") == (kind == "STOP_MARKET")
        return current >= stop if above else current <= stop

    # -- matching resting orders ----------------------------------------------------

    def _walk(self, order: FuturesOrder, now: int) -> None:  # type: ignore[override]
        if order.type not in STOP_TYPES:
            super()._walk(order, now)
            return
        falling = (order.side == "BUY") != (order.type == "STOP_MARKET")
        points = self.feed.path_points(order.spec.pair, order.checked_ms, now)
        for (ta, pa), (tb, pb) in itertools.pairwise(points):
            crossed = self._crossing(ta, pa, tb, pb, order.stop_price, falling=falling)
            if crossed is not None:
                self._trigger_market(order, crossed, now)
                return

    def _trigger_market(self, order: FuturesOrder, at: float, now: int) -> None:
        """A triggered stop fills at once, at its stop price (or worse through a gap)."""
        t, price, _ = self._triggered(order, at)
        if order.close_position:
            order.orig_qty = abs(self.ledger.position(order.spec.pair).amount) or order.orig_qty
        order.snapshot(t)
        self.ledger.apply_fill(
            order, price=price, qty=order.remaining, fee_rate=self.fee_rate, time=t, maker=False
        )

    def _fill_rest(self, order: FuturesOrder, now: int) -> None:  # type: ignore[override]
        if order.type in STOP_TYPES:
            self._trigger_market(order, now, now)
            return
        super()._fill_rest(order, now)
