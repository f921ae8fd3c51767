import json
import logging

import pytest

from profitguard.tooling.exchange.ohlcv import MINUTE_MS
from profitguard.tooling.exchange.server import ReplayOptions, build_api

T0 = 1_767_225_600_000
FIVE_MIN = 5 * MINUTE_MS


def write_json_candles(datadir, pair: str, timeframe: str, closes: list[float], start=T0):
    """Freqtrade's json layout: [[ts_ms, open, high, low, close, volume], ...]."""
    rows, prev = [], closes[0]
    step = {"1m": MINUTE_MS, "5m": FIVE_MIN}[timeframe]
    for i, c in enumerate(closes):
        rows.append([start + i * step, prev, max(prev, c) + 1, min(prev, c) - 1, c, 10.0])
        prev = c
    datadir.mkdir(parents=True, exist_ok=True)
    (datadir / f"{pair.replace('/', '_')}-{timeframe}.json").write_text(json.dumps(rows))


@pytest.fixture
def history_api(tmp_path):
    write_json_candles(tmp_path, "BTC/USDT", "5m", [60000.0 + 10 * i for i in range(300)])
    write_json_candles(tmp_path, "ETH/BTC", "5m", [0.05] * 10)
    return build_api(datadir=tmp_path, pairs=["SOL/USDT"], clock=lambda: T0 + 10**9)


def get(api, path, **query):
    return api.handle("GET", "/api/v3/" + path, {k: str(v) for k, v in query.items()})


def test_exchange_info_when_config_pair_has_no_data_then_placeholder_market(history_api):
    status, body = get(history_api, "exchangeInfo")
    assert status == 200
    assert [s["symbol"] for s in body["symbols"]] == ["BTCUSDT", "ETHBTC", "SOLUSDT"]
    btc, _, sol = ({f["filterType"]: f for f in s["filters"]} for s in body["symbols"])
    assert btc["PRICE_FILTER"]["tickSize"] == "1.00000000"  # from its data, about 63000
    assert btc["NOTIONAL"]["minNotional"] == "5.00000000"
    assert sol["PRICE_FILTER"]["tickSize"] == "0.00010000"  # placeholder price 1.0
    assert sol["LOT_SIZE"]["stepSize"] == "0.10000000"


def test_exchange_info_when_symbols_param_then_only_those(history_api):
    status, body = get(history_api, "exchangeInfo", symbols=json.dumps(["ETHBTC"]))
    assert status == 200
    assert [s["symbol"] for s in body["symbols"]] == ["ETHBTC"]
    filters = {f["filterType"]: f for f in body["symbols"][0]["filters"]}
    assert filters["NOTIONAL"]["minNotional"] == "0.00010000"


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        ("klines", {"interval": "5m"}, -1102),
        ("klines", {"symbol": "DOGEUSDT", "interval": "5m"}, -1121),
        ("klines", {"symbol": "BTCUSDT"}, -1102),
        ("klines", {"symbol": "BTCUSDT", "interval": "7m"}, -1120),
        ("klines", {"symbol": "BTCUSDT", "interval": "5m", "limit": "1001"}, -1130),
        ("klines", {"symbol": "BTCUSDT", "interval": "5m", "startTime": "x"}, -1100),
        ("klines", {"symbol": "BTCUSDT", "interval": "5m", "startTime": 2, "endTime": 1}, -1128),
        ("depth", {"symbol": "BTCUSDT", "limit": "0"}, -1130),
        ("ticker/24hr", {"symbols": "[BTCUSDT"}, -1100),
        ("ticker/price", {"symbols": '["BTCUSDT","NOPE"]'}, -1121),
        ("avgPrice", {}, -1102),
    ],
)
def test_handle_when_bad_request_then_binance_error(history_api, path, query, code):
    status, body = get(history_api, path, **query)
    assert status == 400
    assert body["code"] == code
    assert body["msg"]


def test_klines_when_start_and_limit_then_rows_from_start(history_api):
    status, rows = get(
        history_api, "klines", symbol="BTCUSDT", interval="5m", startTime=T0 + FIVE_MIN, limit=2
    )
    assert status == 200
    assert [r[0] for r in rows] == [T0 + FIVE_MIN, T0 + 2 * FIVE_MIN]
    assert rows[0][4] == "60010.00000000"


