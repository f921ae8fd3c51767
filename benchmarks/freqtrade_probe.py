"""Run Freqtrade in this process and report, as JSON, how long its backtest loops took.

`python benchmarks/freqtrade_probe.py OUT.json <freqtrade args...>` runs Freqtrade as
`python -m freqtrade` would, timing every `Backtesting.backtest` call (the loop
where strategy callbacks run: data loading and indicators excluded) and the peak
resident memory of the process.
"""

import json
import resource
import runpy
import sys
import time

from freqtrade.optimize import backtesting

loops: list[float] = []  # wall seconds of each backtest loop
loops_cpu: list[float] = []  # CPU seconds of the same (steadier on a busy machine)
_backtest = backtesting.Backtesting.backtest


def _timed(self, *args, **kwargs):
    start, start_cpu = time.perf_counter(), time.process_time()
    try:
        return _backtest(self, *args, **kwargs)
    finally:
        loops.append(time.perf_counter() - start)
        loops_cpu.append(time.process_time() - start_cpu)


backtesting.Backtesting.backtest = _timed

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
        with open(out, "w") as fh:
            json.dump(
                {
                    "exit": code,
                    "loops_s": loops,
                    "loops_cpu_s": loops_cpu,
                    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                },
                fh,
            )
    sys.exit(code)
