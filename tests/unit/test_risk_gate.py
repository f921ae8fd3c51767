"""The risk gate inside ProfitGuardStrategy, on a real strategy, real LocalTrades and a
real DataProvider: confirm_trade_entry, custom_stake_amount, the kill switch, the
status file, failing closed."""

from __future__ import annotations

import atexit
import json
import logging
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import CandleType, ExitCheckTuple, ExitType, RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.persistence import CustomDataWrapper, LocalTrade, Trade
from pandas import DataFrame

from profitguard import guard_store
from profitguard.bot_identity import identity_of
from profitguard.exit_tags import KILL_TAG
from profitguard.freqtrade.gate.refusals import GATE_VS_FREQTRADE
from profitguard.freqtrade.trades import STATE_KEY
from profitguard.risk import state as st
from tests.unit.test_adapter_strategy import Fixture, adjust, stop_of
from tests.unit.test_adapter_trades import make_order, make_trade

NOW = datetime(2024, 3, 13, 15, 0, tzinfo=UTC)

# the files of a bot whose config names no bot_name and no db_url (dry-run)
GUARD_FILE = identity_of({}).guard_path(Path()).name
STATUS_FILE = identity_of({}).status_path(Path()).name


class Wallets:
    """Freqtrade's wallets as the gate reads them: the capital the bot trades with."""

    def __init__(self, total: float) -> None:
        self.total = total

    def get_total_stake_amount(self) -> float:
        if self.total is None:
            raise RuntimeError("wallets broken")
        return self.total

    def get_starting_balance(self) -> float:
        return 10_000.0  # what the bot started with; its equity may have fallen since


@pytest.fixture(autouse=True)
def no_database():
    """Trades and custom data in memory, as in backtesting."""
    Trade.use_db = False
    CustomDataWrapper.use_db = False
    LocalTrade.reset_trades()
    CustomDataWrapper.reset_custom_data()
    yield
    LocalTrade.reset_trades()
    CustomDataWrapper.reset_custom_data()
    Trade.use_db = True
    CustomDataWrapper.use_db = True


def frame(closes, *, end: datetime = NOW, **columns) -> DataFrame:
    """5m candles ending with the candle before `end` (the last closed one)."""
    n = len(closes)
    dates = [end - timedelta(minutes=5 * (n - i)) for i in range(n)]
    data = {"date": dates, "open": closes, "high": closes, "low": closes, "close": closes,
            "volume": [1.0] * n}  # fmt: skip
    return DataFrame({**data, **columns})


def started(tmp_path, *, runmode=RunMode.DRY_RUN, equity=10_000.0, risk=None, frames=None,
            **extra):  # fmt: skip
    config = extra | {
        "runmode": runmode,
        "timeframe": "5m",
        "stake_currency": "USDT",
        "user_data_dir": tmp_path,
        "db_url": f"sqlite:///{tmp_path / 'tradesv3.dryrun.sqlite'}",
        "candle_type_def": CandleType.SPOT,
    }
    if risk is not None:
        config["profitguard"] = {"risk": risk}
    strategy = Fixture(config)
    # what Freqtrade's StrategyResolver sets from the config (which wins) and its defaults
    resolved = {"use_exit_signal": True, "exit_profit_only": False, "exit_profit_offset": 0.0,
                "ignore_roi_if_entry_signal": False} | extra  # fmt: skip
    for attribute, value in resolved.items():
        setattr(strategy, attribute, value)
    strategy.minimal_roi = {int(k): v for k, v in strategy.minimal_roi.items()}  # as it does
    strategy.dp = DataProvider(config, exchange=None)
    strategy.wallets = Wallets(equity)
    for pair, df in (frames or {"ETH/USDT": frame([100.0] * 30)}).items():
        strategy.dp._set_cached_df(pair, "5m", df, CandleType.SPOT)
        strategy.dp._set_dataframe_max_index(pair, len(df))
    strategy.ft_bot_start()
    atexit.unregister(strategy._pg_gate.print_summary)  # backtests print it; tests need not
    return strategy


def confirm(strategy, pair="ETH/USDT", *, amount=5.0, rate=100.0, at=NOW, side="long"):
    return strategy.confirm_trade_entry(
        pair=pair, order_type="market", amount=amount, rate=rate, time_in_force="GTC",
        current_time=at, entry_tag=None, side=side,
    )  # fmt: skip


