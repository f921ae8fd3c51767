"""Run `profitguard <args...>` in this process and write, as JSON, its peak RSS.

`python benchmarks/sweep_probe.py OUT.json sweep ...`: the peak resident memory
(VmHWM) of the sweep process itself, and its CPU seconds. The recording backtest
runs in a child process (a backtest by definition) and is not counted here.
"""

import json
import sys
import time

from profitguard.cli import main


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    out = sys.argv[1]
    start = time.process_time()
    status = 1
    try:
        status = main(sys.argv[2:])
    finally:
        with open(out, "w") as f:
            json.dump(
                {
                    "status": status,
                    "peak_rss_mb": peak_rss_mb(),
                    "cpu_s": time.process_time() - start,
                },
                f,
            )
    sys.exit(status)
