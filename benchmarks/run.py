"""Every profitguard benchmark, in one command; writes benchmarks/RESULTS.md.

    ./run bench              (or: .venv/bin/python -m benchmarks)
    ./run bench --quick      (smaller data, fewer rounds: a smoke run, not for RESULTS.md)

1. engine: `step` per price update (median, p99) for r_ladder and scaled_pct;
2. backtest overhead: the sample strategy against (a) the same entries with the
   same callbacks enabled but returning nothing and (b) the same entries exiting
   with Freqtrade's native stoploss, trailing stop and ROI, run alternately;
3. scale: 1, 10 and 50 pairs over 90 days of 5m candles, wall time and peak memory;
4. hyperopt: epochs per minute over the ladder space, and against a native-exit
   strategy hyperopting Freqtrade's own stoploss, trailing and ROI spaces;
5. like for like: the sample against a replay floor that answers every hook with the
   sample's recorded answers (so the trades are the same; a plain Freqtrade
   strategy), each with default settings (both pay Freqtrade's per-hook copy of the
   trade), at 3 and 50 pairs; at 3 pairs also both without the copy, and the sample
   with `fast_backtest` on;
6. profile: where the adapter's time goes (per hook, and cProfile of the loop);
8. own: the adapter's own cost, like for like with the same copy policy on both
   sides (neither gets Freqtrade's copy of the trade), at 3 and 50 pairs;
9. sweep: `profitguard sweep` ladders per minute against `freqtrade hyperopt -j 1`
   epochs per minute on the same space and entries, and a 10,000-ladder sweep's
   peak memory against one backtest's (benchmarks/sweep.py).

    ./run bench --only like,hyperopt   (some sections: their parts of RESULTS.md
                                        and their key lines are updated in place)

Backtests run the real `freqtrade` against the offline exchange, on generated
data cached in benchmarks/.data. Timings are compared as ratios within one run:
this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / ".data"
PROBE = HERE / "freqtrade_probe.py"
SAMPLE = REPO / "user_data" / "strategies" / "ProfitGuardSample.py"
STRATEGIES = [
    SAMPLE,
    *(HERE / "strategies" / f"{name}.py" for name in ("BenchFloor", "BenchNative", "BenchReplay")),
    HERE / "strategies" / "BenchRecorder.py",
]
DAYS = 90
SCALES = (1, 10, 50)
# like for like: (pairs, days); 50 pairs over the last 30 days of the 90-day data
LIKE_SCALES = ((3, 90), (50, 30))
LIKE_TARGET = 1.25  # sample / replay floor, loop CPU, each with default settings
HYPEROPT_TARGET = 0.75  # sample / native, epochs per CPU-minute
OWN_TARGET = 1.25  # the adapter's own cost: sample / replay floor, neither copying the trade
SECTIONS = ("engine", "overhead", "scale", "hyperopt", "like", "profile", "own", "sweep")
# the like-for-like variants of the adapter's own cost: neither side gets the copy
OWN_VARIANTS = [("BenchReplay", "skip"), ("ProfitGuardSample", "skip")]
COPY_ENV = "PROFITGUARD_BENCH_TRADE_COPY"


@dataclass
class Run:
    strategy: str
    pairs: int
    wall_s: float
    loop_s: float
    loop_cpu_s: float
    peak_rss_mb: float
    trades: int
    trade_candles: int  # candles spent in a trade, over all trades: the callback workload
    fingerprint: tuple = ()  # every trade and its orders: equal tuples, equal trades
    probe: dict | None = None

    @property
    def loop_us_per_trade_candle(self) -> float:
        return self.loop_cpu_s / max(self.trade_candles, 1) * 1e6


def pair_names(n: int) -> list[str]:
    return [f"B{i:02d}/USDT" for i in range(n)]


def ensure_data(n_pairs: int, days: float) -> Path:
    """Generated 5m data for `n_pairs` pairs (cached: same seed, same bytes)."""
    from profitguard.tooling.exchange import generate as gen

    datadir = DATA / f"{n_pairs}x{days:g}d"
    marker = datadir / ".complete"
    if not marker.exists():
        shutil.rmtree(datadir, ignore_errors=True)
        print(f"  generating {n_pairs} pairs x {days:g} days of 5m candles", flush=True)
        gen.generate(datadir, pairs=pair_names(n_pairs), timeframes=("5m",), days=days, seed=11)
        marker.touch()
    return datadir


def run_probed(ws, out_dir: Path, command: str, *args: str, env: dict | None = None):
    """`freqtrade <command> <args>` in the workspace under the probe:
    (the completed process, its wall seconds, what the probe measured)."""
    from profitguard.tooling.exchange.harness import offline_env

    probe_out = out_dir / f"probe-{command}-{time.time_ns()}.json"
    argv = ws.argv(command, *args)
    argv = [sys.executable, str(PROBE), str(probe_out), *argv[3:]]  # in place of -m freqtrade
    start = time.perf_counter()
    result = subprocess.run(
        argv, cwd=ws.userdir.parent, env={**offline_env(), **(env or {})},
        capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - start
    probe = json.loads(probe_out.read_text()) if probe_out.exists() else {}
    return result, wall, probe


def trade_fingerprint(trades: list[dict]) -> tuple:
    """What makes two runs' trades the same: pair, dates, rates, amounts, exit reasons,
    profit and every order (time, side, amount, price, tag)."""

    def orders(trade: dict) -> tuple:
        return tuple(
            (o.get("order_filled_timestamp"), o.get("ft_order_side"), o.get("amount"),
             o.get("safe_price"), o.get("ft_order_tag"))
            for o in trade.get("orders", ())
        )  # fmt: skip

    keys = ("pair", "open_timestamp", "close_timestamp", "open_rate", "close_rate", "amount",
            "stake_amount", "exit_reason", "profit_abs")  # fmt: skip
    return tuple((*(t.get(k) for k in keys), orders(t)) for t in trades)


def backtest(ws, strategy: str, out_dir: Path, *args: str, env: dict | None = None) -> Run:
    from tests.exchange_fixtures import last_backtest_stats

    result, wall, probe = run_probed(
        ws, out_dir, "backtesting", "--strategy", strategy, "--cache", "none", "--export",
        "trades", *args, env=env,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(
            f"freqtrade backtesting {strategy} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        )
    trades = last_backtest_stats(ws)["strategy"][strategy]["trades"]
    candles = sum((t["close_timestamp"] - t["open_timestamp"]) // 300_000 + 1 for t in trades)
    return Run(
        strategy=strategy,
        pairs=len(json.loads(ws.config.read_text())["exchange"]["pair_whitelist"]),
        wall_s=wall,
        loop_s=sum(probe["loops_s"]),
        loop_cpu_s=sum(probe["loops_cpu_s"]),
        peak_rss_mb=probe["peak_rss_mb"],
        trades=len(trades),
        trade_candles=candles,
        fingerprint=trade_fingerprint(trades),
        probe=probe,
    )


def workspace(root: Path, exchange, pairs: list[str], datadir: Path):
    from profitguard.tooling.exchange.harness import Workspace

    return Workspace.create(
        root,
        exchange_url=exchange.url,
        pairs=pairs,
        strategies=STRATEGIES,
        datadir=datadir,
        max_open_trades=max(3, len(pairs) // 2),
        stake_amount=100,
        dry_run_wallet=100_000,
    )


def overhead(tmp: Path, rounds: int, days: float) -> list[Run]:
    """(a) floor, (b) native, (c) sample, alternately, `rounds` times on 3 pairs."""
    from profitguard.tooling.exchange.harness import start_exchange

    datadir = ensure_data(3, days)
    runs: list[Run] = []
    with start_exchange(datadir=datadir) as exchange:
        ws = workspace(tmp / "overhead", exchange, pair_names(3), datadir)
        for r in range(rounds):
            for strategy in ("BenchFloor", "BenchNative", "ProfitGuardSample"):
                run = backtest(ws, strategy, tmp)
                runs.append(run)
                print(f"  round {r + 1}: {strategy:18s} wall {run.wall_s:6.2f}s "
                      f"loop {run.loop_s:6.2f}s trades {run.trades}", flush=True)  # fmt: skip
    return runs


def scale(tmp: Path, scales: tuple[int, ...], days: float) -> list[Run]:
    from profitguard.tooling.exchange.harness import start_exchange

    runs = []
    for n in scales:
        datadir = ensure_data(n, days)
        with start_exchange(datadir=datadir) as exchange:
            ws = workspace(tmp / f"scale-{n}", exchange, pair_names(n), datadir)
            for strategy in ("BenchFloor", "ProfitGuardSample"):
                run = backtest(ws, strategy, tmp)
                runs.append(run)
                print(
                    f"  {n:2d} pairs: {strategy:18s} wall {run.wall_s:6.2f}s "
                    f"loop {run.loop_s:6.2f}s rss {run.peak_rss_mb:6.0f} MB",
                    flush=True,
                )
    return runs


NATIVE_SPACES = ("stoploss", "trailing", "roi")
NATIVE_LOSS = "SharpeHyperOptLoss"  # ProfitGuardRLoss needs profitguard's initial stops


def hyperopt_run(ws, tmp: Path, strategy: str, spaces: tuple[str, ...], loss: str,
                 epochs: int, env: dict | None = None) -> dict | None:  # fmt: skip
    """Epochs per minute of one `freqtrade hyperopt -j 1` run (None if it failed)."""
    result, wall, probe = run_probed(
        ws, tmp, "hyperopt", "--strategy", strategy, "--spaces", *spaces,
        "--hyperopt-loss", loss, "-e", str(epochs), "-j", "1", "--random-state", "1",
        "--disable-param-export", env=env,
    )  # fmt: skip
    if result.returncode != 0 or not probe.get("loops_s"):
        print(f"  hyperopt {strategy} failed:\n{result.stdout[-2000:]}", flush=True)
        return None
    run = {
        "strategy": strategy,
        "spaces": " ".join(spaces),
        "loss": loss,
        "epochs": epochs,
        "wall_s": wall,
        "epochs_per_min": epochs / wall * 60,
        "cpu_s": probe["process_cpu_s"],
        "cpu_epochs_per_min": epochs / probe["process_cpu_s"] * 60,
        "loop_epochs_per_min": len(probe["loops_s"]) / sum(probe["loops_s"]) * 60,
        "loop_cpu_epochs_per_min": len(probe["loops_cpu_s"]) / sum(probe["loops_cpu_s"]) * 60,
    }
    print(f"  {strategy:18s} {run['epochs_per_min']:.1f} epochs/min "
          f"({run['loop_epochs_per_min']:.1f} counting the loops only)", flush=True)  # fmt: skip
    return run


def hyperopt(tmp: Path, epochs: int, days: float) -> dict | None:
    """`--spaces profitguard` on the sample (default settings, then `fast_backtest` on),
    then Freqtrade's own exit spaces on BenchNative (the same entries), on the same data
    and for as many epochs."""
    from profitguard.tooling.exchange.harness import start_exchange

    datadir = ensure_data(3, days)
    with start_exchange(datadir=datadir) as exchange:
        ws = workspace(tmp / "hyperopt", exchange, pair_names(3), datadir)
        shutil.copytree(REPO / "user_data" / "hyperopts", ws.userdir / "hyperopts",
                        dirs_exist_ok=True)  # fmt: skip
        losses = sorted(p.stem for p in (ws.userdir / "hyperopts").glob("*.py"))
        if not losses:
            return None
        sample = hyperopt_run(ws, tmp, "ProfitGuardSample", ("profitguard",), losses[0], epochs)
        fast = hyperopt_run(ws, tmp, "ProfitGuardSample", ("profitguard",), losses[0], epochs,
                            env={COPY_ENV: "fast"})  # fmt: skip
        native = hyperopt_run(ws, tmp, "BenchNative", NATIVE_SPACES, NATIVE_LOSS, epochs)
    if sample is None:
        return None
    if fast is not None:
        fast["strategy"] += " (fast_backtest on)"
    return {**sample, "fast": fast, "native": native, "days": days}


# ------------------------------------------------------------------ like for like


def importable_strategies() -> None:
    """Put the benchmark strategies (and the sample they import) on `sys.path`: their
    modules name the files they write, and Freqtrade imports them by file name."""
    for path in (str(SAMPLE.parent), str(HERE / "strategies")):
        if path not in sys.path:
            sys.path.insert(0, path)


def _replay_report(ws) -> dict:
    importable_strategies()
    from BenchReplay import REPORT_FILE

    path = ws.userdir / REPORT_FILE
    report = json.loads(path.read_text())
    path.unlink()
    if report["misses"] or report["answered"] != report["recorded"]:
        raise RuntimeError(
            f"BenchReplay did not replay the recording: answered {report['answered']} of "
            f"{report['recorded']} answers, {report['misses']} calls without one "
            f"(first: {report['first_misses']})"
        )
    return report


def like_for_like(tmp: Path, n_pairs: int, days: float, rounds: int, *,
                  copy_variants: bool, datadir: Path | None = None,
                  own_cost: bool = False) -> dict:  # fmt: skip
    """Record the sample's answers, then replay floor and sample alternately.

    Both run with default settings: each pays Freqtrade's per-hook deep copy of the
    trade. With `copy_variants`, each round also runs both without the copy (the probe
    skips it for every hook) and the sample with `fast_backtest` on (its own hooks skip
    the copy, the floor's do not). Every run must
    make the recording's trades. With `own_cost`, only the two without the copy.
    Data: the last `days` of the generated 90-day data, or all of `datadir`."""
    from profitguard.tooling.exchange.harness import start_exchange

    importable_strategies()
    from BenchRecorder import TIMES_FILE

    timerange: tuple[str, ...] = ()
    if datadir is None:
        datadir = ensure_data(n_pairs, DAYS)
        if days < DAYS:
            timerange = ("--timerange", f"{_days_before_end(datadir, days)}-")
    # the headline: each side with default settings (both get Freqtrade's copy)
    variants = [("BenchReplay", ""), ("ProfitGuardSample", "keep")]
    if own_cost:
        variants = list(OWN_VARIANTS)
    elif copy_variants:
        variants += [("BenchReplay", "skip"), ("ProfitGuardSample", "skip"),
                     ("ProfitGuardSample", "")]  # fmt: skip
    with start_exchange(datadir=datadir) as exchange:
        ws = workspace(tmp / f"like-{n_pairs}", exchange, pair_names(n_pairs), datadir)
        recording = backtest(ws, "BenchRecorder", tmp, *timerange, env={COPY_ENV: "time"})
        hook_times = json.loads((ws.userdir / TIMES_FILE).read_text())
        print(f"  {n_pairs} pairs: recorded {recording.trades} trades", flush=True)
        runs: dict[tuple[str, str], list[Run]] = {v: [] for v in variants}
        for r in range(rounds):
            for strategy, copy in variants:
                env = {COPY_ENV: copy} if copy else None
                if strategy == "ProfitGuardSample" and not copy:
                    env = {COPY_ENV: "fast"}  # with `fast_backtest` on (opt-in)
                run = backtest(ws, strategy, tmp, *timerange, env=env)
                if strategy == "BenchReplay":
                    _replay_report(ws)
                if run.fingerprint != recording.fingerprint:
                    raise RuntimeError(
                        f"{strategy} (trade copy {copy_label(strategy, copy)}) made other "
                        f"trades than the recording: {run.trades} against {recording.trades}"
                    )
                runs[(strategy, copy)].append(run)
                print(
                    f"  round {r + 1}: {strategy:18s} copy {copy_label(strategy, copy):45s} "
                    f"loop CPU {run.loop_cpu_s:6.2f}s trades {run.trades}",
                    flush=True,
                )
    return {"pairs": n_pairs, "days": days, "recording": recording, "runs": runs,
            "hook_times": hook_times}  # fmt: skip


def copy_label(strategy: str, copy: str) -> str:
    """Whether the hooks of a like-for-like run got Freqtrade's copy of the trade."""
    if copy == "skip":
        return "skipped for every hook (probe)"
    if copy == "keep":
        return "kept for every hook (the default: fast_backtest off)"
    if strategy == "ProfitGuardSample":
        return "skipped for profitguard's hooks (fast_backtest on)"
    return "kept (Freqtrade's)"


def _days_before_end(datadir: Path, days: float) -> str:
    """The timerange start (YYYYMMDD) `days` before the end of the generated data."""
    import pandas as pd

    first = sorted(datadir.glob("*-5m.feather"))[0]
    end = pd.read_feather(first, columns=["date"])["date"].max()
    return (end - pd.Timedelta(days=days)).ceil("D").strftime("%Y%m%d")


def round_ratios(runs: dict, numerator: tuple, denominator: tuple) -> list[float]:
    """Loop CPU of numerator / denominator, per round (each pair ran back to back)."""
    pairs = zip(runs[numerator], runs[denominator], strict=True)
    return [a.loop_cpu_s / b.loop_cpu_s for a, b in pairs]


# the hooks Freqtrade calls in a backtest (none calls another)
HOOKS = (
    "custom_stoploss",
    "adjust_trade_position",
    "order_filled",
    "confirm_trade_entry",
    "custom_stake_amount",
    "custom_exit",
    "check_entry_timeout",
    "bot_loop_start",
)


def profile(tmp: Path, days: float, top: int = 16) -> dict:
    """cProfile of one sample backtest loop (3 pairs): profitguard's functions by
    cumulative time, and Freqtrade's trade copy, as shares of the profiled loop."""
    import pstats

    from profitguard.tooling.exchange.harness import start_exchange

    datadir = ensure_data(3, days)
    stats_path = tmp / "sample.pstats"
    with start_exchange(datadir=datadir) as exchange:
        ws = workspace(tmp / "profile", exchange, pair_names(3), datadir)
        run = backtest(ws, "ProfitGuardSample", tmp,
                       env={"PROFITGUARD_BENCH_PROFILE": str(stats_path)})  # fmt: skip
    stats = pstats.Stats(str(stats_path)).stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    loop = sum(
        ct
        for (file, _, name), (_, _, _, ct, _) in stats.items()
        if name == "backtest" and file.endswith(os.path.join("optimize", "backtesting.py"))
    )
    rows, copy, hooks = [], None, [0, 0.0]
    for (file, _, name), (_, calls, _, cumulative, callers) in stats.items():
        if f"{os.sep}profitguard{os.sep}" in file and "benchmarks" not in file:
            module = file.rsplit(f"{os.sep}profitguard{os.sep}", 1)[-1].removesuffix(".py")
            function = f"`profitguard.{module.replace(os.sep, '.')}.{name}`"
            rows.append((function, calls, cumulative))
            if module == f"freqtrade{os.sep}strategy" and name in HOOKS:
                hooks[0] += calls
                hooks[1] += cumulative
        elif name == "deepcopy" and file.endswith("copy.py"):
            # the calls from strategy_safe_wrapper only (deepcopy recurses into itself),
            # through profitguard's skip where it is installed
            wrapped = [v for (cf, _, cn), v in callers.items()
                       if (cn == "wrapper" and cf.endswith("strategy_wrapper.py"))
                       or cn == "copy_unless_profitguard_hook"]  # fmt: skip
            if wrapped:
                copy = ("Freqtrade's `deepcopy` of the trade (`strategy_safe_wrapper`)",
                        wrapped[0][1], wrapped[0][3])  # fmt: skip
    rows.sort(key=lambda r: -r[2])
    shown = [("all of ProfitGuardStrategy's hooks", *hooks), *rows[:top]]
    shown += [copy] if copy else [("Freqtrade's `deepcopy` of the trade: none (profitguard's "
                                   "hooks get the trade itself)", 0, 0.0)]  # fmt: skip
    return {
        "days": days,
        "loop_s": loop,
        "unprofiled_loop_cpu_s": run.loop_cpu_s,
        "rows": [
            {"function": f, "calls": c, "share": ct / loop, "us_per_call": ct / max(c, 1) * 1e6}
            for f, c, ct in shown
        ],
    }


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import freqtrade

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "freqtrade": freqtrade.__version__,
        "os": platform.platform(),
    }


