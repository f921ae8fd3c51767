"""`profitguard sweep` end to end on generated data, against the real `freqtrade`.

One recording backtest (the sample strategy, 2 pairs, 40 days of 5m candles) feeds
the evaluation tests; the command itself runs once with walk-forward, verify,
export and HTML, and its JSON is checked against the contract. The same ladders
evaluated on 1 worker, 2 worker processes and a local Ray head (started here on
127.0.0.1, stopped by the test) give the same R matrix bit for bit.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]

REPO = Path(__file__).resolve().parents[2]
PAIRS = ["BTC/USDT", "ETH/USDT"]


@pytest.fixture(scope="module")
def userdir(tmp_path_factory) -> Path:
    from profitguard.tooling.exchange import generate as gen

    root = tmp_path_factory.mktemp("sweep")
    datadir = root / "data" / "binance"  # Freqtrade's default under the user directory
    gen.generate(datadir, pairs=PAIRS, timeframes=["5m"], days=40)
    (root / "strategies").mkdir()
    shutil.copy(REPO / "user_data/strategies/ProfitGuardSample.py", root / "strategies")
    shutil.copytree(REPO / "user_data/hyperopts", root / "hyperopts")
    config = json.loads((REPO / "user_data/config.json").read_text())
    config["exchange"]["pair_whitelist"] = PAIRS
    (root / "config.json").write_text(json.dumps(config))
    return root


def sweep(userdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "profitguard",
            "sweep",
            "-c",
            str(userdir / "config.json"),
            "--userdir",
            str(userdir),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _session_dir(tmp_path_factory) -> Path:
    """A directory of this test session that every xdist worker sees (the workers'
    base directories share their parent; a serial run has its own)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="module")
def swept(userdir, tmp_path_factory):
    """One 24-trial walk-forward sweep for the whole test session: the first worker to
    ask runs it under a file lock, the others read its output (CI spread these tests
    over workers and ran the sweep once per worker)."""
    shared = _session_dir(tmp_path_factory) / "sweep-once"
    shared.mkdir(exist_ok=True)
    out, answer = shared / "out", shared / "result.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not answer.exists():
            out.mkdir(exist_ok=True)
            done = sweep(
                userdir,
                "--trials",
                "24",
                "--seed",
                "5",
                "--verify",
                "2",
                "--workers",
                "1",
                "--walk-forward",
                "--train",
                "10d",
                "--test",
                "5d",
                "--json",
                "--export-params",
                str(out / "best.json"),
                "--html",
                str(out / "sweep.html"),
            )
            assert done.returncode == 0, done.stderr[-3000:]
            answer.write_text(done.stdout)
    return json.loads(answer.read_text()), out


FIGURES = {"trades", "win_rate", "expectancy_r", "profit_factor", "max_drawdown_r"}


def test_sweep_json_when_walking_forward_then_exactly_the_contract(swept):
    result, _ = swept
    assert list(result) == [
        "configs_evaluated",
        "entries",
        "seconds",
        "ranking",
        "baselines",
        "verify",
        "walk_forward",
    ]
    assert result["configs_evaluated"] == len(result["ranking"]) > 10
    assert result["entries"] > 20
    for row in result["ranking"]:
        assert set(row) == {"params"} | FIGURES
        assert row["trades"] == result["entries"]
        assert set(row["params"]) >= {"pg_tp1_r", "pg_sl1_trigger_r", "pg_trail"}
    assert [b["name"] for b in result["baselines"]] == [
        "strategy",
        "scaled_pct",
        "fixed 2%/5%",
        "freqtrade trailing (engine)",
    ]
    for b in result["baselines"]:
        assert set(b) == {"name", "params"} | FIGURES
    wf = result["walk_forward"]
    assert set(wf) == {"folds", "out_of_sample_expectancy_r", "ci95", "efficiency", "pbo"}
    assert len(wf["folds"]) >= 3
    for f in wf["folds"]:
        assert set(f) == {
            "train_start",
            "train_end",
            "test_start",
            "test_end",
            "params",
            "in_sample_expectancy_r",
            "out_of_sample_expectancy_r",
            "out_of_sample_trades",
        }
        assert f["train_end"] == f["test_start"]
    for a, b in zip(wf["folds"], wf["folds"][1:], strict=False):
        assert a["test_end"] == b["test_start"]
    low, high = wf["ci95"]
    assert low <= wf["out_of_sample_expectancy_r"] <= high
    assert 0.0 <= wf["pbo"] <= 1.0


