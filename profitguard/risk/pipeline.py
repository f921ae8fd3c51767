"""The gate: every rule, in a fixed order, over one proposed entry; the first refusal wins.

Order (the order of `Rule`): the guard file (unreadable → refused), the kill
switch, the admin's pause, then the account limits (minimum balance, daily /
weekly / monthly realized loss, losing streak), then the entry limits (open
positions, stake cap, asset exposure, heat, liquidation (futures), reward:risk,
slippage, confidence, correlation). Evaluation stops at the first refusal, so each refused entry is
counted once, under the rule that refused it, and the costly correlation runs
last.

The trading state follows from the same checks: HALTED when the kill switch is
on; REDUCING when any guard or account check fails (entries paused, exits go
on); ACTIVE otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from profitguard.risk import rules
from profitguard.risk.book import Account, Proposal
from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.config import RiskConfig
from profitguard.risk.rules import Correlation, Period
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
    config: RiskConfig, guard: GuardState | None, account: Account
) -> Iterator[Check]:
    """The limits that pause every entry of the account, in order."""
    if config.min_balance is not None:
        yield rules.min_balance(config.min_balance, account.equity)
    for period, limit in (
        (Period.DAY, config.max_daily_loss),
        (Period.WEEK, config.max_weekly_loss),
        (Period.MONTH, config.max_monthly_loss),
    ):
        if limit is not None:
            yield rules.period_loss(limit, period, account)
    if config.max_consecutive_losses is not None:
        cooldown = config.loss_streak_cooldown_minutes
        yield rules.loss_streak(
            config.max_consecutive_losses,
            account,
            since=guard.streak_since if guard is not None else None,
            cooldown=timedelta(minutes=cooldown) if cooldown is not None else None,
        )


Correlations = Callable[[], Sequence[Correlation]]


@dataclass(frozen=True, slots=True)
class EntryRule:
    """One limit on an entry, on while its setting (a `RiskConfig` field) is not None.

    `check` decides on an entry (None: the rule does not apply to it). For the status,
    `standing` is where the account stands with no entry, or `limit` the limit alone
    of a rule only an entry has a figure for; neither leaves the rule out."""

    setting: str
    check: Callable[[RiskConfig, Account, Proposal, Correlations], Check | None]
    standing: Callable[[RiskConfig, Account], Check] | None = None
    limit: tuple[Rule, Callable[[RiskConfig], Figure]] | None = None


def _stake_cap_standing(config: RiskConfig, account: Account) -> Check:
    return Check(
        Rule.STAKE_CAP,
        True,
        Figure("cap", config.max_stake_ratio * account.equity, Unit.MONEY),
        Figure("limit", config.max_stake_ratio, Unit.PCT),
    )


# In the order they are checked (the order of `Rule`): the costly correlation runs last.
ENTRY_RULES: tuple[EntryRule, ...] = (
    EntryRule(
        "max_open_positions",
        lambda c, a, p, _: rules.max_positions(c.max_open_positions, len(a.positions)),
        lambda c, a: rules.max_positions(c.max_open_positions, len(a.positions)),
    ),
    EntryRule(
        "max_stake_ratio",
        lambda c, a, p, _: rules.stake_cap(c.max_stake_ratio, a.equity, p.stake),
        _stake_cap_standing,
    ),
    EntryRule(
        "max_asset_exposure",
        lambda c, a, p, _: rules.asset_exposure(c.max_asset_exposure, a, p),
        lambda c, a: rules.asset_exposure(c.max_asset_exposure, a),
    ),
    EntryRule(
        "max_heat",
        lambda c, a, p, _: rules.portfolio_heat(c.max_heat, a, p),
        lambda c, a: rules.portfolio_heat(c.max_heat, a),
    ),
    EntryRule(
        "max_stop_to_liquidation",  # futures only: a spot entry has no margin terms
        lambda c, a, p, _: (
            rules.liquidation(c.max_stop_to_liquidation, p) if p.margin is not None else None
        ),
        None,
    ),
    EntryRule(
        "min_reward_risk",
        lambda c, a, p, _: rules.reward_risk(c.min_reward_risk, p),
        limit=(Rule.REWARD_RISK, lambda c: Figure("limit", c.min_reward_risk)),
    ),
    EntryRule(
        "max_entry_slippage",
        lambda c, a, p, _: rules.entry_slippage(c.max_entry_slippage, p),
        limit=(Rule.SLIPPAGE, lambda c: Figure("limit", c.max_entry_slippage, Unit.PCT)),
    ),
    EntryRule(
        "min_confidence",
        lambda c, a, p, _: rules.signal_confidence(c.min_confidence, p.confidence),
        limit=(Rule.CONFIDENCE, lambda c: Figure("limit", c.min_confidence)),
    ),
    EntryRule(
        "max_correlated_positions",
        lambda c, a, p, correlations: rules.correlated_positions(
            c.max_correlated_positions,
            c.correlation_threshold,
            c.correlation_min_candles,
            correlations() if a.positions else (),
        ),
        limit=(
            Rule.CORRELATION,
            lambda c: Figure(
                "limit",
                f"{c.max_correlated_positions} above {c.correlation_threshold:.2f}",
                Unit.TEXT,
            ),
        ),
    ),
)


def entry_checks(
    config: RiskConfig,
    account: Account,
    proposal: Proposal,
    correlations: Correlations,
) -> Iterator[Check]:
    """The limits on one entry, in order; `correlations` is only asked when reached."""
    for rule in ENTRY_RULES:
        if getattr(config, rule.setting) is not None:
            check = rule.check(config, account, proposal, correlations)
            if check is not None:
                yield check


def state_of(checks: Sequence[Check]) -> TradingState:
    if any(c.rule is Rule.KILL_SWITCH and not c.passed for c in checks):
        return TradingState.HALTED
    if any(not c.passed for c in checks):
        return TradingState.REDUCING
    return TradingState.ACTIVE


def account_state(
    config: RiskConfig, guard: GuardState | GuardStateError, account: Account
) -> tuple[TradingState, list[Check]]:
    """The trading state and every guard and account check (for status and state changes)."""
    checks = guard_checks(guard)
    checks += account_checks(config, in_force(guard), account)
    return state_of(checks), checks


def evaluate(
    config: RiskConfig,
    guard: GuardState | GuardStateError,
    account: Account,
    proposal: Proposal | Callable[[], Proposal],
    correlations: Callable[[], Sequence[Correlation]] = tuple,
) -> Verdict:
    """The gate's verdict on `proposal`: checks in order up to the first refusal.

    `proposal` may be a function making it: it is only asked for when the guard and the
    account checks all pass (an entry refused for the account costs no entry figures)."""
    done: list[Check] = []
    switches = guard_checks(guard)
    state_checks = itertools.chain(
        switches,
        account_checks(config, in_force(guard), account),
    )
    for check in state_checks:
        done.append(check)
        if not check.passed:
            # the state from every switch, as `account_state` has it: a kill switch kept on
            # behind an unreadable guard file is HALTED, whichever check refused first
            return Verdict(state_of([*switches, check]), tuple(done))
    if callable(proposal):
        proposal = proposal()
    for check in entry_checks(config, account, proposal, correlations):
        done.append(check)
        if not check.passed:
            break
    return Verdict(TradingState.ACTIVE, tuple(done))


def portfolio_checks(config: RiskConfig, account: Account) -> list[Check]:
    """Where the account stands against the entry limits, with no entry (for status)."""
    return [
        rule.standing(config, account)
        for rule in ENTRY_RULES
        if rule.standing is not None and getattr(config, rule.setting) is not None
    ]


def entry_limits(config: RiskConfig) -> list[Check]:
    """The limits only an entry has a figure for (shown by status next to the last entry)."""
    per_entry = Figure("", "per entry", Unit.TEXT)
    return [
        Check(rule.limit[0], True, per_entry, rule.limit[1](config))
        for rule in ENTRY_RULES
        if rule.limit is not None and getattr(config, rule.setting) is not None
    ]
