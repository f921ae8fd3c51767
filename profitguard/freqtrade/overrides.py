"""A subclass's override of a hook profitguard implements keeps profitguard's part.

Traders override Freqtrade's hooks and forget `super()`. When a subclass of
`ProfitGuardStrategy` is created (`guard_overrides`), each such override is replaced
on it by a plain function that runs profitguard's part once per call and combines
both answers by the hook's `Rule` (docs/strategy.md, "Overriding Freqtrade's hooks").
The override's `super()` call gets that same answer: profitguard's function replays
the answer of the guarded call in progress on the instance and thread. Nothing is
rewritten per call; what cannot be guarded stops the bot at start-up.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable
from threading import get_ident
from typing import Any, NamedTuple

from freqtrade.enums import ExitType
from freqtrade.exceptions import OperationalException
from freqtrade.strategy import IStrategy

from profitguard.exit_tags import KILL_TAG, STOP_TAGS
from profitguard.freqtrade.failures import fail_closed

log = logging.getLogger("profitguard.freqtrade.strategy")

GUARDED, REPLAYS = "_pg_guarded_override", "_pg_replays"  # on the functions put in place
REFUSED = "_pg_refused_overrides"  # in a guarded class's dict: (hook, why) it refused
ACTIVE = "_pg_active_hooks"  # on the instance: (hook, thread) -> the call in progress
_FAILED = object()  # the override raised (reported by fail_closed)
_NO_CALLS: dict = {}
# exits profitguard owns: an override may add exits, never drop or hold back these
PROTECTIVE_EXITS = (
    ExitType.STOP_LOSS, ExitType.TRAILING_STOP_LOSS, ExitType.LIQUIDATION, ExitType.EMERGENCY_EXIT,
)  # fmt: skip
PROTECTIVE_REASONS = frozenset({*(e.value for e in PROTECTIVE_EXITS), *STOP_TAGS, KILL_TAG})


def _real(value: Any, finite: bool = False) -> bool:
    real = isinstance(value, (int, float)) and not isinstance(value, bool)
    return real and (not finite or math.isfinite(value))


def _stake_of(answer: Any) -> Any:  # an adjust_trade_position answer's stake, as Freqtrade reads it
    return (answer[0] if answer else None) if isinstance(answer, tuple) else answer


def tighter_stop(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> Any:
    """Stop ratios are distances from the same rate: the smaller is tighter, long or
    short. Freqtrade ignores 0 and NaN, so those leave ours. Without ours (it failed)
    the stop stays: after a fill Freqtrade could loosen it, else it only tightens."""
    if not _real(theirs, finite=True) or not theirs:
        return ours
    if ours is None:
        return None if kwargs.get("after_fill") else theirs
    return theirs if ours and abs(theirs) < abs(ours) else ours  # 0: through our stop


def exit_first(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> Any:
    """Profitguard's exit alone when it has one (never two orders in one call); nothing
    else while the kill switch is on."""
    if _stake_of(ours) is not None:
        return ours
    return None if strategy._pg_gate.halted() else theirs


def keep_protective_exits(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> Any:
    """The override's exits with profitguard's protective ones it left out put first;
    profitguard's alone while the kill switch is on."""
    if strategy._pg_persist and strategy._pg_gate.halted():
        return ours
    missing = [e for e in ours if e.exit_type in PROTECTIVE_EXITS and e not in theirs]
    return missing + list(theirs) if missing else theirs


