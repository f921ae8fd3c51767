"""The small things a new user meets first: default config, closed pipes, the status
page's age, `compare` without data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from profitguard.cli import CLOSED_PIPE_STATUS, main
from profitguard.risk import state as st
from profitguard.risk.bot_identity import identity_of
from profitguard.risk.report import ago

REPO = Path(__file__).resolve().parents[2]


def test_guard_when_no_config_given_then_user_data_config_json_as_freqtrade(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "user_data").mkdir()
    config = {"stake_currency": "USDT", "bot_name": "mine"}
    (tmp_path / "user_data" / "config.json").write_text(json.dumps(config))
    assert main(["guard", "kill", "--reason", "drill"]) == 0
    path = identity_of(config).guard_path(tmp_path / "user_data")
    assert path.name == "profitguard-mine-guard.json" and st.read_state(path).halted


def test_guard_status_when_its_reader_closes_the_pipe_then_ends_quietly(tmp_path):
    (tmp_path / "user_data").mkdir()
    (tmp_path / "user_data" / "config.json").write_text('{"stake_currency": "USDT"}')
    proc = subprocess.Popen(
        [sys.executable, "-m", "profitguard", "guard", "status"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # `| head -0`: gone before the first line is written
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(60) == CLOSED_PIPE_STATUS
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_ago_when_the_stamp_is_this_second_or_a_little_ahead_then_just_now():
    assert [ago(s) for s in (-0.4, -3.0, 0.0, 0.6, 1.0, 12.4)] == [
        "just now", "just now", "just now", "just now", "1 s ago", "12 s ago"
    ]  # fmt: skip


def test_compare_when_no_candles_then_says_how_to_get_them(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "user_data" / "strategies", tmp_path / "user_data" / "strategies")
    shutil.copy(REPO / "user_data" / "config.json", tmp_path / "user_data" / "config.json")
    assert main(["compare"]) == 2
    err = capsys.readouterr().err
    assert "no 5m candles in " in err and "for BTC/USDT, ETH/USDT, SOL/USDT" in err
    assert "`profitguard data generate` writes the demo's" in err
