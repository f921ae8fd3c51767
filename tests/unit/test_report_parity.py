"""The parity check: the engine's exits on the candles against a trade's fills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from profitguard.engine import R_LADDER, SCALED_PCT, Candle
from profitguard.report import parity
from profitguard.report.records import Fill, TradeRecord

T0 = datetime(2025, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


def candles(*ohlc):
    return [Candle(T0 + i * STEP, *c) for i, c in enumerate(ohlc)]


def record(fills, *, stop_at_exit=None):
    return TradeRecord(
        pair="BTC/USDT",
        is_short=False,
        open_date=T0,
        close_date=fills[-1].at,
        entry=100.0,
        amount=1.0,
        initial_stop=98.0,
        fee_open=0.0,
        fee_close=0.0,
        exits=tuple(fills),
        exit_reason=fills[-1].tag,
        stop_at_exit=stop_at_exit,
        max_rate=None,
        min_rate=None,
    )


PATH = candles(
    (100.0, 100.5, 99.5, 100.2),
    (102.3, 104.6, 102.2, 104.2),  # the high passes TP1 (104): the stop to 1R (102)
    (104.2, 104.4, 103.8, 104.0),  # TP1 at this open
    (103.5, 103.6, 101.5, 102.0),  # the low crosses 102: the rest stopped there
)
FREQTRADE_FILLS = [
    Fill("tp1", 0.5, 104.2, T0 + 2 * STEP),
    Fill("trailing_stop_loss", 0.5, 102.0, T0 + 3 * STEP),
]


def run(fills, exits=R_LADDER, tick=0.01):
    trade = record(fills)
    return parity.check(
        [trade],
        exits,
        lambda pair, a, b: [c for c in PATH if a <= c.at <= b],
        amount_steps={"BTC/USDT": 0.001},
        ticks={"BTC/USDT": tick},
    )


def test_check_when_fills_are_the_engines_then_exact():
    report = run(FREQTRADE_FILLS)
    assert report.count(parity.EXACT) == 1, report.trades


@pytest.mark.parametrize(
    ("fills", "cause"),
    [
        ([Fill("tp1", 0.5, 104.2, T0 + STEP), FREQTRADE_FILLS[1]], "exit candle differs"),
        ([Fill("tp2", 0.5, 104.2, T0 + 2 * STEP), FREQTRADE_FILLS[1]], "exit tags differ"),
        ([Fill("tp1", 0.4, 104.2, T0 + 2 * STEP), FREQTRADE_FILLS[1]], "exit amount differs"),
        (
            [FREQTRADE_FILLS[0], Fill("stop_loss", 0.5, 101.5, T0 + 3 * STEP)],
            "exit price differs by more than a tick",
        ),
        ([FREQTRADE_FILLS[1]], "exit count differs"),
    ],
)
def test_check_when_a_fill_differs_then_grouped_by_its_cause(fills, cause):
    report = run(fills)
    assert report.count(parity.DIFFERS) == 1
    assert report.causes()[0][0] == cause


def test_check_when_other_ladders_then_differs():
    assert run(FREQTRADE_FILLS, exits=SCALED_PCT).count(parity.DIFFERS) == 1


def test_check_when_price_one_tick_off_then_within_one_tick():
    fills = [FREQTRADE_FILLS[0], Fill("stop_loss", 0.5, 102.01, T0 + 3 * STEP)]
    report = run(fills, tick=0.01)
    assert report.count(parity.WITHIN_TICK) == 1


def test_engine_exits_when_stop_moved_and_hit_on_the_entry_candle_then_pessimistic_fill():
    # the entry candle's high (102, 1R) moves the stop to breakeven; its low hits it
    trade = record([Fill("trailing_stop_loss", 1.0, 100.0, T0)])
    ours, still_open = parity.engine_exits(
        trade, R_LADDER, candles((100.0, 102.0, 98.01, 99.5)), amount_step=None, tick=None
    )
    assert not still_open
    # Freqtrade: max(low, open x stop / high) = 100 * 100 / 102, not the stop (100)
    assert ours[0].price == pytest.approx(100.0 * 100.0 / 102.0)
    clamped, _ = parity.engine_exits(
        trade, R_LADDER, candles((100.0, 104.0, 99.0, 99.5)), amount_step=None, tick=None
    )
    assert clamped[0].price == 99.0  # never below the candle's low


def test_engine_exits_when_low_between_the_stop_and_its_tick_then_stopped_like_freqtrade():
    # stop 98.0004 (rounded up: 98.01); a low of 98.005 stops Freqtrade, not the exact stop
    trade = TradeRecord(
        "X/USDT", False, T0, T0 + STEP, 100.0, 1.0, 98.0004, 0, 0, (), "", None, None, None
    )
    ours, _ = parity.engine_exits(
        trade,
        R_LADDER,
        candles((100.0, 100.1, 99.9, 100.0), (99.0, 99.1, 98.005, 98.5)),
        amount_step=None,
        tick=0.01,
    )
    assert [(e.tags, e.price) for e in ours] == [(("stop",), pytest.approx(98.01))]


def test_check_when_matched_then_the_replay_names_the_stop_rule():
    # the high passed 1R: the ladder's lock (102) is the stop the rest was stopped at
    report = run(FREQTRADE_FILLS)
    assert report.trades[0].stop_rule == "ladder"


@pytest.mark.parametrize("tick", [0.01, 0.5])
def test_engine_exits_when_float_noise_and_coarse_tick_then_initial_rule(tick):
    # stored prices with float noise, stop 98.0000000001 rounded up to a coarse tick
    trade = TradeRecord(
        "X/USDT", False, T0, T0 + STEP, 100.0, 1.0, 98.0000000001, 0, 0, (), "", None, None, None
    )
    ours, _ = parity.engine_exits(
        trade,
        R_LADDER,
        candles((100.0, 100.90000000000001, 99.9, 100.0), (99.0, 99.1, 97.99999999999999, 98.5)),
        amount_step=None,
        tick=tick,
    )
    assert [e.stop_rule for e in ours] == ["initial"]


def test_backtest_ticks_when_noise_then_freqtrades_tick():
    """Contract: Freqtrade's backtest tick is the data's decimals within 14 significant
    digits (an ulp of noise does not count), per month."""
    import numpy as np
    import pandas as pd

    from profitguard.report.ticks import BacktestTicks

    prices = [104.2047, float(np.nextafter(104.2047, np.inf)), 102.31, 100.0]
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2024-01-01", periods=4, freq="5min", tz="UTC"),
            **{c: prices for c in ("open", "high", "low", "close")},
        }
    )
    ticks = BacktestTicks(frame, "X/USDT")
    assert ticks.series is not None  # Freqtrade's own function answered
    assert ticks.at(pd.Timestamp("2024-01-01 00:10", tz="UTC")) == pytest.approx(1e-4)
    whole = frame.assign(**{c: 60000.0 for c in ("open", "high", "low", "close")})
    assert BacktestTicks(whole, "X/USDT").at(pd.Timestamp("2024-01-01", tz="UTC")) == 1.0
    assert BacktestTicks(frame.iloc[0:0], "X/USDT").at(pd.Timestamp("2024-01-01")) is None


def test_run_check_when_whole_number_prices_then_exchange_like_tick(tmp_path):
    """Freqtrade's data precision is NaN for whole-number prices (it then uses the
    exchange's tick): the replay holds the stop at a whole number too, not unrounded."""
    from profitguard.commands.report import run_check
    from profitguard.tooling.exchange.generate import write_candles

    ms = lambda t: int(t.timestamp() * 1000)  # noqa: E731
    rows = [[ms(T0 + i * STEP), 60000.0, 60010.0, 59990.0, 60000.0, 1.0] for i in range(3)]
    rows.append([ms(T0 + 3 * STEP), 60000.0, 60001.0, 58000.0, 58500.0, 1.0])
    write_candles(tmp_path, "BTC/USDT", "5m", rows)
    trade = TradeRecord(
        "BTC/USDT", False, T0, T0 + 3 * STEP, 60000.0, 0.01, 58799.5, 0, 0,
        (Fill("stop_loss", 0.01, 58800.0, T0 + 3 * STEP),), "stop_loss", 58800.0, None, None,
    )  # fmt: skip
    report = run_check([trade], R_LADDER, {"datadir": str(tmp_path)}, "5m")
    assert report.count(parity.EXACT) == 1, report.trades