def stake(strategy, pair="ETH/USDT", *, rate=100.0, proposed=250.0, min_stake=5.0, max_stake=1e9,
          leverage=1.0):  # fmt: skip
    return strategy.custom_stake_amount(
        pair=pair, current_time=NOW, current_rate=rate, proposed_stake=proposed,
        min_stake=min_stake, max_stake=max_stake, leverage=leverage, entry_tag=None, side="long",
    )  # fmt: skip


KILL_EXIT = ExitCheckTuple(exit_type=ExitType.EMERGENCY_EXIT, exit_reason=KILL_TAG)


def exits(strategy, trade, rate, *, at=NOW, exit_=False):
    """What Freqtrade's bot would exit `trade` for (`should_exit`), in order."""
    return strategy.should_exit(trade, rate, at, enter=False, exit_=exit_)


def reset_confirmed(tmp_path, at) -> None:
    """What `profitguard guard reset --confirm` writes: the reset recorded in the trades
    database first, then the guard file."""
    from profitguard.guard_store import GuardCopy

    reset = st.reset(st.GuardState(), at)
    copy = GuardCopy(f"sqlite:///{tmp_path / 'tradesv3.dryrun.sqlite'}")
    copy.save(reset)
    copy.close()
    guard_store.write_state(tmp_path / GUARD_FILE, reset)


def messages(strategy) -> list[str]:
    return list(strategy.dp._msg_queue)


def closed_trade(trade_id: int, profit: float, at: datetime, *, initial_stop=None, pair="X/USDT"):
    trade = make_trade(10.0, 100.0)
    trade.id, trade.pair = trade_id, pair
    trade.is_open, trade.close_date, trade.close_profit_abs = False, at, profit
    LocalTrade.bt_trades.append(trade)
    if initial_stop is not None:
        trade.set_custom_data(STATE_KEY, {"v": 1, "initial_stop": initial_stop, "best": 100.0,
                                          "worst": 100.0})  # fmt: skip
    return trade


def open_trade(trade_id: int, pair: str, amount=10.0, price=100.0):
    trade = make_trade(amount, price)
    trade.id, trade.pair = trade_id, pair
    LocalTrade.add_bt_trade(trade)
    return trade


# ---------------------------------------------------------- confirm_trade_entry


@pytest.mark.parametrize(
    ("risk", "match"),
    [
        ({"max_heat": 2}, r"profitguard: 'profitguard.risk.max_heat' must be in \(0, 1\]"),
        ({"max_open_position": 3}, r"Did you mean 'max_open_positions'"),
        ({"sizing": {"method": "all_in"}}, r"'profitguard.risk.sizing.method' must be one of"),
    ],
)
def test_bot_start_when_risk_setting_invalid_then_stops_naming_field_and_value(
    tmp_path, risk, match
):
    with pytest.raises(OperationalException, match=match):
        started(tmp_path, risk=risk)


def test_confirm_when_every_rule_passes_then_entry_allowed(tmp_path):
    strategy = started(tmp_path)
    assert confirm(strategy) is True
    assert strategy._pg_gate.checked == 1
    assert not strategy._pg_gate.refusals


def test_confirm_when_daily_loss_reached_then_refused_logged_and_sent(tmp_path, caplog):
    strategy = started(tmp_path, equity=9_400.0)
    closed_trade(7, -600.0, NOW - timedelta(hours=2))
    with caplog.at_level(logging.INFO, logger="profitguard"):
        assert confirm(strategy) is False
    expected = (
        "profitguard: entry refused for ETH/USDT: "
        "DAILY_LOSS_LIMIT: loss=6.0%, limit=5.0%, until=2024-03-14 00:00 UTC"
    )
    assert expected in caplog.text
    assert expected in messages(strategy)
    assert "trading state ACTIVE -> REDUCING" in caplog.text
    assert strategy._pg_gate.refusals == {"DAILY_LOSS_LIMIT": 1}


def test_confirm_when_next_utc_day_then_daily_loss_rolled_over(tmp_path):
    strategy = started(tmp_path, equity=9_400.0)
    closed_trade(7, -600.0, NOW - timedelta(hours=2))
    tomorrow = datetime(2024, 3, 14, 0, 5, tzinfo=UTC)
    strategy.dp._set_cached_df("ETH/USDT", "5m", frame([100.0] * 30, end=tomorrow), CandleType.SPOT)
    assert confirm(strategy, at=tomorrow) is True


