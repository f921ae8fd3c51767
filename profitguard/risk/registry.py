"""Every risk rule, declared once: its refusal code, its settings (key, validator), where
it runs (account or entry) and how it checks. A new rule is one `RuleSpec` here, its pure
function in `rules`, its settings as typed fields of `config.RiskConfig`, and its test;
the validation, the gate's order, the status rows and the refusal counts follow. A rule
is on while its first setting is not None. What each setting means: `config`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from profitguard.risk import rules, validators
from profitguard.risk.book import Account, Proposal
from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.rules import Correlation, Period
from profitguard.risk.state import GuardState

# Stake currencies whose unit is about one US dollar: the only ones `min_balance`
# has a default for (100 of them). In BTC or ETH, 100 would be a fortune.
USD_LIKE_STAKES = frozenset({"USDT", "USDC", "FDUSD", "USD", "DAI"})
USD_MIN_BALANCE = 100.0
# Backtesting and hyperopt without `loss_streak_cooldown_minutes`: a losing streak pauses
# this long, not until `guard resume` (nobody types it in a backtest); Freqtrade's own
# default `stop_duration` (StoplossGuard). Dry-run and live keep "until resume".
BACKTEST_STREAK_COOLDOWN_MINUTES = 60

Config = Any  # `config.AccountLimits` or `RiskConfig` (typed there; it imports this module)
Correlations = Callable[[], Sequence[Correlation]]


@dataclass(frozen=True, slots=True)
class Setting:
    """One `risk` key and its check (`validate(name, value)`); `optional`: None is allowed
    (for a rule's first setting, None turns the rule off)."""

    key: str
    validate: Callable[[str, Any], None]
    optional: bool = True


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule: `account` (a limit that pauses every entry) or `entry` (a limit on one
    entry; None from it: not applicable). For status, an entry rule has `standing` (the
    account with no entry) or `limit` (the limit alone). `reads_entry` False: it reads the
    account only (no proposal), so the gate refuses by it before sizing the entry."""

    code: Rule
    settings: tuple[Setting, ...]
    account: Callable[[Config, GuardState | None, Account], Check] | None = None
    entry: Callable[[Config, Account, Proposal | None, Correlations], Check | None] | None = None
    standing: Callable[[Config, Account], Check] | None = None
    limit: Callable[[Config], Figure] | None = None
    validate_together: Callable[[Config, str], None] | None = None
    reads_entry: bool = True

    def on(self, config: Config) -> bool:
        return getattr(config, self.settings[0].key) is not None


Registry = tuple[RuleSpec, ...]


def _loss_streak(c: Config, guard: GuardState | None, a: Account) -> Check:
    cooldown = c.loss_streak_cooldown_minutes
    return rules.loss_streak(
        c.max_consecutive_losses,
        a,
        since=guard.streak_since if guard is not None else None,
        cooldown=timedelta(minutes=cooldown) if cooldown is not None else None,
    )


def _period(key: str, period: Period) -> RuleSpec:
    return RuleSpec(
        rules.PERIOD_RULE[period],
        (Setting(key, validators.ratio),),
        account=lambda c, g, a: rules.period_loss(getattr(c, key), period, a),
    )


def _stake_cap_standing(c: Config, a: Account) -> Check:
    return Check(
        Rule.STAKE_CAP,
        True,
        Figure("cap", c.max_stake_ratio * a.equity, Unit.MONEY),
        Figure("limit", c.max_stake_ratio, Unit.PCT),
    )


def _correlation_window(c: Config, prefix: str) -> None:
    validators.at_most(
        f"{prefix}.correlation_min_candles",
        c.correlation_min_candles,
        c.correlation_window,
        "correlation_window",
    )


# Account limits first, then entry limits, each in the order of `Rule`: the costly
# correlation runs last.
RULES: Registry = (
    RuleSpec(
        Rule.MIN_BALANCE,
        (Setting("min_balance", validators.not_negative),),
        account=lambda c, g, a: rules.min_balance(c.min_balance, a.equity),
    ),
    _period("max_daily_loss", Period.DAY),
    _period("max_weekly_loss", Period.WEEK),
    _period("max_monthly_loss", Period.MONTH),
    RuleSpec(
        Rule.LOSS_STREAK,
        (
            Setting("max_consecutive_losses", validators.count),
            Setting("loss_streak_cooldown_minutes", validators.above_zero),
        ),
        account=_loss_streak,
    ),
    RuleSpec(
        Rule.MAX_POSITIONS,
        (Setting("max_open_positions", validators.count),),
        entry=lambda c, a, p, _: rules.max_positions(c.max_open_positions, len(a.positions)),
        standing=lambda c, a: rules.max_positions(c.max_open_positions, len(a.positions)),
        reads_entry=False,
    ),
    RuleSpec(
        Rule.STAKE_CAP,
        (Setting("max_stake_ratio", validators.ratio),),
        entry=lambda c, a, p, _: rules.stake_cap(c.max_stake_ratio, a.equity, p.stake),
        standing=_stake_cap_standing,
    ),
    RuleSpec(
        Rule.ASSET_EXPOSURE,
        (Setting("max_asset_exposure", validators.ratio),),
        entry=lambda c, a, p, _: rules.asset_exposure(c.max_asset_exposure, a, p),
        standing=lambda c, a: rules.asset_exposure(c.max_asset_exposure, a),
    ),
    RuleSpec(
        Rule.HEAT,
        (Setting("max_heat", validators.ratio),),
        entry=lambda c, a, p, _: rules.portfolio_heat(c.max_heat, a, p),
        standing=lambda c, a: rules.portfolio_heat(c.max_heat, a),
    ),
    RuleSpec(
        # futures only (a spot entry has no margin terms)
        Rule.LIQUIDATION,
        (Setting("max_stop_to_liquidation", validators.ratio),),
        entry=lambda c, a, p, _: (
            rules.liquidation(c.max_stop_to_liquidation, p) if p.margin is not None else None
        ),
    ),
    RuleSpec(
        Rule.STOP_TOO_CLOSE,
        (
            Setting("min_stop_ticks", validators.count),
            Setting("min_stop_to_fees", validators.above_zero),
        ),
        entry=lambda c, a, p, _: rules.stop_too_close(c.min_stop_ticks, c.min_stop_to_fees, p),
        limit=lambda c: Figure(
            "limit",
            f"{c.min_stop_ticks} ticks"
            + (f", {c.min_stop_to_fees:g}x fees" if c.min_stop_to_fees is not None else ""),
            Unit.TEXT,
        ),
    ),
    RuleSpec(
        Rule.REWARD_RISK,
        (Setting("min_reward_risk", validators.above_zero),),
        entry=lambda c, a, p, _: rules.reward_risk(c.min_reward_risk, p),
        limit=lambda c: Figure("limit", c.min_reward_risk),
    ),
    RuleSpec(
        Rule.SLIPPAGE,
        (Setting("max_entry_slippage", validators.ratio_below_one),),
        entry=lambda c, a, p, _: rules.entry_slippage(c.max_entry_slippage, p),
        limit=lambda c: Figure("limit", c.max_entry_slippage, Unit.PCT),
    ),
    RuleSpec(
        Rule.CONFIDENCE,
        (
            Setting("min_confidence", validators.ratio),
            Setting("confidence_column", validators.column, optional=False),
        ),
        entry=lambda c, a, p, _: rules.signal_confidence(c.min_confidence, p.confidence),
        limit=lambda c: Figure("limit", c.min_confidence),
    ),
    RuleSpec(
        Rule.CORRELATION,
        (
            Setting("max_correlated_positions", validators.count),
            Setting("correlation_threshold", validators.ratio_below_one, optional=False),
            Setting("correlation_window", validators.count_of_two, optional=False),
            Setting("correlation_min_candles", validators.count_of_two, optional=False),
        ),
        entry=lambda c, a, p, correlations: rules.correlated_positions(
            c.max_correlated_positions,
            c.correlation_threshold,
            c.correlation_min_candles,
            correlations() if a.positions else (),
        ),
        limit=lambda c: Figure(
            "limit",
            f"{c.max_correlated_positions} above {c.correlation_threshold:.2f}",
            Unit.TEXT,
        ),
        validate_together=_correlation_window,
    ),
)
