"""The gate's pipeline: order, first refusal, trading state; the refusal table."""

from __future__ import annotations

from datetime import timedelta

import pytest

from profitguard.risk.checks import Rule
from profitguard.risk.config import RiskConfig
from profitguard.risk.gate_text import refusal_table, status_text
from profitguard.risk.pipeline import account_state, evaluate, portfolio_checks, screen
from profitguard.risk.rules import Correlation
from profitguard.risk.state import GuardState, GuardStateError, TradingState, kill, pause
from tests.unit.test_risk_rules import NOW, account, closed, position, proposal

CONFIG = RiskConfig()


def no_correlations():
    raise AssertionError("correlations asked for although an earlier rule decided")


def test_evaluate_when_every_rule_passes_then_allowed_and_active():
    verdict = evaluate(CONFIG, GuardState(), account(positions=[position()]), proposal(),
                       lambda: [Correlation("BTC/USDT", 0.1, 50)])  # fmt: skip
    assert verdict.allowed
    assert verdict.state is TradingState.ACTIVE
    assert [c.rule for c in verdict.checks] == [
        Rule.KILL_SWITCH, Rule.PAUSED, Rule.MIN_BALANCE, Rule.DAILY_LOSS, Rule.WEEKLY_LOSS,
        Rule.MONTHLY_LOSS, Rule.LOSS_STREAK, Rule.MAX_POSITIONS, Rule.STAKE_CAP,
        Rule.ASSET_EXPOSURE, Rule.HEAT, Rule.STOP_TOO_CLOSE, Rule.REWARD_RISK, Rule.SLIPPAGE,
        Rule.CONFIDENCE, Rule.CORRELATION,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("guard", "rule", "state"),
    [
        (kill(GuardState(), "k", NOW), Rule.KILL_SWITCH, TradingState.HALTED),
        (pause(GuardState(), "p", NOW), Rule.PAUSED, TradingState.REDUCING),
        (GuardStateError("guard.json: not valid JSON"), Rule.GUARD_STATE, TradingState.REDUCING),
    ],
)
def test_evaluate_when_guard_switch_on_then_refused_before_any_rule(guard, rule, state):
    verdict = evaluate(CONFIG, guard, account(), proposal(), no_correlations)
    assert verdict.refusal.rule is rule
    assert verdict.state is state
    assert len(verdict.checks) <= 2


def test_evaluate_when_guard_file_broken_while_killed_then_halted_as_the_account_state():
    broken = GuardStateError("guard.json: not valid JSON", last_good=kill(GuardState(), "k", NOW))
    verdict = evaluate(CONFIG, broken, account(), proposal(), no_correlations)
    assert verdict.refusal.rule is Rule.GUARD_STATE
    assert verdict.state is TradingState.HALTED  # not REDUCING: the kill switch stays on
    assert verdict.state is account_state(CONFIG, broken, account())[0]


def test_evaluate_when_several_rules_fail_then_the_first_in_order_refuses():
    full = [position(f"P{i}/USDT", amount=300, stop=90) for i in range(5)]  # heat 150%
    verdict = evaluate(CONFIG, GuardState(), account(positions=full), proposal(), no_correlations)
    assert verdict.refusal.rule is Rule.MAX_POSITIONS
    assert verdict.state is TradingState.ACTIVE  # an entry limit does not pause the account


def test_evaluate_when_daily_loss_reached_then_reducing():
    verdict = evaluate(CONFIG, GuardState(), account(9_400, closed=[closed(-600)]), proposal())
    assert verdict.refusal.rule is Rule.DAILY_LOSS
    assert verdict.state is TradingState.REDUCING


def test_evaluate_when_streak_reset_in_guard_then_old_losses_ignored():
    trades = [closed(-1, at=NOW - timedelta(hours=i)) for i in (3, 2, 1)]
    paused = evaluate(CONFIG, GuardState(), account(closed=trades), proposal())
    assert paused.refusal.rule is Rule.LOSS_STREAK
    guard = GuardState(streak_since=NOW - timedelta(minutes=1))
    assert evaluate(CONFIG, guard, account(closed=trades), proposal()).allowed


def test_evaluate_when_rule_turned_off_then_not_checked():
    config = RiskConfig(max_entry_slippage=None, max_correlated_positions=None)
    verdict = evaluate(config, GuardState(), account(positions=[position()]),
                       proposal(rate=110, target=120, stop=105), no_correlations)  # fmt: skip
    assert verdict.allowed
    assert Rule.SLIPPAGE not in [c.rule for c in verdict.checks]


def test_evaluate_when_no_open_positions_then_correlation_not_computed():
    assert evaluate(CONFIG, GuardState(), account(), proposal(), no_correlations).allowed


def test_evaluate_when_the_account_refuses_then_the_entry_is_never_made():
    def no_proposal():
        raise AssertionError("the entry's figures made although the account refused")

    verdict = evaluate(CONFIG, GuardState(), account(9_400, closed=[closed(-600)]), no_proposal)
    assert verdict.refusal.rule is Rule.DAILY_LOSS
    made = evaluate(CONFIG, GuardState(), account(), proposal)  # asked for once it is reached
    assert made == evaluate(CONFIG, GuardState(), account(), proposal())


