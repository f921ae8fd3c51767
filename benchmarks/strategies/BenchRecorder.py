"""ProfitGuardSample, recording every answer its hooks give Freqtrade, and timing them.

At start-up each hook Freqtrade calls is wrapped on the instance (the class and
its methods stay the sample's, so Freqtrade treats it exactly as the sample: the
same hooks called, the trade deep-copied for each). A wrapper stores the answer
under (hook, pair, candle time), in call order, and times the call. At exit it
writes, into the user data directory:

- `bench_answers.pickle`: the answers, for `BenchReplay`;
- `bench_hook_times.json`: per hook the calls and the CPU time they took (this
  thread's clock, so time spent waiting for the shared CPU is not counted; the
  clock's own cost is measured at start and taken off each call): median, mean
  and total, and the same for the engine's `step` (whose timing is taken off the
  hooks it runs in).

Benchmark-only: nothing here is shipped, and the sample's code is not touched
(the engine's `step` is timed by rebinding the name the adapter calls, in this
process only).
"""

from __future__ import annotations

import atexit
import functools
import json
import pickle
import statistics
import time
from collections import defaultdict
from pathlib import Path

from BenchReplay import ANSWERS_FILE
from ProfitGuardSample import ProfitGuardSample

TIMES_FILE = "bench_hook_times.json"

# the hooks whose answers Freqtrade acts on (bot_loop_start answers nothing: timed only)
RECORDED = (
    "custom_stoploss",
    "adjust_trade_position",
    "order_filled",
    "confirm_trade_entry",
    "custom_stake_amount",
    "custom_exit",
    "check_entry_timeout",
)
TIMED_ONLY = ("bot_loop_start",)


def _summary(times_ns: list[int]) -> dict:
    return {
        "calls": len(times_ns),
        "median_us": round(statistics.median(times_ns) / 1000, 2) if times_ns else None,
        "mean_us": round(statistics.fmean(times_ns) / 1000, 2) if times_ns else None,
        "total_ms": round(sum(times_ns) / 1e6, 1),
    }


def _noop():
    return None


def _interval_ns(clock, call, samples: int = 2001) -> int:
    """The median a clock reads around `call()` (preempted samples do not count)."""
    readings = []
    for _ in range(samples):
        t0 = clock()
        call()
        readings.append(clock() - t0)
    return int(statistics.median(readings))


class BenchRecorder(ProfitGuardSample):
    def bot_start(self, **kwargs) -> None:
        super().bot_start(**kwargs)
        self._bench_answers: dict[tuple, list] = defaultdict(list)
        self._bench_times: dict[str, list[int]] = defaultdict(list)
        self._bench_clock = clock = time.thread_time_ns
        self._bench_inner = [0]  # ns of nested timing so far (taken off the outer call)
        # what the clock reads around nothing; what a timed call adds around it
        self._bench_reading = self._bench_nested = 0
        self._bench_reading = _interval_ns(clock, _noop)
        timed_noop = self._bench_timing("clock", _noop)
        self._bench_nested = _interval_ns(clock, timed_noop) - self._bench_reading
        del self._bench_times["clock"]
        for hook in RECORDED:
            setattr(self, hook, self._bench_recording(hook, getattr(self, hook)))
        for hook in TIMED_ONLY:
            setattr(self, hook, self._bench_timing(hook, getattr(self, hook)))
        self._bench_time_engine()
        userdir = Path(self.config["user_data_dir"])
        atexit.register(self._bench_write, userdir)

    def _bench_recording(self, hook: str, method):
        answers, times = self._bench_answers, self._bench_times[hook]
        clock, reading, inner = self._bench_clock, self._bench_reading, self._bench_inner

        @functools.wraps(method)
        def recording(**kwargs):
            pair = kwargs["pair"] if "pair" in kwargs else kwargs["trade"].pair
            nested = inner[0]
            start = clock()
            answer = method(**kwargs)
            times.append(clock() - start - reading - (inner[0] - nested))
            answers[(hook, pair, kwargs["current_time"])].append(answer)
            return answer

        return recording

    def _bench_timing(self, hook: str, method, *, nested: bool = False):
        times, clock, reading = self._bench_times[hook], self._bench_clock, self._bench_reading
        inner, cost = self._bench_inner, self._bench_nested

        @functools.wraps(method)
        def timing(*args, **kwargs):
            start = clock()
            try:
                return method(*args, **kwargs)
            finally:
                times.append(clock() - start - reading)
                if nested:
                    inner[0] += cost

        return timing

    def _bench_time_engine(self) -> None:
        from profitguard.freqtrade import tracker as adapter  # the per-trade tracker calls it

        if not getattr(adapter.step, "_bench_timed", False):
            adapter.step = self._bench_timing("engine step", adapter.step, nested=True)
            adapter.step._bench_timed = True

    def _bench_write(self, userdir: Path) -> None:
        with (userdir / ANSWERS_FILE).open("wb") as fh:
            pickle.dump(dict(self._bench_answers), fh, protocol=pickle.HIGHEST_PROTOCOL)
        times = {hook: _summary(ns) for hook, ns in self._bench_times.items()}
        times["clock"] = {"reading_ns": self._bench_reading, "nested_ns": self._bench_nested}
        (userdir / TIMES_FILE).write_text(json.dumps(times, indent=1))
