"""Profitguard's Freqtrade hooks are sealed; a strategy adds its own part in `pg_…` hooks.

Traders override Freqtrade's hooks and forget `super()`, which would switch the stop
ladder, the risk gate or sizing off. So an override of a hook `ProfitGuardStrategy`
implements is refused at start-up, naming the hook to write instead (`refuse_overrides`).
A class with a `pg_…` hook gets, once at its creation, a plain function in the hook's
place (`combine_pg_hooks`): profitguard's hook, then the `pg_…` hook when the hook's
`Rule` asks, their answers combined by it (docs/strategy.md has the table).
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable
from typing import Any, NamedTuple

from freqtrade.enums import ExitType
from freqtrade.exceptions import OperationalException

from profitguard.exit_tags import KILL_TAG, STOP_TAGS
from profitguard.freqtrade.failures import fail_closed

log = logging.getLogger("profitguard.freqtrade.strategy")

COMBINED = "_pg_combined"  # on a function `combine_pg_hooks` put in place
_FAILED = object()  # the pg_ hook raised or gave a wrong answer (reported by fail_closed)
# exits profitguard owns: a pg_confirm_trade_exit cannot hold these back
PROTECTIVE_REASONS = frozenset({*STOP_TAGS, KILL_TAG, *(e.value for e in (
    ExitType.STOP_LOSS, ExitType.TRAILING_STOP_LOSS, ExitType.LIQUIDATION, ExitType.EMERGENCY_EXIT
))})  # fmt: skip


def _real(value: Any, finite: bool = False) -> bool:
    real = isinstance(value, (int, float)) and not isinstance(value, bool)
    return real and (not finite or math.isfinite(value))


def _stake_of(answer: Any) -> Any:  # an adjust_trade_position answer's stake, as Freqtrade reads it
    return (answer[0] if answer else None) if isinstance(answer, tuple) else answer


def tighter_stop(ours: Any, theirs: Any, kwargs: dict) -> Any:
    """Stop ratios are distances from the same rate: the smaller is tighter, long or
    short. Freqtrade ignores 0 and NaN, so those leave ours. Without ours (it failed)
    the stop stays: after a fill Freqtrade could loosen it, else it only tightens."""
    if not _real(theirs, finite=True) or not theirs:
        return ours
    if ours is None:
        return None if kwargs.get("after_fill") else theirs
    return theirs if ours and abs(theirs) < abs(ours) else ours  # 0: through our stop


def protective_exits_go_ahead(ours: Any, theirs: Any, kwargs: dict) -> bool:
    """A strategy may hold back its own exits, never a stop, liquidation or kill exit."""
    if theirs or kwargs.get("exit_reason") not in PROTECTIVE_REASONS:
        return bool(theirs)
    log.warning("pg_confirm_trade_exit refused the %s exit of %s: it goes ahead, a strategy "
                "cannot hold back a stop, liquidation or kill exit", kwargs.get("exit_reason"),
                kwargs.get("pair"))  # fmt: skip
    return True


class Rule(NamedTuple):
    """How profitguard's answer and a `pg_…` hook's make Freqtrade's answer."""

    combine: Callable[[Any, Any, dict], Any]  # (ours, theirs, Freqtrade's arguments)
    asks: Callable[[Any, Any], bool] = lambda s, ours: True  # ask the pg_ hook, else ours
    failed: Callable[[Any], Any] = lambda ours: ours  # the answer when the pg_ hook failed
    valid: Callable[[Any], bool] = lambda answer: True  # else the pg_ hook failed
    expected: str = ""
    entry: bool = False  # a failure also counts as the gate's refusal


