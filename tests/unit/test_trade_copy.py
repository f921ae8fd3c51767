"""Freqtrade's copy of the trade skipped for profitguard's own hooks (`trade_copy`),
only with `"profitguard": {"fast_backtest": true}`.

The contract with the pinned Freqtrade: its `strategy_safe_wrapper` deep-copies the
trade for a strategy's own hooks, through its module's `deepcopy`, the one function
every Freqtrade module calls; with the skip installed, only profitguard's own hooks
of a backtesting (or hyperopting) strategy get the trade itself, and the wrapper
handles errors exactly as before. A Freqtrade upgrade that changes the wrapper fails
here: review `profitguard/freqtrade/trade_copy.py` against it, then update the pin.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import inspect
import logging
import subprocess
import sys
from pathlib import Path
from types import MethodType, SimpleNamespace

import freqtrade
import pytest
from freqtrade.enums import RunMode
from freqtrade.exceptions import StrategyError
from freqtrade.strategy import strategy_wrapper
from pandas import DataFrame

from profitguard.freqtrade import ProfitGuardHyperoptStrategy, ProfitGuardStrategy, trade_copy
from tests.unit.test_adapter_strategy import Fixture, NoSignals, adjust, started, stop_of
from tests.unit.test_adapter_trades import OPENED, make_trade

# strategy_wrapper.py of the Freqtrade releases this skip was reviewed against
PINNED_WRAPPER_SHA256 = {
    "d88df604b425cd983acb4bc15c7c82fd63a0dafdb4cdfafd195d85c82fc39ca6": "2026.1",
    "791ac142aff61fe8d8f1cbbbf43e8b9b626eaa39b158c7f73fbd706b4516f464": "2026.9",
}
FAST = {"profitguard": {"fast_backtest": True}}
HOOKS = ("custom_stoploss", "adjust_trade_position", "order_filled", "check_entry_timeout")


@pytest.fixture
def skip_installed(monkeypatch):
    """The skip installed over Freqtrade's own `deepcopy`, put back after the test."""
    monkeypatch.setattr(strategy_wrapper, "deepcopy", copy.deepcopy)
    assert trade_copy.install()
    return strategy_wrapper.deepcopy


@pytest.fixture
def freqtrade_copy(monkeypatch):
    """Freqtrade's wrapper as shipped (no skip), put back after the test."""
    monkeypatch.setattr(strategy_wrapper, "deepcopy", copy.deepcopy)


# ----------------------------------------------------- a hierarchy like profitguard's


class Base:
    """Stands for ProfitGuardStrategy: its own trade hooks, listed in its body."""

    _pg_hooks_given_the_trade = frozenset({"custom_stoploss", "order_filled"})

    def __init__(self, runmode=RunMode.BACKTEST, fast_backtest=True) -> None:
        self.config = {"runmode": runmode}
        self.profitguard_settings = SimpleNamespace(fast_backtest=fast_backtest)

    def custom_stoploss(self, pair, trade, **kwargs):
        return trade

    def order_filled(self, pair, trade, **kwargs):
        return trade

    def custom_exit(self, pair, trade, **kwargs):  # defined here, not listed
        return trade


class UserStrategy(Base):
    """A user's strategy that leaves the hooks alone."""


class Overriding(Base):
    def custom_stoploss(self, pair, trade, **kwargs):
        trade.orders.append("mutated")  # user code may change the trade
        return super().custom_stoploss(pair, trade, **kwargs)


class Other:
    """Another strategy in the same process (a --strategy-list comparison)."""

    def __init__(self) -> None:
        self.config = {"runmode": RunMode.BACKTEST}

    def custom_stoploss(self, pair, trade, **kwargs):
        return trade


def trade_seen(hook) -> tuple[object, object]:
    """(the trade handed to Freqtrade's wrapper, the trade the hook got)."""
    trade = SimpleNamespace(pair="BTC/USDT", orders=[["order"]])
    seen = strategy_wrapper.strategy_safe_wrapper(hook, default_retval=None, supress_error=True)(
        pair="BTC/USDT", trade=trade
    )
    return trade, seen


