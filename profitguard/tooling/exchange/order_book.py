"""A plausible, deterministic order book around a price (pure)."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

from profitguard.engine.amounts import step_decimals
from profitguard.tooling.exchange.markets import MarketSpec

# Half the bid-ask spread as a ratio of the price (at least one tick).
HALF_SPREAD = 0.00005
# Price distance between book levels as a ratio of the price (at least one tick).
LEVEL_SPACING = 0.0001
# Quote-currency value of the first level, in multiples of the minimum notional.
LEVEL_NOTIONAL_MULTIPLE = 200.0


@dataclass(frozen=True)
class Book:
    bids: list[tuple[float, float]]  # best (highest) first
    asks: list[tuple[float, float]]  # best (lowest) first


def _quantity_factor(seed: int, level: int) -> float:
    """Deterministic pseudo-random factor in [0.6, 1.4) for a level."""
    h = (seed * 2654435761 + level * 40503 + 12345) % 2**32
    return 0.6 + 0.8 * ((h >> 8) % 1000) / 1000.0


def synth_book(spec: MarketSpec, price: float, depth: int) -> Book:
    """``depth`` levels each side of ``price``: best bid below, best ask above, quantities
    rounded to the step and growing away from the touch, so deep market orders slip."""
    if not price > 0:
        raise ValueError(f"price must be positive, was {price!r}")
    if depth < 1:
        raise ValueError(f"depth must be >= 1, was {depth!r}")
    tick = spec.tick_size
    half_spread_ticks = max(1, round(price * HALF_SPREAD / tick))
    spacing_ticks = max(1, round(price * LEVEL_SPACING / tick))
    price_ticks = price / tick
    best_bid_ticks = math.floor(price_ticks + 1e-9) - (half_spread_ticks - 1)
    best_ask_ticks = math.ceil(price_ticks - 1e-9) + (half_spread_ticks - 1)
    if best_ask_ticks <= best_bid_ticks:
        best_ask_ticks = best_bid_ticks + 1
    seed = zlib.crc32(spec.pair.encode())
    base_qty = LEVEL_NOTIONAL_MULTIPLE * spec.min_notional / price
    decimals = step_decimals(tick)

    def qty(level: int, side: int) -> float:
        raw = base_qty * (1 + 0.15 * level) * _quantity_factor(seed + side, level)
        steps = max(1, round(raw / spec.step_size))
        return round(steps * spec.step_size, 8)

    bids = []
    asks = []
    for level in range(depth):
        bid_ticks = best_bid_ticks - level * spacing_ticks
        if bid_ticks > 0:
            bids.append((round(bid_ticks * tick, decimals), qty(level, 0)))
        asks.append(
            (round((best_ask_ticks + level * spacing_ticks) * tick, decimals), qty(level, 1))
        )
    return Book(bids=bids, asks=asks)
