"""Binance spot market definitions derived from a price level.

Pure functions: a pair and its price level in, an ``exchangeInfo`` symbol entry out.
Tick and step sizes are powers of ten chosen from the price magnitude, so prices keep
about five significant digits and one amount step is worth a tenth of the minimum
notional, as on the real exchange.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from profitguard.engine.amounts import step_decimals

# Minimum order value per quote currency, about 5 USDT each (Binance's NOTIONAL filter).
MIN_NOTIONAL_BY_QUOTE: dict[str, float] = {
    "USDT": 5.0,
    "USDC": 5.0,
    "FDUSD": 5.0,
    "TUSD": 5.0,
    "BUSD": 5.0,
    "DAI": 5.0,
    "USD": 5.0,
    "EUR": 5.0,
    "BTC": 0.0001,
    "ETH": 0.001,
    "BNB": 0.01,
}
# Used when a quote currency is neither in the table nor priced against USDT.
FALLBACK_MIN_NOTIONAL = 5.0
USD_QUOTE = "USDT"

PRICE_SIGNIFICANT_DIGITS = 5
DECIMALS = 8  # Binance formats every filter value with 8 decimals
SMALLEST_INCREMENT = 10.0**-DECIMALS
MAX_NOTIONAL = 9_000_000.0


def split_pair(pair: str) -> tuple[str, str]:
    """'ETH/BTC' -> ('ETH', 'BTC'). Spot pairs only: no settle currency."""
    base, sep, quote = pair.partition("/")
    if not sep or not base or not quote or ":" in quote or "/" in quote:
        raise ValueError(f"not a spot pair: {pair!r} (expected BASE/QUOTE)")
    return base, quote


def symbol_id(pair: str) -> str:
    """Binance's market id: 'BTC/USDT' -> 'BTCUSDT'."""
    base, quote = split_pair(pair)
    return base + quote


def power_of_ten_at_most(value: float) -> float:
    """The largest power of ten not above ``value`` (value > 0)."""
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"value must be positive and finite, was {value!r}")
    exponent = math.floor(math.log10(value))
    # log10 can land a hair below an exact power of ten (log10(1000) == 2.9999...)
    if 10.0 ** (exponent + 1) <= value:
        exponent += 1
    return 10.0**exponent


def tick_size(price_level: float) -> float:
    """Price increment giving about five significant digits, never below 1e-8."""
    magnitude = power_of_ten_at_most(price_level)
    return max(magnitude / 10.0 ** (PRICE_SIGNIFICANT_DIGITS - 1), SMALLEST_INCREMENT)


def step_size(price_level: float, min_notional: float) -> float:
    """Amount increment worth at most a tenth of the minimum notional, never below 1e-8."""
    return max(power_of_ten_at_most(min_notional / 10.0 / price_level), SMALLEST_INCREMENT)


def round_to_step(values, step: float):
    """Round a float or numpy array to the nearest multiple of ``step``, cleanly.

    Rounds to the step's decimals afterwards so 0.1-style steps do not leave
    binary noise like 1.2000000000000002 in stored data.
    """
    import numpy as np

    return np.round(np.round(np.asarray(values, dtype=float) / step) * step, step_decimals(step))


def fmt(value: float) -> str:
    """Binance's number format: fixed point with 8 decimals, as a string."""
    return f"{value:.{DECIMALS}f}"


@dataclass(frozen=True, kw_only=True)
class MarketSpec:
    """One spot market as the offline exchange serves it."""

    pair: str
    price_level: float
    tick_size: float
    step_size: float
    min_notional: float
    max_qty: float

    def assets(self) -> tuple[str, str]:
        """(base, quote) of ``pair`` (a futures market overrides how it is split)."""
        return split_pair(self.pair)

    @property
    def base(self) -> str:
        return self.assets()[0]

    @property
    def quote(self) -> str:
        return self.assets()[1]

    @property
    def symbol(self) -> str:
        """Binance's market id: base and quote run together ('BTCUSDT')."""
        return self.base + self.quote

    def price(self, value: float) -> str:
        """A price as the exchange shows it: on the tick grid, 8 decimals."""
        return fmt(float(round_to_step(value, self.tick_size)))


