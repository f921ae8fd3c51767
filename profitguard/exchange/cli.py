"""`profitguard exchange`: serve the Binance spot API locally from a data directory."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from profitguard.exchange.freqtrade_config import DEFAULT_HOST, DEFAULT_PORT

DEFAULT_CONFIG = Path("user_data/config.json")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "exchange",
        help="serve the Binance spot REST API locally (offline backtest, hyperopt, dry-run)",
        description=(
            "Serve the part of the Binance spot REST API that ccxt and Freqtrade use, "
            "from Freqtrade-format OHLCV files. Markets: every pair of the config's "
            "whitelist and every pair found in the data directory."
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
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    parser.set_defaults(func=run)


def _parse_date_ms(text: str) -> int:
    from profitguard.cli import UsageError, parse_utc

    try:
        return int(parse_utc(text).timestamp() * 1000)
    except ValueError:
        raise UsageError(f"--replay-start: not a date: {text!r} (e.g. 2025-11-01)") from None


def run(args: argparse.Namespace) -> int:
    from profitguard.cli import UsageError
    from profitguard.exchange import freqtrade_config as ftc
    from profitguard.exchange.server import (
        ExchangeServer,
        PortInUseError,
        ReplayOptions,
        build_api,
        serve,
    )

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    config_path = args.config
    if config_path is None and DEFAULT_CONFIG.is_file():
        config_path = DEFAULT_CONFIG
    config: dict = {}
    if config_path is not None:
        if not config_path.is_file():
            raise UsageError(f"--config: no such file: {config_path}")
        try:
            config = ftc.load_json_config(config_path)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    datadir = args.datadir or ftc.config_datadir(config)
    if args.datadir is not None and not datadir.is_dir():
        raise UsageError(f"--datadir: no such directory: {datadir}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, was {args.port}")

    replay = None
    if args.mode == "replay":
        try:
            replay = ReplayOptions(
                seconds_per_candle=args.speed,
                history_seconds_per_candle=args.history_speed,
                timeframe=args.replay_timeframe,
                start_ms=_parse_date_ms(args.replay_start) if args.replay_start else None,
                sources=_load_script(args.script, args.replay_timeframe) if args.script else {},
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    elif args.script is not None:
        raise UsageError("--script needs --mode replay")

    api = build_api(datadir=datadir, pairs=ftc.whitelist_pairs(config), replay=replay)
    if not api.markets:
        raise UsageError(
            f"nothing to serve: no pairs in the config's whitelist and no OHLCV files in "
            f"{datadir} (create some with `profitguard data generate`)"
        )
    warning = host_warning(args.host)
    if warning is not None:
        logging.getLogger("profitguard.exchange").warning("profitguard exchange: %s", warning)
    try:
        server = ExchangeServer(api, args.host, args.port)
    except PortInUseError as exc:
        print(f"profitguard exchange: error: {exc.strerror}", file=sys.stderr)
        return 1
    logging.getLogger("profitguard.exchange").info(
        "serving Binance spot API on %s (%s mode, %d markets: %s; data from %s). Ctrl-C stops.",
        server.url,
        api.feed.mode,
        len(api.markets),
        ", ".join(sorted(api.markets)),
        datadir,
    )
    serve(server)
    return 0


def host_warning(host: str) -> str | None:
    """Why serving on `host` is a risk (None for a loopback address)."""
    import ipaddress

    try:
        if host == "localhost" or ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name: not known to be loopback
    return (
        f"--host {host} is not loopback: any machine that reaches it can read the data and "
        "place orders here (this exchange checks no key); use 127.0.0.1 unless you mean it"
    )


def _load_script(path: Path, timeframe: str) -> dict:
    """Scripted replay sources from ``{"PAIR": [price, ...]}`` or
    ``{"PAIR": {"prices": [...], "history": N}}`` (the first N steps are history)."""
    import json

    from profitguard.exchange.feeds import scripted_source

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
