"""Profitguard's Freqtrade hooks are sealed: an override is refused at start-up, naming
the hook to write instead; a strategy's `pg_…` hooks are combined with profitguard's
so that they can never switch the stop ladder, the gate, sizing or the kill switch off.

Real strategy instances and LocalTrades (`test_adapter_strategy`'s helpers); only
the risk gate's answer is replaced where a test needs a refusal, and counted.
"""

from __future__ import annotations

import atexit
import importlib.util
import inspect
import logging
import sys
from inspect import getfullargspec
from pathlib import Path
from typing import Any

import pytest
from freqtrade.enums import ExitType, RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.persistence import LocalTrade, Trade
from freqtrade.strategy import IStrategy, stoploss_from_absolute

from profitguard.exit_tags import KILL_TAG
from profitguard.freqtrade import ProfitGuardStrategy
from profitguard.freqtrade.overrides import (
    INSTEAD,
    RULES,
    is_profitguards,
    refuse_overrides,
    tighter_stop,
)
from tests.unit.test_adapter_strategy import Fixture, adjust, stop_of
from tests.unit.test_adapter_strategy import started as started_strategy
from tests.unit.test_adapter_trades import OPENED, make_trade
from tests.unit.test_risk_gate import Wallets


@pytest.fixture(autouse=True)
def no_database():
    """Trades in memory, as in backtesting (the gate reads the open ones)."""
    Trade.use_db = False
    LocalTrade.reset_trades()
    yield
    LocalTrade.reset_trades()
    Trade.use_db = True


def started(cls=Fixture, **config):
    strategy = started_strategy(cls, **config)
    strategy.wallets = Wallets(10_000.0)
    atexit.unregister(strategy._pg_gate.print_summary)  # backtests print it; tests need not
    return strategy


def confirm(strategy) -> Any:
    return strategy.confirm_trade_entry(
        pair="BTC/USDT", order_type="market", amount=1.0, rate=100.0, time_in_force="GTC",
        current_time=OPENED, entry_tag=None, side="long",
    )  # fmt: skip


def stake(strategy, proposed: float = 1000.0) -> Any:
    return strategy.custom_stake_amount(
        pair="BTC/USDT", current_time=OPENED, current_rate=100.0, proposed_stake=proposed,
        min_stake=5.0, max_stake=1e9, leverage=1.0, entry_tag=None, side="long",
    )  # fmt: skip


def counting(strategy, target: Any, name: str, answer: Any = None) -> list:
    """Count calls of `target.name` (an instance's part); answer `answer` if given."""
    calls: list = []
    original = getattr(target, name)

    def counted(*args, **kwargs):
        calls.append(kwargs or args)
        return original(*args, **kwargs) if answer is None else answer

    setattr(target, name, counted)
    return calls


# ------------------------------------------------------- overrides are refused

# every Freqtrade hook profitguard implements, and what the error says to write instead
SEALED = {
    "custom_stoploss": "pg_custom_stoploss",
    "adjust_trade_position": "pg_adjust_trade_position",
    "confirm_trade_entry": "pg_confirm_trade_entry",
    "custom_stake_amount": "pg_custom_stake_amount",
    "check_entry_timeout": "pg_check_entry_timeout",
    "confirm_trade_exit": "pg_confirm_trade_exit",
    "order_filled": "pg_order_filled",
    "bot_loop_start": "pg_bot_loop_start",
    "ft_stoploss_adjust": "pg_custom_stoploss",
    "ft_bot_start": "bot_start",
    "should_exit": "custom_exit",
    "advise_indicators": "populate_indicators",
    "ft_advise_signals": "populate_entry_trend and populate_exit_trend",
}


def test_sealed_when_listed_then_every_freqtrade_hook_profitguard_implements():
    from profitguard.freqtrade.hyperopt import ProfitGuardHyperoptStrategy

    implemented = {
        name
        for strategy in (ProfitGuardStrategy, ProfitGuardHyperoptStrategy)
        for klass in strategy.__mro__
        if klass is not IStrategy and is_profitguards(klass)
        for name, member in vars(klass).items()
        if not name.startswith("_") and hasattr(IStrategy, name) and inspect.isfunction(member)
    }
    assert implemented == set(SEALED) == {*RULES, *INSTEAD}


def overriding(name: str, base: type = Fixture, how: str = "method") -> type:
    """A subclass of `base` that overrides hook `name` without super()."""

    def hook(self, *args, **kwargs):
        return None

    member = {"method": hook, "static": staticmethod(hook), "value": None}[how]
    return type(f"Own_{name}", (base,), {name: member})


