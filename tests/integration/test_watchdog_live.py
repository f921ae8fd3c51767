"""The watchdog in live mode (dry_run false) on the offline exchange, with its fault
file: a stop order whose answer was lost leaves the trade without a stop the bot
knows of (UNPROTECTED); a pair whose prices stopped updating (STALE_PRICE). Each is
logged, sent, kept in the status file, and shown by the dashboard and /metrics."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from profitguard.tooling.chaos.run_readers import db_orders, db_trades, fetch_ledger
from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.harness import offline_env, sigint_reaches_bots, stop_process
from profitguard.tooling.exchange.private import Credentials
from tests.dashboard_server import start_dashboard
from tests.exchange_fixtures import ReplayOptions, bot_files, scripted_source

pytestmark = pytest.mark.slow

STRATEGY = Path(__file__).parent / "strategies" / "AlwaysIn.py"
KEY, SECRET = "watchdog-key", "watchdog-secret"
USER, PASSWORD = "admin", "watchdog-dashboard-pw"
# a price moving every candle, never near the take-profits (+4%) or the stop (-2%)
WIGGLE = [round(100.0 + (0.2 if i % 2 else -0.2) + 0.01 * (i % 7), 4) for i in range(900)]


def run_bot(tmp_path, offline_exchange, freqtrade_workspace, faults: dict, **config):
    fault_file = tmp_path / "faults.json"
    fault_file.write_text(json.dumps(faults))
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={"RST/USDT": scripted_source(WIGGLE, "1m", history=120)},
    )
    exchange = offline_exchange(
        replay=replay,
        credentials=Credentials(KEY, SECRET),
        balances={"USDT": 10_000.0},
        faults=FaultPlan.from_file(fault_file),
    )
    ws = freqtrade_workspace(
        exchange,
        pairs=["RST/USDT"],
        strategies=[STRATEGY],
        timeframe="1m",
        max_open_trades=1,
        stake_amount=1000,
        dry_run=False,
        key=KEY,
        secret=SECRET,
        dry_run_wallet=10_000,
        internals={"process_throttle_secs": 1},
        **config,
    )
    sigint_reaches_bots()
    log = ws.userdir / "logs" / "bot.log"
    out = log.open("w")
    bot = subprocess.Popen(
        ws.argv("trade", "--strategy", "AlwaysIn"),
        cwd=ws.userdir.parent, stdout=out, stderr=subprocess.STDOUT, env=offline_env(),
    )  # fmt: skip
    return exchange, ws, log, bot, out


def order_types(on_exchange: bool) -> dict:
    return {
        "entry": "market",
        "exit": "market",
        "emergency_exit": "market",
        "force_entry": "market",
        "force_exit": "market",
        "stoploss": "limit",
        "stoploss_on_exchange": on_exchange,
        "stoploss_on_exchange_interval": 2,
    }


def status(ws) -> dict:
    try:
        return json.loads((bot_files(ws).status_path(ws.userdir)).read_text())
    except (OSError, ValueError):
        return {}


def wait_for_alert(ws, code: str, log: Path, timeout: float = 150) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alerts = [a for a in status(ws).get("watchdog", []) if a["code"] == code]
        if alerts:
            return alerts[0]
        time.sleep(0.5)
    raise AssertionError(f"no {code} alert\n{log.read_text()[-5000:]}")


def dashboard_view(ws, tmp_path) -> tuple[dict, str]:
    """(GET /api/status, GET /metrics) from a dashboard started on the bot."""
    d = start_dashboard(ws.config, tmp_path / "dashboard.log", "--userdir", str(ws.userdir))
    try:
        figures = json.loads(d.request("GET", "/api/status", auth=(USER, PASSWORD))[2])
        metrics = d.request("GET", "/metrics")[2].decode()
    finally:
        d.stop()
    return figures, metrics


DASHBOARD = {"dashboard": {"username": USER, "password": PASSWORD}}


def test_watchdog_live_when_stop_order_answer_lost_then_unprotected_trade_reported(
    tmp_path, offline_exchange, freqtrade_workspace
):
    # the first order (the entry) goes through; the answer to the second (its stop) is
    # lost, and so are the answers to the lookups of it by its client id (profitguard
    # would find it otherwise): the stop rests on the exchange, the bot never learns of it
    faults = {"seed": 1, "faults": [
        {"kind": "drop", "endpoint": "POST /api/v3/order", "after": 1, "count": 1},
        {"kind": "drop", "endpoint": "GET /api/v3/order", "count": 40}]}  # fmt: skip
    exchange, ws, log, bot, out = run_bot(
        tmp_path, offline_exchange, freqtrade_workspace, faults,
        order_types=order_types(True),
        profitguard={"watchdog": {"unprotected_loops": 3, "stale_price_s": 6}, **DASHBOARD},
    )  # fmt: skip
    said = "profitguard watchdog: RST/USDT (trade 1) has had no stop order"

    def said_lines() -> list[str]:
        return [line for line in log.read_text().splitlines() if said in line]

    try:
        alert = wait_for_alert(ws, "UNPROTECTED", log)
        figures, metrics = dashboard_view(ws, tmp_path)
        # Freqtrade sends the strategy's messages from its queue at the end of a loop:
        # wait for that loop (a few seconds) rather than stop the bot before it
        deadline = time.monotonic() + 30
        while len(said_lines()) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # and a few more loops: the alert is not told again
    finally:
        stop_process(bot)
        out.close()
    assert alert["pair"] == "RST/USDT" and alert["trade_id"] == 1
    assert "no stop order on the exchange for 4 loops (limit 3)" in alert["message"]
    lines = said_lines()
    assert len(lines) == 2, lines  # once, logged and sent (dp.send_msg) while it lasts
    assert "profitguard.freqtrade.watchdog - WARNING" in lines[0]
    assert "Sending rpc strategy_msg" in lines[1]
    assert exchange.api.faults.log[0] == {"kind": "drop", "target": "POST /api/v3/order"}
    # the lost stop was placed on the exchange, and the bot has no stoploss order of it
    # (once the lookup answers, it is found late and the forgotten-stop sweep may cancel
    # it before the bot places its own)
    ledger = fetch_ledger(exchange.url)
    resting = [o for o in ledger["orders"] if o["type"] == "STOP_LOSS_LIMIT"]
    assert resting and resting[0]["status"] in ("NEW", "CANCELED")
    known = {str(o["order_id"]) for o in db_orders(ws.db_path) if o["ft_order_side"] == "stoploss"}
    assert str(resting[0]["order_id"]) not in known
    # the dashboard and the metrics show it
    assert [a["code"] for a in figures["watchdog"]] == ["UNPROTECTED"]
    assert any(e["kind"] == "UNPROTECTED" for e in figures["events"])
    assert figures["trades"][0]["stop_resting"] is False
    assert 'profitguard_watchdog_alerts{code="UNPROTECTED"} 1.0' in metrics
    # control: the price moved all along, so no stale-price alert
    assert 'profitguard_watchdog_alerts{code="STALE_PRICE"} 0.0' in metrics
    assert "STALE_PRICE" not in {e["kind"] for e in status(ws).get("events", [])}


def test_watchdog_live_when_ticker_goes_stale_then_stale_price_reported(
    tmp_path, offline_exchange, freqtrade_workspace
):
    frozen = {"kind": "stale_ticker", "endpoint": "GET /api/v3/* RST/USDT", "probability": 1.0}
    faults = {"seed": 1, "faults": [frozen]}
    exchange, ws, log, bot, out = run_bot(
        tmp_path, offline_exchange, freqtrade_workspace, faults,
        order_types=order_types(False),
        profitguard={"watchdog": {"stale_price_s": 6}, **DASHBOARD},
    )  # fmt: skip
    try:
        alert = wait_for_alert(ws, "STALE_PRICE", log)
        trade = status(ws)["trades"][0]
        figures, metrics = dashboard_view(ws, tmp_path)
    finally:
        stop_process(bot)
        out.close()
    assert alert["pair"] == "RST/USDT"
    assert "its price has not changed for" in alert["message"] and "(limit 6 s)" in alert["message"]
    assert exchange.api.faults.injected["stale_ticker"] > 0
    assert trade["price"] is not None and trade["r"] is not None
    said = "profitguard watchdog: RST/USDT (trade 1): its price has not changed"
    assert "Sending rpc strategy_msg: " + said in log.read_text()
    assert [a["code"] for a in figures["watchdog"]] == ["STALE_PRICE"]
    assert 'profitguard_watchdog_alerts{code="STALE_PRICE"} 1.0' in metrics


def test_watchdog_live_when_action_exit_and_stop_keeps_failing_then_closed_at_market(
    tmp_path, offline_exchange, freqtrade_workspace
):
    # after the entry, the next five orders fail with a 503 and are not placed: the
    # stop cannot be placed for more than three loops, then the watchdog's exit goes
    failing = {"kind": "http_error", "endpoint": "POST /api/v3/order", "after": 1, "count": 5}
    exchange, ws, log, bot, out = run_bot(
        tmp_path, offline_exchange, freqtrade_workspace, {"seed": 1, "faults": [failing]},
        order_types=order_types(True),
        profitguard={"watchdog": {"unprotected_loops": 3, "action": "exit"}, **DASHBOARD},
    )  # fmt: skip

    def closed() -> dict | None:
        trades = db_trades(ws.db_path)
        return trades[0] if trades and not trades[0]["is_open"] else None

    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and closed() is None:
            time.sleep(0.5)
    finally:
        stop_process(bot)
        out.close()
    trade = closed()
    assert trade is not None, log.read_text()[-5000:]
    assert trade["exit_reason"] == "watchdog_unprotected"
    assert exchange.api.faults.injected["http_error"] == 5
    ledger = fetch_ledger(exchange.url)
    assert not [o for o in ledger["orders"] if o["status"] in ("NEW", "PARTIALLY_FILLED")]
    sells = [o for o in ledger["orders"] if o["side"] == "sell" and o["status"] == "FILLED"]
    assert [o["type"] for o in sells] == ["MARKET"]
    held = ledger["balances"].get("RST", {"free": 0.0, "locked": 0.0})
    assert (held["free"] + held["locked"]) * sells[0]["fills"][0]["price"] < 1.0  # dust only
    assert "has had no stop order on the exchange for 4 loops (limit 3): closing it" in (
        log.read_text()
    )
