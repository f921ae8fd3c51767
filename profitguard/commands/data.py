"""`profitguard data generate`: seeded synthetic OHLCV in Freqtrade's format."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from profitguard.commands.usage import UsageError, parse_utc

DEFAULT_DATADIR = Path("user_data/data/binance")


def register(subparsers) -> None:
    from profitguard.tooling.exchange import generate as gen  # numpy only; cheap enough

    parser = subparsers.add_parser(
        "data",
        help="market data for the offline exchange",
        description="Market data for the offline exchange.",
    )
    sub = parser.add_subparsers(dest="data_command", required=True)
    g = sub.add_parser(
        "generate",
        help="write seeded synthetic OHLCV (trends, ranges, volatility clusters, gaps)",
        description=gen.__doc__.split("\n\n")[0] + " Same seed, same bytes.",
    )
    g.add_argument(
        "--datadir", type=Path, default=DEFAULT_DATADIR, help=f"default: {DEFAULT_DATADIR}"
    )
    g.add_argument(
        "--pairs",
        nargs="+",
        default=None,
        help=f"default: {' '.join(gen.DEFAULT_PAIRS)}; futures: "
        f"{' '.join(gen.DEFAULT_FUTURES_PAIRS)}",
    )
    g.add_argument(
        "--trading-mode",
        choices=gen.TRADING_MODES,
        default="spot",
        help="futures: USDⓈ-M perpetuals in <datadir>/futures with mark and funding-rate "
        "files, where `freqtrade backtesting` with trading_mode futures reads them "
        "(default: %(default)s)",
    )
    g.add_argument(
        "--timeframes",
        nargs="+",
        default=list(gen.DEFAULT_TIMEFRAMES),
        help="whole-minute timeframes (default: %(default)s)",
    )
    g.add_argument("--days", type=float, default=gen.DEFAULT_DAYS, help="default: %(default)s")
    g.add_argument(
        "--end",
        default=gen.DEFAULT_END.date().isoformat(),
        help="UTC date the data ends at (default: %(default)s)",
    )
    g.add_argument("--seed", type=int, default=gen.DEFAULT_SEED, help="default: %(default)s")
    g.add_argument(
        "--data-format",
        choices=("feather", "parquet", "json", "jsongz"),
        default="feather",
        help="Freqtrade data format (default: %(default)s)",
    )
    g.add_argument(
        "--force",
        action="store_true",
        help="replace data files already there for these pairs and timeframes",
    )
    g.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    from profitguard.tooling.exchange import generate as gen
    from profitguard.tooling.exchange.futures import futures_pair
    from profitguard.tooling.exchange.markets import split_pair

    try:
        end = parse_utc(args.end)
    except ValueError:
        raise UsageError(f"--end: not a date: {args.end!r} (e.g. 2026-01-01)") from None
    futures = args.trading_mode == "futures"
    if args.pairs is None:
        args.pairs = list(gen.DEFAULT_FUTURES_PAIRS if futures else gen.DEFAULT_PAIRS)
    for pair in args.pairs:
        try:
            futures_pair(pair) if futures else split_pair(pair)
        except ValueError as exc:
            raise UsageError(f"--pairs: {exc}") from None
    from profitguard.tooling.exchange.candle_files import scan

    existing = sorted(
        data.path.name
        for (pair, timeframe), data in (scan(args.datadir) if args.datadir.is_dir() else {}).items()
        if pair in args.pairs and timeframe in args.timeframes
    )
    if existing and not args.force:
        raise UsageError(
            f"would overwrite {len(existing)} file(s) in {args.datadir} "
            f"({', '.join(existing[:4])}{', ...' if len(existing) > 4 else ''}): "
            "pass --force to replace them"
        )
    started = time.monotonic()
    try:
        files = gen.generate(
            args.datadir,
            pairs=tuple(args.pairs),
            timeframes=tuple(args.timeframes),
            days=args.days,
            end=end,
            seed=args.seed,
            data_format=args.data_format,
            trading_mode=args.trading_mode,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    kinds = " of futures, mark and funding-rate data" if futures else ""
    print(
        f"wrote {len(files)} files{kinds} ({', '.join(args.pairs)} x "
        f"{', '.join(args.timeframes)}, "
        f"{args.days:g} days to {end.date()}, seed {args.seed}) to {args.datadir} "
        f"in {time.monotonic() - started:.1f}s"
        + (f", replacing {len(existing)} existing file(s)" if existing else "")
    )
    return 0