@pytest.mark.parametrize("name", SEALED)
def test_start_when_a_hook_profitguard_implements_is_overridden_then_refused_naming_pg_hook(
    name,
):
    with pytest.raises(OperationalException) as refused:
        started(overriding(name))
    message = str(refused.value)
    assert f"Own_{name} overrides {name}, which profitguard implements" in message
    assert f"write {SEALED[name]} instead" in message


def test_start_when_refused_then_the_error_docs_strategy_md_shows():
    from pathlib import Path

    class MyStrategy(Fixture):
        def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                            after_fill, **kwargs):  # fmt: skip
            return -0.5

    with pytest.raises(OperationalException) as refused:
        started(MyStrategy)
    docs = (Path(__file__).parents[2] / "docs" / "strategy.md").read_text()
    assert f"\n{refused.value}\n" in docs


@pytest.mark.parametrize("how", ["static", "value"])
def test_start_when_override_is_not_a_method_then_refused_naming_the_hook(how):
    with pytest.raises(OperationalException, match=r"Own_custom_stoploss overrides custom_st"):
        started(overriding("custom_stoploss", how=how))


def test_start_when_override_comes_from_a_mixin_or_a_parent_then_refused_naming_its_class():
    class Mixin:
        def confirm_trade_entry(self, pair, **kwargs):
            return True

    class Mixed(Mixin, Fixture):
        pass

    class Child(overriding("confirm_trade_entry")):
        def pg_confirm_trade_entry(self, pair, **kwargs):
            return True

    with pytest.raises(OperationalException, match=r"Mixin overrides confirm_trade_entry"):
        started(Mixed)
    with pytest.raises(OperationalException, match=r"Own_confirm_trade_entry overrides conf"):
        started(Child)


def test_start_when_pg_hook_never_combined_then_refused_naming_it():
    class Careless(Fixture):
        def __init_subclass__(cls, **kwargs):
            pass  # no super()

    class Child(Careless):
        def pg_custom_stoploss(self, *args, **kwargs):
            return -0.001

    with pytest.raises(OperationalException, match=r"Child.pg_custom_stoploss is never called"):
        started(Child)


REPO = Path(__file__).parents[2]
STRATEGY_FOLDERS = ("user_data/strategies", "tests/integration/strategies",
                    "benchmarks/strategies", "profitguard/tooling/chaos/strategies")  # fmt: skip


def test_strategies_when_shipped_or_tested_then_only_overrides_stop_is_refused(monkeypatch):
    for folder in STRATEGY_FOLDERS:  # their files import each other by bare name
        monkeypatch.syspath_prepend(str(REPO / folder))
    loaded, refused, before = [], [], set(sys.modules)
    try:
        for path in sorted(p for folder in STRATEGY_FOLDERS for p in (REPO / folder).glob("*.py")):
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            for cls in vars(module).values():
                ours = isinstance(cls, type) and issubclass(cls, ProfitGuardStrategy)
                if ours and cls.__module__ == path.stem:
                    loaded.append(cls.__name__)
                    try:
                        refuse_overrides(cls)
                    except OperationalException:
                        refused.append(cls.__name__)
    finally:  # forget the strategy modules imported by bare name (nothing else)
        folders = {REPO / folder for folder in STRATEGY_FOLDERS}
        for name in set(sys.modules) - before:
            where = Path(getattr(sys.modules[name], "__file__", None) or "/").parent
            if "." not in name and where in folders:
                del sys.modules[name]
    assert len(loaded) >= 15 and {"ProfitGuardSample", "ChaosAccount", "LoosePgHooks"} <= {*loaded}
    assert refused == ["OverridesStop"]


def test_docs_table_when_read_then_one_row_per_pg_hook_and_the_other_hooks_named():
    import re

    docs = (REPO / "docs" / "strategy.md").read_text()
    rows = re.findall(r"^\| (`pg_\w+`(?:, `pg_\w+`)*) \|", docs, flags=re.MULTILINE)
    assert sorted(n.strip("`") for row in rows for n in row.split(", ")) == sorted(
        SEALED[name] for name in RULES
    )
    for name, instead in INSTEAD.items():  # "`ft_bot_start` (write `bot_start`)", ...
        first = instead.split()[0]
        assert re.search(rf"`{name}`\s+\((write )?`{first}`", docs), name