def test_confirm_when_open_trade_stop_moved_up_then_heat_uses_the_stop_in_force(tmp_path):
    strategy = started(tmp_path, risk={"max_heat": 0.02, "max_correlated_positions": None})
    trade = open_trade(1, "BTC/USDT", amount=100.0)  # 2% stop: 200 at risk of 10,000
    strategy.order_filled(trade.pair, trade, trade.orders[0], NOW)
    assert confirm(strategy, amount=0.5) is False  # 2% + 0.01% > 2%
    assert strategy._pg_gate.refusals == {"PORTFOLIO_HEAT": 1}
    stop_of(strategy, trade, 104.5, at=NOW)  # peak 2.25R: the ladder's stop at 1R (102)
    assert confirm(strategy, amount=0.5) is True  # the open trade risks nothing now


def test_confirm_when_signal_candle_carries_low_confidence_then_refused(tmp_path):
    frames = {"ETH/USDT": frame([100.0] * 30, confidence=[0.9] * 29 + [0.65])}
    strategy = started(tmp_path, frames=frames)
    assert confirm(strategy) is False
    assert strategy._pg_gate.refusals == {"SIGNAL_CONFIDENCE": 1}


def test_confirm_when_entry_far_above_the_signal_close_then_slippage_refused(tmp_path):
    strategy = started(tmp_path)
    assert confirm(strategy, rate=100.6) is False
    assert "ENTRY_SLIPPAGE: slippage=0.6%, limit=0.5%" in messages(strategy)[-1]


def test_confirm_when_exits_target_too_close_then_reward_risk_refused(tmp_path):
    strategy = started(tmp_path)  # r_ladder: TP1 at 2R
    assert confirm(strategy) is True
    tight = started(tmp_path, risk={"min_reward_risk": 2.5})
    assert confirm(tight) is False
    assert tight._pg_gate.refusals == {"REWARD_RISK": 1}


def test_confirm_when_pairs_move_together_then_correlated_positions_refused(tmp_path):
    rng = np.random.default_rng(1)
    path = list(100 * np.cumprod(1 + rng.normal(0, 0.01, 60)))
    noise = list(100 * np.cumprod(1 + rng.normal(0, 0.01, 60)))
    frames = {
        "ETH/USDT": frame(path),
        "A/USDT": frame([p * 2 for p in path]),
        "B/USDT": frame([p * 3 for p in path]),
        "C/USDT": frame(noise),
    }
    strategy = started(tmp_path, frames=frames, risk={"max_heat": None})
    open_trade(1, "A/USDT")
    open_trade(2, "C/USDT")
    assert confirm(strategy, rate=path[-1]) is True  # one correlated position: allowed
    open_trade(3, "B/USDT")
    assert confirm(strategy, rate=path[-1]) is False
    assert "CORRELATED_POSITIONS: correlated=2, limit=2" in messages(strategy)[-1]
    assert "A/USDT(1.00),B/USDT(1.00)" in messages(strategy)[-1]


def test_confirm_when_gate_raises_then_refused_and_logged_once(tmp_path, caplog):
    strategy = started(tmp_path)
    strategy.wallets = Wallets(None)
    with caplog.at_level(logging.ERROR):
        assert confirm(strategy) is False
        assert confirm(strategy) is False
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "confirm_trade_entry failed" in errors[0].getMessage()
    assert "wallets broken" in errors[0].getMessage()
    assert strategy._pg_gate.refusals == {"GATE_ERROR": 2}


def test_confirm_when_guard_file_corrupt_then_refused_naming_the_file(tmp_path):
    (tmp_path / GUARD_FILE).write_text("{oops")
    strategy = started(tmp_path)
    assert confirm(strategy) is False
    assert (
        f"GUARD_STATE_UNREADABLE: error={tmp_path / GUARD_FILE}: not valid JSON"
        in (messages(strategy)[-1])
    )


def test_confirm_when_backtest_then_guard_file_ignored(tmp_path):
    guard_store.write_state(tmp_path / GUARD_FILE, st.kill(st.GuardState(), "k", NOW))
    frames = {"ETH/USDT": frame([100.0] * 30)}
    strategy = started(tmp_path, runmode=RunMode.BACKTEST, frames=frames)
    assert confirm(strategy) is True
    assert not (tmp_path / STATUS_FILE).exists()


