"""Defaults that fit a backtest: a losing streak pauses for a cooldown, not until a
`guard resume` nobody types; a run the gate stood in the way of ends with a warning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freqtrade.enums import RunMode

from profitguard.freqtrade.gate.refusals import PauseClock
from profitguard.freqtrade.settings import load_settings
from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.gate_text import run_warning
from profitguard.risk.registry import BACKTEST_STREAK_COOLDOWN_MINUTES
from profitguard.risk.rules import ONE_TRADE_OPEN
from profitguard.risk.state import TradingState

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SETTINGS = {"CONSECUTIVE_LOSSES": ["max_consecutive_losses", "loss_streak_cooldown_minutes"]}


def cooldown(runmode, risk=None):
    config = {"runmode": runmode, "stake_currency": "USDT"}
    if risk is not None:
        config["profitguard"] = {"risk": risk}
    return load_settings({}, config).risk.loss_streak_cooldown_minutes


@pytest.mark.parametrize("runmode", [RunMode.BACKTEST, RunMode.HYPEROPT])
def test_cooldown_when_backtesting_and_unset_then_freqtrades_stop_duration(runmode):
    assert BACKTEST_STREAK_COOLDOWN_MINUTES == 60
    assert cooldown(runmode) == 60


@pytest.mark.parametrize("runmode", [RunMode.DRY_RUN, RunMode.LIVE])
def test_cooldown_when_dry_run_or_live_then_until_resume(runmode):
    assert cooldown(runmode) is None


def test_cooldown_when_set_then_kept_in_every_mode_null_included():
    assert cooldown(RunMode.BACKTEST, {"loss_streak_cooldown_minutes": 240}) == 240
    assert cooldown(RunMode.BACKTEST, {"loss_streak_cooldown_minutes": None}) is None
    strategy_section = {"risk": {"loss_streak_cooldown_minutes": None}}
    config = {"runmode": RunMode.BACKTEST, "stake_currency": "USDT"}
    assert load_settings(strategy_section, config).risk.loss_streak_cooldown_minutes is None


def test_run_warning_when_most_entries_refused_then_one_line_naming_rule_and_share():
    line = run_warning({"CONSECUTIVE_LOSSES": 816}, 833, {}, timedelta(days=59), SETTINGS)
    assert line == (
        "profitguard: warning: the risk gate refused 98% of the entry signals (816 of 833; "
        "CONSECUTIVE_LOSSES 816); see profitguard.risk.max_consecutive_losses, "
        "profitguard.risk.loss_streak_cooldown_minutes"
    )


def test_run_warning_when_half_or_less_refused_and_quarter_or_less_paused_then_none():
    paused = {"CONSECUTIVE_LOSSES": timedelta(days=25)}
    refused = {"CONSECUTIVE_LOSSES": 50}
    assert run_warning(refused, 100, paused, timedelta(days=100), SETTINGS) is None


def test_run_warning_when_paused_over_a_quarter_then_names_the_rule_that_paused():
    paused = {"CONSECUTIVE_LOSSES": timedelta(days=20), "DAILY_LOSS_LIMIT": timedelta(days=6)}
    line = run_warning({"CONSECUTIVE_LOSSES": 1}, 100, paused, timedelta(days=100), SETTINGS)
    assert line == (
        "profitguard: warning: the risk gate paused entries for 26% of the run "
        "(CONSECUTIVE_LOSSES); see profitguard.risk.max_consecutive_losses, "
        "profitguard.risk.loss_streak_cooldown_minutes"
    )


def streak(until=None, one_trade=None):
    extra = ()
    if until is not None:
        extra = (Figure("until", until, Unit.TIME),)
    if one_trade is not None:
        extra = (Figure(ONE_TRADE_OPEN, one_trade, Unit.TEXT),)
    return (Check(Rule.LOSS_STREAK, False, Figure("losses", 3), Figure("limit", 3), extra),)


def test_pause_clock_when_cooldown_given_then_pause_ends_at_its_until_not_the_next_entry():
    clock = PauseClock()
    h = timedelta(hours=1)
    clock.note(TradingState.ACTIVE, (), T0)
    clock.note(TradingState.REDUCING, streak(until=T0 + 2 * h), T0 + h)
    clock.note(TradingState.REDUCING, streak(until=T0 + 2 * h), T0 + h + h / 2)
    clock.note(TradingState.ACTIVE, (), T0 + 5 * h)  # the next entry comes later
    clock.note(TradingState.REDUCING, streak(until="reset"), T0 + 6 * h)  # until reset
    clock.note(TradingState.REDUCING, streak(until="reset"), T0 + 8 * h)
    assert clock.paused() == {"CONSECUTIVE_LOSSES": 3 * h}
    assert clock.span() == 8 * h


def test_pause_clock_when_one_trade_after_the_cooldown_is_open_then_not_paused():
    clock = PauseClock()
    clock.note(TradingState.REDUCING, streak(one_trade="BTC/USDT"), T0)
    clock.note(TradingState.REDUCING, streak(one_trade="BTC/USDT"), T0 + timedelta(hours=5))
    assert clock.paused() == {}


def test_pause_clock_when_a_new_pause_begins_after_the_last_ran_out_then_both_counted():
    clock = PauseClock()
    h = timedelta(hours=1)
    clock.note(TradingState.REDUCING, streak(until=T0 + h), T0)
    clock.note(TradingState.REDUCING, streak(until=T0 + 4 * h), T0 + 3 * h)
    clock.note(TradingState.ACTIVE, (), T0 + 10 * h)
    assert clock.paused() == {"CONSECUTIVE_LOSSES": 2 * h}
