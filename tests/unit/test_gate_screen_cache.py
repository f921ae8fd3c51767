"""The gate's verdict on the account (`screen`: the switches, the account limits, the
open-positions count) is kept for the entries of one candle, `custom_stake_amount` then
`confirm_trade_entry` of each, and made again as soon as anything the rules read changed:
a trade opened, filled, closed or gone, a stop moved, the equity, the time. After any such
sequence, the kept verdict equals the verdict made afresh."""

from __future__ import annotations

from datetime import timedelta

from freqtrade.enums import RunMode
from freqtrade.persistence import LocalTrade, Trade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profitguard.risk.pipeline import screen
from tests.unit.test_adapter_strategy import stop_of
from tests.unit.test_risk_gate import (
    NOW,
    Wallets,
    closed_trade,
    confirm,
    frame,
    no_database,
    open_trade,
    started,
)

__all__ = ["no_database"]  # the fixture: trades in memory, as in backtesting

PAIRS = ("A/USDT", "B/USDT", "ETH/USDT")
# tight limits, so that the steps below move the verdict between passing and refusing
RISK = {
    "max_consecutive_losses": 2,
    "loss_streak_cooldown_minutes": 60,
    "max_daily_loss": 0.01,
    "max_weekly_loss": 0.02,
    "max_open_positions": 2,
    "min_balance": 9_000.0,
    "max_correlated_positions": None,
}
STEP = st.one_of(
    st.tuples(st.just("open"), st.sampled_from(PAIRS), st.booleans()),
    st.tuples(st.just("close"), st.integers(0, 5), st.floats(-150.0, 60.0)),
    st.tuples(st.just("equity"), st.integers(0, 5), st.floats(8_500.0, 12_000.0)),
    st.tuples(st.just("stop"), st.integers(0, 5), st.floats(95.0, 110.0)),
    st.tuples(st.just("gone"), st.integers(0, 5), st.none()),
    st.tuples(st.just("later"), st.integers(0, 5), st.integers(1, 400)),
    st.tuples(st.just("entry"), st.integers(0, 2), st.none()),
)


def apply(strategy, step, number: int, now):
    """One step; returns the callback time after it."""
    kind, which, value = step
    trades = Trade.get_trades_proxy(is_open=True)
    if kind == "open":
        trade = open_trade(number, which)
        if value:  # the entry fill reported (else not yet: Freqtrade's stop only)
            strategy.order_filled(trade.pair, trade, trade.orders[0], now)
    elif kind == "close":  # a trade of this run closed a while ago, at a loss or a profit
        closed_trade(100 + number, value, now - timedelta(minutes=5 * (which + 1)))
    elif kind == "equity":
        strategy.wallets = Wallets(value)
    elif kind == "later":  # the next candles: the day, the week or a cooldown may roll over
        return now + timedelta(minutes=5 * value)
    elif kind == "entry":  # what Freqtrade asks for one entry signal
        pair = PAIRS[which]
        asked = strategy.custom_stake_amount(
            pair=pair, current_time=now, current_rate=100.0, proposed_stake=250.0,
            min_stake=5.0, max_stake=1e9, leverage=1.0, entry_tag=None, side="long",
        )  # fmt: skip
        if asked > 0:
            confirm(strategy, pair, at=now)
    elif trades:
        trade = trades[which % len(trades)]
        if kind == "stop":
            stop_of(strategy, trade, value, at=now)
        else:  # an entry order cancelled: the trade is removed, no callback
            LocalTrade.remove_bt_trade(trade)
    return now


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(steps=st.lists(STEP, max_size=14))
def test_screen_when_anything_the_rules_read_changes_then_the_kept_verdict_equals_a_fresh_one(
    tmp_path, steps
):
    LocalTrade.reset_trades()
    frames = {pair: frame([100.0] * 30) for pair in PAIRS}
    strategy = started(tmp_path, runmode=RunMode.BACKTEST, risk=RISK, frames=frames)
    gate = strategy._pg_gate
    now = NOW
    for number, step in enumerate(steps, start=1):
        now = apply(strategy, step, number, now)
        guard = gate.guard()
        _, kept = gate._screened(now, guard)
        assert kept == screen(gate.config, guard, gate.book.at(now, guard)), step


def test_screen_when_asked_again_with_nothing_changed_then_kept_not_made_again(tmp_path):
    strategy = started(tmp_path, runmode=RunMode.BACKTEST, risk=RISK)
    gate = strategy._pg_gate
    guard = gate.guard()
    _, first = gate._screened(NOW, guard)
    assert gate._screened(NOW, guard)[1] is first  # kept: the same candle, nothing changed
    closed_trade(7, -20.0, NOW - timedelta(minutes=10))  # a loss closed in between
    assert gate._screened(NOW, guard)[1] is not first
    strategy.wallets = Wallets(9_500.0)
    second = gate._screened(NOW, guard)[1]
    assert second is not first
    assert gate._screened(NOW + timedelta(minutes=5), guard)[1] is not second  # next candle
