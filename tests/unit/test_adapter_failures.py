"""Fail closed, written once: `failures.fail_closed` on the strategy's hooks.

Each guarded hook returns its safe default on error, reports it once, and still
returns the default when the report itself fails; Freqtrade still sees each hook's
own parameters (it reads them with `getfullargspec`, which ignores `__wrapped__`).
"""

from __future__ import annotations

import logging
from inspect import getfullargspec
from pathlib import Path

import pytest
from freqtrade.enums import RunMode
from freqtrade.resolvers import StrategyResolver

from profitguard.freqtrade import ProfitGuardStrategy
from profitguard.freqtrade.failures import FailureLog, fail_closed
from tests.unit.test_adapter_strategy import started, stop_of
from tests.unit.test_adapter_trades import make_trade

REPO = Path(__file__).resolve().parents[2]
# profitguard's hooks, on ProfitGuardStrategy and the base classes that hold them by job
GUARDED = sorted(
    {
        name
        for klass in ProfitGuardStrategy.__mro__
        if klass.__module__.startswith("profitguard.")
        for name, member in vars(klass).items()
        if callable(member) and hasattr(member, "__wrapped__")
    }
)


def test_guarded_hooks_when_listed_then_every_hook_profitguard_catches_for():
    hooks = {"custom_stoploss", "adjust_trade_position", "order_filled", "confirm_trade_entry",
             "custom_stake_amount", "check_entry_timeout", "bot_loop_start"}  # fmt: skip
    assert hooks <= set(GUARDED)


@pytest.mark.parametrize("name", GUARDED)
def test_guarded_hook_when_freqtrade_reads_its_arguments_then_sees_the_hooks_own(name):
    method = getattr(ProfitGuardStrategy, name)
    assert getfullargspec(method) == getfullargspec(method.__wrapped__)


def test_strategy_when_loaded_by_freqtrade_then_custom_stoploss_gets_the_after_fill_calls(
    tmp_path,
):
    # Freqtrade calls custom_stoploss right after a fill only when the hook names
    # `after_fill`: without those calls the initial stop is placed a candle later
    config = {
        "strategy": "ProfitGuardSample",
        "strategy_path": str(REPO / "user_data" / "strategies"),
        "user_data_dir": tmp_path,
        "stake_currency": "USDT",
        "timeframe": "5m",
        "max_open_trades": 3,
        "stake_amount": 100,
        "dry_run": True,
        "trading_mode": "spot",
        "margin_mode": "",
        "entry_pricing": {},
        "exit_pricing": {},
    }
    strategy = StrategyResolver.load_strategy(config)
    assert strategy._ft_stop_uses_after_fill is True


def test_strategy_when_started_outside_a_bot_then_no_dataprovider_needed(tmp_path):
    """`profitguard report` loads the strategy as Freqtrade's commands do and starts it
    for its ladders: no bot, no DataProvider (`dp`) on the strategy."""
    from profitguard.report.freqtrade_setup import exits_of, load_strategy

    config = {
        "strategy": "ProfitGuardSample", "strategy_path": str(REPO / "user_data" / "strategies"),
        "user_data_dir": tmp_path, "stake_currency": "USDT", "timeframe": "5m",
        "max_open_trades": 3, "stake_amount": 100, "dry_run": True, "trading_mode": "spot",
        "margin_mode": "", "entry_pricing": {}, "exit_pricing": {}, "runmode": RunMode.OTHER,
    }  # fmt: skip
    strategy = load_strategy(config)
    assert not hasattr(strategy, "dp")
    assert exits_of(strategy).take_profits
    assert strategy._pg_client_ids is None


class Hooks:
    """A stand-in strategy: reports recorded, or failing when `broken`."""

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.reports: list[tuple] = []

    def _pg_report_failure(self, hook, exc, arguments, inputs, *, entry):
        if self.broken:
            raise RuntimeError("the report fails too")
        self.reports.append((hook, type(exc), arguments.get("trade"), inputs, entry))

    @fail_closed(False, entry=True, inputs=lambda a: {"rate": a["rate"]})
    def confirm(self, pair, rate, **kwargs):
        raise ValueError(pair)

    @fail_closed(lambda a: a["exits"], hook="should_exit")
    def exits(self, trade, exits):
        raise KeyError(trade)


@pytest.mark.parametrize("broken", [False, True])
def test_fail_closed_when_hook_raises_then_safe_default_even_if_the_report_fails(broken, caplog):
    hooks = Hooks(broken)
    with caplog.at_level(logging.CRITICAL):
        assert hooks.confirm("BTC/USDT", rate=100.0) is False
        assert hooks.exits("a trade", exits=["freqtrade's"]) == ["freqtrade's"]
    if broken:
        assert "profitguard confirm failed for BTC/USDT; entry refused" in caplog.text
    else:
        assert hooks.reports == [
            ("confirm", ValueError, None, {"rate": 100.0}, True),
            ("should_exit", KeyError, "a trade", {}, False),
        ]


def test_failure_log_when_the_same_cause_repeats_then_logged_once_until_forgotten(caplog):
    sent: list[str] = []
    failures = FailureLog(sent.append)
    trade = make_trade(10.0, 100.0)
    with caplog.at_level(logging.ERROR):
        for figure in range(3):
            failures.report("order_filled", trade, ValueError(figure), order="x")
        failures.forget(trade.id)
        failures.report("order_filled", trade, ValueError(9), order="x")
    assert len(sent) == 2
    assert "profitguard order_filled failed for trade 1 (BTC/USDT): ValueError: 0" in sent[0]
    assert caplog.text.count("failed for trade 1") == 2


def test_custom_stoploss_when_reporting_its_failure_fails_too_then_still_none():
    strategy = started()
    trade = make_trade(10.0, 100.0)
    del strategy._pg_tracker  # the callback fails...
    del strategy._pg_failures  # ...and so does reporting it
    assert stop_of(strategy, trade, 100.0) is None
