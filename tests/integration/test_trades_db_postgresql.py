"""The trades database on a real PostgreSQL server (`postgresql` fixture): everything
profitguard reads or writes there goes through `profitguard.trades_db`.

The trades are written by Freqtrade's own models (`init_db` on the URL, in a
subprocess as in tests/unit/test_report_db.py), once to PostgreSQL and once to a
SQLite twin: `report --db` must give the same R from both.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from profitguard import guard_store
from profitguard.bot_identity import identity_of
from profitguard.cli import main
from profitguard.guard_store import GuardCopy
from profitguard.report.records import load_db
from profitguard.risk import state as st
from profitguard.tooling.chaos.run_readers import db_orders, db_trades
from tests.unit.test_report_db import WRITE_DB

# a PostgreSQL server and Freqtrade subprocesses: about 45 s together
pytestmark = pytest.mark.slow


def freqtrade_writes(url: str) -> None:
    subprocess.run([sys.executable, "-c", WRITE_DB, url], check=True, timeout=120)


@pytest.fixture
def twins(postgresql, tmp_path):
    """(PostgreSQL URL, SQLite path) holding the same trades, written by Freqtrade."""
    url = postgresql.new_database()
    sqlite = tmp_path / "tradesv3.dryrun.sqlite"
    freqtrade_writes(url)
    freqtrade_writes(str(sqlite))
    return url, sqlite


def test_load_db_when_postgresql_then_same_trades_and_r_as_its_sqlite_twin(twins):
    url, sqlite = twins
    on_postgres, on_sqlite = load_db(url), load_db(sqlite)

    assert len(on_postgres) == 1
    assert on_postgres == on_sqlite
    assert on_postgres[0].r == pytest.approx((3.0 - 0.1 - 0.103) / 2.0)


def test_report_db_when_postgresql_url_then_the_same_r_as_on_sqlite(twins, tmp_path, capsys):
    url, sqlite = twins
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {"stake_currency": "USDT", "exchange": {"name": "binance", "pair_whitelist": []}}
        )
    )
    shown = []
    for source in (url, str(sqlite)):
        assert main(["report", "--db", source, "--json", "--config", str(config)]) == 0
        shown.append(json.loads(capsys.readouterr().out))
    on_postgres, on_sqlite = shown
    assert on_postgres["source"].startswith("postgresql+psycopg://postgres@127.0.0.1:")
    for report in shown:
        report.pop("source")
    assert on_postgres == on_sqlite


def test_chaos_records_when_postgresql_then_freqtrades_rows(twins):
    url, sqlite = twins
    assert [t["pair"] for t in db_trades(url)] == [t["pair"] for t in db_trades(sqlite)]
    assert len(db_orders(url)) == len(db_orders(sqlite)) == 5


def test_kill_switch_when_recorded_on_postgresql_then_survives_a_restart_and_a_lost_file(
    postgresql, tmp_path, monkeypatch, capsys
):
    url = postgresql.new_database()
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    (userdir / "config.json").write_text(json.dumps({"stake_currency": "USDT", "db_url": url}))
    monkeypatch.chdir(tmp_path)
    assert main(["guard", "kill", "--reason", "incident", "--config", "user_data/config.json"]) == 0

    guard_file = identity_of({"db_url": url}).guard_path(userdir)  # this bot's
    guard_file.unlink()  # lost while the bot was down
    restarted = GuardCopy(url)  # a new process: a new engine on the same database
    try:
        assert restarted.load().halted
        with pytest.raises(st.GuardStateError) as raised:
            guard_store.GuardFile(guard_file, restarted).read()  # the bot starting
        assert raised.value.last_good.halted
        assert raised.value.last_good.halted_reason == "incident"
    finally:
        restarted.close()
    capsys.readouterr()
    assert main(["guard", "status", "--config", "user_data/config.json"]) == 0
    assert "kill switch: ON since" in capsys.readouterr().out
