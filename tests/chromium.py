"""Open an HTML file in a real headless Chromium: the rendered DOM and the console errors.

The test setup installs Debian's `chromium` with apt-get when it is missing (as root;
`apt-get update` once). Chromium runs offline: no network, no sync, a throwaway
profile; a virtual-time budget lets the page's scripts finish before the DOM is
dumped. Console messages come from `--enable-logging=stderr`, which does not say
their level: every console message counts (our pages log nothing when they work).
`probe()` checks that a page's `console.error` shows up, so a Chromium whose log
format changed fails the test instead of hiding errors.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=15000",
]
# [27585:27585:1201/120648.916016:INFO:CONSOLE:1] "boom", source: file:///x.html (1)
CONSOLE = re.compile(r":CONSOLE[^\]]*\]\s*\"(?P<message>.*)\",?\s*source:")


def _installed() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium() -> str:
    """The Chromium binary, installed from the system packages when missing (one
    installer at a time: parallel test workers wait on a lock file, then look again)."""
    found = _installed()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("no chromium, and no root apt-get to install it")
    import fcntl

    lock_path = Path(tempfile.gettempdir()) / "profitguard-tests-chromium-install.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _installed() or _install()


def _install() -> str:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=True, env=env, capture_output=True, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "chromium"],
        check=True,
        env=env,
        capture_output=True,
        timeout=900,
    )
    found = shutil.which("chromium")
    assert found, "apt-get installed chromium, but it is not on PATH"
    return found


def open_page(path: Path, *extra: str, timeout: float = 120) -> tuple[str, list[str]]:
    """(the DOM after the page's scripts ran, every console message it logged)."""
    with tempfile.TemporaryDirectory(prefix="pg-chromium-") as profile:
        done = subprocess.run(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                *extra,
                "--dump-dom",
                path.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    return done.stdout, [m.group("message") for m in CONSOLE.finditer(done.stderr)]


def probe(tmp: Path) -> None:
    """Fail unless this Chromium reports a page's console.error and uncaught error."""
    page = tmp / "probe.html"
    page.write_text('<html><body><script>console.error("pg-probe"); nope();</script></body></html>')
    _, messages = open_page(page)
    assert any("pg-probe" in m for m in messages), messages
    assert any("nope" in m for m in messages), messages


def screenshot(path: Path, out: Path, size: str = "1400,1800") -> None:
    with tempfile.TemporaryDirectory(prefix="pg-chromium-") as profile:
        subprocess.run(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                "--hide-scrollbars",
                f"--screenshot={out.resolve()}",
                path.resolve().as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
