"""ccxt's own binance client against the offline exchange, one test per endpoint."""

import asyncio

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from profitguard.tooling.exchange.freqtrade_config import ccxt_config
from profitguard.tooling.exchange.harness import write_candles
from profitguard.tooling.exchange.ohlcv import MINUTE_MS

T0 = 1_767_225_600_000
FIVE_MIN = 5 * MINUTE_MS


def rows(n: int, start_price: float, step_ms: int = FIVE_MIN):
    out, price = [], start_price
    for i in range(n):
        close = round(price * (1.001 if i % 3 else 0.998), 2)
        out.append(
            [T0 + i * step_ms, price, max(price, close) + 1, min(price, close) - 1, close, 5]
        )
        price = close
    return out


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    from profitguard.tooling.exchange.harness import start_exchange

    datadir = tmp_path_factory.mktemp("data")
    write_candles(datadir, "BTC/USDT", "5m", rows(600, 60000.0), data_format="json")
    write_candles(datadir, "ETH/BTC", "1m", rows(300, 0.05, MINUTE_MS), data_format="json")
    with start_exchange(datadir=datadir, pairs=["SOL/USDT"]) as running:
        yield running


@pytest.fixture
def client(exchange):
    api = ccxt.binance(ccxt_config(exchange.url))
    api.load_markets()
    return api


def test_load_markets_when_spot_only_then_exchange_info_markets_and_filters(exchange):
    api = ccxt.binance(ccxt_config(exchange.url))
    markets = api.load_markets()
    assert sorted(markets) == ["BTC/USDT", "ETH/BTC", "SOL/USDT"]
    btc = markets["BTC/USDT"]
    assert btc["spot"] and btc["active"]
    assert btc["precision"] == {"amount": 1e-6, "price": 1.0, "base": 1e-8, "quote": 1e-8}
    assert btc["limits"]["cost"]["min"] == 5.0
    assert markets["ETH/BTC"]["limits"]["cost"]["min"] == 0.0001
    assert "GET /api/v3/exchangeInfo" in exchange.stats()["hits"]


def test_fetch_time_when_called_then_server_time(client):
    assert abs(client.fetch_time() - client.milliseconds()) < 60_000


def test_ping_when_called_then_empty_object(client):
    assert client.public_get_ping() == {}


def test_fetch_ohlcv_when_since_and_limit_then_those_candles(client):
    candles = client.fetch_ohlcv("BTC/USDT", "5m", since=T0 + 10 * FIVE_MIN, limit=3)
    assert [c[0] for c in candles] == [T0 + k * FIVE_MIN for k in (10, 11, 12)]
    assert all(c[2] >= max(c[1], c[4]) and c[3] <= min(c[1], c[4]) for c in candles)


def test_fetch_ohlcv_when_coarser_interval_then_aggregated(client):
    hourly = client.fetch_ohlcv("BTC/USDT", "1h", since=T0, limit=2)
    five = client.fetch_ohlcv("BTC/USDT", "5m", since=T0, limit=12)
    assert hourly[0][1] == five[0][1]
    assert hourly[0][4] == five[-1][4]
    assert hourly[0][2] == max(c[2] for c in five)


def test_fetch_ohlcv_when_unknown_symbol_then_bad_symbol(client):
    with pytest.raises(ccxt.BadSymbol):
        client.fetch_ohlcv("DOGE/USDT", "5m")


def test_fetch_ticker_when_history_then_last_close_and_book_top(client):
    ticker = client.fetch_ticker("BTC/USDT")
    last = client.fetch_ohlcv("BTC/USDT", "5m", limit=1)[-1]
    assert ticker["last"] == last[4]
    assert ticker["bid"] <= ticker["last"] <= ticker["ask"]


def test_fetch_tickers_when_all_then_every_market(client):
    assert sorted(client.fetch_tickers()) == ["BTC/USDT", "ETH/BTC", "SOL/USDT"]


def test_fetch_last_prices_when_called_then_ticker_price_endpoint(client, exchange):
    prices = client.fetch_last_prices(["BTC/USDT", "ETH/BTC"])
    assert set(prices) == {"BTC/USDT", "ETH/BTC"}
    assert "GET /api/v3/ticker/price" in exchange.stats()["hits"]


def test_fetch_bids_asks_when_called_then_book_ticker_endpoint(client, exchange):
    quotes = client.fetch_bids_asks(["ETH/BTC"])
    assert quotes["ETH/BTC"]["bid"] < quotes["ETH/BTC"]["ask"]
    assert "GET /api/v3/ticker/bookTicker" in exchange.stats()["hits"]


def test_fetch_order_book_when_limit_then_levels_around_the_price(client):
    book = client.fetch_order_book("BTC/USDT", limit=20)
    assert len(book["bids"]) == len(book["asks"]) == 20
    assert book["bids"][0][0] < book["asks"][0][0]


def test_avg_price_when_called_then_mean_price(client):
    body = client.public_get_avgprice({"symbol": "BTCUSDT"})
    assert body["mins"] == 5
    assert float(body["price"]) > 0


def test_unserved_endpoint_when_called_then_bad_request_and_counted(client, exchange):
    with pytest.raises(ccxt.BadRequest, match="does not serve GET /api/v3/aggTrades"):
        client.fetch_trades("BTC/USDT")
    assert exchange.stats()["unserved"]["GET /api/v3/aggTrades"] >= 1


def test_async_client_when_fetch_ohlcv_then_same_as_sync(exchange, client):
    async def fetch():
        api = ccxt_async.binance(ccxt_config(exchange.url))
        try:
            await api.load_markets()
            return await api.fetch_ohlcv("ETH/BTC", "1m", since=T0, limit=5)
        finally:
            await api.close()

    assert asyncio.run(fetch()) == client.fetch_ohlcv("ETH/BTC", "1m", since=T0, limit=5)