# ------------------------------------------------------------ Freqtrade, as pinned


def test_wrapper_source_when_freqtrade_upgraded_then_review_trade_copy():
    source = inspect.getsource(strategy_wrapper)
    digest = hashlib.sha256(source.encode()).hexdigest()
    assert digest in PINNED_WRAPPER_SHA256, (
        f"Freqtrade {freqtrade.__version__} changed freqtrade/strategy/strategy_wrapper.py: "
        "check profitguard/freqtrade/trade_copy.py against it (what it copies, how it "
        "calls deepcopy, its error handling), then pin the new digest"
    )


@pytest.mark.usefixtures("freqtrade_copy")
@pytest.mark.parametrize("hook", [Base().custom_stoploss, Other().custom_stoploss])
def test_freqtrade_when_hook_takes_trade_then_hands_it_a_deep_copy(hook):
    trade, seen = trade_seen(hook)

    assert seen is not trade
    assert seen.orders == trade.orders
    assert seen.orders is not trade.orders
    assert seen.orders[0] is not trade.orders[0]


def test_freqtrade_when_wrapper_copies_then_through_its_module_deepcopy(monkeypatch):
    copied = []
    monkeypatch.setattr(strategy_wrapper, "deepcopy", lambda x: copied.append(x) or x)

    trade, _ = trade_seen(Other().custom_stoploss)

    assert copied == [trade]
    assert trade_copy.wrapper_code() is not None  # the shape `skipping` reads


def test_freqtrade_when_any_module_calls_the_wrapper_then_it_is_the_one_function():
    """Every Freqtrade module that calls hooks imports the wrapper by name: all must
    be the one function whose module `deepcopy` the skip replaces."""
    root = Path(freqtrade.__file__).parent
    importers = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        if "strategy_safe_wrapper" in text and path.name != "strategy_wrapper.py":
            importers.append(path)
            assert "from freqtrade.strategy.strategy_wrapper import strategy_safe_wrapper" in text
            assert "def strategy_safe_wrapper" not in text
    names = sorted(str(p.relative_to(root)) for p in importers)
    assert names == [
        "freqtradebot.py",
        "optimize/backtesting.py",
        "plot/plotting.py",
        "strategy/interface.py",
    ]
    for module in ("freqtradebot", "optimize.backtesting", "strategy.interface"):
        imported = importlib.import_module(f"freqtrade.{module}")
        assert imported.strategy_safe_wrapper is strategy_wrapper.strategy_safe_wrapper
    copy_calls = inspect.getsource(strategy_wrapper).count("deepcopy(")
    assert copy_calls == 1  # `kwargs["trade"] = deepcopy(kwargs["trade"])`, nothing else


# ------------------------------------------------------------------- the skip


@pytest.mark.usefixtures("skip_installed")
@pytest.mark.parametrize("runmode", [RunMode.BACKTEST, RunMode.HYPEROPT])
@pytest.mark.parametrize("cls", [Base, UserStrategy])
@pytest.mark.parametrize("name", ["custom_stoploss", "order_filled"])
def test_skip_when_profitguard_hook_in_backtesting_then_trade_itself(runmode, cls, name):
    trade, seen = trade_seen(getattr(cls(runmode), name))

    assert seen is trade


@pytest.mark.usefixtures("skip_installed")
@pytest.mark.parametrize(
    "hook",
    [
        pytest.param(Overriding().custom_stoploss, id="overridden, calling super()"),
        pytest.param(Other().custom_stoploss, id="another strategy"),
        pytest.param(Base().custom_exit, id="a hook the base does not list"),
        pytest.param(Base(RunMode.DRY_RUN).custom_stoploss, id="dry-run"),
        pytest.param(Base(RunMode.LIVE).custom_stoploss, id="live"),
        pytest.param(Base(RunMode.PLOT).custom_stoploss, id="plot"),
        pytest.param(Base(fast_backtest=False).custom_stoploss, id="fast_backtest off"),
        pytest.param(lambda pair, trade: trade, id="a function"),
    ],
)
def test_skip_when_not_profitguard_own_hook_or_not_backtesting_then_copied(hook):
    trade, seen = trade_seen(hook)

    assert seen is not trade
    assert seen.orders is not trade.orders


