"""A subclass overriding a guarded hook, with or without super(), keeps the protection.

Real strategy instances and LocalTrades (`test_adapter_strategy`'s helpers); only
the risk gate's answer is replaced where a test needs a refusal, and counted.
"""

from __future__ import annotations

import atexit
import logging
import threading
from inspect import getfullargspec
from typing import Any, ClassVar

import pytest
from freqtrade.enums import ExitCheckTuple, ExitType, RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.persistence import LocalTrade, Trade
from freqtrade.strategy import stoploss_from_absolute

from profitguard.exit_tags import KILL_TAG
from profitguard.freqtrade import ProfitGuardStrategy
from profitguard.freqtrade.overrides import RULES, guarded_hooks, tighter_stop
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


# --------------------------------------------------------------- custom_stoploss


class LooseStop(Fixture):
    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        return -0.5  # 50% away, no super()


class TightStop(Fixture):
    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        return -0.005


class StopWithSuper(Fixture):
    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                        after_fill, **kwargs):  # fmt: skip
        ours = super().custom_stoploss(
            pair, trade, current_time, current_rate, current_profit, after_fill, **kwargs
        )
        return ours * 3  # looser than profitguard's, on purpose


class BrokenStop(Fixture):
    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        raise RuntimeError("user bug")


@pytest.mark.parametrize("is_short", [False, True])
@pytest.mark.parametrize("cls", [LooseStop, StopWithSuper, BrokenStop])
def test_custom_stoploss_when_override_is_looser_or_fails_then_profitguards_stop(cls, is_short):
    strategy = started(cls)
    calls = counting(strategy, strategy._pg_tracker, "decide")
    trade = make_trade(10.0, 100.0, is_short=is_short)
    stop = 102.0 if is_short else 98.0  # the 2% initial stop
    assert stop_of(strategy, trade, 100.0) == pytest.approx(
        stoploss_from_absolute(stop, 100.0, is_short=is_short), rel=1e-6
    )
    assert len(calls) == 1  # one engine step, with or without super()


@pytest.mark.parametrize("is_short", [False, True])
def test_custom_stoploss_when_override_is_tighter_then_the_overrides_else_ours(is_short):
    tight, loose = started(TightStop), started(LooseStop)
    assert stop_of(tight, make_trade(10.0, 100.0, is_short=is_short), 100.0) == -0.005
    assert stop_of(loose, make_trade(10.0, 100.0, is_short=is_short), 100.0) > -0.5


def test_custom_stoploss_when_override_raises_then_logged_once(caplog):
    strategy = started(BrokenStop)
    trade = make_trade(10.0, 100.0)
    with caplog.at_level(logging.ERROR):
        stop_of(strategy, trade, 100.0)
        stop_of(strategy, trade, 100.5)
    failures = [r for r in caplog.records if "custom_stoploss override failed" in r.message]
    assert len(failures) == 1
    assert "RuntimeError: user bug" in failures[0].message


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
    assert tighter_stop(None, ours, theirs, {"after_fill": after_fill}) == expected


def test_custom_stoploss_when_overridden_then_a_new_function_freqtrade_sees_after_fill_in():
    # Freqtrade makes the after-fill call (that places the initial stop) only to a
    # custom_stoploss that names `after_fill`
    assert "after_fill" in getfullargspec(LooseStop.custom_stoploss).args
    # not profitguard's own function (Freqtrade copies the trade for a user's hook)
    assert LooseStop.custom_stoploss is not ProfitGuardStrategy.custom_stoploss
    assert LooseStop.custom_stoploss.__qualname__.startswith(LooseStop.__qualname__)
    # and a class that overrides nothing gets no wrapper at all
    for name in guarded_hooks(ProfitGuardStrategy):
        assert getattr(Fixture, name) is getattr(ProfitGuardStrategy, name), name


def test_custom_stoploss_when_override_does_not_name_after_fill_then_not_called_after_fills():
    calls = []

    class NoAfterFill(Fixture):
        def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                            **kwargs):  # fmt: skip
            calls.append(kwargs)
            return -0.001

    strategy = started(NoAfterFill)
    trade = make_trade(10.0, 100.0)
    ratio = stop_of(strategy, trade, 100.0, after_fill=True)
    assert ratio == pytest.approx(stoploss_from_absolute(98.0, 100.0), rel=1e-6)
    assert calls == []


# ------------------------------------------------------- adjust_trade_position


class ScaleOut(Fixture):
    def adjust_trade_position(self, trade, current_time, current_rate, current_profit,
                              min_stake, max_stake, **kwargs):  # fmt: skip
        return -1.0, "mine"  # sell a little, every call, no super()


