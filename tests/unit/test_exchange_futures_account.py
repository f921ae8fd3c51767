"""Position and margin arithmetic of the offline exchange's futures account (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profitguard.tooling.exchange.futures_account import (
    apply_trade,
    closable,
    initial_margin,
    liquidation_price,
    reduce_only_refusal,
    unrealized_pnl,
)


@pytest.mark.parametrize(
    ("amount", "entry", "side", "qty", "price", "expected"),
    [
        # open a short, add to it: the entry is the size-weighted average
        (0.0, 0.0, "SELL", 3.0, 100.0, (-3.0, 100.0, 0.0, 3.0, 0.0)),
        (-3.0, 100.0, "SELL", 1.0, 104.0, (-4.0, 101.0, 0.0, 1.0, 0.0)),
        # a short covered lower realizes the fall times the amount covered
        (-3.0, 100.0, "BUY", 1.0, 95.0, (-2.0, 100.0, 1.0, 0.0, 5.0)),
        (-3.0, 100.0, "BUY", 3.0, 105.0, (0.0, 0.0, 3.0, 0.0, -15.0)),
        # a long sold higher; and a flip: the rest opens a short at the trade price
        (2.0, 50.0, "SELL", 2.0, 60.0, (0.0, 0.0, 2.0, 0.0, 20.0)),
        (2.0, 50.0, "SELL", 5.0, 60.0, (-3.0, 60.0, 2.0, 3.0, 20.0)),
    ],
)
def test_apply_trade_when_opening_adding_reducing_or_flipping_then_amount_entry_and_pnl(
    amount, entry, side, qty, price, expected
):
    effect = apply_trade(amount, entry, side, qty, price)
    got = (effect.amount, effect.entry_price, effect.closed, effect.opened, effect.realized_pnl)
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("qty", "price", "message"),
    [(0.0, 100.0, "positive qty"), (1.0, -1.0, "positive qty"), (1.0, 0.0, "positive qty")],
)
def test_apply_trade_when_bad_qty_or_price_then_value_error_names_them(qty, price, message):
    with pytest.raises(ValueError, match=message):
        apply_trade(0.0, 0.0, "BUY", qty, price)


def test_apply_trade_when_side_unknown_then_value_error():
    with pytest.raises(ValueError, match="side must be 'BUY' or 'SELL', was 'buy'"):
        apply_trade(0.0, 0.0, "buy", 1.0, 1.0)


@pytest.mark.parametrize(
    ("amount", "side", "qty", "refused"),
    [
        (-3.0, "BUY", 3.0, False),  # closes the short exactly
        (-3.0, "BUY", 1.0, False),
        (-3.0, "BUY", 3.001, True),  # would flip to a long
        (-3.0, "SELL", 1.0, True),  # would grow the short
        (0.0, "BUY", 1.0, True),  # nothing to reduce
        (0.0, "SELL", 1.0, True),
        (2.0, "SELL", 2.0, False),
        (2.0, "BUY", 0.5, True),
    ],
)
def test_reduce_only_when_it_would_open_grow_or_over_close_then_refused(amount, side, qty, refused):
    assert (reduce_only_refusal(amount, side, qty) is not None) is refused


def test_initial_margin_when_3x_then_a_third_of_the_notional():
    assert initial_margin(3.0, 100.0, 3) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="leverage must be at least 1, was 0"):
        initial_margin(1.0, 1.0, 0)


@pytest.mark.parametrize("is_short", [False, True])
def test_liquidation_price_when_isolated_then_margin_plus_pnl_meets_maintenance(is_short):
    amount, entry, leverage, mmr = (-2.0 if is_short else 2.0), 100.0, 3, 0.01
    margin = initial_margin(abs(amount), entry, leverage)
    liq = liquidation_price(amount, entry, margin, mmr, 0.0)
    assert (liq > entry) is is_short
    # at that mark the isolated margin plus the unrealized PnL is the maintenance margin
    equity = margin + unrealized_pnl(amount, entry, liq)
    assert equity == pytest.approx(abs(amount) * liq * mmr)
    assert liquidation_price(0.0, 0.0, 0.0, mmr, 0.0) == 0.0


trade_steps = st.lists(
    st.tuples(
        st.sampled_from(["BUY", "SELL"]),
        st.integers(min_value=1, max_value=500).map(lambda n: n / 100),
        st.integers(min_value=5000, max_value=15000).map(lambda n: n / 100),
        st.booleans(),
    ),
    min_size=1,
    max_size=30,
)


@given(trade_steps)
def test_reduce_only_trades_never_flip_and_pnl_adds_up_to_the_cash_flows(steps):
    """Property: with reduce-only orders refused when over-closing, the position never
    changes sign through one; and the PnL realized over a sequence that ends flat
    equals the cash flows (sells minus buys) of its trades."""
    amount, entry, realized, cash = 0.0, 0.0, 0.0, 0.0
    for side, qty, price, reduce_only in steps:
        if reduce_only:
            if reduce_only_refusal(amount, side, qty) is not None:
                continue
            assert qty <= closable(amount, side) + 1e-12
        effect = apply_trade(amount, entry, side, qty, price)
        if reduce_only:
            assert effect.opened == 0.0 and effect.amount * amount >= 0
            assert abs(effect.amount) < abs(amount)
        realized += effect.realized_pnl
        cash += qty * price * (1 if side == "SELL" else -1)
        amount, entry = effect.amount, effect.entry_price
    if amount != 0:  # close what is left at the last price
        side = "BUY" if amount < 0 else "SELL"
        effect = apply_trade(amount, entry, side, abs(amount), steps[-1][2])
        realized += effect.realized_pnl
        cash += abs(amount) * steps[-1][2] * (1 if side == "SELL" else -1)
    assert realized == pytest.approx(cash, abs=1e-6)
