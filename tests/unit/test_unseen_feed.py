"""The tracker shown the prices of a blocked loop (`unseen_feed`, `TradeTracker`), on a
real LocalTrade, with the candles of the blocked stretch handed in as the exchange
would (`refresh_latest_ohlcv` itself is the contract test's, in test_internals)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pandas as pd
import pytest

from profitguard.engine import R_LADDER, Candle
from profitguard.freqtrade.notify import Notifier
from profitguard.freqtrade.tracker import TradeTracker
from profitguard.freqtrade.unseen_feed import UnseenCandles, finest_timeframe
from tests.unit.test_adapter_trades import OPENED, make_order, make_trade

SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def custom_data_in_memory():
    """The memo's custom data kept in memory, as backtesting keeps it."""
    from freqtrade.persistence import CustomDataWrapper

    CustomDataWrapper.use_db = False
    CustomDataWrapper.reset_custom_data()
    yield
    CustomDataWrapper.reset_custom_data()
    CustomDataWrapper.use_db = True


def at(s: float):
    return OPENED + timedelta(seconds=s)


def tracker(feed) -> TradeTracker:
    def report(hook, trade, exc):
        raise AssertionError(f"{hook}: {exc}")

    return TradeTracker(
        R_LADDER, persist=True, initial_stop=lambda trade, now: 98.0, backstop=lambda: 0.1,
        atr_column="atr", analyzed=lambda pair: None, notifier=Notifier(None), report=report,
        unseen=feed,
    )  # fmt: skip


# a rise to 105 (2.5R) whose lows stay above the stops its highs set
RISE = ((100, 101, 100, 101), (101.5, 103, 101.5, 103), (103.5, 105, 103.5, 104.5))


def blocked(*ohlc) -> list[Candle]:
    """One-second candles from 1 s after the entry on."""
    return [Candle(at(1 + i), *c) for i, c in enumerate(ohlc)]


def test_tracker_when_tp1_passed_while_blocked_then_it_fires_at_the_price_of_now():
    # entry 100, stop 98 (1R = 2): the price went past TP1 (104) to 105 (the ladder
    # locks 1R, 102) and back to 103, each candle's low above the stop its high set
    candles = blocked(*RISE, (104.5, 104.5, 103, 103))
    asked = []

    def feed(trade, seen, now):
        asked.append((seen, now))
        return candles, SECOND

    t, trade = tracker(feed), make_trade(10.0, 100.0)
    t.memo(trade, at(0))  # the entry filled: seen from its fill on
    assert not t.decide(trade, 103.0, at(20), fire=False).exit_amount  # the stop check
    assert asked == [(OPENED, at(20))]  # once, from the entry's fill to now
    decision = t.decide(trade, 103.0, at(20), fire=True)  # adjust_trade_position
    assert decision.exit_tags == ("tp1",) and decision.exit_amount == pytest.approx(5.0)
    assert decision.stop == pytest.approx(102.0)  # the 2.5R peak locked 1R
    assert len(asked) == 1  # nothing unseen between the two calls of one loop


def test_tracker_when_tp1_then_the_stop_reached_while_blocked_then_tp1_first_then_the_rest():
    # past TP1 to 105 (the ladder locks 1R, 102), then down to 101.5 and back to 103
    candles = blocked(*RISE, (104.5, 104.5, 101.5, 103))
    t, trade = tracker(lambda trade, seen, now: (candles, SECOND)), make_trade(10.0, 100.0)
    t.memo(trade, at(0))
    first = t.decide(trade, 103.0, at(20), fire=True)
    assert first.exit_tags == ("tp1",) and first.exit_amount == pytest.approx(5.0)
    assert t.touched == {trade.id: 101.5}
    trade.orders.append(make_order("sell", 5.0, 103.0, tag="tp1"))  # TP1 filled
    trade.recalc_trade_from_orders()
    then = t.decide(trade, 103.5, at(22), fire=False)  # the stop check of the next loop
    assert then.exit_tags == ("stop",) and then.exit_amount == pytest.approx(5.0)
    assert t.decide(trade, 103.5, at(22), fire=True).exit_tags == ("stop",)


def test_tracker_when_the_stop_reached_while_blocked_then_everything_exits_now():
    candles = blocked((100, 100.5, 97.5, 99), (99, 100, 99, 100))  # under the 98 stop
    t, trade = tracker(lambda trade, seen, now: (candles, SECOND)), make_trade(10.0, 100.0)
    t.memo(trade, at(0))
    decision = t.decide(trade, 100.0, at(10), fire=True)
    assert decision.exit_tags == ("stop",) and decision.exit_amount == pytest.approx(10.0)


def test_tracker_when_no_feed_or_a_normal_loop_then_only_the_price_of_now():
    candles = blocked((100, 105, 100, 103))

    def failing(trade, seen, now):
        raise OSError("no answer")

    reports = []
    t, trade = tracker(failing), make_trade(10.0, 100.0)
    t._report = lambda hook, trade, exc: reports.append((hook, str(exc)))
    t.memo(trade, at(0))
    assert not t.decide(trade, 103.0, at(20), fire=True).exit_amount
    assert reports == [("unseen prices", "no answer")]
    # a loop of normal length asks for nothing (UnseenCandles' own threshold)
    exchange = SimpleNamespace(timeframes=["1s", "1m"])
    feed = UnseenCandles(exchange, candle_type="spot", min_gap=timedelta(seconds=2))
    assert feed(trade, at(0), at(2)) is None
    t2, trade2 = tracker(lambda trade, seen, now: (candles, SECOND)), make_trade(10.0, 100.0)
    t2.memo(trade2, at(0))
    t2.seen[trade2.id] = at(0.5)  # candles wholly after the last look only
    assert not t2.decide(trade2, 103.0, at(1.9), fire=True).exit_amount


def test_unseen_candles_when_fetched_then_the_finest_timeframe_and_its_frame_read():
    asked = []

    def refresh(pairs, **kwargs):
        asked.append((pairs, kwargs))
        frame = pd.DataFrame(
            {"date": pd.to_datetime([at(1), at(2)]), "open": [100.0, 101.0],
             "high": [101.0, 105.0], "low": [99.0, 100.5], "close": [101.0, 103.0]}
        )  # fmt: skip
        return {pairs[0]: frame}

    exchange = SimpleNamespace(timeframes=["1m", "1s", "5m"], refresh_latest_ohlcv=refresh)
    feed = UnseenCandles(exchange, candle_type="spot", min_gap=timedelta(seconds=2))
    trade = make_trade(10.0, 100.0)
    candles, interval = feed(trade, at(0), at(30))
    assert interval == SECOND
    assert candles == [Candle(at(1), 100.0, 101.0, 99.0, 101.0),
                       Candle(at(2), 101.0, 105.0, 100.5, 103.0)]  # fmt: skip
    since = int(OPENED.timestamp() * 1000)
    assert asked == [([("BTC/USDT", "1s", "spot")],
                      {"since_ms": since, "cache": False, "drop_incomplete": True})]  # fmt: skip


def test_finest_timeframe_when_the_stretch_is_long_then_a_coarser_one_in_one_request():
    frames = ["1m", "1s", "1h", "5m"]
    assert finest_timeframe(frames, timedelta(seconds=30)) == "1s"
    assert finest_timeframe(frames, timedelta(minutes=30)) == "1m"  # 1800 1s candles
    assert finest_timeframe(frames, timedelta(days=30)) == "1h"  # the longest there is
    assert finest_timeframe([], timedelta(seconds=30)) is None