class ScaleOutWithSuper(Fixture):
    def adjust_trade_position(self, trade, current_time, current_rate, current_profit,
                              min_stake, max_stake, **kwargs):  # fmt: skip
        ours = super().adjust_trade_position(
            trade, current_time, current_rate, current_profit, min_stake, max_stake, **kwargs
        )
        return (-1.0, "mine") if ours is None else (ours[0] * 2, "more")  # twice the level


@pytest.mark.parametrize("cls", [ScaleOut, ScaleOutWithSuper])
def test_adjust_when_ladder_exits_then_ladders_exit_alone_else_the_overrides(cls):
    strategy = started(cls)
    trade = make_trade(10.0, 100.0)
    assert adjust(strategy, trade, 100.5) == (-1.0, "mine")  # no level reached: theirs
    stop_of(strategy, trade, 104.5)  # peak 2.25R: TP1 reached
    calls = counting(strategy, strategy._pg_tracker, "decide")
    stake_, tag = adjust(strategy, trade, 104.5)
    assert tag == "tp1"
    assert stake_ == pytest.approx(-500.0, rel=1e-3)  # half of the 1000 stake, not more
    assert len(calls) == 1


# ------------------------------------------------------- entries: gate, sizing


class AlwaysConfirm(Fixture):
    def confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force, current_time,
                            entry_tag, side, **kwargs):  # fmt: skip
        return True


class ConfirmWithSuper(Fixture):
    def confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force, current_time,
                            entry_tag, side, **kwargs):  # fmt: skip
        return super().confirm_trade_entry(
            pair, order_type, amount, rate, time_in_force, current_time, entry_tag, side, **kwargs
        )


def test_confirm_when_gate_refuses_and_override_confirms_then_refused_gate_asked_once():
    for cls in (AlwaysConfirm, ConfirmWithSuper):
        strategy = started(cls)
        calls = counting(strategy, strategy._pg_gate, "confirm", answer=False)
        assert confirm(strategy) is False, cls
        assert len(calls) == 1, cls


def test_confirm_when_override_refuses_then_refused():
    class Never(Fixture):
        def confirm_trade_entry(self, pair, **kwargs):
            return False

    strategy = started(Never)
    calls = counting(strategy, strategy._pg_gate, "confirm", answer=True)
    assert confirm(strategy) is False
    assert len(calls) == 1


def test_confirm_when_override_raises_then_refused():
    class Broken(Fixture):
        def confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force,
                                current_time, entry_tag, side, **kwargs):  # fmt: skip
            raise KeyError("user bug")

    assert confirm(started(Broken)) is False


class BigStake(Fixture):
    def custom_stake_amount(self, pair, current_time, current_rate, proposed_stake, min_stake,
                            max_stake, leverage, entry_tag, side, **kwargs):  # fmt: skip
        return max_stake  # everything, no super()


def test_stake_when_combined_then_the_smaller_of_profitguards_size_and_the_overrides():
    class Small(Fixture):
        def custom_stake_amount(self, pair, current_time, current_rate, proposed_stake,
                                min_stake, max_stake, leverage, entry_tag, side,
                                **kwargs):  # fmt: skip
            return 7.0

    ours = stake(started())
    assert 7.0 < ours < 1e9
    assert stake(started(BigStake)) == ours
    assert stake(started(Small)) == 7.0


@pytest.mark.parametrize("answer", [None, float("nan"), -5.0, "100"])
def test_stake_when_override_answers_no_stake_then_zero(answer):
    class Odd(Fixture):
        def custom_stake_amount(self, pair, current_time, current_rate, proposed_stake,
                                min_stake, max_stake, leverage, entry_tag, side,
                                **kwargs):  # fmt: skip
            return answer

    assert stake(started(Odd)) == 0.0


# --------------------------------------------- side effects: fills, loop, start


class SilentFill(Fixture):
    def order_filled(self, pair, trade, order, current_time, **kwargs):
        return None  # no super()


class FillWithSuper(Fixture):
    def order_filled(self, pair, trade, order, current_time, **kwargs):
        super().order_filled(pair, trade, order, current_time, **kwargs)


def test_order_filled_when_overridden_then_initial_stop_placed_once():
    for cls in (SilentFill, FillWithSuper):
        strategy = started(cls)
        calls = counting(strategy, strategy._pg_tracker, "memo")
        trade = make_trade(10.0, 100.0)
        strategy.order_filled(trade.pair, trade, trade.orders[0], OPENED)
        assert len(calls) == 1, cls
        assert strategy._pg_tracker.known(trade).initial_stop == pytest.approx(98.0)


class QuietLoop(Fixture):
    def bot_loop_start(self, current_time, **kwargs):
        return None


class LoopWithSuper(Fixture):
    def bot_loop_start(self, current_time, **kwargs):
        super().bot_loop_start(current_time, **kwargs)


class LoopNamingOurs(Fixture):
    def bot_loop_start(self, current_time, **kwargs):
        ProfitGuardStrategy.bot_loop_start(self, current_time, **kwargs)  # not super()


