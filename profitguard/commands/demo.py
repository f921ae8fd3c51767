"""`profitguard demo`: an offline Freqtrade backtest of the sample strategy, end to end.

Generates the demo data if missing, starts the offline exchange, runs
``freqtrade backtesting`` with the sample strategy (1m detail), prints Freqtrade's
summary and where the results are, stops the exchange. Exits non-zero if any step fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from profitguard.commands.usage import UsageError

# The strategy the demo backtests (user_data/strategies/ProfitGuardSample.py).
DEMO_STRATEGY = "ProfitGuardSample"
# `--futures`: longs and shorts at 3x on USDⓈ-M futures (ProfitGuardFuturesSample.py)
FUTURES_STRATEGY = "ProfitGuardFuturesSample"
FUTURES_CONFIG = "config.futures.json"
DEMO_TIMEFRAMES = ("5m", "1m")
DEFAULT_USERDIR = Path("user_data")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="offline backtest of the sample strategy on generated data (start here)",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--userdir",
        type=Path,
        default=DEFAULT_USERDIR,
        help="Freqtrade user directory holding config.json (default: %(default)s)",
    )
    parser.add_argument(
        "--strategy",
        default=None,
        help=f"strategy to backtest (default: {DEMO_STRATEGY}; with --futures {FUTURES_STRATEGY})",
    )
    parser.add_argument(
        "--futures",
        action="store_true",
        help=f"Binance USDⓈ-M futures: {FUTURES_STRATEGY} (long and short, 3x, isolated "
        f"margin) with {FUTURES_CONFIG}, on generated futures, mark and funding-rate data",
    )
    parser.add_argument(
        "--no-detail", action="store_true", help="skip --timeframe-detail 1m (faster, coarser)"
    )
    parser.set_defaults(func=run)


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("freqtrade") is None:
        raise UsageError("Freqtrade is not installed here; `./run demo` installs everything")
    if args.strategy is None:
        args.strategy = FUTURES_STRATEGY if args.futures else DEMO_STRATEGY
    config_path = args.userdir / (FUTURES_CONFIG if args.futures else "config.json")
    if not config_path.is_file():
        raise UsageError(
            f"no {config_path}: run the demo from the repository root, or pass --userdir"
        )
    from profitguard.tooling.exchange import freqtrade_config as ftc

    config = ftc.load_json_config(config_path)
    pairs = ftc.whitelist_pairs(config)
    datadir = ftc.config_datadir(config, args.userdir)
    started = time.monotonic()

    missing = _missing_data(datadir, pairs, args.futures)
    if missing:
        _step(f"generating demo data into {datadir} (missing: {', '.join(missing[:3])}...)")
        if not _generate(datadir, pairs, args.futures):
            return 1
    else:
        _step(f"using the data in {datadir}")

    try:
        status = _backtest(args, config_path, config, pairs, datadir)
    except OSError as exc:
        print(f"profitguard demo: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("profitguard demo: interrupted", file=sys.stderr)
        return 130
    _step(f"demo finished in {time.monotonic() - started:.0f}s (exit status {status})")
    return status


def _missing_data(datadir: Path, pairs: list[str], futures: bool = False) -> list[str]:
    from profitguard.tooling.exchange import generate as gen
    from profitguard.tooling.exchange.candle_files import scan

    if not futures:
        have = scan(datadir)
        return [f"{p} {tf}" for p in pairs for tf in DEMO_TIMEFRAMES if (p, tf) not in have]
    wanted = [(tf, "futures") for tf in DEMO_TIMEFRAMES]
    wanted += [(gen.MARK_TIMEFRAME, "mark"), (gen.FUNDING_TIMEFRAME, "funding_rate")]
    found = {ctype: scan(datadir, ctype) for ctype in ("futures", "mark", "funding_rate")}
    return [
        f"{p} {tf} {ctype}" for p in pairs for tf, ctype in wanted if (p, tf) not in found[ctype]
    ]


def _generate(datadir: Path, pairs: list[str], futures: bool = False) -> bool:
    from profitguard.tooling.exchange import generate as gen

    t = time.monotonic()
    if futures:
        wanted, mode = tuple(pairs), "futures"
    else:
        wanted, mode = tuple(dict.fromkeys([*pairs, *gen.DEFAULT_PAIRS])), "spot"
    try:
        files = gen.generate(datadir, pairs=wanted, timeframes=DEMO_TIMEFRAMES, trading_mode=mode)
    except (OSError, ValueError) as exc:
        print(f"profitguard demo: error: generating data failed: {exc}", file=sys.stderr)
        return False
    _step(f"wrote {len(files)} files in {time.monotonic() - t:.1f}s")
    return True


def _backtest(args, config_path: Path, config: dict, pairs: list[str], datadir: Path) -> int:
    """`profitguard offline -- freqtrade backtesting ...`, the path the README shows."""
    from dataclasses import replace

    from profitguard.commands.exchange import default_feed_args
    from profitguard.commands.offline import parse_command, run_offline
    from profitguard.tooling.exchange.harness import freqtrade_argv

    results = args.userdir / "backtest_results"
    before = set(results.glob("*.zip")) if results.is_dir() else set()
    command = [
        "freqtrade",
        "backtesting",
        *_run_args(config_path, args),
        *([] if args.no_detail else ["--timeframe-detail", "1m"]),
    ]
    shown = "profitguard offline -- " + " ".join(command)
    _step(f"running: {shown}")
    t = time.monotonic()
    # this environment's freqtrade, whatever is first on PATH
    parsed = parse_command(command)
    parsed = replace(parsed, argv=freqtrade_argv(*parsed.argv[1:]))
    status = run_offline(parsed, default_feed_args())
    _step(f"freqtrade backtesting exited with {status} after {time.monotonic() - t:.0f}s")
    if status != 0:
        return status
    new = sorted(set(results.glob("*.zip")) - before, key=lambda p: p.stat().st_mtime)
    if not new:
        print("profitguard demo: error: freqtrade wrote no backtest result", file=sys.stderr)
        return 1
    _step(f"results: {new[-1]}")
    _print_r_report(new[-1], config_path, args)
    if config.get("trading_mode") == "futures":
        _print_shorts(new[-1], args.strategy)
    _step(f"by hand: `{shown}` (docs/offline-exchange.md)")
    return 0


def _run_args(config_path: Path, args) -> list[str]:
    """The demo's config, user directory and strategy, as Freqtrade's flags."""
    return ["--config", str(config_path), "--userdir", str(args.userdir),
            "--strategy", args.strategy]  # fmt: skip


def _print_shorts(result: Path, strategy: str) -> None:
    """The shorts' take-profits and stops, read from Freqtrade's own result file."""
    from freqtrade.data.btanalysis import load_backtest_stats

    trades = load_backtest_stats(result)["strategy"][strategy]["trades"]
    shorts = [t for t in trades if t.get("is_short")]
    levels: dict[str, int] = {}
    for trade in shorts:
        for order in trade.get("orders", []):
            if order.get("ft_is_entry"):
                continue
            for tag in (order.get("ft_order_tag") or "").split(","):
                if tag.startswith("tp"):
                    levels[tag] = levels.get(tag, 0) + 1
    # Freqtrade names a stop `trailing_stop_loss` once it has moved from where it started
    moved = sum(1 for t in shorts if t.get("exit_reason") == "trailing_stop_loss")
    taken = ", ".join(f"{tag} {count}" for tag, count in sorted(levels.items())) or "none"
    _step(
        f"shorts: {len(shorts)} trades; take-profits filled: {taken}; "
        f"{moved} left at a stop the ladder had moved down"
    )


def _print_r_report(result: Path, config_path: Path, args) -> None:
    """The backtest in R (`profitguard report`), read from Freqtrade's own result file."""
    from profitguard.cli import main as profitguard_main

    _step(f"the backtest in R: profitguard report --file {result}")
    profitguard_main(
        [
            "report",
            "--file",
            str(result),
            *_run_args(config_path, args),
            "--trades",
            "5",
        ]
    )
