"""The Binance spot REST API as the offline exchange answers it (no sockets here).

``BinanceSpotApi.handle(method, path, query)`` returns ``(http_status, json_body)``.
Errors look like Binance's (``{"code": -1121, "msg": "Invalid symbol."}``) so ccxt
raises the same exception classes it would against the real exchange. Anything we
do not serve answers ``-1020`` (ccxt: BadRequest) and is logged as a warning.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.feeds import Feed
from profitguard.tooling.exchange.markets import (
    USD_QUOTE,
    MarketSpec,
    exchange_info,
    fmt,
    market_spec,
    min_notional_for_quote,
    round_to_step,
    split_pair,
)
from profitguard.tooling.exchange.ohlcv import (
    DAY_MS,
    INTERVALS_MS,
    KLINES_DEFAULT_LIMIT,
    KLINES_MAX_LIMIT,
    MINUTE_MS,
    Candles,
    kline_rows,
)
from profitguard.tooling.exchange.order_book import synth_book
from profitguard.tooling.exchange.params import ApiError, integer_param, limit_param, missing_param

logger = logging.getLogger(__name__)

PREFIX = "/api/v3/"
STATS_PATH = "/_profitguard/stats"
DEPTH_DEFAULT_LIMIT = 100
DEPTH_MAX_LIMIT = 5000
PLACEHOLDER_PRICE = 1.0


def _bad_symbol() -> ApiError:
    return ApiError(400, -1121, "Invalid symbol.")


def spec_of(by_symbol: dict[str, MarketSpec], query: dict[str, str]) -> MarketSpec:
    """The market named by ``symbol`` (-1102 when not sent, -1121 when unknown)."""
    symbol = query.get("symbol")
    if not symbol:
        raise missing_param("symbol")
    spec = by_symbol.get(symbol)
    if spec is None:
        raise _bad_symbol()
    return spec


def build_markets(pairs: Iterable[str], feed: Feed) -> dict[str, MarketSpec]:
    """A market per pair, its filters derived from the feed's price for it."""
    prices: dict[str, float | None] = {pair: feed.reference_price(pair) for pair in pairs}
    markets: dict[str, MarketSpec] = {}
    for pair in sorted(prices):
        try:
            _, quote = split_pair(pair)
        except ValueError:
            logger.warning("not serving %r: not a spot pair", pair)
            continue
        price = prices[pair]
        if price is None or not price > 0:
            logger.warning(
                "no data for %s: its market is served with placeholder filters (price %s)",
                pair,
                PLACEHOLDER_PRICE,
            )
            price = PLACEHOLDER_PRICE
        quote_usd = prices.get(f"{quote}/{USD_QUOTE}") or feed.reference_price(
            f"{quote}/{USD_QUOTE}"
        )
        markets[pair] = market_spec(pair, price, min_notional_for_quote(quote, quote_usd))
    return markets


class PathCounter(Counter):
    """Requests by endpoint, bounded: at most ``most_keys`` endpoints of at most
    ``most_chars`` characters each; the rest are counted under ``OTHER`` (a client
    asking for a million different paths costs a few kilobytes, not a million keys)."""

    OTHER = "(other endpoints)"

    def __init__(self, most_keys: int = 256, most_chars: int = 200) -> None:
        super().__init__()
        self.most_keys, self.most_chars = most_keys, most_chars

    def count(self, endpoint: str) -> None:
        key = endpoint if len(endpoint) <= self.most_chars else self.OTHER
        if key not in self and len(self) >= self.most_keys - 1:
            key = self.OTHER
        self[key] += 1


# the price answers a `stale_ticker` fault freezes (candles go on)
FREEZABLE = ("ticker/24hr", "ticker/price", "ticker/bookTicker", "depth", "avgPrice")