def min_notional_for_quote(quote: str, usd_price_of_quote: float | None = None) -> float:
    """About 5 USDT worth of ``quote``: from the table, else converted, else the fallback."""
    if quote in MIN_NOTIONAL_BY_QUOTE:
        return MIN_NOTIONAL_BY_QUOTE[quote]
    if usd_price_of_quote is not None and usd_price_of_quote > 0:
        return power_of_ten_at_most(MIN_NOTIONAL_BY_QUOTE[USD_QUOTE] / usd_price_of_quote)
    return FALLBACK_MIN_NOTIONAL


def market_spec(pair: str, price_level: float, min_notional: float) -> MarketSpec:
    """Filters for ``pair`` trading around ``price_level`` (in the quote currency)."""
    split_pair(pair)
    if not price_level > 0 or not math.isfinite(price_level):
        raise ValueError(f"price_level for {pair} must be positive, was {price_level!r}")
    if not min_notional > 0:
        raise ValueError(f"min_notional for {pair} must be positive, was {min_notional!r}")
    step = step_size(price_level, min_notional)
    max_qty = max(power_of_ten_at_most(MAX_NOTIONAL / price_level), step) * 9
    return MarketSpec(
        pair=pair,
        price_level=price_level,
        tick_size=tick_size(price_level),
        step_size=step,
        min_notional=min_notional,
        max_qty=max_qty,
    )


def max_price(spec: MarketSpec) -> float:
    """PRICE_FILTER's maxPrice: four orders of magnitude above the price level."""
    return max(power_of_ten_at_most(spec.price_level) * 10_000, 1.0)


def price_and_lot_filters(spec: MarketSpec) -> list[dict]:
    """PRICE_FILTER and LOT_SIZE of ``exchangeInfo``, spot and futures alike."""
    tick, step = spec.tick_size, spec.step_size
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": fmt(tick),
            "maxPrice": fmt(max_price(spec)),
            "tickSize": fmt(tick),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": fmt(step),
            "maxQty": fmt(spec.max_qty),
            "stepSize": fmt(step),
        },
    ]


def exchange_info_symbol(spec: MarketSpec) -> dict:
    """The ``symbols[]`` entry of ``GET /api/v3/exchangeInfo`` for one market."""
    return {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": DECIMALS,
        "quoteAsset": spec.quote,
        "quotePrecision": DECIMALS,
        "quoteAssetPrecision": DECIMALS,
        "baseCommissionPrecision": DECIMALS,
        "quoteCommissionPrecision": DECIMALS,
        "orderTypes": [
            "LIMIT",
            "LIMIT_MAKER",
            "MARKET",
            "STOP_LOSS",
            "STOP_LOSS_LIMIT",
            "TAKE_PROFIT",
            "TAKE_PROFIT_LIMIT",
        ],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            *price_and_lot_filters(spec),
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt(0.0),
                "maxQty": fmt(spec.max_qty / 10),
                "stepSize": fmt(0.0),
            },
            {
                "filterType": "TRAILING_DELTA",
                "minTrailingAboveDelta": 10,
                "maxTrailingAboveDelta": 2000,
                "minTrailingBelowDelta": 10,
                "maxTrailingBelowDelta": 2000,
            },
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": "5",
                "bidMultiplierDown": "0.2",
                "askMultiplierUp": "5",
                "askMultiplierDown": "0.2",
                "avgPriceMins": 5,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(spec.min_notional),
                "applyMinToMarket": True,
                "maxNotional": fmt(MAX_NOTIONAL),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": [
            "EXPIRE_TAKER",
            "EXPIRE_MAKER",
            "EXPIRE_BOTH",
        ],
    }


RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


def exchange_info(specs: list[MarketSpec], server_time_ms: int) -> dict:
    """The whole ``GET /api/v3/exchangeInfo`` answer."""
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [exchange_info_symbol(spec) for spec in specs],
    }
