"""docs/sweep.md's commands, run on the demo data: each succeeds and prints what the
page shows (times masked: they are the run's, and the page says how long it took).

The page's run is `profitguard sweep --trials 2000 --verify 3` with walk-forward on
the demo data: minutes, not seconds (the sweep itself, one recording backtest and
three verifying ones).
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
BLOCKS = [b for b in readme_blocks(DOC.read_text()) if b.lang == "sh" and not b.skipped]


def masked(text: str) -> str:
    """The output without its progress lines (`==> ...`, with the run's own speed),
    durations replaced by `Ns`, trailing blanks dropped."""
    return "\n".join(
        SECONDS.sub("Ns", line).rstrip()
        for line in text.strip("\n").splitlines()
        if not line.startswith("==> ")
    )


def test_docs_sweep_when_parsed_then_has_a_command_with_its_output():
    shown = [c for b in BLOCKS for c in commands(b) if c[1]]
    assert shown, "docs/sweep.md shows no command with its output"
    assert any("--trials 2000 --verify 3" in c for c, _ in shown)


def test_docs_sweep_commands_when_run_on_the_demo_data_then_print_what_the_page_shows(tmp_path):
    from profitguard.commands.demo import _generate
    from profitguard.exchange import freqtrade_config as ftc

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
    for block in BLOCKS:
        for command, expected in commands(block):
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            where = f"docs/sweep.md:{block.line}: {command}"
            assert done.returncode == 0, f"{where}\n{done.stderr[-3000:]}"
            if expected is not None:
                assert masked(done.stdout) == masked(expected), where
