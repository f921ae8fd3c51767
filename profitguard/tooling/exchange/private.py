"""The signed (private) part of the Binance spot API: balances and orders.

Every request is authenticated as Binance does it: the API key in the
``X-MBX-APIKEY`` header, an HMAC-SHA256 ``signature`` (hex, keyed with the secret)
over the query string followed by the body, and a ``timestamp`` no older than
``recvWindow`` (default 5000 ms, at most 60000). A wrong key or signature gets
Binance's error code and never reaches the matching engine. The key and the secret
are never logged: requests are logged by endpoint and order id only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.ledger import Ledger, Order
from profitguard.tooling.exchange.markets import MarketSpec, fmt
from profitguard.tooling.exchange.matching import MatchingEngine
from profitguard.tooling.exchange.params import ApiError, integer_param, limit_param, missing_param

logger = logging.getLogger(__name__)

LEDGER_PATH = "/_profitguard/ledger"
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000
FUTURE_TOLERANCE_MS = 1000
ALL_ORDERS_DEFAULT_LIMIT = 500
ALL_ORDERS_MAX_LIMIT = 1000


def in_window(rows: list, params: dict[str, str], time_of=lambda row: row.time) -> list:
    """The rows from ``startTime`` to ``endTime`` (ms, both included), when given
    (-1100 for a time that is not a number, -1128 for a start after the end)."""
    start, end = integer_param(params, "startTime"), integer_param(params, "endTime")
    if start is not None and end is not None and start > end:
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    if start is not None:
        rows = [r for r in rows if time_of(r) >= start]
    if end is not None:
        rows = [r for r in rows if time_of(r) <= end]
    return rows


def page_size(params: dict[str, str], default: int, most: int) -> int:
    """``limit``: ``default`` when not sent, at most ``most``; -1100 or -1130 when bad."""
    return limit_param(params, default, most, clamp=True)


def orders_asked(orders: list, params: dict[str, str]) -> list:
    """``allOrders``: from ``orderId`` on, in the time window, at most ``limit``."""
    size = page_size(params, ALL_ORDERS_DEFAULT_LIMIT, ALL_ORDERS_MAX_LIMIT)
    first = integer_param(params, "orderId")
    if first is not None:
        orders = [o for o in orders if o.order_id >= first]
    return in_window(orders, params)[:size]


def fills_asked(fills: list, params: dict[str, str]) -> list:
    """``myTrades`` / ``userTrades``: of ``orderId``, from ``fromId`` on, in the time
    window, at most ``limit``."""
    size = page_size(params, ALL_ORDERS_DEFAULT_LIMIT, ALL_ORDERS_MAX_LIMIT)
    order_id, from_id = integer_param(params, "orderId"), integer_param(params, "fromId")
    if order_id is not None:
        fills = [f for f in fills if f.order_id == order_id]
    if from_id is not None:
        fills = [f for f in fills if f.trade_id >= from_id]
    return in_window(fills, params)[:size]


@dataclass(frozen=True)
class Credentials:
    """The one API key the exchange accepts. The secret never shows in a repr."""

    key: str
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.key or not self.secret:
            raise ValueError("API key and secret must both be non-empty")


def account_from_config(config: dict) -> tuple[Credentials | None, dict[str, float]]:
    """The API key and starting balances of the exchange's one account, from the
    Freqtrade config both programs read: ``exchange.key``/``exchange.secret``, and
    ``dry_run_wallet`` (default 1000) of the ``stake_currency``. No key: no account
    (every signed request is refused)."""
    exchange = config.get("exchange", {})
    key, secret = exchange.get("key") or "", exchange.get("secret") or ""
    if not key or not secret:
        return None, {}
    wallet = config.get("dry_run_wallet", 1000)
    if isinstance(wallet, dict):  # Freqtrade allows {"USDT": 1000, "BTC": 0.1}
        balances = {str(k): float(v) for k, v in wallet.items()}
    else:
        balances = {str(config.get("stake_currency", "USDT")): float(wallet)}
    return Credentials(key, secret), balances


def sign(secret: str, payload: str) -> str:
    """Binance's HMAC-SHA256 signature of ``payload``, as hex."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _without_signature(text: str) -> tuple[str, str | None]:
    """``text`` with its ``signature=...`` parameter removed, and that signature."""
    kept, signature = [], None
    for part in text.split("&") if text else []:
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