def protective_exits_go_ahead(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> bool:
    """An override may hold back its own exits, never a stop, liquidation or kill exit."""
    if theirs or kwargs.get("exit_reason") not in PROTECTIVE_REASONS:
        return bool(theirs)
    log.warning("confirm_trade_exit of %s refused the %s exit of %s: it goes ahead, an override "
                "cannot hold back a stop, liquidation or kill exit", type(strategy).__name__,
                kwargs.get("exit_reason"), kwargs.get("pair"))  # fmt: skip
    return True


class Rule(NamedTuple):
    """How one hook's override and profitguard's part make Freqtrade's answer."""

    when: str  # first: before the override; ensure: at its super(), else after it;
    # require: at its super(), which must happen
    combine: Callable[[Any, Any, Any, dict], Any] = lambda s, ours, theirs, k: theirs
    on_error: Callable[[Any], Any] | None = lambda ours: None  # the answer when the override
    # failed; None: its error propagates (start-up and dataframe hooks: Freqtrade stops)
    valid: Callable[[Any], bool] = lambda answer: True  # else the override failed
    expected: str = ""
    entry: bool = False  # a failure also counts as the gate's refusal


RULES: dict[str, Rule] = {
    "custom_stoploss": Rule("first", tighter_stop, lambda o: o,
                            lambda a: a is None or _real(a), "a ratio or None"),
    "adjust_trade_position": Rule("first", exit_first,
                                  lambda o: o if _stake_of(o) is not None else None,
                                  lambda a: _stake_of(a) is None or _real(_stake_of(a), True),
                                  "a stake or None"),
    "confirm_trade_entry": Rule("first", lambda s, o, t, k: bool(o) and bool(t),
                                lambda o: False, entry=True),
    "custom_stake_amount": Rule("first", lambda s, o, t, k: min(o, t), lambda o: 0.0,
                                lambda a: _real(a, True) and a >= 0, "a stake >= 0", entry=True),
    "check_entry_timeout": Rule("first", lambda s, o, t, k: bool(o) or bool(t), lambda o: o),
    "should_exit": Rule("first", keep_protective_exits, lambda o: o,
                        lambda a: isinstance(a, list) and all(hasattr(e, "exit_type") for e in a),
                        "a list of ExitCheckTuple"),
    "confirm_trade_exit": Rule("first", protective_exits_go_ahead, lambda o: True),
    "order_filled": Rule("first"),
    "bot_loop_start": Rule("first"),
    "ft_stoploss_adjust": Rule("ensure"),
    "ft_bot_start": Rule("ensure", on_error=None),
    "advise_indicators": Rule("require", on_error=None),
    "ft_advise_signals": Rule("require", on_error=None),
}  # fmt: skip


def is_profitguards(cls: type) -> bool:
    """Classes of profitguard's own package: their overrides call super() (tested)."""
    return cls.__module__ == "profitguard" or cls.__module__.startswith("profitguard.")


def guarded_hooks(cls: type) -> dict[str, tuple[type, Callable]]:
    """Each Freqtrade hook a profitguard class in `cls`'s ancestry defines: the nearest
    such class and its function as it stands there."""
    found: dict[str, tuple[type, Callable]] = {}
    for klass in [k for k in cls.__mro__ if k is not IStrategy and is_profitguards(k)]:
        for name, member in vars(klass).items():
            hook = not name.startswith("_") and hasattr(IStrategy, name)
            if hook and name not in found and inspect.isfunction(member):
                found[name] = (klass, member)
    return found


def guard_overrides(cls: type) -> None:
    """Replace each override of a guarded hook `cls` defines with a guarded function;
    note what cannot be guarded, for `refuse_unguarded`."""
    refused = []
    for name, (owner, member) in {} if is_profitguards(cls) else guarded_hooks(cls).items():
        theirs = inspect.getattr_static(cls, name)
        if theirs is member or hasattr(theirs, GUARDED):
            continue  # not overridden, or guarded in a parent class already
        if name not in RULES or not inspect.isfunction(theirs):
            why = f"it is a {type(theirs).__name__}, not a method"
            refused.append((name, why if name in RULES else "it has no rule to combine"))
            continue
        if not hasattr(member, REPLAYS):
            setattr(owner, name, _replaying(name, member))
        ours = getattr(member, REPLAYS, member)
        setattr(cls, name, _guarded(name, RULES[name], theirs, ours))
    setattr(cls, REFUSED, tuple(refused))


def refuse_unguarded(cls: type) -> None:
    """At start-up: stop the bot when an override could switch the protection off."""
    if not is_profitguards(cls) and REFUSED not in cls.__dict__:
        raise OperationalException(
            f"profitguard: {cls.__name__} was created without ProfitGuardStrategy."
            "__init_subclass__ (an __init_subclass__ of your strategy does not call "
            "super().__init_subclass__(**kwargs)): its overrides of profitguard's hooks "
            "are unguarded; add the super() call"
        )
    for name, why in cls.__dict__.get(REFUSED, ()):
        raise OperationalException(
            f"profitguard: {cls.__name__} overrides {name}, which profitguard implements: "
            f"{why}, so the override could switch profitguard's protection off. Remove the "
            "override (put your code in another hook), or make it a plain method"
        )


def _run(ours: Callable, call: list, self: Any, args: tuple, kwargs: dict) -> Any:
    """Profitguard's part of a guarded call (`call`: [ours, ran, answer]), once."""
    if not call[1]:
        call[1:] = True, ours(self, *args, **kwargs)
    return call[2]


def _replaying(name: str, ours: Callable) -> Callable:
    """`ours`, that answers a call made inside a guarded call of the same instance
    and thread (the override's super()) with the answer of that guarded call."""

    @functools.wraps(ours)
    def replaying(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = self.__dict__.get(ACTIVE, _NO_CALLS).get((name, get_ident()))
        if call is None or call[0] is not ours:
            return ours(self, *args, **kwargs)
        return _run(ours, call, self, args, kwargs)

    replaying.__signature__ = inspect.signature(ours)  # type: ignore[attr-defined]
    setattr(replaying, REPLAYS, ours)
    return replaying


def _guarded(name: str, rule: Rule, theirs: Callable, ours: Callable) -> Callable:
    """The function that replaces the override `theirs` of hook `name`."""

    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = theirs(self, *args, **kwargs)
        if not rule.valid(answer):
            raise ValueError(f"{name} returned {answer!r}: not {rule.expected}")
        return answer

    if rule.on_error is not None:
        checked = fail_closed(_FAILED, hook=f"{name} override", entry=rule.entry)(checked)
    # Freqtrade calls a custom_stoploss right after fills only if it names `after_fill`
    after_fill = name != "custom_stoploss" or "after_fill" in inspect.getfullargspec(theirs).args

    @functools.wraps(theirs)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        active, key = self.__dict__.setdefault(ACTIVE, {}), (name, get_ident())
        if key in active:  # inside a subclass's guarded call: that one combines
            return theirs(self, *args, **kwargs)
        call = active[key] = [ours, False, None]
        try:
            if rule.when == "first":
                _run(ours, call, self, args, kwargs)
            skip = not after_fill and kwargs.get("after_fill")
            answer = None if skip else checked(self, *args, **kwargs)
            if not call[1] and rule.when == "require":
                raise OperationalException(
                    f"profitguard: {type(self).__name__}.{name} does not call super().{name}"
                    "(...): profitguard's part of it never ran. Call it and build on its result"
                )
            _run(ours, call, self, args, kwargs)
        finally:
            del active[key]
        try:
            if answer is not _FAILED:
                return rule.combine(self, call[2], answer, kwargs)
        except Exception:  # a broken combination: the safe answer, never the override's
            if rule.on_error is None:
                raise
        return rule.on_error(call[2])  # type: ignore[misc]

    # Freqtrade reads a hook's parameters with getfullargspec, which sees __signature__
    guarded.__signature__ = inspect.signature(ours)  # type: ignore[attr-defined]
    setattr(guarded, GUARDED, name)
    return guarded
