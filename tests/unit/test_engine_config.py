"""Configuration validation: every bad value names the field and the value."""

import logging

import pytest

from profitguard.engine import (
    ConfigError,
    IllegalTransition,
    ProtectionConfig,
    ProtectionState,
    StopLadderStep,
    TakeProfitLevel,
    preset,
)
from profitguard.engine.states import check_transition

TP = TakeProfitLevel
SL = StopLadderStep


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"take_profits": (TP(level=2, fraction=0.5), TP(level=2, fraction=0.5))},
            "'take_profits' levels must be strictly ascending, level 2 is 2 after 2",
        ),
        (
            {"take_profits": (TP(level=3, fraction=0.5), TP(level=2, fraction=0.5))},
            "strictly ascending",
        ),
        (
            {"take_profits": (TP(level=0, fraction=1),)},
            r"'take_profits\[0\].level' must be > 0, was 0",
        ),
        (
            {"take_profits": (TP(level=2, fraction=-0.5),)},
            r"'take_profits\[0\].fraction' must be > 0, was -0.5",
        ),
        (
            {"take_profits": (TP(level=2, fraction=0),)},
            r"'take_profits\[0\].fraction' must be > 0, was 0",
        ),
        ({"take_profits": (TP(level=float("nan"), fraction=1),)}, "must be finite, was nan"),
        ({"take_profits": (TP(level="2", fraction=1),)}, "must be a number, was '2'"),
        ({"take_profits": (TP(level=True, fraction=1),)}, "must be a number, was True"),
        ({"take_profits": ((2, 1),)}, r"'take_profits\[0\]' must be a TakeProfitLevel"),
        ({"tp_unit": "percent"}, "'tp_unit' must be one of 'r', 'pct', was 'percent'"),
        ({"tp_stop": "trail"}, "'tp_stop' must be one of 'ladder', 'previous_level', was 'trail'"),
        (
            {"stop_ladder": (SL(trigger_r=1, lock_r=1),)},
            r"'stop_ladder\[0\].lock_r' must be above the initial stop \(-1R\) "
            r"and below its trigger",
        ),
        ({"stop_ladder": (SL(trigger_r=1, lock_r=-1),)}, r"stop_ladder\[0\].lock_r"),
        (
            {"stop_ladder": (SL(trigger_r=0, lock_r=-0.5),)},
            r"'stop_ladder\[0\].trigger_r' must be > 0, was 0",
        ),
        (
            {"stop_ladder": (SL(trigger_r=2, lock_r=0), SL(trigger_r=1, lock_r=0.5))},
            "triggers must be strictly ascending",
        ),
        (
            {"stop_ladder": (SL(trigger_r=1, lock_r=0.5), SL(trigger_r=2, lock_r=0.5))},
            "locks must be strictly ascending",
        ),
        ({"trail_pct": 0}, r"'trail_pct' must be in \(0, 1\), was 0"),
        ({"trail_pct": 1.5}, r"'trail_pct' must be in \(0, 1\), was 1.5"),
        ({"trail_activation_pct": -0.01}, "'trail_activation_pct' must be >= 0, was -0.01"),
        ({"trail_atr_multiple": 0}, "'trail_atr_multiple' must be > 0, was 0"),
        (  # +300%: a percent typed where a ratio belongs
            {
                "tp_unit": "pct",
                "take_profits": (TP(level=3, fraction=0.5), TP(level=5, fraction=0.5)),
            },
            r"'take_profits\[0\].level' is 3 with 'tp_unit' 'pct', a profit of 300%: levels in "
            r"'pct' are ratios \(0.03 = \+3%\); did you mean 0.03\?",
        ),
        (
            {
                "tp_unit": "pct",
                "take_profits": (TP(level=0.5, fraction=0.5), TP(level=1, fraction=0.5)),
            },
            r"'take_profits\[1\].level' is 1 with 'tp_unit' 'pct'",
        ),
    ],
)
def test_config_when_value_invalid_then_error_names_field_and_value(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ProtectionConfig(**kwargs)


def test_config_when_fractions_do_not_sum_to_one_then_normalized_with_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="profitguard.engine"):
        config = ProtectionConfig(
            take_profits=(TP(level=1, fraction=1), TP(level=2, fraction=1), TP(level=3, fraction=2))
        )
    assert [lv.fraction for lv in config.take_profits] == [0.25, 0.25, 0.5]
    assert "sum to 4, not 1" in caplog.text


def test_config_when_fractions_sum_to_one_then_no_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="profitguard.engine"):
        ProtectionConfig()
    assert caplog.text == ""


