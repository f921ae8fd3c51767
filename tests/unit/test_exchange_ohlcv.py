import numpy as np
import pytest

from profitguard.tooling.exchange.markets import fmt
from profitguard.tooling.exchange.ohlcv import (
    DAY_MS,
    MINUTE_MS,
    Candles,
    bucket_start,
    kline_rows,
    resample,
    select_klines,
    timeframe_ms,
)

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC, a Thursday


def minutes(n: int, start: int = T0) -> Candles:
    """n 1m candles: open i, high i+2, low i-1, close i+1, volume 1."""
    i = np.arange(n, dtype=float) + 100
    return Candles.from_columns(
        start + np.arange(n) * MINUTE_MS, i, i + 2, i - 1, i + 1, np.ones(n)
    )


@pytest.mark.parametrize(
    ("timeframe", "ms"), [("1s", 1000), ("1m", 60_000), ("5m", 300_000), ("4h", 14_400_000)]
)
def test_timeframe_ms_when_valid_then_milliseconds(timeframe, ms):
    assert timeframe_ms(timeframe) == ms


@pytest.mark.parametrize("timeframe", ["5", "1M", "0m", "m5", "5x", ""])
def test_timeframe_ms_when_invalid_then_raises(timeframe):
    with pytest.raises(ValueError, match="unsupported timeframe"):
        timeframe_ms(timeframe)


def test_bucket_start_when_weekly_then_monday_open():
    # 2026-01-01 is a Thursday; its week opened on Monday 2025-12-29.
    assert bucket_start(T0 + 5 * MINUTE_MS, 7 * DAY_MS) == T0 - 3 * DAY_MS


def test_from_columns_when_unsorted_with_duplicates_then_sorted_and_unique():
    c = Candles.from_columns([3, 1, 3, 2], [30, 10, 31, 20], [0] * 4, [0] * 4, [0] * 4, [0] * 4)
    assert c.ts.tolist() == [1, 2, 3]
    assert c.open.tolist() == [10, 20, 30]


def test_from_columns_when_lengths_differ_then_raises():
    with pytest.raises(ValueError, match="same length"):
        Candles.from_columns([1, 2], [1], [1], [1], [1], [1])


def test_resample_when_minutes_to_5m_then_first_max_min_last_sum():
    out = resample(minutes(10), 5 * MINUTE_MS)
    assert out.ts.tolist() == [T0, T0 + 5 * MINUTE_MS]
    assert out.open.tolist() == [100, 105]
    assert out.high.tolist() == [106, 111]
    assert out.low.tolist() == [99, 104]
    assert out.close.tolist() == [105, 110]
    assert out.volume.tolist() == [5, 5]


def test_resample_when_candles_missing_then_partial_bucket_from_what_is_there():
    c = minutes(10)
    keep = [0, 1, 7]  # minutes 2-6 missing: first bucket partial, second has one candle
    gappy = Candles(*(col[keep] for col in c.columns()))
    out = resample(gappy, 5 * MINUTE_MS)
    assert out.ts.tolist() == [T0, T0 + 5 * MINUTE_MS]
    assert out.close.tolist() == [102, 108]
    assert out.volume.tolist() == [2, 1]


@pytest.mark.parametrize(
    ("start", "end", "limit", "expected_first", "expected_count"),
    [
        (None, None, 3, 7, 3),  # no start: the most recent
        (T0 + 2 * MINUTE_MS, None, 3, 2, 3),  # start: the first after it
        (T0 + 2 * MINUTE_MS + 1, None, 3, 3, 3),  # open time >= start
        (None, T0 + 4 * MINUTE_MS, 2, 3, 2),  # end inclusive, latest before it
        (T0 + 8 * MINUTE_MS, None, 5, 8, 2),  # fewer than limit left
        (T0 + 20 * MINUTE_MS, None, 5, None, 0),  # after the data
        (T0 + 5 * MINUTE_MS, T0 + 4 * MINUTE_MS, 5, None, 0),  # empty window
    ],
)
def test_select_klines_when_window_given_then_binance_semantics(
    start, end, limit, expected_first, expected_count
):
    out = select_klines(minutes(10), start_ms=start, end_ms=end, limit=limit)
    assert len(out) == expected_count
    if expected_count:
        assert out.ts[0] == T0 + expected_first * MINUTE_MS


def test_kline_rows_when_formatted_then_binance_row_layout():
    rows = kline_rows(minutes(1), MINUTE_MS, fmt, fmt)
    assert rows == [
        [
            T0,
            "100.00000000",
            "102.00000000",
            "99.00000000",
            "101.00000000",
            "1.00000000",
            T0 + MINUTE_MS - 1,
            "100.50000000",
            7,
            "0.50000000",
            "50.25000000",
            "0",
        ]
    ]
