"""`profitguard dashboard`: one bot's risk page, REST API and Prometheus metrics.

Served by a process of its own, so that it works while the bot is down. It reads the
bot's status file, guard file and trades database, and switches the guard through
the same code as `profitguard guard` (`guard_store.GuardAdmin`). HTTP basic auth with the
config's `profitguard.dashboard` credentials (else Freqtrade's `api_server` ones);
127.0.0.1 by default, another address only with a password of 12 characters or more.
"""

from __future__ import annotations

import argparse
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from profitguard.commands import guard_account
from profitguard.commands.usage import UsageError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="a web page, REST API and /metrics for one bot (kill, pause, reset)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--config", "-c", action="append", type=Path, default=[], required=True,
        help="the bot's Freqtrade config file(s)",
    )  # fmt: skip
    parser.add_argument("--userdir", type=Path, help="the bot's user data directory")
    parser.add_argument("--db-url", help="the bot's trades database (default: from the config)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to serve on (127.0.0.1)")
    parser.add_argument("--port", default=DEFAULT_PORT, type=_port, help="port (8090; 0: any)")
    parser.set_defaults(func=run)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port must be a number, was {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be in 0..65535, was {port}")
    return port


class BotGuard:
    """The bot's guard as `profitguard guard` reads and writes it (`GuardAdmin`)."""

    def __init__(self, userdir: Path, db_url: str, bot: Any) -> None:
        from profitguard.guard_store import GuardAdmin

        self.admin = GuardAdmin(bot.guard_path(userdir), db_url, bot.label)
        self.path = self.admin.path

    def state(self) -> Any:
        """The state in force, or the GuardStateError reading it."""
        from profitguard.risk.state import GuardStateError

        try:
            return self.admin.state()
        except GuardStateError as exc:
            return exc

    def act(self, action: str, reason: str) -> dict[str, Any]:
        from profitguard.dashboard.app import ActionRefused
        from profitguard.risk.state import GuardActionError

        try:
            return self.admin.apply(action, reason, datetime.now(UTC)).to_json()
        except GuardActionError as exc:
            raise ActionRefused(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from profitguard.bot_identity import identity_of, resolved_db_url
    from profitguard.commands.guard import (
        computed_figures,
        load_config,
        stale_after,
        user_data_dir,
    )
    from profitguard.dashboard.api_status import BotFiles, status
    from profitguard.dashboard.auth import AuthSetupError, check_bind, credentials
    from profitguard.engine import ConfigError
    from profitguard.freqtrade.settings import load_settings
    from profitguard.trades_db import TradesDatabase

    config = load_config(args.config)
    try:
        settings = load_settings({}, config)
    except ConfigError as exc:
        raise UsageError(f"profitguard: {exc}") from None
    try:
        creds = credentials(settings.dashboard, config)
        check_bind(args.host, creds)
    except AuthSetupError as exc:
        raise UsageError(str(exc)) from None
    userdir = user_data_dir(args.config, args.userdir, config)
    if not userdir.is_dir():
        raise UsageError(f"no user data directory at {userdir}")
    db_url = args.db_url or resolved_db_url(config)
    bot = identity_of(config, args.db_url)
    guard = BotGuard(userdir, db_url, bot)
    files = BotFiles(
        guard=guard.path,
        status=bot.status_path(userdir),
        db_url=db_url,
        stale_after_s=stale_after(config),
    )
    database = TradesDatabase(db_url)
    bot_config = {**config, "db_url": db_url}  # --db-url for the computed figures too

    shared = settings.risk.account

    def figures() -> dict[str, Any]:
        now = datetime.now(UTC)
        out = status(
            files,
            now,
            guard.state(),
            lambda state: computed_figures(bot_config, state, now)[1],
            database,
        )
        if shared is not None:  # the bot's shared account, read-only here
            out["account"] = guard_account.account_figures(shared, now)
        return out

    return serve(args.host, args.port, creds, figures, guard.act)


def serve(host: str, port: int, creds: Any, figures: Any, act: Any) -> int:
    import uvicorn

    from profitguard.dashboard.app import create_app

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise UsageError(f"--host {host} --port {port}: cannot listen there: {exc}") from None
    sock.listen(128)  # connections wait from now on, while uvicorn starts
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    print(f"profitguard dashboard at http://{shown}:{bound}/ (user {creds.username!r})", flush=True)
    app = create_app(creds=creds, figures=figures, act=act)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, server_header=False)
    )
    server.run(sockets=[sock])
    return 0