def test_confirm_when_backtest_restarts_then_counts_start_afresh(tmp_path):
    strategy = started(tmp_path, runmode=RunMode.BACKTEST, risk={"max_entry_slippage": 0.001})
    assert confirm(strategy, rate=101.0, at=NOW + timedelta(days=1)) is False
    assert strategy._pg_gate.refusals == {"ENTRY_SLIPPAGE": 1}
    assert confirm(strategy, rate=100.0, at=NOW) is True  # a new run: back in time
    assert strategy._pg_gate.refusals == {}
    assert "1 entries checked, 0 refused" in strategy._pg_gate.summary()


# ------------------------------------------------------------ sizing


def test_stake_when_fixed_fractional_then_reduced_to_the_cap(tmp_path):
    strategy = started(tmp_path)
    assert stake(strategy) == pytest.approx(1_000)  # 1% at a 2% stop: 5,000; cap 10%
    uncapped = started(tmp_path, risk={"max_stake_ratio": None})
    assert stake(uncapped) == pytest.approx(5_000)
    assert stake(uncapped, max_stake=700) == pytest.approx(700)


def test_stake_when_kelly_then_learns_r_from_the_last_closed_trades(tmp_path):
    for i in range(5):  # older -1R losses, beyond the lookback
        closed_trade(100 + i, -20.0, NOW - timedelta(days=3, hours=i), initial_stop=98.0)
    for i in range(20):  # +2R and -1R alternately, 1R = 10 * 2 = 20
        closed_trade(i + 1, 40.0 if i % 2 else -20.0, NOW - timedelta(days=1, hours=20 - i),
                     initial_stop=98.0)  # fmt: skip
    closed_trade(50, -20.0, NOW - timedelta(hours=1, minutes=30))  # R unknown: left out
    sizing = {"method": "kelly", "kelly_max_risk": 1.0, "kelly_min_trades": 20,
              "kelly_lookback": 20}  # fmt: skip
    risk = {"max_stake_ratio": None, "max_consecutive_losses": None, "sizing": sizing}
    strategy = started(tmp_path, risk=risk)
    assert stake(strategy) == pytest.approx(0.125 * 10_000 / 2 * 100)  # half of f* = 0.25


def test_stake_and_confirm_when_leverage_then_the_stake_is_the_margin(tmp_path):
    strategy = started(tmp_path, risk={"max_stake_ratio": None})
    assert stake(strategy, leverage=5.0) == pytest.approx(1_000)  # 50 units, 5,000 / 5
    capped = started(tmp_path)  # cap 10%: the margin of 1,000 fits it exactly
    assert stake(capped, leverage=5.0) == pytest.approx(1_000)
    assert confirm(capped, amount=50.0) is True  # stake 50 * 100 / 5, not 5,000
    assert capped._pg_gate.refusals == {}


def test_stake_when_volatility_then_one_atr_of_the_configured_column_costs_the_budget(tmp_path):
    frames = {"ETH/USDT": frame([100.0] * 30, atr=[1.0] * 30, my_atr=[4.0] * 30)}
    sizing = {"method": "volatility", "atr_risk": 0.01, "atr_column": "my_atr"}
    strategy = started(tmp_path, frames=frames, risk={"max_stake_ratio": None, "sizing": sizing})
    assert stake(strategy) == pytest.approx(2_500)  # 100 per ATR of 4: 25 units at 100


def test_stake_when_below_freqtrade_minimum_then_skipped_and_counted(tmp_path, caplog):
    strategy = started(tmp_path)
    with caplog.at_level(logging.INFO, logger="profitguard"):
        assert stake(strategy, min_stake=1_500) == 0
    assert "SIZING: stake=1000.00, min_stake=1500.00" in caplog.text
    assert strategy._pg_gate.refusals == {"SIZING": 1}


def test_stake_when_sizing_raises_then_zero_and_counted_as_refused(tmp_path):
    strategy = started(tmp_path)
    strategy.wallets = None
    assert stake(strategy) == 0
    assert strategy._pg_gate.refusals == {"GATE_ERROR": 1}  # in the end-of-run counts too


