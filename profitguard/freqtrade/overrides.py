"""A subclass's override of a guarded hook keeps profitguard's part.

Traders override Freqtrade's hooks all the time and forget `super()`. So when a
subclass of `ProfitGuardStrategy` overrides a hook profitguard implements, the class
gets, at creation time, a new function in its place (`guard_overrides`, called from
`ProfitGuardStrategy.__init_subclass__`) that runs profitguard's part exactly once
per call and combines the two answers so the protection holds:

| hook | profitguard's part | the answer Freqtrade gets |
|---|---|---|
| `custom_stoploss` | first | the tighter stop; never looser than profitguard's |
| `adjust_trade_position` | first | profitguard's exit if it has one, else yours (never both) |
| `confirm_trade_entry` | first | yours AND the risk gate's |
| `custom_stake_amount` | first | the smaller stake |
| `check_entry_timeout` | first | cancel if either says so |
| `should_exit` | first | your exits, with profitguard's stop and kill exits kept |
| `custom_exit` | first | profitguard's exit reason, else yours |
| `confirm_trade_exit` | first | yours, except that a stop, liquidation or kill exit goes ahead |
| `order_filled`, `bot_loop_start` | first | yours (None) |
| `ft_bot_start`, `ft_stoploss_adjust` | at your `super()` call, else after yours | yours |
| `advise_indicators`, `ft_advise_signals` | at your `super()` call | yours (no call: stop) |

"First": profitguard's part runs with Freqtrade's own arguments before your
override, and your `super()` call returns that answer without running it again.
Without a `super()` call in a dataframe hook nothing can be combined: the run stops
with an error naming the hook. An error in your override fails closed, as
profitguard's own hooks do: logged once, then the safe answer (profitguard's stop,
no entry, stake 0, profitguard's exit). A hook profitguard implements but has no
rule here, or an override that is not a plain function, stops the bot at start-up
naming it (`refuse_unguarded`).

A class that overrides nothing is left alone: no wrapper, no cost per call.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from threading import get_ident
from typing import Any

from freqtrade.enums import ExitType
from freqtrade.exceptions import OperationalException
from freqtrade.strategy import IStrategy

from profitguard.exit_tags import KILL_TAG, STOP_TAGS
from profitguard.freqtrade.failures import fail_closed

log = logging.getLogger("profitguard.freqtrade.strategy")

GUARDED_MARK = "_pg_guarded_override"  # on each wrapper: the hook's name
CLASS_MARK = "_pg_overrides_checked"  # in each processed class's __dict__
REFUSED = "_pg_refused_overrides"  # in each processed class's __dict__: (hook, why)
# on the instance: (hook, thread) -> _Call, while a guarded call runs in that thread
ACTIVE = "_pg_active_hooks"

# exits profitguard owns in `should_exit`: a user's list may add exits, never drop these
PROTECTIVE_EXITS = (
    ExitType.STOP_LOSS,
    ExitType.TRAILING_STOP_LOSS,
    ExitType.LIQUIDATION,
    ExitType.EMERGENCY_EXIT,
)
# the same exits as `confirm_trade_exit` names them (its `exit_reason`)
PROTECTIVE_REASONS = frozenset({*(e.value for e in PROTECTIVE_EXITS), *STOP_TAGS, KILL_TAG})


class When(Enum):
    FIRST = "first"  # before the override; its super() call gets the answer replayed
    ENSURE = "ensure"  # at the override's super() call, else right after the override
    REQUIRE = "require"  # at the override's super() call, which must happen


_FAILED = object()  # the override raised (reported by fail_closed)


@dataclass(frozen=True)
class Rule:
    """How one hook's override and profitguard's part make one answer."""

    when: When
    # (strategy, profitguard's answer, the override's, Freqtrade's kwargs) -> answer
    combine: Callable[[Any, Any, Any, dict], Any]
    # (strategy, profitguard's answer) -> the answer when the override raised; None:
    # the override's error propagates (start-up and dataframe hooks: Freqtrade stops)
    on_error: Callable[[Any, Any], Any] | None
    # an answer of the override that is not one of the hook's: ValueError (fail closed)
    check: Callable[[Any], None] = lambda answer: None
    entry: bool = False  # an entry hook: a failure also counts as the gate's refusal


# ------------------------------------------------------------------ the rules


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def tighter_stop(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> Any:
    """Freqtrade's stop ratios are distances from the same rate: the smaller one is the
    tighter stop, long or short. Freqtrade ignores 0, NaN and inf (no change), so those
    from the override leave profitguard's. Without an answer of profitguard's (its part
    failed) the stop stays where it is: right after a fill Freqtrade would move it
    either way, so the override's is dropped there; otherwise Freqtrade only tightens."""
    if not _is_number(theirs) or not theirs or not math.isfinite(theirs):
        return ours
    if ours is None:
        return None if kwargs.get("after_fill") else theirs
    if not ours:
        return ours  # the price is through profitguard's stop: adjust_trade_position exits
    return theirs if abs(theirs) < abs(ours) else ours