def _median(runs: list[Run], strategy: str, attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs if r.strategy == strategy)


Section = tuple[str, list[str]]  # (heading, body lines)


def engine_section(engine: list[dict]) -> tuple[Section, dict]:
    keys = {"engine_median_us": engine[0]["median_us"], "engine_p99_us": engine[0]["p99_us"]}
    return ("## 1. Engine: one price update (`step`)", [
        "Five repeats of 1000 positions x 200 random-walk prices; the median of each figure,",
        "and the range of the five medians.",
        "",
        "| preset | updates | median µs | p99 µs | medians, lowest to highest (µs) |",
        "|---|---|---|---|---|",
        *(
            f"| {e['preset']} | {e['updates']} | {e['median_us']} | {e['p99_us']} | "
            f"{e['median_spread_us'][0]} to {e['median_spread_us'][1]} |"
            for e in engine
        ),
    ]), keys  # fmt: skip


def overhead_section(over: list[Run]) -> tuple[Section, dict]:
    floor_wall = _median(over, "BenchFloor", "wall_s")
    native_wall = _median(over, "BenchNative", "wall_s")
    sample_wall = _median(over, "ProfitGuardSample", "wall_s")
    floor_unit = _median(over, "BenchFloor", "loop_us_per_trade_candle")
    sample_unit = _median(over, "ProfitGuardSample", "loop_us_per_trade_candle")
    keys = {
        "backtest_vs_floor": round(sample_wall / floor_wall, 3),
        "backtest_vs_native": round(sample_wall / native_wall, 3),
    }
    lines = [
        "(a) BenchFloor: the sample's entries, `custom_stoploss` and `adjust_trade_position`",
        "enabled but returning None (Freqtrade's own cost of calling them), native exits;",
        "(b) BenchNative: the same entries, Freqtrade's stoploss, trailing stop and ROI;",
        "(c) ProfitGuardSample: every exit by profitguard.",
        "",
        "| strategy | wall s | loop s | loop CPU s | trades | candles in a trade "
        "| loop CPU µs per trade-candle |",
        "|---|---|---|---|---|---|---|",
    ]
    for strategy in ("BenchFloor", "BenchNative", "ProfitGuardSample"):
        mine = [r for r in over if r.strategy == strategy]
        lines.append(
            f"| {strategy} | {_median(mine, strategy, 'wall_s'):.2f} | "
            f"{_median(mine, strategy, 'loop_s'):.2f} | "
            f"{_median(mine, strategy, 'loop_cpu_s'):.2f} | {mine[0].trades} | "
            f"{mine[0].trade_candles} | {_median(mine, strategy, 'loop_us_per_trade_candle'):.1f} |"
        )
    lines += [
        "",
        f"Wall time: sample / floor = **{keys['backtest_vs_floor']}**, "
        f"sample / native = **{keys['backtest_vs_native']}**. Per candle spent in a trade "
        f"(the callback workload; trade counts differ between variants), the sample's loop CPU "
        f"costs {sample_unit:.1f} µs against the floor's {floor_unit:.1f} µs "
        f"({sample_unit / floor_unit:.2f}x). Section 5 compares like for like.",
    ]
    return ("## 2. Backtest overhead (3 pairs, 5m, alternating rounds; medians)", lines), keys


