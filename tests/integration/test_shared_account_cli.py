"""`profitguard guard … --config C` on a shared account (PostgreSQL): the switches are
the account's, every bot obeys them at its next loop, status lists every bot with
its heartbeat (a stale one shown STALE, its positions still counted)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from profitguard.cli import main
from profitguard.risk.checks import Rule
from tests.integration.test_shared_account import (
    OPENED,
    account_config,
    admit,
    close_accounts,  # noqa: F401 (the autouse fixture)
    joined,
    position,
    proposal,
    publish,
)

pytestmark = pytest.mark.slow  # a PostgreSQL server, as the other database tests


@pytest.fixture
def account(postgresql, tmp_path):
    url = postgresql.new_database()
    section = {"name": "main", "db_url": url, "max_open_positions": 4, "heartbeat_stale": 30}
    config = {"stake_currency": "USDT", "profitguard": {"risk": {"account": section}}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return url, str(path)


def test_guard_kill_when_run_through_one_bots_config_then_every_bot_halts(account, capsys):
    url, config = account
    a, b = (
        joined(account_config(url, max_open_positions=4), "bot-a"),
        joined(account_config(url, max_open_positions=4), "bot-b"),
    )
    publish(a, [(1, position("BTC/USDT"))])
    publish(b, [(2, position("ETH/USDT"))])
    assert main(["guard", "kill", "--config", config, "--reason", "exchange outage"]) == 0
    out = capsys.readouterr().out
    assert "kill: done on account 'main' (every bot in it)" in out
    assert "kill switch ON since" in out and ": exchange outage" in out
    for bot in (a, b):
        publish(bot)  # its next loop
        assert bot.halted()
        assert admit(bot, proposal("SOL/USDT")).refusal.rule is Rule.KILL_SWITCH
    assert main(["guard", "resume", "--config", config]) == 2
    assert "only 'profitguard guard reset --confirm' lifts it" in capsys.readouterr().err
    assert main(["guard", "reset", "--config", config]) == 2
    assert main(["guard", "reset", "--config", config, "--confirm"]) == 0
    publish(a)
    assert not a.halted() and admit(a, proposal("SOL/USDT")).allowed


def test_guard_status_when_a_bot_is_stale_then_listed_stale_and_its_position_counted(
    account, capsys
):
    url, config = account
    a, b = (
        joined(account_config(url, max_open_positions=4), "bot-a"),
        joined(account_config(url, max_open_positions=4), "bot-b"),
    )
    publish(a, [(1, position("BTC/USDT"))])
    publish(b, [(2, position("ETH/USDT")), (3, position("XRP/USDT"))])
    assert admit(a, proposal("SOL/USDT")).allowed  # reserved
    with OPENED[0].store.engine().begin() as conn:  # bot-b stopped beating 2 minutes ago
        conn.execute(
            text(
                "UPDATE profitguard_account_bot SET heartbeat_at = now() - interval '120 s' "
                "WHERE bot = 'bot-b'"
            )
        )
    assert main(["guard", "pause", "--config", config, "--reason", "FOMC"]) == 0
    capsys.readouterr()
    assert main(["guard", "status", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "account 'main': REDUCING" in out
    assert ": FOMC" in out
    assert "bot-a: heartbeat 0 s ago [ok]; holds BTC/USDT; reserved SOL/USDT" in out
    assert "bot-b: heartbeat 120 s ago [STALE]; holds ETH/USDT, XRP/USDT" in out
    assert main(["guard", "status", "--config", config, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [(b["bot"], b["stale"]) for b in status["bots"]] == [("bot-a", False), ("bot-b", True)]
    opened = next(c for c in status["checks"] if c["rule"] == Rule.MAX_POSITIONS.value)
    assert opened["figures"]["open"] == 4  # the stale bot's two still count
    # the stale bot's positions hold their slots against the others' entries
    refused = admit(a, proposal("ADA/USDT"))
    assert refused.refusal.rule is Rule.PAUSED
    assert main(["guard", "resume", "--config", config]) == 0
    publish(a, [(1, position("BTC/USDT"))])  # its next loop: BTC still open
    refused = admit(a, proposal("ADA/USDT"))
    assert refused.refusal.rule is Rule.MAX_POSITIONS
    assert "bot-b: ETH/USDT, XRP/USDT" in refused.refusal.evidence["held by"]


def test_guard_when_the_account_config_is_bad_then_one_line_names_the_field(tmp_path, capsys):
    path = tmp_path / "config.json"
    account = {"name": "main", "db_url": "sqlite:///x.sqlite"}
    path.write_text(json.dumps({"profitguard": {"risk": {"account": account}}}))
    assert main(["guard", "status", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'profitguard.risk.account.db_url' must be a PostgreSQL URL" in err


def test_guard_forget_when_a_bot_is_retired_then_its_positions_no_longer_count(account, capsys):
    url, config = account
    limits = account_config(url, max_open_positions=1)
    a, b = joined(limits, "bot-a"), joined(limits, "bot-b")
    publish(a, [(1, position("BTC/USDT"))])
    publish(b)
    assert main(["guard", "forget", "--config", config, "--bot", "bot-a", "--confirm"]) == 2
    assert "bot 'bot-a' is running (heartbeat 0 s ago): stop it first" in capsys.readouterr().err
    with OPENED[0].store.engine().begin() as conn:  # bot-a retired: silent for 2 minutes
        conn.execute(
            text(
                "UPDATE profitguard_account_bot SET heartbeat_at = now() - interval '120 s' "
                "WHERE bot = 'bot-a'"
            )
        )
    assert admit(b, proposal("ETH/USDT")).refusal.rule is Rule.MAX_POSITIONS  # still counted
    assert main(["guard", "forget", "--config", config, "--bot", "bot-a"]) == 2
    assert "run it again with --confirm" in capsys.readouterr().err
    assert main(["guard", "forget", "--config", config, "--bot", "bot-x", "--confirm"]) == 2
    assert "--bot: no bot 'bot-x' in account 'main'" in capsys.readouterr().err
    assert main(["guard", "forget", "--config", config, "--bot", "bot-a", "--confirm"]) == 0
    assert "1 position(s) and reservation(s) no longer counted" in capsys.readouterr().out
    assert admit(b, proposal("ETH/USDT")).allowed
    assert [s.bot for s in b.store.snapshot().bots] == ["bot-b"]


def test_guard_forget_when_no_account_then_usage_error(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text("{}")
    assert main(["guard", "forget", "--config", str(path), "--bot", "x", "--confirm"]) == 2
    assert "only a shared account has bots to forget" in capsys.readouterr().err


def test_dashboard_when_the_bot_has_a_shared_account_then_status_shows_it(postgresql, tmp_path):
    from tests.dashboard_server import start_dashboard
    from tests.integration.test_dashboard_api import PASSWORD, USER, write_bot

    url = postgresql.new_database()
    a, b = joined(account_config(url), "bot-a"), joined(account_config(url), "bot-b")
    publish(a, [(1, position("BTC/USDT"))])
    publish(b)
    section = {
        "dashboard": {"username": USER, "password": PASSWORD},
        "risk": {"account": {"name": "main", "db_url": url}},
    }
    config = write_bot(tmp_path, None, profitguard=section)
    d = start_dashboard(config, tmp_path / "dashboard.log")
    try:
        status, _, body = d.request("GET", "/api/status", auth=(USER, PASSWORD))
    finally:
        d.stop()
    assert status == 200, body
    shown = json.loads(body)["account"]
    assert (shown["account"], shown["state"]) == ("main", "ACTIVE")
    assert [(x["bot"], x["stale"], x["positions"]) for x in shown["bots"]] == [
        ("bot-a", False, ["BTC/USDT"]),
        ("bot-b", False, []),
    ]
    opened = next(c for c in shown["checks"] if c["rule"] == Rule.MAX_POSITIONS.value)
    assert opened["figures"]["open"] == 1


def test_report_db_when_repeated_then_every_bots_trades_together(postgresql, tmp_path, capsys):
    """`report --db A --db B`: the trades of two bots (here one on PostgreSQL, one on
    SQLite, written by Freqtrade's models) in one report."""
    from tests.integration.test_trades_db_postgresql import freqtrade_writes

    url, sqlite = postgresql.new_database(), tmp_path / "bot-b.sqlite"
    freqtrade_writes(url)
    freqtrade_writes(str(sqlite))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stake_currency": "USDT", "exchange": {"name": "binance"}}))
    reports = []
    for sources in ([url], [str(sqlite)], [url, str(sqlite)]):
        dbs = [arg for source in sources for arg in ("--db", source)]
        assert main(["report", *dbs, "--json", "--config", str(config)]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    alone_a, alone_b, together = reports
    assert together["source"] == f"{alone_a['source']}, {alone_b['source']}"
    assert len(together["trades"]) == len(alone_a["trades"]) + len(alone_b["trades"]) == 2
    assert together["summary"]["trades"] == 2
    # each bot's trades labelled: by its database's name, or as named (BOT=DB)
    assert [t["bot"] for t in alone_a["trades"]] == [None] and alone_a["bots"] == []
    database = url.rsplit("/", 1)[1]
    assert sorted(t["bot"] for t in together["trades"]) == sorted([database, "bot-b"])
    assert [(b["bot"], b["trades"]) for b in together["bots"]] == sorted(
        [(database, 1), ("bot-b", 1)]
    )
    dbs = ["--db", f"bot-a={url}", "--db", str(sqlite)]
    assert main(["report", *dbs, "--config", str(config), "--trades", "all"]) == 0
    out = capsys.readouterr().out
    assert "PER BOT" in out
    rows = [line for line in out.splitlines() if "│" in line and "/" in line]
    assert any(line.split("│")[1].strip() == "bot-a" for line in rows), out
    assert any(line.split("│")[1].strip() == "bot-b" for line in rows), out
    assert main(["report", "--db", "bot-a=", "--config", str(config)]) == 2
    assert "argument --db: 'bot-a=' names bot 'bot-a' but no database" in capsys.readouterr().err