def _check_stop(answer: Any) -> None:
    if answer is not None and not _is_number(answer):
        raise ValueError(f"custom_stoploss returned {answer!r}: not a ratio or None")


def _stake_of(answer: Any) -> Any:
    """The stake of an adjust_trade_position answer, as Freqtrade reads it."""
    if isinstance(answer, tuple):
        return answer[0] if answer else None
    return answer


def exit_first(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> Any:
    """Profitguard's partial (or stop) exit wins, and then the override's answer is
    dropped: one order per call, never more than the ladder asks. While the kill switch
    is on nothing else is placed (the kill exit sells it all)."""
    if _stake_of(ours) is not None:
        return ours
    if strategy._pg_gate.halted():
        return None
    return theirs


def _check_adjust(answer: Any) -> None:
    stake = _stake_of(answer)
    if stake is not None and (not _is_number(stake) or not math.isfinite(stake)):
        raise ValueError(f"adjust_trade_position returned {answer!r}: not a stake or None")


def both_confirm(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> bool:
    """The entry goes ahead only when the risk gate and the override both confirm."""
    return bool(ours) and bool(theirs)


def smaller_stake(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> float:
    """The smaller of profitguard's sized stake and the override's (0: no trade)."""
    return min(ours, theirs)


def _check_stake(answer: Any) -> None:
    if not _is_number(answer) or not math.isfinite(answer) or answer < 0:
        raise ValueError(f"custom_stake_amount returned {answer!r}: not a stake >= 0")


def either_cancels(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> bool:
    """An entry order is cancelled when the kill switch or the override says so."""
    return bool(ours) or bool(theirs)


def keep_protective_exits(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> Any:
    """The override's exits, with profitguard's stop, liquidation and kill exits it left
    out put first. While the kill switch is on, profitguard's answer alone (the kill
    exit, or nothing while the kill order is open)."""
    if strategy._pg_persist and strategy._pg_gate.halted():
        return ours
    missing = [e for e in ours if e.exit_type in PROTECTIVE_EXITS and e not in theirs]
    return missing + list(theirs) if missing else theirs


def _check_exits(answer: Any) -> None:
    if not isinstance(answer, list) or not all(hasattr(e, "exit_type") for e in answer):
        raise ValueError(f"should_exit returned {answer!r}: not a list of ExitCheckTuple")


def either_exit(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> Any:
    """Profitguard's exit reason when it has one, else the override's."""
    return ours if ours else theirs


def protective_exits_go_ahead(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> bool:
    """The override may hold back an exit of its own or a take-profit, never a stop,
    liquidation or kill exit: refusing one would switch the stop off."""
    if theirs or kwargs.get("exit_reason") not in PROTECTIVE_REASONS:
        return bool(theirs)
    log.warning(
        "confirm_trade_exit of %s refused the %s exit of %s: it goes ahead, an override "
        "cannot hold back a stop, liquidation or kill exit",
        type(strategy).__name__,
        kwargs.get("exit_reason"),
        kwargs.get("pair"),
    )
    return True


def theirs_answer(strategy: Any, ours: Any, theirs: Any, kwargs: dict) -> Any:
    """Profitguard's part has run; the override's answer stands."""
    return theirs


def _ours(strategy: Any, ours: Any) -> Any:
    return ours


def _ours_if_exit(strategy: Any, ours: Any) -> Any:
    return ours if _stake_of(ours) is not None else None


RULES: dict[str, Rule] = {
    "custom_stoploss": Rule(When.FIRST, tighter_stop, _ours, _check_stop),
    "adjust_trade_position": Rule(When.FIRST, exit_first, _ours_if_exit, _check_adjust),
    "confirm_trade_entry": Rule(When.FIRST, both_confirm, lambda s, o: False, entry=True),
    "custom_stake_amount": Rule(
        When.FIRST, smaller_stake, lambda s, o: 0.0, _check_stake, entry=True
    ),
    "check_entry_timeout": Rule(When.FIRST, either_cancels, _ours),
    "should_exit": Rule(When.FIRST, keep_protective_exits, _ours, _check_exits),
    "custom_exit": Rule(When.FIRST, either_exit, _ours),
    "confirm_trade_exit": Rule(When.FIRST, protective_exits_go_ahead, lambda s, o: True),
    "order_filled": Rule(When.FIRST, theirs_answer, lambda s, o: None),
    "bot_loop_start": Rule(When.FIRST, theirs_answer, lambda s, o: None),
    "ft_stoploss_adjust": Rule(When.ENSURE, theirs_answer, lambda s, o: None),
    "ft_bot_start": Rule(When.ENSURE, theirs_answer, None),
    "advise_indicators": Rule(When.REQUIRE, theirs_answer, None),
    "ft_advise_signals": Rule(When.REQUIRE, theirs_answer, None),
}

# ------------------------------------------------------------ class creation


def is_profitguards(cls: type) -> bool:
    """Classes of profitguard's own package: their overrides call super() (tested)."""
    return cls.__module__ == "profitguard" or cls.__module__.startswith("profitguard.")


def guarded_hooks(cls: type) -> dict[str, tuple[type, Callable]]:
    """Each Freqtrade hook a profitguard class in `cls`'s ancestry implements: the
    class that defines it (nearest first) and its function."""
    found: dict[str, tuple[type, Callable]] = {}
    for klass in cls.__mro__:
        if klass is IStrategy or not is_profitguards(klass):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") or name in found or not hasattr(IStrategy, name):
                continue
            if inspect.isfunction(member):
                found[name] = (klass, member)
    return found


def guard_overrides(cls: type) -> None:
    """Replace each override `cls` resolves for a guarded hook with a guarded function
    (see the module's table); note what cannot be guarded, for `refuse_unguarded`."""
    setattr(cls, CLASS_MARK, True)
    refused: list[tuple[str, str]] = []
    if not is_profitguards(cls):
        for name, (owner, ours) in guarded_hooks(cls).items():
            resolved = inspect.getattr_static(cls, name)
            if resolved is ours or hasattr(resolved, GUARDED_MARK):
                continue  # not overridden, or guarded in a parent class already
            rule = RULES.get(name)
            if rule is None:
                refused.append((name, "profitguard cannot combine it with its own"))
            elif not inspect.isfunction(resolved):
                refused.append((name, f"it is a {type(resolved).__name__}, not a method"))
            else:
                setattr(cls, name, _guarded(name, rule, resolved, owner, ours))
    setattr(cls, REFUSED, tuple(refused))


def refuse_unguarded(cls: type) -> None:
    """At start-up: stop the bot when an override could switch the protection off."""
    if is_profitguards(cls):
        return
    if not cls.__dict__.get(CLASS_MARK):
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


# ------------------------------------------------------------------- calls


class _Call:
    """One guarded call in progress: profitguard's answer, once it has run."""

    __slots__ = ("answer", "ran")

    def __init__(self) -> None:
        self.ran = False
        self.answer: Any = None


def _guarded(name: str, rule: Rule, theirs: Callable, owner: type, ours: Callable) -> Callable:
    """The function that replaces the override `theirs` of hook `name`."""
    checked_theirs = _checked(theirs, rule.check)
    if rule.on_error is not None:
        checked_theirs = fail_closed(_FAILED, hook=f"{name} override", entry=rule.entry)(
            checked_theirs
        )
    # Freqtrade makes after-fill stop calls only to a custom_stoploss naming
    # `after_fill`; profitguard's names it, so keep the override out of those calls
    # unless it asked for them too
    skip_after_fill = name == "custom_stoploss" and "after_fill" not in (
        inspect.getfullargspec(theirs).args
    )
    # the stand-in is only needed where the override's code can reach profitguard's
    # function (putting it on the class costs more than the rest of the call)
    swap = _may_call(theirs, name)

    def run_theirs(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return checked_theirs(self, *args, **kwargs)
        except Exception:  # escaped fail_closed (its report could not bind the arguments)
            if rule.on_error is None:
                raise
            log.critical("profitguard %s override failed", name, exc_info=True)
            return _FAILED

    def stand_in(self: Any, *args: Any, **kwargs: Any) -> Any:
        """`owner.<name>` while an override runs: its super() call lands here."""
        call = self.__dict__.get(ACTIVE, {}).get((name, get_ident()))
        if call is None:  # another instance, or a call outside the guarded one
            return ours(self, *args, **kwargs)
        if not call.ran:
            call.answer = ours(self, *args, **kwargs)
            call.ran = True
        return call.answer

    @functools.wraps(theirs)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        active = self.__dict__.get(ACTIVE)
        if active is None:
            active = self.__dict__[ACTIVE] = {}
        key = (name, get_ident())
        if key in active:  # inside an outer guarded call (a subclass's): it combines
            return theirs(self, *args, **kwargs)
        call = active[key] = _Call()
        try:
            if rule.when is When.FIRST:
                call.answer = ours(self, *args, **kwargs)
                call.ran = True
            if skip_after_fill and kwargs.get("after_fill"):
                answer = None
            elif swap:
                setattr(owner, name, stand_in)
                try:
                    answer = run_theirs(self, *args, **kwargs)
                finally:
                    setattr(owner, name, ours)
            else:
                answer = run_theirs(self, *args, **kwargs)
            if not call.ran:
                if rule.when is When.REQUIRE:
                    raise OperationalException(
                        f"profitguard: {type(self).__name__}.{name} does not call "
                        f"super().{name}(...): profitguard's part of it never ran. Call it "
                        "and build on its result"
                    )
                call.answer = ours(self, *args, **kwargs)
                call.ran = True
        finally:
            del active[key]
        if answer is _FAILED:
            return rule.on_error(self, call.answer)  # type: ignore[misc]
        try:
            return rule.combine(self, call.answer, answer, kwargs)
        except Exception:  # a broken combination: the safe answer (never the override's)
            if rule.on_error is None:
                raise
            return rule.on_error(self, call.answer)

    # Freqtrade calls the hook as profitguard declares it (it reads the parameters with
    # getfullargspec, which sees __signature__ and not __wrapped__)
    guarded.__signature__ = inspect.signature(ours)  # type: ignore[attr-defined]
    setattr(guarded, GUARDED_MARK, name)
    return guarded


def _may_call(function: Callable, name: str) -> bool:
    """Whether `function`'s code (its nested functions too) names `super`, `name` or
    uses the `__class__` cell: only then can it reach profitguard's `name`."""
    code = getattr(function, "__code__", None)
    if code is None:
        return True
    pending = [code]
    while pending:
        code = pending.pop()
        if "super" in code.co_names or name in code.co_names or "__class__" in code.co_freevars:
            return True
        pending.extend(c for c in code.co_consts if inspect.iscode(c))
    return False


def _checked(theirs: Callable, check: Callable[[Any], None]) -> Callable:
    @functools.wraps(theirs)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = theirs(self, *args, **kwargs)
        check(answer)
        return answer

    return checked
