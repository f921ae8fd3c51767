"""Benchmark plumbing: RESULTS.md updated in place, and the Freqtrade behaviour the
probe's trade-copy switch relies on (pinned Freqtrade: fails if it changes)."""

from __future__ import annotations

import pytest
from freqtrade.strategy import strategy_wrapper

from benchmarks.run import merge

OLD = """# Benchmarks

Measured 2026-01-01 00:00 UTC with `./run bench`.

## 1. Engine: one price update (`step`)

engine table

## 4. Hyperopt

old hyperopt text

## Figures

engine_median_us: 3.5
hyperopt_epochs_per_min: 7.6
"""


def test_merge_when_some_sections_rerun_then_they_and_their_keys_replaced_rest_kept():
    sections = [
        ("## 4. Hyperopt", ["new hyperopt text"]),
        ("## 5. Like for like: the sample against a replay floor", ["like text"]),
    ]
    keys = {"hyperopt_epochs_per_min": 8.1, "adapter_vs_replay_floor_3_pairs": 1.2}

    merged = merge(OLD, "./run bench --only hyperopt,like", sections, keys)

    assert merged.startswith("# Benchmarks\n\nMeasured 2026-01-01 00:00 UTC")
    assert "engine table" in merged
    assert "old hyperopt text" not in merged
    hyperopt = merged.index("## 4. Hyperopt")
    like = merged.index("## 5. Like for like")
    figures = merged.index("## Figures")
    assert hyperopt < merged.index("new hyperopt text") < like < figures
    assert "with `./run bench --only hyperopt,like`" in merged[hyperopt:like]
    assert merged[figures:].splitlines()[2:] == [
        "engine_median_us: 3.5",
        "hyperopt_epochs_per_min: 8.1",
        "adapter_vs_replay_floor_3_pairs: 1.2",
    ]


class _Hooks:
    def custom_stoploss(self, trade, **kwargs):
        return trade


def _default_hook(trade, **kwargs):
    return trade


_default_hook.__qualname__ = "IStrategy.custom_exit"  # as a hook a strategy left alone


@pytest.mark.parametrize(
    ("hook", "copied"), [(_Hooks().custom_stoploss, True), (_default_hook, False)]
)
def test_safe_wrapper_when_hook_takes_trade_then_copies_it_through_module_deepcopy(
    monkeypatch, hook, copied
):
    calls = []

    def recording_copy(trade):
        calls.append(trade)
        return ("copy of", trade)

    monkeypatch.setattr(strategy_wrapper, "deepcopy", recording_copy)
    trade = object()

    seen = strategy_wrapper.strategy_safe_wrapper(hook, supress_error=True)(trade=trade)

    assert calls == ([trade] if copied else [])
    assert seen == (("copy of", trade) if copied else trade)
