"""Start `profitguard dashboard` as its own process (as a user does) and talk HTTP to it."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only


@dataclass
class Dashboard:
    proc: subprocess.Popen
    url: str
    log: Path
    out: Any = None  # the log file the process writes to (closed by `stop`)

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: tuple[str, str] | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of one real HTTP request."""
        request = urllib.request.Request(self.url + path, data=body, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with OPENER.open(request, timeout=30) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def post(self, path: str, payload, auth, **headers) -> tuple[int, dict]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        status, _, raw = self.request(
            "POST", path, auth=auth, body=body,
            headers={"Content-Type": "application/json", **headers},
        )  # fmt: skip
        return status, json.loads(raw)

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.out is not None:
            self.out.close()


def start_dashboard(config: Path, log: Path, *args: str, timeout: float = 60) -> Dashboard:
    """`profitguard dashboard --config config --port 0`; waits for its address."""
    out = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "profitguard.cli", "dashboard", "--config", str(config),
         "--port", "0", *args],
        stdout=out, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"dashboard at (http://\S+?)/ ", log.read_text())
        if found:
            return Dashboard(proc, found.group(1), log, out)
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    out.close()
    raise AssertionError(f"the dashboard did not start: {log.read_text()}")
