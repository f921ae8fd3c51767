"""Freqtrade's copy of the trade, skipped for profitguard's own hooks in backtesting
when the config asks for it: `"profitguard": {"fast_backtest": true}`.

Off by default: profitguard then changes nothing of Freqtrade's. With the setting on,
a backtest or hyperopt run replaces one name of Freqtrade's (listed in
docs/freqtrade-internals.md); dry-run and live never do.

Freqtrade calls strategy hooks through `strategy_safe_wrapper`
(freqtrade/strategy/strategy_wrapper.py). Before a hook that the strategy itself
implements and that takes a `trade`, the wrapper hands it a `deepcopy` of the
trade, its orders included, so that strategy code cannot change the trade by
accident. In a backtest that copy is most of the loop: 37% of the sample's loop
CPU (159 µs a copy, three hooks per candle of every open trade); without it the
sample's loop took 54% less CPU, and made the very same trades.

profitguard's hooks only read the trade: their state lives in a memo keyed by trade
id (and in the trade's custom data in dry-run and live), never on the trade object.
The tests prove it on a real backtest: a probe compares the trade and its orders
before and after every call of these hooks, and the trades with and without the
copy are the same, field by field. So profitguard's own hooks get the trade itself,
and nothing else changes:

- only a hook whose function, as Python resolves it on the strategy's class, is the
  very function a profitguard base class defines in its body and lists in its
  `TRADE_HOOKS_ATTRIBUTE` (`ProfitGuardStrategy`'s exit hooks). A subclass with its
  own part of the hook (a `pg_…` hook: `overrides` puts another function in the
  hook's place) keeps the copy: its code may change the trade. So does a hook
  replaced on the instance, and every other strategy in the process (a
  `--strategy-list` comparison);
- only for a strategy whose settings have `fast_backtest` on (another strategy in a
  `--strategy-list` run keeps the copy);
- only while that strategy backtests or hyperopts: dry-run and live keep the copy
  (one trade at a time there, so it is cheap; live safety first);
- Freqtrade's wrapper is not touched: its exception handling and default return
  values stay Freqtrade's. `install` replaces the one name it looks up at call time,
  its module's `deepcopy`, so every module that imported the wrapper (the strategy
  interface, the backtester, the bot) gets the skip. The replacement copies as
  before unless its caller is the wrapper's own code, copying the `trade` argument,
  for one of the hooks above.

tests/unit/test_trade_copy.py holds the contract with the pinned Freqtrade: it fails
if the wrapper stops copying the trade, changes so that the skip no longer applies
(or would apply to other hooks), or handles errors differently.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from types import CodeType
from typing import Any

from freqtrade.enums import RunMode
from freqtrade.strategy import strategy_wrapper

log = logging.getLogger(__name__)

# A profitguard base class names, in its own body, the hooks it defines that may
# have the trade itself: frozenset of hook names.
TRADE_HOOKS_ATTRIBUTE = "_pg_hooks_given_the_trade"
RUN_MODES = (RunMode.BACKTEST, RunMode.HYPEROPT)

# set on the installed replacement: the copy function it falls back to
_FALLS_BACK_TO = "_pg_falls_back_to"


def _noop() -> None:
    return None


def wrapper_code() -> CodeType | None:
    """The code of the function `strategy_safe_wrapper` returns, if it still has the
    shape the skip relies on: it calls its module's `deepcopy`, holds the hook in
    the closure variable `f` and the call's keyword arguments in `kwargs`."""
    code = strategy_wrapper.strategy_safe_wrapper(_noop).__code__
    shaped = (
        "deepcopy" in code.co_names and "f" in code.co_freevars and "kwargs" in code.co_varnames
    )
    return code if shaped else None


_WRAPPER_CODE = wrapper_code()


def given_the_trade(hook: Any) -> bool:
    """Whether Freqtrade may hand `hook` (what it wraps: a bound method) the trade
    itself: one of profitguard's own trade hooks, of a strategy in backtesting or
    hyperopt."""
    func = getattr(hook, "__func__", None)
    strategy = getattr(hook, "__self__", None)
    if func is None or strategy is None:
        return False
    name = getattr(func, "__name__", None)
    for klass in type(strategy).__mro__:  # where Python resolves the name
        attributes = vars(klass)
        if name in attributes:
            if attributes[name] is not func:
                return False
            if name not in attributes.get(TRADE_HOOKS_ATTRIBUTE, ()):
                return False
            break
    else:
        return False
    settings = getattr(strategy, "profitguard_settings", None)
    if not getattr(settings, "fast_backtest", False):
        return False
    config = getattr(strategy, "config", None)
    return isinstance(config, dict) and config.get("runmode") in RUN_MODES


def skipping(copy: Callable[..., Any]) -> Callable[..., Any]:
    """`copy` (the wrapper's `deepcopy`), except for the trade of a hook `given_the_trade`."""

    def copy_unless_profitguard_hook(x: Any, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1)
        if caller.f_code is _WRAPPER_CODE:
            local = caller.f_locals
            arguments = local.get("kwargs")
            if (
                isinstance(arguments, dict)
                and arguments.get("trade") is x
                and given_the_trade(local.get("f"))
            ):
                return x
        return copy(x, *args, **kwargs)

    setattr(copy_unless_profitguard_hook, _FALLS_BACK_TO, copy)
    return copy_unless_profitguard_hook


@functools.cache
def _warn_changed_shape() -> None:
    log.warning(
        "profitguard: Freqtrade's strategy_safe_wrapper has changed shape; its copy of the "
        "trade for every hook is kept (backtests run slower, nothing else changes)"
    )


def installed() -> bool:
    """Whether Freqtrade's wrapper skips the copy for profitguard's hooks."""
    return hasattr(strategy_wrapper.deepcopy, _FALLS_BACK_TO)


def install() -> bool:
    """Make Freqtrade's wrapper skip the trade copy for profitguard's own hooks, once
    per process (again: nothing changes). False if the wrapper no longer has the
    shape this relies on: Freqtrade then copies as always."""
    if installed():
        return True
    if _WRAPPER_CODE is None:
        _warn_changed_shape()
        return False
    strategy_wrapper.deepcopy = skipping(strategy_wrapper.deepcopy)
    return True
