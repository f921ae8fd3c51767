import logging

import numpy as np
import pytest

from profitguard.tooling.exchange.candle_files import (
    CandleStore,
    pair_from_filename,
    read_candles,
    scan,
)
from profitguard.tooling.exchange.harness import write_candles
from profitguard.tooling.exchange.ohlcv import MINUTE_MS

T0 = 1_767_225_600_000
ROWS = [[T0 + i * MINUTE_MS, 1.0 + i, 2.0 + i, 0.5 + i, 1.5 + i, 10.0 * i] for i in range(5)]


@pytest.mark.parametrize("data_format", ["feather", "parquet", "json", "jsongz"])
def test_read_candles_when_written_by_freqtrade_then_same_candles(tmp_path, data_format):
    path = write_candles(tmp_path, "ETH/BTC", "1m", ROWS, data_format=data_format)
    candles = read_candles(path)
    assert candles.ts.tolist() == [r[0] for r in ROWS]
    for i, col in enumerate(("open", "high", "low", "close", "volume"), start=1):
        assert getattr(candles, col).tolist() == [r[i] for r in ROWS]


def test_scan_when_mixed_files_then_spot_ohlcv_only(tmp_path):
    for name in (
        "BTC_USDT-5m.feather",
        "ETH_BTC-1m.json",
        "SOL_USDT-1h.parquet",
        "XRP_USDT-1d.json.gz",
        "BTC_USDT-trades.feather",  # trades, not candles
        "BTC_USDT_USDT-1h-futures.feather",  # futures candle type
        "notes.txt",
        "BTCUSDT-5m.json",  # no pair separator
    ):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "futures").mkdir()
    found = scan(tmp_path)
    assert sorted(found) == [
        ("BTC/USDT", "5m"),
        ("ETH/BTC", "1m"),
        ("SOL/USDT", "1h"),
        ("XRP/USDT", "1d"),
    ]


def test_scan_when_same_data_in_two_formats_then_feather_preferred(tmp_path, caplog):
    (tmp_path / "BTC_USDT-5m.json").write_bytes(b"")
    (tmp_path / "BTC_USDT-5m.feather").write_bytes(b"")
    with caplog.at_level(logging.INFO, logger="profitguard.tooling.exchange.candle_files"):
        found = scan(tmp_path)
    assert found[("BTC/USDT", "5m")].fmt == "feather"


def test_scan_when_datadir_missing_then_nothing(tmp_path):
    assert scan(tmp_path / "nope") == {}


def test_pair_from_filename_when_underscores_then_first_is_the_separator():
    assert pair_from_filename("ETH_BTC") == "ETH/BTC"


def test_candle_store_when_asked_then_loads_lazily_and_sorts_timeframes(tmp_path):
    write_candles(tmp_path, "BTC/USDT", "5m", ROWS)
    write_candles(tmp_path, "BTC/USDT", "1m", ROWS)
    store = CandleStore(tmp_path)
    assert store.pairs() == ["BTC/USDT"]
    assert store.timeframes("BTC/USDT") == ["1m", "5m"]
    assert len(store.finest("BTC/USDT")) == 5
    assert len(store.candles("BTC/USDT", "4h")) == 0
    assert np.array_equal(store.candles("BTC/USDT", "5m").ts, store.finest("BTC/USDT").ts)
