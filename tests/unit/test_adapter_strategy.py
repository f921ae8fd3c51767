"""ProfitGuardStrategy's callbacks on a real strategy instance and real LocalTrades.

Start-up validation, the stop it returns, and failing closed: an error inside a
callback never loosens the stop and never places an order.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timedelta

import pytest
from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.persistence import CustomDataWrapper
from freqtrade.strategy import stoploss_from_absolute
from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardStrategy, backtest_stops
from profitguard.freqtrade.trades import STATE_KEY, exit_stake
from tests.unit.test_adapter_trades import OPENED, make_trade


class NoSignals:
    """The populate_* methods of a test strategy that never trades by itself."""

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe


class Fixture(NoSignals, ProfitGuardStrategy):
    timeframe = "5m"
    profitguard_config = {"initial_stop": {"pct": 0.02}}  # noqa: RUF012


@pytest.fixture(autouse=True)
def in_memory_custom_data():
    """Custom data as in backtesting: in memory, cleared around each test."""
    CustomDataWrapper.use_db = False
    CustomDataWrapper.reset_custom_data()
    yield
    CustomDataWrapper.reset_custom_data()
    CustomDataWrapper.use_db = True


def started(cls=Fixture, **config) -> ProfitGuardStrategy:
    """A started strategy (backtesting unless `runmode` says otherwise; dry-run
    keeps its guard and status files in a fresh temporary user_data)."""
    userdir = tempfile.mkdtemp(prefix="profitguard-test-")
    base = {
        "runmode": RunMode.BACKTEST,
        "timeframe": "5m",
        "stake_currency": "USDT",
        "user_data_dir": userdir,
        "db_url": f"sqlite:///{userdir}/tradesv3.dryrun.sqlite",
    }
    strategy = cls(base | config)
    strategy.dp = DataProvider(base | config, exchange=None)
    strategy.ft_bot_start()
    return strategy


def stop_of(strategy, trade, rate: float, at: datetime = OPENED, after_fill: bool = False):
    return strategy.custom_stoploss(
        pair=trade.pair,
        trade=trade,
        current_time=at,
        current_rate=rate,
        current_profit=0.0,
        after_fill=after_fill,
    )


def adjust(strategy, trade, rate: float, at: datetime = OPENED, min_stake: float = 5.0):
    return strategy.adjust_trade_position(
        trade=trade,
        current_time=at,
        current_rate=rate,
        current_profit=0.0,
        min_stake=min_stake,
        max_stake=1e9,
        current_entry_rate=rate,
        current_exit_rate=rate,
        current_entry_profit=0.0,
        current_exit_profit=0.0,
    )


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"profitguard": {"exits": {"trail_pct": 2}}}, r"'profitguard.exits.trail_pct' must be"),
        (
            {"profitguard": {"exit": {}}},
            r"unknown setting 'profitguard.exit'. Did you mean 'exits'",
        ),
        ({"profitguard": {"initial_stop": {"pct": 0}}}, r"'profitguard.initial_stop.pct' must be"),
        ({"profitguard": {"initial_stop": {"atr_multiplier": 2}}}, r"Did you mean 'atr_multiple'"),
        ({"profitguard": {"notifications": "yes"}}, r"'profitguard.notifications' must be true"),
        ({"profitguard": []}, r"'profitguard' must be an object"),
    ],
)
def test_bot_start_when_setting_invalid_then_stops_naming_field_and_value(config, match):
    with pytest.raises(OperationalException, match=match):
        started(**config)


def test_bot_start_when_config_turns_position_adjustment_off_then_refuses():
    class Off(Fixture):
        position_adjustment_enable = False

    with pytest.raises(OperationalException, match="'position_adjustment_enable' must be true"):
        started(Off)


def test_settings_when_config_section_present_then_it_wins_key_by_key():
    strategy = started(profitguard={"exits": {"preset": "scaled_pct"}, "initial_stop": {}})
    assert strategy.profitguard_settings.exits.tp_unit == "pct"
    assert strategy.profitguard_settings.initial_stop.pct == 0.02  # the class's, kept


def initial_stop_stored(strategy, trade) -> float:
    """Where the initial stop is kept: custom data in dry-run/live, the run's ledger
    in backtesting."""
    if strategy.config["runmode"] in (RunMode.DRY_RUN, RunMode.LIVE):
        return trade.get_custom_data(STATE_KEY)["initial_stop"]
    assert trade.get_custom_data(STATE_KEY) is None  # backtesting writes none
    return backtest_stops.initial_stop_of(trade)


@pytest.mark.parametrize("runmode", [RunMode.BACKTEST, RunMode.DRY_RUN])
def test_custom_stoploss_when_entry_filled_then_initial_stop_from_the_fill(runmode):
    strategy = started(runmode=runmode)
    trade = make_trade(10.0, 100.0)
    strategy.order_filled(trade.pair, trade, trade.orders[0], OPENED)
    ratio = stop_of(strategy, trade, 100.0, after_fill=True)
    assert ratio == pytest.approx(stoploss_from_absolute(98.0, 100.0))
    assert initial_stop_stored(strategy, trade) == pytest.approx(98.0)


def test_custom_stoploss_when_price_rises_then_ladder_stop_and_tp_waits_for_adjust():
    strategy = started()
    trade = make_trade(10.0, 100.0)
    later = OPENED + timedelta(minutes=5)
    ratio = stop_of(strategy, trade, 104.5, at=later)  # 2.25R seen at the high
    assert ratio == pytest.approx(stoploss_from_absolute(102.0, 104.5))  # 1R
    stake, tag = adjust(strategy, trade, 103.0, at=later + timedelta(minutes=5))
    assert tag == "tp1"
    assert stake == pytest.approx(-(5.0005) * trade.stake_amount / trade.amount)


def test_adjust_when_an_order_is_open_then_waits():
    strategy = started()
    trade = make_trade(10.0, 100.0)
    trade.orders.append(trade.orders[0].__class__(**{
        **{c: getattr(trade.orders[0], c) for c in ("ft_pair", "order_type", "order_date")},
        "ft_order_side": "sell", "ft_is_open": True, "status": "open", "ft_amount": 5.0,
        "ft_price": 104.0, "order_id": "open-tp1", "side": "sell", "ft_order_tag": "tp1",
    }))  # fmt: skip
    assert adjust(strategy, trade, 105.0) is None


def test_adjust_when_price_already_through_the_stop_then_exits_everything():
    strategy = started()
    trade = make_trade(10.0, 100.0)
    stop_of(strategy, trade, 100.0)
    assert adjust(strategy, trade, 97.0) == (-trade.stake_amount, "stop")


def test_adjust_when_level_too_small_for_the_exchange_then_skipped_and_carried():
    strategy = started()
    trade = make_trade(0.1, 100.0)  # worth 10: 50% is 5, below a 6 minimum order
    stop_of(strategy, trade, 104.5)
    assert adjust(strategy, trade, 104.5, min_stake=6.0) is None
    # at TP2 the carried 50% and TP2's 25% go together (0.075 worth 7.95 >= 6),
    # and the 0.025 left (2.6) is below the minimum: everything
    stop_of(strategy, trade, 106.0)
    assert adjust(strategy, trade, 106.0, min_stake=6.0) == (-trade.stake_amount, "tp1,tp2")


@pytest.mark.parametrize(
    ("runmode", "expected"),
    [
        # Freqtrade's backtester checks the remainder against the figure it hands over
        (RunMode.BACKTEST, (exit_stake(make_trade(0.09, 100.0), 0.045, 0.001), "tp1")),
        # dry-run hands over the entry minimum (4.5 for a stoploss of 0) but refuses a
        # remainder below 5.0 (the minimum for stoploss -0.10): 0.045 left (4.70) would
        # be refused on every loop, so TP1 is carried to TP2 instead
        (RunMode.DRY_RUN, None),
    ],
)
def test_adjust_when_remainder_between_the_entry_and_exit_minimums_then_what_freqtrade_accepts(
    runmode, expected
):
    strategy = started(runmode=runmode)
    trade = make_trade(0.09, 100.0)  # TP1 at 104: 0.045 out, 0.045 (worth 4.70) left
    stop_of(strategy, trade, 104.5)
    assert adjust(strategy, trade, 104.5, min_stake=4.5) == expected


def test_custom_stoploss_when_record_corrupt_then_none_and_logged_once(caplog):
    strategy = started(runmode=RunMode.DRY_RUN)  # where a record is read back
    trade = make_trade(10.0, 100.0)
    trade.set_custom_data(STATE_KEY, {"v": 1, "initial_stop": "oops"})
    with caplog.at_level(logging.ERROR):
        assert stop_of(strategy, trade, 101.0) is None
        assert stop_of(strategy, trade, 102.0) is None
        assert adjust(strategy, trade, 110.0) is None  # no order on a state we cannot read
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2  # once per hook
    assert "custom_stoploss failed for trade 1 (BTC/USDT)" in errors[0].getMessage()
    assert "the stop is left where it is" in errors[0].getMessage()
    assert "'profitguard.initial_stop' is 'oops'" in errors[0].getMessage()


def test_callback_failure_when_record_corrupt_then_sent_once_per_hook_and_cause(monkeypatch):
    strategy = started(runmode=RunMode.DRY_RUN)
    sent = []
    monkeypatch.setattr(strategy.dp, "send_msg", lambda message, **kw: sent.append(message))
    trade = make_trade(10.0, 100.0)
    trade.set_custom_data(STATE_KEY, {"v": 1, "initial_stop": "oops"})
    for rate in (101.0, 102.0, 103.0):
        assert stop_of(strategy, trade, rate) is None
    assert adjust(strategy, trade, 110.0) is None
    assert len(sent) == 2  # custom_stoploss and adjust_trade_position, once each
    assert "custom_stoploss failed for trade 1 (BTC/USDT)" in sent[0]
    assert "'profitguard.initial_stop' is 'oops'" in sent[0]
    assert "the stop is left where it is" in sent[0]
    assert "adjust_trade_position failed for trade 1" in sent[1]


def test_callback_failure_when_messages_differ_then_one_key_per_trade_hook_and_cause(monkeypatch):
    strategy = started(runmode=RunMode.DRY_RUN)
    sent = []
    monkeypatch.setattr(strategy.dp, "send_msg", lambda message, **kw: sent.append(message))
    trade = make_trade(10.0, 100.0)
    for i in range(50):  # a message holding a changing figure must not grow the set
        strategy._pg_failed("custom_stoploss", trade, ValueError(f"rate {i}"))
    assert len(sent) == 1
    assert len(strategy._pg_failures.keys) == 1
    fill(trade, 10.0, 101.0, "stop")  # the trade closes: its keys are forgotten
    trade.is_open = False
    strategy.order_filled(trade.pair, trade, trade.orders[-1], OPENED)
    assert not strategy._pg_failures.keys


def test_custom_stoploss_when_initial_stop_hook_returns_wrong_side_then_none(caplog):
    class Broken(Fixture):
        def initial_stop(self, pair, side, entry_rate, current_time, dataframe, **kwargs):
            return entry_rate * 1.01  # above the entry of a long

    strategy = started(Broken)
    trade = make_trade(10.0, 100.0)
    with caplog.at_level(logging.ERROR):
        assert stop_of(strategy, trade, 100.0) is None
    assert "initial_stop() returned 101.0: 'initial_stop' must be below the entry (100.0)" in (
        caplog.text
    )


def test_callbacks_when_backtest_restarts_then_state_of_the_previous_run_is_dropped():
    strategy = started()
    trade = make_trade(10.0, 100.0)
    late = OPENED + timedelta(days=1)
    stop_of(strategy, trade, 104.5, at=late)  # peak 2.25R in the first run
    CustomDataWrapper.reset_custom_data()  # Freqtrade does this for each backtest
    ratio = stop_of(strategy, trade, 100.5, at=OPENED)  # a new run: same trade id, earlier time
    assert ratio == pytest.approx(stoploss_from_absolute(98.0, 100.5))  # not the old 1R stop


def test_callbacks_when_time_jumps_back_without_a_run_start_then_one_new_run_not_one_per_call():
    calls = []

    class Counting(Fixture):
        def initial_stop(self, pair, side, entry_rate, current_time, dataframe, **kwargs):
            calls.append(current_time)
            return entry_rate * 0.98

    strategy = started(Counting)
    trade = make_trade(10.0, 100.0)
    stop_of(strategy, trade, 104.5, at=OPENED + timedelta(days=1))  # the first run ends late
    for minutes in (0, 5, 10, 15):  # a second run, noticed only by the time going back
        stop_of(strategy, trade, 100.5, at=OPENED + timedelta(minutes=minutes))
    assert len(calls) == 2  # the initial stop placed once per run, then kept
    assert backtest_stops.initial_stop_of(trade) == pytest.approx(98.0)


class WithAtr(Fixture):
    """An analyzed dataframe whose last closed candle has ATR 1.5."""

    def analyzed(self, pair):
        return DataFrame({"close": [100.0, 100.0], "atr": [float("nan"), 1.5]})


def test_initial_stop_when_dataframe_has_atr_then_atr_multiple_from_the_entry():
    strategy = started(WithAtr)
    trade = make_trade(10.0, 100.0)
    strategy.order_filled(trade.pair, trade, trade.orders[0], OPENED)
    assert initial_stop_stored(strategy, trade) == pytest.approx(97.0)  # 2 x 1.5


def test_atr_trailing_when_enabled_then_chandelier_stop_from_the_peak():
    strategy = started(WithAtr, profitguard={"exits": {"preset": "none", "trail_atr_multiple": 3}})
    trade = make_trade(10.0, 100.0)
    ratio = stop_of(strategy, trade, 110.0)
    assert ratio == pytest.approx(stoploss_from_absolute(110.0 - 4.5, 110.0))
    assert initial_stop_stored(strategy, trade) == pytest.approx(97.0)


class WithWiderAtr(Fixture):
    def analyzed(self, pair):
        return DataFrame({"close": [100.0], "atr": [3.0]})


def test_restart_when_atr_trailing_then_the_stop_reached_before_is_kept():
    exits = {"profitguard": {"exits": {"preset": "none", "trail_atr_multiple": 3}}}
    before = started(WithAtr, runmode=RunMode.DRY_RUN, **exits)
    trade = make_trade(10.0, 100.0)
    stop_of(before, trade, 110.0)  # 110 - 3 x 1.5
    after = started(WithWiderAtr, runmode=RunMode.DRY_RUN, **exits)  # the bot restarted
    ratio = stop_of(after, trade, 108.0, at=OPENED + timedelta(minutes=5))  # 110 - 9 is lower
    assert ratio == pytest.approx(stoploss_from_absolute(105.5, 108.0))


def test_restart_when_a_level_was_skipped_then_the_same_decisions_as_without_restart():
    before = started(runmode=RunMode.DRY_RUN)
    trade = make_trade(0.1, 100.0)  # worth 10: 50% is 5, below a 6 minimum order
    stop_of(before, trade, 104.5)
    assert adjust(before, trade, 104.5, min_stake=6.0) is None  # TP1 passed without an order
    after = started(runmode=RunMode.DRY_RUN)  # the bot restarted
    assert adjust(after, trade, 104.5, min_stake=6.0) is None  # still below the minimum
    # once the exchange takes it, the level's amount is asked for, restart or not
    expected = adjust(before, trade, 104.5, min_stake=4.0)
    assert expected is not None and expected[1] == "tp1"
    assert adjust(after, trade, 104.5, min_stake=4.0) == expected


def fill(
    trade, amount: float, price: float, tag: str, *, status="closed", filled=None, side="sell"
):
    """Freqtrade records an exit order on the trade (filled, or cancelled unfilled)."""
    from tests.unit.test_adapter_trades import make_order

    order = make_order(side, amount, price, tag=tag, status=status, ft_pair=trade.pair)
    order.filled = amount if filled is None else filled
    trade.orders.append(order)
    trade.recalc_trade_from_orders()


@pytest.mark.parametrize("tag", [None, "force_exit"])
def test_restart_when_tp1_fill_has_no_level_tag_then_tp1_not_repeated(tag):
    # Freqtrade records an exchange order it recovers after a crash without a tag; a
    # user's forceexit has none of ours either: the amount says TP1 is done
    before = started(runmode=RunMode.DRY_RUN)
    trade = make_trade(10.0, 100.0)
    stop_of(before, trade, 104.5)
    assert adjust(before, trade, 104.5)[1] == "tp1"
    fill(trade, 5.0, 104.5, tag)
    after = started(runmode=RunMode.DRY_RUN)  # the bot restarted
    assert adjust(after, trade, 105.0) is None  # was: the whole remainder, tagged tp1
    stop_of(after, trade, 106.5)
    stake, exit_tag_ = adjust(after, trade, 106.5)
    assert exit_tag_ == "tp2"
    assert stake == pytest.approx(-(2.5005) * trade.stake_amount / trade.amount)


def test_adjust_when_tp1_filled_then_next_exit_is_tp2_never_tp1_again():
    strategy = started()
    trade = make_trade(10.0, 100.0)
    stop_of(strategy, trade, 104.5)
    assert adjust(strategy, trade, 104.5)[1] == "tp1"
    fill(trade, 5.0, 104.5, "tp1")
    assert adjust(strategy, trade, 105.0) is None  # nothing new: tp1 is taken
    stop_of(strategy, trade, 106.5)
    stake, tag = adjust(strategy, trade, 106.5)
    assert tag == "tp2"
    assert stake == pytest.approx(-(2.5005) * trade.stake_amount / trade.amount)


def test_adjust_when_freqtrade_placed_no_order_then_the_level_is_asked_again():
    strategy = started()
    trade = make_trade(10.0, 100.0)
    stop_of(strategy, trade, 104.5)
    assert adjust(strategy, trade, 104.5)[1] == "tp1"
    # Freqtrade placed nothing (exchange limits, a refused order): nothing was taken
    stake, tag = adjust(strategy, trade, 104.4)
    assert tag == "tp1"
    assert stake == pytest.approx(-(5.0005) * trade.stake_amount / trade.amount)


def test_callbacks_when_trade_id_reused_by_a_new_trade_then_its_own_state():
    strategy = started()
    first = make_trade(10.0, 100.0)
    stop_of(strategy, first, 104.5)  # peak 2.25R: stop at 1R (102)
    second = make_trade(10.0, 100.0)  # the same id (its database row was reused)
    second.open_date = OPENED + timedelta(hours=1)
    ratio = stop_of(strategy, second, 100.5, at=second.open_date)
    assert ratio == pytest.approx(stoploss_from_absolute(98.0, 100.5))  # not the first's 102


def test_adjust_when_tp1_order_cancelled_unfilled_then_tp1_asked_again():
    strategy = started()
    trade = make_trade(10.0, 100.0)
    stop_of(strategy, trade, 104.5)
    assert adjust(strategy, trade, 104.5)[1] == "tp1"
    fill(trade, 5.0, 104.5, "tp1", status="canceled", filled=0.0)
    assert adjust(strategy, trade, 103.0)[1] == "tp1"  # retried at the next price


def test_notifications_when_dry_run_then_breakeven_fill_and_stop_sent_once_each():
    strategy = started(runmode=RunMode.DRY_RUN)
    trade = make_trade(10.0, 100.0)
    strategy.order_filled(trade.pair, trade, trade.orders[0], OPENED)
    stop_of(strategy, trade, 102.5)  # 1.25R: stop to breakeven
    stop_of(strategy, trade, 102.6)  # still there: no second message
    stop_of(strategy, trade, 104.5)
    adjust(strategy, trade, 104.5)
    fill(trade, 5.0, 104.5, "tp1")
    strategy.order_filled(trade.pair, trade, trade.orders[-1], OPENED)
    strategy.order_filled(trade.pair, trade, trade.orders[-1], OPENED)  # Freqtrade may repeat
    fill(trade, 5.0, 102.0, "trailing_stop_loss")
    strategy.order_filled(trade.pair, trade, trade.orders[-1], OPENED)
    messages = list(strategy.dp._msg_queue)
    assert len(messages) == 3, messages
    assert "BTC/USDT (trade 1) stop moved to breakeven or better: 100" in messages[0]
    assert "take-profit tp1 filled: 5 at 104.5 (+2.25R)" in messages[1]
    assert "stopped out: 5 at 102 (+1.00R)" in messages[2]
    saved = trade.get_custom_data(STATE_KEY)
    assert "breakeven" in saved["notified"]  # a restart does not send it again


def test_order_filled_when_dry_run_partial_exit_leaves_as_much_then_trade_kept_in_memory():
    strategy = started(runmode=RunMode.DRY_RUN)
    trade = make_trade(10.0, 100.0)
    strategy.order_filled(trade.pair, trade, trade.orders[0], OPENED)
    memo = strategy._pg_tracker.memos[trade.id]
    fill(trade, 5.0, 104.5, "tp1")  # as in dry-run: the trade is updated first (5 left)
    strategy.order_filled(trade.pair, trade, trade.orders[-1], OPENED)
    assert strategy._pg_tracker.memos[trade.id] is memo  # still open: not forgotten and reloaded
    fill(trade, 5.0, 102.0, "stop_loss")
    trade.is_open = False  # the last exit closes it before the callback
    strategy.order_filled(trade.pair, trade, trade.orders[-1], OPENED)
    assert trade.id not in strategy._pg_tracker.memos


def test_notifications_when_backtesting_then_nothing_is_sent():
    strategy = started()
    trade = make_trade(10.0, 100.0)
    stop_of(strategy, trade, 102.5)
    assert list(strategy.dp._msg_queue) == []


def test_new_candle_when_dry_run_then_trade_state_carries_on():
    strategy = started(runmode=RunMode.DRY_RUN)
    trade = make_trade(10.0, 100.0)
    stop_of(strategy, trade, 104.5)
    memo = strategy._pg_tracker.memos[trade.id]
    frame = DataFrame({"date": [OPENED], "open": [1.0], "high": [1.0], "low": [1.0],
                       "close": [1.0], "volume": [1.0]})  # fmt: skip
    strategy.ft_advise_signals(frame, {"pair": trade.pair})  # Freqtrade, on each new candle
    stop_of(strategy, trade, 104.0, at=OPENED + timedelta(minutes=5))
    assert strategy._pg_tracker.memos[trade.id] is memo  # not thrown away and reloaded


# ------------------------------------------------ both sides, leverage 1 and 3
#
# Entry 100, initial stop 2% away (98 long, 102 short): 1R = 2. Prices are mirrored
# for a short (`at(r)`), so every assertion holds for both sides. Freqtrade's own
# code turns what the strategy returns into the stop and the amount it acts on:
# `LocalTrade.adjust_stop_loss` for the ratio and the backtester's stake-to-amount
# conversion for the exit stake (`freqtrade_amount`).

SIDES = pytest.mark.parametrize("is_short", [False, True], ids=["long", "short"])
LEVERAGES = pytest.mark.parametrize("leverage", [1.0, 3.0], ids=["1x", "3x"])


def at(r: float, is_short: bool) -> float:
    """The price `r` R into profit (negative: into loss) from entry 100 with 1R = 2."""
    return 100.0 - 2.0 * r if is_short else 100.0 + 2.0 * r


def freqtrade_stop(trade, rate: float, ratio: float | None) -> float | None:
    """Where Freqtrade puts the stop for what custom_stoploss returned
    (IStrategy.ft_stoploss_adjust: a falsy ratio changes nothing)."""
    if ratio:
        trade.adjust_stop_loss(rate, ratio, allow_refresh=True)
    return trade.stop_loss


@SIDES
@LEVERAGES
def test_custom_stoploss_when_entry_filled_then_freqtrade_places_the_initial_stop(
    is_short, leverage
):
    from tests.unit.test_adapter_trades import make_trade as trade_of

    strategy = started()
    trade = trade_of(10.0, 100.0, is_short=is_short, leverage=leverage)
    ratio = stop_of(strategy, trade, 100.0, after_fill=True)
    assert freqtrade_stop(trade, 100.0, ratio) == pytest.approx(at(-1, is_short))


@SIDES
@LEVERAGES
@pytest.mark.parametrize(
    ("peak_r", "stop_r"), [(1.0, 0.0), (1.5, 0.5), (2.25, 1.0), (3.0, 1.5), (4.5, 2.0)]
)
def test_custom_stoploss_when_peak_climbs_the_ladder_then_freqtrade_stop_at_the_lock(
    is_short, leverage, peak_r, stop_r
):
    from tests.unit.test_adapter_trades import make_trade as trade_of

    strategy = started()
    trade = trade_of(10.0, 100.0, is_short=is_short, leverage=leverage)
    stop_of(strategy, trade, 100.0)
    rate = at(peak_r, is_short)
    ratio = stop_of(strategy, trade, rate, at=OPENED + timedelta(minutes=5))
    assert ratio == pytest.approx(
        stoploss_from_absolute(at(stop_r, is_short), rate, is_short=is_short, leverage=leverage)
    )
    assert freqtrade_stop(trade, rate, ratio) == pytest.approx(at(stop_r, is_short))


@SIDES
@LEVERAGES
def test_adjust_when_levels_reached_then_freqtrade_exits_each_levels_amount(is_short, leverage):
    from tests.unit.test_adapter_trades import freqtrade_amount
    from tests.unit.test_adapter_trades import make_trade as trade_of

    strategy = started()
    trade = trade_of(10.0, 100.0, is_short=is_short, leverage=leverage)
    later = OPENED + timedelta(minutes=5)
    for level, r, amount in (("tp1", 2.25, 5.0), ("tp2", 3.25, 2.5), ("tp3", 4.25, 2.5)):
        rate = at(r, is_short)
        stop_of(strategy, trade, rate, at=later)
        stake, tag = adjust(strategy, trade, rate, at=later)
        assert tag == level
        assert stake < 0
        assert freqtrade_amount(trade, stake) == pytest.approx(amount)
        fill(trade, amount, rate, level, side="buy" if is_short else "sell")
        later += timedelta(minutes=5)


@SIDES
@LEVERAGES
def test_adjust_when_price_through_the_stop_then_everything_whatever_the_side(is_short, leverage):
    from tests.unit.test_adapter_trades import freqtrade_amount
    from tests.unit.test_adapter_trades import make_trade as trade_of

    strategy = started()
    trade = trade_of(10.0, 100.0, is_short=is_short, leverage=leverage)
    stop_of(strategy, trade, 100.0)
    stake, tag = adjust(strategy, trade, at(-1.5, is_short))
    assert tag == "stop"
    assert freqtrade_amount(trade, stake) == pytest.approx(10.0)


@SIDES
@LEVERAGES
@pytest.mark.parametrize("peak_r", [1.0, 1.25, 1.5, 2.25, 3.0, 4.5])
def test_custom_stoploss_when_prices_on_a_tick_grid_then_freqtrade_stop_exactly_at_the_lock(
    is_short, leverage, peak_r
):
    """Freqtrade rounds the stop it rebuilds from the ratio to the tick, towards the
    tight side (up for a long, down for a short): a ratio whose float round trip lands
    a hair on the tight side of the engine's stop put the stop a whole tick tighter
    (breakeven 100 became 99.9 for a short at 3x, and the backtest stopped it there)."""
    from ccxt import TICK_SIZE

    from tests.unit.test_adapter_trades import make_trade as trade_of

    strategy = started()
    trade = trade_of(30.0, 100.0, is_short=is_short, leverage=leverage)
    trade.price_precision, trade.precision_mode_price = 0.1, TICK_SIZE
    stop_of(strategy, trade, 100.0)
    rate = at(peak_r, is_short)
    ratio = stop_of(strategy, trade, rate, at=OPENED + timedelta(minutes=5))
    lock = {1.0: 0.0, 1.25: 0.0, 1.5: 0.5, 2.25: 1.0, 3.0: 1.5, 4.5: 2.0}[peak_r]
    assert freqtrade_stop(trade, rate, ratio) == at(lock, is_short)


def test_price_seen_when_adjust_hands_another_frozen_rate_then_unchanged_since_the_stop_check():
    # custom_stoploss and adjust_trade_position may be handed different rates (bid and
    # last): two frozen rates taken in turn must not look like a price that moves
    strategy = started()
    trade = make_trade(10.0, 100.0)
    stop_of(strategy, trade, 100.5, at=OPENED)
    for minute in range(1, 4):
        adjust(strategy, trade, 100.7, at=OPENED + timedelta(minutes=minute))
        stop_of(strategy, trade, 100.5, at=OPENED + timedelta(minutes=minute, seconds=30))
    assert strategy._pg_tracker.prices[trade.id] == (100.5, OPENED)
