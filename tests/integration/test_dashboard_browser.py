"""The dashboard page in a real headless Chromium, against a live bot (dry_run false)
on the offline exchange with three open trades: the trades with their R and stops,
the kill button (confirmed) flattening the exchange's ledger, no console errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from profitguard import guard_store
from profitguard.tooling.chaos.run_readers import db_trades, fetch_ledger
from profitguard.tooling.exchange.harness import offline_env, sigint_reaches_bots, stop_process
from profitguard.tooling.exchange.private import Credentials
from tests.browser import browser, console_errors
from tests.dashboard_server import start_dashboard
from tests.exchange_fixtures import ReplayOptions, bot_files, scripted_source

pytestmark = pytest.mark.slow

STRATEGY = Path(__file__).parent / "strategies" / "AlwaysIn.py"
KEY, SECRET = "dashboard-key", "dashboard-secret"
USER, PASSWORD = "admin", "dashboard-password-long"
PAIRS = ["AAA/USDT", "BBB/USDT", "CCC/USDT"]
# The docs' screenshot is refreshed from this test: PROFITGUARD_DOCS_SCREENSHOT=docs/dashboard.png
DOCS_SCREENSHOT = os.environ.get("PROFITGUARD_DOCS_SCREENSHOT")


def path(start: float, drift: float, n: int = 900) -> list[float]:
    """A slow saw-tooth (never reaching a take-profit at +4% or the stop at -2%). A
    falling one jumps back up by `drift` every 40 candles: kept under the gate's 0.5%
    entry-slippage limit, or an entry signalled on the jump before the bot's candles
    catch up is refused, again and again on a loaded machine (CI waited 150 s once)."""
    return [round(start * (1 + drift * (i % 40) / 40), 4) for i in range(n)]


@pytest.fixture
def live_bot(tmp_path, offline_exchange, freqtrade_workspace):
    """A live bot with three open trades on the offline exchange (stopped at teardown)."""
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={
            "AAA/USDT": scripted_source(path(100.0, 0.012), "1m", history=120),
            "BBB/USDT": scripted_source(path(50.0, -0.004), "1m", history=120),
            "CCC/USDT": scripted_source(path(20.0, 0.02), "1m", history=120),
        },
    )
    exchange = offline_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 10_000.0}
    )
    ws = freqtrade_workspace(
        exchange,
        pairs=PAIRS,
        strategies=[STRATEGY],
        timeframe="1m",
        max_open_trades=3,
        stake_amount=1000,
        dry_run=False,
        key=KEY,
        secret=SECRET,
        dry_run_wallet=10_000,
        internals={"process_throttle_secs": 1},
        order_types={
            "entry": "market",
            "exit": "market",
            "emergency_exit": "market",
            "force_entry": "market",
            "force_exit": "market",
            "stoploss": "limit",
            "stoploss_on_exchange": True,
            "stoploss_on_exchange_interval": 2,
        },
        profitguard={"dashboard": {"username": USER, "password": PASSWORD}},
    )
    sigint_reaches_bots()
    log = ws.userdir / "logs" / "bot.log"
    with log.open("w") as out:
        bot = subprocess.Popen(
            ws.argv("trade", "--strategy", "AlwaysIn"),
            cwd=ws.userdir.parent, stdout=out, stderr=subprocess.STDOUT, env=offline_env(),
        )  # fmt: skip
        try:
            yield exchange, ws, log
        finally:
            stop_process(bot)


def published_trades(ws) -> list[dict]:
    try:
        return json.loads((bot_files(ws).status_path(ws.userdir)).read_text()).get("trades", [])
    except (OSError, ValueError):
        return []


def wait_for(condition, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    tail = log.read_text()[-4000:] if log is not None else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def holdings(exchange) -> dict[str, float]:
    """Base assets the exchange's account holds (free + locked), by asset."""
    balances = fetch_ledger(exchange.url)["balances"]
    return {
        asset: b["free"] + b["locked"]
        for asset, b in balances.items()
        if asset != "USDT" and b["free"] + b["locked"] > 0
    }


def ledger_flat(exchange) -> bool:
    """No open order, and each base asset held is dust worth less than 1 USDT."""
    ledger = fetch_ledger(exchange.url)
    if any(o["status"] in ("NEW", "PARTIALLY_FILLED") for o in ledger["orders"]):
        return False
    last = {f["pair"].split("/")[0]: f["price"] for f in ledger["fills"]}
    return all(qty * last.get(asset, 0.0) < 1.0 for asset, qty in holdings(exchange).items())


