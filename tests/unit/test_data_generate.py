import hashlib
from datetime import UTC, datetime

import numpy as np
import pytest

from profitguard.tooling.exchange import generate as gen
from profitguard.tooling.exchange.candle_files import read_candles
from profitguard.tooling.exchange.markets import tick_size
from profitguard.tooling.exchange.ohlcv import MINUTE_MS, resample

END = datetime(2026, 1, 1, tzinfo=UTC)
PAIRS = ("BTC/USDT", "ETH/USDT", "ETH/BTC")


def digest(paths) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def minutes_30d():
    start = int(END.timestamp() * 1000) - 30 * 1440 * MINUTE_MS
    return gen.generate_minutes(PAIRS, seed=7, start_ms=start, minutes=30 * 1440)


@pytest.mark.parametrize("data_format", ["feather", "json"])
def test_generate_when_same_seed_then_same_bytes(tmp_path, data_format):
    kwargs = dict(pairs=PAIRS, days=2, end=END, seed=3, data_format=data_format)
    first = gen.generate(tmp_path / "a", **kwargs)
    second = gen.generate(tmp_path / "b", **kwargs)
    assert len(first) == len(PAIRS) * 2
    assert digest(first) == digest(second)


def test_generate_when_other_seed_then_other_data(tmp_path):
    a = gen.generate(tmp_path / "a", pairs=("BTC/USDT",), days=1, end=END, seed=1)
    b = gen.generate(tmp_path / "b", pairs=("BTC/USDT",), days=1, end=END, seed=2)
    assert digest(a) != digest(b)