def _replacement(self, pair, trade, **kwargs):
    return trade


_replacement.__name__ = "custom_stoploss"  # as functools.wraps would name it


@pytest.mark.usefixtures("skip_installed")
@pytest.mark.parametrize("bound", [False, True], ids=["a function", "a method bound to it"])
def test_skip_when_hook_replaced_on_the_instance_then_copied(bound):
    strategy = UserStrategy()
    if bound:
        strategy.custom_stoploss = MethodType(_replacement, strategy)
    else:
        original = strategy.custom_stoploss
        strategy.custom_stoploss = lambda pair, trade, **kw: original(pair, trade, **kw)

    trade, seen = trade_seen(strategy.custom_stoploss)

    assert seen is not trade


@pytest.mark.usefixtures("skip_installed")
def test_skip_when_a_class_copies_the_base_function_without_listing_it_then_copied():
    class Aliasing(Base):
        custom_stoploss = Base.custom_stoploss  # the same function, in a body that lists nothing

    trade, seen = trade_seen(Aliasing().custom_stoploss)

    assert seen is not trade


@pytest.mark.usefixtures("skip_installed")
def test_skip_when_deepcopy_called_outside_the_wrapper_then_a_copy():
    trade = SimpleNamespace(orders=[["order"]])

    assert strategy_wrapper.deepcopy(trade) is not trade
    assert copy.deepcopy(trade) is not trade


@pytest.mark.usefixtures("freqtrade_copy")
def test_install_when_called_again_then_installed_once_over_what_was_there(monkeypatch):
    counted = []

    def counting_copy(x, *args):
        counted.append(x)
        return copy.deepcopy(x, *args)

    monkeypatch.setattr(strategy_wrapper, "deepcopy", counting_copy)
    assert trade_copy.install()
    installed = strategy_wrapper.deepcopy
    assert trade_copy.install()

    assert strategy_wrapper.deepcopy is installed
    trade_seen(Base().custom_stoploss)
    assert counted == []
    trade, _ = trade_seen(Other().custom_stoploss)
    assert counted == [trade]  # a copy goes through what was installed before


def test_install_when_wrapper_changed_shape_then_not_installed_and_copies_kept(monkeypatch, caplog):
    monkeypatch.setattr(strategy_wrapper, "deepcopy", copy.deepcopy)
    monkeypatch.setattr(trade_copy, "_WRAPPER_CODE", None)

    with caplog.at_level(logging.WARNING):
        assert not trade_copy.install()
        assert not trade_copy.install()

    assert strategy_wrapper.deepcopy is copy.deepcopy
    trade, seen = trade_seen(Base().custom_stoploss)
    assert seen is not trade
    assert len([r for r in caplog.records if "changed shape" in r.message]) <= 1


class Failing(Base):
    _pg_hooks_given_the_trade = frozenset({"custom_stoploss", "order_filled"})

    def custom_stoploss(self, pair, trade, **kwargs):
        raise ValueError("bad value")

    def order_filled(self, pair, trade, **kwargs):
        raise KeyError("missing")


