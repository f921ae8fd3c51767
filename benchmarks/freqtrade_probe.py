"""Run Freqtrade in this process and report, as JSON, how long its backtest loops took.

`python benchmarks/freqtrade_probe.py OUT.json <freqtrade args...>` runs Freqtrade as
`python -m freqtrade` would, timing every `Backtesting.backtest` call (the loop
where strategy callbacks run: data loading and indicators excluded) and the peak
resident memory and CPU time of the process.

Benchmark-only switches (environment variables, this process only):

- `PROFITGUARD_BENCH_TRADE_COPY=skip`: Freqtrade's `strategy_safe_wrapper` hands a
  strategy's own hooks a deep copy of the trade (profitguard skips it for its own
  hooks in backtesting: `profitguard.freqtrade.trade_copy`); this skips that copy for
  every strategy's hooks (every hook gets the trade itself), to measure what the copy
  costs;
- `PROFITGUARD_BENCH_TRADE_COPY=keep`: profitguard's skip is not installed, so its
  hooks get Freqtrade's copy like any strategy's (what the skip saves);
- `PROFITGUARD_BENCH_TRADE_COPY=time`: time every copy Freqtrade makes (calls and CPU
  seconds in the JSON; profitguard's skip, installed over it, leaves out the copies
  it skips);
- `PROFITGUARD_BENCH_PROFILE=PATH`: cProfile the backtest loops into PATH (pstats).
"""

import json
import os
import resource
import runpy
import sys
import time

from freqtrade.optimize import backtesting
from freqtrade.strategy import strategy_wrapper

loops: list[float] = []  # wall seconds of each backtest loop
loops_cpu: list[float] = []  # CPU seconds of the same (steadier on a busy machine)
loop_starts_cpu: list[float] = []  # the process's CPU seconds when each loop started
copies = {"calls": 0, "cpu_s": 0.0}
_backtest = backtesting.Backtesting.backtest
_profile_path = os.environ.get("PROFITGUARD_BENCH_PROFILE")
_profiler = None
if _profile_path:
    import cProfile

    _profiler = cProfile.Profile()


def _timed(self, *args, **kwargs):
    start, start_cpu = time.perf_counter(), time.process_time()
    loop_starts_cpu.append(start_cpu)
    if _profiler is not None:
        _profiler.enable()
    try:
        return _backtest(self, *args, **kwargs)
    finally:
        if _profiler is not None:
            _profiler.disable()
        loops.append(time.perf_counter() - start)
        loops_cpu.append(time.process_time() - start_cpu)


backtesting.Backtesting.backtest = _timed

# `strategy_safe_wrapper` calls its module's `deepcopy` only to copy `trade` for a
# strategy's own (overridden) hooks: rebinding that name reaches exactly that copy.
# profitguard's skip, installed later (at the first backtest run), wraps what is
# bound here and falls back to it.
_trade_copy = os.environ.get("PROFITGUARD_BENCH_TRADE_COPY", "")
if _trade_copy == "skip":
    strategy_wrapper.deepcopy = lambda trade: trade
elif _trade_copy == "keep":
    from profitguard.freqtrade import trade_copy

    trade_copy.install = lambda: False
elif _trade_copy == "fast":
    # the sample with `"profitguard": {"fast_backtest": true}` (its own hooks get the
    # trade itself), without writing the setting into the shared workspace config
    import dataclasses

    from profitguard.freqtrade import settings, startup

    _load = settings.load_settings
    startup.load_settings = lambda section, config: dataclasses.replace(
        _load(section, config), fast_backtest=True
    )
elif _trade_copy == "time":
    _deepcopy = strategy_wrapper.deepcopy
    _clock = time.thread_time_ns  # CPU time: waiting for the shared CPU is not counted

    def _reading_ns(samples: int = 2001) -> int:
        """What the clock reads around nothing (its own cost), the median."""
        readings = []
        for _ in range(samples):
            t0 = _clock()
            readings.append(_clock() - t0)
        return sorted(readings)[samples // 2]

    _reading = _reading_ns()

    def _timed_copy(trade):
        start = _clock()
        try:
            return _deepcopy(trade)
        finally:
            copies["cpu_s"] += (_clock() - start - _reading) / 1e9
            copies["calls"] += 1

    strategy_wrapper.deepcopy = _timed_copy
elif _trade_copy:
    raise SystemExit(
        "PROFITGUARD_BENCH_TRADE_COPY must be 'skip', 'keep', 'fast' or 'time', "
        f"was {_trade_copy!r}"
    )


def peak_rss_mb() -> float:
    """This process's own peak resident memory. Not `ru_maxrss`: Linux keeps that
    across exec and starts it at the forking parent's size, so every run measured from
    a big benchmark process read the parent's peak (all rows the same)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    out, args = sys.argv[1], sys.argv[2:]
    sys.argv = ["freqtrade", *args]
    code = 0
    try:
        runpy.run_module("freqtrade", run_name="__main__")
    except SystemExit as exc:
        # Freqtrade ends with sys.exit(None) on success
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    finally:
        if _profiler is not None:
            _profiler.dump_stats(_profile_path)
        with open(out, "w") as fh:
            json.dump(
                {
                    "exit": code,
                    "loops_s": loops,
                    "loops_cpu_s": loops_cpu,
                    "loop_starts_cpu_s": loop_starts_cpu,
                    "peak_rss_mb": peak_rss_mb(),
                    "process_cpu_s": time.process_time(),  # the whole run, start-up included
                    "trade_copies": copies if _trade_copy == "time" else None,
                },
                fh,
            )
    sys.exit(code)
