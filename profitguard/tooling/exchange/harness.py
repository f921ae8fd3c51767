"""Run the real ``freqtrade`` against an in-process offline exchange.

Used by ``profitguard demo`` and by the test fixtures (``tests/exchange_fixtures.py``):

    with start_exchange(datadir=ws.datadir, pairs=["BTC/USDT"]) as exchange:
        ws = Workspace.create(tmp_path, exchange_url=exchange.url, pairs=["BTC/USDT"])
        result = ws.run("backtesting", "--strategy", "PlainSample")

A workspace is a throwaway Freqtrade user directory: ``config.json`` pointing at the
exchange, ``data/binance`` for candles, ``strategies/`` for strategy files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from profitguard.tooling.exchange.freqtrade_config import freqtrade_config, write_config
from profitguard.tooling.exchange.generate import write_candles as write_candles  # for the fixtures
from profitguard.tooling.exchange.server import ExchangeServer, ReplayOptions, build_api


class RunningExchange:
    """An offline exchange serving from a daemon thread of this process."""

    def __init__(self, server: ExchangeServer) -> None:
        self.server = server

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api(self):
        return self.server.api

    def hold_replay(self) -> None:
        """Stop the live replay now; it runs again at the next price request (a
        restarted bot's first loop). Call it before stopping a bot the test restarts."""
        api = self.server.api
        if api.pace is None:
            raise ValueError("hold_replay: this exchange is not replaying")
        api.pace.hold(api.clock())

    def stats(self) -> dict:
        """Requests so far: ``{"hits": {"GET /api/v3/klines": n, ...}, "unserved": {...}}``."""
        return self.server.api.stats()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> RunningExchange:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_exchange(
    *,
    datadir: Path | None = None,
    pairs: Iterable[str] = (),
    replay: ReplayOptions | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    **private,
) -> RunningExchange:
    """Start serving ``datadir`` (history, or live replay with ``replay``) on ``port``
    (0: a free one). Markets: ``pairs`` plus every pair with data. ``private``:
    ``credentials``, ``balances``, ``faults`` (see ``build_api``)."""
    api = build_api(datadir=datadir, pairs=list(pairs), replay=replay, **private)
    return RunningExchange(ExchangeServer(api, host, port).start())


def freqtrade_argv(*args: str) -> list[str]:
    """The command line running this environment's Freqtrade."""
    return [sys.executable, "-m", "freqtrade", *args]


@dataclass(frozen=True)
class Workspace:
    """A Freqtrade user directory wired to an offline exchange."""

    userdir: Path
    config: Path
    datadir: Path

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        exchange_url: str,
        pairs: list[str],
        strategies: Iterable[Path] = (),
        datadir: Path | None = None,
        **config_kwargs,
    ) -> Workspace:
        """Make ``root/user_data`` with a config for ``pairs`` (see ``freqtrade_config``
        for ``config_kwargs``) and copies of the ``strategies`` files."""
        userdir = Path(root) / "user_data"
        for sub in ("strategies", "backtest_results", "hyperopt_results", "logs"):
            (userdir / sub).mkdir(parents=True, exist_ok=True)
        datadir = Path(datadir) if datadir is not None else userdir / "data" / "binance"
        datadir.mkdir(parents=True, exist_ok=True)
        for strategy in strategies:
            shutil.copy(strategy, userdir / "strategies" / Path(strategy).name)
        config = freqtrade_config(exchange_url=exchange_url, pairs=pairs, **config_kwargs)
        config.setdefault("db_url", f"sqlite:///{userdir / 'tradesv3.dryrun.sqlite'}")
        return cls(userdir, write_config(userdir / "config.json", config), datadir)

    @property
    def db_path(self) -> Path:
        return self.userdir / "tradesv3.dryrun.sqlite"

    @property
    def db_url(self) -> str:
        """The bot's trades database as its config names it (SQLite or a server's URL)."""
        return json.loads(self.config.read_text())["db_url"]

    def argv(self, command: str, *args: str) -> list[str]:
        return freqtrade_argv(
            command,
            "--config",
            str(self.config),
            "--userdir",
            str(self.userdir),
            "--datadir",
            str(self.datadir),
            *args,
        )

    def run(self, command: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run ``freqtrade <command> ...`` to completion; output captured (stdout+stderr)."""
        return subprocess.run(
            self.argv(command, *args),
            cwd=self.userdir.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            env=offline_env(),
        )

    def run_until(
        self,
        command: str,
        *args: str,
        until: Callable[[], bool],
        timeout: float,
        poll: float = 1.0,
    ) -> BotRun:
        """Start ``freqtrade <command>``, stop it with SIGINT once ``until()`` is true or
        after ``timeout`` seconds, and return its exit status and output."""
        log = self.userdir / "logs" / f"{command}-{time.time_ns()}.log"
        sigint_reaches_bots()
        with log.open("w") as out:
            proc = subprocess.Popen(
                self.argv(command, *args),
                cwd=self.userdir.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                env=offline_env(),
            )
            deadline = time.monotonic() + timeout
            try:
                while time.monotonic() < deadline and proc.poll() is None:
                    if until():
                        break
                    time.sleep(poll)
            finally:
                running = log.stat().st_size
                stop_process(proc)
        output = log.read_bytes()
        return BotRun(
            proc.args,
            proc.returncode,
            output.decode(errors="replace"),
            None,
            running=output[:running].decode(errors="replace"),
        )


class BotRun(subprocess.CompletedProcess):
    """A stopped bot's output; ``running`` is what it wrote before it was told to stop.

    Freqtrade's own Ctrl-C handling can print a traceback when the signal lands inside
    a database call (its cleanup then meets the interrupted transaction); checks for
    errors of the run itself read ``running``."""

    def __init__(self, *args, running: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.running = running


def sigint_reaches_bots() -> None:
    """Make the bots started from here stop on SIGINT, as Freqtrade does on Ctrl-C.

    A process a shell started in the background inherits "ignore SIGINT", and so would
    every bot it starts (exec keeps an ignored signal ignored): `stop_process` would
    then wait out its grace and kill the bot, which runs on meanwhile. A handler of
    our own (the main thread only may set one) gives the bots the default back."""
    if (
        signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        and threading.current_thread() is threading.main_thread()
    ):
        signal.signal(signal.SIGINT, signal.default_int_handler)


def stop_process(proc: subprocess.Popen, grace: float = 30.0) -> int:
    """SIGINT, then SIGKILL after ``grace`` seconds; returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def offline_env() -> dict[str, str]:
    """Environment for Freqtrade: proxies that swallow anything not local, so a stray
    call to the internet fails fast instead of hanging on DNS or a firewall."""
    env = dict(os.environ)
    env.update(
        {
            "HTTP_PROXY": "http://127.0.0.1:9",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return env