def test_generate_when_5m_and_1m_then_5m_is_the_1m_aggregated(tmp_path):
    files = gen.generate(tmp_path, pairs=("SOL/USDT",), days=2, end=END, seed=5)
    by_name = {p.name: read_candles(p) for p in files}
    one, five = by_name["SOL_USDT-1m.feather"], by_name["SOL_USDT-5m.feather"]
    expected = resample(one, 5 * MINUTE_MS)
    for a, b in zip(expected.columns(), five.columns(), strict=True):
        assert np.allclose(a, b)
    assert five.ts[-1] + 5 * MINUTE_MS == int(END.timestamp() * 1000)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"days": 0}, "'days' must be at least one minute"),
        ({"days": 0.0001}, "'days' must be at least one minute"),  # rounds to no candle
        ({"days": float("nan")}, "'days' must be at least one minute"),
        ({"timeframes": ("30s",)}, "whole minutes"),
    ],
)
def test_generate_when_invalid_arguments_then_raises(tmp_path, value, message):
    with pytest.raises(ValueError, match=message):
        gen.generate(tmp_path, **value)
    assert not any(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("pair", PAIRS)
def test_generate_minutes_when_generated_then_valid_candles_on_the_tick_grid(minutes_30d, pair):
    c = minutes_30d[pair]
    assert np.all(c.high >= np.maximum(c.open, c.close))
    assert np.all(c.low <= np.minimum(c.open, c.close))
    assert np.all(c.low > 0)
    assert np.all(c.volume > 0)
    tick = tick_size(c.open[0])
    assert np.allclose(c.close / tick, np.round(c.close / tick), atol=1e-6)


@pytest.mark.parametrize("pair", PAIRS)
def test_generate_minutes_when_30_days_then_gaps_and_outages_occur(minutes_30d, pair):
    c = minutes_30d[pair]
    jumps = np.abs(c.open[1:] / c.close[:-1] - 1)
    assert (jumps > 0.01).sum() >= 2  # gaps at a candle's open
    assert np.any(np.diff(c.ts) > MINUTE_MS)  # a few minutes without candles


def test_generate_minutes_when_cross_pair_then_ratio_of_its_usdt_legs(minutes_30d):
    eth, btc, ethbtc = (minutes_30d[p] for p in ("ETH/USDT", "BTC/USDT", "ETH/BTC"))
    common, i_eth, i_btc = np.intersect1d(eth.ts, btc.ts, return_indices=True)
    _, i_cross, i_legs = np.intersect1d(ethbtc.ts, common, return_indices=True)
    ratio = eth.close[i_eth][i_legs] / btc.close[i_btc][i_legs]
    assert np.allclose(ethbtc.close[i_cross], ratio, rtol=1e-3)


def test_market_path_when_generated_then_up_and_down_trends_and_ranges():
    _, segments = gen.market_path(gen._rng(42, "market"), 60 * 1440)
    drifts = [d for _, _, d in segments]
    assert any(d > 0 for d in drifts)
    assert any(d < 0 for d in drifts)
    assert any(d == 0 for d in drifts)


def test_generate_minutes_when_30_days_then_big_daily_moves_both_ways(minutes_30d):
    c = resample(minutes_30d["ETH/USDT"], 1440 * MINUTE_MS)
    daily = c.close / c.open - 1
    assert daily.max() > 0.04
    assert daily.min() < -0.04


def test_generate_when_futures_then_freqtrades_futures_layout_and_same_prices_as_spot(tmp_path):
    from freqtrade.data.history import load_pair_history
    from freqtrade.enums import CandleType

    spot = gen.generate(tmp_path / "spot", pairs=("BTC/USDT",), days=2, end=END, seed=5)
    files = gen.generate(
        tmp_path / "fut", pairs=("BTC/USDT",), days=2, end=END, seed=5, trading_mode="futures"
    )
    assert sorted(p.relative_to(tmp_path / "fut").as_posix() for p in files) == [
        "futures/BTC_USDT_USDT-1h-funding_rate.feather",
        "futures/BTC_USDT_USDT-1h-mark.feather",
        "futures/BTC_USDT_USDT-1m-futures.feather",
        "futures/BTC_USDT_USDT-5m-futures.feather",
    ]
    five = read_candles(tmp_path / "fut/futures/BTC_USDT_USDT-5m-futures.feather")
    assert np.array_equal(five.close, read_candles(spot[0]).close)
    # Freqtrade's own loader finds each file under the names its backtester asks for
    for timeframe, ctype in (("5m", "futures"), ("1h", "mark"), ("1h", "funding_rate")):
        frame = load_pair_history(
            pair="BTC/USDT:USDT",
            timeframe=timeframe,
            datadir=tmp_path / "fut",
            candle_type=CandleType.from_string(ctype),
            fill_up_missing=False,
        )
        assert len(frame) > 0, ctype
    funding = load_pair_history(
        pair="BTC/USDT:USDT", timeframe="1h", datadir=tmp_path / "fut",
        candle_type=CandleType.FUNDING_RATE, fill_up_missing=False,
    )  # fmt: skip
    hours = funding["date"].dt.hour.unique().tolist()
    assert sorted(hours) == [0, 8, 16]  # Binance funds every 8 hours
    rate = "funding_rate" if "funding_rate" in funding else "open"  # Freqtrade 2026.1: open
    assert funding[rate].abs().max() < 0.0075


def test_generate_when_futures_pair_not_linear_then_error(tmp_path):
    with pytest.raises(ValueError, match="not a linear"):
        gen.generate(tmp_path, pairs=("BTC/USDT:BTC",), days=1, end=END, trading_mode="futures")


def test_data_generate_cli_when_futures_then_perpetuals_with_mark_and_funding(tmp_path, capsys):
    from profitguard.cli import main
    from profitguard.commands.demo import _missing_data

    pairs = ["BTC/USDT:USDT"]
    assert _missing_data(tmp_path, pairs, futures=True)
    argv = ["data", "generate", "--trading-mode", "futures", "--datadir", str(tmp_path),
            "--pairs", "BTC/USDT", "--days", "1"]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(
        "wrote 4 files of futures, mark and funding-rate data (BTC/USDT x 5m, 1m, 1 days"
    )
    assert _missing_data(tmp_path, pairs, futures=True) == []  # what demo --futures needs
    assert main([*argv[:-4], "--pairs", "BTC/USD:BTC"]) == 2
    assert "--pairs: not a linear (USDⓈ-M) pair: 'BTC/USD:BTC'" in capsys.readouterr().err
