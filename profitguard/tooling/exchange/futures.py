"""Binance USDⓈ-M futures (``/fapi/...``) as the offline exchange answers them.

What ccxt and Freqtrade use for ``trading_mode: futures``: perpetual markets
(``exchangeInfo``: contract size 1, filters, maintenance margin), klines of the
futures (last) price, mark-price klines, the funding-rate history, the premium
index (mark price, last funding rate, next funding time), tickers, the book and
the leverage brackets. Markets are ``BASE/QUOTE:QUOTE`` pairs, linear (settled in
the quote currency), with the same filters a spot market at that price would have.

Data: the data directory's ``futures/`` files as Freqtrade writes them (``-futures``,
``-mark``, ``-funding_rate``). A pair without mark candles is marked at its futures
price; one without funding rates pays ``DEFAULT_FUNDING_RATE`` every 8 hours. In
live replay the mark price is the replayed price and funding is charged every 8
hours of the wall clock at the pair's last stored rate (or the default).

Leverage brackets are Freqtrade's own cached Binance tiers (the figures Freqtrade
uses in backtesting and dry-run), else ``DEFAULT_TIERS``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

import numpy as np

from profitguard.tooling.exchange.api import BinanceSpotApi
from profitguard.tooling.exchange.feeds import Feed, HistoryFeed
from profitguard.tooling.exchange.markets import (
    MarketSpec,
    fmt,
    market_spec,
    min_notional_for_quote,
    price_and_lot_filters,
    split_pair,
)
from profitguard.tooling.exchange.ohlcv import INTERVALS_MS, Candles
from profitguard.tooling.exchange.params import integer_param, limit_param

logger = logging.getLogger(__name__)

FAPI_PREFIX = "/fapi/"
FUNDING_INTERVAL_MS = 8 * 3600 * 1000
DEFAULT_FUNDING_RATE = 0.0001  # Binance's rate when the premium is zero: 0.01% per 8h
FUNDING_DEFAULT_LIMIT = 100
FUNDING_MAX_LIMIT = 1000
PERPETUAL_DELIVERY_MS = 4133404800000  # Binance's delivery date of a perpetual
ONBOARD_MS = 1569398400000
# (notional floor, notional cap, maintenance margin rate, max leverage) per bracket;
# the maintenance amount (cum) follows from them (`with_cum`).
DEFAULT_TIERS: tuple[tuple[float, float, float, int], ...] = (
    (0, 50_000, 0.01, 50),
    (50_000, 250_000, 0.02, 25),
    (250_000, 1_000_000, 0.05, 10),
    (1_000_000, 5_000_000, 0.10, 5),
    (5_000_000, 20_000_000, 0.125, 4),
    (20_000_000, 50_000_000, 0.25, 2),
    (50_000_000, 100_000_000, 0.5, 1),
)


def split_futures_pair(pair: str) -> tuple[str, str, str]:
    """'BTC/USDT:USDT' -> ('BTC', 'USDT', 'USDT'); linear perpetuals only."""
    spot, sep, settle = pair.partition(":")
    if not sep or "-" in settle:
        raise ValueError(f"not a perpetual futures pair: {pair!r} (expected BASE/QUOTE:QUOTE)")
    base, quote = split_pair(spot)
    if settle != quote:
        raise ValueError(f"not a linear (USDⓈ-M) pair: {pair!r}: settle must be {quote!r}")
    return base, quote, settle


def futures_pair(pair: str) -> str:
    """'BTC/USDT' or 'BTC/USDT:USDT' -> 'BTC/USDT:USDT' (ValueError otherwise)."""
    if ":" in pair:
        split_futures_pair(pair)
        return pair
    _, quote = split_pair(pair)
    return f"{pair}:{quote}"


def is_futures_pair(pair: str) -> bool:
    return ":" in pair


@dataclass(frozen=True, kw_only=True)
class Bracket:
    """One leverage bracket, as Binance's ``leverageBracket`` lists it."""

    bracket: int
    initial_leverage: int
    notional_floor: float
    notional_cap: float
    maint_margin_ratio: float
    cum: float

    def as_json(self) -> dict:
        return {
            "bracket": self.bracket,
            "initialLeverage": self.initial_leverage,
            "notionalCap": self.notional_cap,
            "notionalFloor": self.notional_floor,
            "maintMarginRatio": self.maint_margin_ratio,
            "cum": self.cum,
        }