def test_klines_when_coarser_interval_then_resampled_from_stored_data(history_api):
    _, rows = get(history_api, "klines", symbol="BTCUSDT", interval="1h", limit=1000)
    assert len(rows) == 25  # 300 5m candles: 25 hours
    assert rows[0][1] == "60000.00000000"  # the first 5m open
    assert rows[0][4] == "60110.00000000"  # the 12th 5m close


def test_klines_when_finer_interval_than_stored_then_empty(history_api):
    assert get(history_api, "klines", symbol="BTCUSDT", interval="1m") == (200, [])


def test_tickers_when_history_then_last_close_and_24h_window(history_api):
    _, ticker = get(history_api, "ticker/24hr", symbol="BTCUSDT")
    assert ticker["lastPrice"] == "62990.00000000"
    assert ticker["openPrice"] == "60110.00000000"  # open of the last 288 candles (24h)
    assert float(ticker["bidPrice"]) <= 62990 <= float(ticker["askPrice"])
    _, prices = get(history_api, "ticker/price")
    assert {p["symbol"] for p in prices} == {"BTCUSDT", "ETHBTC", "SOLUSDT"}
    _, books = get(history_api, "ticker/bookTicker", symbols='["ETHBTC"]')
    assert books[0]["symbol"] == "ETHBTC"


def test_depth_when_limit_then_that_many_levels_each_side(history_api):
    status, book = get(history_api, "depth", symbol="BTCUSDT", limit=5)
    assert status == 200
    assert len(book["bids"]) == len(book["asks"]) == 5
    assert float(book["bids"][0][0]) < float(book["asks"][0][0])


def test_avg_price_when_history_then_mean_of_last_five_minutes(history_api):
    _, body = get(history_api, "avgPrice", symbol="BTCUSDT")
    # last candle: open 62980, high 62991, low 62979, close 62990
    assert float(body["price"]) == pytest.approx((62980 + 62991 + 62979 + 62990) / 4)


def test_handle_when_unserved_endpoint_then_error_logged_and_counted(history_api, caplog):
    with caplog.at_level(logging.WARNING, logger="profitguard.tooling.exchange.api"):
        status, body = history_api.handle("GET", "/sapi/v1/capital/config/getall", {})
        post = history_api.handle("POST", "/api/v3/order", {"symbol": "BTCUSDT"})
    assert (status, body["code"]) == (400, -1020)
    assert post[0] == 400
    assert "unserved endpoint GET /sapi/v1/capital/config/getall" in caplog.text
    assert history_api.stats()["unserved"] == {
        "GET /sapi/v1/capital/config/getall": 1,
        "POST /api/v3/order": 1,
    }


def test_stats_endpoint_when_requested_then_hits_by_endpoint(history_api):
    get(history_api, "ping")
    status, stats = history_api.handle("GET", "/_profitguard/stats", {})
    assert status == 200
    assert stats["hits"]["GET /api/v3/ping"] == 1
    assert stats["mode"] == "history"


def test_replay_when_clock_advances_then_klines_and_ticker_follow_the_path(tmp_path):
    write_json_candles(tmp_path, "BTC/USDT", "5m", [100.0 + i for i in range(40)])
    now = [T0]
    api = build_api(
        datadir=tmp_path,
        replay=ReplayOptions(seconds_per_candle=1.0, timeframe="5m"),
        now_ms=T0,
        clock=lambda: now[0],
    )
    # default start: halfway through 40 candles -> candle 20 (close 120) opens at t0
    _, t = get(api, "ticker/price", symbol="BTCUSDT")
    assert t["price"] == "119.00000000"  # the close of candle 19, the last of history
    now[0] = T0 + 5000  # five candles later
    _, t = get(api, "ticker/price", symbol="BTCUSDT")
    assert t["price"] == "124.00000000"
    _, rows = get(api, "klines", symbol="BTCUSDT", interval="5m", limit=2)
    assert [r[0] for r in rows] == [T0 - FIVE_MIN, T0]
    assert rows[-1][1] == "119.00000000"  # the replayed candle opens where history ended
    assert rows[-1][4] == "124.00000000"