class PrivateApi:
    """Routes signed requests; owns the ledger and the matching engine."""

    def __init__(
        self,
        *,
        credentials: Credentials | None,
        by_symbol: dict[str, MarketSpec],
        feed,
        clock: Callable[[], int],
        balances: dict[str, float] | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        self.credentials = credentials
        self.clock = clock
        self.faults = faults or FaultPlan.none()
        self.ledger = Ledger(balances)
        self.engine = MatchingEngine(by_symbol, feed, self.ledger, clock, self.faults)
        self.routes: dict[tuple[str, str], Callable[[dict[str, str], int], object]] = {
            ("GET", "/api/v3/account"): self.account,
            ("POST", "/api/v3/order"): self.new_order,
            ("DELETE", "/api/v3/order"): self.cancel_order,
            ("GET", "/api/v3/order"): self.query_order,
            ("GET", "/api/v3/openOrders"): self.open_orders,
            ("GET", "/api/v3/allOrders"): self.all_orders,
            ("GET", "/api/v3/myTrades"): self.my_trades,
            ("GET", "/sapi/v1/capital/config/getall"): self.coins,
            ("GET", "/sapi/v1/margin/allPairs"): lambda params, now: [],  # spot only
            ("GET", "/sapi/v1/margin/isolated/allPairs"): lambda params, now: [],
        }

    def serves(self, method: str, path: str) -> bool:
        return (method, path) in self.routes or (method == "GET" and path == LEDGER_PATH)

    def handle(
        self, method: str, path: str, raw_query: str, body: str, headers: dict[str, str]
    ) -> tuple[int, object]:
        now = self.clock()
        if path == LEDGER_PATH:
            self.engine.advance(now)
            return 200, {**self.ledger.as_json(), "faults": self.faults.summary()}
        endpoint = f"{method} {path}"
        try:
            params = self._authenticate(raw_query, body, headers, now)
            result = self.routes[(method, path)](params, now)
        except ApiError as err:
            logger.info("%s -> %s %s", endpoint, err.code, err.msg)
            return err.status, {"code": err.code, "msg": err.msg}
        return 200, result

    # -- authentication -------------------------------------------------------------

    def _authenticate(
        self, raw_query: str, body: str, headers: dict[str, str], now: int
    ) -> dict[str, str]:
        key = next((v for k, v in headers.items() if k.lower() == "x-mbx-apikey"), "")
        if not key:
            raise ApiError(401, -2014, "API-key format invalid.")
        if self.credentials is None or not hmac.compare_digest(
            key.encode(), self.credentials.key.encode()
        ):
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        query, sig_q = _without_signature(raw_query)
        payload_body, sig_b = _without_signature(body)
        signature = sig_b if sig_b is not None else sig_q
        if not signature:
            raise ApiError(
                400,
                -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            )
        expected = sign(self.credentials.secret, query + payload_body)
        if not hmac.compare_digest(signature.lower().encode(), expected.encode()):
            raise ApiError(400, -1022, "Signature for this request is not valid.")
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(payload_body, keep_blank_values=True))
        timestamp = integer_param(params, "timestamp")
        if timestamp is None:
            raise missing_param("timestamp")
        window = integer_param(params, "recvWindow")
        window = DEFAULT_RECV_WINDOW if window is None else window
        if not 0 < window <= MAX_RECV_WINDOW:
            raise ApiError(400, -1131, "recvWindow must be less than 60000")
        if timestamp > now + FUTURE_TOLERANCE_MS:
            raise ApiError(
                400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - timestamp > window:
            raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return params

    # -- endpoints ------------------------------------------------------------------

    def account(self, params: dict[str, str], now: int) -> dict:
        with self.ledger.lock:
            self.engine.advance(now)
            assets = sorted(set(self.ledger.free) | set(self.ledger.locked))
            balances = [
                {
                    "asset": a,
                    "free": fmt(self.ledger.free.get(a, 0.0)),
                    "locked": fmt(self.ledger.locked.get(a, 0.0)),
                }
                for a in assets
            ]
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": "0.00100000",
                "taker": "0.00100000",
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": now,
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": 1,
        }

    def new_order(self, params: dict[str, str], now: int) -> dict:
        order = self.engine.place(params, now)
        logger.info(
            "order %d %s %s %s %s: %s",
            order.order_id,
            order.client_order_id,
            order.spec.pair,
            order.side,
            order.type,
            order.status,
        )
        view = {**order.binance_view(), "transactTime": now}
        kind = params.get("newOrderRespType", "FULL" if order.type == "MARKET" else "RESULT")
        if kind == "ACK":
            keys = ("symbol", "orderId", "orderListId", "clientOrderId", "transactTime")
            return {k: view[k] for k in keys}
        if kind == "FULL":
            view["fills"] = [
                {
                    "price": fmt(f.price),
                    "qty": fmt(f.qty),
                    "commission": fmt(f.commission),
                    "commissionAsset": f.commission_asset,
                    "tradeId": f.trade_id,
                }
                for f in order.fills
            ]
        return view

    def cancel_order(self, params: dict[str, str], now: int) -> dict:
        order = self.engine.cancel(params, now)
        logger.info("order %d %s cancelled", order.order_id, order.client_order_id)
        view = order.binance_view()
        view["origClientOrderId"] = view["clientOrderId"]
        return view

    def query_order(self, params: dict[str, str], now: int) -> dict:
        with self.ledger.lock:
            self.engine.advance(now)
            order = self.engine.find(params)
            lag = self.faults.fire("status_lag", f"GET /api/v3/order {order.spec.pair}")
            if lag is not None:
                return self._lagged(order, now - int(lag.get("lag_ms", 3000)))
            return order.binance_view()

    @staticmethod
    def _lagged(order: Order, as_of: int) -> dict:
        """How the order looked at ``as_of`` (its first view if it is younger)."""
        seen = [view for t, view in order.history if t <= as_of]
        return dict(seen[-1] if seen else order.history[0][1])

    def open_orders(self, params: dict[str, str], now: int) -> list:
        with self.ledger.lock:
            self.engine.advance(now)
            spec = self.engine._spec(params) if params.get("symbol") else None
            return [
                o.binance_view()
                for o in self.ledger.orders.values()
                if o.is_open and (spec is None or o.spec is spec)
            ]

    def all_orders(self, params: dict[str, str], now: int) -> list:
        with self.ledger.lock:
            self.engine.advance(now)
            spec = self.engine._spec(params)
            orders = [o for o in self.ledger.orders.values() if o.spec is spec]
            return [o.binance_view() for o in orders_asked(orders, params)]

    def my_trades(self, params: dict[str, str], now: int) -> list:
        with self.ledger.lock:
            self.engine.advance(now)
            spec = self.engine._spec(params)
            fills = fills_asked([f for f in self.ledger.fills if f.pair == spec.pair], params)
            return [
                {
                    "symbol": spec.symbol,
                    "id": f.trade_id,
                    "orderId": f.order_id,
                    "orderListId": -1,
                    "price": fmt(f.price),
                    "qty": fmt(f.qty),
                    "quoteQty": fmt(f.quote_qty),
                    "commission": fmt(f.commission),
                    "commissionAsset": f.commission_asset,
                    "time": f.time,
                    "isBuyer": f.side == "BUY",
                    "isMaker": f.is_maker,
                    "isBestMatch": True,
                }
                for f in fills
            ]

    def coins(self, params: dict[str, str], now: int) -> list:
        """``capital/config/getall``: ccxt's fetchCurrencies with keys (every asset of
        the markets, no networks: nothing can be deposited or withdrawn here)."""
        assets = sorted(
            {s.base for s in self.engine.by_symbol.values()}
            | {s.quote for s in self.engine.by_symbol.values()}
        )
        with self.ledger.lock:
            return [
                {
                    "coin": a,
                    "name": a,
                    "depositAllEnable": False,
                    "withdrawAllEnable": False,
                    "free": fmt(self.ledger.free.get(a, 0.0)),
                    "locked": fmt(self.ledger.locked.get(a, 0.0)),
                    "freeze": "0",
                    "withdrawing": "0",
                    "ipoing": "0",
                    "ipoable": "0",
                    "storage": "0",
                    "isLegalMoney": False,
                    "trading": True,
                    "networkList": [],
                }
                for a in assets
            ]
