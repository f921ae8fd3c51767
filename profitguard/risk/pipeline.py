"""The gate: every rule in a fixed order (`registry.RULES`'s: the guard file, the kill
switch, the pause, the account limits, then the entry limits, the costly correlation
last) over one proposed entry; the first refusal wins, so each refused entry is counted
once. The checks ahead of the first that reads the entry (`screen`) need only the
account: an entry they refuse is never sized. The state follows from the same checks:
HALTED (kill switch), REDUCING (a guard or account check fails), else ACTIVE.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from profitguard.risk.book import Account, Proposal
from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.config import AccountLimits
from profitguard.risk.registry import RuleSpec
from profitguard.risk.rules import Correlation
from profitguard.risk.state import GuardState, GuardStateError, TradingState


@dataclass(frozen=True, slots=True)
class Verdict:
    state: TradingState
    checks: tuple[Check, ...]  # evaluated, in order; the last one refused if any did

    @property
    def refusal(self) -> Check | None:
        return self.checks[-1] if self.checks and not self.checks[-1].passed else None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def in_force(guard: GuardState | GuardStateError) -> GuardState | None:
    """The admin's state the account limits go by: the file's, or the one kept in force
    while the file cannot be trusted (its losing-streak reset, for one)."""
    return guard if isinstance(guard, GuardState) else guard.last_good


def guard_checks(guard: GuardState | GuardStateError) -> list[Check]:
    """The admin's switches (or the reason they cannot be read)."""
    if isinstance(guard, GuardStateError):
        checks = [Check(Rule.GUARD_STATE, False, Figure("error", str(guard), Unit.TEXT))]
        if guard.last_good is not None and guard.last_good.halted:  # a broken file lifts nothing
            checks += guard_checks(guard.last_good)[:1]
        return checks
    return [
        _switch(Rule.KILL_SWITCH, guard.halted, guard.halted_reason, guard.halted_at),
        _switch(Rule.PAUSED, guard.paused, guard.paused_reason, guard.paused_at),
    ]


def _switch(rule: Rule, on: bool, reason: str | None, since: datetime | None) -> Check:
    """An admin switch: refused while on, with the admin's reason and since when."""
    evidence = (
        (Figure("reason", reason or "-", Unit.TEXT), Figure("since", since, Unit.TIME))
        if on
        else ()
    )
    return Check(rule, not on, Figure("on", on, Unit.TEXT), None, evidence)


def account_checks(
    config: AccountLimits, guard: GuardState | None, account: Account
) -> Iterator[Check]:
    """The limits that pause every entry of the account, in order."""
    for rule in config.rules:
        if rule.account is not None and rule.on(config):
            yield rule.account(config, guard, account)


def _entry_rules(config: AccountLimits) -> tuple[list[RuleSpec], list[RuleSpec]]:
    """The entry limits: those ahead of the first that reads the entry (they need the
    account only), and the rest."""
    rules = [rule for rule in config.rules if rule.entry is not None and rule.on(config)]
    first = next((i for i, rule in enumerate(rules) if rule.reads_entry), len(rules))
    return rules[:first], rules[first:]


def _until_refused(checks: Iterable[Check | None], done: list[Check]) -> bool:
    """Append `checks` to `done` up to the first refusal; True when one refused."""
    for check in checks:
        if check is not None:
            done.append(check)
            if not check.passed:
                return True
    return False


def state_of(checks: Sequence[Check]) -> TradingState:
    if any(c.rule is Rule.KILL_SWITCH and not c.passed for c in checks):
        return TradingState.HALTED
    if any(not c.passed for c in checks):
        return TradingState.REDUCING
    return TradingState.ACTIVE


def account_state(
    config: AccountLimits, guard: GuardState | GuardStateError, account: Account
) -> tuple[TradingState, list[Check]]:
    """The trading state and every guard and account check (for status and state changes)."""
    checks = guard_checks(guard)
    checks += account_checks(config, in_force(guard), account)
    return state_of(checks), checks


def screen(config: AccountLimits, guard: GuardState | GuardStateError, account: Account) -> Verdict:
    """The verdict as far as it goes without the entry (the switches, the account limits,
    the open-positions count): its checks begin `evaluate`'s."""
    done: list[Check] = []
    switches = guard_checks(guard)
    if _until_refused(
        itertools.chain(switches, account_checks(config, in_force(guard), account)), done
    ):
        # the state from every switch: a kill switch kept on behind an unreadable guard
        # file is HALTED, whichever check refused first
        return Verdict(state_of([*switches, done[-1]]), tuple(done))
    screened, _ = _entry_rules(config)
    _until_refused((rule.entry(config, account, None, tuple) for rule in screened), done)
    return Verdict(TradingState.ACTIVE, tuple(done))


def evaluate(
    config: AccountLimits,
    guard: GuardState | GuardStateError,
    account: Account,
    proposal: Proposal | Callable[[], Proposal],
    correlations: Callable[[], Sequence[Correlation]] = tuple,
    *,
    screened: Verdict | None = None,
) -> Verdict:
    """The verdict on `proposal` (or a function making it, asked only once `screen`
    passes): checks in order up to the first refusal. `screened`: `screen`'s verdict
    on this very guard and account, when the caller has it."""
    verdict = screen(config, guard, account) if screened is None else screened
    if verdict.refusal is not None:
        return verdict
    entry = proposal() if callable(proposal) else proposal
    done = list(verdict.checks)
    _, rules = _entry_rules(config)
    _until_refused((rule.entry(config, account, entry, correlations) for rule in rules), done)
    return Verdict(TradingState.ACTIVE, tuple(done))


def portfolio_checks(config: AccountLimits, account: Account) -> list[Check]:
    """Where the account stands against the entry limits, with no entry (for status)."""
    return [
        rule.standing(config, account)
        for rule in config.rules
        if rule.standing is not None and rule.on(config)
    ]


def entry_limits(config: AccountLimits) -> list[Check]:
    """The limits only an entry has a figure for (shown by status next to the last entry)."""
    per_entry = Figure("", "per entry", Unit.TEXT)
    return [
        Check(rule.code, True, per_entry, rule.limit(config))
        for rule in config.rules
        if rule.limit is not None and rule.on(config)
    ]
