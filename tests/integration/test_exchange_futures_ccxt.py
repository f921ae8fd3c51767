"""ccxt's binance in USDⓈ-M futures mode against the offline exchange's /fapi endpoints.

The data is written by Freqtrade's own data handler (as `freqtrade download-data
--trading-mode futures` stores it), not by our generator: futures, mark and
funding-rate files in `<datadir>/futures`.
"""

from __future__ import annotations

import ccxt
import pandas as pd
import pytest
from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType

from profitguard.tooling.exchange.freqtrade_config import ccxt_config
from profitguard.tooling.exchange.ohlcv import MINUTE_MS

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
FIVE_MIN = 5 * MINUTE_MS
HOUR = 60 * MINUTE_MS
PAIR = "BTC/USDT:USDT"


def ohlcv_frame(n: int, step_ms: int, start_price: float, drift: float) -> pd.DataFrame:
    ts = [T0 + i * step_ms for i in range(n)]
    opens = [round(start_price + drift * i, 1) for i in range(n)]
    closes = [round(o + drift, 1) for o in opens]
    return pd.DataFrame(
        {
            "date": pd.to_datetime(ts, unit="ms", utc=True),
            "open": opens,
            "high": [max(o, c) + 5 for o, c in zip(opens, closes, strict=True)],
            "low": [min(o, c) - 5 for o, c in zip(opens, closes, strict=True)],
            "close": closes,
            "volume": [3.0] * n,
        }
    )


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    from profitguard.tooling.exchange.harness import start_exchange

    datadir = tmp_path_factory.mktemp("data")
    handler = get_datahandler(datadir, "feather")
    handler.ohlcv_store(PAIR, "5m", ohlcv_frame(600, FIVE_MIN, 60000.0, 1.0), CandleType.FUTURES)
    # mark candles a little above the last price, so a mix-up with the futures file shows
    handler.ohlcv_store(PAIR, "1h", ohlcv_frame(50, HOUR, 60100.0, 12.0), CandleType.MARK)
    funding = pd.DataFrame(
        {
            "date": pd.to_datetime([T0 + i * 8 * HOUR for i in range(6)], unit="ms", utc=True),
            "funding_rate": [0.0001, 0.00015, -0.0002, 0.0001, 0.0003, 0.00005],
        }
    )
    handler.ohlcv_store(PAIR, "1h", funding, CandleType.FUNDING_RATE)
    assert sorted(p.name for p in (datadir / "futures").iterdir()) == [
        "BTC_USDT_USDT-1h-funding_rate.feather",
        "BTC_USDT_USDT-1h-mark.feather",
        "BTC_USDT_USDT-5m-futures.feather",
    ]
    with start_exchange(datadir=datadir, pairs=["ETH/USDT:USDT"]) as running:
        yield running


@pytest.fixture
def client(exchange):
    api = ccxt.binance(ccxt_config(exchange.url, "futures") | {"options": {
        "fetchMarkets": {"types": ["linear"]}, "defaultType": "swap"}})  # fmt: skip
    api.load_markets()
    return api


def test_load_markets_when_futures_then_linear_perpetuals_from_fapi(client, exchange):
    assert sorted(client.markets) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    btc = client.markets[PAIR]
    assert btc["swap"] and btc["linear"] and btc["contract"] and btc["active"]
    assert btc["settle"] == "USDT" and btc["contractSize"] == 1.0
    assert btc["precision"]["amount"] == 1e-6 and btc["precision"]["price"] == 1.0
    assert btc["limits"]["cost"]["min"] == 5.0
    hits = exchange.stats()["hits"]
    assert "GET /fapi/v1/exchangeInfo" in hits
    assert not any(path.startswith("GET /api/v3") for path in hits)


def test_fetch_ohlcv_when_futures_then_the_futures_file(client):
    candles = client.fetch_ohlcv(PAIR, "5m", since=T0, limit=3)
    assert [c[0] for c in candles] == [T0, T0 + FIVE_MIN, T0 + 2 * FIVE_MIN]
    assert candles[0][1:5] == [60000.0, 60006.0, 59995.0, 60001.0]


def test_fetch_ohlcv_when_mark_price_then_the_mark_file(client):
    candles = client.fetch_ohlcv(PAIR, "1h", since=T0, limit=2, params={"price": "mark"})
    assert [c[1] for c in candles] == [60100.0, 60112.0]


def test_fetch_funding_rate_history_when_since_then_stored_rates_every_8h(client):
    history = client.fetch_funding_rate_history(PAIR, since=T0 + 8 * HOUR, limit=3)
    assert [h["timestamp"] for h in history] == [T0 + 8 * HOUR, T0 + 16 * HOUR, T0 + 24 * HOUR]
    assert [h["fundingRate"] for h in history] == [0.00015, -0.0002, 0.0001]


def test_fetch_funding_rate_when_called_then_premium_index_with_last_rate(client):
    rate = client.fetch_funding_rate(PAIR)
    assert rate["fundingRate"] == 0.00005
    assert rate["markPrice"] > 0


def test_order_book_and_tickers_when_futures_then_around_the_last_price(client):
    book = client.fetch_order_book(PAIR, limit=5)
    assert book["bids"][0][0] < book["asks"][0][0]
    assert abs(book["bids"][0][0] - 60600.0) < 100
    ticker = client.fetch_ticker(PAIR)
    assert ticker["last"] == 60600.0
    bids_asks = client.fetch_bids_asks([PAIR])
    assert bids_asks[PAIR]["bid"] == book["bids"][0][0]


def test_pair_without_futures_data_when_served_then_placeholder_market_no_candles(client):
    assert client.fetch_ohlcv("ETH/USDT:USDT", "5m", limit=5) == []
    assert client.fetch_funding_rate_history("ETH/USDT:USDT") == []


def test_leverage_bracket_when_asked_then_freqtrades_binance_tiers(exchange):
    from profitguard.tooling.exchange.futures import freqtrade_tiers

    status, body = exchange.api.handle("GET", "/fapi/v1/leverageBracket", {"symbol": "BTCUSDT"})
    assert status == 200
    first = body[0]["brackets"][0]
    tier = freqtrade_tiers()[PAIR][0]
    assert first["maintMarginRatio"] == tier.maint_margin_ratio
    assert first["initialLeverage"] == tier.initial_leverage
