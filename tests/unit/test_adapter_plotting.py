"""Stop and target lines: each trade's candles replayed through the engine."""

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from profitguard.engine import R_LADDER
from profitguard.freqtrade.plotting import TradeSpan, ladder_columns
from tests.unit.test_risk_gate import no_database  # noqa: F401 - fixture

START = datetime(2024, 1, 1, tzinfo=UTC)


def frame(ohlc):
    return pd.DataFrame(
        {
            "date": [START + timedelta(minutes=5 * i) for i in range(len(ohlc))],
            **{k: [c[j] for c in ohlc] for j, k in enumerate(("open", "high", "low", "close"))},
        }
    )


def test_ladder_columns_when_trade_spans_candles_then_stop_follows_the_engine():
    df = frame(
        [(100, 100, 100, 100)] * 2
        + [(100, 100.5, 99.5, 100.2), (100.2, 102.5, 100.1, 102), (102, 103.5, 101.5, 103)]
        + [(103, 103, 103, 103)] * 2
    )
    trade = TradeSpan(
        START + timedelta(minutes=10), START + timedelta(minutes=20), 100.0, 10, False
    )
    out = ladder_columns(df, [trade], R_LADDER, lambda side, rate, when, before: rate * 0.98)
    assert np.isnan(out["pg_stop"][:2]).all() and np.isnan(out["pg_stop"][5:]).all()
    assert list(out["pg_stop"][2:5]) == pytest.approx([98.0, 100.0, 101.0])  # 0R, BE, 0.5R
    assert list(out["pg_entry"][2:5]) == [100.0] * 3
    assert list(out["pg_tp1"][2:5]) == [104.0] * 3 and out["pg_tp3"][2] == 108.0
    assert "pg_stop" not in df.columns  # the input is left alone


def test_ladder_columns_when_initial_stop_hook_called_then_it_sees_only_earlier_candles():
    df = frame([(100, 100, 100, 100)] * 5)
    seen = []
    trade = TradeSpan(START + timedelta(minutes=15), None, 100.0, 1, False)
    ladder_columns(df, [trade], R_LADDER, lambda s, r, w, before: seen.append(len(before)) or 98)
    assert seen == [3]  # candles before the entry candle only: no lookahead


def test_ladder_columns_when_entry_still_pending_then_no_lines_and_no_error():
    df = frame([(100, 100, 100, 100)] * 5)
    pending = TradeSpan(START + timedelta(minutes=5), None, 100.0, 0.0, False)  # nothing filled
    filled = TradeSpan(START + timedelta(minutes=15), None, 100.0, 1, False)
    out = ladder_columns(df, [pending, filled], R_LADDER, lambda s, r, w, before: 98.0)
    assert np.isnan(out["pg_stop"][:3]).all()  # the pending entry draws nothing
    assert list(out["pg_stop"][3:]) == [98.0, 98.0]


@pytest.mark.usefixtures("no_database")
def test_advise_indicators_when_dry_run_entry_pending_then_no_error_logged(tmp_path, caplog):
    from freqtrade.persistence import LocalTrade

    from tests.unit.test_adapter_trades import make_order, make_trade
    from tests.unit.test_risk_gate import frame as closes_frame
    from tests.unit.test_risk_gate import started

    strategy = started(tmp_path)
    trade = make_trade(10.0, 100.0)
    trade.orders = [make_order("buy", 10.0, 100.0, status="open", filled=0.0, remaining=10.0,
                               ft_is_open=True)]  # fmt: skip
    trade.amount = 0.0  # a limit entry resting on the book: Freqtrade's amount until it fills
    LocalTrade.add_bt_trade(trade)
    df = closes_frame([100.0] * 30)
    with caplog.at_level(logging.WARNING):
        out = strategy.advise_indicators(df, {"pair": trade.pair})
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert np.isnan(out["pg_stop"]).all()


def test_trade_spans_when_open_trade_entry_not_filled_yet_then_no_line(monkeypatch):
    """Live, after a restart, with the entry order still resting: nothing to draw (the
    chaos suite found the lines failing with 'amount must be > 0' in the bot's log)."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from freqtrade.persistence import Trade

    from profitguard.freqtrade.plotting import open_trade_spans

    waiting = SimpleNamespace(
        open_date_utc=datetime(2026, 1, 1, tzinfo=UTC), open_rate=100.0, is_short=False,
        entry_side="buy", select_filled_orders=lambda side: [],
    )  # fmt: skip
    monkeypatch.setattr(Trade, "get_trades_proxy", staticmethod(lambda **kw: [waiting]))
    assert open_trade_spans("RST/USDT") == []


def test_ladder_columns_when_trade_recorded_its_initial_stop_then_the_hook_is_not_asked():
    df = frame([(100, 100, 100, 100)] * 5)
    trade = TradeSpan(START + timedelta(minutes=10), None, 100.0, 1, False, initial_stop=97.0)

    def warming_up(side, rate, when, before):
        raise ValueError("'atr' has no value > 0 on the last candle (nan): no ATR stop")

    left_out: list[str] = []
    out = ladder_columns(df, [trade], R_LADDER, warming_up, left_out)
    assert list(out["pg_stop"][2:]) == [97.0] * 3 and left_out == []


def test_ladder_columns_when_entry_before_the_chart_or_no_stop_then_left_out_others_drawn():
    df = frame([(100, 100, 100, 100)] * 6)
    before = TradeSpan(START - timedelta(minutes=5), START + timedelta(minutes=5), 100.0, 1, False)
    no_stop = TradeSpan(START + timedelta(minutes=10), START + timedelta(minutes=15), 100.0, 1,
                        False)  # fmt: skip
    later = TradeSpan(START + timedelta(minutes=20), None, 100.0, 1, False, initial_stop=98.0)

    def warming_up(side, rate, when, before):
        raise ValueError("(nan): no ATR stop")

    left_out: list[str] = []
    out = ladder_columns(df, [before, no_stop, later], R_LADDER, warming_up, left_out)
    assert np.isnan(out["pg_stop"][:4]).all() and list(out["pg_stop"][4:]) == [98.0, 98.0]
    assert left_out == [
        "the trade entered 2023-12-31 23:55 before the chart's first candle (2024-01-01 00:00)",
        "the trade entered 2024-01-01 00:10 has no initial stop ((nan): no ATR stop)",
    ]