def test_class_when_no_pg_hooks_then_profitguards_functions_unwrapped():
    for name in SEALED:
        assert getattr(Fixture, name) is getattr(ProfitGuardStrategy, name), name


# --------------------------------------------------------------- custom_stoploss


class LooseStop(Fixture):
    def pg_custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                           **kwargs):  # fmt: skip
        return -0.5  # 50% away


class TightStop(Fixture):
    def pg_custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                           **kwargs):  # fmt: skip
        return -0.005


class BrokenStop(Fixture):
    def pg_custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                           **kwargs):  # fmt: skip
        raise RuntimeError("user bug")


class OddStop(Fixture):
    def pg_custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                           **kwargs):  # fmt: skip
        return "-0.001"


@pytest.mark.parametrize("after_fill", [False, True])
@pytest.mark.parametrize("is_short", [False, True])
@pytest.mark.parametrize("cls", [LooseStop, BrokenStop, OddStop])
def test_custom_stoploss_when_pg_hook_is_looser_or_fails_then_profitguards_stop(
    cls, is_short, after_fill
):
    strategy = started(cls)
    calls = counting(strategy, strategy._pg_tracker, "decide")
    trade = make_trade(10.0, 100.0, is_short=is_short)
    stop = 102.0 if is_short else 98.0  # the 2% initial stop
    assert stop_of(strategy, trade, 100.0, after_fill=after_fill) == pytest.approx(
        stoploss_from_absolute(stop, 100.0, is_short=is_short), rel=1e-6
    )
    assert len(calls) == 1  # one engine step


@pytest.mark.parametrize("is_short", [False, True])
def test_custom_stoploss_when_pg_hook_is_tighter_then_its_stop(is_short):
    tight = started(TightStop)
    assert stop_of(tight, make_trade(10.0, 100.0, is_short=is_short), 100.0) == -0.005


def test_custom_stoploss_when_pg_hook_raises_then_logged_once(caplog):
    strategy = started(BrokenStop)
    trade = make_trade(10.0, 100.0)
    with caplog.at_level(logging.ERROR):
        stop_of(strategy, trade, 100.0)
        stop_of(strategy, trade, 100.5)
    failures = [r for r in caplog.records if "pg_custom_stoploss failed" in r.message]
    assert len(failures) == 1
    assert "RuntimeError: user bug" in failures[0].message
    assert f"trade {trade.id} (BTC/USDT)" in failures[0].message
    assert failures[0].message.endswith("; profitguard's stop alone")


@pytest.mark.parametrize(
    ("ours", "theirs", "after_fill", "expected"),
    [
        (0.02, -0.5, False, 0.02),  # looser: ours
        (0.02, 0.01, False, 0.01),  # tighter: theirs
        (0.02, 0.0, False, 0.02),  # Freqtrade ignores 0: ours
        (0.02, float("nan"), False, 0.02),
        (0.02, None, False, 0.02),
        (0.0, 0.01, False, 0.0),  # the price is through our stop: ours
        (None, 0.01, False, 0.01),  # ours failed: Freqtrade only tightens
        (None, 0.5, True, None),  # after a fill it would loosen: the stop stays
    ],
)
def test_tighter_stop_when_combined_then_never_looser_than_ours(ours, theirs, after_fill, expected):
    assert tighter_stop(ours, theirs, {"after_fill": after_fill}) == expected


def test_custom_stoploss_when_combined_then_a_function_of_the_class_freqtrade_sees_after_fill_in():
    # Freqtrade makes the after-fill call (that places the initial stop) only to a
    # custom_stoploss that names `after_fill`
    assert "after_fill" in getfullargspec(LooseStop.custom_stoploss).args
    # not profitguard's own function (Freqtrade copies the trade for a strategy's code)
    assert LooseStop.custom_stoploss is not ProfitGuardStrategy.custom_stoploss
    assert LooseStop.custom_stoploss.__qualname__ == "LooseStop.custom_stoploss"
    # every combined hook shows Freqtrade profitguard's arguments
    every = type("Every", (Fixture,), {f"pg_{n}": lambda self, **kw: None for n in RULES})
    for name in RULES:
        combined, ours = getattr(every, name), getattr(ProfitGuardStrategy, name)
        assert combined is not ours and getfullargspec(combined) == getfullargspec(ours), name


# ------------------------------------------------------- adjust_trade_position


