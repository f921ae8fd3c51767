"""Plain `freqtrade` on a config made for the offline exchange, with no exchange
running: one profitguard line says what to run, before ccxt's traceback."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from profitguard.freqtrade.offline_hint import hint
from profitguard.tooling.exchange.harness import freqtrade_argv, offline_env

REPO = Path(__file__).resolve().parents[2]
REFUSED = (
    '_load_async_markets() returned exception: "Error in reload_markets due to '
    'ExchangeNotAvailable. Message: binance GET http://127.0.0.1:8765/api/v3/exchangeInfo". '
    "Retrying still for 3 times."
)


def test_hint_when_markets_cannot_load_from_loopback_then_one_line_naming_offline():
    assert hint(REFUSED) == (
        "profitguard: nothing answers at 127.0.0.1:8765, the offline exchange this config "
        "points at: run the command as `profitguard offline -- freqtrade …` (it starts the "
        "exchange for it), or start `profitguard exchange` first"
    )
    assert hint("Cannot connect to host 127.0.0.1:9999 ssl:default") is not None
    assert hint(REFUSED.replace("127.0.0.1", "api.binance.com")) is None  # not ours
    assert hint("binance GET http://127.0.0.1:8765/api/v3/order 503 ExchangeNotAvailable") is None


def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed again)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # the real freqtrade, failing to start
def test_plain_freqtrade_when_no_offline_exchange_then_profitguard_line_before_traceback(tmp_path):
    userdir = tmp_path / "user_data"
    shutil.copytree(REPO / "user_data" / "strategies", userdir / "strategies")
    config = (REPO / "user_data" / "config.json").read_text()
    (userdir / "config.json").write_text(
        config.replace("127.0.0.1:8765", f"127.0.0.1:{free_port()}")
    )

    # Freqtrade skips the config's log_config under pytest (PYTEST_VERSION): as a user runs it
    env = {k: v for k, v in offline_env().items() if k != "PYTEST_VERSION"}
    argv = freqtrade_argv("backtesting", "--config", str(userdir / "config.json"),
                          "--userdir", str(userdir), "--strategy", "ProfitGuardSample")  # fmt: skip
    done = subprocess.run(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=180, env=env)  # fmt: skip

    out = done.stdout
    assert done.returncode != 0
    assert out.count("profitguard: nothing answers at 127.0.0.1:") == 1, out[-3000:]
    assert "run the command as `profitguard offline -- freqtrade …`" in out
    assert out.index("profitguard: nothing answers") < out.index("Traceback")
