"""A seeded subset of `profitguard chaos` (the full suite: `profitguard chaos --runs 20`).

Two scenarios, one with the stop resting on the exchange: faults, SIGKILLs and
restarts of the real freqtrade, then every check over the ledger and the database.
"""

from __future__ import annotations

import pytest

from profitguard.cli import main

pytestmark = pytest.mark.slow


def test_chaos_subset_when_seeded_then_no_violation(tmp_path, capsys):
    status = main(
        ["chaos", "--runs", "2", "--seed", "1", "--duration", "60", "--workdir", str(tmp_path),
         "--scenario", "drop-order-soe", "--scenario", "reject-between-levels"]
    )  # fmt: skip
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[-6] == "runs: 2", out
    restarts = int(lines[-5].split(": ")[1])
    faults = int(lines[-4].split(": ")[1])
    assert lines[-3].startswith("lost answers: ")
    assert lines[-2] == "holdings: orphan_fill=0 untracked_holding=0 closed_but_held=0"
    assert lines[-1] == "violations: 0", out
    assert status == 0
    assert restarts >= 2 and faults >= 1, out
