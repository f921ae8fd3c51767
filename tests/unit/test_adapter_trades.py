"""Glue between Freqtrade trades and the engine, on real LocalTrade and Order objects."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from ccxt import DECIMAL_PLACES, TICK_SIZE
from freqtrade.enums import TradingMode
from freqtrade.exchange.exchange import Exchange
from freqtrade.exchange.exchange_utils import amount_to_contract_precision
from freqtrade.persistence import LocalTrade, Order
from freqtrade.util import FtPrecise
from hypothesis import given
from hypothesis import strategies as st

from profitguard.freqtrade.trades import (
    STATE_KEY,
    CorruptTradeState,
    TradeMemo,
    amount_step,
    exit_minimum,
    exit_stake,
    filled_exits,
    original_amount,
)

OPENED = datetime(2024, 1, 1, tzinfo=UTC)


def make_order(side: str, amount: float, price: float, *, tag: str | None = None, **kw) -> Order:
    fields = {
        "ft_order_side": side,
        "ft_pair": "BTC/USDT",
        "ft_is_open": False,
        "ft_amount": amount,
        "ft_price": price,
        "order_id": f"{side}-{amount}-{price}-{tag}",
        "status": "closed",
        "filled": amount,
        "amount": amount,
        "remaining": 0.0,
        "price": price,
        "average": price,
        "order_type": "market",
        "side": side,
        "ft_order_tag": tag,
        "order_date": OPENED,
        "order_filled_date": OPENED,
    }
    return Order(**(fields | kw))


def make_trade(
    amount: float = 10.0,
    price: float = 100.0,
    exits: tuple[tuple[float, float, str | None], ...] = (),
    *,
    is_short: bool = False,
    leverage: float = 1.0,
    step: float | None = 0.001,
    mode: int = TICK_SIZE,
) -> LocalTrade:
    """A trade with one filled entry and the given filled exits (amount, price, tag):
    spot, or a futures position (`is_short` or `leverage` > 1) whose stake is the
    margin, amount * price / leverage, as Freqtrade records it."""
    entry, exit_ = ("sell", "buy") if is_short else ("buy", "sell")
    futures = is_short or leverage != 1.0
    trade = LocalTrade(
        id=1,
        pair="BTC/USDT:USDT" if futures else "BTC/USDT",
        exchange="binance",
        open_rate=price,
        open_date=OPENED,
        amount=amount,
        stake_amount=amount * price / leverage,
        trading_mode=TradingMode.FUTURES if futures else TradingMode.SPOT,
        fee_open=0.0,
        fee_close=0.0,
        is_open=True,
        is_short=is_short,
        leverage=leverage,
        amount_precision=step,
        precision_mode=mode,
    )
    trade.orders.append(make_order(entry, amount, price, ft_pair=trade.pair))
    for exit_amount, exit_price, tag in exits:
        trade.orders.append(make_order(exit_, exit_amount, exit_price, tag=tag, ft_pair=trade.pair))
    trade.recalc_trade_from_orders()
    return trade


def freqtrade_amount(trade: LocalTrade, stake: float) -> float:
    """What Freqtrade's backtester exits for a negative `stake` (backtesting.py)."""
    return amount_to_contract_precision(
        abs(float(FtPrecise(stake) * FtPrecise(trade.amount) / FtPrecise(trade.stake_amount))),
        trade.amount_precision,
        trade.precision_mode,
        trade.contract_size,
    )


def test_filled_exits_when_orders_tagged_then_tags_split_and_open_orders_ignored():
    trade = make_trade(exits=((5.0, 104.0, "tp1,tp2"), (2.5, 103.0, "stop")))
    trade.orders.append(make_order("sell", 1.0, 110.0, tag="tp3", ft_is_open=True, status="open"))
    assert filled_exits(trade) == [(5.0, 104.0, ("tp1", "tp2")), (2.5, 103.0, ("stop",))]
    assert original_amount(trade) == 10.0
    assert trade.amount == pytest.approx(2.5)


def test_filled_exits_when_cancelled_with_partial_fill_then_the_filled_part_counts():
    trade = make_trade()
    trade.orders.append(make_order("sell", 5.0, 104.0, tag="tp1", status="canceled", filled=2.0))
    assert filled_exits(trade) == [(2.0, 104.0, ("tp1",))]


def test_filled_exits_when_cancelled_unfilled_then_nothing_counts():
    trade = make_trade()
    trade.orders.append(make_order("sell", 5.0, 104.0, tag="tp1", status="canceled", filled=0.0))
    assert filled_exits(trade) == []


def test_original_amount_when_short_then_entries_are_sells():
    trade = make_trade(is_short=True, exits=((5.0, 96.0, "tp1"),))
    assert original_amount(trade) == 10.0
    assert filled_exits(trade) == [(5.0, 96.0, ("tp1",))]


@pytest.mark.parametrize(
    ("precision", "mode", "step"),
    [(0.001, TICK_SIZE, 0.001), (3, DECIMAL_PLACES, 0.001), (None, TICK_SIZE, None)],
)
def test_amount_step_when_precision_mode_then_step(precision, mode, step):
    trade = make_trade(step=precision, mode=mode)
    assert amount_step(trade) == step