def wrapped_outcome(hook, **options) -> tuple:
    """What Freqtrade's wrapper returns or raises for `hook`, and what it logs."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger(strategy_wrapper.__name__)
    logger.addHandler(handler)
    try:
        result = strategy_wrapper.strategy_safe_wrapper(hook, **options)(
            pair="BTC/USDT", trade=SimpleNamespace(orders=[])
        )
        outcome = ("returned", result)
    except StrategyError as exc:
        outcome = ("raised", type(exc), str(exc))
    finally:
        logger.removeHandler(handler)
    return outcome, [(r.levelname, r.getMessage()) for r in records]


@pytest.mark.parametrize("name", ["custom_stoploss", "order_filled"])
@pytest.mark.parametrize(
    "options",
    [{}, {"default_retval": False}, {"supress_error": True}, {"message": "pg: "}],
)
def test_error_handling_when_skip_installed_then_exactly_freqtrades(monkeypatch, name, options):
    strategy = Failing()
    hook = getattr(strategy, name)
    monkeypatch.setattr(strategy_wrapper, "deepcopy", copy.deepcopy)
    freqtrades = wrapped_outcome(hook, **options)
    assert trade_copy.install()
    assert trade_copy.given_the_trade(hook)

    assert wrapped_outcome(hook, **options) == freqtrades


# -------------------------------------------------------- profitguard's own hooks


def test_own_hooks_when_listed_then_defined_in_profitguards_body_and_take_the_trade():
    listed = vars(ProfitGuardStrategy)[trade_copy.TRADE_HOOKS_ATTRIBUTE]

    assert sorted(listed) == sorted(HOOKS)
    for name in listed:
        function = vars(ProfitGuardStrategy)[name]
        assert "trade" in inspect.signature(function).parameters
        assert hasattr(freqtrade.strategy.IStrategy, name)  # a Freqtrade hook


class Overrides(Fixture):
    """Its own part of custom_stoploss: that code may change the trade, so it keeps the copy."""

    def pg_custom_stoploss(self, *args, **kwargs):
        return None


class Sample(NoSignals, ProfitGuardHyperoptStrategy):
    timeframe = "5m"


@pytest.mark.parametrize(
    ("cls", "runmode", "given"),
    [
        (Fixture, RunMode.BACKTEST, set(HOOKS)),
        (Fixture, RunMode.HYPEROPT, set(HOOKS)),
        (Sample, RunMode.BACKTEST, set(HOOKS)),
        (Fixture, RunMode.DRY_RUN, set()),
        (Overrides, RunMode.BACKTEST, set(HOOKS) - {"custom_stoploss"}),
    ],
)
@pytest.mark.parametrize("fast", [True, False], ids=["fast_backtest", "default"])
def test_given_the_trade_when_real_strategy_then_only_its_own_hooks_in_backtesting(
    cls, runmode, given, fast
):
    strategy = started(cls, runmode=runmode, **(FAST if fast else {}))
    given = given if fast else set()

    assert {h for h in HOOKS if trade_copy.given_the_trade(getattr(strategy, h))} == given
    assert not trade_copy.given_the_trade(strategy.confirm_trade_entry)  # takes no trade


def spied(strategy, method: str) -> list:
    """The trades the tracker's `method` is handed, on this strategy's tracker."""
    seen = []
    original = getattr(strategy._pg_tracker, method)

    def spy(trade, *args, **kwargs):
        seen.append(trade)
        return original(trade, *args, **kwargs)

    setattr(strategy._pg_tracker, method, spy)
    return seen


@pytest.mark.usefixtures("skip_installed")
@pytest.mark.parametrize(("cls", "itself"), [(Fixture, True), (Overrides, False)])
def test_real_hooks_when_called_through_freqtrades_wrapper_then_trade_itself_if_own(cls, itself):
    strategy = started(cls, **FAST)
    trade = make_trade()
    decided, memo = spied(strategy, "decide"), spied(strategy, "memo")
    wrap = strategy_wrapper.strategy_safe_wrapper

    wrap(strategy.order_filled)(
        pair=trade.pair, trade=trade, order=trade.orders[0], current_time=OPENED
    )
    wrap(strategy.custom_stoploss, default_retval=None, supress_error=True)(
        pair=trade.pair, trade=trade, current_time=OPENED, current_rate=100.0,
        current_profit=0.0, after_fill=True,
    )  # fmt: skip

    assert memo and decided
    assert (memo[0] is trade) is True  # order_filled: never overridden here
    assert (decided[0] is trade) is itself


@pytest.mark.usefixtures("skip_installed")
def test_real_hooks_when_given_the_trade_then_same_answers_as_with_a_copy():
    """The stop and the exit a hook gives do not depend on the copy."""
    answers = {}
    for given in (True, False):
        strategy = started(Fixture)
        trade = make_trade()
        hand = (lambda t: t) if given else copy.deepcopy
        stops = [stop_of(strategy, hand(trade), rate) for rate in (100.0, 103.0, 105.0)]
        exit_ = adjust(strategy, hand(trade), 104.5)
        answers[given] = (stops, exit_)
    assert answers[True] == answers[False]
    assert answers[True][1] is not None  # TP1 reached: the comparison saw an exit


@pytest.mark.parametrize(("config", "installed"), [(FAST, True), ({}, False)])
def test_ft_advise_signals_when_backtesting_then_skip_installed_only_when_asked(
    monkeypatch, config, installed
):
    monkeypatch.setattr(strategy_wrapper, "deepcopy", copy.deepcopy)
    calls = []
    monkeypatch.setattr(trade_copy, "install", lambda: calls.append(1) or True)
    strategy = started(Fixture, **config)
    frame = DataFrame(
        {"date": [OPENED], "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0],
         "volume": [1.0]}
    )  # fmt: skip
    strategy.ft_advise_signals(frame, {"pair": "BTC/USDT"})

    assert bool(calls) is installed
    assert strategy_wrapper.deepcopy is copy.deepcopy


WORKER = r"""
import pickle
import sys
from types import SimpleNamespace