def test_from_mapping_when_key_misspelled_then_suggests_closest():
    with pytest.raises(
        ConfigError, match=r"unknown setting 'exits.trail_pc'. Did you mean 'trail_pct'\?"
    ) as err:
        ProtectionConfig.from_mapping({"trail_pc": 0.03}, source="exits")
    assert err.value.field == "exits.trail_pc"


def test_from_mapping_when_preset_and_overrides_then_override_wins():
    config = ProtectionConfig.from_mapping(
        {
            "preset": "scaled_pct",
            "take_profits": [{"level": 0.02, "fraction": 0.5}, [0.04, 0.5]],
            "stop_ladder": "none",
        }
    )
    assert config.tp_unit == "pct"
    assert config.tp_stop == "previous_level"
    assert [(lv.level, lv.fraction) for lv in config.take_profits] == [(0.02, 0.5), (0.04, 0.5)]
    assert config.stop_ladder == ()


@pytest.mark.parametrize(
    ("raw", "match", "field"),
    [
        (
            {"preset": "aggressive"},
            "'preset' must be one of 'r_ladder', 'scaled_pct', 'none', was 'aggressive'",
            "preset",
        ),
        ({"take_profits": "2:0.5"}, "'take_profits' must be a list, was '2:0.5'", "take_profits"),
        ({"take_profits": [[2, 0.5, 1]]}, r"'take_profits\[0\]' must be a pair", "take_profits"),
        (
            {"take_profits": [{"level": 2}]},
            r"'take_profits\[0\]' must have exactly the keys",
            "take_profits",
        ),
        ({"stop_ladder": [[1, 2]]}, r"stop_ladder\[0\].lock_r", "stop_ladder[0].lock_r"),
        (
            {"tp_unit": "pct"},
            r"'tp_unit' is 'pct' but the take-profit levels are the preset's, in 'r' \(2, 3, 4\)",
            "tp_unit",
        ),
        ({"preset": "scaled_pct", "tp_unit": "r"}, r"in 'pct' \(0.03, 0.05, 0.08\)", "tp_unit"),
    ],
)
def test_from_mapping_when_shape_invalid_then_error_names_field(raw, match, field):
    with pytest.raises(ConfigError, match=match) as err:
        ProtectionConfig.from_mapping(raw)
    assert err.value.field == field


@pytest.mark.parametrize(
    "raw",
    [
        {"tp_unit": "r"},  # the preset's own unit
        {"preset": "none", "tp_unit": "pct"},  # no levels to misread
        {"tp_unit": "pct", "take_profits": [[0.03, 1]]},
    ],
)
def test_from_mapping_when_tp_unit_matches_its_levels_then_accepted(raw):
    assert ProtectionConfig.from_mapping(raw).tp_unit == raw["tp_unit"]


def test_presets_when_named_then_spec_values():
    assert [(lv.level, lv.fraction) for lv in preset("r_ladder").take_profits] == [
        (2.0, 0.5),
        (3.0, 0.25),
        (4.0, 0.25),
    ]
    assert [(s.trigger_r, s.lock_r) for s in preset("r_ladder").stop_ladder] == [
        (1.0, 0.0),
        (1.5, 0.5),
        (2.0, 1.0),
        (3.0, 1.5),
        (4.0, 2.0),
    ]
    scaled = preset("scaled_pct")
    assert [(lv.level, lv.fraction) for lv in scaled.take_profits] == [
        (0.03, 0.4),
        (0.05, 0.3),
        (0.08, 0.3),
    ]
    assert scaled.stop_ladder == () and scaled.tp_stop == "previous_level"
    assert preset("none").take_profits == () and preset("none").stop_ladder == ()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (ProtectionState.PARTIAL_PROFIT_TAKEN, ProtectionState.INITIAL_RISK),
        (ProtectionState.ADVANCED_PROFIT_TAKEN, ProtectionState.PARTIAL_PROFIT_TAKEN),
        (ProtectionState.BREAKEVEN_PROTECTED, ProtectionState.INITIAL_RISK),
        (ProtectionState.STOPPED_OUT, ProtectionState.INITIAL_RISK),
        (ProtectionState.FINAL_PROFIT_TAKEN, ProtectionState.STOPPED_OUT),
    ],
)
def test_transition_when_backwards_then_illegal(old, new):
    with pytest.raises(IllegalTransition, match=f"{old} -> {new}"):
        check_transition(old, new)


def test_transition_when_gap_skips_states_then_legal():
    assert (
        check_transition(ProtectionState.INITIAL_RISK, ProtectionState.FINAL_PROFIT_TAKEN)
        is ProtectionState.FINAL_PROFIT_TAKEN
    )
