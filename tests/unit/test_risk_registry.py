"""A rule is one declaration: a throwaway rule added to a copy of the registry (and its
setting as a field of a config class over it) is validated, evaluated in order, refused
with its code, shown by status and counted, with no other file touched. The shipped
config classes' fields are their registries' settings, in order."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from enum import StrEnum
from typing import ClassVar

import pytest

from profitguard.engine import ConfigError
from profitguard.freqtrade.gate.refusals import RefusalLog
from profitguard.risk import validators
from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.config import AccountLimits, RiskConfig, settings_mismatch
from profitguard.risk.pipeline import account_state, entry_limits, evaluate
from profitguard.risk.registry import RULES, RuleSpec, Setting
from profitguard.risk.state import GuardState, TradingState
from tests.unit.test_risk_rules import NOW, account, proposal


class Code(StrEnum):
    WIDE_STOP = "WIDE_STOP"


def wide_stop(limit: float, p) -> Check:
    """The initial stop's distance from the entry as a ratio of the entry price."""
    distance = abs(p.rate - p.initial_stop) / p.rate
    return Check(
        Code.WIDE_STOP,
        distance <= limit,
        Figure("distance", distance, Unit.PCT),
        Figure("limit", limit, Unit.PCT),
    )


WIDE_STOP = RuleSpec(
    Code.WIDE_STOP,
    (Setting("max_stop_distance", validators.ratio),),
    entry=lambda c, a, p, _: wide_stop(c.max_stop_distance, p),
    limit=lambda c: Figure("limit", c.max_stop_distance, Unit.PCT),
)
# checked before the correlation, like any rule cheaper than it
REGISTRY = (*RULES[:-1], WIDE_STOP, RULES[-1])


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WideStopConfig(RiskConfig):
    rules: ClassVar = REGISTRY
    max_stop_distance: float | None = 0.05


def test_config_classes_when_declared_then_their_fields_are_their_rules_settings():
    assert settings_mismatch(RiskConfig) == []
    assert settings_mismatch(AccountLimits) == []
    assert settings_mismatch(WideStopConfig) == []
    # a rule registered without its field, and a field of no rule, are both named
    assert settings_mismatch(type("NoField", (RiskConfig,), {"rules": REGISTRY})) == [
        "no field for setting 'max_stop_distance'"
    ]

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Stray(RiskConfig):
        max_stray: float | None = 0.1

    assert settings_mismatch(Stray) == ["field 'max_stray' is no rule's setting"]


def test_config_when_rule_registered_then_its_setting_has_its_default_and_validator():
    assert WideStopConfig().max_stop_distance == 0.05
    assert WideStopConfig.from_mapping({"max_stop_distance": None}).max_stop_distance is None
    with pytest.raises(
        ConfigError, match=r"'profitguard.risk.max_stop_distance' must be in \(0, 1\]"
    ):
        WideStopConfig.from_mapping({"max_stop_distance": 1.5})
    with pytest.raises(ConfigError, match="Did you mean 'max_stop_distance'"):
        WideStopConfig.from_mapping({"max_stop_distanc": 0.1})
    # the shipped registry is untouched: its config knows no such key
    assert "max_stop_distance" not in {f.name for f in dataclasses.fields(RiskConfig)}
    with pytest.raises(ConfigError, match=r"unknown setting '\S+max_stop_distance'"):
        RiskConfig.from_mapping({"max_stop_distance": 0.1})


def test_evaluate_when_registered_rule_refuses_then_its_code_in_order_and_counted():
    config = WideStopConfig.from_mapping({"max_stop_distance": 0.01})
    verdict = evaluate(config, GuardState(), account(), proposal(stop=97.0, target=110.0), tuple)
    assert verdict.refusal is not None
    assert verdict.refusal.message() == "WIDE_STOP: distance=3.0%, limit=1.0%"
    assert [c.rule for c in verdict.checks][-2:] == [Rule.CONFIDENCE, Code.WIDE_STOP]
    assert verdict.state is TradingState.ACTIVE  # an entry limit pauses nothing

    refusals = RefusalLog(persistent=False, per_run_summary=False, candle=timedelta(minutes=5),
                          send=None)  # fmt: skip
    refusals.checked += 1
    refusals.refused("ETH/USDT", verdict.refusal, NOW)
    assert refusals.refusals == {"WIDE_STOP": 1}
    assert "WIDE_STOP" in refusals.summary("WideStop")


def test_evaluate_when_registered_rule_passes_or_off_then_entry_allowed():
    config = WideStopConfig()
    passed = evaluate(config, GuardState(), account(), proposal(stop=97.0, target=110.0), tuple)
    assert passed.allowed
    assert any(c.rule is Code.WIDE_STOP and c.passed for c in passed.checks)
    off = WideStopConfig.from_mapping({"max_stop_distance": None})
    verdict = evaluate(off, GuardState(), account(), proposal(stop=50.0), tuple)
    assert all(c.rule is not Code.WIDE_STOP for c in verdict.checks)


def test_status_when_rule_registered_then_its_limit_listed():
    config = WideStopConfig()
    shown = {c.rule: c for c in entry_limits(config)}
    assert shown[Code.WIDE_STOP].as_json()["limit"] == "5.0%"
    assert Code.WIDE_STOP not in {c.rule for c in entry_limits(RiskConfig())}
    state, _ = account_state(config, GuardState(), account())
    assert state is TradingState.ACTIVE


def test_docs_when_rules_listed_then_every_registered_rule_and_key_in_its_table():
    from pathlib import Path

    readme = Path(__file__).parents[2].joinpath("docs", "risk-gate.md").read_text()
    table = readme.split("| rule (refusal code) | default | `risk` key(s) |")[1].split("\n\n")[0]
    rows = {row.split("(`")[1].split("`")[0]: row for row in table.splitlines()[2:]}
    assert list(rows) == [Rule.KILL_SWITCH, Rule.PAUSED, *(rule.code for rule in RULES)]
    for rule in RULES:
        for setting in rule.settings:
            assert f"`{setting.key}`" in rows[rule.code], (rule.code, setting.key)
