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

    merged = merge(OLD, "./run bench --only hyperopt,like", "load average 2.0", sections, keys)

    assert merged.startswith("# Benchmarks\n\nMeasured 2026-01-01 00:00 UTC")
    assert "engine table" in merged
    assert "old hyperopt text" not in merged
    hyperopt = merged.index("## 4. Hyperopt")
    like = merged.index("## 5. Like for like")
    figures = merged.index("## Figures")
    assert hyperopt < merged.index("new hyperopt text") < like < figures
    assert "with `./run bench --only hyperopt,like` (load average 2.0)." in merged[hyperopt:like]
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


SAMPLE = "ProfitGuardSample"


def _run(strategy: str, cpu: float, *, pairs: int = 3, copies: dict | None = None):
    from benchmarks.run import Run

    trades = ((("B00/USDT", 1, 2), ("o1", "o2")),)
    return Run(strategy=strategy, pairs=pairs, wall_s=cpu * 2, loop_s=cpu * 1.5,
               loop_cpu_s=cpu, peak_rss_mb=400.0, trades=1, trade_candles=10,
               fingerprint=trades, probe={"trade_copies": copies})  # fmt: skip


def _hyperopt_run(strategy: str, rate: float) -> dict:
    return {"strategy": strategy, "spaces": "s", "loss": "L", "epochs": 20, "wall_s": 60.0,
            "epochs_per_min": rate, "cpu_s": 30.0, "cpu_epochs_per_min": rate * 2,
            "loop_epochs_per_min": rate * 3, "loop_cpu_epochs_per_min": rate * 4}  # fmt: skip


def test_build_sections_when_new_sections_measured_then_rendered_with_their_key_lines():
    from benchmarks.run import build_sections, render

    hook = {"calls": 10, "median_us": 5.0, "mean_us": 6.0, "total_ms": 0.06}
    times = {h: dict(hook) for h in ("custom_stoploss", "adjust_trade_position",
                                     "custom_stake_amount", "confirm_trade_entry",
                                     "engine step")}  # fmt: skip
    times["clock"] = {"reading_ns": 100, "nested_ns": 200}
    like = {
        "pairs": 3,
        "days": 90,
        "recording": _run("BenchRecorder", 2.0, copies={"calls": 4, "cpu_s": 0.5}),
        "runs": {
            ("BenchReplay", ""): [_run("BenchReplay", 1.0), _run("BenchReplay", 1.2)],
            ("ProfitGuardSample", ""): [_run(SAMPLE, 1.5), _run(SAMPLE, 1.2)],
            ("BenchReplay", "skip"): [_run("BenchReplay", 0.5), _run("BenchReplay", 0.6)],
            ("ProfitGuardSample", "skip"): [_run(SAMPLE, 0.8), _run(SAMPLE, 0.6)],
            ("ProfitGuardSample", "keep"): [_run(SAMPLE, 3.0), _run(SAMPLE, 2.4)],
        },
        "hook_times": times,
    }  # fmt: skip
    hyp = {**_hyperopt_run("ProfitGuardSample", 4.0), "days": 90,
           "fast": _hyperopt_run("ProfitGuardSample (fast_backtest on)", 8.0),
           "native": _hyperopt_run("BenchNative", 10.0)}  # fmt: skip
    prof = {"days": 90, "loop_s": 2.0, "unprofiled_loop_cpu_s": 1.0,
            "rows": [{"function": "f", "calls": 3, "share": 0.5, "us_per_call": 7.0}]}  # fmt: skip

    sections, keys = build_sections([], [], [], hyp, True, [like], prof, 90)
    info = {"cpu": "c", "cores": 2, "implementation": "CPython", "python": "3.11",
            "freqtrade": "x", "os": "linux"}  # fmt: skip
    text = render(info, "cmd", "load average 1.0", sections, keys)

    assert [heading[:5] for heading, _ in sections] == ["## 4.", "## 5.", "## 6.", "## 7."]
    # default settings on both sides: the sample's copy kept, as the floor's
    assert keys["adapter_vs_replay_floor_3_pairs"] == 2.5  # 3.0/1.0, 2.4/1.2
    assert keys["hyperopt_vs_native"] == 0.4  # epochs per CPU-minute: 8 / 20
    assert keys["hyperopt_vs_native_fast_backtest"] == 0.8  # 16 / 20
    assert keys["adapter_vs_replay_floor_3_pairs_no_trade_copy"] == 1.3  # 0.8/0.5, 0.6/0.6
    assert keys["adapter_vs_replay_floor_3_pairs_fast_backtest"] == 1.25  # 1.5/1.0, 1.2/1.2
    assert keys["sample_loop_saved_without_trade_copy"] == 0.5  # as shipped / skip off
    assert keys["trade_copy_share_of_sample_loop"] == 0.25
    assert "| ProfitGuardSample | skipped for profitguard's hooks (fast_backtest on) |" in text
    assert "| BenchReplay | kept (Freqtrade's) |" in text
    assert keys["gate_us_per_entry_attempt"] == 12.0  # (0.06 + 0.06) ms over 10 attempts
    assert "adapter_vs_replay_floor_3_pairs: 2.5" in text.splitlines()


def test_own_cost_when_measured_then_one_line_per_scale_from_the_no_copy_rounds():
    from benchmarks.run import build_sections

    def own(pairs: int, sample: list[float], floor: list[float]) -> dict:
        return {
            "pairs": pairs,
            "days": 90 if pairs == 3 else 30,
            "recording": _run("BenchRecorder", 2.0, pairs=pairs),
            "runs": {
                ("BenchReplay", "skip"): [_run("BenchReplay", x, pairs=pairs) for x in floor],
                ("ProfitGuardSample", "skip"): [_run(SAMPLE, x, pairs=pairs) for x in sample],
            },
        }

    owns = [own(3, [1.2, 1.5, 1.4], [1.0, 1.0, 1.0]), own(50, [3.0, 2.2], [2.0, 2.0])]
    sections, keys = build_sections([], [], [], None, False, [], None, 90, owns)

    assert [heading[:5] for heading, _ in sections] == ["## 8."]
    # the median of the per-round ratios, sample over floor, both without the copy
    assert keys == {"adapter_own_cost_3_pairs": 1.4, "adapter_own_cost_50_pairs": 1.3}
    body = "\n".join(sections[0][1])
    assert "| 50 | 30 | 1 | ProfitGuardSample | 2 | 2.60 | 400 |" in body
