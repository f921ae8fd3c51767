"""Seeded synthetic OHLCV in Freqtrade's format: trends, ranges, volatility clusters, gaps.

The model, per minute, in log price:
- a market factor shared by all pairs, switching between trending regimes (a drift
  up or down, 1-2 days on average) and ranges (mean reversion to the level where the
  range began, half-life 6 hours);
- per pair, the factor times a beta plus a slowly mean-reverting idiosyncratic part;
- stochastic volatility (an AR(1) log-volatility, half-life ~8 hours): calm and wild
  stretches;
- gaps: jumps of 1-15% (median 2.5%) at a 5-minute candle's open, about every two
  days per pair plus market-wide ones, so several take-profit levels can be passed in
  one move;
- rare outages: a few minutes without candles, as real exchanges have.

Cross pairs (e.g. ETH/BTC) are the ratio of their USDT legs when both are generated.
1m candles are generated, 5m (and any coarser timeframe) are aggregated from them, so
``--timeframe-detail 1m`` sees the same market. Same seed and arguments, same bytes.

Futures (``trading_mode="futures"``): the same prices as the spot pair, written where
Freqtrade's backtester looks for USDⓈ-M futures data (``futures/BTC_USDT_USDT-5m-futures``),
with hourly mark candles (``-1h-mark``: the futures price) and a funding rate every
8 hours (``-1h-funding_rate``, named by Freqtrade's funding timeframe for Binance):
0.01% plus a seeded premium that leans with the last 8 hours' move.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from profitguard.tooling.exchange.markets import (
    min_notional_for_quote,
    round_to_step,
    split_pair,
    step_size,
    tick_size,
)
from profitguard.tooling.exchange.ohlcv import MINUTE_MS, Candles, resample, timeframe_ms

DEFAULT_PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "ETH/BTC")
DEFAULT_FUTURES_PAIRS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")
DEFAULT_TIMEFRAMES = ("5m", "1m")
DEFAULT_DAYS = 60
DEFAULT_END = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_SEED = 42
MINUTES_PER_DAY = 1440

MARKET_VOL = 0.0007  # per-minute log-return std of the market factor
TREND_DRIFT = 0.000025  # typical per-minute drift in a trend (about 3.6% a day)
LEVEL_PULL = 8.0  # how strongly trends lean back towards the starting level
MEAN_TREND_MINUTES = 2 * MINUTES_PER_DAY
MEAN_RANGE_MINUTES = 1.5 * MINUTES_PER_DAY
RANGE_HALF_LIFE = 360  # minutes
IDIO_HALF_LIFE = 3 * MINUTES_PER_DAY
VOL_HALF_LIFE = 500  # minutes
VOL_OF_VOL = 0.5  # stationary std of log volatility
PAIR_GAPS_PER_DAY = 0.3
MARKET_GAPS_PER_DAY = 0.1
GAP_MEDIAN = 0.025
OUTAGES_PER_30_DAYS = 2
TRADING_MODES = ("spot", "futures")
MARK_TIMEFRAME = "1h"  # Freqtrade's mark_ohlcv_timeframe and funding_fee_timeframe (Binance)
FUNDING_TIMEFRAME = "1h"
FUNDING_INTERVAL_MS = 8 * 60 * MINUTE_MS
BASE_FUNDING_RATE = 0.0001


@dataclass(frozen=True, kw_only=True)
class PairModel:
    start_price: float
    beta: float  # exposure to the market factor
    idio_vol: float  # per-minute std of the pair's own moves
    volume: float  # typical base-asset volume per minute


MODELS: dict[str, PairModel] = {
    "BTC/USDT": PairModel(start_price=60000.0, beta=1.0, idio_vol=0.0003, volume=8.0),
    "ETH/USDT": PairModel(start_price=3000.0, beta=1.2, idio_vol=0.0005, volume=150.0),
    "SOL/USDT": PairModel(start_price=150.0, beta=1.5, idio_vol=0.0008, volume=2500.0),
    "BNB/USDT": PairModel(start_price=600.0, beta=0.9, idio_vol=0.0005, volume=400.0),
    "XRP/USDT": PairModel(start_price=0.6, beta=1.3, idio_vol=0.0009, volume=500000.0),
}


def model_for(pair: str) -> PairModel:
    """The pair's model; unknown pairs get a deterministic price level from their name."""
    if pair in MODELS:
        return MODELS[pair]
    h = zlib.crc32(pair.encode())
    price = 10.0 ** (h % 5 - 1) * (1 + (h >> 8) % 9)
    return PairModel(start_price=price, beta=1.1, idio_vol=0.0007, volume=3000.0 / price)


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _ar1(innovations: np.ndarray, phi: float, x0: float) -> np.ndarray:
    """x[t] = phi * x[t-1] + innovations[t], starting from x[-1] = x0."""
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -phi], innovations, zi=[phi * x0])[0]


