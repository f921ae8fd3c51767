"""The gate: every rule, in a fixed order, over one proposed entry; the first refusal wins.

Order (the order of `Rule`, as `registry.RULES` lists them): the guard file
(unreadable → refused), the kill switch, the admin's pause, then the account
limits (minimum balance, daily / weekly / monthly realized loss, losing streak),
then the entry limits (open positions, stake cap, asset exposure, heat,
liquidation (futures), reward:risk, slippage, confidence, correlation).
Evaluation stops at the first refusal, so each refused entry is counted once,
under the rule that refused it, and the costly correlation runs last. The checks
before the first that reads the entry (`screen`) need only the account: the adapter
runs them before it sizes an entry, and an entry they refuse is never sized.

The trading state follows from the same checks: HALTED when the kill switch is
on; REDUCING when any guard or account check fails (entries paused, exits go
on); ACTIVE otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from profitguard.risk.book import Account, Proposal
from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.config import AccountLimits
from profitguard.risk.registry import Correlations, RuleSpec
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


def entry_checks(
    config: AccountLimits,
    account: Account,
    proposal: Proposal,
    correlations: Correlations,
    *,
    after_screen: bool = False,
) -> Iterator[Check]:
    """The limits on one entry, in order; `correlations` is only asked when reached.
    `after_screen`: without those `screen` already checked."""
    rules = _entry_rules(config)
    for rule in rules[len(_screened(rules)) if after_screen else 0 :]:
        check = rule.entry(config, account, proposal, correlations)
        if check is not None:
            yield check


def _entry_rules(config: AccountLimits) -> list[RuleSpec]:
    return [rule for rule in config.rules if rule.entry is not None and rule.on(config)]


def _screened(entry_rules: list[RuleSpec]) -> list[RuleSpec]:
    """The entry limits ahead of the first that reads the entry: they need the account only."""
    return list(itertools.takewhile(lambda rule: not rule.reads_entry, entry_rules))


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
    """The gate's verdict as far as it goes without the entry: the admin's switches, the
    account limits, and the entry limits ahead of the first that reads the entry (the
    open-positions count). Its checks begin `evaluate`'s: an entry refused here is
    refused there by the same check, so it can be refused before it is sized."""
    done: list[Check] = []
    switches = guard_checks(guard)
    for check in itertools.chain(switches, account_checks(config, in_force(guard), account)):
        done.append(check)
        if not check.passed:
            # the state from every switch, as `account_state` has it: a kill switch kept on
            # behind an unreadable guard file is HALTED, whichever check refused first
            return Verdict(state_of([*switches, check]), tuple(done))
    for rule in _screened(_entry_rules(config)):
        check = rule.entry(config, account, None, tuple)
        if check is not None:
            done.append(check)
            if not check.passed:
                break
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
    """The gate's verdict on `proposal`: checks in order up to the first refusal.

    `proposal` may be a function making it: it is only asked for when the `screen`
    passes (an entry refused for the account costs no entry figures). `screened`:
    `screen`'s verdict on this very guard and account, when the caller has it."""
    verdict = screen(config, guard, account) if screened is None else screened
    if verdict.refusal is not None:
        return verdict
    if callable(proposal):
        proposal = proposal()
    done = list(verdict.checks)
    for check in entry_checks(config, account, proposal, correlations, after_screen=True):
        done.append(check)
        if not check.passed:
            break
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