RULES: dict[str, Rule] = {
    "custom_stoploss": Rule(tighter_stop, valid=lambda a: a is None or _real(a),
                            expected="a ratio or None"),
    "adjust_trade_position": Rule(lambda o, t, k: t,
                                  lambda s, o: o is None and not s._pg_gate.halted(),
                                  valid=lambda a: _stake_of(a) is None or _real(_stake_of(a), True),
                                  expected="a stake or None"),
    "confirm_trade_entry": Rule(lambda o, t, k: bool(t), lambda s, o: bool(o),
                                lambda o: False, entry=True),
    "custom_stake_amount": Rule(lambda o, t, k: min(o, t), lambda s, o: o > 0, lambda o: 0.0,
                                lambda a: _real(a, True) and a >= 0, "a stake >= 0", entry=True),
    "check_entry_timeout": Rule(lambda o, t, k: bool(t), lambda s, o: not o),
    "confirm_trade_exit": Rule(protective_exits_go_ahead),
    "order_filled": Rule(lambda o, t, k: o),
    "bot_loop_start": Rule(lambda o, t, k: o),
}  # fmt: skip
# profitguard's other Freqtrade hooks, and what a strategy writes instead
INSTEAD = {"ft_bot_start": "bot_start", "ft_stoploss_adjust": "pg_custom_stoploss",
           "should_exit": "custom_exit", "advise_indicators": "populate_indicators",
           "ft_advise_signals": "populate_entry_trend and populate_exit_trend"}  # fmt: skip


def is_profitguards(cls: type) -> bool:
    """Classes of profitguard's own package, which may extend these hooks (with super())."""
    return cls.__module__ == "profitguard" or cls.__module__.startswith("profitguard.")


def _defined(cls: type, name: str) -> tuple[type, Any]:  # the class `cls` gets `name` from
    owner = next(k for k in cls.__mro__ if name in vars(k))
    return owner, vars(owner)[name]


def combine_pg_hooks(cls: type) -> None:
    """At class creation: each `pg_…` hook `cls` has (its own or a base's) is combined
    with profitguard's hook, unless a base's already is."""
    for name in RULES:
        owner, member = _defined(cls, name)
        if hasattr(cls, "pg_" + name) and is_profitguards(owner):
            setattr(cls, name, _combined(name, member, cls.__qualname__))


def refuse_overrides(cls: type) -> None:
    """At start-up: stop the bot if `cls` overrides a hook profitguard implements, or
    has a `pg_…` hook that was never combined."""
    for name in (*RULES, *INSTEAD):
        owner, member = _defined(cls, name)
        if not is_profitguards(owner) and not hasattr(member, COMBINED):
            raise OperationalException(
                f"profitguard: {owner.__name__} overrides {name}, which profitguard "
                "implements (an override could switch the stop ladder, the risk gate or "
                f"sizing off): write {INSTEAD.get(name, 'pg_' + name)} instead (docs/strategy.md)"
            )
        if name in RULES and hasattr(cls, "pg_" + name) and not hasattr(member, COMBINED):
            raise OperationalException(
                f"profitguard: {cls.__name__}.pg_{name} is never called: an __init_subclass__ "
                "of its bases does not call super().__init_subclass__(**kwargs); add it"
            )


def _combined(name: str, hook: Callable, qualname: str) -> Callable:
    """Profitguard's `hook`, then the strategy's `pg_…` hook, combined by the rule."""
    rule, pg = RULES[name], "pg_" + name

    def ask(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = getattr(self, pg)(*args, **kwargs)
        if not rule.valid(answer):
            raise ValueError(f"{pg} returned {answer!r}: not {rule.expected}")
        return answer

    # Freqtrade reads a hook's parameters with getfullargspec, which sees __signature__
    ask.__signature__ = inspect.signature(hook)  # type: ignore[attr-defined]
    ask = fail_closed(_FAILED, hook=pg, entry=rule.entry)(ask)

    @functools.wraps(hook)
    def combined(self: Any, *args: Any, **kwargs: Any) -> Any:
        ours = hook(self, *args, **kwargs)
        if not rule.asks(self, ours):
            return ours
        theirs = ask(self, *args, **kwargs)
        return rule.failed(ours) if theirs is _FAILED else rule.combine(ours, theirs, kwargs)

    combined.__qualname__, combined.__signature__ = f"{qualname}.{name}", ask.__signature__
    setattr(combined, COMBINED, pg)
    return combined