class ScaleOut(Fixture):
    def pg_adjust_trade_position(self, trade, current_time, current_rate, current_profit,
                                 min_stake, max_stake, **kwargs):  # fmt: skip
        self.asked = getattr(self, "asked", 0) + 1
        return -1.0, "mine"  # sell a little, every call


def test_adjust_when_ladder_exits_then_ladders_exit_alone_else_the_pg_hooks():
    strategy = started(ScaleOut)
    trade = make_trade(10.0, 100.0)
    assert adjust(strategy, trade, 100.5) == (-1.0, "mine")  # no level reached: theirs
    stop_of(strategy, trade, 104.5)  # peak 2.25R: TP1 reached
    calls = counting(strategy, strategy._pg_tracker, "decide")
    stake_, tag = adjust(strategy, trade, 104.5)
    assert tag == "tp1"
    assert stake_ == pytest.approx(-500.0, rel=1e-3)  # half of the 1000 stake, not more
    assert (len(calls), strategy.asked) == (1, 1)  # the pg_ hook not asked for the TP1 call


@pytest.mark.parametrize("answer", [float("nan"), "-1", (float("inf"), "x")])
def test_adjust_when_pg_hook_answers_no_stake_then_no_order(answer):
    class Odd(Fixture):
        def pg_adjust_trade_position(self, trade, **kwargs):
            return answer

    assert adjust(started(Odd), make_trade(10.0, 100.0), 100.5) is None


# ------------------------------------------------------- entries: gate, sizing


class AlwaysConfirm(Fixture):
    def pg_confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force,
                               current_time, entry_tag, side, **kwargs):  # fmt: skip
        self.asked = getattr(self, "asked", 0) + 1
        return True


def test_confirm_when_gate_refuses_and_pg_hook_confirms_then_refused_gate_asked_once():
    strategy = started(AlwaysConfirm)
    calls = counting(strategy, strategy._pg_gate, "confirm", answer=False)
    assert confirm(strategy) is False
    assert len(calls) == 1
    assert not hasattr(strategy, "asked")  # asked only once the gate confirmed
    counting(strategy, strategy._pg_gate, "confirm", answer=True)
    assert (confirm(strategy), strategy.asked) == (True, 1)


def test_confirm_when_pg_hook_refuses_then_refused():
    class Never(Fixture):
        def pg_confirm_trade_entry(self, pair, **kwargs):
            return False

    strategy = started(Never)
    calls = counting(strategy, strategy._pg_gate, "confirm", answer=True)
    assert confirm(strategy) is False
    assert len(calls) == 1


def test_confirm_when_pg_hook_raises_or_cannot_take_freqtrades_arguments_then_refused():
    class Broken(Fixture):
        def pg_confirm_trade_entry(self, pair, **kwargs):
            raise KeyError("user bug")

    class Narrow(Fixture):
        def pg_confirm_trade_entry(self, pair):  # no **kwargs: the call raises
            return True

    for cls in (Broken, Narrow):
        strategy = started(cls)
        counting(strategy, strategy._pg_gate, "confirm", answer=True)
        assert confirm(strategy) is False, cls


def test_stake_when_combined_then_the_smaller_of_profitguards_size_and_the_pg_hooks():
    class Big(Fixture):
        def pg_custom_stake_amount(self, pair, current_time, current_rate, proposed_stake,
                                   min_stake, max_stake, leverage, entry_tag, side,
                                   **kwargs):  # fmt: skip
            return max_stake  # everything

    class Small(Fixture):
        def pg_custom_stake_amount(self, pair, **kwargs):
            return 7.0

    ours = stake(started())
    assert 7.0 < ours < 1e9
    assert stake(started(Big)) == ours
    assert stake(started(Small)) == 7.0


@pytest.mark.parametrize("answer", [None, float("nan"), -5.0, "100", True])
def test_stake_when_pg_hook_answers_no_stake_then_zero(answer):
    class Odd(Fixture):
        def pg_custom_stake_amount(self, pair, **kwargs):
            return answer

    assert stake(started(Odd)) == 0.0


# --------------------------------------------------- side effects: fills, loop


def test_order_filled_when_pg_hook_then_initial_stop_placed_once_and_both_run():
    seen = []

    class OwnFill(Fixture):
        def pg_order_filled(self, pair, trade, order, current_time, **kwargs):
            seen.append(pair)

    strategy = started(OwnFill)
    calls = counting(strategy, strategy._pg_tracker, "memo")
    trade = make_trade(10.0, 100.0)
    strategy.order_filled(pair=trade.pair, trade=trade, order=trade.orders[0], current_time=OPENED)
    assert (len(calls), seen) == (1, ["BTC/USDT"])
    assert strategy._pg_tracker.known(trade).initial_stop == pytest.approx(98.0)


