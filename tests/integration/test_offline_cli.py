"""`profitguard offline -- freqtrade ...`: one command, the exchange started and stopped
around it."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from profitguard.commands.offline import parse_command
from profitguard.commands.usage import UsageError
from profitguard.tooling.exchange import generate as gen

REPO = Path(__file__).resolve().parents[2]
ENTRY = "import sys; from profitguard.cli import main; sys.exit(main())"


def profitguard(*args: str, cwd: Path, timeout: float = 600, env=None):
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture
def project(tmp_path):
    """A copy of the repository's user_data (config, strategies, hyperopts) with a few
    days of generated data."""
    userdir = tmp_path / "user_data"
    for sub in ("strategies", "hyperopts"):
        shutil.copytree(REPO / "user_data" / sub, userdir / sub)
    shutil.copy(REPO / "user_data" / "config.json", userdir / "config.json")
    gen.generate(
        userdir / "data" / "binance",
        pairs=("BTC/USDT", "ETH/USDT", "SOL/USDT"),
        timeframes=("5m",),
        days=4,
    )
    return tmp_path


FAKE_FREQTRADE = """\
#!{python}
import json, sys, urllib.request
configs = [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--config"]
url = json.load(open(configs[-1]))["exchange"]["ccxt_config"]["urls"]["api"]["public"]
with urllib.request.urlopen(url + "/exchangeInfo") as resp:
    symbols = sorted(s["symbol"] for s in json.load(resp)["symbols"])
print("configs", configs[:-1], "url", url, "symbols", symbols, flush=True)
open("url.txt", "w").write(url)
sys.exit(3)
"""


def test_offline_when_command_ends_then_its_status_passed_through_and_exchange_stopped(project):
    fake = project / "freqtrade"
    fake.write_text(FAKE_FREQTRADE.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)

    result = profitguard("offline", "--", str(fake), "backtesting", cwd=project)

    assert result.returncode == 3, result.stdout
    # no --config in the command: it got user_data/config.json, then the port's overlay
    assert "configs ['user_data/config.json']" in result.stdout
    assert "'BTCUSDT', 'ETHUSDT', 'SOLUSDT'" in result.stdout
    url = (project / "url.txt").read_text()
    assert ":8765" not in url  # a free port, whatever the config says
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/ping", timeout=5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give the command to run after --"),
        (["--", "ls", "-l"], "the command must run freqtrade"),
    ],
)
def test_parse_command_when_no_freqtrade_then_usage_error(argv, message):
    with pytest.raises(UsageError, match=message):
        parse_command(argv)


def test_parse_command_when_options_given_then_configs_userdir_datadir_found():
    command = parse_command(
        ["--", "python", "-m", "freqtrade", "trade", "-c", "a.json", "--config=b.json",
         "--userdir", "ud", "--datadir", "dd"]
    )  # fmt: skip
    assert command.configs == ["a.json", "b.json"]
    assert (command.userdir, command.datadir) == ("ud", "dd")
    assert command.argv[:4] == ["python", "-m", "freqtrade", "trade"]


def test_offline_when_no_data_then_error_names_data_generate(tmp_path):
    (tmp_path / "user_data").mkdir()
    config = json.loads((REPO / "user_data" / "config.json").read_text())
    config["exchange"]["pair_whitelist"] = []
    (tmp_path / "user_data" / "config.json").write_text(json.dumps(config))

    result = profitguard("offline", "--", "freqtrade", "backtesting", cwd=tmp_path, timeout=60)

    assert result.returncode == 2
    assert "profitguard data generate" in result.stdout


@pytest.mark.slow
@pytest.mark.cpu_bound
def test_offline_when_freqtrade_backtesting_then_runs_with_nothing_else_started(project):
    freqtrade = str(Path(sys.executable).with_name("freqtrade"))

    result = profitguard(
        "offline", "--", freqtrade, "backtesting", "--strategy", "ProfitGuardSample",
        cwd=project,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:]
    assert "STRATEGY SUMMARY" in result.stdout
    assert "Could not load markets" not in result.stdout


@pytest.mark.slow
@pytest.mark.cpu_bound
def test_offline_when_freqtrade_hyperopt_then_runs_with_nothing_else_started(project):
    freqtrade = str(Path(sys.executable).with_name("freqtrade"))

    result = profitguard(
        "offline", "--", freqtrade, "hyperopt", "--strategy", "ProfitGuardSample",
        "--spaces", "profitguard", "--hyperopt-loss", "ProfitGuardRLoss", "-e", "3", "-j", "1",
        "--random-state", "42", cwd=project,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-3000:]
    # Freqtrade's "Best result:" block (absent when no epoch gave a result), and
    # the three epochs in its results file (one JSON line each)
    assert re.search(r"^Best result:$", result.stdout, re.MULTILINE), result.stdout[-3000:]
    results = list((project / "user_data" / "hyperopt_results").glob("*.fthypt"))
    assert len(results) == 1, os.listdir(project / "user_data" / "hyperopt_results")
    assert len(results[0].read_text().splitlines()) == 3


def test_offline_help_names_the_example():
    result = profitguard("offline", "--help", cwd=REPO, timeout=60)
    assert "profitguard offline -- freqtrade backtesting" in textwrap.dedent(result.stdout)


SLEEPING_FREQTRADE = """\
#!{python}
import signal, sys, time
print("fake-bot-up", signal.getsignal(signal.SIGINT) is signal.default_int_handler, flush=True)
try:
    time.sleep(120)
except KeyboardInterrupt:
    print("fake-bot-interrupted", flush=True)
    sys.exit(0)
"""


def test_offline_when_started_with_sigint_ignored_then_sigint_still_stops_it(project):
    """A shell's background job inherits "ignore SIGINT"; `offline` and its command still
    stop on SIGINT (and the command gets it, so Freqtrade shuts down cleanly)."""
    import signal
    import time

    fake = project / "freqtrade"
    fake.write_text(SLEEPING_FREQTRADE.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "offline", "--", str(fake), "trade"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline = time.monotonic() + 60
        out = ""
        while "fake-bot-up" not in out and time.monotonic() < deadline:
            out += proc.stdout.readline()
        assert "fake-bot-up True" in out, out
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "fake-bot-interrupted" in out + rest
