"""Engine cost per price update: `step` over many positions, median and p99.

Prices are a seeded random walk per position (so peaks, ladder moves, take-profits
and stop-outs all happen); a position that closes is replaced by a new one. Each
call is timed on its own with perf_counter_ns (whose own cost, ~40 ns, is measured
and subtracted).
"""

from __future__ import annotations

import random
import statistics
import time

from profitguard.engine import PRESETS, open_position, step


def _timer_overhead_ns(samples: int = 20_000) -> float:
    clock = time.perf_counter_ns
    deltas = []
    for _ in range(samples):
        t0 = clock()
        deltas.append(clock() - t0)
    return statistics.median(deltas)


def measure(preset: str, *, repeats: int = 5, **kwargs) -> dict:
    """`measure_once` `repeats` times: the median of each figure, and the medians' spread
    (the machine is shared; one sample of it is noise as much as signal)."""
    runs = [measure_once(preset, seed=7 + i, **kwargs) for i in range(repeats)]
    medians = sorted(r["median_us"] for r in runs)
    return {
        "preset": preset,
        "updates": sum(r["updates"] for r in runs),
        "median_us": statistics.median(medians),
        "p99_us": statistics.median(r["p99_us"] for r in runs),
        "median_spread_us": (medians[0], medians[-1]),
    }


def measure_once(preset: str, *, positions: int = 1000, updates: int = 200, seed: int = 7) -> dict:
    rng = random.Random(seed)
    config = PRESETS[preset]

    def fresh():
        return open_position(
            config, side="long", entry=100.0, initial_stop=98.0, amount=10.0, amount_step=0.001
        )

    book = [fresh() for _ in range(positions)]
    prices = [100.0] * positions
    clock = time.perf_counter_ns
    timings: list[int] = []
    for _ in range(updates):
        for i in range(positions):
            prices[i] *= 1.0 + rng.gauss(0.0005, 0.006)
            t0 = clock()
            decision = step(book[i], prices[i])
            timings.append(clock() - t0)
            position = decision.position
            if position.state.is_closed:
                book[i], prices[i] = fresh(), 100.0
            else:
                book[i] = position
    overhead = _timer_overhead_ns()
    timings.sort()
    median = timings[len(timings) // 2] - overhead
    p99 = timings[int(len(timings) * 0.99)] - overhead
    return {
        "preset": preset,
        "updates": len(timings),
        "median_us": round(median / 1000, 3),
        "p99_us": round(p99 / 1000, 3),
    }


if __name__ == "__main__":
    for name in ("r_ladder", "scaled_pct"):
        print(measure(name))