def test_stake_when_the_account_refuses_then_zero_before_the_entry_is_sized(tmp_path):
    """Freqtrade asks the stake of every entry signal: one the open-positions count (or an
    account limit, or a switch) refuses is refused there, under that rule, without
    asking the initial stop or reading the candles (most signals of a wide whitelist)."""
    strategy = started(tmp_path, risk={"max_open_positions": 1})
    open_trade(1, "BTC/USDT")
    asked = []
    strategy.initial_stop = lambda *args, **kwargs: asked.append(args) or 90.0
    read = strategy.dp.get_analyzed_dataframe
    strategy.dp.get_analyzed_dataframe = lambda *args: asked.append(args) or read(*args)
    assert stake(strategy) == 0
    gate = strategy._pg_gate
    assert asked == []
    assert gate.refusals == {"MAX_OPEN_POSITIONS": 1}
    assert gate.checked == 1  # counted once: Freqtrade asks no confirmation of a 0 stake
    assert gate.last_entry[2][-1].rule.value == "MAX_OPEN_POSITIONS"


def test_stake_when_kill_switch_on_then_refused_as_the_kill_switch_not_by_sizing(tmp_path):
    strategy = started(tmp_path)
    guard_store.write_state(tmp_path / GUARD_FILE, st.kill(st.GuardState(), "drawdown", NOW))
    assert stake(strategy, min_stake=1_500) == 0  # sizing alone would refuse it (SIZING)
    assert strategy._pg_gate.refusals == {"KILL_SWITCH": 1}
    assert strategy._pg_gate.state.name == "HALTED"


def test_stake_then_confirm_when_the_account_passes_then_one_screen_and_the_same_verdict(
    tmp_path,
):
    """custom_stake_amount then confirm_trade_entry of one entry share the screen of the
    account, and a position opened after it is seen by the next entry's."""
    strategy = started(tmp_path, risk={"max_open_positions": 2, "max_correlated_positions": None})
    open_trade(1, "BTC/USDT")
    assert stake(strategy) > 0
    assert confirm(strategy, amount=10.0) is True, strategy._pg_gate.refusals
    open_trade(2, "SOL/USDT")  # filled in between: the next entry sees it
    assert stake(strategy, "XRP/USDT") == 0
    assert strategy._pg_gate.refusals == {"MAX_OPEN_POSITIONS": 1}
    assert strategy._pg_gate.checked == 2


# ---------------------------------------------------------- kill switch


def test_kill_switch_when_on_then_every_open_trade_exits_in_full(tmp_path):
    flat = frame([100.0] * 30)
    strategy = started(tmp_path, frames={"ETH/USDT": flat, "BTC/USDT": flat})
    trade = open_trade(1, "BTC/USDT")
    assert adjust(strategy, trade, 100.0) is None
    assert exits(strategy, trade, 101.0) == []
    guard_store.write_state(tmp_path / GUARD_FILE, st.kill(st.GuardState(), "drawdown", NOW))
    assert exits(strategy, trade, 101.0) == [KILL_EXIT]
    assert adjust(strategy, trade, 100.0) is None  # no take-profit beside the kill exit
    assert strategy.check_entry_timeout(trade.pair, trade, trade.orders[0], NOW) is True
    assert confirm(strategy) is False
    assert "KILL_SWITCH: on=yes, reason=drawdown" in messages(strategy)[-1]
    reset_confirmed(tmp_path, NOW)
    assert exits(strategy, trade, 101.0) == []
    assert confirm(strategy) is True


def test_kill_switch_when_on_then_the_exit_is_freqtrades_emergency_exit_at_market(tmp_path):
    """Freqtrade sends an EMERGENCY_EXIT with `order_types["emergency_exit"]` (market),
    whatever `order_types["exit"]` is: the kill exit never rests as a limit order."""
    strategy = started(tmp_path)
    assert strategy.order_types["exit"] == "limit"  # Freqtrade's default
    trade = open_trade(1, "BTC/USDT")
    guard_store.write_state(tmp_path / GUARD_FILE, st.kill(st.GuardState(), "drawdown", NOW))
    [kill] = exits(strategy, trade, 101.0)
    assert kill.exit_type is ExitType.EMERGENCY_EXIT and kill.exit_reason == KILL_TAG
    # its order open: not asked again (no second order), whatever the exit signal says
    trade.orders.append(make_order("sell", 10.0, 100.0, tag=KILL_TAG, status="open",
                                   ft_is_open=True, filled=0.0, remaining=10.0))  # fmt: skip
    assert exits(strategy, trade, 101.0, exit_=True) == []


