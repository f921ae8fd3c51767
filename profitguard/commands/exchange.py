"""`profitguard exchange`: serve the Binance spot API locally from a data directory."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from profitguard.commands.usage import UsageError, parse_utc
from profitguard.tooling.exchange.freqtrade_config import DEFAULT_HOST, DEFAULT_PORT

DEFAULT_CONFIG = Path("user_data/config.json")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "exchange",
        help="serve the Binance spot REST API locally (offline backtest, hyperopt, dry-run)",
        description=(
            "Serve the part of the Binance spot REST API that ccxt and Freqtrade use, "
            "from Freqtrade-format OHLCV files. Markets: every pair of the config's "
            "whitelist and every pair found in the data directory. "
            "`profitguard offline -- freqtrade ...` starts and stops one for a single command."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"Freqtrade config whose whitelist to serve (default: {DEFAULT_CONFIG} if present)",
    )
    parser.add_argument(
        "--datadir",
        type=Path,
        default=None,
        help="directory of OHLCV files (default: where Freqtrade reads the config's data, "
        "user_data/data/binance)",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default: 8765)")
    add_feed_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    parser.set_defaults(func=run)


def add_feed_arguments(parser: argparse.ArgumentParser) -> None:
    """What the exchange serves: stored history, or a live replay (shared with `offline`)."""
    parser.add_argument(
        "--mode",
        choices=("history", "replay"),
        default="history",
        help="history: candles as stored (backtesting, hyperopt); replay: candles "
        "stamped with the wall clock, replayed at --speed (dry-run)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="replay: wall-clock seconds per replayed candle (default: 5)",
    )
    parser.add_argument(
        "--history-speed",
        type=float,
        default=None,
        metavar="SECONDS",
        help="replay: wall-clock seconds per candle before replay starts "
        "(default: the replayed timeframe, i.e. real time)",
    )
    parser.add_argument(
        "--replay-timeframe",
        default="5m",
        help="replay: timeframe of the data files to replay (default: 5m)",
    )
    parser.add_argument(
        "--replay-start",
        default=None,
        metavar="DATE",
        help="replay: first replayed candle, e.g. 2025-11-01 (default: 1500 candles in)",
    )
    parser.add_argument(
        "--script",
        type=Path,
        default=None,
        help='replay: JSON {"PAIR": [price, ...]} scripted paths, one candle per step',
    )
    parser.add_argument(
        "--faults",
        type=Path,
        default=None,
        metavar="FILE",
        help='inject faults from a JSON scenario {"seed": N, "faults": [rules]} '
        "(docs/live-trading.md)",
    )
    parser.add_argument(
        "--fault-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed for --faults (default: the file's seed)",
    )


def _parse_date_ms(text: str) -> int:
    try:
        return int(parse_utc(text).timestamp() * 1000)
    except ValueError:
        raise UsageError(f"--replay-start: not a date: {text!r} (e.g. 2025-11-01)") from None


def read_config(path: Path | None) -> dict:
    """The Freqtrade config at ``path`` ({} for None); a UsageError naming --config."""
    from profitguard.tooling.exchange import freqtrade_config as ftc

    if path is None:
        return {}
    if not path.is_file():
        raise UsageError(f"--config: no such file: {path}")
    try:
        return ftc.load_json_config(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def replay_options(args: argparse.Namespace, datadir: Path, pairs: list[str]):
    """The replay settings of ``args`` (None in history mode), checked against the data:
    each setting that cannot work is a UsageError naming its flag."""
    from profitguard.tooling.exchange.server import ReplayOptions

    if args.mode != "replay":
        if args.script is not None:
            raise UsageError("--script needs --mode replay")
        return None
    for flag, value in (("--speed", args.speed), ("--history-speed", args.history_speed)):
        if value is not None and not value > 0:
            raise UsageError(f"{flag} must be > 0 (wall-clock seconds per candle), was {value:g}")
    try:
        from profitguard.tooling.exchange.ohlcv import timeframe_ms

        timeframe_ms(args.replay_timeframe)
    except ValueError:
        raise UsageError(
            f"--replay-timeframe: not a timeframe: {args.replay_timeframe!r} (e.g. 5m)"
        ) from None
    start_ms = _parse_date_ms(args.replay_start) if args.replay_start else None
    try:
        sources = _load_script(args.script, args.replay_timeframe) if args.script else {}
        options = ReplayOptions(
            seconds_per_candle=args.speed,
            history_seconds_per_candle=args.history_speed,
            timeframe=args.replay_timeframe,
            start_ms=start_ms,
            sources=sources,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _check_replay_data(datadir, pairs, options, args.replay_start)
    return options


def _check_replay_data(datadir: Path, pairs: list[str], options, start_text: str | None) -> None:
    """Every pair to replay has data of the replayed timeframe, reaching the start."""
    from datetime import UTC, datetime

    from profitguard.tooling.exchange.candle_files import CandleStore

    root = datadir if datadir.is_dir() else None
    spot, futures = CandleStore(root), CandleStore(root, "futures")  # futures: BTC/USDT:USDT

    def store_of(pair: str) -> CandleStore:
        return futures if ":" in pair else spot

    wanted = sorted((set(pairs) | set(spot.pairs()) | set(futures.pairs())) - set(options.sources))
    timeframe = options.timeframe
    missing = [p for p in wanted if timeframe not in store_of(p).timeframes(p)]
    if missing:
        have = sorted({tf for s in (spot, futures) for p in s.pairs() for tf in s.timeframes(p)})
        raise UsageError(
            f"--replay-timeframe: no {timeframe} data for {', '.join(missing)} in {datadir} "
            f"(timeframes there: {', '.join(have) or 'none'}; `profitguard data generate "
            f"--timeframes {timeframe}` writes some)"
        )
    if options.start_ms is None:
        return
    for pair in wanted:
        candles = store_of(pair).candles(pair, timeframe)
        if len(candles) and options.start_ms > int(candles.ts[-1]):
            last = datetime.fromtimestamp(int(candles.ts[-1]) / 1000, UTC)
            raise UsageError(
                f"--replay-start: {start_text} is after the data ends ({pair} {timeframe}: "
                f"last candle {last:%Y-%m-%d %H:%M} UTC)"
            )


def build_exchange_api(args: argparse.Namespace, config: dict):
    """The exchange ``args`` and ``config`` describe: its markets, history or replay."""
    from profitguard.tooling.exchange import freqtrade_config as ftc
    from profitguard.tooling.exchange.server import build_api

    datadir = args.datadir or ftc.config_datadir(config)
    if args.datadir is not None and not datadir.is_dir():
        raise UsageError(f"--datadir: no such directory: {datadir}")
    pairs = ftc.whitelist_pairs(config)
    replay = replay_options(args, datadir, pairs)
    faults = None
    if args.faults is not None:
        from profitguard.tooling.exchange.faults import FaultPlan

        try:
            faults = FaultPlan.from_file(args.faults, args.fault_seed)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    elif args.fault_seed is not None:
        raise UsageError("--fault-seed needs --faults")
    from profitguard.tooling.exchange.private import account_from_config

    credentials, balances = account_from_config(config)
    # no data directory yet: scripted replays and placeholder markets still work
    api = build_api(
        datadir=datadir if datadir.is_dir() else None,
        pairs=pairs,
        replay=replay,
        credentials=credentials,
        balances=balances,
        faults=faults,
    )
    if not api.markets and (api.futures is None or not api.futures.markets):
        raise UsageError(
            f"nothing to serve: no pairs in the config's whitelist and no OHLCV files in "
            f"{datadir} (create some with `profitguard data generate`)"
        )
    return api, datadir


def run(args: argparse.Namespace) -> int:
    from profitguard.tooling.exchange.server import ExchangeServer, PortInUseError, serve

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    config_path = args.config
    if config_path is None and DEFAULT_CONFIG.is_file():
        config_path = DEFAULT_CONFIG
    config = read_config(config_path)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, was {args.port}")
    api, datadir = build_exchange_api(args, config)
    futures = sorted(api.futures.markets) if api.futures is not None else []
    warning = host_warning(args.host, signed=api.private is not None)
    if warning is not None:
        logging.getLogger("profitguard.tooling.exchange").warning(
            "profitguard exchange: %s", warning
        )
    try:
        server = ExchangeServer(api, args.host, args.port)
    except PortInUseError as exc:
        print(f"profitguard exchange: error: {exc.strerror}", file=sys.stderr)
        return 1
    logging.getLogger("profitguard.tooling.exchange").info(
        "serving Binance spot API on %s (%s mode, %d markets: %s; data from %s). Ctrl-C stops.",
        server.url,
        api.feed.mode,
        len(api.markets),
        ", ".join(sorted(api.markets)),
        datadir,
    )
    if futures:
        logging.getLogger("profitguard.tooling.exchange").info(
            "and USDⓈ-M futures on %s/fapi: %s", server.url, ", ".join(futures)
        )
    if api.private is not None:
        logging.getLogger("profitguard.tooling.exchange").info(
            "signed endpoints on for the config's API key; account: %s; ledger at %s%s",
            ", ".join(f"{v:g} {k}" for k, v in api.private.ledger.free.items()),
            server.url,
            "/_profitguard/ledger",
        )
    if api.futures_private is not None:
        logging.getLogger("profitguard.tooling.exchange").info(
            "signed /fapi endpoints on too; futures wallet: %s",
            ", ".join(f"{v:g} {k}" for k, v in api.futures_private.ledger.wallet.items()),
        )
    if args.faults is not None:
        logging.getLogger("profitguard.tooling.exchange").info(
            "injecting faults from %s (%d rules, seed %d)",
            args.faults,
            len(api.faults.rules),
            api.faults.seed,
        )
    serve(server)
    return 0


def host_warning(host: str, *, signed: bool) -> str | None:
    """Why serving on `host` is a risk (None for a loopback address). `signed`: the
    config has an API key, so signed requests (orders) are served for it."""
    import ipaddress

    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name: not known to be loopback
    if signed:
        risk = (
            "read the data, and place orders on this account with the config's API key "
            "(keys and signatures are checked, but the traffic is plain HTTP)"
        )
    else:
        risk = "read the data (no orders: the config has no API key, signed requests are refused)"
    return (
        f"--host {host} is not loopback: any machine that reaches it can {risk}; "
        "use 127.0.0.1 unless you mean it"
    )


def _load_script(path: Path, timeframe: str) -> dict:
    """Scripted replay sources from ``{"PAIR": [price, ...]}`` or
    ``{"PAIR": {"prices": [...], "history": N}}`` (the first N steps are history)."""
    import json

    from profitguard.tooling.exchange.feeds import scripted_source

    try:
        script = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"--script: cannot read {path}: {exc}") from None
    if not isinstance(script, dict) or not script:
        raise ValueError('--script: expected {"PAIR": [price, ...], ...}')
    sources = {}
    for pair, entry in script.items():
        spec = entry if isinstance(entry, dict) else {"prices": entry}
        try:
            history = int(spec.get("history", 0))
            sources[pair] = scripted_source(spec.get("prices", []), timeframe, history=history)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"--script: {pair}: {exc}") from None
    return sources


def default_feed_args(*argv: str) -> argparse.Namespace:
    """The feed options as parsed from ``argv`` (none: history, as stored)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_feed_arguments(parser)
    return parser.parse_args(list(argv))