@given(
    steps=st.integers(2, 2_000_000),
    step_exp=st.integers(0, 8),
    price=st.floats(1e-6, 1e6),
    done=st.floats(0, 0.9),
    share=st.floats(0.0001, 1),
)
def test_exit_stake_when_converted_back_by_freqtrade_then_exactly_the_amount(
    steps, step_exp, price, done, share
):
    step = 10.0**-step_exp
    amount = round(steps * step, step_exp)
    closed = round(math.floor(steps * done) * step, step_exp)
    exits = ((closed, price * 1.05, "tp1"),) if closed else ()
    trade = make_trade(amount, price, exits, step=step)
    remaining = trade.amount
    wanted = round(math.floor(remaining * share / step + 1e-9) * step, step_exp)
    if wanted <= 0:
        return
    stake = exit_stake(trade, wanted, step)
    assert stake < 0
    assert freqtrade_amount(trade, stake) == pytest.approx(wanted, abs=step * 1e-6)
    assert -stake <= trade.stake_amount  # never more than the trade: Freqtrade would skip it


def test_exit_stake_when_everything_then_the_trades_own_stake():
    trade = make_trade(10.0, 100.0, ((5.0, 104.0, "tp1"),))
    assert exit_stake(trade, trade.amount, 0.001) == -trade.stake_amount


def test_memo_when_round_tripped_through_a_record_then_equal():
    memo = TradeMemo(trade_id=7, opened_at=OPENED, initial_stop=98.0, best=105.0, worst=99.0)
    memo.notified.add("breakeven")
    again = TradeMemo.from_record(memo.record(), trade_id=7, opened_at=OPENED)
    assert again.record() == memo.record()
    assert again.written == memo.record()


@pytest.mark.parametrize(
    ("record", "match"),
    [
        ("garbage", f"custom data '{STATE_KEY}' is 'garbage'"),
        ({"v": 2}, f"custom data '{STATE_KEY}' is"),
        (
            {"v": 1, "initial_stop": "98", "best": 1, "worst": 1},
            r"'profitguard.initial_stop' is '98'",
        ),
        ({"v": 1, "initial_stop": 98, "best": -1, "worst": 1}, r"'profitguard.best' is -1"),
        ({"v": 1, "initial_stop": 98, "best": 1, "worst": 1, "notified": "x"}, "notified' is 'x'"),
    ],
)
def test_memo_when_record_corrupt_then_error_names_the_key(record, match):
    with pytest.raises(CorruptTradeState, match=match):
        TradeMemo.from_record(record, trade_id=7, opened_at=OPENED)


def freqtrade_min_stake(cost: float | None, amount: float | None, price, stoploss, reserve):
    """Freqtrade's own minimum stake (`Exchange._get_stake_amount_limit`), for one
    market with these limits, run on a stand-in for the exchange object."""
    exchange = SimpleNamespace(
        markets={"X/USDT": {"limits": {"cost": {"min": cost}, "amount": {"min": amount}}}},
        _config={"amount_reserve_percent": reserve},
        _contracts_to_amount=lambda pair, value: value,
        _get_stake_amount_considering_leverage=lambda stake, leverage: stake / leverage,
    )
    return Exchange._get_stake_amount_limit(exchange, "X/USDT", price, stoploss, "min")


@given(
    cost=st.one_of(st.none(), st.floats(0.1, 1000)),
    amount=st.one_of(st.none(), st.floats(1e-6, 10)),
    price=st.floats(1e-4, 1e5),
    stoploss=st.floats(-0.99, 0.0),
    reserve=st.floats(0.0, 0.6),
)
def test_exit_minimum_when_live_then_at_least_what_freqtrade_checks_the_remainder_against(
    cost, amount, price, stoploss, reserve
):
    handed = freqtrade_min_stake(cost, amount, price, 0.0, reserve)  # adjust_trade_position's
    checked = freqtrade_min_stake(cost, amount, price, stoploss, reserve)  # the exit's check
    minimum = exit_minimum(handed, stoploss, reserve, live=True)
    if handed is None:
        assert minimum == 0.0 and checked is None
        return
    assert minimum >= checked * (1 - 1e-12)
    if amount is None:  # the cost limit decides: exactly Freqtrade's figure
        assert minimum == pytest.approx(checked, rel=1e-12)


def test_exit_minimum_when_backtesting_then_the_figure_freqtrade_handed_over():
    assert exit_minimum(6.0, -0.10, 0.05, live=False) == 6.0
    assert exit_minimum(None, -0.10, 0.05, live=False) == 0.0


@given(
    is_short=st.booleans(),
    leverage=st.sampled_from([1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 125.0]),
    tick_exp=st.integers(-4, 1),
    rate_ticks=st.integers(1_000, 10_000_000),
    away=st.floats(0.0001, 0.5),
)
def test_stop_ratio_when_freqtrade_rebuilds_and_rounds_then_the_stop_on_its_tick(
    is_short, leverage, tick_exp, rate_ticks, away
):
    """A stop on the tick grid comes back from Freqtrade's own round trip
    (LocalTrade.adjust_stop_loss: ratio -> price -> rounded to the tight side) as itself."""
    from profitguard.freqtrade.trades import stop_ratio

    tick = 10.0**tick_exp
    rate = round(rate_ticks * tick, 8)
    stop_ticks = round(rate_ticks * (1 + away if is_short else 1 - away))
    stop = round(stop_ticks * tick, 8)
    if stop <= 0 or stop == rate:
        return
    trade = make_trade(1.0, rate, is_short=is_short, leverage=leverage)
    trade.price_precision, trade.precision_mode_price = tick, TICK_SIZE
    ratio = stop_ratio(stop, rate, is_short=is_short, leverage=leverage)
    trade.adjust_stop_loss(rate, ratio, allow_refresh=True)
    assert trade.stop_loss == stop
