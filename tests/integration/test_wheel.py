"""The wheel a user installs carries what the package reads as files, and runs on its own."""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from profitguard.tooling.chaos.scenario_runner import STRATEGY_FILE
from tests.exchange_fixtures import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]  # builds a wheel in a subprocess


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the source without a `build/` folder: setuptools never empties
    one, so a module renamed since the last build would ship under both names."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"
    shutil.copytree(REPO_ROOT / "profitguard", source / "profitguard",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO_ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True, cwd=out, timeout=300,
    )  # fmt: skip
    (built,) = out.glob("profitguard-*.whl")
    return built


def test_wheel_when_built_then_it_holds_every_module_and_the_chaos_strategy(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert STRATEGY_FILE.relative_to(REPO_ROOT).as_posix() in names
    assert not [name for name in names if name.startswith(("user_data/", "tests/"))]
    modules = sorted(p.relative_to(REPO_ROOT).as_posix()
                     for p in (REPO_ROOT / "profitguard").rglob("*.py"))  # fmt: skip
    assert sorted(name for name in names if name.endswith(".py")) == modules


def test_wheel_when_installed_in_a_fresh_venv_then_tooling_commands_and_chaos_strategy_work(
    wheel, tmp_path
):
    """A new virtualenv with only the wheel installed (its dependencies lent from this one,
    whose source tree it cannot see): the tooling's commands start and the chaos strategy
    imports from the installed package, not from the source tree."""
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        check=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # the dependencies: this venv's site-packages, appended (its .pth files are not read,
    # so this checkout's editable profitguard stays out of sight)
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*command: str | Path) -> str:
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    for subcommand in ("chaos", "exchange"):
        assert f"usage: profitguard {subcommand}" in run(venv / "bin" / "profitguard",
                                                         subcommand, "--help")  # fmt: skip
    where = run(python, "-c", (
        "import profitguard\n"
        "from profitguard.tooling.chaos.scenario_runner import STRATEGY_FILE\n"
        "from profitguard.tooling.chaos.strategies.ChaosSample import ChaosSample\n"
        "from profitguard.tooling.chaos.strategies.ChaosAccount import ChaosAccount\n"
        "assert issubclass(ChaosAccount, ChaosSample)\n"
        "print(profitguard.__file__, STRATEGY_FILE, STRATEGY_FILE.is_file(), sep='\\n')\n"
    )).split()  # fmt: skip
    assert [Path(w).is_relative_to(site) for w in where[:2]] == [True, True]
    assert where[2] == "True"
