"""`profitguard exchange` and `profitguard data generate` as processes."""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from profitguard.tooling.exchange.candle_files import scan

T0 = 1_767_225_600_000


def profitguard(*args: str) -> list[str]:
    """The `profitguard` console script, run by this interpreter."""
    entry = "import sys; from profitguard.cli import main; sys.exit(main())"
    return [sys.executable, "-c", entry, *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def datadir(tmp_path):
    rows = [[T0 + i * 300_000, 100.0, 101.0, 99.0, 100.5, 3.0] for i in range(50)]
    path = tmp_path / "data"
    path.mkdir()
    (path / "BTC_USDT-5m.json").write_text(json.dumps(rows))
    return path


def wait_until_serving(port: int, proc: subprocess.Popen, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited early: {proc.communicate()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v3/exchangeInfo") as resp:
                return json.load(resp)
        except OSError:
            time.sleep(0.1)
    pytest.fail("server did not start")


@pytest.fixture
def server(tmp_path):
    """Factory starting `profitguard exchange ARGS` in tmp_path (no user_data/config.json
    there); killed at teardown if still running."""
    procs = []

    def start(*args: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            profitguard("exchange", *args),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_exchange_when_signalled_then_clean_shutdown(server, datadir, sig):
    port = free_port()
    proc = server("--datadir", str(datadir), "--port", str(port))
    info = wait_until_serving(port, proc)
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT"]
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "offline exchange stopped" in err
    assert "Traceback" not in err


def test_exchange_when_port_in_use_then_one_line_error(server, datadir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = server("--datadir", str(datadir), "--port", str(port))
        out, err = proc.communicate(timeout=30)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"profitguard exchange: error: port {port} on 127.0.0.1 is already in use "
        "(another `profitguard exchange` running? choose one with --port)"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--datadir", "/nonexistent/data"], "--datadir: no such directory"),
        (["--config", "/nonexistent/config.json"], "--config: no such file"),
        (["--mode", "replay", "--replay-start", "soon"], "--replay-start: not a date"),
        (["--script", "x.json"], "--script needs --mode replay"),
        (["--mode", "replay", "--speed", "-5"], "--speed must be > 0"),
        (["--mode", "replay", "--speed", "0"], "--speed must be > 0"),
        (["--mode", "replay", "--history-speed", "-1"], "--history-speed must be > 0"),
        (["--mode", "replay", "--replay-timeframe", "1h"], "--replay-timeframe: no 1h data for"),
        (["--mode", "replay", "--replay-timeframe", "5x"], "--replay-timeframe: not a timeframe"),
        (
            ["--mode", "replay", "--replay-start", "2030-01-01"],
            "--replay-start: 2030-01-01 is after the data ends (BTC/USDT 5m: last candle",
        ),
    ],
)
def test_exchange_when_bad_arguments_then_usage_error(server, datadir, args, message):
    if "--datadir" not in args:
        args = [*args, "--datadir", str(datadir), "--port", "0"]
    proc = server(*args)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert message in err


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ({"A/USDT": [5]}, "--script: A/USDT: a scripted path needs at least two positive prices"),
        ({"A/USDT": {"prices": [1, 2], "history": None}}, "--script: A/USDT: int() argument"),
        ([1, 2], '--script: expected {"PAIR": [price, ...], ...}'),
    ],
)
def test_exchange_when_bad_script_then_usage_error_naming_the_pair(
    server, tmp_path, script, message
):
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    proc = server("--mode", "replay", "--script", str(path), "--port", "0")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert message in err


def test_exchange_when_replay_script_then_scripted_prices_served(server, tmp_path):
    script = tmp_path / "path.json"
    script.write_text(json.dumps({"ABC/USDT": {"prices": [10, 11, 12, 13], "history": 2}}))
    port = free_port()
    proc = server(
        "--datadir", str(tmp_path), "--port", str(port), "--mode", "replay",
        "--script", str(script), "--replay-timeframe", "1m", "--speed", "1000",
    )  # fmt: skip
    info = wait_until_serving(port, proc)
    url = f"http://127.0.0.1:{port}/api/v3/ticker/price?symbol=ABCUSDT"
    with urllib.request.urlopen(url) as resp:
        price = float(json.load(resp)["price"])
    assert [s["symbol"] for s in info["symbols"]] == ["ABCUSDT"]
    assert 11.99 <= price <= 12.01  # candle 2 (12 -> 13) has barely begun


def test_data_generate_when_run_then_files_and_summary(tmp_path):
    result = subprocess.run(
        profitguard(
            "data",
            "generate",
            "--datadir",
            str(tmp_path),
            "--pairs",
            "BTC/USDT",
            "ETH/BTC",
            "--days",
            "1",
            "--timeframes",
            "5m",
            "1h",
            "--data-format",
            "json",
        ),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote 4 files (BTC/USDT, ETH/BTC x 5m, 1h, 1 days")
    assert sorted(scan(tmp_path)) == [
        ("BTC/USDT", "1h"),
        ("BTC/USDT", "5m"),
        ("ETH/BTC", "1h"),
        ("ETH/BTC", "5m"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pairs", "BTCUSDT"], "--pairs: not a spot pair: 'BTCUSDT'"),
        (["--end", "someday"], "--end: not a date"),
        (["--timeframes", "30s"], "timeframes must be whole minutes"),
    ],
)
def test_data_generate_when_bad_arguments_then_usage_error(tmp_path, args, message):
    result = subprocess.run(
        profitguard("data", "generate", "--datadir", str(tmp_path), *args),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_data_generate_when_files_exist_then_refused_without_force(tmp_path, capsys):
    from profitguard.cli import main

    def generate(*extra: str) -> int:
        return main(["data", "generate", "--datadir", str(tmp_path), "--pairs", "BTC/USDT",
                     "--days", "0.05", "--timeframes", "5m", *extra])  # fmt: skip

    assert generate() == 0
    written = (tmp_path / "BTC_USDT-5m.feather").stat().st_mtime_ns
    capsys.readouterr()

    assert generate("--seed", "7") == 2
    err = capsys.readouterr().err
    assert "would overwrite 1 file(s)" in err
    assert "BTC_USDT-5m.feather): pass --force to replace them" in err
    assert (tmp_path / "BTC_USDT-5m.feather").stat().st_mtime_ns == written

    assert generate("--seed", "7", "--force") == 0
    assert "replacing 1 existing file(s)" in capsys.readouterr().out


def test_replay_check_when_futures_data_only_then_futures_pairs_found(tmp_path):
    """Futures pairs are replayed from <datadir>/futures (their data was looked for
    among the spot files, so a futures-only data dir could not be replayed)."""
    from profitguard.commands.exchange import _check_replay_data
    from profitguard.commands.usage import UsageError
    from profitguard.tooling.exchange.server import ReplayOptions

    rows = [[T0 + i * 300_000, 100.0, 101.0, 99.0, 100.5, 3.0] for i in range(50)]
    (tmp_path / "futures").mkdir()
    (tmp_path / "futures" / "BTC_USDT_USDT-5m-futures.json").write_text(json.dumps(rows))
    pairs = ["BTC/USDT:USDT"]
    _check_replay_data(tmp_path, pairs, ReplayOptions(timeframe="5m"), None)
    with pytest.raises(UsageError, match="no 1h data for BTC/USDT:USDT"):
        _check_replay_data(tmp_path, pairs, ReplayOptions(timeframe="1h"), None)
    with pytest.raises(UsageError, match=r"after the data ends \(BTC/USDT:USDT 5m"):
        _check_replay_data(tmp_path, pairs, ReplayOptions(start_ms=T0 * 2), "later")