def volatility(rng: np.random.Generator, n: int, base: float) -> np.ndarray:
    """Per-minute volatility with clusters: base * exp(AR(1) log-vol), mean ~ base."""
    phi = 0.5 ** (1 / VOL_HALF_LIFE)
    eta = rng.normal(0.0, VOL_OF_VOL * math.sqrt(1 - phi**2), n)
    h = _ar1(eta, phi, rng.normal(0.0, VOL_OF_VOL))
    return base * np.exp(h - VOL_OF_VOL**2 / 2)


def _trend_direction(rng: np.random.Generator, level: float) -> float:
    """+1 or -1; the further the level has drifted from the start, the likelier back."""
    p_up = 1.0 / (1.0 + math.exp(LEVEL_PULL * level))
    return 1.0 if rng.random() < p_up else -1.0


def market_path(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list]:
    """Cumulative log level of the market factor, one value per minute, and its regimes
    as (start, end, drift) segments; drift 0.0 marks a range."""
    sigma = volatility(rng, n, MARKET_VOL)
    shocks = sigma * rng.standard_normal(n)
    phi = 0.5 ** (1 / RANGE_HALF_LIFE)
    path = np.empty(n)
    segments = []
    level, start = 0.0, 0
    trending = rng.random() < 0.6
    while start < n:
        mean = MEAN_TREND_MINUTES if trending else MEAN_RANGE_MINUTES
        end = min(n, start + max(60, int(rng.exponential(mean))))
        drift = 0.0
        if trending:
            drift = _trend_direction(rng, level) * TREND_DRIFT * rng.uniform(0.5, 1.6)
        seg = shocks[start:end]
        if trending:
            path[start:end] = level + np.cumsum(seg + drift)
        else:
            path[start:end] = level + _ar1(seg, phi, 0.0)
        segments.append((start, end, drift))
        level, start = path[end - 1], end
        trending = not trending or rng.random() < 0.3
    return path, segments


def jumps(rng: np.random.Generator, n: int, per_day: float) -> np.ndarray:
    """Log jumps at 5-minute boundaries (zero elsewhere)."""
    out = np.zeros(n)
    slots = np.arange(0, n, 5)
    hit = rng.random(len(slots)) < per_day / (MINUTES_PER_DAY / 5)
    size = np.minimum(np.exp(rng.normal(math.log(GAP_MEDIAN), 0.5, hit.sum())), 0.15)
    sign = np.where(rng.random(hit.sum()) < 0.5, -1.0, 1.0)
    out[slots[hit]] = np.log1p(sign * size)
    return out


def minute_candles(
    rng: np.random.Generator,
    start_ms: int,
    log_close: np.ndarray,
    gap: np.ndarray,
    sigma: np.ndarray,
    start_price: float,
    volume: float,
) -> Candles:
    """1m candles around a log-close path; ``gap`` is the part of each move made at the open."""
    n = len(log_close)
    log_open = np.concatenate(([0.0], log_close[:-1])) + gap
    close = start_price * np.exp(log_close)
    open_ = start_price * np.exp(log_open)
    wick = 0.6 * sigma
    high = np.maximum(open_, close) * np.exp(np.abs(rng.standard_normal(n)) * wick)
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.standard_normal(n)) * wick)
    activity = (sigma / np.median(sigma)) ** 1.5 * (1 + 20 * np.abs(gap))
    vol = volume * activity * rng.lognormal(0.0, 0.4, n)
    ts = start_ms + np.arange(n, dtype=np.int64) * MINUTE_MS
    return Candles(ts, open_, high, low, close, vol)


def round_candles(candles: Candles, price_level: float, quote: str) -> Candles:
    """Prices to the market's tick, volume to its amount step (as the server will derive)."""
    tick = tick_size(price_level)
    step = step_size(price_level, min_notional_for_quote(quote, None))
    o, h, lo, c = (round_to_step(col, tick) for col in candles.columns()[1:5])
    lo = np.maximum(lo, tick)
    return Candles(candles.ts, o, h, lo, c, round_to_step(candles.volume, step))


def drop_outages(rng: np.random.Generator, candles: Candles, days: float) -> Candles:
    """Remove a few short stretches of candles (1-20 minutes), as exchange outages do."""
    n = len(candles)
    keep = np.ones(n, dtype=bool)
    for _ in range(rng.poisson(OUTAGES_PER_30_DAYS * days / 30)):
        start = int(rng.integers(0, max(1, n - 30)))
        keep[start : start + int(rng.integers(1, 21))] = False
    idx = np.flatnonzero(keep)
    return Candles(*(col[idx] for col in candles.columns()))


