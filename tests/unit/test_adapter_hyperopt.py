"""Hyperoptable ladders on real strategy instances: opt-in, per-epoch ladders, start-up checks.

A hyperopt epoch is, for the strategy, new parameter values followed by a new
backtest run; Freqtrade announces each run by calling `ft_advise_signals` for every
pair before its first candle. These tests do the same in-process.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.persistence import CustomDataWrapper
from freqtrade.strategy import DecimalParameter, stoploss_from_absolute
from freqtrade.strategy.hyper import detect_all_parameters
from pandas import DataFrame

from profitguard.engine import R_LADDER, SCALED_PCT
from profitguard.engine.ladder_space import SPACE
from profitguard.freqtrade import (
    ProfitGuardHyperoptStrategy,
    ProfitGuardPctHyperoptStrategy,
    backtest_stops,
)
from tests.unit.test_adapter_strategy import Fixture, NoSignals, started, stop_of
from tests.unit.test_adapter_trades import OPENED, make_trade


class Tunable(NoSignals, ProfitGuardHyperoptStrategy):
    timeframe = "5m"
    profitguard_config = {"initial_stop": {"pct": 0.02}}  # noqa: RUF012


class TunablePct(NoSignals, ProfitGuardPctHyperoptStrategy):
    timeframe = "5m"


@pytest.fixture(autouse=True)
def in_memory_custom_data():
    CustomDataWrapper.use_db = False
    CustomDataWrapper.reset_custom_data()
    yield
    CustomDataWrapper.reset_custom_data()
    CustomDataWrapper.use_db = True


def new_run(strategy) -> None:
    """What Freqtrade does before each backtest run (each hyperopt epoch)."""
    CustomDataWrapper.reset_custom_data()
    strategy.ft_advise_signals(DataFrame({"close": [100.0]}), {"pair": "BTC/USDT"})


def test_strategy_when_not_opted_in_then_no_parameters_and_ladders_from_settings():
    assert SPACE not in detect_all_parameters(Fixture)
    strategy = started(Fixture, profitguard={"exits": {"preset": "scaled_pct"}})
    assert strategy.exit_config() == SCALED_PCT
    assert strategy.exits_in_force == SCALED_PCT
    new_run(strategy)
    trade = make_trade(10.0, 100.0)
    stop_of(strategy, trade, 103.5)  # +3.5%: the scaled_pct ladder is in force
    assert strategy.exits_in_force == SCALED_PCT


@pytest.mark.parametrize(("cls", "preset"), [(Tunable, R_LADDER), (TunablePct, SCALED_PCT)])
def test_strategy_when_opted_in_with_default_values_then_exactly_the_preset(cls, preset):
    strategy = started(cls)
    assert set(detect_all_parameters(cls)) == {SPACE}
    assert strategy.exit_config() == preset
    assert strategy.exits_in_force == preset


def test_new_run_when_parameter_values_change_then_the_new_ladder_without_time_jump():
    class Epochs(Tunable):  # its own parameter objects: the values set here stay here
        pass

    strategy = started(Epochs)
    trade = make_trade(10.0, 100.0)
    at = OPENED + timedelta(minutes=5)
    assert stop_of(strategy, trade, 104.5, at=at) == pytest.approx(
        stoploss_from_absolute(102.0, 104.5)  # peak 2.25R: the r_ladder locks 1R
    )
    key = strategy.exit_config_key()
    strategy.pg_sl_lock_ratio.value = 0.2  # the next epoch's value: lock min(2 - 1, 0.4)
    assert strategy.exit_config_key() != key
    new_run(strategy)
    ratio = stop_of(strategy, trade, 104.5, at=at)  # the same time: no jump backwards
    assert ratio == pytest.approx(stoploss_from_absolute(100.8, 104.5))
    assert strategy.exits_in_force.stop_ladder[2].lock_r == pytest.approx(0.4)


def test_ledger_when_backtest_entry_fills_then_initial_stop_recorded_until_next_run():
    strategy = started(Tunable)
    new_run(strategy)
    trade = make_trade(10.0, 100.0)
    strategy.order_filled(trade.pair, trade, trade.orders[0], OPENED)
    opened_ms = int(OPENED.timestamp() * 1000)
    assert backtest_stops.initial_stop("BTC/USDT", opened_ms, False) == pytest.approx(98.0)
    assert backtest_stops.initial_stop("BTC/USDT", opened_ms, True) is None
    new_run(strategy)
    strategy.bot_loop_start(current_time=OPENED)  # the next run's first callback
    assert backtest_stops.initial_stop("BTC/USDT", opened_ms, False) is None


def test_ledger_when_dry_run_then_nothing_recorded():
    strategy = started(Tunable, runmode=RunMode.DRY_RUN)
    backtest_stops.start_run()
    trade = make_trade(10.0, 100.0)
    strategy.order_filled(trade.pair, trade, trade.orders[0], OPENED)
    assert backtest_stops.size() == 0


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (
            {"profitguard": {"exits": {"take_profits": [[2, 1]]}}},
            r"'profitguard.exits.take_profits' is set, but Tunable takes it from its hyperopt "
            r"parameters \(space 'profitguard'\)",
        ),
        (
            {"profitguard": {"exits": {"trail_pct": 0.02}}},
            r"'profitguard.exits.trail_pct' is set",
        ),
        (
            {"profitguard": {"exits": {"preset": "scaled_pct"}}},
            r"'profitguard.exits.preset' is 'scaled_pct', but Tunable takes its ladders from its "
            r"hyperopt parameters \(space 'profitguard'\), shaped after 'r_ladder'",
        ),
    ],
)
def test_bot_start_when_settings_clash_with_parameters_then_refuses(config, match):
    with pytest.raises(OperationalException, match=match):
        started(Tunable, **config)


@pytest.mark.parametrize(
    ("cls", "preset"), [(Tunable, "none"), (TunablePct, "none"), (TunablePct, "r_ladder")]
)
def test_bot_start_when_preset_would_be_replaced_by_the_parameters_then_refuses(cls, preset):
    # 'none' has no ladders, the parameters would put theirs back: never silently
    with pytest.raises(OperationalException, match=rf"'profitguard.exits.preset' is '{preset}'"):
        started(cls, profitguard={"exits": {"preset": preset}})


@pytest.mark.parametrize(("cls", "preset"), [(Tunable, "r_ladder"), (TunablePct, "scaled_pct")])
def test_bot_start_when_preset_is_the_parameters_own_then_starts(cls, preset):
    strategy = started(cls, profitguard={"exits": {"preset": preset}})
    assert (
        strategy.exits_in_force.take_profits
        == (R_LADDER if preset == "r_ladder" else SCALED_PCT).take_profits
    )


def test_bot_start_when_loaded_value_invalid_then_refuses_naming_the_parameter():
    class Loaded(Tunable):
        profitguard_params = {"pg_tp2_step_r": -1.0}  # noqa: RUF012 - as a params file would

    with pytest.raises(OperationalException, match=r"'profitguard.pg_tp2_step_r' must be > 0"):
        started(Loaded)


@pytest.mark.parametrize(
    ("name", "parameter", "match"),
    [
        (
            "pg_sl_lock_ratio",
            DecimalParameter(0.1, 1.0, default=0.5, space=SPACE),
            r"the range of profitguard.pg_sl_lock_ratio \(0.1, 1.0\) allows invalid ladders",
        ),
        (
            "pg_sl_lock_gap_r",
            DecimalParameter(0.25, 1.5, default=1.0, space=SPACE),
            r"'profitguard.pg_sl_lock_gap_r' must be below 1 \+ 'profitguard.pg_sl1_trigger_r'",
        ),
        (
            "pg_tp2_step_r",
            DecimalParameter(0.0, 2.0, default=1.0, space=SPACE),
            r"the range of profitguard.pg_tp2_step_r \(0.0, 2.0\) allows invalid ladders",
        ),
    ],
)
def test_bot_start_when_declared_range_allows_invalid_ladders_then_refuses(name, parameter, match):
    Widened = type("Widened", (Tunable,), {name: parameter})
    with pytest.raises(OperationalException, match=match):
        started(Widened)


def test_parameters_when_two_strategies_subclass_then_values_not_shared():
    class One(Tunable):
        pass

    class Two(Tunable):
        pass

    One.pg_tp1_r.value = 3.0
    assert Two.pg_tp1_r.value == 2.0
    assert Tunable.pg_tp1_r.value == 2.0
    assert ProfitGuardHyperoptStrategy.pg_tp1_r.value == 2.0


@pytest.mark.parametrize(
    ("spaces", "warned"), [(["default"], True), (["profitguard", "buy"], False), (["roi"], True)]
)
def test_bot_start_when_hyperopt_tunes_freqtrade_exits_too_then_warns(caplog, spaces, warned):
    started(Tunable, runmode=RunMode.HYPEROPT, spaces=spaces)
    assert ("adds Freqtrade's own exits next to the ladders" in caplog.text) is warned
