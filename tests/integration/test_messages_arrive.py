"""A profitguard notification reaches Freqtrade's RPC layer: a dry-run bot with its
webhook pointed at a receiver on 127.0.0.1 gets the message `guard pause` causes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.exchange_fixtures import ReplayOptions, scripted_source

STRATEGIES = Path(__file__).parent / "strategies"
PAIRS = ["MSG/USDT"]

pytestmark = pytest.mark.slow  # a real dry-run bot


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint: keeps the JSON body of every POST."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def texts(self) -> list[str]:
        return [b.get("text", "") for b in list(self.bodies)]


def test_notification_when_bot_paused_then_the_webhook_receives_profitguards_message(
    offline_exchange, freqtrade_workspace
):
    receiver = Receiver()
    path = [100.0] * 121 + [100.0 + 0.01 * (i % 3) for i in range(600)]
    sources = {p: scripted_source(path, "1m", history=120) for p in PAIRS}
    replay = ReplayOptions(seconds_per_candle=1.0, timeframe="1m", sources=sources)
    webhook = {
        "enabled": True,
        "url": receiver.url,
        "format": "json",
        "allow_custom_messages": True,
        "strategy_msg": {"text": "{msg}"},
    }
    ws = freqtrade_workspace(offline_exchange(replay=replay), pairs=PAIRS,
                             strategies=[STRATEGIES / "AlwaysIn.py"], timeframe="1m",
                             internals={"process_throttle_secs": 1}, webhook=webhook)  # fmt: skip
    paused: list[subprocess.CompletedProcess] = []

    def arrived() -> bool:
        if not paused and any("AlwaysIn: bot loop 2" in p.read_text() for p in
                              (ws.userdir / "logs").glob("trade-*.log")):  # fmt: skip
            argv = [sys.executable, "-m", "profitguard", "guard", "pause", "--reason", "news",
                    "--config", str(ws.config)]  # fmt: skip
            paused.append(subprocess.run(argv, cwd=ws.userdir.parent, capture_output=True,
                                         text=True, timeout=60))  # fmt: skip
        return any("trading state ACTIVE -> REDUCING" in t for t in receiver.texts())

    try:
        run = ws.run_until("trade", "--strategy", "AlwaysIn", until=arrived, timeout=120, poll=0.5)
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert paused and paused[0].returncode == 0, (paused, run.stdout[-3000:])
    texts = [t for t in receiver.texts() if t.startswith("profitguard:")]
    assert any("PAUSED: on=yes, reason=news" in t for t in texts), (texts, run.stdout[-3000:])
    assert "Freqtrade drops them" not in run.stdout
