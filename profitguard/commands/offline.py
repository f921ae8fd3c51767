"""`profitguard offline -- freqtrade ...`: run one Freqtrade command against a fresh
offline exchange, started on a free loopback port and stopped when the command ends.

The command's own `--config` files say what to serve (the whitelist) and its
`--userdir`/`--datadir` where the candles are; without a `--config` the command gets
`user_data/config.json`. One more config file, given last so it wins, points ccxt at
the exchange's port. The command's exit status is returned; Ctrl-C stops both.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_CONFIG = Path("user_data/config.json")
EXAMPLE = "profitguard offline -- freqtrade backtesting --strategy ProfitGuardSample"
# Options of the Freqtrade command that decide what the exchange serves.
_CONFIG_FLAGS = ("-c", "--config")
_USERDIR_FLAGS = ("--userdir", "--user-data-dir")
_DATADIR_FLAGS = ("--datadir", "--data-dir")
# How long a command told to stop (Ctrl-C) may take before it is killed.
STOP_GRACE_S = 30.0


def register(subparsers) -> None:
    from profitguard.commands.exchange import add_feed_arguments

    parser = subparsers.add_parser(
        "offline",
        help="run a Freqtrade command against a fresh offline exchange (no second terminal)",
        description=__doc__.split("\n\n")[0].replace("`", ""),
        epilog=f"example: {EXAMPLE} --timeframe-detail 1m",
    )
    add_feed_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "argv",
        metavar="COMMAND",
        nargs=argparse.REMAINDER,
        help="after --: the command, e.g. freqtrade trade ...",
    )
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class Command:
    """A Freqtrade command line and what it says about the data to serve."""

    argv: list[str]
    configs: list[str]
    userdir: str | None
    datadir: str | None


def parse_command(argv: list[str]) -> Command:
    """Find the Freqtrade invocation in ``argv`` (``freqtrade SUB ...`` or
    ``python -m freqtrade SUB ...``) and the options that locate its data; without a
    ``--config``, the command gets ``user_data/config.json``."""
    from profitguard.commands.usage import UsageError

    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError(f"give the command to run after --, e.g. `{EXAMPLE}`")
    runs_freqtrade = any(
        Path(word).name == "freqtrade" or (word == "-m" and nxt == "freqtrade")
        for word, nxt in zip(argv, [*argv[1:], ""], strict=True)
    )
    if not runs_freqtrade:
        raise UsageError(
            f"the command must run freqtrade (`freqtrade ...` or `python -m freqtrade ...`), "
            f"was {' '.join(argv)!r}"
        )
    configs: list[str] = []
    found: dict[str, str] = {}
    for i, word in enumerate(argv):
        flag, eq, inline = word.partition("=")
        value = inline if eq else (argv[i + 1] if i + 1 < len(argv) else None)
        if value is None:
            continue
        if flag in _CONFIG_FLAGS:
            configs.append(value)
        for name, flags in (("userdir", _USERDIR_FLAGS), ("datadir", _DATADIR_FLAGS)):
            if flag in flags:
                found[name] = value
    argv = list(argv)
    if not configs:
        if not DEFAULT_CONFIG.is_file():
            raise UsageError(
                f"the command has no --config and there is no {DEFAULT_CONFIG} here "
                "(run from the repository root, or give the command a --config)"
            )
        configs = [str(DEFAULT_CONFIG)]
        argv += ["--config", str(DEFAULT_CONFIG)]
    return Command(argv, configs, found.get("userdir"), found.get("datadir"))


def load_config(configs: list[str]) -> dict:
    """The command's configs merged as Freqtrade merges them (later files win)."""
    from profitguard.commands.usage import UsageError

    for path in configs:
        if path != "-" and not Path(path).is_file():
            raise UsageError(f"--config: no such file: {path}")
    from freqtrade.configuration.load_config import load_from_files
    from freqtrade.exceptions import OperationalException

    try:
        return load_from_files(configs)
    except OperationalException as exc:
        raise UsageError(str(exc).splitlines()[0]) from None