def scale_section(scaled: list[Run], days: float) -> tuple[Section, dict]:
    by_scale = {(r.pairs, r.strategy): r for r in scaled}
    biggest = max(r.pairs for r in scaled)
    keys = {
        f"peak_rss_mb_{biggest}_pairs": round(by_scale[(biggest, "ProfitGuardSample")].peak_rss_mb)
    }
    lines = [
        "The sample's risk gate caps open positions at 5 (the floor opens up to half the",
        "pairs at once), so at 10 and 50 pairs it does less work per candle: compare each",
        "variant with itself across scales, and read the trades.",
        "",
        "| pairs | strategy | trades | wall s | loop CPU s | loop CPU µs per pair-candle "
        "| peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in scaled:
        per = r.loop_cpu_s / (r.pairs * days * 288) * 1e6
        lines.append(
            f"| {r.pairs} | {r.strategy} | {r.trades} | {r.wall_s:.2f} | {r.loop_cpu_s:.2f} "
            f"| {per:.2f} | {r.peak_rss_mb:.0f} |"
        )
    rss_vs_floor = [
        by_scale[(n, "ProfitGuardSample")].peak_rss_mb / by_scale[(n, "BenchFloor")].peak_rss_mb
        for n in sorted({r.pairs for r in scaled})
        if (n, "BenchFloor") in by_scale and (n, "ProfitGuardSample") in by_scale
    ]
    lines += [
        "",
        "Memory: profitguard keeps per open trade a small memo (dropped when the trade",
        "closes), per pair the current analyzed frame (a reference to Freqtrade's), and",
        "per closed trade one record for the risk rules, as Freqtrade keeps its own",
        "trade: nothing grows per candle."
        + (
            f" Peak RSS of the sample is {min(rss_vs_floor):.2f}x to {max(rss_vs_floor):.2f}x"
            " the floor's across the scales."
            if rss_vs_floor
            else ""
        ),
    ]
    return (f"## 3. Scale: {days:g} days of 5m candles", lines), keys


def hyperopt_section(hyp: dict | None) -> tuple[Section, dict]:
    heading = "## 4. Hyperopt"
    if not hyp:
        return (heading, ["Not measured: no hyperopt loss in user_data/hyperopts, or the run "
                          "failed."]), {"hyperopt_epochs_per_min": "n/a"}  # fmt: skip
    native, fast = hyp.get("native"), hyp.get("fast")
    keys = {
        "hyperopt_epochs_per_min": round(hyp["epochs_per_min"], 1),
        "hyperopt_vs_native": round(hyp["cpu_epochs_per_min"] / native["cpu_epochs_per_min"], 3)
        if native
        else "n/a",
    }
    if native and fast:
        keys["hyperopt_vs_native_fast_backtest"] = round(
            fast["cpu_epochs_per_min"] / native["cpu_epochs_per_min"], 3
        )
    lines = [
        f"Both on the same 3 pairs x {hyp['days']:g} days, `-j 1`, `--random-state 1`, the "
        "same number of epochs, one after the other. Epochs per minute of the process's CPU",
        "time and of wall time (start-up included in both), and counting the backtest loops",
        "only (wall). The machine is shared and busy: CPU time is the steadier measure.",
        "",
        "| strategy | spaces | loss | epochs | CPU s | epochs/CPU-min | wall s | epochs/min "
        "| epochs/min, loops only |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in (hyp, fast, native):
        if run:
            lines.append(
                f"| {run['strategy']} | {run['spaces']} | {run['loss']} | {run['epochs']} | "
                f"{run['cpu_s']:.1f} | {run['cpu_epochs_per_min']:.1f} | "
                f"{run['wall_s']:.1f} | {run['epochs_per_min']:.1f} | "
                f"{run['loop_epochs_per_min']:.1f} |"
            )
    lines += [
        "",
        "BenchNative has the sample's entries and tunes Freqtrade's own exits (stoploss,",
        f"trailing stop, ROI table); its loss is {NATIVE_LOSS} (ProfitGuardRLoss needs",
        "profitguard's initial stops). A loss is computed once per epoch over a few hundred",
        "trades: its share of an epoch is negligible either way. With default settings the",
        "sample pays Freqtrade's per-hook copy of the trade (section 6) and BenchNative, which",
        "implements no hook that takes a trade, does not; with `fast_backtest` on (opt-in,",
        "backtesting and hyperopt only) the sample's own hooks get the trade itself.",
    ]
    if native:
        wall = hyp["epochs_per_min"] / native["epochs_per_min"]
        loops = hyp["loop_epochs_per_min"] / native["loop_epochs_per_min"]
        loops_cpu = hyp["loop_cpu_epochs_per_min"] / native["loop_cpu_epochs_per_min"]
        lines += [
            "",
            f"hyperopt_vs_native (the sample's epochs per CPU-minute over BenchNative's): "
            f"**{keys['hyperopt_vs_native']}**; by wall time {wall:.3f}, by the loops alone "
            f"{loops:.3f} (wall) and {loops_cpu:.3f} (CPU). Target: at least {HYPEROPT_TARGET}.",
        ]
        if fast:
            lines.append(
                f"With `fast_backtest` on: **{keys['hyperopt_vs_native_fast_backtest']}** "
                f"(epochs per CPU-minute)."
            )
    else:
        lines += ["", "The native run failed: hyperopt_vs_native not measured."]
    return (heading, lines), keys


def _med(values) -> float:
    return statistics.median(list(values))


def like_section(likes: list[dict]) -> tuple[Section, dict]:
    keys: dict = {}
    lines = [
        "The same trades both sides. BenchRecorder (the sample, its hooks wrapped on the",
        "instance) records every answer the sample's hooks give Freqtrade, keyed by hook,",
        "pair and candle time; BenchReplay has the sample's entries and flags and answers",
        "every hook from that dict (one lookup per call). It is Freqtrade's floor for this",
        "sample's trades: the same hooks called as often.",
        "",
        "The headline runs each side with default settings: Freqtrade deep-copies the trade,",
        "its orders included, for every hook a strategy implements that takes it (section 6),",
        "the floor's and the sample's alike. The line without the copy on both sides is the",
        "adapter's own cost (section 8). With `fast_backtest` on (opt-in) the sample's own",
        "hooks get the trade itself (`profitguard/freqtrade/trade_copy.py`) while the floor,",
        "a plain Freqtrade strategy, still pays the copy: that line flatters the sample.",
        "",
        "Every run below was checked to make exactly the recording's trades (pair, dates,",
        "rates, amounts, stake, exit reason, profit and every order), and the replay to",
        "have used every recorded answer and missed none.",
        "",
        "Rounds alternate replay and sample back to back on this shared, noisy machine",
        "(other engineers run tests on its 2 cores); figures are medians over the rounds,",
        "and each ratio is the median of the per-round ratios of loop CPU seconds (the",
        "backtest loop only: data loading and indicators excluded).",
        "",
        "| pairs | days | trades | orders | variant | trade copy | rounds | loop CPU s "
        "(median) | loop s (median) | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for like in likes:
        n, runs, rec = like["pairs"], like["runs"], like["recording"]
        orders = sum(len(t[-1]) for t in rec.fingerprint)
        for (strategy, copy), mine in runs.items():
            lines.append(
                f"| {n} | {like['days']:g} | {rec.trades} | {orders} | {strategy} | "
                f"{copy_label(strategy, copy)} | {len(mine)} | "
                f"{_med(r.loop_cpu_s for r in mine):.2f} | {_med(r.loop_s for r in mine):.2f} | "
                f"{_med(r.peak_rss_mb for r in mine):.0f} |"
            )
        ratios = round_ratios(runs, ("ProfitGuardSample", "keep"), ("BenchReplay", ""))
        keys[f"adapter_vs_replay_floor_{n}_pairs"] = round(_med(ratios), 3)
        notes.append(
            f"- {n} pairs: sample / replay floor, default settings = **{_med(ratios):.3f}** "
            f"(both pay Freqtrade's trade copy; "
            f"rounds: {', '.join(f'{x:.3f}' for x in ratios)})."
        )
        if ("BenchReplay", "skip") in runs:
            both = round_ratios(runs, ("ProfitGuardSample", "skip"), ("BenchReplay", "skip"))
            keys[f"adapter_vs_replay_floor_{n}_pairs_no_trade_copy"] = round(_med(both), 3)
            notes.append(
                f"  Without Freqtrade's trade copy (both sides; the adapter's own cost): "
                f"**{_med(both):.3f}** (rounds: {', '.join(f'{x:.3f}' for x in both)})."
            )
        if ("ProfitGuardSample", "") in runs:
            fast = round_ratios(runs, ("ProfitGuardSample", ""), ("BenchReplay", ""))
            keys[f"adapter_vs_replay_floor_{n}_pairs_fast_backtest"] = round(_med(fast), 3)
            notes.append(
                f"  The sample with fast_backtest on (the floor pays the copy, profitguard's "
                f"hooks do not): **{_med(fast):.3f}** "
                f"(rounds: {', '.join(f'{x:.3f}' for x in fast)})."
            )
    notes += [
        "",
        f"Target (default settings): at most {LIKE_TARGET} at 3 and at 50 pairs, "
        "with the sample's peak RSS not above the floor's.",
    ]
    return ("## 5. Like for like: the sample against a replay floor", [*lines, "", *notes]), keys


def own_section(owns: list[dict]) -> tuple[Section, dict]:
    """The adapter's own cost: the sample against the replay floor, neither copying."""
    keys: dict = {}
    lines = [
        "Section 5's comparison with one copy policy on both sides: neither the sample nor",
        "the replay floor gets Freqtrade's copy of the trade (the probe skips it for every",
        "hook), so the ratio is what profitguard's hooks cost beyond answering Freqtrade",
        "from a dict: the risk gate, the exit callbacks, the engine. Both made exactly the",
        "recording's trades; rounds alternate the two back to back; each ratio is the",
        "median of the per-round ratios of loop CPU seconds.",
        "",
        "| pairs | days | trades | variant | rounds | loop CPU s (median) | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    notes = []
    for own in owns:
        n, runs, rec = own["pairs"], own["runs"], own["recording"]
        for (strategy, _), mine in runs.items():
            lines.append(
                f"| {n} | {own['days']:g} | {rec.trades} | {strategy} | {len(mine)} | "
                f"{_med(r.loop_cpu_s for r in mine):.2f} | "
                f"{_med(r.peak_rss_mb for r in mine):.0f} |"
            )
        ratios = round_ratios(runs, *reversed(OWN_VARIANTS))
        keys[f"adapter_own_cost_{n}_pairs"] = round(_med(ratios), 3)
        notes.append(
            f"- {n} pairs: **{_med(ratios):.3f}** "
            f"(rounds: {', '.join(f'{x:.3f}' for x in ratios)})."
        )
    notes += ["", f"Target: at most {OWN_TARGET} at 3 and at 50 pairs."]
    return (
        "## 8. The adapter's own cost (no trade copy on either side)",
        [*lines, "", *notes],
    ), keys


def copy_section(likes: list[dict]) -> tuple[Section, dict] | None:
    like = next((x for x in likes if ("BenchReplay", "skip") in x["runs"]), None)
    if like is None:
        return None
    runs, rec, n = like["runs"], like["recording"], like["pairs"]
    copies = rec.probe.get("trade_copies") or {}
    keys = {}
    lines = [
        "Freqtrade's `strategy_safe_wrapper` (freqtrade/strategy/strategy_wrapper.py) hands",
        "every hook the strategy itself implements a `deepcopy` of the trade, its orders",
        "included, when the hook takes a `trade` (in backtesting: `custom_stoploss`,",
        "`adjust_trade_position`, `order_filled`, `custom_exit`, `check_entry_timeout`, ...;",
        "hooks left to IStrategy's defaults are not copied). With `fast_backtest` on",
        "(opt-in) profitguard skips it for its own hooks in backtesting and hyperopt",
        "(`profitguard/freqtrade/trade_copy.py`): they only read the trade, which the tests",
        "check around every hook call of a real backtest; a hook a user overrides, any other",
        f"strategy, dry-run and live keep Freqtrade's copy. Measured, {n} pairs x "
        f"{like['days']:g} days:",
        "",
    ]
    if copies.get("calls"):
        share = copies["cpu_s"] / rec.loop_cpu_s
        keys["trade_copy_share_of_sample_loop"] = round(share, 3)
        lines.append(
            f"- timed (CPU) in the recording run (its hooks are wrapped on the instance, so "
            f"they get Freqtrade's copy, as the sample's did before the skip): "
            f"{copies['calls']} copies, {copies['cpu_s']:.2f} s, "
            f"{copies['cpu_s'] / copies['calls'] * 1e6:.1f} µs each, "
            f"**{share:.0%}** of that run's loop CPU ({rec.loop_cpu_s:.2f} s);"
        )
    if ("ProfitGuardSample", "keep") in runs:
        ratios = round_ratios(runs, ("ProfitGuardSample", ""), ("ProfitGuardSample", "keep"))
        saved = 1 - _med(ratios)
        keys["sample_loop_saved_without_trade_copy"] = round(saved, 3)
        lines.append(
            f"- the sample with fast_backtest against the sample as by default (copy kept): loop "
            f"CPU **{saved:.0%} lower** (per-round ratios "
            f"{', '.join(f'{x:.3f}' for x in ratios)});"
        )
    ratios = round_ratios(runs, ("BenchReplay", "skip"), ("BenchReplay", ""))
    lines.append(
        f"- BenchReplay without the copy (the probe rebinds the wrapper's `deepcopy` to "
        f"return the trade itself) against it with the copy: loop CPU "
        f"**{1 - _med(ratios):.0%} lower** (per-round ratios "
        f"{', '.join(f'{x:.3f}' for x in ratios)}): what the floor pays for it."
    )
    lines += [
        "",
        "With and without the copy the sample made exactly the same trades (checked as in",
        "section 5).",
    ]
    return ("## 6. Freqtrade's copy of the trade for every hook", lines), keys


def profile_section(likes: list[dict], prof: dict | None) -> tuple[Section, dict] | None:
    like = next((x for x in likes if x["pairs"] == 3), likes[0] if likes else None)
    if like is None and prof is None:
        return None
    lines: list[str] = []
    keys: dict = {}
    if like is not None:
        times, rec, runs = like["hook_times"], like["recording"], like["runs"]
        times = {hook: t for hook, t in times.items() if t.get("calls")}
        loop = rec.loop_cpu_s
        # the adapter's cost over the floor, the trade copy apart: both without it if
        # measured (else both with default settings: both pay it)
        copy = "skip" if ("ProfitGuardSample", "skip") in runs else ""
        sample = _med(r.loop_cpu_s for r in runs[("ProfitGuardSample", copy or "keep")])
        replay = _med(r.loop_cpu_s for r in runs[("BenchReplay", copy)])
        hooks_s = sum(t["total_ms"] for h, t in times.items() if h != "engine step") / 1000
        lines += [
            f"Per hook, {like['pairs']} pairs x {like['days']:g} days, in the recording run: "
            "each call's CPU time (this thread's clock, less the clock's own cost), inside",
            "Freqtrade's wrapper, so Freqtrade's copy of the trade (section 6) is not in it.",
            "",
            "| hook | calls | median µs | mean µs | total CPU s | share of the loop CPU |",
            "|---|---|---|---|---|---|",
        ]
        for hook, t in sorted(times.items(), key=lambda kv: -kv[1]["total_ms"]):
            label = "engine `step` (in the exit hooks)" if hook == "engine step" else f"`{hook}`"
            lines.append(
                f"| {label} | {t['calls']} | {t['median_us']} | {t['mean_us']} | "
                f"{t['total_ms'] / 1000:.2f} | {t['total_ms'] / 1000 / loop:.1%} |"
            )
        lines += [
            f"| all hooks | {sum(t['calls'] for h, t in times.items() if h != 'engine step')} "
            f"| | | {hooks_s:.2f} | {hooks_s / loop:.1%} |",
            "",
            f"The recording run's loop took {loop:.2f} s CPU. In section 5 the sample's loop "
            f"took {sample - replay:.2f} s CPU more than the replay floor's "
            f"({'both without the trade copy; ' if copy else 'default settings; '}medians "
            f"{sample:.2f} and {replay:.2f} s), against {hooks_s:.2f} s in the hooks here: the",
            "floor's own answers cost a lookup each.",
        ]
        stake, confirm = times.get("custom_stake_amount"), times.get("confirm_trade_entry")
        if stake:
            gate_ms = stake["total_ms"] + (confirm["total_ms"] if confirm else 0)
            per = gate_ms * 1000 / stake["calls"]
            keys["gate_us_per_entry_attempt"] = round(per, 1)
            lines += [
                "",
                f"- The risk gate: {stake['calls']} entry attempts (Freqtrade asks "
                f"`custom_stake_amount` first, then `confirm_trade_entry` for "
                f"{confirm['calls'] if confirm else 0} of them), **{per:.0f} µs per attempt** "
                f"(mean), {gate_ms / 1000 / hooks_s:.0%} of the hooks' time; {rec.trades} "
                "trades were entered.",
            ]
        exits = [times[h] for h in ("custom_stoploss", "adjust_trade_position") if h in times]
        if exits:
            calls = sum(t["calls"] for t in exits)
            exit_ms = sum(t["total_ms"] for t in exits)
            per = exit_ms * 1000 / calls
            keys["exit_callback_us_per_call"] = round(per, 1)
            engine = times.get("engine step")
            lines.append(
                f"- The exit callbacks (`custom_stoploss`, `adjust_trade_position`): {calls} "
                f"calls, **{per:.1f} µs per call** (mean), {exit_ms / 1000 / hooks_s:.0%} of "
                "the hooks' time"
                + (
                    f"; the engine's `step` in them {engine['mean_us']:.1f} µs per call (mean; "
                    f"median {engine['median_us']:.1f})."
                    if engine
                    else "."
                )
            )
    if prof is not None:
        lines += [
            "",
            f"cProfile of one sample backtest loop (3 pairs x {prof['days']:g} days): "
            f"profitguard's functions by cumulative time, as a share of the profiled loop "
            f"({prof['loop_s']:.1f} s under the profiler, {prof['unprofiled_loop_cpu_s']:.1f} s "
            "without). The profiler inflates call-heavy code (the copy most): read shares,",
            "not times.",
            "",
            "| function | calls | share of the loop | µs per call (profiled) |",
            "|---|---|---|---|",
            *(
                f"| {r['function']} | {r['calls']} | {r['share']:.1%} | {r['us_per_call']:.1f} |"
                for r in prof["rows"]
            ),
        ]
    return ("## 7. Where the adapter's time goes", lines), keys


def build_sections(
    engine: list[dict], over: list[Run], scaled: list[Run], hyp: dict | None, hyp_ran: bool,
    likes: list[dict], prof: dict | None, days: float, owns: list[dict] | None = None,
) -> tuple[list[Section], dict]:  # fmt: skip
    """The sections (and key lines) of what ran."""
    built = []
    if engine:
        built.append(engine_section(engine))
    if over:
        built.append(overhead_section(over))
    if scaled:
        built.append(scale_section(scaled, days))
    if hyp_ran:
        built.append(hyperopt_section(hyp))
    if likes:
        built.append(like_section(likes))
        built.append(copy_section(likes))
    if likes or prof:
        built.append(profile_section(likes, prof))
    if owns:
        built.append(own_section(owns))
    sections, keys = [], {}
    for item in built:
        if item is not None:
            sections.append(item[0])
            keys.update(item[1])
    return sections, keys


def render(info: dict, command: str, load: str, sections: list[Section], keys: dict) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}` ({load}).",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['implementation']} "
        f"{info['python']}, Freqtrade {info['freqtrade']}, {info['os']}. Shared and noisy: "
        "compare the ratios, measured in one run, rather than lone times.",
    ]
    for heading, body in sections:
        lines += ["", heading, "", *body]
    lines += ["", "## Figures", "", *(f"{k}: {v}" for k, v in keys.items()), ""]
    return "\n".join(lines)


def merge(old: str, command: str, load: str, sections: list[Section], keys: dict) -> str:
    """`old` RESULTS.md with `sections` replaced (or added before the figures) and
    their key lines updated; each replaced section says when and how it was measured."""
    stamp = f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}` ({load})."
    head, *parts = old.split("\n## ")
    blocks = [(p.split("\n", 1)[0], p) for p in parts]  # (title, text without "## ")
    figures = next((text for title, text in blocks if title == "Figures"), "Figures\n")
    blocks = [(t, text) for t, text in blocks if t != "Figures"]
    for heading, body in sections:
        title = heading.removeprefix("## ")
        text = "\n".join([title, "", stamp, "", *body, ""]) + "\n"
        at = next((i for i, (t, _) in enumerate(blocks) if t.split(" ")[0] == title.split(" ")[0]),
                  None)  # fmt: skip
        if at is None:
            blocks.append((title, text))
        else:
            blocks[at] = (title, text)
    values = {}
    for line in figures.splitlines()[1:]:
        if ": " in line:
            k, v = line.split(": ", 1)
            values[k] = v
    values.update({k: str(v) for k, v in keys.items()})
    figures = "\n".join(["Figures", "", *(f"{k}: {v}" for k, v in values.items()), ""])
    return "\n## ".join([head, *(text.rstrip("\n") + "\n" for _, text in blocks), figures])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small data, 1 round")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--like-rounds", type=int, default=5,
                        help="alternating rounds of the like-for-like comparison")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=20, help="hyperopt epochs per strategy")
    parser.add_argument(
        "--sweep-trials", type=int, default=400, help="ladders of the sweep's rate measurement"
    )
    parser.add_argument(
        "--sweep-epochs", type=int, default=10, help="hyperopt epochs the sweep is compared with"
    )
    parser.add_argument(
        "--sweep-days",
        type=float,
        default=30,
        help="the sweep section runs on the data's last DAYS days (every run alike)",
    )
    parser.add_argument(
        "--sweep-rss-workers",
        type=int,
        default=1,
        help="worker processes of the 10,000-ladder sweep (its peak RSS is the main process's)",
    )
    parser.add_argument(
        "--only",
        "--sections",
        dest="sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {', '.join(SECTIONS)}: their sections of --out "
        "and their key lines are replaced in place, the rest is kept",
    )
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    sys.path.insert(0, str(REPO))  # tests.exchange_fixtures

    from benchmarks.engine import measure

    days = 10 if args.quick else DAYS
    rounds = 1 if args.quick else args.rounds
    like_rounds = 1 if args.quick else args.like_rounds
    scales = (1, 3) if args.quick else SCALES
    like_scales = ((3, 10), (10, 5)) if args.quick else LIKE_SCALES
    info = machine()
    load_at_start = os.getloadavg()[0]
    engine, over, scaled, hyp, likes, prof, owns = [], [], [], None, [], None, []
    if "engine" in sections:
        print("1. engine", flush=True)
        engine = [measure("r_ladder"), measure("scaled_pct")]
        print(f"  {engine}", flush=True)
    with tempfile.TemporaryDirectory(prefix="profitguard-bench-") as tmp:
        if "overhead" in sections:
            print("2. backtest overhead", flush=True)
            over = overhead(Path(tmp), rounds, days)
        if "scale" in sections:
            print("3. scale", flush=True)
            scaled = scale(Path(tmp), scales, days)
        if "hyperopt" in sections:
            print("4. hyperopt", flush=True)
            hyp = hyperopt(Path(tmp), 5 if args.quick else args.epochs, days)
        if "like" in sections:
            print("5. like for like", flush=True)
            for n, like_days in like_scales:
                likes.append(
                    like_for_like(Path(tmp), n, like_days, like_rounds, copy_variants=n == 3)
                )
        if "profile" in sections:
            print("6. profile", flush=True)
            prof = profile(Path(tmp), days)
        if "own" in sections:
            print("8. the adapter's own cost", flush=True)
            for n, like_days in like_scales:
                owns.append(
                    like_for_like(
                        Path(tmp), n, like_days, like_rounds, copy_variants=False, own_cost=True
                    )
                )
        swept = None
        if "sweep" in sections:
            from benchmarks.sweep import sweep_bench

            print("9. sweep", flush=True)
            swept = sweep_bench(
                Path(tmp),
                days,
                trials=100 if args.quick else args.sweep_trials,
                epochs=3 if args.quick else args.sweep_epochs,
                rss_trials=200 if args.quick else 10_000,
                rss_workers=args.sweep_rss_workers,
                last_days=None if args.quick else args.sweep_days,
            )
    built, keys = build_sections(
        engine, over, scaled, hyp, "hyperopt" in sections, likes, prof, days, owns
    )
    if "sweep" in sections:
        from benchmarks.sweep import sweep_section

        section, sweep_keys = sweep_section(swept)
        built.append(section)
        keys.update(sweep_keys)
    command = "./run bench" + (" --quick" if args.quick else "")
    if sections != set(SECTIONS):
        command += f" --only {','.join(s for s in SECTIONS if s in sections)}"
    if args.like_rounds != parser.get_default("like_rounds") and not args.quick:
        command += f" --like-rounds {args.like_rounds}"
    # how busy the shared machine was (1-minute load average)
    load = f"load average {load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    if args.quick and args.out == HERE / "RESULTS.md":
        print(render(info, command, load, built, keys))
    elif sections == set(SECTIONS) or not args.out.exists():
        args.out.write_text(render(info, command, load, built, keys))
        print(f"wrote {args.out}")
    else:
        args.out.write_text(merge(args.out.read_text(), command, load, built, keys))
        print(f"updated {args.out}")
    for key, value in keys.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
