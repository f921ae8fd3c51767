"""`profitguard sweep`: many exit ladders on one strategy's entries, ranked in R.

Records the strategy's entries with one Freqtrade backtest (under `compare`'s
identical-entries settings, against the offline exchange), then replays each
ladder of the strategy's `profitguard` hyperopt space over the candles after each
entry with the engine itself, in Freqtrade's backtest order; no further backtest
per ladder. Ranks by ProfitGuardRLoss, next to the strategy's own exits and
`compare`'s baselines on the same entries. `--verify K` re-runs K ladders as real
backtests and compares them trade by trade; `--walk-forward` chooses on each
train window and measures on the test window after it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from profitguard.commands.compare import DEFAULT_STRATEGY, _fixed
from profitguard.commands.report import add_common, config_files
from profitguard.commands.usage import UsageError


def _positive_int(flag: str):
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < 1:
            raise argparse.ArgumentTypeError(f"a whole number > 0, was {text!r}")
        return int(text)

    parse.__name__ = flag
    return parse


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"a whole number >= 0, was {text!r}")
    return int(text)


def _days(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)d?", text.strip())
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"days, such as 20d or 20, was {text!r}")
    return float(m.group(1))


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="rank many exit ladders on the strategy's entries (one backtest, then the engine)",
        description=__doc__.splitlines()[0],
    )
    add_common(p)
    points = p.add_mutually_exclusive_group()
    points.add_argument(
        "--trials",
        type=_positive_int("trials"),
        default=200,
        help="ladders sampled from the space (Latin hypercube; default 200)",
    )
    points.add_argument(
        "--grid",
        type=Path,
        metavar="FILE",
        help="explicit ladders: a JSON list of {parameter: value} objects",
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument(
        "--verify",
        type=_count,
        default=2,
        metavar="K",
        help="re-run K ladders (best, worst, random) as Freqtrade backtests (default 2)",
    )
    p.add_argument("--walk-forward", action="store_true", help="walk-forward over the timerange")
    p.add_argument("--train", type=_days, metavar="DAYS", help="train window (e.g. 20d)")
    p.add_argument("--test", type=_days, metavar="DAYS", help="test window (e.g. 10d)")
    p.add_argument("--anchored", action="store_true", help="train windows all start at the start")
    p.add_argument(
        "--export-params",
        type=Path,
        metavar="FILE",
        help="write the choice as Freqtrade's strategy parameter file",
    )
    p.add_argument(
        "--workers",
        type=_positive_int("workers"),
        default=None,
        help="worker processes (default: all cores)",
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run on a Ray cluster: 'auto' or host:port (pip install 'profitguard[ray]')",
    )
    p.add_argument(
        "--heatmap",
        metavar="X,Y",
        help="with --html: the two parameters of the expectancy heat map",
    )
    p.add_argument("--top", type=_positive_int("top"), default=10, help="rows shown (default 10)")
    p.add_argument(
        "--fixed",
        default="0.02:0.05",
        metavar="STOP:TARGET",
        help="the fixed stop and target baseline, as ratios (default: %(default)s)",
    )
    p.add_argument("--timerange", help="Freqtrade's --timerange")
    p.set_defaults(func=run)


def _check_flags(args) -> None:
    if args.walk_forward and (args.train is None or args.test is None):
        flag = "--train" if args.train is None else "--test"
        raise UsageError(
            f"argument {flag}: needed with --walk-forward (e.g. --train 20d --test 10d)"
        )
    if not args.walk_forward:
        for flag, value in (("--train", args.train), ("--test", args.test)):
            if value is not None:
                raise UsageError(f"argument {flag}: only with --walk-forward")
        if args.anchored:
            raise UsageError("argument --anchored: only with --walk-forward")
    if args.ray is not None and args.workers is not None:
        raise UsageError("argument --workers: not with --ray (the cluster's CPUs do the work)")
    if args.grid is not None and not args.grid.is_file():
        raise UsageError(f"argument --grid: no such file: {str(args.grid)!r}")


def _heatmap(args, space) -> tuple[str, str] | None:
    from profitguard.tooling.research.space import SpaceError

    if args.heatmap is None:
        free = [d.name for d in space.dimensions if d.optimize and d.count > 1]
        return (free[0], free[1]) if len(free) >= 2 else None
    names = [n.strip() for n in args.heatmap.split(",")]
    if len(names) != 2 or names[0] == names[1]:
        raise UsageError(f"argument --heatmap: two different parameters X,Y, was {args.heatmap!r}")
    for n in names:
        try:
            space.dimension(n)
        except SpaceError as exc:
            raise UsageError(f"argument --heatmap: {exc}") from None
    return names[0], names[1]


def run(args: argparse.Namespace) -> int:
    _check_flags(args)
    stop_pct, target_pct = _fixed(args.fixed)
    from profitguard.report import freqtrade_setup as fs

    files = config_files(args)
    strategy_name = args.strategy or DEFAULT_STRATEGY
    config = fs.load_config(files, args.userdir, strategy_name, datadir=args.datadir)
    fs.quiet_freqtrade()
    strategy = fs.load_strategy(config)
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else _say
    from profitguard.tooling.research import session

    try:
        return session.run(
            args,
            config,
            files,
            strategy,
            (stop_pct, target_pct),
            say,
            heatmap=lambda space: _heatmap(args, space),
        )
    except session.SweepUsage as exc:
        raise UsageError(str(exc)) from None


def _say(message: str) -> None:
    print(message, flush=True)