def test_bot_loop_start_when_overridden_then_gate_loop_runs_once():
    for cls in (QuietLoop, LoopWithSuper, LoopNamingOurs):
        strategy = started(cls)
        calls = counting(strategy, strategy._pg_gate, "loop")
        strategy.bot_loop_start(current_time=OPENED)
        assert len(calls) == 1, cls


def test_ft_bot_start_when_override_skips_super_then_profitguard_still_starts():
    seen = []

    class OwnStart(Fixture):
        def ft_bot_start(self, **kwargs):
            seen.append("mine")

    strategy = started(OwnStart)
    assert seen == ["mine"]
    assert strategy.profitguard_settings.initial_stop.pct == 0.02
    with pytest.raises(OperationalException, match=r"'profitguard.exits.trail_pct' must be"):
        started(OwnStart, profitguard={"exits": {"trail_pct": 2}})


# ------------------------------------------------------------------ should_exit


def as_resolved(strategy):
    """What Freqtrade's StrategyResolver sets before should_exit can run."""
    for attribute, value in {"use_exit_signal": True, "exit_profit_only": False,
                             "ignore_roi_if_entry_signal": False}.items():  # fmt: skip
        setattr(strategy, attribute, value)
    strategy.minimal_roi = {0: 100.0}
    return strategy


def test_should_exit_when_override_drops_the_stop_then_the_stop_exit_kept():
    class NoExits(Fixture):
        def should_exit(self, trade, rate, current_time, **kwargs):
            return []

    strategy = as_resolved(started(NoExits))
    trade = make_trade(10.0, 100.0)
    strategy.order_filled(trade.pair, trade, trade.orders[0], OPENED)
    exits = strategy.should_exit(trade, 97.0, OPENED, enter=False, exit_=False)
    assert [e.exit_type for e in exits] == [ExitType.STOP_LOSS]


# ---------------------------------------------------- dataframes and refusals


def test_advise_indicators_when_override_skips_super_then_stops_naming_it():
    class OwnFrame(Fixture):
        def advise_indicators(self, dataframe, metadata):
            return dataframe

    from pandas import DataFrame

    with pytest.raises(OperationalException, match=r"OwnFrame.advise_indicators does not call"):
        started(OwnFrame).advise_indicators(DataFrame({"close": [1.0]}), {"pair": "BTC/USDT"})


def test_start_when_subclass_skipped_init_subclass_then_refused_naming_it():
    class Careless(Fixture):
        def __init_subclass__(cls, **kwargs):
            pass  # no super()

    class Child(Careless):
        def custom_stoploss(self, *args, **kwargs):
            return -0.5

    with pytest.raises(OperationalException, match=r"Child was created without .*super\(\)"):
        started(Child)


def test_start_when_override_is_not_a_method_then_refused_naming_the_hook():
    class Static(Fixture):
        custom_stoploss = staticmethod(lambda **kwargs: -0.5)

    with pytest.raises(OperationalException, match=r"Static overrides custom_stoploss"):
        started(Static)


# ------------------------------------------------------------------ the classes


def test_rules_when_listed_then_every_hook_profitguard_implements_has_one():
    assert set(guarded_hooks(ProfitGuardStrategy)) <= set(RULES)


def test_grandchild_when_child_forgets_super_then_profitguard_once_and_both_run():
    seen: ClassVar = []
    during: ClassVar = []  # profitguard's function as the override sees it
    # the class of profitguard's that defines the hook (a base of ProfitGuardStrategy)
    owner = next(k for k in ProfitGuardStrategy.__mro__ if "bot_loop_start" in vars(k))

    class Child(Fixture):
        def bot_loop_start(self, current_time, **kwargs):
            seen.append("child")  # no super()

    class Grandchild(Child):
        def bot_loop_start(self, current_time, **kwargs):
            seen.append("grandchild")
            during.append(vars(owner)["bot_loop_start"])
            super().bot_loop_start(current_time, **kwargs)

    strategy = started(Grandchild)
    calls = counting(strategy, strategy._pg_gate, "loop")
    classes = (owner, ProfitGuardStrategy, Fixture, Child, Grandchild)
    before = [dict(vars(klass)) for klass in classes]
    strategy.bot_loop_start(current_time=OPENED)
    assert seen == ["grandchild", "child"]
    assert len(calls) == 1
    # no class is rewritten by a call, neither during it nor after
    assert during == [before[0]["bot_loop_start"]]
    assert [dict(vars(klass)) for klass in classes] == before


def test_confirm_when_override_cannot_take_freqtrades_arguments_then_refused():
    class Narrow(Fixture):
        def confirm_trade_entry(self, pair):  # no **kwargs: Freqtrade's call raises
            return True

    assert confirm(started(Narrow)) is False


