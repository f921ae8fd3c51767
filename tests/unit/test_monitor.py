"""What the bot publishes for the dashboard: one open trade's figures, and the events
seen from one loop to the next."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from profitguard.engine import ProtectionConfig, step
from profitguard.engine.position import open_position
from profitguard.freqtrade.monitor import TradeMonitor, trade_row
from profitguard.freqtrade.operate_settings import WatchdogSettings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class FakeTrade:
    is_short: bool
    id: int = 1
    pair: str = "BTC/USDT"
    open_rate: float = 100.0
    amount: float = 1.0
    stop_loss: float = 90.0
    open_date_utc: datetime = T0
    open_sl_orders: list = field(default_factory=list)
    open_orders: list = field(default_factory=list)
    has_open_position: bool = True


def position(is_short: bool):
    side = "short" if is_short else "long"
    stop = 102.0 if is_short else 98.0  # one R = 2
    return open_position(
        ProtectionConfig.from_mapping({}), side=side, entry=100.0, initial_stop=stop, amount=1.0
    )


@pytest.mark.parametrize("is_short", [False, True])
def test_trade_row_when_price_moves_half_an_r_past_one_r_then_r_next_level_and_distance(is_short):
    sign = -1 if is_short else 1
    price = 100.0 + sign * 3.0  # +1.5R
    row = trade_row(FakeTrade(is_short), position(is_short), (price, T0), stop_resting=True)
    assert row["side"] == ("short" if is_short else "long")
    assert row["r"] == pytest.approx(1.5)
    assert row["stop"] == pytest.approx(100.0 - sign * 2.0) and row["stop_r"] == pytest.approx(-1)
    assert row["next_level"]["tag"] == "tp1"
    assert row["next_level"]["price"] == pytest.approx(100.0 + sign * 4.0)  # 2R
    assert row["next_level"]["distance_r"] == pytest.approx(0.5)
    assert row["levels_done"] == [] and row["levels"] == 3
    assert row["price_changed_at"] == T0.isoformat()


def test_trade_row_when_engine_does_not_know_the_trade_yet_then_freqtrade_stop_and_no_r():
    row = trade_row(FakeTrade(False), None, None, stop_resting=None)
    assert row["stop"] == 90.0
    assert row["r"] is None and row["stop_r"] is None and row["next_level"] is None


class FakeTracker:
    def __init__(self, pos):
        self.pos = pos
        self.prices = {1: (100.0, T0)}

    def known(self, trade):
        return object()

    def position(self, trade, memo):
        return self.pos


def test_monitor_when_stop_moves_and_level_fills_between_loops_then_events():
    pos = position(False)
    tracker = FakeTracker(pos)
    sent = []
    monitor = TradeMonitor(tracker, WatchdogSettings(), stop_on_exchange=False, send=sent.append)
    trade = FakeTrade(False)
    first = monitor.loop([trade], T0)
    assert first["events"] == [] and first["trades"][0]["r"] == 0.0
    tracker.pos = step(pos, 104.5, T0).position  # past 2R: tp1 decided, stop to 1R
    assert tracker.pos.stop > pos.stop
    published = monitor.loop([trade], T0)
    kinds = [e["kind"] for e in published["events"]]
    assert "STOP_MOVED" in kinds
    moved = next(e for e in published["events"] if e["kind"] == "STOP_MOVED")
    assert moved["stop"] == pytest.approx(tracker.pos.stop)
    assert sent == []  # events are published, not sent; alerts are sent
