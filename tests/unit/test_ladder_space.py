"""Hyperopt parameters -> ladders: every point of the declared spaces is a valid ladder.

The spaces are read from the strategies' own parameter objects, so these
properties cover exactly what `freqtrade hyperopt` samples (Decimal values on
their grid, integers, categories), and any real value inside the ranges too.
"""

from __future__ import annotations

import itertools
import math
from unittest import mock

import pytest
from freqtrade.strategy import CategoricalParameter, DecimalParameter, IntParameter
from freqtrade.strategy.hyper import detect_all_parameters
from hypothesis import given
from hypothesis import strategies as st

from profitguard.engine import (
    R_LADDER,
    SCALED_PCT,
    ConfigError,
    LevelUnit,
    ProtectionConfig,
    TakeProfitStop,
    preset,
)
from profitguard.engine import protection_config as config_module
from profitguard.engine.ladder_space import (
    SPACE,
    ladder_from_params,
    replaced_settings,
    tp_unit_of,
)
from profitguard.freqtrade import ProfitGuardHyperoptStrategy, ProfitGuardPctHyperoptStrategy

SPACES = {
    "r": (ProfitGuardHyperoptStrategy, R_LADDER),
    "pct": (ProfitGuardPctHyperoptStrategy, SCALED_PCT),
}


def parameters(cls) -> dict:
    return detect_all_parameters(cls)[SPACE]


def sampled(param) -> st.SearchStrategy:
    """A value as Freqtrade's hyperopt samples it (and sets it: Decimal rounds)."""
    if isinstance(param, CategoricalParameter):
        return st.sampled_from(list(param.opt_range))
    if isinstance(param, IntParameter):
        return st.integers(param.low, param.high)
    assert isinstance(param, DecimalParameter)
    # `decimals` (Freqtrade 2026.2 on; `_decimals` before)
    decimals = getattr(param, "decimals", None) or param._decimals
    scale = 10**decimals
    return st.integers(round(param.low * scale), round(param.high * scale)).map(
        lambda k: round(k / scale, decimals)
    )


def any_real(param) -> st.SearchStrategy:
    """Any value in the declared range, not only the grid hyperopt samples."""
    if isinstance(param, CategoricalParameter):
        return st.sampled_from(list(param.opt_range))
    if isinstance(param, IntParameter):
        return st.integers(param.low, param.high)
    return st.floats(param.low, param.high)


def points(cls, draw_one) -> st.SearchStrategy:
    return st.fixed_dictionaries({n: draw_one(p) for n, p in parameters(cls).items()})


def build(base: ProtectionConfig, values: dict) -> ProtectionConfig:
    """The ladder, failing the test if the engine had to normalize (and warn)."""
    with mock.patch.object(config_module.log, "warning", side_effect=AssertionError("warned")):
        return ladder_from_params(base, values)


def assert_shape(config: ProtectionConfig, values: dict, unit: str) -> None:
    levels = [lv.level for lv in config.take_profits]
    fractions = [lv.fraction for lv in config.take_profits]
    assert len(levels) == 3
    assert levels[0] == values[f"pg_tp1_{unit}"]
    assert all(b > a for a, b in itertools.pairwise(levels))
    weights = [values[f"pg_tp{i}_weight"] for i in (1, 2, 3)]
    assert fractions == pytest.approx([w / sum(weights) for w in weights], rel=1e-12)
    assert math.fsum(fractions) == pytest.approx(1.0, abs=1e-12)
    assert config.trail_pct == (values["pg_trail_pct"] if values["pg_trail"] else None)


@given(values=points(ProfitGuardHyperoptStrategy, sampled))
def test_r_space_when_any_sampled_point_then_valid_ladder(values):
    config = build(R_LADDER, values)
    assert_shape(config, values, "r")
    triggers = [s.trigger_r for s in config.stop_ladder]
    locks = [s.lock_r for s in config.stop_ladder]
    assert len(triggers) == 5
    assert all(-1 < lock < trigger for lock, trigger in zip(locks, triggers, strict=True))
    assert all(b > a for a, b in itertools.pairwise(locks))


@given(values=points(ProfitGuardHyperoptStrategy, any_real))
def test_r_space_when_any_real_point_in_the_ranges_then_valid_ladder(values):
    build(R_LADDER, values)


@given(values=points(ProfitGuardPctHyperoptStrategy, sampled))
def test_pct_space_when_any_sampled_point_then_valid_ladder_and_settings_stop_ladder(values):
    config = build(SCALED_PCT, values)
    assert_shape(config, values, "pct")
    assert config.stop_ladder == SCALED_PCT.stop_ladder
    assert config.tp_stop == TakeProfitStop.PREVIOUS_LEVEL


@given(values=points(ProfitGuardPctHyperoptStrategy, any_real))
def test_pct_space_when_any_real_point_in_the_ranges_then_valid_ladder(values):
    build(SCALED_PCT, values)


@pytest.mark.parametrize("unit", ["r", "pct"])
def test_defaults_when_no_params_file_then_exactly_the_preset(unit):
    cls, expected = SPACES[unit]
    values = {n: p.value for n, p in parameters(cls).items()}
    assert build(expected, values) == expected


