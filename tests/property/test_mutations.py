"""Each invariant test fails when its rule is broken.

For every rule of the exit engine we break the engine once (a one-line source change
applied to a copy of the package) and run the property that guards it: it must
fail. A property that keeps passing under its mutation guards nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROPERTIES = "tests/property/test_engine_invariants.py"
FILLS = "tests/property/test_engine_fills.py"

# (file, exact source text, replacement, property that must catch it)
MUTATIONS = [
    pytest.param(
        "engine/step.py",
        "tags = tuple(tp_tag(i) for i in range(filled, reached))",
        "tags = tuple(tp_tag(i) for i in reversed(range(filled, reached)))",
        "test_levels_fire_once_each_in_ascending_order",
        id="levels-fire-highest-first",
    ),
    pytest.param(
        "engine/step.py",
        "closed = plan.amount if exit_amount == remaining else closed + exit_amount",
        "closed = plan.amount if exit_amount == remaining else closed + exit_amount * 0.5",
        "test_closed_plus_remaining_equals_original_after_every_price",
        id="closed-amount-miscounted",
    ),
    pytest.param(
        "engine/step.py",
        "stop_x = stop_in_force_x(plan, position.stop_x, best_x, reached, atr)",
        "stop_x = stop_in_force_x(plan, plan.initial_x, x, reached, atr)",
        "test_stop_only_tightens_for_longs_and_shorts",
        id="stop-from-current-price-not-peak",
    ),
    pytest.param(
        "engine/protection_config.py",
        "if abs(total - 1.0) <= FRACTION_SUM_TOLERANCE:",
        "if True:",
        "test_fractions_sum_to_one_after_normalization",
        id="fractions-not-normalized",
    ),
    pytest.param(
        "engine/step.py",
        "if want > _covered_tolerance(plan) and want >= minimum:",
        "if want > _covered_tolerance(plan):",
        "test_no_exit_below_minimum_and_no_dust_remainder",
        id="minimum-amount-ignored",
    ),
    pytest.param(
        "engine/step.py",
        "if left < minimum or left <= _DUST * plan.amount:",
        "if False:",
        "test_no_exit_below_minimum_and_no_dust_remainder",
        id="dust-remainder-left",
    ),
    pytest.param(
        "engine/step.py",
        "want = min(level_ask(plan, reached, closed), remaining)",
        "want = min(level_ask(plan, reached, closed) * 1.1, remaining)",
        "test_partial_exit_is_on_the_step_and_never_beyond_its_levels_cumulative_share",
        id="partial-exit-too-large",
    ),
    pytest.param(
        "engine/step.py",
        "if reached == n:\n            exit_amount = remaining",
        "if reached == n:\n            exit_amount = remaining * 0.5",
        "test_remaining_is_zero_after_the_final_level",
        id="final-level-leaves-a-remainder",
    ),
    pytest.param(
        "engine/step.py",
        "candidate = plan.entry_x  # breakeven once TP1 has fired",
        "candidate = plan.initial_x",
        "test_stop_at_or_beyond_entry_once_tp1_fired",
        id="no-breakeven-after-tp1",
    ),
    pytest.param(
        "engine/step.py",
        "if best_x >= triggers[i] - plan.tol:",
        "if best_x >= triggers[i] + plan.risk:",
        "test_stop_at_least_the_lock_of_every_ladder_step_the_peak_reached",
        id="ladder-locks-late",
    ),
    pytest.param(
        "engine/position.py",
        "tol=risk * R_TOLERANCE,",
        "tol=1e-6,",
        "test_r_states_and_exits_unchanged_when_prices_scaled",
        id="absolute-price-tolerance",
    ),
    pytest.param(
        "engine/step.py",
        "    exit_amount = 0.0\n    tags: tuple[str, ...] = ()",
        "    exit_amount = 0.0\n    tags: tuple[str, ...] = ()\n"
        "    import random\n    best_x += random.random() * plan.risk",
        "test_same_inputs_same_decisions",
        id="nondeterministic-peak",
    ),
    pytest.param(
        "engine/step.py",
        "if fire_take_profits and reached > filled:",
        "if reached > filled:",
        "test_take_profits_exit_only_where_allowed_and_then_take_every_level_the_peak_reached",
        id="observed-price-takes-profit",
    ),
    pytest.param(
        "engine/step.py",
        "reached = _levels_reached(plan, best_x, position.levels_taken)",
        "reached = _levels_reached(plan, x, position.levels_taken)",
        "test_take_profits_exit_only_where_allowed_and_then_take_every_level_the_peak_reached",
        id="deferred-level-forgotten",
    ),
    pytest.param(
        "engine/step.py",
        "filled = levels_filled(plan, closed)\n    best_x",
        "filled = 0\n    best_x",
        f"{FILLS}::test_mixed_fills_never_sell_more_than_the_ladder_asks_and_never_repeat_a_level",
        id="rebuild-forgets-levels-filled",
    ),
    pytest.param(
        "engine/step.py",
        "ask = round_down(plan.tp_target[level] - closed,",
        "ask = round_down(plan.tp_target[level] - closed * 0,",
        f"{FILLS}::test_mixed_fills_never_sell_more_than_the_ladder_asks_and_never_repeat_a_level",
        id="ask-ignores-what-is-closed",
    ),
    pytest.param(
        "engine/step.py",
        "stopped=stopped and closed >= plan.amount,",
        "stopped=stopped,",
        f"{FILLS}::test_mixed_fills_never_sell_more_than_the_ladder_asks_and_never_repeat_a_level",
        id="stop-tag-decides",
    ),
]


ADAPTER_TESTS = "tests/unit/test_adapter_strategy.py"

# The adapter's side and leverage handling: dropping either must fail a unit test
# that runs both sides at leverage 1 and 3.
ADAPTER_MUTATIONS = [
    pytest.param(
        "freqtrade/strategy.py",
        "decision.stop, current_rate, is_short=trade.is_short, leverage=trade.leverage",
        "decision.stop, current_rate, is_short=False, leverage=1.0",
        "test_custom_stoploss_when_peak_climbs_the_ladder_then_freqtrade_stop_at_the_lock",
        id="custom-stoploss-as-long-1x",
    ),
    pytest.param(
        "freqtrade/trades.py",
        "return exit_stake(trade, decision.exit_amount, amount_step(trade)), exit_tag(",
        "return -decision.exit_amount * trade.open_rate, exit_tag(",
        "test_adjust_when_levels_reached_then_freqtrade_exits_each_levels_amount",
        id="exit-stake-as-1x",
    ),
]


@pytest.mark.slow
@pytest.mark.cpu_bound
@pytest.mark.parametrize(("file", "old", "new", "prop"), MUTATIONS)
def test_property_when_its_rule_is_broken_then_fails(tmp_path, file, old, new, prop):
    node = prop if "::" in prop else f"{PROPERTIES}::{prop}"
    _fails_when_mutated(tmp_path, file, old, new, node)


@pytest.mark.slow
@pytest.mark.cpu_bound
@pytest.mark.parametrize(("file", "old", "new", "test"), ADAPTER_MUTATIONS)
def test_adapter_test_when_side_or_leverage_dropped_then_fails(tmp_path, file, old, new, test):
    _fails_when_mutated(tmp_path, file, old, new, f"{ADAPTER_TESTS}::{test}")


def _fails_when_mutated(tmp_path, file: str, old: str, new: str, node: str) -> None:
    shutil.copytree(ROOT / "profitguard", tmp_path / "profitguard")
    shutil.copytree(
        ROOT / "tests", tmp_path / "tests", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "profitguard" / file
    source = target.read_text()
    assert source.count(old) == 1, f"mutation anchor not found once in {file}: {old!r}"
    target.write_text(source.replace(old, new))

    # cwd is the copy, so `import profitguard` finds the mutated package first
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            node,
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            "--hypothesis-seed=20261121",  # reproducible; also checked under other seeds
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CI": "true"},  # the properties as CI runs them (1000 examples)
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 failed" in result.stdout
