"""The initial stop Freqtrade records on a trade, made profitguard's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freqtrade.persistence import LocalTrade

from profitguard.freqtrade.initial_stop import show_initial_stop


def make_trade(*, is_short: bool, leverage: float = 1.0) -> LocalTrade:
    trade = LocalTrade(
        pair="BTC/USDT",
        stake_amount=100.0,
        amount=1.0,
        open_rate=100.0,
        fee_open=0.001,
        fee_close=0.001,
        open_date=datetime(2025, 1, 1, tzinfo=UTC),
        exchange="binance",
        is_short=is_short,
        leverage=leverage,
    )
    trade.adjust_stop_loss(trade.open_rate, -0.10, initial=True)  # Freqtrade's backstop
    return trade


@pytest.mark.parametrize(
    ("is_short", "stop", "ratio"), [(False, 98.0, -0.02), (True, 103.0, -0.03)]
)
def test_show_initial_stop_when_backstop_then_profitguards_stop_and_ratio(is_short, stop, ratio):
    trade = make_trade(is_short=is_short)
    backstop = trade.stop_loss
    assert trade.initial_stop_loss == backstop
    assert show_initial_stop(trade, stop) is True
    assert trade.initial_stop_loss == stop
    assert trade.initial_stop_loss_pct == pytest.approx(ratio)
    assert trade.stop_loss == backstop  # only the record: the stop in force is custom_stoploss's
    assert show_initial_stop(trade, stop) is False  # once written, nothing to do


def test_show_initial_stop_when_leveraged_then_ratio_times_leverage_as_freqtrade_stores_it():
    trade = make_trade(is_short=False, leverage=3.0)
    show_initial_stop(trade, 98.0)
    assert trade.initial_stop_loss_pct == pytest.approx(-0.06)
    assert trade.to_json()["initial_stop_loss_abs"] == 98.0  # what the export and the API show


@pytest.mark.parametrize("keep", [True, False])
def test_initial_stop_when_bot_restarts_then_freqtrades_startup_keeps_the_stop(tmp_path, keep):
    """Freqtrade's start-up resets the stop of a trade whose initial ratio differs from
    the strategy's `stoploss` (the backstop) unless the stop has trailed: in dry-run and
    live the record is written so that a restart never loosens the stop."""
    from freqtrade.persistence import Trade, init_db

    init_db(f"sqlite:///{tmp_path / 'trades.sqlite'}")
    try:
        trade = Trade(
            pair="BTC/USDT", stake_amount=100.0, amount=1.0, open_rate=100.0, fee_open=0.001,
            fee_close=0.001, open_date=datetime(2025, 1, 1, tzinfo=UTC), exchange="binance",
            is_open=True,
        )  # fmt: skip
        trade.adjust_stop_loss(trade.open_rate, -0.10, initial=True)  # Freqtrade's backstop
        trade.adjust_stop_loss(trade.open_rate, -0.02, allow_refresh=True)  # after the fill
        show_initial_stop(trade, 98.0, keep_across_restart=keep)
        Trade.session.add(trade)
        Trade.commit()

        Trade.stoploss_reinitialization(-0.10)  # the bot starting again

        if keep:
            assert (trade.stop_loss, trade.initial_stop_loss) == (98.0, 98.0)
        else:  # what the flag prevents (backtesting never restarts): both back to the backstop
            assert (trade.stop_loss, trade.initial_stop_loss) == (90.0, 90.0)
    finally:
        Trade.session.remove()
