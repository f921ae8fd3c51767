"""Two dry-run bots in one `user_data`: each has its own guard and status files.

`guard kill` given one bot's config halts that bot only; a third bot whose files
would be the running one's refuses to start, naming the file and the other bot.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profitguard.bot_identity import identity_of
from profitguard.tooling.exchange.freqtrade_config import load_json_config, write_config
from profitguard.tooling.exchange.harness import freqtrade_argv, offline_env, stop_process
from tests.exchange_fixtures import ReplayOptions, scripted_source

STRATEGIES = Path(__file__).parent / "strategies"
PAIRS = ["ONE/USDT", "TWO/USDT"]

pytestmark = pytest.mark.slow  # two real dry-run bots


def start(ws, config: Path) -> subprocess.Popen:
    log = ws.userdir / "logs" / f"{config.stem}-{time.time_ns()}.log"
    argv = freqtrade_argv("trade", "--config", str(config), "--userdir", str(ws.userdir),
                          "--datadir", str(ws.datadir), "--strategy", "AlwaysIn")  # fmt: skip
    with log.open("w") as out:  # the child keeps its own copy of the handle
        proc = subprocess.Popen(argv, cwd=ws.userdir.parent, stdout=out,
                                stderr=subprocess.STDOUT, env=offline_env())  # fmt: skip
    proc.log = log  # type: ignore[attr-defined]
    return proc


def guard(ws, config: Path, *args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "profitguard", "guard", *args, "--config", str(config)]
    return subprocess.run(argv, cwd=ws.userdir.parent, capture_output=True, text=True, timeout=60)


def state(ws, config: Path) -> str | None:
    """The trading state the bot of `config` last wrote in its status file."""
    path = identity_of(load_json_config(config)).status_path(ws.userdir)
    try:
        return json.loads(path.read_text())["state"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


def wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_two_bots_when_one_is_killed_then_the_other_stays_active(
    offline_exchange, freqtrade_workspace
):
    path = [100.0] * 121 + [100.0 + 0.01 * (i % 3) for i in range(600)]
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={pair: scripted_source(path, "1m", history=120) for pair in PAIRS},
    )
    ws = freqtrade_workspace(offline_exchange(replay=replay), pairs=PAIRS,
                             strategies=[STRATEGIES / "AlwaysIn.py"], timeframe="1m",
                             internals={"process_throttle_secs": 1})  # fmt: skip
    first = ws.config  # bot_name "profitguard", tradesv3.dryrun.sqlite
    base = load_json_config(first)
    second = write_config(ws.userdir / "config-second.json", base | {
        "bot_name": "second", "db_url": f"sqlite:///{ws.userdir / 'second.sqlite'}"})  # fmt: skip
    clash = write_config(ws.userdir / "config-clash.json", base | {
        "db_url": f"sqlite:///{ws.userdir / 'clash.sqlite'}"})  # fmt: skip

    bots = [start(ws, first), start(ws, second)]
    third = None
    try:
        up = wait(lambda: state(ws, first) == state(ws, second) == "ACTIVE", 120)
        assert up, bots[1].log.read_text()[-3000:]

        third = start(ws, clash)  # the first bot's bot_name: its files
        assert third.wait(120) != 0
        out = " ".join(third.log.read_text().split())  # as one line (Freqtrade wraps it)
        guard_file = identity_of(base).guard_path(ws.userdir)
        assert f"profitguard: {guard_file} is already in use by the running bot " in out
        assert "bot_name='profitguard'" in out and "give each bot its own 'bot_name'" in out

        killed = guard(ws, second, "kill", "--reason", "drill")
        assert killed.returncode == 0, killed.stderr
        assert wait(lambda: state(ws, second) == "HALTED", 60), bots[1].log.read_text()[-3000:]
        time.sleep(3)  # a few more loops of the first bot
        assert state(ws, first) == "ACTIVE"
        status = guard(ws, first, "status")
        assert "kill switch: off" in status.stdout, status.stdout
        assert "kill switch: ON" in guard(ws, second, "status").stdout
    finally:
        for bot in bots:
            stop_process(bot)
        if third is not None:
            third.wait(30)