def test_registry_when_every_limit_set_then_one_rule_each_in_the_order_of_rule():
    from profitguard.risk.registry import RULES

    codes = [rule.code for rule in RULES]
    assert codes == sorted(set(codes), key=list(Rule).index)
    assert all(hasattr(CONFIG, s.key) for rule in RULES for s in rule.settings)
    shown = [c.rule for c in portfolio_checks(CONFIG, account())]
    assert shown == sorted(shown, key=list(Rule).index)


def test_portfolio_checks_when_no_entry_then_heat_and_exposure_are_the_rules_own():
    from profitguard.risk import rules

    held = [position("BTC/USDT", stake=1500), position("ETH/USDT", amount=1000, stop=97)]
    checks = {c.rule: c for c in portfolio_checks(CONFIG, account(positions=held))}
    assert checks[Rule.HEAT] == rules.portfolio_heat(CONFIG.max_heat, account(positions=held))
    assert checks[Rule.ASSET_EXPOSURE] == rules.asset_exposure(
        CONFIG.max_asset_exposure, account(positions=held)
    )


def test_account_state_when_kill_and_loss_then_halted_with_every_check():
    state, checks = account_state(
        CONFIG, kill(GuardState(), "k", NOW), account(9_400, closed=[closed(-600)])
    )
    assert state is TradingState.HALTED
    assert [c.rule for c in checks if not c.passed] == [Rule.KILL_SWITCH, Rule.DAILY_LOSS]


def test_portfolio_checks_when_positions_then_figures_against_limits():
    held = [position("BTC/USDT", stake=1500), position("BTC/USDC", stake=600),
            position("ETH/USDT", amount=1000, stop=97, stake=100)]  # fmt: skip
    checks = {c.rule: c for c in portfolio_checks(CONFIG, account(positions=held))}
    assert checks[Rule.MAX_POSITIONS].evidence == {"open": 3, "limit": 5}
    assert checks[Rule.ASSET_EXPOSURE].evidence["asset"] == "BTC"
    assert not checks[Rule.ASSET_EXPOSURE].passed  # 21% > 20%
    assert checks[Rule.HEAT].evidence["heat"] == pytest.approx((2 + 2 + 3000) / 10_000)
    assert checks[Rule.STAKE_CAP].evidence["cap"] == pytest.approx(1000)


def test_refusal_table_when_counts_then_rules_in_gate_order():
    table = refusal_table(
        {"PORTFOLIO_HEAT": 2, "DAILY_LOSS_LIMIT": 7}, 20, title="profitguard risk gate"
    )
    assert table.splitlines() == [
        "profitguard risk gate: 20 entries checked, 9 refused",
        "  rule              refused",
        "  DAILY_LOSS_LIMIT        7",
        "  PORTFOLIO_HEAT          2",
    ]


def test_status_text_when_bot_snapshot_then_every_figure_against_its_limit():
    _, checks = account_state(CONFIG, GuardState(), account(9_400, closed=[closed(-600)]))
    snapshot = {
        "updated_at": NOW.isoformat(),
        "state": "REDUCING",
        "equity": 9400.0,
        "checks": [c.as_json() for c in checks],
        "last_entry": None,
        "refusals": {"DAILY_LOSS_LIMIT": 1},
        "checked": 1,
    }
    text = status_text(guard_file="g.json", guard=GuardState(), snapshot=snapshot,
                       now=NOW + timedelta(seconds=5))  # fmt: skip
    assert "(5 s ago), bot state REDUCING, equity 9400.00" in text
    assert "DAILY_LOSS_LIMIT    loss=6.0%, until=2024-03-14 00:00 UTC  5.0%" in text
    assert "  MIN_BALANCE         equity=9400.00" in text
    assert "1 entries checked, 1 refused" in text


@pytest.mark.parametrize(
    ("guard", "acct", "refused_by"),
    [
        (GuardState(), account(positions=[position()]), None),
        (kill(GuardState(), "k", NOW), account(), Rule.KILL_SWITCH),
        (GuardState(), account(9_400, closed=[closed(-600)]), Rule.DAILY_LOSS),
        (GuardState(), account(positions=[position()] * 5), Rule.MAX_POSITIONS),
    ],
)
def test_screen_when_asked_then_the_start_of_evaluates_checks_and_the_same_verdict(
    guard, acct, refused_by
):
    """The screen is what the gate refuses by before sizing: its checks are the first of
    `evaluate`'s, a refusal there is evaluate's, and evaluate given it decides the same."""
    screened = screen(CONFIG, guard, acct)
    full = evaluate(CONFIG, guard, acct, proposal(), lambda: [])
    assert full.checks[: len(screened.checks)] == screened.checks
    assert evaluate(CONFIG, guard, acct, proposal(), lambda: [], screened=screened) == full
    if refused_by is None:
        assert screened.refusal is None
        assert screened.checks[-1].rule is Rule.MAX_POSITIONS  # no rule that reads the entry
    else:
        assert screened.refusal.rule is refused_by
        assert screened == full
