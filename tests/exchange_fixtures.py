"""Fixtures to run the real ``freqtrade`` against the offline exchange (see conftest.py).

Backtest a handful of crafted candles::

    def test_x(tmp_path, offline_exchange, freqtrade_workspace):
        datadir = tmp_path / "data"
        write_candles(datadir, "BTC/USDT", "5m", rows)          # [[ts_ms, o, h, l, c, v], ...]
        exchange = offline_exchange(datadir=datadir)
        ws = freqtrade_workspace(exchange, pairs=["BTC/USDT"], strategies=[MY_STRATEGY_FILE],
                                 datadir=datadir)
        result = ws.run("backtesting", "--strategy", "MyStrategy", "--timeframe-detail", "1m")
        assert result.returncode == 0, result.stdout
        trades = last_backtest_stats(ws)["strategy"]["MyStrategy"]["trades"]  # list of dicts

Dry-run on a scripted live replay (one 1m candle per second, stamped with the wall clock)::

        replay = ReplayOptions(seconds_per_candle=1, timeframe="1m",
                               sources={"BTC/USDT": scripted_source(prices, "1m", history=120)})
        exchange = offline_exchange(replay=replay)
        ws = freqtrade_workspace(exchange, pairs=["BTC/USDT"], strategies=[...])
        ws.run_until("trade", "--strategy", "X", until=lambda: closed_trades(ws), timeout=120)

Don't wait out the bot's start-up or a restart on a scripted plateau: with
``ReplayOptions(..., held=True)`` the replay stands at its start until the bot's first
price request, and ``exchange.hold_replay()`` (called before the bot is stopped) holds
it until the restarted bot's first one (see test_strategy_dry_run.py).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from profitguard.tooling.exchange.feeds import ReplaySource, scripted_source
from profitguard.tooling.exchange.harness import (
    RunningExchange,
    Workspace,
    start_exchange,
    write_candles,
)
from profitguard.tooling.exchange.ohlcv import Candles
from profitguard.tooling.exchange.replay import scripted_candles
from profitguard.tooling.exchange.server import ReplayOptions

__all__ = [
    "Candles",
    "ReplayOptions",
    "ReplaySource",
    "bot_files",
    "dry_run_trades",
    "freqtrade_workspace",
    "last_backtest_stats",
    "offline_exchange",
    "scripted_candles",
    "scripted_source",
    "write_candles",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_STRATEGIES = REPO_ROOT / "user_data" / "strategies"


@pytest.fixture
def offline_exchange():
    """Factory: ``offline_exchange(datadir=..., pairs=[...], replay=ReplayOptions(...))``
    starts an exchange on a free loopback port and returns a ``RunningExchange``
    (``.url``, ``.stats()``); every exchange started is stopped at teardown."""
    started: list[RunningExchange] = []

    def start(**kwargs) -> RunningExchange:
        exchange = start_exchange(**kwargs)
        started.append(exchange)
        return exchange

    yield start
    for exchange in started:
        exchange.stop()


@pytest.fixture
def freqtrade_workspace(tmp_path):
    """Factory: ``freqtrade_workspace(exchange, pairs=[...], strategies=[paths], datadir=...,
    **config)`` writes a Freqtrade user dir with a dry-run config pointing at
    ``exchange`` under ``tmp_path`` and returns a ``Workspace`` (``.run``,
    ``.run_until``). ``config`` goes to ``freqtrade_config`` (``timeframe``,
    ``stake_amount``, ``market_orders``, any top-level key such as ``minimal_roi``)."""
    count = 0

    def create(exchange: RunningExchange, *, pairs: list[str], **kwargs) -> Workspace:
        nonlocal count
        count += 1
        return Workspace.create(
            tmp_path / f"freqtrade-{count}", exchange_url=exchange.url, pairs=pairs, **kwargs
        )

    return create


def last_backtest_stats(ws: Workspace) -> dict:
    """The JSON stats of the workspace's latest backtest (``strategy`` -> {trades, ...}).

    Read with the json module, not Freqtrade's ``load_backtest_stats``, whose rapidjson
    native number mode can read a float one ulp off: these are the file's numbers."""
    results = ws.userdir / "backtest_results"
    last = json.loads((results / ".last_result.json").read_text())["latest_backtest"]
    with zipfile.ZipFile(results / last) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".json") and "_config" not in n)
        return json.loads(zf.read(name))


def bot_files(ws: Workspace):
    """The identity the workspace's bot keys its guard and status files by
    (`bot_identity`: `.guard_path(ws.userdir)`, `.status_path(ws.userdir)`)."""
    from profitguard.bot_identity import identity_of
    from profitguard.tooling.exchange.freqtrade_config import load_json_config

    return identity_of(load_json_config(ws.config))


def dry_run_trades(ws: Workspace) -> list[dict]:
    """Trades in the workspace's dry-run database (empty if it does not exist yet)."""
    from profitguard.tooling.chaos.run_readers import db_trades

    return db_trades(ws.db_url)  # SQLite or a server: empty while not created yet