def with_cum(tiers: Iterable[tuple[float, float, float, int]]) -> tuple[Bracket, ...]:
    """Brackets from (floor, cap, rate, leverage): cum_n = cum_(n-1) + floor_n * (rate_n -
    rate_(n-1)), which keeps the maintenance margin continuous across brackets."""
    out: list[Bracket] = []
    cum, previous_rate = 0.0, 0.0
    for i, (floor, cap, rate, leverage) in enumerate(tiers, start=1):
        cum += floor * (rate - previous_rate)
        previous_rate = rate
        out.append(Bracket(
            bracket=i, initial_leverage=leverage, notional_floor=floor, notional_cap=cap,
            maint_margin_ratio=rate, cum=round(cum, 8),
        ))  # fmt: skip
    return tuple(out)


@cache
def freqtrade_tiers() -> dict[str, tuple[Bracket, ...]]:
    """Freqtrade's cached Binance leverage tiers, read without importing Freqtrade
    ({} when Freqtrade or the file is not there)."""
    spec = importlib.util.find_spec("freqtrade")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "exchange"
    path = path / "binance_leverage_tiers.json"
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        logger.warning("Freqtrade's leverage tiers could not be read from %s", path)
        return {}
    out = {}
    for pair, tiers in raw.items():
        out[pair] = tuple(
            Bracket(
                bracket=int(t["info"]["bracket"]),
                initial_leverage=int(t["info"]["initialLeverage"]),
                notional_floor=float(t["info"]["notionalFloor"]),
                notional_cap=float(t["info"]["notionalCap"]),
                maint_margin_ratio=float(t["info"]["maintMarginRatio"]),
                cum=float(t["info"]["cum"]),
            )
            for t in tiers
        )
    return out


def brackets_for(pair: str) -> tuple[Bracket, ...]:
    return freqtrade_tiers().get(pair) or with_cum(DEFAULT_TIERS)


@dataclass(frozen=True, kw_only=True)
class FuturesSpec(MarketSpec):
    """A linear perpetual: ``pair`` is 'BTC/USDT:USDT', filters as spot at that price."""

    brackets: tuple[Bracket, ...] = ()

    def assets(self) -> tuple[str, str]:
        return split_futures_pair(self.pair)[:2]


def futures_spec(pair: str, price_level: float) -> FuturesSpec:
    """Filters for the perpetual ``pair`` trading around ``price_level``."""
    base, quote, _ = split_futures_pair(pair)
    spot = market_spec(f"{base}/{quote}", price_level, min_notional_for_quote(quote))
    filters = {f.name: getattr(spot, f.name) for f in fields(spot)}
    return FuturesSpec(**{**filters, "pair": pair}, brackets=brackets_for(pair))


def _decimals(step: float) -> int:
    return max(0, -round(math.log10(step)))


def exchange_info_symbol(spec: FuturesSpec) -> dict:
    """The ``symbols[]`` entry of ``GET /fapi/v1/exchangeInfo`` for one perpetual."""
    tick, step = spec.tick_size, spec.step_size
    first = spec.brackets[0] if spec.brackets else with_cum(DEFAULT_TIERS)[0]
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS,
        "onboardDate": ONBOARD_MS,
        "status": "TRADING",
        "maintMarginPercent": f"{first.maint_margin_ratio * 100:.4f}",
        "requiredMarginPercent": f"{100 / first.initial_leverage:.4f}",
        "baseAsset": spec.base,
        "quoteAsset": spec.quote,
        "marginAsset": spec.quote,
        "pricePrecision": _decimals(tick),
        "quantityPrecision": _decimals(step),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            *price_and_lot_filters(spec),
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt(step),
                "maxQty": fmt(spec.max_qty / 10),
                "stepSize": fmt(step),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": fmt(spec.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def exchange_info(specs: list[FuturesSpec], server_time_ms: int) -> dict:
    """The whole ``GET /fapi/v1/exchangeInfo`` answer."""
    quotes = sorted({s.quote for s in specs})
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
            },
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [
            {"asset": q, "marginAvailable": True, "autoAssetExchange": "-10000"} for q in quotes
        ],
        "symbols": [exchange_info_symbol(spec) for spec in specs],
    }


