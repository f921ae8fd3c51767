"""The account's PostgreSQL server stopped and started again under a live bot: while
it is down the bot places no entry (fail closed, GUARD_STATE_UNREADABLE naming the
account) and its exits go on; once it is back, entries resume. The server is this
test's own (the session's is shared with other tests)."""

from __future__ import annotations

import pytest

from profitguard.cli import main
from profitguard.tooling.chaos.run_readers import db_trades, fetch_ledger
from tests.integration.test_shared_account_live import run_together, two_bots

pytestmark = pytest.mark.slow


def test_account_database_when_restarted_under_a_live_bot_then_no_entry_while_down(
    offline_exchange, freqtrade_workspace, own_postgresql
):
    url = own_postgresql.new_database()
    exchange, workspaces = two_bots(offline_exchange, freqtrade_workspace, url)
    ws = workspaces["bot-a"]
    del workspaces["bot-b"]
    # the bot's own switches (its guard file), not the account's: those are out of reach
    own = ["--config", str(ws.config), "--userdir", str(ws.userdir), "--this-bot"]
    steps: list[str] = []

    def buys() -> list[dict]:
        return [o for o in fetch_ledger(exchange.url)["orders"] if o["side"] == "buy"]

    def scripted(logs: dict[str, str]) -> bool:
        log, trades = logs["bot-a"], db_trades(ws.db_path)
        if not steps and trades and trades[0]["is_open"] and trades[0]["amount"]:
            own_postgresql.stop()
            steps.append("down")
        elif steps == ["down"] and "entries are refused until the account's database" in log:
            # the bot's own kill switch: its exit goes on with the account out of reach
            assert main(["guard", "kill", *own, "--reason", "exit while the db is down"]) == 0
            steps.append("killed")
        elif steps[-1:] == ["killed"] and trades and not trades[0]["is_open"]:
            assert main(["guard", "reset", *own, "--confirm"]) == 0
            steps.append("reset")
            steps.append(str(log.count("AlwaysIn: bot loop")))
        elif steps[2:3] == ["reset"] and len(steps) == 4:
            refused = log.count("GUARD_STATE_UNREADABLE")
            if refused and log.count("AlwaysIn: bot loop") >= int(steps[3]) + 5:
                steps.append(f"buys while down: {len(buys())}")
                own_postgresql.start()
                steps.append("up")
        elif steps[-1:] == ["up"] and len(db_trades(ws.db_path)) >= 2:
            return True
        return False

    logs = run_together({"bot-a": ws}, scripted, timeout=240)
    log = logs["bot-a"]
    assert steps[-1:] == ["up"], (steps, log[-4000:])
    assert steps[4] == "buys while down: 1"  # the first entry only: none while down
    trades = db_trades(ws.db_path)
    assert trades[0]["exit_reason"] == "kill_switch" and len(trades) >= 2
    line = next(x for x in log.splitlines() if "GUARD_STATE_UNREADABLE" in x)
    assert "shared account 'main'" in line, line
    assert "answers again: entries resume" in log
    sells = [o for o in fetch_ledger(exchange.url)["orders"] if o["side"] == "sell"]
    assert sells and sells[0]["status"] == "FILLED"  # the exit went on while down
    assert len(buys()) == len(trades)