def test_dashboard_page_when_bot_has_three_trades_then_shows_them_and_kill_flattens(
    tmp_path, live_bot
):
    exchange, ws, log = live_bot

    def three_known() -> bool:
        trades = published_trades(ws)
        return len(trades) == 3 and all(t["r"] is not None and t["stop_resting"] for t in trades)

    wait_for(three_known, 150, "three open trades published with their R", log)
    dashboard = start_dashboard(ws.config, tmp_path / "dashboard.log", "--userdir", str(ws.userdir))
    try:
        with browser(auth=(USER, PASSWORD)) as driver:
            driver.get(dashboard.url + "/")

            def rows() -> list[dict] | None:
                """The trade rows read in one script call: the page redraws the table
                on every poll, so elements found one by one can go stale in between."""
                found = driver.execute_script(
                    """return Array.from(document.querySelectorAll('#trades tbody tr'))
                        .map(r => ({pair: r.getAttribute('data-pair'),
                                    r_now: r.querySelector('.r-now').innerText,
                                    stop: r.querySelector('.stop').innerText,
                                    stop_r: r.querySelector('.stop-r').innerText,
                                    resting: r.querySelector('td:last-child').innerText}));"""
                )
                return found if len(found) == 3 else None

            shown_rows = wait_for(rows, 30, "three trade rows on the page")
            published = {t["pair"]: t for t in published_trades(ws)}
            for row in shown_rows:
                pair = row["pair"]
                trade = published[pair]
                r_now = float(row["r_now"].strip().rstrip("R"))
                assert r_now == pytest.approx(trade["r"], abs=0.5), (pair, r_now, trade)
                stop = float(row["stop"].strip())
                assert stop == pytest.approx(trade["stop"], rel=0.01), (pair, stop, trade)
                assert row["stop_r"].strip().endswith("R")
                assert row["resting"].strip() == "yes"  # its stop rests on the exchange
                assert trade["stop"] < trade["entry"]  # the initial stop: 2% below
            assert sorted(r["pair"] for r in shown_rows) == PAIRS
            checks = json.loads((bot_files(ws).status_path(ws.userdir)).read_text())["checks"]
            daily = next(c for c in checks if c["rule"] == "DAILY_LOSS_LIMIT")["figures"]
            shown = f"daily: {100 * daily['loss']:.1f}% of {100 * daily['limit']:.1f}%"
            assert shown in driver.find_element("id", "periods").text
            streak = next(c for c in checks if c["rule"] == "CONSECUTIVE_LOSSES")["figures"]
            shown = f"{streak['losses']} losses in a row (limit {streak['limit']})"
            assert driver.find_element("id", "streak").text == shown
            assert driver.find_element("id", "state").text == "ACTIVE"
            assert "STALE" not in driver.find_element("id", "loop").text
            shot = tmp_path / "dashboard.png"
            driver.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000
            if DOCS_SCREENSHOT:
                shutil.copy(shot, DOCS_SCREENSHOT)

            assert not ledger_flat(exchange)  # three positions held, their stops resting
            driver.find_element("id", "kill-button").click()
            text = driver.find_element("id", "kill-text").text
            assert "exits all 3 open trades" in text and "at market" in text, text
            clicked = time.monotonic()
            driver.find_element("id", "kill-confirm").click()
            wait_for(lambda: ledger_flat(exchange), 30, "the ledger flat after the kill", log)
            flat_after = time.monotonic() - clicked
            wait_for(
                lambda: driver.find_element("id", "state").text == "HALTED", 10, "HALTED shown"
            )
            driver.save_screenshot(str(tmp_path / "dashboard-killed.png"))
            trades = wait_for(
                lambda: (t := db_trades(ws.db_path)) and all(not x["is_open"] for x in t) and t,
                30, "the bot's trades closed", log,
            )  # fmt: skip
            assert {t["exit_reason"] for t in trades} == {"kill_switch"}

            def closed_in_r() -> list | None:
                answer = dashboard.request("GET", "/api/status", auth=(USER, PASSWORD))[2]
                closed = json.loads(answer)["closed"]
                return closed if len(closed) == 3 else None

            closed = wait_for(closed_in_r, 10, "three closed trades in R")
            assert all(c["r"] is not None and abs(c["r"]) < 1 for c in closed), closed
            assert closed[-1]["cumulative_r"] == pytest.approx(sum(c["r"] for c in closed))

            # reset needs RESET typed: the button stays disabled until then
            driver.find_element("id", "reset-button").click()
            confirm = driver.find_element("id", "reset-confirm")
            typed = driver.find_element("id", "reset-input")
            typed.send_keys("RESE")
            assert not confirm.is_enabled()
            assert guard_store.read_state(bot_files(ws).guard_path(ws.userdir)).halted
            typed.send_keys("T")
            assert confirm.is_enabled()
            confirm.click()
            wait_for(
                lambda: not guard_store.read_state(bot_files(ws).guard_path(ws.userdir)).halted,
                10,
                "the reset",
            )
            wait_for(lambda: driver.find_element("id", "state").text == "ACTIVE", 10, "ACTIVE")
            assert console_errors(driver) == []
    finally:
        dashboard.stop()
    print(f"ledger flat {flat_after:.1f} s after the kill was confirmed")
    assert PASSWORD not in dashboard.output()
