"""Two `freqtrade trade` bots, live (dry_run false) against ONE offline exchange
account, each with its own trades database, sharing one risk budget on PostgreSQL.

- account max_open_positions 1, both bots signalling from their first candle: the
  exchange's ledger shows exactly one entry, and the other bot's log the account's
  refusal naming the bot that holds the slot (repeated inside one run:
  test_shared_account_same_candle.py);
- `profitguard guard kill --config <one bot's config>`: both bots exit their
  positions, on the ledger.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from profitguard.cli import main
from profitguard.tooling.chaos.run_readers import db_trades, fetch_ledger
from profitguard.tooling.exchange.harness import offline_env, sigint_reaches_bots, stop_process
from profitguard.tooling.exchange.private import Credentials
from tests.exchange_fixtures import ReplayOptions, scripted_source

ALWAYS_IN = Path(__file__).parent / "strategies" / "AlwaysIn.py"
KEY, SECRET = "shared-account-key", "shared-account-secret"
PAIRS = {"bot-a": "AAA/USDT", "bot-b": "BBB/USDT"}

pytestmark = pytest.mark.slow


def two_bots(offline_exchange, freqtrade_workspace, url, strategies=(ALWAYS_IN,), **account):
    """One exchange account (a flat price: no exit fires), two bots on it, one pair each."""
    flat = [100.0] * 900
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={pair: scripted_source(flat, "1m", history=120) for pair in PAIRS.values()},
    )
    exchange = offline_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 10_000.0}
    )
    section = {"name": "main", "db_url": url, "max_correlated_positions": None, **account}
    workspaces = {
        bot: freqtrade_workspace(
            exchange,
            pairs=[pair],
            strategies=list(strategies),
            timeframe="1m",
            max_open_trades=1,
            dry_run=False,
            key=KEY,
            secret=SECRET,
            stake_amount=500,
            bot_name=bot,
            internals={"process_throttle_secs": 1},
            profitguard={"risk": {"account": section}},
        )
        for bot, pair in PAIRS.items()
    }
    return exchange, workspaces


def start_bot(ws, log: Path, strategy: str = "AlwaysIn") -> subprocess.Popen:
    """`freqtrade trade` of one workspace, its output appended to `log`."""
    sigint_reaches_bots()
    with log.open("a") as out:  # the bot keeps its own copy of the descriptor
        return subprocess.Popen(
            ws.argv("trade", "--strategy", strategy),
            cwd=ws.userdir.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=offline_env(),
        )


def run_together(workspaces, until, timeout: float, strategy: str = "AlwaysIn") -> dict[str, str]:
    """Start every bot at once; stop them all (SIGINT) once `until(logs)` is true."""
    procs, logs = {}, {}
    for bot, ws in workspaces.items():
        logs[bot] = ws.userdir / "logs" / f"trade-{bot}.log"
        procs[bot] = start_bot(ws, logs[bot], strategy)

    def read() -> dict[str, str]:
        return {bot: path.read_text(errors="replace") for bot, path in logs.items()}

    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and all(p.poll() is None for p in procs.values()):
            if until(read()):
                break
            time.sleep(1)
    finally:
        for proc in procs.values():
            stop_process(proc)
    return read()


def before_shutdown(log: str) -> str:
    """The bot's log up to its shutdown: Freqtrade's SIGINT line, or the traceback of the
    KeyboardInterrupt that the SIGINT raised inside a call (logged before that line)."""
    marks = [i for i in (log.find("SIGINT"), log.find("KeyboardInterrupt")) if i >= 0]
    cut = min(marks, default=len(log))
    head = log[:cut]
    if log.startswith("KeyboardInterrupt", cut) and "Traceback" in head:
        head = head[: head.rfind("Traceback")]
    return head


def loops(log: str) -> int:
    return log.count("AlwaysIn: bot loop")


def entries(exchange) -> list[dict]:
    return [o for o in fetch_ledger(exchange.url)["orders"] if o["side"] == "buy"]


def test_two_live_bots_when_the_account_has_one_slot_then_the_ledger_shows_one_entry(
    offline_exchange, freqtrade_workspace, postgresql
):
    url = postgresql.new_database()
    exchange, workspaces = two_bots(
        offline_exchange, freqtrade_workspace, url, max_open_positions=1
    )
    refused_after: dict[str, int] = {}

    def settled(logs: dict[str, str]) -> bool:
        """One bot refused by the account, then 5 more loops of both with no second entry."""
        for bot, log in logs.items():
            if "MAX_OPEN_POSITIONS" in log and "account=main" in log:
                refused_after.setdefault(bot, loops(log))
        return bool(refused_after) and all(
            loops(logs[bot]) >= refused_after.get(bot, 0) + 5 for bot in logs
        )

    logs = run_together(workspaces, settled, timeout=150)
    assert refused_after, {bot: log[-3000:] for bot, log in logs.items()}
    buys = entries(exchange)
    assert len(buys) == 1, buys
    held = next(bot for bot, pair in PAIRS.items() if buys[0]["pair"] == pair)
    (refused,) = refused_after
    assert refused != held
    line = next(x for x in logs[refused].splitlines() if "MAX_OPEN_POSITIONS" in x)
    assert f"held by={held}: {PAIRS[held]}" in line, line
    assert [len(db_trades(ws.db_path)) for ws in workspaces.values()].count(1) == 1
    # the account's tables: the holder's trade published as its position, no reservation
    from profitguard.account.store import AccountStore

    store = AccountStore(url, "main")
    try:
        snapshot = store.snapshot()
    finally:
        store.close()
    assert [(h.bot, h.trade_id, h.position.pair) for h in snapshot.held] == [(held, 1, PAIRS[held])]
    assert {b.bot for b in snapshot.bots} == set(PAIRS)
    for log in logs.values():
        assert "Traceback" not in before_shutdown(log)


def test_guard_kill_through_one_bots_config_when_both_hold_then_both_exit_on_the_ledger(
    offline_exchange, freqtrade_workspace, postgresql
):
    url = postgresql.new_database()
    exchange, workspaces = two_bots(
        offline_exchange, freqtrade_workspace, url, max_open_positions=2
    )
    killed = []

    def flattened(logs: dict[str, str]) -> bool:
        trades = {bot: db_trades(ws.db_path) for bot, ws in workspaces.items()}
        if not killed:
            if all(t and t[0]["is_open"] and t[0]["amount"] for t in trades.values()):
                config = str(workspaces["bot-a"].config)
                assert main(["guard", "kill", "--config", config, "--reason", "flatten"]) == 0
                killed.append(time.monotonic())
            return False
        return all(t and not t[0]["is_open"] for t in trades.values())

    logs = run_together(workspaces, flattened, timeout=180)
    assert killed, {bot: log[-3000:] for bot, log in logs.items()}
    for bot, ws in workspaces.items():
        trades = db_trades(ws.db_path)
        assert len(trades) == 1 and not trades[0]["is_open"], (bot, logs[bot][-3000:])
        assert trades[0]["exit_reason"] == "kill_switch"
    ledger = fetch_ledger(exchange.url)["orders"]
    for pair in PAIRS.values():
        bought = [o for o in ledger if o["pair"] == pair and o["side"] == "buy"]
        sold = [o for o in ledger if o["pair"] == pair and o["side"] == "sell"]
        assert len(bought) == 1 and len(sold) == 1, (pair, bought, sold)
        assert (sold[0]["type"], sold[0]["status"]) == ("MARKET", "FILLED")
    for log in logs.values():
        assert "kill switch on: exiting" in log


HOLDS = Path(__file__).parent / "strategies" / "HoldsAfterReserve.py"


def wait_for(condition, timeout: float, procs=()) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if any(p.poll() is not None for p in procs):
            return False
        time.sleep(0.5)
    return False


def test_bot_killed_between_reservation_and_order_then_its_slot_expires_and_restart_holds_none(
    offline_exchange, freqtrade_workspace, postgresql
):
    """bot-a is SIGKILLed after the account reserved its entry and before the order; bot-b
    is refused while the reservation holds, enters once it expired; bot-a restarted is
    refused (bot-b holds the slot). The ledger: one entry, bot-b's."""
    from profitguard.account.store import AccountStore

    url = postgresql.new_database()
    exchange, workspaces = two_bots(
        offline_exchange,
        freqtrade_workspace,
        url,
        strategies=(ALWAYS_IN, HOLDS),
        max_open_positions=1,
        reservation_ttl=20,
    )
    a, b = workspaces["bot-a"], workspaces["bot-b"]
    log_a, log_b = a.userdir / "logs" / "trade-a.log", b.userdir / "logs" / "trade-b.log"
    store = AccountStore(url, "main")
    procs = []
    try:
        (a.userdir / "hold-entry").write_text("")
        procs.append(start_bot(a, log_a, "HoldsAfterReserve"))
        assert wait_for((a.userdir / "reserved").exists, 120, procs), log_a.read_text()[-3000:]
        procs[0].kill()  # SIGKILL between the reservation and the order
        procs[0].wait()
        held = [(h.bot, h.position.pair, h.reserved) for h in store.snapshot().held]
        assert held == [("bot-a", "AAA/USDT", True)]

        procs.append(start_bot(b, log_b))
        assert wait_for(lambda: db_trades(b.db_path), 150, procs[1:]), log_b.read_text()[-3000:]
        refusals = [x for x in log_b.read_text().splitlines() if "MAX_OPEN_POSITIONS" in x]
        assert refusals and "held by=bot-a: AAA/USDT (reserved)" in refusals[0], refusals

        (a.userdir / "hold-entry").unlink()
        procs.append(start_bot(a, log_a, "HoldsAfterReserve"))

        def refused_for_bot_b() -> bool:
            text = log_a.read_text()
            return "held by=bot-b: BBB/USDT" in text

        assert wait_for(refused_for_bot_b, 150, procs[1:]), log_a.read_text()[-3000:]
    finally:
        for proc in procs:
            stop_process(proc)
        store.close()
    buys = entries(exchange)
    assert [(o["pair"], o["status"]) for o in buys] == [("BBB/USDT", "FILLED")]
    assert db_trades(a.db_path) == []