@pytest.mark.parametrize("kind", ["limit", "stop"])
def test_bot_start_when_emergency_exit_not_market_then_stops_naming_it(tmp_path, kind):
    order_types = {"entry": "limit", "exit": "limit", "stoploss": "market",
                   "stoploss_on_exchange": False, "emergency_exit": kind}  # fmt: skip
    match = rf"'order_types.emergency_exit' must be 'market' \(the kill switch .*\), was '{kind}'"
    with pytest.raises(OperationalException, match=match):
        started(tmp_path, order_types=order_types)


def test_kill_switch_when_guard_file_corrupt_then_exits_go_on_as_usual(tmp_path):
    strategy = started(tmp_path)
    trade = open_trade(1, "BTC/USDT")
    (tmp_path / GUARD_FILE).write_text("{oops")
    stop_of(strategy, trade, 104.5)
    _, tag = adjust(strategy, trade, 104.5)
    assert tag == "tp1"  # take-profits are not stopped by a broken guard file


def test_pause_when_on_then_entries_refused_but_no_trade_is_exited(tmp_path):
    flat = frame([100.0] * 30)
    strategy = started(tmp_path, frames={"ETH/USDT": flat, "BTC/USDT": flat})
    trade = open_trade(1, "BTC/USDT")
    guard_store.write_state(tmp_path / GUARD_FILE, st.pause(st.GuardState(), "news", NOW))
    assert confirm(strategy) is False
    assert strategy._pg_gate.refusals == {"PAUSED": 1}
    assert exits(strategy, trade, 101.0) == []
    assert strategy.check_entry_timeout(trade.pair, trade, trade.orders[0], NOW) is False
    stop_of(strategy, trade, 104.5)
    _, tag = adjust(strategy, trade, 104.5)
    assert tag == "tp1"  # take-profits go on: a pause is not the kill switch


# ---------------------------------------------------------- loop and status


def test_bot_loop_start_when_dry_run_then_status_file_with_every_figure(tmp_path):
    strategy = started(tmp_path)
    open_trade(1, "BTC/USDT")
    confirm(strategy, rate=101.0)  # refused: slippage
    strategy.bot_loop_start(current_time=NOW)
    status = json.loads((tmp_path / STATUS_FILE).read_text())
    assert status["state"] == "ACTIVE"
    assert status["equity"] == 10_000
    rules = [c["rule"] for c in status["checks"]]
    assert rules == [
        "KILL_SWITCH", "PAUSED", "MIN_BALANCE", "DAILY_LOSS_LIMIT", "WEEKLY_LOSS_LIMIT",
        "MONTHLY_LOSS_LIMIT", "CONSECUTIVE_LOSSES", "MAX_OPEN_POSITIONS", "STAKE_CAP",
        "ASSET_EXPOSURE", "PORTFOLIO_HEAT", "STOP_TOO_CLOSE", "REWARD_RISK", "ENTRY_SLIPPAGE",
        "SIGNAL_CONFIDENCE", "CORRELATED_POSITIONS",
    ]  # fmt: skip
    assert status["checks"][-1]["figure"] == "per entry"
    assert status["checks"][-1]["limit"] == "2 above 0.80"
    assert status["last_entry"]["pair"] == "ETH/USDT"
    assert status["last_entry"]["checks"][-1]["rule"] == "ENTRY_SLIPPAGE"
    assert status["refusals"] == {"ENTRY_SLIPPAGE": 1}


def test_bot_loop_start_when_paused_by_admin_then_state_change_sent(tmp_path):
    strategy = started(tmp_path)
    guard_store.write_state(tmp_path / GUARD_FILE, st.pause(st.GuardState(), "news at 14:30", NOW))
    strategy.bot_loop_start(current_time=NOW)
    assert messages(strategy) == [
        "profitguard: trading state ACTIVE -> REDUCING: "
        "PAUSED: on=yes, reason=news at 14:30, since=2024-03-13 15:00 UTC"
    ]


def test_print_summary_when_backtest_ran_then_table_on_stdout(tmp_path, capsys):
    strategy = started(tmp_path, runmode=RunMode.BACKTEST)
    strategy._pg_gate.print_summary()
    assert capsys.readouterr().out == ""  # nothing checked: nothing shown
    confirm(strategy, rate=101.0)
    strategy._pg_gate.print_summary()
    assert capsys.readouterr().out.splitlines() == [
        "profitguard risk gate (Fixture, last run): 1 entries checked, 1 refused",
        "  rule            refused",
        "  ENTRY_SLIPPAGE        1",
        *GATE_VS_FREQTRADE.splitlines(),
        "profitguard: warning: the risk gate refused 100% of the entry signals (1 of 1; "
        "ENTRY_SLIPPAGE 1); see profitguard.risk.max_entry_slippage",
    ]


