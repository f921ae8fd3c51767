"""Binance USDⓈ-M conditional orders (``/fapi/v1/algoOrder``): stops and take-profits.

Binance takes STOP_MARKET and TAKE_PROFIT_MARKET only through its algo-order
endpoints (the plain order endpoint answers -4120); ccxt sends them there, and
Freqtrade's stoploss on exchange reads a triggered one through its
``actualOrderId``. Here a conditional order is a futures order of that type with an
``algo_id``: hidden from the plain order endpoints until it triggers, then it is the
actual (market) order, filled at the trigger price by the matching engine.
Algo statuses: NEW until it triggers, then FINISHED; CANCELED when cancelled.
"""

from __future__ import annotations

from profitguard.tooling.exchange.api import ApiError
from profitguard.tooling.exchange.futures_ledger import STOP_TYPES, FuturesOrder
from profitguard.tooling.exchange.markets import fmt
from profitguard.tooling.exchange.params import client_id_param, integer_param


def algo_status(order: FuturesOrder) -> str:
    if order.triggered:
        return "FINISHED"
    return {"NEW": "NEW", "CANCELED": "CANCELED"}.get(order.status, "EXPIRED")


def algo_view(order: FuturesOrder) -> dict:
    """The order as ``GET /fapi/v1/algoOrder`` shows it."""
    return {
        "algoId": order.algo_id,
        "clientAlgoId": order.client_algo_id,
        "algoType": "CONDITIONAL",
        "orderType": order.type,
        "symbol": order.spec.symbol,
        "side": order.side,
        "positionSide": order.position_side,
        "timeInForce": order.time_in_force,
        "quantity": fmt(order.orig_qty),
        "algoStatus": algo_status(order),
        "actualOrderId": str(order.order_id) if order.triggered else "",
        "actualPrice": fmt(order.avg_price),
        "triggerPrice": fmt(order.stop_price),
        "price": fmt(order.price),
        "icebergQuantity": None,
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": order.working_type,
        "priceMatch": "NONE",
        "closePosition": order.close_position,
        "priceProtect": False,
        "reduceOnly": order.reduce_only,
        "createTime": order.time,
        "updateTime": order.update_time or order.time,
        "triggerTime": order.update_time if order.triggered else 0,
        "goodTillDate": 0,
    }


class AlgoOrders:
    """The algo-order endpoints of ``FuturesPrivateApi`` (which provides ``ledger``,
    ``engine``, ``_advance`` and ``_spec_of``)."""

    def algo_routes(self) -> dict:
        v1 = "/fapi/v1/"
        return {
            ("POST", v1 + "algoOrder"): self.new_algo_order,
            ("GET", v1 + "algoOrder"): self.query_algo_order,
            ("DELETE", v1 + "algoOrder"): self.cancel_algo_order,
            ("GET", v1 + "openAlgoOrders"): self.open_algo_orders,
            ("GET", v1 + "allAlgoOrders"): self.all_algo_orders,
            ("DELETE", v1 + "algoOpenOrders"): self.cancel_open_algo_orders,
        }

    def new_algo_order(self, params: dict[str, str], now: int) -> dict:
        if params.get("algoType", "").upper() != "CONDITIONAL":
            raise ApiError(400, -1116, "Invalid algoType.")
        if params.get("type", "").upper() not in STOP_TYPES:
            raise ApiError(400, -1116, "Invalid orderType.")
        inner = {k: v for k, v in params.items() if k not in ("algoType", "clientAlgoId")}
        inner["stopPrice"] = params.get("triggerPrice", "")
        inner.pop("triggerPrice", None)
        with self.ledger.lock:
            self._advance(now)
            client_id = client_id_param(params, "clientAlgoId")
            if client_id and any(
                o.client_algo_id == client_id and o.is_open and not o.triggered
                for o in self.ledger.orders.values()
            ):
                raise ApiError(400, -4116, "ClientOrderId is duplicated.")
            order = self.engine.place(inner, now)
            order.algo_id = self.ledger.new_order_id()
            order.client_algo_id = client_id or f"pg-algo-{order.algo_id}"
            return algo_view(order)

    def _find_algo(self, params: dict[str, str]) -> FuturesOrder:
        algo_id = integer_param(params, "algoId")
        client_id = client_id_param(params, "clientAlgoId")
        if algo_id is None and not client_id:
            raise ApiError(
                400, -1102,
                "Param 'clientAlgoId' or 'algoId' must be sent, but both were empty/null!",
            )  # fmt: skip
        matches = [
            o
            for o in self.ledger.orders.values()
            if o.algo_id is not None
            and (o.algo_id == algo_id if algo_id is not None else o.client_algo_id == client_id)
        ]
        if not matches:
            raise ApiError(400, -2013, "Order does not exist.")
        return matches[-1]

    def query_algo_order(self, params: dict[str, str], now: int) -> dict:
        with self.ledger.lock:
            self._advance(now)
            return algo_view(self._find_algo(params))

    def cancel_algo_order(self, params: dict[str, str], now: int) -> dict:
        with self.ledger.lock:
            self._advance(now)
            order = self._find_algo(params)
            if order.triggered or not order.is_open:
                raise ApiError(400, -2011, "Unknown order sent.")
            self.engine.cancel({"symbol": order.spec.symbol, "orderId": str(order.order_id)}, now)
            return {
                "algoId": order.algo_id,
                "clientAlgoId": order.client_algo_id,
                "code": "200",
                "msg": "success",
            }

    def _algo_orders(self, params: dict[str, str]) -> list[FuturesOrder]:
        spec = self._spec_of(params) if params.get("symbol") else None
        return [
            o
            for o in self.ledger.orders.values()
            if o.algo_id is not None and (spec is None or o.spec is spec)
        ]

    def open_algo_orders(self, params: dict[str, str], now: int) -> list:
        with self.ledger.lock:
            self._advance(now)
            return [algo_view(o) for o in self._algo_orders(params) if algo_status(o) == "NEW"]

    def all_algo_orders(self, params: dict[str, str], now: int) -> list:
        with self.ledger.lock:
            self._advance(now)
            self._spec_of(params)  # the symbol is mandatory
            return [algo_view(o) for o in self._algo_orders(params)]

    def cancel_open_algo_orders(self, params: dict[str, str], now: int) -> dict:
        with self.ledger.lock:
            self._advance(now)
            self._spec_of(params)
            for o in self._algo_orders(params):
                if algo_status(o) == "NEW":
                    self.engine.cancel({"symbol": o.spec.symbol, "orderId": str(o.order_id)}, now)
            return {"code": 200, "msg": "The operation of cancel all open order is done."}
