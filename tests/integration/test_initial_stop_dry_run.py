"""In dry-run, the trades database and `/api/v1/status` (what FreqUI shows) carry
profitguard's initial stop, not the -10% backstop, and a restart keeps it (Freqtrade's
start-up `stoploss_reinitialization` puts the backstop back on trades whose stop
never moved; the strategy writes its own again at the first loop).
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.request
from pathlib import Path

import pytest

from tests.exchange_fixtures import ReplayOptions, dry_run_trades, scripted_source

STRATEGIES = Path(__file__).parent / "strategies"
USER, PASSWORD = "pg", "pg-test"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_status(port: int) -> list[dict] | None:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/status", headers={"Authorization": f"Basic {token}"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy
    try:
        with opener.open(request, timeout=5) as response:
            return json.loads(response.read())
    except OSError:
        return None


def test_dry_run_when_trade_open_then_db_and_api_show_profitguards_initial_stop_across_restart(
    offline_exchange, freqtrade_workspace
):
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={"INI/USDT": scripted_source([100.0] * 121 + [100.0] * 600, "1m", history=120)},
    )
    exchange = offline_exchange(replay=replay)
    port = free_port()
    ws = freqtrade_workspace(
        exchange,
        pairs=["INI/USDT"],
        strategies=[STRATEGIES / "AlwaysIn.py"],
        timeframe="1m",
        max_open_trades=1,
        stake_amount=1000,
        dry_run_wallet=10_000,
        internals={"process_throttle_secs": 1},
        api_server={
            "enabled": True,
            "listen_ip_address": "127.0.0.1",
            "listen_port": port,
            "username": USER,
            "password": PASSWORD,
            "jwt_secret_key": "profitguard-test-secret-0123456789abcdef",
            "CORS_origins": [],
            "verbosity": "error",
        },
    )
    seen: dict = {}

    def status_open() -> bool:
        status = api_status(port)
        if status:
            seen["status"] = status[0]
            backstop = seen["status"]["open_rate"] * 0.9
            # the backstop rounded to the price tick is still the backstop: the initial
            # stop (2%) is 8% of the price away from it, a tick far less than 1%
            return abs(seen["status"]["initial_stop_loss_abs"] - backstop) > 0.01 * backstop
        return False

    first = ws.run_until("trade", "--strategy", "AlwaysIn", until=status_open, timeout=150)
    assert "status" in seen, first.stdout[-4000:]
    trade = seen["status"]
    entry = trade["open_rate"]
    assert trade["initial_stop_loss_abs"] == pytest.approx(entry * 0.98)  # not the backstop (90)
    assert trade["initial_stop_loss_pct"] == pytest.approx(-2.0)
    row = dry_run_trades(ws)[0]
    assert row["initial_stop_loss"] == pytest.approx(entry * 0.98)
    assert row["initial_stop_loss_pct"] == pytest.approx(-0.02)

    seen.clear()

    def restarted() -> bool:
        if status_open() and seen["status"]["trade_id"] == trade["trade_id"]:
            seen["restarted"] = seen["status"]
        return "restarted" in seen

    second = ws.run_until("trade", "--strategy", "AlwaysIn", until=restarted, timeout=150)
    assert "Traceback" not in first.running + second.running
    assert "restarted" in seen, second.stdout[-4000:]
    assert seen["restarted"]["initial_stop_loss_abs"] == pytest.approx(entry * 0.98)
    after = dry_run_trades(ws)[0]
    assert after["initial_stop_loss"] == pytest.approx(entry * 0.98)
    assert after["stop_loss"] >= entry * 0.98 - 0.01  # the stop in force never fell to the backstop