from freqtrade.strategy import strategy_wrapper

import profitguard.freqtrade.strategy as module
from profitguard.freqtrade import trade_copy

strategy = pickle.loads(sys.stdin.buffer.read())
base = next(k for k in type(strategy).__mro__ if k.__name__ == "ProfitGuardStrategy")
assert base is not module.ProfitGuardStrategy, "not pickled by value"
assert trade_copy.install()
trade, seen = SimpleNamespace(pair="BTC/USDT", orders=[], entry_side="buy"), []
strategy._pg_tracker.memo = lambda t, now: seen.append(t)
order = SimpleNamespace(ft_order_side="buy", order_id="1")
strategy_wrapper.strategy_safe_wrapper(strategy.order_filled)(
    pair="BTC/USDT", trade=trade, order=order, current_time=None
)
print(seen[0] is trade)
"""


def test_skip_when_strategy_pickled_by_value_into_a_hyperopt_worker_then_still_applies():
    """Freqtrade's hyperopt pickles the modules of a strategy's base classes by value
    (`HyperOptimizer.hyperopt_pickle_magic`) into fresh worker processes: there,
    ProfitGuardStrategy is another class object, and its hooks are still its own."""
    cloudpickle = pytest.importorskip("cloudpickle")
    from profitguard.freqtrade import hyperopt, strategy

    strategy_instance = started(Sample, **FAST)
    modules = (sys.modules[__name__], hyperopt, strategy)
    for module in modules:
        cloudpickle.register_pickle_by_value(module)
    try:
        blob = cloudpickle.dumps(strategy_instance)
    finally:
        for module in modules:
            cloudpickle.unregister_pickle_by_value(module)
    result = subprocess.run(
        [sys.executable, "-c", WORKER], input=blob, capture_output=True, timeout=120
    )

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout.decode().split() == ["True"]


def test_settings_when_fast_backtest_not_a_flag_then_refused_naming_it():
    from freqtrade.exceptions import OperationalException

    with pytest.raises(OperationalException, match=r"'profitguard\.fast_backtest' must be true"):
        started(profitguard={"fast_backtest": "yes"})
    assert started().profitguard_settings.fast_backtest is False  # off by default