class BinanceSpotApi:
    """Routes requests to handlers; counts every request by path (bounded)."""

    def __init__(
        self,
        markets: dict[str, MarketSpec],
        feed: Feed,
        clock: Callable[[], int] | None = None,
        futures: BinanceSpotApi | None = None,
    ) -> None:
        """``futures``: the API answering ``/fapi/...`` (USDⓈ-M futures), if served."""
        self.markets = markets
        self.futures = futures
        self.by_symbol = {spec.symbol: spec for spec in markets.values()}
        self.feed = feed
        self.clock = clock or (lambda: int(time.time() * 1000))
        self.hits = PathCounter()
        self.unserved = PathCounter()
        self._lock = threading.Lock()
        self._update_id = 0
        # signed endpoints and the ledger (profitguard.tooling.exchange.private), when keys are set
        self.private = None
        # signed /fapi endpoints (profitguard.tooling.exchange.futures_private): keys, futures
        self.futures_private = None
        self.faults = FaultPlan.none()
        # the live replay's pace (profitguard.tooling.exchange.pace), None when not replaying
        self.pace = None
        self._frozen: dict[tuple[str, str], object] = {}  # stale_ticker: (route, symbol) -> answer
        self.routes: dict[str, Callable[[dict[str, str], int], object]] = {
            "ping": lambda q, now: {},
            "time": lambda q, now: {"serverTime": now},
            "exchangeInfo": self.exchange_info,
            "klines": self.klines,
            "uiKlines": self.klines,
            "ticker/24hr": self.ticker_24hr,
            "ticker/price": self.ticker_price,
            "ticker/bookTicker": self.book_ticker,
            "depth": self.depth,
            "avgPrice": self.avg_price,
        }

    # -- dispatch -------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        *,
        raw_query: str = "",
        body: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, object]:
        endpoint = f"{method} {path}"
        with self._lock:
            self.hits.count(endpoint)
        if self.pace is not None:
            self.pace.priced(path, self.clock())
        if method == "GET" and path == STATS_PATH:
            return 200, self.stats()
        if self.futures_private is not None and self.futures_private.serves(method, path):
            return self.futures_private.handle(method, path, raw_query, body, headers or {})
        if self.private is not None and self.private.serves(method, path):
            return self.private.handle(method, path, raw_query, body, headers or {})
        if self.futures is not None and path.startswith("/fapi/"):
            return self.futures.handle(method, path, query)
        route = self._route(path)
        if method != "GET" or route is None:
            with self._lock:
                first = endpoint not in self.unserved
                self.unserved.count(endpoint)
            log = logger.warning if first else logger.debug  # once per endpoint
            log("unserved endpoint %s %s: answered with Binance error -1020", endpoint, query or "")
            return 400, {
                "code": -1020,
                "msg": f"profitguard offline exchange does not serve {endpoint}.",
            }
        try:
            if path[len(PREFIX) :] in FREEZABLE and "symbol" in query:
                return 200, self._maybe_frozen(endpoint, path, query, route)
            return 200, route(query, self.clock())
        except ApiError as err:
            logger.info("%s %s -> %s %s", endpoint, query, err.code, err.msg)
            return err.status, {"code": err.code, "msg": err.msg}

    def _maybe_frozen(self, endpoint: str, path: str, query: dict[str, str], route) -> object:
        """The answer, or with a `stale_ticker` fault the one given when it first fired."""
        spec = self._spec(query)
        if self.faults.fire("stale_ticker", f"{endpoint} {spec.pair}") is None:
            return route(query, self.clock())
        key = (path, spec.symbol)
        answer = None if key in self._frozen else route(query, self.clock())
        with self._lock:  # the first answer given while it fires is kept
            return self._frozen.setdefault(key, answer)

    def _route(self, path: str) -> Callable[[dict[str, str], int], object] | None:
        return self.routes.get(path[len(PREFIX) :]) if path.startswith(PREFIX) else None

    def stats(self) -> dict:
        with self._lock:
            stats = {
                "mode": self.feed.mode,
                "pairs": sorted(self.markets),
                "hits": dict(self.hits),
                "unserved": dict(self.unserved),
            }
        if self.futures is not None:
            inner = self.futures.stats()
            stats["pairs"] += inner["pairs"]
            stats["unserved"] |= inner["unserved"]
        return stats

    # -- helpers --------------------------------------------------------------------

    def _spec(self, query: dict[str, str]) -> MarketSpec:
        return spec_of(self.by_symbol, query)

    def _specs(self, query: dict[str, str]) -> list[MarketSpec] | MarketSpec:
        """``symbol=X`` -> one market; ``symbols=["X","Y"]`` or nothing -> a list."""
        if "symbol" in query:
            return self._spec(query)
        raw = query.get("symbols")
        if raw is None:
            return [self.markets[p] for p in sorted(self.markets)]
        try:
            symbols = json.loads(raw)
            if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
                raise ValueError
        except ValueError:
            raise ApiError(400, -1100, "Illegal characters found in parameter 'symbols'.") from None
        missing = [s for s in symbols if s not in self.by_symbol]
        if missing:
            raise _bad_symbol()
        return [self.by_symbol[s] for s in symbols]

    def _price(self, spec: MarketSpec, now: int) -> float:
        price = self.feed.last_price(spec.pair, now)
        return price if price is not None and price > 0 else spec.price_level

    # -- endpoints ------------------------------------------------------------------

    def exchange_info(self, query: dict[str, str], now: int) -> dict:
        specs = self._specs(query)
        return exchange_info(specs if isinstance(specs, list) else [specs], now)

    def klines(self, query: dict[str, str], now: int) -> list:
        spec = self._spec(query)
        interval = query.get("interval")
        if not interval:
            raise missing_param("interval")
        if interval not in INTERVALS_MS:
            if interval == "1M":
                return []
            raise ApiError(400, -1120, "Invalid interval.")
        limit = limit_param(query, KLINES_DEFAULT_LIMIT, KLINES_MAX_LIMIT)
        start, end = integer_param(query, "startTime"), integer_param(query, "endTime")
        if start is not None and end is not None and start > end:
            raise ApiError(400, -1128, "Combination of optional parameters invalid.")
        interval_ms = INTERVALS_MS[interval]
        candles = self.feed.klines(
            spec.pair, interval_ms, now_ms=now, start_ms=start, end_ms=end, limit=limit
        )
        tick = spec.tick_size
        prices = (candles.open, candles.high, candles.low, candles.close)
        on_grid = Candles(candles.ts, *(round_to_step(col, tick) for col in prices), candles.volume)
        return kline_rows(on_grid, interval_ms, fmt, fmt)

    def _top_of_book(self, spec: MarketSpec, price: float) -> tuple[tuple, tuple]:
        book = synth_book(spec, price, 1)
        return book.bids[0] if book.bids else (0.0, 0.0), book.asks[0]

    def _ticker(self, spec: MarketSpec, now: int) -> dict:
        price = self._price(spec, now)
        stats = self.feed.window(spec.pair, now - DAY_MS, now, now)
        o, h, lo, c, v = stats if stats else (price, price, price, price, 0.0)
        (bid, bid_qty), (ask, ask_qty) = self._top_of_book(spec, price)
        change = price - o
        return {
            "symbol": spec.symbol,
            "priceChange": spec.price(change),
            "priceChangePercent": f"{(change / o * 100 if o else 0.0):.3f}",
            "weightedAvgPrice": spec.price((o + h + lo + c) / 4),
            "prevClosePrice": spec.price(o),
            "lastPrice": spec.price(price),
            "lastQty": fmt(spec.step_size),
            "bidPrice": spec.price(bid),
            "bidQty": fmt(bid_qty),
            "askPrice": spec.price(ask),
            "askQty": fmt(ask_qty),
            "openPrice": spec.price(o),
            "highPrice": spec.price(max(h, price)),
            "lowPrice": spec.price(min(lo, price)),
            "volume": fmt(v),
            "quoteVolume": fmt(v * (o + c) / 2),
            "openTime": now - DAY_MS,
            "closeTime": now,
            "firstId": 0,
            "lastId": max(0, int(v)),
            "count": max(0, int(v)),
        }

    def ticker_24hr(self, query: dict[str, str], now: int):
        specs = self._specs(query)
        if isinstance(specs, MarketSpec):
            return self._ticker(specs, now)
        return [self._ticker(spec, now) for spec in specs]

    def ticker_price(self, query: dict[str, str], now: int):
        specs = self._specs(query)

        def one(spec: MarketSpec) -> dict:
            return {"symbol": spec.symbol, "price": spec.price(self._price(spec, now))}

        return one(specs) if isinstance(specs, MarketSpec) else [one(s) for s in specs]

    def book_ticker(self, query: dict[str, str], now: int):
        specs = self._specs(query)

        def one(spec: MarketSpec) -> dict:
            (bid, bid_qty), (ask, ask_qty) = self._top_of_book(spec, self._price(spec, now))
            return {
                "symbol": spec.symbol,
                "bidPrice": spec.price(bid),
                "bidQty": fmt(bid_qty),
                "askPrice": spec.price(ask),
                "askQty": fmt(ask_qty),
            }

        return one(specs) if isinstance(specs, MarketSpec) else [one(s) for s in specs]

    def depth(self, query: dict[str, str], now: int) -> dict:
        spec = self._spec(query)
        limit = limit_param(query, DEPTH_DEFAULT_LIMIT, DEPTH_MAX_LIMIT)
        book = synth_book(spec, self._price(spec, now), limit)
        with self._lock:
            self._update_id += 1
            update_id = self._update_id
        return {
            "lastUpdateId": update_id,
            "bids": [[fmt(p), fmt(q)] for p, q in book.bids],
            "asks": [[fmt(p), fmt(q)] for p, q in book.asks],
        }

    def avg_price(self, query: dict[str, str], now: int) -> dict:
        spec = self._spec(query)
        stats = self.feed.window(spec.pair, now - 5 * MINUTE_MS, now, now)
        price = sum(stats[:4]) / 4 if stats else self._price(spec, now)
        return {"mins": 5, "price": spec.price(price), "closeTime": now}