def run(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    return run_offline(parse_command(args.argv), args)


def run_offline(command: Command, feed_args: argparse.Namespace) -> int:
    """Serve what ``command`` needs on a free port, run it, stop the exchange; the
    command's exit status (130 when interrupted)."""
    from profitguard.commands.exchange import build_exchange_api
    from profitguard.commands.usage import UsageError
    from profitguard.tooling.exchange import freqtrade_config as ftc
    from profitguard.tooling.exchange.harness import offline_env
    from profitguard.tooling.exchange.server import ExchangeServer

    config = load_config(command.configs)
    name = str(config.get("exchange", {}).get("name", "binance")).lower()
    if name != "binance":
        raise UsageError(
            f"the offline exchange speaks Binance's API; the config's exchange.name is {name!r}"
        )
    userdir = command.userdir or config.get("user_data_dir") or "user_data"
    datadir = Path(command.datadir) if command.datadir else ftc.config_datadir(config, userdir)
    if not datadir.is_dir() and feed_args.script is None:
        raise UsageError(f"no market data in {datadir}: `profitguard data generate` writes some")
    feed = argparse.Namespace(**{**vars(feed_args), "datadir": None})
    if datadir.is_dir():
        feed.datadir = datadir
    api, _ = build_exchange_api(feed, config)
    if command.argv[1:2] == ["trade"]:
        warning = restart_warning(config, api.feed)
        if warning is not None:
            print(warning, file=sys.stderr, flush=True)
    trading_mode = config.get("trading_mode", "spot")
    futures = trading_mode == "futures" and api.futures is not None
    markets = len(api.futures.markets) if futures else len(api.markets)
    server = ExchangeServer(api, "127.0.0.1", 0).start()
    try:
        with tempfile.TemporaryDirectory(prefix="profitguard-offline-") as tmp:
            overlay = ftc.write_config(
                Path(tmp) / "offline-exchange.json",
                {"exchange": {"ccxt_config": ftc.ccxt_config(server.url, trading_mode)}},
            )
            argv = [*command.argv, "--config", str(overlay)]
            print(
                f"profitguard offline: exchange on {server.url} ({api.feed.mode}, {markets} "
                f"{trading_mode} markets, data {datadir}); running: {' '.join(command.argv)}",
                file=sys.stderr,
                flush=True,
            )
            status = _run_command(argv, offline_env())
            unserved = api.stats()["unserved"]
            if unserved:
                print(
                    f"profitguard offline: endpoints asked for and not served: {unserved}",
                    file=sys.stderr,
                )
            return status
    finally:
        server.stop()


def open_trades(db_url: str) -> list[tuple[int, str, datetime, float]]:
    """(id, pair, open date, open rate) of the open trades in the trades database at
    `db_url`, by id (none when it has no trades table yet): read through `trades_db`,
    the one reader of Freqtrade's trades database."""
    from profitguard.trades_db import TradesDatabase

    database = TradesDatabase(db_url)
    try:
        rows = database.trade_columns(("id", "pair", "open_date", "open_rate", "is_open"))
    finally:
        database.close()
    return sorted(
        (int(row["id"]), str(row["pair"]),
         datetime.fromisoformat(str(row["open_date"])).replace(tzinfo=UTC),
         float(row["open_rate"]))
        for row in rows if row["is_open"]
    )  # fmt: skip


def restart_warning(config: dict, feed) -> str | None:
    """A dry-run started on a trades database whose open trades are older than this
    live replay: the replay starts over from its first candles, so those trades meet
    prices that have nothing to do with the ones they were opened at (None: no such
    trades, or not a live replay)."""
    from profitguard.bot_identity import resolved_db_url
    from profitguard.trades_db import sqlite_file

    if getattr(feed, "mode", None) != "replay":
        return None
    db_url = resolved_db_url(config)
    db = sqlite_file(db_url)
    if db is None or not db.is_file():
        return None
    started = datetime.fromtimestamp(feed.t0_ms / 1000, UTC)
    older = [t for t in open_trades(db_url) if t[2] < started]
    if not older:
        return None
    shown = []
    for trade_id, pair, opened, rate in older[:3]:
        now = feed.last_price(pair, feed.t0_ms)
        moved = f", replay now at {now:.8g} ({now / rate - 1:+.1%})" if now else ""
        shown.append(f"{pair} trade {trade_id} opened {opened:%Y-%m-%d %H:%M} at {rate:.8g}{moved}")
    more = f" and {len(older) - 3} more" if len(older) > 3 else ""
    return (
        f"profitguard offline: warning: {db} holds {len(older)} open trade(s) from before this "
        f"replay, which starts over from its first candles: {'; '.join(shown)}{more}. Their "
        "stops and targets will meet the replay's prices, not the ones they were opened at; "
        "a fresh db_url avoids it"
    )


def _run_command(argv: list[str], env: dict[str, str]) -> int:
    """Run ``argv`` to its end; Ctrl-C (SIGINT) and SIGTERM are passed on to it, and
    it gets ``STOP_GRACE_S`` seconds to stop before it is killed."""
    from profitguard.commands.usage import UsageError

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Handlers of our own before the command starts: a process started in the
    # background by a shell inherits "ignore SIGINT", which the command would inherit
    # too (exec keeps an ignored signal ignored, a handled one goes back to default),
    # and then neither Ctrl-C nor a supervisor's SIGINT would stop anything.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started: list[subprocess.Popen] = []
    signal.signal(signal.SIGTERM, lambda *_: [p.send_signal(signal.SIGTERM) for p in started])
    try:
        # its own process group: a Ctrl-C reaches it once, passed on from here
        proc = subprocess.Popen(argv, env=env, process_group=0)
    except OSError as exc:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise UsageError(f"cannot run {argv[0]!r}: {exc.strerror}") from None
    started.append(proc)
    try:
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(STOP_GRACE_S)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                proc.kill()
                proc.wait()
            return proc.returncode if proc.returncode > 0 else 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc.poll() is None:  # pragma: no cover - an error above
            proc.kill()
            proc.wait()
