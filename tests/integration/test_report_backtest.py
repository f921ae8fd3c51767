"""`profitguard report` on a real `freqtrade backtesting` result.

The export's `initial_stop_loss_abs` is profitguard's initial stop (2% below the
entry for this strategy), not the -10% backstop; each trade's R in the report is
(exit value - entry value - fees) / (amount x |entry - initial stop|) recomputed
from the export alone; `--check` finds every trade where the engine puts it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.integration.test_strategy_backtest import R_LADDER_PATHS, backtest

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from profitguard.tooling.exchange.harness import Workspace, start_exchange

    tmp_path = tmp_path_factory.mktemp("report")
    started = []

    def offline_exchange(**kwargs):
        started.append(start_exchange(**kwargs))
        return started[-1]

    def freqtrade_workspace(exchange, *, pairs, **kwargs):
        return Workspace.create(tmp_path / "ft", exchange_url=exchange.url, pairs=pairs, **kwargs)

    try:
        trades, _files, ws = backtest(
            offline_exchange, freqtrade_workspace, tmp_path, R_LADDER_PATHS
        )
        yield trades, ws
    finally:
        for exchange in started:
            exchange.stop()


def profitguard(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "profitguard",
            *args,
            "--config",
            str(ws.config),
            "--userdir",
            str(ws.userdir),
            "--datadir",
            str(ws.datadir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_export_when_backtested_then_initial_stop_is_profitguards_not_the_backstop(run):
    trades, _ = run
    assert len(trades) == len(R_LADDER_PATHS)
    for trade in trades.values():
        assert trade["initial_stop_loss_abs"] == pytest.approx(trade["open_rate"] * 0.98, rel=1e-12)
        assert trade["initial_stop_loss_ratio"] == pytest.approx(-0.02, rel=1e-9)


def test_report_json_when_backtested_then_r_recomputed_from_the_export_alone(run):
    trades, ws = run
    done = profitguard(ws, "report", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert len(report["trades"]) == len(trades)
    for row in report["trades"]:
        trade = next(t for t in trades.values() if t["pair"] == row["pair"])
        entries = [o for o in trade["orders"] if o["ft_is_entry"]]
        exits = [o for o in trade["orders"] if not o["ft_is_entry"]]
        amount = math.fsum(o["amount"] for o in entries)
        entry_value = math.fsum(o["amount"] * o["safe_price"] for o in entries)
        exit_value = math.fsum(o["amount"] * o["safe_price"] for o in exits)
        fees = entry_value * trade["fee_open"] + exit_value * trade["fee_close"]
        risk = amount * abs(trade["open_rate"] - trade["initial_stop_loss_abs"])
        assert row["r"] == pytest.approx((exit_value - entry_value - fees) / risk, rel=1e-9)
        assert row["r"] == pytest.approx(trade["profit_abs"] / risk, rel=1e-6)  # Freqtrade's own
    assert report["summary"]["expectancy_r"] == pytest.approx(
        sum(t["r"] for t in report["trades"]) / len(trades)
    )
    # tp1: LAD, ONE, GAP (its gap fill); tp2: LAD, GAP; tp3: LAD
    assert [lv["filled"] for lv in report["levels"]] == [3, 2, 1]


def test_report_when_backtested_then_tables_and_parity(run):
    trades, ws = run
    done = profitguard(ws, "report", "--check")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for title in ("TRADES IN R", "TAKE-PROFIT LEVELS", "EXITS BY KIND", "PER PAIR", "SUMMARY IN R"):
        assert title in out
    assert "Expectancy (R per trade)" in out
    n = len(trades)
    assert f"parity: {n} of {n} trades match the engine exactly" in out, out[-2000:]


def test_compare_when_default_policies_then_four_on_identical_entries(run):
    trades, ws = run
    done = profitguard(ws, "compare", "--strategy", "ScriptedEntries", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    policies = result["policies"]
    assert [p["name"] for p in policies] == [
        "strategy",
        "scaled_pct",
        "fixed 2%/5%",
        "freqtrade trailing",
    ]
    assert result["entries_identical"]
    assert {p["entries"] for p in policies} == {len(trades)}
    for p in policies:
        assert {"name", "entries", "trades", "win_rate", "expectancy_r", "profit_pct"} <= set(p)
        assert {"max_drawdown", "profit_factor"} <= set(p)
    # the strategy's own run is the report's: the same R, trade for trade
    report = json.loads(profitguard(ws, "report", "--json").stdout)
    assert sorted(policies[0]["r_values"]) == pytest.approx(
        sorted(t["r"] for t in report["trades"])
    )
    # other exits, other outcomes on the same entries
    assert policies[2]["r_values"] != policies[0]["r_values"]
    # every entry sized to lose the same money at the strategy's stop: money = R x unit
    unit = result["risk_per_trade_abs"]
    for p in policies:
        assert p["risk_per_trade_abs"] == pytest.approx(unit, rel=1e-3), p["name"]
        assert p["profit_abs"] == pytest.approx(p["total_r"] * unit, rel=1e-3, abs=unit * 1e-3)
        assert not p["money_disagrees"]
    assert result["verdict"][0].startswith("highest expectancy: ")


def test_compare_when_stake_unlimited_then_runs_with_the_same_figures(run, tmp_path):
    """Freqtrade accepts "unlimited" (with a cap on open trades): compare replaces the
    stake with its own sizing, so the figures are those of a fixed stake's config."""
    trades, ws = run
    config = json.loads(ws.config.read_text())
    config.update(stake_amount="unlimited", max_open_trades=3)
    unlimited = tmp_path / "unlimited.json"
    unlimited.write_text(json.dumps(config))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "profitguard",
            "compare",
            "--strategy",
            "ScriptedEntries",
            "--config",
            str(unlimited),
            "--userdir",
            str(ws.userdir),
            "--datadir",
            str(ws.datadir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "Traceback" not in done.stderr
    assert "EXIT POLICIES ON THE SAME ENTRIES" in done.stdout
    assert "scaled_pct" in done.stdout and "money = R x" in done.stdout
    assert f"Entries: identical across policies ({len(trades)} in the baseline)" in done.stdout
    assert "exits.tp_orders" in done.stdout
