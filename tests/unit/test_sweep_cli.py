"""`profitguard sweep` refuses bad input with one line naming the flag and the value,
before any backtest runs (the sample strategy and config of the repository). A
window longer than the data is refused after the recording backtest: see
tests/integration/test_sweep.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def sweep(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "profitguard", "sweep", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("profitguard sweep: error: argument ")
    return lines[0]


@pytest.mark.slow  # loads Freqtrade's config and the strategy (~10 s)
def test_sweep_grid_when_a_parameter_is_not_in_the_space_then_names_it(tmp_path):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"pg_tp1_r": 2.0}, {"pg_tp9_r": 2.0}]))
    line = one_error_line(sweep("--grid", str(grid)))
    assert "argument --grid" in line
    assert "'pg_tp9_r' is not a parameter of ProfitGuardSample's 'profitguard' space" in line


@pytest.mark.slow  # loads Freqtrade's config and the strategy (~10 s)
def test_sweep_grid_when_a_value_is_outside_the_range_then_names_it_and_the_range(tmp_path):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps([{"pg_tp1_r": 9.0}]))
    line = one_error_line(sweep("--grid", str(grid)))
    assert "pg_tp1_r=9.0 is outside the space (1.5 .. 4)" in line


@pytest.mark.slow  # loads Freqtrade's config and the strategy (~10 s)
def test_sweep_heatmap_when_a_parameter_is_not_in_the_space_then_names_it():
    line = one_error_line(sweep("--heatmap", "pg_tp1_r,pg_nope"))
    assert line.startswith("profitguard sweep: error: argument --heatmap: 'pg_nope' is not")


@pytest.mark.slow  # loads Freqtrade's config and the strategy (~10 s)
def test_sweep_ray_when_nothing_listens_at_the_address_then_names_it():
    pytest.importorskip("ray")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    line = one_error_line(sweep("--ray", f"127.0.0.1:{port}"))
    assert line.startswith(
        f"profitguard sweep: error: argument --ray: no Ray cluster answers at 127.0.0.1:{port}"
    )


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("--walk-forward", "--test", "10d"), "--train"),
        (("--train", "20d"), "--train"),
        (("--trials", "0"), "--trials"),
        (("--workers", "2", "--ray", "auto"), "--workers"),
    ],
)
def test_sweep_flags_when_inconsistent_then_one_line_naming_the_flag(args, flag):
    done = sweep(*args)
    assert done.returncode == 2
    assert f"argument {flag}" in done.stderr.strip().splitlines()[-1]
