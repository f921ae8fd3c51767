"""The signed (private) part of Binance USDⓈ-M futures (``/fapi``) that ccxt and
Freqtrade use in live mode with isolated margin, one-way mode.

Authentication is the spot private API's (same key, HMAC signature, timestamp and
recvWindow checks: this class inherits them). The account: one futures wallet per
settle asset (starting with the config's ``dry_run_wallet``), a position and
leverage / margin type per symbol, orders matched by ``FuturesMatchingEngine``
against the futures price path. Funding is charged to open positions at each
funding moment after the account opened, at the rate the public API serves. The
account endpoints are in ``futures_account_api``, the algo orders in ``futures_algo``.
``/_profitguard/ledger`` shows the futures orders and fills in the same lists as
the spot ones, plus the futures wallet, positions and income.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from profitguard.tooling.exchange.api import ApiError
from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.futures import BinanceFuturesApi, FuturesSpec
from profitguard.tooling.exchange.futures_account_api import AccountEndpoints
from profitguard.tooling.exchange.futures_algo import AlgoOrders
from profitguard.tooling.exchange.futures_ledger import STOP_TYPES, FuturesLedger, FuturesOrder
from profitguard.tooling.exchange.futures_matching import FuturesMatchingEngine
from profitguard.tooling.exchange.ledger import q
from profitguard.tooling.exchange.markets import fmt
from profitguard.tooling.exchange.private import (
    LEDGER_PATH,
    Credentials,
    PrivateApi,
    fills_asked,
    in_window,
    orders_asked,
    page_size,
)

logger = logging.getLogger(__name__)

INCOME_DEFAULT_LIMIT = 100
INCOME_MAX_LIMIT = 1000


class FuturesPrivateApi(AccountEndpoints, AlgoOrders, PrivateApi):
    """Routes signed /fapi requests; owns the futures ledger and matching engine.

    ``spot``: the spot private API, whose ledger lends its lock and ids and which
    answers the spot half of ``/_profitguard/ledger``; ``public``: the public /fapi
    API (mark prices, funding rates, brackets)."""

    def __init__(
        self,
        *,
        credentials: Credentials | None,
        spot: PrivateApi,
        public: BinanceFuturesApi,
        clock: Callable[[], int],
        wallet: dict[str, float],
        faults: FaultPlan | None = None,
    ) -> None:
        by_symbol = {s.symbol: s for s in public.markets.values()}
        super().__init__(
            credentials=credentials, by_symbol=by_symbol, feed=public.feed, clock=clock,
            faults=faults,
        )  # fmt: skip
        self.spot, self.public = spot, public
        self.ledger = FuturesLedger(spot.ledger, {k: q(v) for k, v in wallet.items()})  # type: ignore[assignment]
        self.engine = FuturesMatchingEngine(by_symbol, public.feed, self.ledger, clock, self.faults)  # type: ignore[arg-type]
        self.funded_until = clock()  # funding is charged from the exchange's start on
        v1 = "/fapi/v1/"
        self.routes = {
            ("GET", "/fapi/v2/account"): self.account,
            ("GET", "/fapi/v3/account"): self.account,
            ("GET", "/fapi/v2/balance"): self.balance,
            ("GET", "/fapi/v3/balance"): self.balance,
            ("GET", "/fapi/v2/positionRisk"): self.position_risk,
            ("GET", "/fapi/v3/positionRisk"): self.position_risk,
            ("POST", v1 + "leverage"): self.set_leverage,
            ("POST", v1 + "marginType"): self.set_margin_type,
            ("GET", v1 + "positionSide/dual"): lambda p, now: {"dualSidePosition": False},
            ("GET", v1 + "multiAssetsMargin"): lambda p, now: {"multiAssetsMargin": False},
            ("GET", v1 + "symbolConfig"): self.symbol_config,
            ("GET", v1 + "accountConfig"): self.account_config,
            ("GET", v1 + "commissionRate"): self.commission_rate,
            ("GET", v1 + "leverageBracket"): lambda p, now: public.leverage_bracket(p, now),
            ("POST", v1 + "order"): self.new_order,
            ("DELETE", v1 + "order"): self.cancel_order,
            ("GET", v1 + "order"): self.query_order,
            ("GET", v1 + "openOrders"): self.open_orders,
            ("GET", v1 + "openOrder"): self.query_open_order,
            ("GET", v1 + "allOrders"): self.all_orders,
            ("GET", v1 + "userTrades"): self.user_trades,
            ("GET", v1 + "income"): self.income,
            **self.algo_routes(),
        }

    def handle(self, method, path, raw_query, body, headers):
        if path == LEDGER_PATH:
            status, spot = self.spot.handle(method, path, raw_query, body, headers)
            with self.ledger.lock:
                self._advance(self.clock())
                orders = sorted(
                    [*spot["orders"], *(o.as_json() for o in self.ledger.orders.values())],
                    key=lambda o: o["order_id"],
                )
                fills = sorted(
                    [*spot["fills"], *(f.as_json() for f in self.ledger.fills)],
                    key=lambda f: f["trade_id"],
                )
                return status, {
                    **spot, "orders": orders, "fills": fills, "futures": self.ledger.as_json()
                }  # fmt: skip
        return super().handle(method, path, raw_query, body, headers)

    # -- time passes ----------------------------------------------------------------

    def _advance(self, now: int) -> None:
        """Match resting orders up to ``now``, stopping at each funding moment passed to
        charge the positions open at that moment."""
        for t in self._funding_moments(now):
            self.engine.advance(t)
            for pair, pos in self.ledger.positions.items():
                if pos.amount:
                    spec = self.public.markets[pair]
                    times, rates = self.public._funding(spec, now)
                    rate = float(rates[times == t][-1]) if (times == t).any() else None
                    if rate is not None:
                        mark = self.public._mark(spec, t)
                        self.ledger.charge_funding(pair, spec.symbol, t, mark, rate)
        self.engine.advance(now)
        self.funded_until = max(self.funded_until, now)

    def _funding_moments(self, now: int) -> list[int]:
        """The funding moments of the markets with a position, after the last charged
        one and up to ``now``, in time order."""
        moments: set[int] = set()
        for pair, pos in self.ledger.positions.items():
            if pos.amount or any(
                o.is_open and o.spec.pair == pair for o in self.ledger.orders.values()
            ):
                times, _ = self.public._funding(self.public.markets[pair], now)
                moments.update(int(t) for t in times if self.funded_until < t <= now)
        return sorted(moments)

    def _spec_of(self, params: dict[str, str]) -> FuturesSpec:
        return self.engine._spec(params)  # type: ignore[return-value]

    # -- orders ---------------------------------------------------------------------

    def new_order(self, params: dict[str, str], now: int) -> dict:
        if params.get("type", "").upper() in STOP_TYPES:
            raise ApiError(
                400, -4120,
                "Order type not supported for this endpoint. "
                "Please use the Algo Order API endpoints instead.",
            )  # fmt: skip
        with self.ledger.lock:
            self._advance(now)
            order: FuturesOrder = self.engine.place(params, now)  # type: ignore[assignment]
            logger.info(
                "futures order %d %s %s %s %s reduceOnly=%s: %s",
                order.order_id, order.client_order_id, order.spec.pair, order.side, order.type,
                order.reduce_only, order.status,
            )  # fmt: skip
            return order.binance_view()

    def _find_plain(self, params: dict[str, str], unknown: int = -2013) -> FuturesOrder:
        """The order named as the plain order endpoints name it (not an algo order that
        has not triggered: Binance's plain endpoints do not know those)."""
        try:
            order: FuturesOrder = self.engine.find(params)  # type: ignore[assignment]
        except ApiError as err:
            if err.code == -2013 and unknown != -2013:
                raise ApiError(400, unknown, "Unknown order sent.") from None
            raise
        if order.hidden:
            if unknown == -2013:
                raise ApiError(400, -2013, "Order does not exist.")
            raise ApiError(400, unknown, "Unknown order sent.")
        return order

    def cancel_order(self, params: dict[str, str], now: int) -> dict:
        with self.ledger.lock:
            self._advance(now)
            self._find_plain(params, unknown=-2011)
            order = self.engine.cancel(params, now)
        logger.info("futures order %d %s cancelled", order.order_id, order.client_order_id)
        return order.binance_view()

    def query_order(self, params: dict[str, str], now: int) -> dict:
        with self.ledger.lock:
            self._advance(now)
            order = self._find_plain(params)
            lag = self.faults.fire("status_lag", f"GET /fapi/v1/order {order.spec.pair}")
            if lag is not None:
                return self._lagged(order, now - int(lag.get("lag_ms", 3000)))
            return order.binance_view()

    def query_open_order(self, params: dict[str, str], now: int) -> dict:
        with self.ledger.lock:
            self._advance(now)
            order = self._find_plain(params)
            if not order.is_open:
                raise ApiError(400, -2013, "Order does not exist.")
            return order.binance_view()

    def _plain_orders(self, params: dict[str, str]) -> list[FuturesOrder]:
        spec = self._spec_of(params) if params.get("symbol") else None
        return [
            o
            for o in self.ledger.orders.values()
            if not o.hidden and (spec is None or o.spec is spec)
        ]

    def open_orders(self, params: dict[str, str], now: int) -> list:
        with self.ledger.lock:
            self._advance(now)
            return [o.binance_view() for o in self._plain_orders(params) if o.is_open]

    def all_orders(self, params: dict[str, str], now: int) -> list:
        with self.ledger.lock:
            self._advance(now)
            self._spec_of(params)  # the symbol is mandatory
            return [o.binance_view() for o in orders_asked(self._plain_orders(params), params)]

    def user_trades(self, params: dict[str, str], now: int) -> list:
        with self.ledger.lock:
            self._advance(now)
            spec = self._spec_of(params)
            fills = fills_asked([f for f in self.ledger.fills if f.pair == spec.pair], params)
            return [
                {
                    "symbol": spec.symbol,
                    "id": f.trade_id,
                    "orderId": f.order_id,
                    "side": f.side,
                    "price": fmt(f.price),
                    "qty": fmt(f.qty),
                    "realizedPnl": fmt(f.realized_pnl),
                    "quoteQty": fmt(f.quote_qty),
                    "commission": fmt(f.commission),
                    "commissionAsset": f.commission_asset,
                    "time": f.time,
                    "positionSide": "BOTH",
                    "buyer": f.side == "BUY",
                    "maker": f.is_maker,
                }
                for f in fills
            ]

    def income(self, params: dict[str, str], now: int) -> list:
        """``GET /fapi/v1/income``: realized PnL, commissions and funding, oldest first."""
        with self.ledger.lock:
            self._advance(now)
            rows = list(self.ledger.income)
            if params.get("symbol"):
                symbol = self._spec_of(params).symbol
                rows = [r for r in rows if r.symbol == symbol]
            if params.get("incomeType"):
                rows = [r for r in rows if r.income_type == params["incomeType"]]
            rows = in_window(rows, params)
            limit = page_size(params, INCOME_DEFAULT_LIMIT, INCOME_MAX_LIMIT)
            return [r.binance_view() for r in rows[:limit]]


def futures_wallet(balances: dict[str, float], public: BinanceFuturesApi) -> dict[str, float]:
    """The futures wallet from the account's starting balances: every settle asset
    the futures markets use, with its starting balance (0 when none is given)."""
    settles = {s.quote for s in public.markets.values()}
    return {asset: float(balances.get(asset, 0.0)) for asset in sorted(settles)}
