"""Every profitguard benchmark, in one command; writes benchmarks/RESULTS.md.

    ./run bench              (or: .venv/bin/python -m benchmarks)
    ./run bench --quick      (smaller data, fewer rounds: a smoke run, not for RESULTS.md)

1. engine: `step` per price update (median, p99) for r_ladder and scaled_pct;
2. backtest overhead: the sample strategy against (a) the same entries with the
   same callbacks enabled but returning nothing and (b) the same entries exiting
   with Freqtrade's native stoploss, trailing stop and ROI, run alternately;
3. scale: 1, 10 and 50 pairs over 90 days of 5m candles, wall time and peak memory;
4. hyperopt: epochs per minute over the ladder space.

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
STRATEGIES = [SAMPLE, HERE / "strategies" / "BenchFloor.py", HERE / "strategies" / "BenchNative.py"]
DAYS = 90
SCALES = (1, 10, 50)


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

    @property
    def loop_us_per_trade_candle(self) -> float:
        return self.loop_cpu_s / max(self.trade_candles, 1) * 1e6


def pair_names(n: int) -> list[str]:
    return [f"B{i:02d}/USDT" for i in range(n)]


def ensure_data(n_pairs: int, days: float) -> Path:
    """Generated 5m data for `n_pairs` pairs (cached: same seed, same bytes)."""
    from profitguard.exchange import generate as gen

    datadir = DATA / f"{n_pairs}x{days:g}d"
    marker = datadir / ".complete"
    if not marker.exists():
        shutil.rmtree(datadir, ignore_errors=True)
        print(f"  generating {n_pairs} pairs x {days:g} days of 5m candles", flush=True)
        gen.generate(datadir, pairs=pair_names(n_pairs), timeframes=("5m",), days=days, seed=11)
        marker.touch()
    return datadir


def run_probed(ws, out_dir: Path, command: str, *args: str):
    """`freqtrade <command> <args>` in the workspace under the probe:
    (the completed process, its wall seconds, what the probe measured)."""
    from profitguard.exchange.harness import offline_env

    probe_out = out_dir / f"probe-{command}-{time.time_ns()}.json"
    argv = ws.argv(command, *args)
    argv = [sys.executable, str(PROBE), str(probe_out), *argv[3:]]  # in place of -m freqtrade
    start = time.perf_counter()
    result = subprocess.run(
        argv, cwd=ws.userdir.parent, env=offline_env(), capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    probe = json.loads(probe_out.read_text()) if probe_out.exists() else {}
    return result, wall, probe


def backtest(ws, strategy: str, out_dir: Path) -> Run:
    from tests.exchange_fixtures import last_backtest_stats

    result, wall, probe = run_probed(
        ws, out_dir, "backtesting", "--strategy", strategy, "--cache", "none", "--export", "trades"
    )
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
    )


def workspace(root: Path, exchange, pairs: list[str], datadir: Path):
    from profitguard.exchange.harness import Workspace

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
    from profitguard.exchange.harness import start_exchange

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
    from profitguard.exchange.harness import start_exchange

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


def hyperopt(tmp: Path, epochs: int, days: float) -> dict | None:
    """Epochs per minute of `freqtrade hyperopt --spaces profitguard` on the sample."""
    from profitguard.exchange.harness import start_exchange

    datadir = ensure_data(3, days)
    with start_exchange(datadir=datadir) as exchange:
        ws = workspace(tmp / "hyperopt", exchange, pair_names(3), datadir)
        shutil.copytree(REPO / "user_data" / "hyperopts", ws.userdir / "hyperopts",
                        dirs_exist_ok=True)  # fmt: skip
        losses = sorted(p.stem for p in (ws.userdir / "hyperopts").glob("*.py"))
        if not losses:
            return None
        result, wall, probe = run_probed(
            ws, tmp, "hyperopt", "--strategy", "ProfitGuardSample", "--spaces", "profitguard",
            "--hyperopt-loss", losses[0], "-e", str(epochs), "-j", "1", "--random-state", "1",
            "--disable-param-export",
        )  # fmt: skip
        if result.returncode != 0:
            print(f"  hyperopt failed:\n{result.stdout[-2000:]}", flush=True)
            return None
        return {
            "epochs": epochs,
            "wall_s": wall,
            "epochs_per_min": epochs / wall * 60,
            "loop_epochs_per_min": len(probe["loops_s"]) / sum(probe["loops_s"]) * 60,
            "loss": losses[0],
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


def report(
    info: dict, engine: list[dict], over: list[Run], scaled: list[Run], hyp: dict | None,
    command: str, days: float,
) -> tuple[str, dict]:  # fmt: skip
    floor_wall = _median(over, "BenchFloor", "wall_s")
    native_wall = _median(over, "BenchNative", "wall_s")
    sample_wall = _median(over, "ProfitGuardSample", "wall_s")
    floor_unit = _median(over, "BenchFloor", "loop_us_per_trade_candle")
    sample_unit = _median(over, "ProfitGuardSample", "loop_us_per_trade_candle")
    by_scale = {(r.pairs, r.strategy): r for r in scaled}
    biggest = max((r.pairs for r in scaled), default=0)
    keys = {
        "engine_median_us": engine[0]["median_us"],
        "engine_p99_us": engine[0]["p99_us"],
        "backtest_vs_floor": round(sample_wall / floor_wall, 3),
        "backtest_vs_native": round(sample_wall / native_wall, 3),
        "hyperopt_epochs_per_min": round(hyp["epochs_per_min"], 1) if hyp else "n/a",
        f"peak_rss_mb_{biggest}_pairs": round(by_scale[(biggest, "ProfitGuardSample")].peak_rss_mb)
        if scaled
        else "n/a",
    }
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}`.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['implementation']} "
        f"{info['python']}, Freqtrade {info['freqtrade']}, {info['os']}. Shared and noisy: "
        "compare the ratios, measured in one run, rather than lone times.",
        "",
        "## 1. Engine: one price update (`step`)",
        "",
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
        "",
        "## 2. Backtest overhead (3 pairs, 5m, alternating rounds; medians)",
        "",
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
        f"({sample_unit / floor_unit:.2f}x).",
        "",
        f"## 3. Scale: {days:g} days of 5m candles",
        "",
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
            f"| {per:.2f} | "
            f"{r.peak_rss_mb:.0f} |"
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
        "",
        "## 4. Hyperopt",
        "",
    ]
    if hyp:
        lines.append(
            f"{hyp['epochs']} epochs of `--spaces profitguard` (`-j 1`, loss {hyp['loss']}) in "
            f"{hyp['wall_s']:.1f} s: {hyp['epochs_per_min']:.1f} epochs/min wall, "
            f"{hyp['loop_epochs_per_min']:.1f} epochs/min counting the backtest loops only."
        )
    else:
        lines.append("Not measured: no hyperopt loss in user_data/hyperopts, or the run failed.")
    lines += ["", "## Figures", "", *(f"{k}: {v}" for k, v in keys.items()), ""]
    return "\n".join(lines), keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small data, 1 round")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--sections",
        default="engine,overhead,scale,hyperopt",
        help="comma-separated subset to run (RESULTS.md is written only when all run)",
    )
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    sys.path.insert(0, str(REPO))  # tests.exchange_fixtures

    from benchmarks.engine import measure

    days = 10 if args.quick else DAYS
    rounds = 1 if args.quick else args.rounds
    scales = (1, 3) if args.quick else SCALES
    info = machine()
    engine, over, scaled, hyp = [], [], [], None
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
            hyp = hyperopt(Path(tmp), 5 if args.quick else 20, days)
    if sections != {"engine", "overhead", "scale", "hyperopt"}:
        if over:
            for name in ("BenchFloor", "BenchNative", "ProfitGuardSample"):
                print(f"  median wall {name}: {_median(over, name, 'wall_s'):.2f}s")
            floor = _median(over, "BenchFloor", "wall_s")
            print(f"  sample / floor: {_median(over, 'ProfitGuardSample', 'wall_s') / floor:.3f}")
        return 0
    command = "./run bench" + (" --quick" if args.quick else "")
    text, keys = report(info, engine, over, scaled, hyp, command, days)
    if args.quick and args.out == HERE / "RESULTS.md":
        print(text)
    else:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    for key, value in keys.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
