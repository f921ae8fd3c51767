"""The gate's account snapshot (the open positions, kept while nothing they are made of
changed) always equals the positions made afresh: after entries, fills, partial exits,
orders placed, stops moved by the engine or by Freqtrade, and trades gone, all within
one candle."""

from __future__ import annotations

from freqtrade.persistence import LocalTrade, Trade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_adapter_strategy import adjust, stop_of
from tests.unit.test_adapter_trades import make_order
from tests.unit.test_risk_gate import NOW, confirm, no_database, open_trade, started

__all__ = ["no_database"]  # the fixture: trades in memory, as in backtesting

PAIRS = ("A/USDT", "B/USDT", "C/USDT")
RATES = st.floats(90.0, 115.0)
STEP = st.one_of(
    st.tuples(st.just("open"), st.sampled_from(PAIRS), st.booleans()),
    st.tuples(st.just("stop"), st.integers(0, 5), RATES),
    st.tuples(st.just("adjust"), st.integers(0, 5), RATES),
    st.tuples(st.just("partial"), st.integers(0, 5), RATES),
    st.tuples(st.just("freqtrade_stop"), st.integers(0, 5), RATES),
    st.tuples(st.just("order_placed"), st.integers(0, 5), RATES),
    st.tuples(st.just("peak"), st.integers(0, 5), RATES),
    st.tuples(st.just("gone"), st.integers(0, 5), st.none()),
)


def fresh(book):
    return [book._position(t) for t in Trade.get_trades_proxy(is_open=True)]


def apply(strategy, step, next_id: int) -> None:
    kind, which, value = step
    trades = Trade.get_trades_proxy(is_open=True)
    if kind == "open":
        trade = open_trade(next_id, which)
        if value:  # the entry fill reported (else not yet: no memo, Freqtrade's stop)
            strategy.order_filled(trade.pair, trade, trade.orders[0], NOW)
        return
    if not trades:
        return
    trade = trades[which % len(trades)]
    if kind == "stop":
        stop_of(strategy, trade, value, at=NOW)
    elif kind == "adjust":
        adjust(strategy, trade, value, at=NOW)
    elif kind == "partial":
        order = make_order("sell", round(trade.amount * 0.3, 3), value, ft_pair=trade.pair)
        trade.orders.append(order)
        strategy.order_filled(trade.pair, trade, order, NOW)
        trade.recalc_trade_from_orders()
    elif kind == "order_placed":  # an exit order open, nothing filled yet
        order = make_order("sell", round(trade.amount * 0.3, 3), value, ft_pair=trade.pair,
                           ft_is_open=True, status="open", filled=0.0)  # fmt: skip
        trade.orders.append(order)
    elif kind == "peak":  # Freqtrade's record of the candle's high moves
        trade.max_rate = max(trade.max_rate or value, value)
    elif kind == "freqtrade_stop":
        trade.stop_loss = value * 0.9
    else:  # an entry order cancelled: the trade is removed, no callback
        LocalTrade.remove_bt_trade(trade)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(steps=st.lists(STEP, max_size=12))
def test_snapshot_when_trades_open_fill_move_and_go_within_a_candle_then_equals_fresh(
    tmp_path, steps
):
    LocalTrade.reset_trades()
    strategy = started(tmp_path)
    book = strategy._pg_gate.book
    for number, step in enumerate(steps, start=1):
        apply(strategy, step, next_id=number)
        assert list(book.at(NOW).positions) == fresh(book), step


def test_snapshot_when_asked_again_with_nothing_changed_then_the_same_positions(tmp_path):
    strategy = started(tmp_path)
    trade = open_trade(1, "A/USDT")
    strategy.order_filled(trade.pair, trade, trade.orders[0], NOW)
    book = strategy._pg_gate.book
    first = book.at(NOW).positions
    assert book.at(NOW).positions is first  # kept, not made again
    stop_of(strategy, trade, 104.5, at=NOW)  # the engine's stop moves up
    assert book.at(NOW).positions is not first
    assert book.at(NOW).positions[0].stop > first[0].stop


def test_confirm_when_an_entry_of_the_same_candle_opened_then_the_next_sees_it(tmp_path):
    strategy = started(tmp_path, risk={"max_open_positions": 1})
    assert confirm(strategy) is True
    trade = open_trade(1, "ETH/USDT")  # Freqtrade opens the trade the gate allowed
    assert confirm(strategy) is False
    assert strategy._pg_gate.refusals == {"MAX_OPEN_POSITIONS": 1}
    LocalTrade.remove_bt_trade(trade)  # its entry order cancelled: no callback
    assert confirm(strategy) is True
