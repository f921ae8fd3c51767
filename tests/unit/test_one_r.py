"""One R formula: the engine's plan, the reports, the gate and the notifications
measure a price or a profit in R with the same function, to the last bit."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from profitguard.engine import R_LADDER, make_plan, one_r, r_of_price
from profitguard.freqtrade.notify import _r
from profitguard.report.figures import r_against
from profitguard.report.records import Fill, TradeRecord
from profitguard.risk.book import r_multiple

prices = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
distances = st.floats(min_value=1e-4, max_value=0.9)


@given(entry=prices, distance=distances, price=prices, is_short=st.booleans())
def test_r_of_price_when_measured_then_equals_the_engines_plan_bit_for_bit(
    entry, distance, price, is_short
):
    stop = entry * (1 + distance) if is_short else entry * (1 - distance)
    plan = make_plan(
        R_LADDER, side="short" if is_short else "long", entry=entry, initial_stop=stop, amount=1.0
    )
    assert plan.risk == one_r(entry=entry, initial_stop=stop) == plan.entry_x - plan.initial_x
    r = r_of_price(price, entry=entry, initial_stop=stop, is_short=is_short)
    assert plan.r(price) == r
    trade = SimpleNamespace(open_rate=entry, is_short=is_short)
    assert _r(trade, price, stop) == r


@given(entry=prices, distance=distances, amount=prices, profit=prices)
def test_r_multiple_when_profit_given_then_profit_over_one_r_of_the_amount(
    entry, distance, amount, profit
):
    stop = entry * (1 - distance)
    risk = one_r(entry=entry, initial_stop=stop, amount=amount)
    assert risk == amount * abs(entry - stop)
    expected = profit / risk if risk > 0 else None
    assert r_multiple(profit, entry=entry, initial_stop=stop, amount=amount) == expected


def test_r_of_price_when_long_and_short_then_signed_for_the_side():
    assert r_of_price(104.0, entry=100.0, initial_stop=98.0, is_short=False) == 2.0
    assert r_of_price(96.0, entry=100.0, initial_stop=102.0, is_short=True) == 2.0
    assert r_of_price(101.0, entry=100.0, initial_stop=102.0, is_short=True) == -0.5


@given(entry=prices, distance=distances, exit_price=prices, amount=prices, is_short=st.booleans())
def test_report_r_when_a_trade_closes_then_the_gates_r_of_its_net_profit(
    entry, distance, exit_price, amount, is_short
):
    """The report's R of a closed trade (`TradeRecord.r`, `r_against` its own stop) is the
    gate's `r_multiple` of the same net profit: one formula for closed trades too."""
    stop = entry * (1 + distance) if is_short else entry * (1 - distance)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    trade = TradeRecord("BTC/USDT", is_short, at, at, entry, amount, stop, 0.001, 0.001,
                        (Fill("stop_loss", amount, exit_price, at),), "stop_loss",
                        None, None, None)  # fmt: skip
    expected = r_multiple(trade.net_profit, entry=entry, initial_stop=stop, amount=amount)
    assert trade.r == expected == r_against(trade, stop)
