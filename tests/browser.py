"""A real headless Chromium driven by Selenium through Debian's chromium-driver.

Nothing is downloaded: the browser and its driver are Debian's `chromium` and
`chromium-driver` (installed with apt-get when missing, as root), and Selenium is
told where both are, so its driver manager never runs. The browser's console is
read back (`console_errors`), and every request carries the dashboard's basic auth
(a header set through the DevTools protocol: a URL with credentials in it would make
the page's own fetch() calls fail).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.chromium import chromium

DRIVER_NAMES = ("chromedriver", "chromium-driver")


def chromedriver() -> str:
    """Debian's chromium-driver, installed when missing."""
    chromium()  # the browser first (installs it when missing)
    for name in DRIVER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("no chromium-driver, and no root apt-get to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=True, env=env, capture_output=True, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "chromium-driver"],
        check=True, env=env, capture_output=True, timeout=900,
    )  # fmt: skip
    found = shutil.which("chromedriver")
    assert found, "apt-get installed chromium-driver, but chromedriver is not on PATH"
    return found


@contextmanager
def browser(*, auth: tuple[str, str] | None = None, size: str = "1400,1100") -> Iterator:
    """A Selenium driver for a fresh headless Chromium (closed on exit)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    driver_path = chromedriver()
    with tempfile.TemporaryDirectory(prefix="pg-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium()
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-extensions",
            "--disable-default-apps",
            f"--window-size={size}",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        os.environ.setdefault("SE_OFFLINE", "true")  # Selenium's manager: never download
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            if auth is not None:
                token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
                driver.execute_cdp_cmd("Network.enable", {})
                driver.execute_cdp_cmd(
                    "Network.setExtraHTTPHeaders",
                    {"headers": {"Authorization": f"Basic {token}"}},
                )
            yield driver
        finally:
            driver.quit()


def console_errors(driver) -> list[str]:
    """The page's console errors (and failed loads) so far."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
