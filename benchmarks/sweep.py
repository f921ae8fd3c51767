"""8. sweep: `profitguard sweep` against `freqtrade hyperopt` on the same entries.

On the benchmark's 3-pair data, under `compare`'s identical-entries settings
(position stacking, unlimited open trades, the gate's entry rules off):

- one `freqtrade backtesting` of the sample (its peak RSS: the memory baseline);
- `freqtrade hyperopt -j 1 --spaces profitguard --hyperopt-loss ProfitGuardRLoss`
  for some epochs: epochs per minute of its backtest loops (startup excluded);
- `profitguard sweep --workers 1 --verify 0` with as many ladders: ladders per
  minute of its evaluation (the recording backtest excluded), and a
  10,000-ladder sweep's peak RSS (the sweep process; its recording backtest is a
  child process, a backtest).

Rates exclude each tool's one-off start (data, indicators, the recording), so
the ratio is what one more ladder costs; the wall times are in the table too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SWEEP_PROBE = HERE / "sweep_probe.py"
VS_HYPEROPT_TARGET = 100.0
RSS_TARGET = 2.0
EVALUATED = re.compile(r"==> (\d+) evaluated in ([\d.]+)s .*CPU ([\d.]+)s")


def _sweep(ws, tmp: Path, trials: int, workers: int, timerange: tuple = ()) -> dict:
    out = tmp / f"sweep-probe-{time.time_ns()}.json"
    argv = [
        sys.executable,
        str(SWEEP_PROBE),
        str(out),
        "sweep",
        "-c",
        str(ws.config),
        "--userdir",
        str(ws.userdir),
        "--datadir",
        str(ws.datadir),
        "--trials",
        str(trials),
        "--workers",
        str(workers),
        "--verify",
        "0",
        "--json",
        *timerange,
    ]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=HERE.parent)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"profitguard sweep failed:\n{done.stderr[-3000:]}")
    probe = json.loads(out.read_text())
    m = EVALUATED.search(done.stderr)
    evaluated, seconds, cpu = int(m.group(1)), float(m.group(2)), float(m.group(3))
    result = json.loads(done.stdout)
    return {
        "ladders": result["configs_evaluated"],
        "entries": result["entries"],
        "evaluated": evaluated,
        "eval_s": seconds,
        "eval_cpu_s": cpu,  # the evaluation's CPU (all of it with --workers 1)
        "per_min": evaluated / seconds * 60,
        "cpu_per_min": evaluated / cpu * 60 if cpu > 0 else float("nan"),
        "wall_s": wall,
        "peak_rss_mb": probe["peak_rss_mb"],
    }


def sweep_bench(
    tmp: Path,
    days: float,
    trials: int,
    epochs: int,
    rss_trials: int,
    rss_workers: int = 1,
    last_days: float | None = None,
) -> dict:
    """Every run on the same entries: the data's last `last_days` days (all of it
    when None), as a Freqtrade --timerange."""
    from benchmarks.run import (
        REPO,
        SAMPLE,
        _days_before_end,
        backtest,
        ensure_data,
        pair_names,
        run_probed,
        workspace,
    )
    from profitguard.report import same_entries
    from profitguard.report.policies import Policy, write_policy
    from profitguard.tooling.exchange import freqtrade_config as ftc
    from profitguard.tooling.exchange.harness import start_exchange

    datadir = ensure_data(3, days)
    with start_exchange(datadir=datadir) as exchange:
        ws = workspace(tmp / "sweep", exchange, pair_names(3), datadir)
        shutil.copytree(
            REPO / "user_data" / "hyperopts", ws.userdir / "hyperopts", dirs_exist_ok=True
        )
        # the sample as compare (and the sweep's recording) runs it: sized by risk
        unit = same_entries.risk_unit(json.loads(ws.config.read_text()))
        override = tmp / "sweep-same-entries.json"
        ftc.write_config(override, same_entries.entry_settings(unit))
        strategies = ws.userdir / "strategies"
        policy = Policy("strategy", "the strategy's own exits")
        name = write_policy(strategies, "ProfitGuardSample", SAMPLE, policy, 0, unit)
        timerange = (
            () if last_days is None else ("--timerange", f"{_days_before_end(datadir, last_days)}-")
        )
        same = ("--config", str(override), *same_entries.BACKTEST_FLAGS, *timerange)
        print("  one backtest (identical-entries settings)", flush=True)
        bt = backtest(ws, name, tmp, *same)
        print(f"    {bt.trades} trades, peak RSS {bt.peak_rss_mb:.0f} MB", flush=True)
        print(f"  freqtrade hyperopt -j 1, {epochs} epochs", flush=True)
        result, wall, probe = run_probed(
            ws,
            tmp,
            "hyperopt",
            "--strategy",
            "ProfitGuardSample",
            "--spaces",
            "profitguard",
            "--hyperopt-loss",
            "ProfitGuardRLoss",
            "-e",
            str(epochs),
            "-j",
            "1",
            "--random-state",
            "1",
            "--disable-param-export",
            *same,
        )
        if result.returncode != 0 or not probe.get("loops_s"):
            raise RuntimeError(f"hyperopt failed:\n{result.stdout[-3000:]}")
        hyp = {
            "epochs": len(probe["loops_s"]),
            "loops_s": sum(probe["loops_s"]),
            "loops_cpu_s": sum(probe["loops_cpu_s"]),
            "wall_s": wall,
            "per_min": len(probe["loops_s"]) / sum(probe["loops_s"]) * 60,
            "loops_cpu_per_min": len(probe["loops_cpu_s"]) / sum(probe["loops_cpu_s"]) * 60,
            # every epoch's whole cost: from the first epoch's start to the end (the loop,
            # the loss, Freqtrade's result statistics, the optimizer), start-up excluded
            "epochs_cpu_s": probe["process_cpu_s"] - probe["loop_starts_cpu_s"][0],
        }
        hyp["cpu_per_min"] = hyp["epochs"] / hyp["epochs_cpu_s"] * 60
        print(
            f"    {hyp['cpu_per_min']:.2f} epochs per CPU-minute (from the first epoch), "
            f"wall {wall:.0f}s",
            flush=True,
        )
        print(f"  profitguard sweep --workers 1, {trials} ladders", flush=True)
        sw = _sweep(ws, tmp, trials, 1, timerange)
        print(
            f"    {sw['cpu_per_min']:.0f} ladders per CPU-minute on {sw['entries']} entries",
            flush=True,
        )
        print(
            f"  profitguard sweep --workers {rss_workers}, {rss_trials} ladders (peak RSS)",
            flush=True,
        )
        big = _sweep(ws, tmp, rss_trials, rss_workers, timerange)
        print(f"    peak RSS {big['peak_rss_mb']:.0f} MB", flush=True)
    return {
        "backtest": bt,
        "hyperopt": hyp,
        "sweep": sw,
        "big": big,
        "rss_workers": rss_workers,
        "last_days": last_days,
    }


def sweep_section(res: dict | None) -> tuple[tuple[str, list[str]], dict]:
    heading = "## 9. Sweep against hyperopt (same space, same entries)"
    if res is None:
        return (heading, ["The sweep benchmark failed."]), {"sweep_configs_per_min": "n/a"}
    bt, hyp, sw, big = res["backtest"], res["hyperopt"], res["sweep"], res["big"]
    ratio = sw["cpu_per_min"] / hyp["cpu_per_min"]
    rss = big["peak_rss_mb"] / bt.peak_rss_mb
    lines = [
        "The sample on 3 pairs"
        + (f" (the data's last {res['last_days']:g} days)" if res.get("last_days") else "")
        + ", `compare`'s identical-entries settings (position stacking,",
        f"unlimited open trades, the gate's entry rules off, sized by risk): "
        f"{sw['entries']} entries, the same for every run.",
        "Rates count the work per ladder in CPU time, not each tool's one-off start:",
        "hyperopt from its first epoch's start to its end (each epoch's backtest loop,",
        "loss, result statistics and optimizer step; its loops alone in the next row),",
        "the sweep's evaluation on one worker. The machine is shared, so CPU time is",
        "steadier than wall time; wall times are beside them.",
        "",
        "| run | ladders | CPU s (rate basis) | per CPU-minute | wall s (rate basis) | "
        "wall s (whole run) | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
        f"| freqtrade backtesting (1 run) | 1 | - | - | - | {bt.wall_s:.1f} | "
        f"{bt.peak_rss_mb:.0f} |",
        f"| freqtrade hyperopt -j 1 | {hyp['epochs']} | {hyp['epochs_cpu_s']:.1f} | "
        f"{hyp['cpu_per_min']:.2f} | - | {hyp['wall_s']:.1f} | - |",
        f"| freqtrade hyperopt -j 1, its backtest loops only | {hyp['epochs']} | "
        f"{hyp['loops_cpu_s']:.1f} | {hyp['loops_cpu_per_min']:.2f} | {hyp['loops_s']:.1f} | - "
        "| - |",
        f"| profitguard sweep --workers 1 | {sw['evaluated']} | {sw['eval_cpu_s']:.1f} | "
        f"{sw['cpu_per_min']:.0f} | {sw['eval_s']:.1f} | {sw['wall_s']:.1f} | "
        f"{sw['peak_rss_mb']:.0f} |",
        f"| profitguard sweep --workers {res.get('rss_workers', 1)} | {big['evaluated']} | - | - | "
        f"{big['eval_s']:.1f} | {big['wall_s']:.1f} | {big['peak_rss_mb']:.0f} |",
        "",
        f"sweep_vs_hyperopt = {sw['cpu_per_min']:.0f} / {hyp['cpu_per_min']:.2f} = "
        f"**{ratio:.0f}** (target >= {VS_HYPEROPT_TARGET:g}; against the loops alone "
        f"{sw['cpu_per_min'] / hyp['loops_cpu_per_min']:.0f}); sweep_peak_rss_vs_backtest = "
        f"{big['peak_rss_mb']:.0f} / {bt.peak_rss_mb:.0f} = **{rss:.2f}** "
        f"(target <= {RSS_TARGET:g}; the sweep process, which keeps each ladder's figures "
        "and drops its rows unless walk-forward needs them; its worker processes hold "
        "the entries and candles once each).",
    ]
    keys = {
        "sweep_configs_per_min": round(sw["cpu_per_min"]),
        "sweep_vs_hyperopt": round(ratio, 1),
        "sweep_peak_rss_vs_backtest": round(rss, 2),
    }
    return (heading, lines), keys
