"""The /fapi side of the offline exchange: pairs, brackets, funding moments."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from profitguard.tooling.exchange.candle_files import pair_from_filename, scan
from profitguard.tooling.exchange.futures import (
    DEFAULT_FUNDING_RATE,
    FUNDING_INTERVAL_MS,
    FundingSource,
    futures_pair,
    futures_spec,
    split_futures_pair,
    with_cum,
)
from profitguard.tooling.exchange.ohlcv import Candles


@pytest.mark.parametrize(
    ("pair", "expected"),
    [("BTC/USDT", "BTC/USDT:USDT"), ("ETH/USDC:USDC", "ETH/USDC:USDC")],
)
def test_futures_pair_when_spot_or_perpetual_then_perpetual(pair, expected):
    assert futures_pair(pair) == expected


@pytest.mark.parametrize(
    ("pair", "match"),
    [
        ("BTC/USD:BTC", "not a linear"),
        ("BTC/USDT:USDT-260925", "not a perpetual"),
        ("BTC", "not a perpetual"),
    ],
)
def test_split_futures_pair_when_not_a_linear_perpetual_then_error_naming_it(pair, match):
    with pytest.raises(ValueError, match=match):
        split_futures_pair(pair)


def test_spec_when_futures_then_symbol_and_filters_as_spot_at_that_price():
    spec = futures_spec("BTC/USDT:USDT", 60000.0)
    assert (spec.symbol, spec.base, spec.quote) == ("BTCUSDT", "BTC", "USDT")
    assert spec.tick_size == 1.0 and spec.min_notional == 5.0
    assert spec.brackets[0].maint_margin_ratio > 0


def test_with_cum_when_brackets_then_maintenance_continuous_at_each_floor():
    brackets = with_cum([(0, 100, 0.01, 50), (100, 1000, 0.02, 25), (1000, 5000, 0.05, 10)])
    for lower, upper in itertools.pairwise(brackets):
        at = upper.notional_floor
        below = at * lower.maint_margin_ratio - lower.cum
        above = at * upper.maint_margin_ratio - upper.cum
        assert below == pytest.approx(above)


def test_pair_from_filename_when_futures_then_settle_currency_back():
    assert pair_from_filename("BTC_USDT_USDT", "futures") == "BTC/USDT:USDT"
    assert pair_from_filename("BTC_USDT") == "BTC/USDT"


def test_scan_when_futures_dir_then_only_the_asked_candle_type(tmp_path):
    (tmp_path / "futures").mkdir()
    for name in ("BTC_USDT_USDT-5m-futures", "BTC_USDT_USDT-1h-mark", "BTC_USDT-5m"):
        folder = tmp_path / "futures" if "USDT_USDT" in name else tmp_path
        (folder / f"{name}.json").write_text("[]")
    assert list(scan(tmp_path, "futures")) == [("BTC/USDT:USDT", "5m")]
    assert list(scan(tmp_path, "mark")) == [("BTC/USDT:USDT", "1h")]
    assert list(scan(tmp_path)) == [("BTC/USDT", "5m")]


def test_funding_when_replay_then_every_8h_of_the_clock_at_the_last_stored_rate():
    ts = np.array([0, FUNDING_INTERVAL_MS], dtype=np.int64)
    rates = np.array([0.0002, 0.0003])
    stored = Candles.from_columns(ts, rates, rates, rates, rates, 0 * rates)
    now = 10 * FUNDING_INTERVAL_MS + 5
    times, values = FundingSource(stored, live=True).history(now, None)
    assert times[-1] == 10 * FUNDING_INTERVAL_MS
    assert set(np.diff(times)) == {FUNDING_INTERVAL_MS}
    assert set(values) == {0.0003}
    _, default = FundingSource(None, live=True).history(now, None)
    assert set(default) == {DEFAULT_FUNDING_RATE}


def test_funding_when_history_without_a_funding_file_then_default_rate_every_8h(tmp_path):
    from profitguard.tooling.exchange.generate import write_candles
    from profitguard.tooling.exchange.server import build_api

    step = 5 * 60_000
    rows = [[i * step, 100.0, 101.0, 99.0, 100.5, 1.0] for i in range(24 * 12 + 1)]  # 24h
    write_candles(tmp_path, "ABC/USDT:USDT", "5m", rows, candle_type="futures")
    api = build_api(datadir=tmp_path, clock=lambda: 10**13)
    status, body = api.handle(
        "GET", "/fapi/v1/fundingRate", {"symbol": "ABCUSDT", "startTime": "0"}
    )
    assert status == 200
    assert [r["fundingTime"] for r in body] == [0, FUNDING_INTERVAL_MS, 2 * FUNDING_INTERVAL_MS,
                                                3 * FUNDING_INTERVAL_MS]  # fmt: skip
    assert {r["fundingRate"] for r in body} == {f"{DEFAULT_FUNDING_RATE:.8f}"}
    status, premium = api.handle("GET", "/fapi/v1/premiumIndex", {"symbol": "ABCUSDT"})
    assert premium["markPrice"] == "100.50000000"  # no mark file: the futures price
    status, spot = api.handle("GET", "/api/v3/exchangeInfo", {})
    assert spot["symbols"] == []  # futures data is not a spot market