def test_bot_loop_start_when_pg_hooks_of_child_and_grandchild_then_gate_loop_once_and_both_run():
    seen: list = []

    class Child(Fixture):
        def pg_bot_loop_start(self, current_time, **kwargs):
            seen.append("child")

    class Grandchild(Child):
        def pg_bot_loop_start(self, current_time, **kwargs):
            seen.append("grandchild")
            super().pg_bot_loop_start(current_time, **kwargs)

    strategy = started(Grandchild)
    calls = counting(strategy, strategy._pg_gate, "loop")
    classes = (ProfitGuardStrategy, Fixture, Child, Grandchild)
    before = [dict(vars(klass)) for klass in classes]
    strategy.bot_loop_start(current_time=OPENED)
    assert seen == ["grandchild", "child"]
    assert len(calls) == 1
    assert "bot_loop_start" in vars(Child) and "bot_loop_start" not in vars(Grandchild)
    assert [dict(vars(klass)) for klass in classes] == before  # no class rewritten by a call


# ------------------------------------------------------------ the kill switch


class OwnTimeoutAndExits(Fixture):
    def pg_check_entry_timeout(self, pair, trade, order, current_time, **kwargs):
        return False

    def pg_adjust_trade_position(self, trade, **kwargs):
        return -1.0, "mine"


def test_kill_switch_when_pg_hooks_then_entries_cancelled_and_no_orders():
    strategy = started(OwnTimeoutAndExits, runmode=RunMode.DRY_RUN)
    trade = make_trade(10.0, 100.0)
    order = trade.orders[0]
    assert strategy.check_entry_timeout(trade.pair, trade, order, OPENED) is False
    assert adjust(strategy, trade, 100.5) == (-1.0, "mine")
    counting(strategy, strategy._pg_gate, "halted", answer=True)
    assert strategy.check_entry_timeout(trade.pair, trade, order, OPENED) is True
    assert adjust(strategy, trade, 100.5) is None


def test_check_entry_timeout_when_pg_hook_cancels_then_cancelled():
    class Impatient(Fixture):
        def pg_check_entry_timeout(self, pair, trade, order, current_time, **kwargs):
            return True

    trade = make_trade(10.0, 100.0)
    strategy = started(Impatient)
    assert strategy.check_entry_timeout(trade.pair, trade, trade.orders[0], OPENED) is True


# ------------------------------------------------------------ confirm_trade_exit


class HoldsEveryExit(Fixture):
    def pg_confirm_trade_exit(self, pair, trade, order_type, amount, rate, time_in_force,
                              exit_reason, current_time, **kwargs):  # fmt: skip
        return False


def confirm_exit(strategy, exit_reason: str) -> Any:
    return strategy.confirm_trade_exit(
        pair="BTC/USDT", trade=make_trade(), order_type="market", amount=1.0, rate=100.0,
        time_in_force="GTC", exit_reason=exit_reason, current_time=OPENED,
    )  # fmt: skip


@pytest.mark.parametrize(
    "reason", ["stop_loss", "trailing_stop_loss", "liquidation", ExitType.EMERGENCY_EXIT.value,
               KILL_TAG],
)  # fmt: skip
def test_confirm_exit_when_pg_hook_refuses_a_stop_or_kill_exit_then_it_goes_ahead(reason, caplog):
    strategy = started(HoldsEveryExit)
    with caplog.at_level(logging.WARNING):
        assert confirm_exit(strategy, reason) is True
    assert "cannot hold back" in caplog.text and reason in caplog.text


@pytest.mark.parametrize("reason", ["tp1", "exit_signal", "force_exit", "roi"])
def test_confirm_exit_when_pg_hook_refuses_another_exit_then_refused(reason):
    assert confirm_exit(started(HoldsEveryExit), reason) is False


def test_confirm_exit_when_pg_hook_raises_then_the_exit_goes_ahead(caplog):
    class Broken(Fixture):
        def pg_confirm_trade_exit(self, pair, **kwargs):
            raise KeyError("user bug")

    with caplog.at_level(logging.ERROR):
        assert confirm_exit(started(Broken), "tp1") is True
    assert "pg_confirm_trade_exit failed" in caplog.text and "the exit goes ahead" in caplog.text
