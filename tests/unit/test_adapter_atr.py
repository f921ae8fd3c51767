"""ATR settings take effect or stop the bot: no silent 2% stop, no trailing stop that
never moves, no initial stop recomputed from today's candles."""

from __future__ import annotations

import math

import pytest
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from pandas import DataFrame

from tests.unit.test_adapter_strategy import in_memory_custom_data, started, stop_of  # noqa: F401
from tests.unit.test_adapter_trades import make_trade

CANDLES = DataFrame({"open": [100.0] * 3, "high": [101.0] * 3, "low": [99.0] * 3,
                     "close": [100.0] * 3, "volume": [1.0] * 3})  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "used_by"),
    [
        ({"initial_stop": {"atr_column": "atr14"}}, "the initial stop"),
        ({"initial_stop": {"atr_multiple": 3.0}}, "the initial stop"),
        ({"exits": {"trail_atr_multiple": 2.0}}, "'profitguard.exits.trail_atr_multiple'"),
    ],
)
def test_first_frame_when_atr_column_asked_for_is_missing_then_bot_stops_naming_it(
    settings, used_by
):
    strategy = started(profitguard=settings)
    column = settings.get("initial_stop", {}).get("atr_column", "atr")
    with pytest.raises(OperationalException) as err:
        strategy.advise_indicators(CANDLES.copy(), {"pair": "BTC/USDT"})
    message = str(err.value)
    assert f"'profitguard.initial_stop.atr_column' is '{column}', used by {used_by}" in message
    assert "dataframe of BTC/USDT has no such column (columns: open, high, low, close, volume)" in (
        message
    )


def test_first_frame_when_no_atr_asked_for_then_the_pct_stop_without_column():
    strategy = started()
    strategy.advise_indicators(CANDLES.copy(), {"pair": "BTC/USDT"})
    stop = strategy.initial_stop("BTC/USDT", "long", 100.0, None, dataframe=CANDLES)
    assert stop == pytest.approx(98.0)


def test_initial_stop_when_atr_asked_for_and_last_value_nan_then_error_not_the_pct_stop():
    strategy = started(profitguard={"initial_stop": {"atr_multiple": 2.0}})
    frame = CANDLES.assign(atr=[0.5, 0.5, math.nan])
    with pytest.raises(ValueError, match=r"'atr' has no value > 0 on the last candle of BTC/USDT"):
        strategy.initial_stop("BTC/USDT", "long", 100.0, None, dataframe=frame)
    frame = CANDLES.assign(atr=[0.5, 0.5, 1.5])
    assert strategy.initial_stop("BTC/USDT", "long", 100.0, None, dataframe=frame) == 97.0


def test_chandelier_when_atr_is_nan_then_reported_once_and_stop_holds(monkeypatch, caplog):
    strategy = started(runmode=RunMode.DRY_RUN, profitguard={"exits": {"trail_atr_multiple": 2.0}})
    sent = []
    monkeypatch.setattr(strategy.dp, "send_msg", lambda message, **kw: sent.append(message))
    monkeypatch.setattr(strategy, "analyzed", lambda pair: CANDLES.assign(atr=math.nan))
    trade = make_trade(10.0, 100.0)
    first = stop_of(strategy, trade, 101.0)
    assert first is not None  # the stop is still managed
    stop_of(strategy, trade, 101.5)
    assert len(sent) == 1
    assert "chandelier trailing failed for trade 1" in sent[0]
    assert "'atr' is nan on the last candle" in sent[0]


def test_record_when_lost_after_the_stop_was_placed_then_not_recomputed(caplog):
    strategy = started(runmode=RunMode.DRY_RUN)
    trade = make_trade(10.0, 100.0)
    trade.initial_stop_loss = 90.0  # Freqtrade's backstop at entry
    trade.stop_loss, trade.stop_loss_pct = 98.0, -0.02  # ours, placed before the record was lost
    assert stop_of(strategy, trade, 101.0) is None  # the stop stays where it is
    assert "custom data 'profitguard' is missing, but its stop was already placed" in caplog.text
    assert "not recomputed from today's candles" in caplog.text


def test_record_when_missing_at_the_entry_fill_then_created():
    strategy = started(runmode=RunMode.DRY_RUN)
    trade = make_trade(10.0, 100.0)
    trade.initial_stop_loss = trade.stop_loss = 90.0  # only the backstop so far
    assert stop_of(strategy, trade, 101.0) is not None


def test_record_when_missing_and_freqtrade_moved_its_backstop_at_the_fill_then_created():
    """A market entry filled above the order's price: Freqtrade recalculates the open
    rate and moves its backstop up with it (same -10% ratio). That is not our stop:
    the trade is new and gets its memo (it was reported corrupt and left unmanaged,
    with only the backstop, in a live run)."""
    strategy = started(runmode=RunMode.DRY_RUN)
    trade = make_trade(10.0, 100.0)
    trade.stop_loss, trade.initial_stop_loss_pct = 0.0, None  # no stop yet
    trade.adjust_stop_loss(99.97, -0.10, initial=True)  # at the order's price
    trade.adjust_stop_loss(trade.open_rate, -0.10)  # the fill's open rate: a tick higher
    assert trade.stop_loss != trade.initial_stop_loss  # what the old rule called ours
    assert stop_of(strategy, trade, 101.0) is not None
    assert strategy._pg_tracker.known(trade).initial_stop < trade.open_rate


def test_record_when_lost_but_freqtrade_holds_our_initial_stop_then_that_stop_is_kept():
    """The record is lost while the stop never moved from our initial stop: the copy
    written as the trade's initial stop gives the same R back (nothing recomputed)."""
    from profitguard.freqtrade.initial_stop import show_initial_stop

    strategy = started(runmode=RunMode.DRY_RUN)  # the pct stop would be 98
    trade = make_trade(10.0, 100.0)
    trade.initial_stop_loss, trade.initial_stop_loss_pct = 90.0, -0.10  # the backstop
    show_initial_stop(trade, 97.0, keep_across_restart=True)  # ours, at the entry fill
    trade.stop_loss = 97.0  # never moved since

    assert stop_of(strategy, trade, 101.0) is not None
    assert strategy._pg_tracker.memos[trade.id].initial_stop == 97.0
