"""The wheel a user installs carries what the package reads as files."""

import subprocess
import sys
import zipfile

import pytest

from profitguard.tooling.chaos.scenario_runner import STRATEGY_FILE
from tests.exchange_fixtures import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]  # builds a wheel in a subprocess


def test_wheel_when_built_then_it_holds_the_chaos_strategy_where_the_runner_reads_it(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
         str(REPO_ROOT)],
        check=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("profitguard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert STRATEGY_FILE.relative_to(REPO_ROOT).as_posix() in names
    assert not [name for name in names if name.startswith(("user_data/", "tests/"))]
