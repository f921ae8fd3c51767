"""Every configuration block and command of README.md and docs/*.md works as shown.

Blocks fenced as ```json are merged into the shipped `user_data/config.json` and the
shipped sample strategy must start with them; ```sh blocks run in order (the
README, then the docs in `DOCS` order, then any other docs/*.md by name) in a copy of
the repository's `user_data` (a line starting with `$ ` is a command whose output
follows and must match). A block right after an HTML comment starting with
`<!-- not run` is skipped (say why in the comment), as are the blocks of a page in
`OWN_TEST` (its own test runs them). A ```python block right after
`<!-- file: PATH` is written to PATH (in that copy) before the commands run. To keep
the run short, a hyperopt runs 3 epochs whatever `--epochs` says; nothing else is
changed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import rapidjson

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
# The reference moved out of the README, in the order it had there (its commands
# build on each other: data, hyperopt, then its parameters file); other docs follow.
DOCS = [
    "strategy.md",
    "simulate.md",
    "risk-gate.md",
    "hyperopt.md",
    "futures.md",
    "reports.md",
    "dry-run-and-live.md",
    "performance.md",
    "development.md",
]
SKIP_MARK = "<!-- not run"
FILE_MARK = re.compile(r"<!-- file: (\S+)")
EPOCHS = re.compile(r"(--epochs|-e)\s+\d+")


@dataclass(frozen=True)
class Block:
    lang: str
    line: int  # of the opening fence, 1-based
    text: str
    skipped: bool
    source: str = "README.md"
    before: str = ""  # the last non-blank line before the fence

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def readme_blocks(text: str, source: str = "README.md") -> list[Block]:
    blocks, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        match = re.match(r"^```(\w*)\s*$", lines[i])
        if not match:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        body = "\n".join(lines[i + 1 : end])
        blocks.append(Block(match[1], i + 1, body, before.startswith(SKIP_MARK), source, before))
        i = end + 1
    return blocks


def doc_files() -> list[Path]:
    """README.md, then docs/ in `DOCS` order, then the other docs by name."""
    listed = [REPO / "docs" / name for name in DOCS]
    others = sorted(p for p in (REPO / "docs").glob("*.md") if p not in listed)
    return [README, *listed, *others]


BLOCKS = [
    block
    for path in doc_files()
    for block in readme_blocks(path.read_text(), str(path.relative_to(REPO)))
]
JSON_BLOCKS = [b for b in BLOCKS if b.lang == "json" and not b.skipped]
# Docs whose commands their own test runs (on data it generates, its times masked).
OWN_TEST = {"docs/sweep.md": "tests/integration/test_docs_sweep.py"}
SH_BLOCKS = [b for b in BLOCKS if b.lang == "sh" and not b.skipped and b.source not in OWN_TEST]
FILE_BLOCKS = [b for b in BLOCKS if b.lang == "python" and FILE_MARK.match(b.before)]


def test_readme_when_parsed_then_has_config_and_command_blocks():
    assert JSON_BLOCKS and len(SH_BLOCKS) >= 4
    assert all(path.is_file() for path in doc_files())
    assert all((REPO / test).is_file() for test in OWN_TEST.values())
    assert len(README.read_text().splitlines()) <= 250  # a quick start; the rest is in docs/


def test_readme_strategy_when_compared_then_the_tested_strategy_file_is_the_same():
    """The README's own strategy is the one tests/integration/test_first_backtest.py runs."""
    (block,) = [b for b in FILE_BLOCKS if b.source == "README.md"]
    tested = REPO / "tests" / "integration" / "strategies" / "ReadmeEmaCross.py"
    assert block.text + "\n" == tested.read_text()


def shipped_config() -> dict:
    with (REPO / "user_data" / "config.json").open() as fh:
        return rapidjson.load(fh, parse_mode=rapidjson.PM_COMMENTS)


def sample_class():
    path = REPO / "user_data" / "strategies" / "ProfitGuardSample.py"
    spec = importlib.util.spec_from_file_location("readme_sample", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ProfitGuardSample


@pytest.mark.parametrize("block", JSON_BLOCKS, ids=lambda b: b.where)
def test_readme_config_block_when_added_to_the_shipped_config_then_the_sample_starts(block):
    from tests.unit.test_adapter_strategy import started

    text = block.text.strip()
    fragment = rapidjson.loads(text if text.startswith("{") else "{" + text + "}")
    config = shipped_config() | fragment

    started(sample_class(), **config)  # ft_bot_start: every setting validated


def commands(block: Block) -> list[tuple[str, str | None]]:
    """(command, expected output or None) of an sh block; `\\` continues a line."""
    out: list[tuple[str, list[str] | None]] = []
    pending = ""
    for raw in block.text.splitlines():
        if out and out[-1][1] is not None and not raw.startswith("$ ") and not pending:
            out[-1][1].append(raw)  # output of the `$ ` command above
            continue
        line = raw[2:] if raw.startswith("$ ") else raw
        if not pending and not line.strip():
            continue
        pending += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
        if line.endswith("\\"):
            continue
        out.append((pending.strip(), [] if raw.startswith("$ ") else None))
        pending = ""
    return [(cmd, None if exp is None else "\n".join(exp).strip("\n")) for cmd, exp in out]


@pytest.mark.slow
@pytest.mark.cpu_bound
def test_readme_commands_when_run_in_order_then_each_succeeds_as_shown(tmp_path):
    shutil.copytree(
        REPO / "user_data",
        tmp_path / "user_data",
        ignore=lambda _, names: [
            n
            for n in names
            if n in ("data", "backtest_results", "hyperopt_results", "logs")
            or n.endswith((".sqlite", ".lock"))
            or n.startswith("profitguard-")
        ],
    )
    for params in (tmp_path / "user_data" / "strategies").glob("*.json"):
        params.unlink()  # hyperopt results of an earlier run
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(REPO)
    for block in FILE_BLOCKS:
        target = tmp_path / FILE_MARK.match(block.before)[1]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text + "\n")
    for block in SH_BLOCKS:
        for command, expected in commands(block):
            shell = EPOCHS.sub(r"\1 3", command)
            result = subprocess.run(
                ["bash", "-c", shell],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=900,
            )
            where = f"{block.where}: {command}"
            assert result.returncode == 0, f"{where}\n{result.stdout[-3000:]}"
            if expected is not None:
                assert result.stdout.strip("\n") == expected, where