def test_confirm_when_a_new_run_reuses_trade_ids_then_old_closed_trades_forgotten(tmp_path):
    strategy = started(tmp_path, runmode=RunMode.BACKTEST, equity=9_400.0)
    closed_trade(7, -600.0, NOW - timedelta(hours=2))
    assert confirm(strategy) is False  # DAILY_LOSS_LIMIT
    LocalTrade.reset_trades()  # what Freqtrade does for a new run (same times)
    closed_trade(7, +10.0, NOW - timedelta(hours=1))
    assert confirm(strategy) is True


def test_confirm_and_stake_when_the_gate_is_missing_entirely_then_still_refused(tmp_path):
    strategy = started(tmp_path)
    del strategy._pg_gate  # even reporting the error fails
    del strategy._pg_failures
    assert confirm(strategy) is False
    assert stake(strategy) == 0


def test_kill_switch_when_guard_file_breaks_while_on_then_stays_on(tmp_path):
    flat = frame([100.0] * 30)
    strategy = started(tmp_path, frames={"ETH/USDT": flat, "BTC/USDT": flat})
    trade = open_trade(1, "BTC/USDT")
    guard_store.write_state(tmp_path / GUARD_FILE, st.kill(st.GuardState(), "drawdown", NOW))
    strategy.bot_loop_start(current_time=NOW)
    (tmp_path / GUARD_FILE).write_text("{oops")
    assert exits(strategy, trade, 101.0) == [KILL_EXIT]
    strategy._pg_gate.status.last_written = -math.inf  # the status file is rewritten once a second
    strategy.bot_loop_start(current_time=NOW)
    status = json.loads((tmp_path / STATUS_FILE).read_text())
    assert status["state"] == "HALTED"
    assert [c["rule"] for c in status["checks"] if not c["passed"]] == [
        "GUARD_STATE_UNREADABLE",
        "KILL_SWITCH",
    ]
    assert confirm(strategy) is False  # refused for the broken file, still HALTED
    assert strategy._pg_gate.state is st.TradingState.HALTED
    assert not [m for m in messages(strategy) if "HALTED -> REDUCING" in m]


def test_shared_closes_when_dates_misaligned_and_gappy_then_last_shared_candles_paired():
    from profitguard.freqtrade.gate.correlations import shared_closes

    start = datetime(2024, 1, 1, tzinfo=UTC)
    dates = [start + timedelta(minutes=5 * i) for i in range(12)]
    a = DataFrame({"date": dates[:10], "close": [float(i) for i in range(10)]})
    b = DataFrame({"date": [d for i, d in enumerate(dates[2:]) if i != 5],  # candle 7 missing
                   "close": [100.0 + i for i in range(12) if i >= 2 and i != 7]})  # fmt: skip
    closes_a, closes_b = shared_closes(a, b, 4)
    assert closes_a == [5.0, 6.0, 8.0, 9.0]  # candles 5, 6, 8, 9: shared, oldest first
    assert closes_b == [105.0, 106.0, 108.0, 109.0]


@pytest.mark.parametrize("breakage", ["deleted", "torn"])
def test_kill_switch_when_guard_file_lost_while_the_bot_was_down_then_restarts_halted(
    tmp_path, breakage
):
    flat = frame([100.0] * 30)
    frames = {"ETH/USDT": flat, "BTC/USDT": flat}
    before = started(tmp_path, frames=frames)
    trade = open_trade(1, "BTC/USDT")
    guard_store.write_state(tmp_path / GUARD_FILE, st.kill(st.GuardState(), "drawdown", NOW))
    before.bot_loop_start(current_time=NOW)  # seen (and recorded in the trades database)
    if breakage == "deleted":
        (tmp_path / GUARD_FILE).unlink()
    else:
        (tmp_path / GUARD_FILE).write_text('{"version": 1, "halted": tr')
    after = started(tmp_path, frames=frames)  # the bot restarted: nothing in memory
    after.bot_loop_start(current_time=NOW)
    assert after._pg_gate.state is st.TradingState.HALTED
    assert exits(after, trade, 101.0) == [KILL_EXIT]
    assert confirm(after) is False
    assert set(after._pg_gate.refusals) == {"GUARD_STATE_UNREADABLE"}


