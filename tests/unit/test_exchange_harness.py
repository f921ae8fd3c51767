"""The harness's bot runs: what a bot printed while running is kept apart from
what it printed once told to stop."""

from __future__ import annotations

import sys

from profitguard.tooling.exchange import harness

BOT = """
import signal, sys, time
def stop(*_):
    print("Traceback (most recent call last): at shutdown", flush=True)
    sys.exit(0)
signal.signal(signal.SIGINT, stop)
print("running", flush=True)
while True:
    time.sleep(0.05)
"""


def test_run_until_when_bot_prints_at_shutdown_then_running_output_excludes_it(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(harness, "freqtrade_argv", lambda *args: [sys.executable, "-c", BOT])
    ws = harness.Workspace.create(tmp_path, exchange_url="http://127.0.0.1:9", pairs=["A/USDT"])
    log_dir = ws.userdir / "logs"

    def started() -> bool:
        return any("running" in f.read_text() for f in log_dir.glob("trade-*.log"))

    result = ws.run_until("trade", until=started, timeout=30, poll=0.05)

    assert result.returncode == 0
    assert "running" in result.running
    assert "Traceback" not in result.running
    assert result.stdout.endswith("Traceback (most recent call last): at shutdown\n")