def test_sweep_verify_when_rerun_as_backtests_then_every_trade_identical(swept):
    result, _ = swept
    assert len(result["verify"]) == 2
    for v in result["verify"]:
        assert v["identical"] is True, v
        assert v["trades"] == result["entries"]
        assert v["max_r_diff"] <= 1e-6
    # the best and the worst of the ranking are among them
    verified = [v["params"] for v in result["verify"]]
    assert result["ranking"][0]["params"] in verified
    assert result["ranking"][-1]["params"] in verified


def test_sweep_export_params_when_written_then_freqtrade_loads_the_choice(swept):
    from freqtrade.optimize.hyperopt_tools import HyperoptTools

    result, out = swept
    loaded = HyperoptTools.load_params((out / "best.json").read_text())
    assert loaded["strategy_name"] == "ProfitGuardSample"
    # with walk-forward the choice is the last fold's
    assert loaded["params"]["profitguard"] == result["walk_forward"]["folds"][-1]["params"]


def test_sweep_html_when_opened_in_chromium_then_three_charts_and_no_errors(swept):
    from tests.chromium import open_page, probe

    _, out = swept
    probe(out)  # this Chromium reports console errors
    dom, errors = open_page(out / "sweep.html")
    assert errors == []
    for chart in ("pg-heatmap", "pg-oos-equity", "pg-is-oos"):
        assert f'id="{chart}"' in dom
    assert dom.count("main-svg") >= 3  # plotly drew each chart


def test_sweep_when_the_window_is_longer_than_the_data_then_one_line_naming_train(userdir):
    done = sweep(
        userdir,
        "--trials",
        "2",
        "--verify",
        "0",
        "--walk-forward",
        "--train",
        "60d",
        "--test",
        "10d",
    )
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("profitguard sweep: error: argument --train: 60d with --test 10d")
    assert "longer than the data" in last


@pytest.fixture(scope="module")
def recorded(userdir, tmp_path_factory):
    from profitguard.report import freqtrade_setup as fs
    from profitguard.report import same_entries
    from profitguard.tooling.research.recording import BacktestSetup, record
    from profitguard.tooling.research.space import sample, space_of

    config = fs.load_config([userdir / "config.json"], userdir, "ProfitGuardSample")
    strategy = fs.load_strategy(config)
    setup = BacktestSetup(
        [userdir / "config.json"],
        userdir,
        Path(config["datadir"]),
        PAIRS,
        risk_unit=same_entries.risk_unit(config),
    )
    rec = record(
        setup,
        "ProfitGuardSample",
        Path(strategy.__file__),
        "5m",
        "feather",
        tmp_path_factory.mktemp("rec"),
        lambda m: None,
    )
    points = sample(space_of(strategy), 24, seed=11)
    return rec, strategy.profitguard_settings.exits, points


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    """A Ray head on 127.0.0.1 owned by this test (its own process group, stopped here)."""
    pytest.importorskip("ray")
    port = _free_port()
    temp = tmp_path_factory.mktemp("ray")
    head = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("ray")),
            "start",
            "--head",
            "--block",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(port),
            "--num-cpus",
            "2",
            "--include-dashboard",
            "false",
            "--disable-usage-stats",
            "--temp-dir",
            str(temp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None, "ray start exited"
                time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=10)  # then the group is killed: it took 33 s to wind down
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


def test_sweep_when_run_on_1_and_2_workers_and_ray_then_the_same_matrix_bit_for_bit(
    recorded, ray_head
):
    from profitguard.tooling.research.runner import Variant, run_local, run_ray

    rec, base, points = recorded
    variants = [Variant(params=p) for p in points]
    one = run_local(base, variants, rec.entries, rec.candles, workers=1)
    two = run_local(base, variants, rec.entries, rec.candles, workers=2)
    on_ray = run_ray(ray_head, base, variants, rec.entries, rec.candles)
    for r, close in (two, on_ray):
        assert np.array_equal(r, one[0]) and np.array_equal(close, one[1])