# ------------------------------------------------------------ the kill switch


class OwnExits(Fixture):
    def should_exit(self, trade, rate, current_time, **kwargs):
        return [ExitCheckTuple(exit_type=ExitType.EXIT_SIGNAL)]  # no super()

    def check_entry_timeout(self, pair, trade, order, current_time, **kwargs):
        return False

    def adjust_trade_position(self, trade, current_time, current_rate, current_profit,
                              min_stake, max_stake, **kwargs):  # fmt: skip
        return -1.0, "mine"


def test_kill_switch_when_hooks_overridden_then_kill_exit_alone_entries_cancelled_no_orders():
    strategy = as_resolved(started(OwnExits, runmode=RunMode.DRY_RUN))
    counting(strategy, strategy._pg_gate, "halted", answer=True)
    trade = make_trade(10.0, 100.0)
    exits = strategy.should_exit(trade, 100.0, OPENED, enter=False, exit_=False)
    assert exits == [ExitCheckTuple(exit_type=ExitType.EMERGENCY_EXIT, exit_reason=KILL_TAG)]
    order = trade.orders[0]
    assert strategy.check_entry_timeout(trade.pair, trade, order, OPENED) is True
    assert adjust(strategy, trade, 100.5) is None


def test_ft_bot_start_when_hyperopt_strategy_override_skips_super_then_its_checks_run():
    from profitguard.freqtrade.hyperopt import ProfitGuardHyperoptStrategy
    from tests.unit.test_adapter_hyperopt import Tunable

    class OwnStart(Tunable):
        def ft_bot_start(self, **kwargs):
            pass  # no super()

    strategy = started(OwnStart)
    assert strategy.exits_in_force == ProfitGuardHyperoptStrategy.exit_config(strategy)
    # the ladder parameters' own start-up check (not only ProfitGuardStrategy's) ran
    with pytest.raises(OperationalException, match=r"'profitguard.exits.trail_pct' is set, but"):
        started(OwnStart, profitguard={"exits": {"trail_pct": 0.05}})


def test_hook_when_called_from_another_thread_during_an_override_then_its_own_answer():
    entered, release = threading.Event(), threading.Event()

    class Slow(Fixture):
        def confirm_trade_entry(self, pair, **kwargs):
            entered.set()
            release.wait(10)
            return super().confirm_trade_entry(pair, **kwargs)

    strategy = started(Slow)
    answers = iter([False, True])  # the gate refuses the first entry, lets the second in
    calls = counting(strategy, strategy._pg_gate, "confirm")
    strategy._pg_gate.confirm = lambda *a, **k: calls.append(k) or next(answers)
    results = {}
    worker = threading.Thread(target=lambda: results.setdefault("slow", confirm(strategy)))
    worker.start()
    assert entered.wait(10)
    other = ProfitGuardStrategy.confirm_trade_entry(  # profitguard's hook, from this thread
        strategy, pair="ETH/USDT", order_type="market", amount=1.0, rate=100.0,
        time_in_force="GTC", current_time=OPENED, entry_tag=None, side="long",
    )  # fmt: skip
    release.set()
    worker.join(10)
    assert (results["slow"], other, len(calls)) == (False, True, 2)


# ------------------------------------------------------------ confirm_trade_exit


class HoldsEveryExit(Fixture):
    def confirm_trade_exit(self, pair, trade, order_type, amount, rate, time_in_force,
                           exit_reason, current_time, **kwargs):  # fmt: skip
        return False  # no super()


def confirm_exit(strategy, exit_reason: str) -> Any:
    return strategy.confirm_trade_exit(
        pair="BTC/USDT", trade=make_trade(), order_type="market", amount=1.0, rate=100.0,
        time_in_force="GTC", exit_reason=exit_reason, current_time=OPENED,
    )  # fmt: skip


@pytest.mark.parametrize("reason", ["stop_loss", "trailing_stop_loss", "liquidation", KILL_TAG])
def test_confirm_exit_when_override_refuses_a_stop_or_kill_exit_then_it_goes_ahead(reason, caplog):
    strategy = started(HoldsEveryExit)
    with caplog.at_level(logging.WARNING):
        assert confirm_exit(strategy, reason) is True
    assert "cannot hold back" in caplog.text and reason in caplog.text


@pytest.mark.parametrize("reason", ["tp1", "exit_signal", "force_exit", "roi"])
def test_confirm_exit_when_override_refuses_another_exit_then_refused(reason):
    assert confirm_exit(started(HoldsEveryExit), reason) is False


def test_confirm_exit_when_override_raises_then_the_exit_goes_ahead():
    class Broken(Fixture):
        def confirm_trade_exit(self, pair, **kwargs):
            raise KeyError("user bug")

    assert confirm_exit(started(Broken), "tp1") is True