def test_loop_when_guard_file_torn_after_a_resume_then_the_streak_still_counts_from_it(tmp_path):
    strategy = started(tmp_path)
    for i in range(3):
        closed_trade(i + 1, -50.0, NOW - timedelta(hours=3 - i))
    resumed = st.resume(st.GuardState(), NOW - timedelta(minutes=30))
    guard_store.write_state(tmp_path / GUARD_FILE, resumed)
    strategy.bot_loop_start(current_time=NOW)
    (tmp_path / GUARD_FILE).write_text("{")  # torn after the bot read it
    strategy._pg_gate.status.last_written = -math.inf
    strategy.bot_loop_start(current_time=NOW)
    status = json.loads((tmp_path / STATUS_FILE).read_text())
    failed = [c["rule"] for c in status["checks"] if not c["passed"]]
    assert failed == ["GUARD_STATE_UNREADABLE"]  # the losses before the resume still do not count


def test_confirm_when_a_tiny_atr_puts_the_stop_under_a_tick_then_stop_too_close(tmp_path):
    frames = {"ETH/USDT": frame([100.0] * 30, atr=[1e-12] * 30)}
    strategy = started(tmp_path, frames=frames, fee=0.001)
    strategy._pg_ticks._ticks["ETH/USDT"] = 0.01  # what the exchange's market says
    assert confirm(strategy) is False
    assert strategy._pg_gate.refusals == {"STOP_TOO_CLOSE": 1}
    assert "entry refused for ETH/USDT: STOP_TOO_CLOSE: distance=2.0" in messages(strategy)[-1]
    assert "e-12, min=0.2, stop=100, tick=0.01, min_ticks=3, fees=0.2" in messages(strategy)[-1]
    wide = started(tmp_path, frames={"ETH/USDT": frame([100.0] * 30, atr=[1.0] * 30)}, fee=0.001)
    wide._pg_ticks._ticks["ETH/USDT"] = 0.01
    assert confirm(wide) is True  # 2 ATR = 2.0 from the entry


def test_refusals_when_repeated_within_a_candle_then_sent_once_per_pair_rule_and_candle(tmp_path):
    """Freqtrade asks every bot loop, at a new rate: a huge ATR sent 179 'entry refused'
    in 61 s (Freqtrade's own message cache drops only identical texts)."""
    huge = {"ETH/USDT": frame([100.0] * 30, atr=[80.0] * 30)}  # 2 ATR: a stop below 0
    strategy = started(tmp_path, frames=huge)
    for loop in range(120):  # 120 loops within one 5m candle, each at its own rate
        at, rate = NOW + timedelta(seconds=2 * loop), 100.0 + 0.001 * loop
        assert stake(strategy, rate=rate) == 0.0  # sizing fails on the stop: GATE_ERROR
        assert confirm(strategy, at=at, rate=rate) is False
    sent = messages(strategy)
    assert strategy._pg_gate.refusals["GATE_ERROR"] == 240
    assert len([m for m in sent if "entry refused for ETH/USDT: GATE_ERROR" in m]) == 1
    assert len([m for m in sent if "failed for trade" in m]) == 2  # the error, once per hook


def test_refusals_when_two_rules_alternate_in_a_candle_then_each_sent_once():
    from profitguard.freqtrade.gate.refusals import RefusalLog
    from profitguard.risk.checks import Check, Figure, Rule

    sent: list[str] = []
    refusals = RefusalLog(
        persistent=True, per_run_summary=False, candle=timedelta(minutes=5), send=sent.append
    )
    reward = Check(Rule.REWARD_RISK, False, Figure("reward_risk", 1.0), Figure("limit", 1.5))
    slippage = Check(Rule.SLIPPAGE, False, Figure("slippage", 0.01), Figure("limit", 0.005))
    for second in range(0, 60, 2):
        at = NOW + timedelta(seconds=second)
        refusals.refused("ETH/USDT", reward, at)
        refusals.refused("ETH/USDT", slippage, at)
        refusals.refused("BTC/USDT", reward, at)
    assert len(sent) == 3, sent
    assert refusals.refusals == {"REWARD_RISK": 60, "ENTRY_SLIPPAGE": 30}
    refusals.refused("ETH/USDT", reward, NOW + timedelta(minutes=5))
    assert len(sent) == 4