def funding_times(start_ms: int, end_ms: int) -> np.ndarray:
    """Funding moments (every 8h from 00:00 UTC) in [start_ms, end_ms]."""
    first = -(-start_ms // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
    if first > end_ms:
        return np.empty(0, dtype=np.int64)
    return np.arange(first, end_ms + 1, FUNDING_INTERVAL_MS, dtype=np.int64)


class FundingSource:
    """The funding-rate history of one pair: stored rates, or a rate every 8 hours."""

    def __init__(self, stored: Candles | None, *, live: bool) -> None:
        self.stored = stored if stored is not None and len(stored) else None
        self.live = live  # replay: funding moments follow the wall clock

    @property
    def last_rate(self) -> float:
        return float(self.stored.open[-1]) if self.stored is not None else DEFAULT_FUNDING_RATE

    def history(self, now_ms: int, span: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
        """(funding times, rates) up to ``now_ms``; ``span``: the data's (first, last) time
        for a pair without stored rates in history mode."""
        if self.stored is not None and not self.live:
            return self.stored.ts, self.stored.open
        if self.live:
            times = funding_times(now_ms - 200 * FUNDING_INTERVAL_MS, now_ms)
        elif span is not None:
            times = funding_times(*span)
        else:
            times = np.empty(0, dtype=np.int64)
        return times, np.full(len(times), self.last_rate)


def build_futures_markets(pairs: Iterable[str], feed: Feed) -> dict[str, FuturesSpec]:
    """A perpetual per pair, its filters derived from the feed's price for it."""
    from profitguard.tooling.exchange.api import PLACEHOLDER_PRICE

    markets: dict[str, FuturesSpec] = {}
    for pair in sorted(set(pairs)):
        try:
            split_futures_pair(pair)
        except ValueError as exc:
            logger.warning("not serving %r on /fapi: %s", pair, exc)
            continue
        price = feed.reference_price(pair)
        if price is None or not price > 0:
            logger.warning(
                "no futures data for %s: its market is served with placeholder filters", pair
            )
            price = PLACEHOLDER_PRICE
        markets[pair] = futures_spec(pair, price)
    return markets


class BinanceFuturesApi(BinanceSpotApi):
    """``/fapi/v1`` (and ``/fapi/v2``) public endpoints over a futures feed.

    ``mark_feed`` serves mark-price klines (default: the futures feed itself);
    ``funding`` maps a pair to its ``FundingSource``.
    """

    def __init__(
        self,
        markets: dict[str, FuturesSpec],
        feed: Feed,
        *,
        mark_feed: Feed | None = None,
        funding: dict[str, FundingSource] | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(markets, feed, clock=clock)  # type: ignore[arg-type]
        self.mark_feed = mark_feed or feed
        self.funding = funding or {}
        self.routes.pop("avgPrice")
        self.routes.pop("uiKlines")
        self.routes.update(
            {
                "exchangeInfo": self.futures_exchange_info,
                "markPriceKlines": self.mark_price_klines,
                "indexPriceKlines": self.mark_price_klines,
                "fundingRate": self.funding_rate,
                "fundingInfo": self.funding_info,
                "premiumIndex": self.premium_index,
                "leverageBracket": self.leverage_bracket,
            }
        )

    def _route(self, path: str):
        for prefix in ("/fapi/v1/", "/fapi/v2/"):
            if path.startswith(prefix):
                return self.routes.get(path[len(prefix) :])
        return None

    def futures_exchange_info(self, query: dict[str, str], now: int) -> dict:
        return exchange_info([self.markets[p] for p in sorted(self.markets)], now)  # type: ignore[misc]

    def mark_price_klines(self, query: dict[str, str], now: int) -> list:
        """Klines of the mark price (the futures price where no mark candles are stored)."""
        feed, self.feed = self.feed, self.mark_feed
        try:
            return self.klines(query, now)
        finally:
            self.feed = feed

    def _mark(self, spec: MarketSpec, now: int) -> float:
        price = self.mark_feed.last_price(spec.pair, now)
        return price if price is not None and price > 0 else self._price(spec, now)

    def _funding(self, spec: MarketSpec, now: int) -> tuple[np.ndarray, np.ndarray]:
        source = self.funding.get(spec.pair) or FundingSource(None, live=self.feed.mode == "replay")
        span = None
        candles = self.feed.klines(
            spec.pair, INTERVALS_MS["1h"], now_ms=now, start_ms=0, end_ms=None, limit=1
        )
        if len(candles):
            last = self.feed.klines(
                spec.pair, INTERVALS_MS["1h"], now_ms=now, start_ms=None, end_ms=None, limit=1
            )
            span = (int(candles.ts[0]), int(last.ts[-1]))
        times, rates = source.history(now, span)
        keep = times <= now
        return times[keep], rates[keep]

    def funding_rate(self, query: dict[str, str], now: int) -> list:
        """``GET /fapi/v1/fundingRate``: oldest first; without ``startTime`` the latest."""
        spec = self._spec(query)
        limit = limit_param(query, FUNDING_DEFAULT_LIMIT, FUNDING_MAX_LIMIT)
        start, end = integer_param(query, "startTime"), integer_param(query, "endTime")
        times, rates = self._funding(spec, now)
        keep = np.ones(len(times), dtype=bool)
        if start is not None:
            keep &= times >= start
        if end is not None:
            keep &= times <= end
        times, rates = times[keep], rates[keep]
        sl = slice(0, limit) if start is not None else slice(max(0, len(times) - limit), None)
        mark = spec.price(self._mark(spec, now))
        return [
            {
                "symbol": spec.symbol,
                "fundingTime": int(t),
                "fundingRate": fmt(float(r)),
                "markPrice": mark,
            }
            for t, r in zip(times[sl], rates[sl], strict=True)
        ]

    def funding_info(self, query: dict[str, str], now: int) -> list:
        return [
            {
                "symbol": spec.symbol,
                "adjustedFundingRateCap": "0.02000000",
                "adjustedFundingRateFloor": "-0.02000000",
                "fundingIntervalHours": 8,
                "disclaimer": False,
            }
            for spec in (self.markets[p] for p in sorted(self.markets))
        ]

    def _premium(self, spec: MarketSpec, now: int) -> dict:
        _, rates = self._funding(spec, now)
        mark = self._mark(spec, now)
        return {
            "symbol": spec.symbol,
            "markPrice": spec.price(mark),
            "indexPrice": spec.price(mark),
            "estimatedSettlePrice": spec.price(mark),
            "lastFundingRate": fmt(float(rates[-1]) if len(rates) else DEFAULT_FUNDING_RATE),
            "interestRate": fmt(DEFAULT_FUNDING_RATE),
            "nextFundingTime": int(funding_times(now + 1, now + FUNDING_INTERVAL_MS)[0]),
            "time": now,
        }

    def premium_index(self, query: dict[str, str], now: int):
        specs = self._specs(query)
        if isinstance(specs, MarketSpec):
            return self._premium(specs, now)
        return [self._premium(spec, now) for spec in specs]

    def leverage_bracket(self, query: dict[str, str], now: int) -> list:
        if "symbol" in query:
            chosen = [self._spec(query)]
        else:
            chosen = [self.markets[p] for p in sorted(self.markets)]
        return [
            {"symbol": s.symbol, "brackets": [b.as_json() for b in s.brackets]}  # type: ignore[attr-defined]
            for s in chosen
        ]


def build_futures_api(
    *,
    datadir: Path | None,
    pairs: Iterable[str] = (),
    replay_feed: Feed | None = None,
    clock: Callable[[], int] | None = None,
) -> BinanceFuturesApi | None:
    """The futures API for ``pairs`` and every pair with futures data in ``datadir``, or
    None when there is none. ``replay_feed``: live replay of the futures prices."""
    from profitguard.tooling.exchange.candle_files import CandleStore

    stores = {
        ctype: (CandleStore(Path(datadir), ctype) if datadir is not None else CandleStore.empty())
        for ctype in ("futures", "mark", "funding_rate")
    }
    feed = replay_feed or HistoryFeed(stores["futures"])
    wanted = {p for p in pairs if is_futures_pair(p)} | set(feed.pairs())
    if not wanted:
        return None
    live = replay_feed is not None
    mark_feed = feed if live else _MarkFeed(HistoryFeed(stores["mark"]), feed)
    funding = {}
    for pair in wanted:
        stored = stores["funding_rate"].finest(pair)
        funding[pair] = FundingSource(stored if len(stored) else None, live=live)
    markets = build_futures_markets(wanted, feed)
    return BinanceFuturesApi(markets, feed, mark_feed=mark_feed, funding=funding, clock=clock)


class _MarkFeed:
    """Mark candles where stored, else the futures feed's (mark = last)."""

    def __init__(self, mark: HistoryFeed, futures: Feed) -> None:
        self.mark, self.futures = mark, futures
        self.mode = futures.mode

    def _feed(self, pair: str) -> Feed:
        return self.mark if pair in self.mark.pairs() else self.futures

    def pairs(self) -> list[str]:
        return self.futures.pairs()

    def klines(self, pair, interval_ms, *, now_ms, start_ms, end_ms, limit) -> Candles:
        return self._feed(pair).klines(
            pair, interval_ms, now_ms=now_ms, start_ms=start_ms, end_ms=end_ms, limit=limit
        )

    def last_price(self, pair: str, now_ms: int) -> float | None:
        return self._feed(pair).last_price(pair, now_ms)

    def window(self, pair, start_ms, end_ms, now_ms):
        return self._feed(pair).window(pair, start_ms, end_ms, now_ms)

    def reference_price(self, pair: str) -> float | None:
        return self._feed(pair).reference_price(pair)
