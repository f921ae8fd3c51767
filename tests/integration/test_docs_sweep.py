"""docs/sweep.md's commands, run on the demo data: each succeeds and prints what the
page shows (times masked: they are the run's, and the page says how long it took).

CI runs the page's short sweep (40 ladders on two weeks, about half a minute). Its
showcase, `profitguard sweep --trials 2000 --verify 3` with walk-forward on the whole
demo data, takes about 25 minutes: its block is marked `<!-- not run` naming
`PROFITGUARD_LONG_TESTS`, and runs only with that variable set
(`PROFITGUARD_LONG_TESTS=1 ./run test tests/integration/test_docs_sweep.py`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_readme import commands, readme_blocks

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "sweep.md"
SECONDS = re.compile(r"\b\d+(\.\d+)?s\b")
LONG_TESTS = "PROFITGUARD_LONG_TESTS"
SH = [b for b in readme_blocks(DOC.read_text(), "docs/sweep.md") if b.lang == "sh"]
BLOCKS = [b for b in SH if not b.skipped]
LONG_BLOCKS = [b for b in SH if b.skipped and LONG_TESTS in b.before]


def masked(text: str) -> str:
    """The output without its progress lines (`==> ...`, with the run's own speed),
    durations replaced by `Ns`, trailing blanks dropped."""
    return "\n".join(
        SECONDS.sub("Ns", line).rstrip()
        for line in text.strip("\n").splitlines()
        if not line.startswith("==> ")
    )


def shown(blocks) -> list[tuple[str, str]]:
    return [c for b in blocks for c in commands(b) if c[1]]


def test_docs_sweep_when_parsed_then_has_a_short_run_and_the_long_one_behind_its_variable():
    assert shown(BLOCKS), "docs/sweep.md shows no command with its output that CI runs"
    assert any("--trials 40 --verify 1" in c for c, _ in shown(BLOCKS))
    assert any("--trials 2000 --verify 3" in c for c, _ in shown(LONG_BLOCKS))


def test_docs_sweep_commands_when_run_on_the_demo_data_then_print_what_the_page_shows(tmp_path):
    run_on_the_demo_data(BLOCKS, tmp_path, timeout=600)


@pytest.mark.skipif(
    not os.environ.get(LONG_TESTS),
    reason=f"the 2000-ladder sweep takes about 25 minutes: set {LONG_TESTS}=1 to run it",
)
def test_docs_sweep_long_run_when_run_on_the_demo_data_then_prints_what_the_page_shows(tmp_path):
    assert LONG_BLOCKS
    run_on_the_demo_data(LONG_BLOCKS, tmp_path, timeout=3600)


def run_on_the_demo_data(blocks, tmp_path: Path, timeout: int) -> None:
    """The blocks' commands in a copy of user_data with freshly generated demo data."""
    from profitguard.commands.demo import _generate
    from profitguard.tooling.exchange import freqtrade_config as ftc

    shutil.copytree(
        REPO / "user_data",
        tmp_path / "user_data",
        ignore=lambda _, names: [
            n for n in names if n in ("data", "backtest_results", "hyperopt_results", "logs")
        ],
    )
    for params in (tmp_path / "user_data" / "strategies").glob("*.json"):
        params.unlink()  # hyperopt results of an earlier run: the page runs the defaults
    config = ftc.load_json_config(tmp_path / "user_data" / "config.json")
    datadir = ftc.config_datadir(config, tmp_path / "user_data")
    assert _generate(datadir, ftc.whitelist_pairs(config))
    env = dict(os.environ, COLUMNS="120", PYTHONPATH=str(REPO))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    for block in blocks:
        for command, expected in commands(block):
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            where = f"{block.where}: {command}"
            assert done.returncode == 0, f"{where}\n{done.stderr[-3000:]}"
            if expected is not None:
                assert masked(done.stdout) == masked(expected), where