def test_ladder_when_values_set_then_levels_steps_weights_locks_and_trail():
    config = ladder_from_params(
        R_LADDER,
        {
            **{"pg_tp1_r": 1.5, "pg_tp2_step_r": 0.5, "pg_tp1_weight": 1, "pg_tp2_weight": 3},
            **{"pg_sl1_trigger_r": 0.5, "pg_sl2_step_r": 1.5, "pg_sl3_step_r": 2},
            **{"pg_sl_lock_gap_r": 1.25, "pg_sl_lock_ratio": 0.4},
            **{"pg_trail": True, "pg_trail_pct": 0.02},
        },
    )
    assert [(lv.level, lv.fraction) for lv in config.take_profits] == [(1.5, 0.25), (2.0, 0.75)]
    assert [(s.trigger_r, s.lock_r) for s in config.stop_ladder] == [
        (0.5, -0.75),  # 0.5 - 1.25 (below 0.4 * 0.5)
        (2.0, 0.75),  # 2 - 1.25
        (4.0, 1.6),  # 0.4 * 4
    ]
    assert config.trail_pct == 0.02


def test_ladder_when_group_absent_then_settings_kept():
    base = preset("r_ladder")
    config = ladder_from_params(base, {"pg_trail": True, "pg_trail_pct": 0.05})
    assert config.take_profits == base.take_profits
    assert config.stop_ladder == base.stop_ladder
    assert config.trail_pct == 0.05
    assert ladder_from_params(base, {}) == base


def test_replaced_settings_and_unit_when_groups_present_then_named():
    values = {n: p.value for n, p in parameters(ProfitGuardHyperoptStrategy).items()}
    assert replaced_settings(values) == ("take_profits", "stop_ladder", "trail_pct")
    assert tp_unit_of(values) == LevelUnit.R
    pct = {n: p.value for n, p in parameters(ProfitGuardPctHyperoptStrategy).items()}
    assert replaced_settings(pct) == ("take_profits", "trail_pct")
    assert tp_unit_of(pct) == LevelUnit.PCT


R_DEFAULTS = {n: p.value for n, p in parameters(ProfitGuardHyperoptStrategy).items()}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"pg_tp1_rr": 2.0}, r"unknown hyperopt parameter 'profitguard.pg_tp1_rr'. Did you mean"),
        ({"pg_tp1_r": 0}, r"'profitguard.pg_tp1_r' must be > 0, was 0"),
        ({"pg_tp2_step_r": -0.5}, r"'profitguard.pg_tp2_step_r' must be > 0, was -0.5"),
        ({"pg_tp3_weight": 0}, r"'profitguard.pg_tp3_weight' must be > 0, was 0"),
        ({"pg_tp1_r": "2"}, r"'profitguard.pg_tp1_r' must be a finite number, was '2'"),
        ({"pg_tp1_r": True}, r"'profitguard.pg_tp1_r' must be a finite number, was True"),
        ({"pg_tp1_r": float("nan")}, r"must be a finite number, was nan"),
        ({"pg_sl_lock_ratio": 1.0}, r"'profitguard.pg_sl_lock_ratio' must be in \(0, 1\), was 1"),
        ({"pg_trail_pct": 1.5}, r"'profitguard.pg_trail_pct' must be in \(0, 1\), was 1.5"),
        ({"pg_trail": "yes"}, r"'profitguard.pg_trail' must be true or false, was 'yes'"),
        (
            {"pg_sl_lock_gap_r": 2.0},
            r"'profitguard.pg_sl_lock_gap_r' must be below 1 \+ 'profitguard.pg_sl1_trigger_r' "
            r"\(2\) so that every lock stays above the initial stop, was 2.0",
        ),
        ({"pg_tp4_weight": 1}, r"'profitguard.pg_tp4_weight' has no level 4 \(there are 3"),
        ({"pg_tp5_step_r": 1.0}, r"'profitguard.pg_tp5_step_r' needs the step of level 4"),
        ({"pg_tp2_step_pct": 1.0}, r"'profitguard.pg_tp2_step_pct' is not in the unit of"),
        ({"pg_tp1_pct": 0.03}, r"exactly one first level"),
        ({"pg_tp3_weight": None}, r"'profitguard.pg_tp3_weight' is missing \(one per level\)"),
        ({"pg_sl_lock_ratio": None}, r"'profitguard.pg_sl_lock_ratio' is missing"),
        ({"pg_trail": None}, r"'profitguard.pg_trail' is missing"),
    ],
)
def test_ladder_when_value_invalid_then_config_error_naming_the_parameter(change, match):
    values = {**R_DEFAULTS, **change}
    values = {k: v for k, v in values.items() if v is not None}
    with pytest.raises(ConfigError, match=match):
        ladder_from_params(R_LADDER, values)


def test_ladder_when_unit_differs_from_settings_then_error_names_tp_unit():
    with pytest.raises(ConfigError, match=r"in 'r' .* but 'profitguard.exits.tp_unit' is 'pct'"):
        ladder_from_params(ProtectionConfig.from_mapping(
            {"preset": "scaled_pct"}, source="profitguard.exits"
        ), R_DEFAULTS)  # fmt: skip