def generate_minutes(
    pairs: list[str] | tuple[str, ...], *, seed: int, start_ms: int, minutes: int
) -> dict[str, Candles]:
    """1m candles for every pair (cross pairs from their USDT legs when present)."""
    market_rng = _rng(seed, "market")
    market, _ = market_path(market_rng, minutes)
    market_gaps = jumps(market_rng, minutes, MARKET_GAPS_PER_DAY)
    days = minutes / MINUTES_PER_DAY
    legs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    out: dict[str, Candles] = {}

    def leg(name: str, model: PairModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(log close, gap at open, volatility) of one price series, cached by name."""
        if name not in legs:
            rng = _rng(seed, name)
            sigma_idio = volatility(rng, minutes, model.idio_vol)
            idio = _ar1(sigma_idio * rng.standard_normal(minutes), 0.5 ** (1 / IDIO_HALF_LIFE), 0)
            gap = model.beta * market_gaps + jumps(rng, minutes, PAIR_GAPS_PER_DAY)
            log_close = model.beta * market + idio + np.cumsum(gap)
            sigma = np.hypot(model.beta * MARKET_VOL, sigma_idio)
            legs[name] = (log_close, gap, sigma)
        return legs[name]

    for pair in pairs:
        base, quote = split_pair(pair)
        base_usd, quote_usd = f"{base}/USDT", f"{quote}/USDT"
        if quote != "USDT" and base_usd in pairs and quote_usd in pairs:
            b, q = leg(base_usd, model_for(base_usd)), leg(quote_usd, model_for(quote_usd))
            log_close, gap, sigma = b[0] - q[0], b[1] - q[1], np.hypot(b[2], q[2]) * 0.7
            price = model_for(base_usd).start_price / model_for(quote_usd).start_price
            volume = model_for(base_usd).volume / 4
        else:
            model = model_for(pair)
            log_close, gap, sigma = leg(pair, model)
            price, volume = model.start_price, model.volume
        rng = _rng(seed, f"{pair} candles")
        candles = minute_candles(rng, start_ms, log_close, gap, sigma, price, volume)
        out[pair] = round_candles(drop_outages(rng, candles, days), price, quote)
    return out


def generate(
    datadir: Path,
    *,
    pairs: list[str] | tuple[str, ...] = DEFAULT_PAIRS,
    timeframes: list[str] | tuple[str, ...] = DEFAULT_TIMEFRAMES,
    days: float = DEFAULT_DAYS,
    end: datetime = DEFAULT_END,
    seed: int = DEFAULT_SEED,
    data_format: str = "feather",
    trading_mode: str = "spot",
) -> list[Path]:
    """Write ``pairs`` x ``timeframes`` OHLCV ending at ``end`` into ``datadir``.

    Timeframes must be whole multiples of a minute. ``trading_mode="futures"``: the
    perpetuals of ``pairs`` (``BTC/USDT`` or ``BTC/USDT:USDT``), with mark and funding
    files. Returns the files written.
    """
    if trading_mode not in TRADING_MODES:
        raise ValueError(f"'trading_mode' must be spot or futures, was {trading_mode!r}")
    if trading_mode == "futures":
        return _generate_futures(
            datadir, pairs=pairs, timeframes=timeframes, days=days, end=end, seed=seed,
            data_format=data_format,
        )  # fmt: skip
    minutes = round(days * MINUTES_PER_DAY) if math.isfinite(days) else 0
    if minutes < 1:
        raise ValueError(f"'days' must be at least one minute (1/1440), was {days!r}")
    tf_ms = {tf: timeframe_ms(tf) for tf in timeframes}
    bad = [tf for tf, ms in tf_ms.items() if ms % MINUTE_MS]
    if bad:
        raise ValueError(f"timeframes must be whole minutes, got {bad}")
    end_ms = int(end.timestamp() * 1000) // MINUTE_MS * MINUTE_MS
    minute_data = generate_minutes(
        list(pairs), seed=seed, start_ms=end_ms - minutes * MINUTE_MS, minutes=minutes
    )
    return [
        write_candles(
            datadir, pair, tf, candles if ms == MINUTE_MS else resample(candles, ms), data_format
        )
        for pair, candles in minute_data.items()
        for tf, ms in tf_ms.items()
    ]


def _generate_futures(
    datadir: Path, *, pairs, timeframes, days, end, seed, data_format
) -> list[Path]:
    from profitguard.tooling.exchange.futures import futures_pair

    perpetuals = {futures_pair(p): p.split(":", 1)[0] for p in pairs}
    files: list[Path] = []
    minutes = round(days * MINUTES_PER_DAY) if math.isfinite(days) else 0
    if minutes < 1:
        raise ValueError(f"'days' must be at least one minute (1/1440), was {days!r}")
    end_ms = int(end.timestamp() * 1000) // MINUTE_MS * MINUTE_MS
    minute_data = generate_minutes(
        list(perpetuals.values()), seed=seed, start_ms=end_ms - minutes * MINUTE_MS,
        minutes=minutes,
    )  # fmt: skip
    for pair, spot in perpetuals.items():
        candles = minute_data[spot]
        for tf in timeframes:
            ms = timeframe_ms(tf)
            if ms % MINUTE_MS:
                raise ValueError(f"timeframes must be whole minutes, got {[tf]}")
            data = candles if ms == MINUTE_MS else resample(candles, ms)
            files.append(write_candles(datadir, pair, tf, data, data_format, "futures"))
        mark = resample(candles, timeframe_ms(MARK_TIMEFRAME))
        files.append(write_candles(datadir, pair, MARK_TIMEFRAME, mark, data_format, "mark"))
        times, rates = funding_rates(_rng(seed, f"{pair} funding"), candles)
        files.append(write_funding_rates(datadir, pair, times, rates, data_format))
    return files


def funding_rates(rng: np.random.Generator, candles: Candles) -> tuple[np.ndarray, np.ndarray]:
    """A rate at every 8h funding moment the candles cover: 0.01% plus a premium that
    leans with the last 8 hours' move (longs pay more after a rise), rounded to 1e-8."""
    if not len(candles):
        return np.empty(0, dtype=np.int64), np.empty(0)
    first = -(-int(candles.ts[0]) // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS
    times = np.arange(first, int(candles.ts[-1]) + 1, FUNDING_INTERVAL_MS, dtype=np.int64)
    at = np.clip(np.searchsorted(candles.ts, times, side="right") - 1, 0, len(candles) - 1)
    before = np.clip(np.searchsorted(candles.ts, times - FUNDING_INTERVAL_MS) - 1, 0, None)
    move = candles.close[at] / candles.close[before] - 1.0
    premium = 0.003 * np.tanh(move * 5) + rng.normal(0.0, 0.00005, len(times))
    rates = np.clip(BASE_FUNDING_RATE + premium, -0.0075, 0.0075)
    return times, np.round(rates, 8)


def write_funding_rates(
    datadir: Path, pair: str, times: np.ndarray, rates: np.ndarray, data_format: str = "feather"
) -> Path:
    """Store a funding-rate history as the installed Freqtrade does: ``date,
    funding_rate`` where Freqtrade has `candle_columns` (it reads the older layout
    too), else an OHLCV candle with the rate in each price and no volume (2026.1)."""
    import importlib.util

    import pandas as pd
    from freqtrade.data.history import get_datahandler
    from freqtrade.enums import CandleType

    dates = pd.to_datetime(times, unit="ms", utc=True)
    if importlib.util.find_spec("freqtrade.candle_columns") is not None:
        frame = pd.DataFrame({"date": dates, "funding_rate": rates})
    else:
        frame = pd.DataFrame(
            {"date": dates, **{c: rates for c in ("open", "high", "low", "close")}}
        ).assign(volume=0.0)
    handler = get_datahandler(Path(datadir), data_format)
    handler.ohlcv_store(pair, FUNDING_TIMEFRAME, frame, CandleType.FUNDING_RATE)
    return handler._pair_data_filename(
        Path(datadir), pair, FUNDING_TIMEFRAME, CandleType.FUNDING_RATE
    )


def write_candles(
    datadir: Path,
    pair: str,
    timeframe: str,
    candles: Candles | list,
    data_format: str = "feather",
    candle_type: str = "spot",
) -> Path:
    """Store candles (or ``[[ts_ms, o, h, l, c, v], ...]`` rows) as Freqtrade would;
    ``candle_type`` "futures" or "mark" for futures data. Returns the file written."""
    from freqtrade.data.history import get_datahandler
    from freqtrade.enums import CandleType

    if not isinstance(candles, Candles):
        candles = Candles.from_rows(candles)
    ctype = CandleType.from_string(candle_type)
    Path(datadir).mkdir(parents=True, exist_ok=True)
    handler = get_datahandler(Path(datadir), data_format)
    handler.ohlcv_store(pair, timeframe, to_dataframe(candles), ctype)
    return handler._pair_data_filename(Path(datadir), pair, timeframe, ctype)


def to_dataframe(candles: Candles):
    """Freqtrade's in-memory OHLCV frame: ``date`` as UTC datetimes, float columns."""
    import pandas as pd

    return pd.DataFrame(
        {
            "date": pd.to_datetime(candles.ts, unit="ms", utc=True),
            "open": candles.open,
            "high": candles.high,
            "low": candles.low,
            "close": candles.close,
            "volume": candles.volume,
        }
    )
