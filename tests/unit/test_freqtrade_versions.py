"""The supported Freqtrade range: refused below the floor, warned above the newest tested."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import freqtrade
import pytest
from freqtrade.exceptions import OperationalException

from profitguard.freqtrade import versions
from tests.unit.test_adapter_strategy import started

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_when_read_then_the_floor_and_no_upper_bound():
    text = (ROOT / "pyproject.toml").read_text()
    (requirement,) = re.findall(r'"freqtrade\[[^\]]*\]([^"]*)"', text)
    assert requirement == f">={versions.FLOOR}"


def test_installed_freqtrade_when_tested_then_within_the_range():
    assert versions.version_problem(freqtrade.__version__) is None


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2025.12", "error"),
        ("2026.1", None),
        ("2026.5.1", None),
        ("2026.9", None),
        ("2026.10", "warning"),
        ("2026.10-dev-abc123", "warning"),
        ("2027.1", "warning"),
    ],
)
def test_version_problem_when_compared_then_refused_below_warned_above(version, expected):
    problem = versions.version_problem(version)
    assert (problem[0] if problem else None) == expected
    if problem:
        assert version in problem[1] and "\n" not in problem[1]
        assert (versions.FLOOR if expected == "error" else versions.NEWEST_TESTED) in problem[1]


def test_bot_start_when_freqtrade_too_old_then_refuses_with_one_line(monkeypatch):
    monkeypatch.setattr(freqtrade, "__version__", "2025.12")
    with pytest.raises(OperationalException) as raised:
        started()
    assert str(raised.value) == (
        "profitguard needs Freqtrade 2026.1 or newer, this is Freqtrade 2025.12: "
        "upgrade Freqtrade (pip install -U 'freqtrade>=2026.1')"
    )


def test_bot_start_when_freqtrade_newer_than_tested_then_runs_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(freqtrade, "__version__", "2027.3")
    with caplog.at_level(logging.WARNING):
        strategy = started()
    assert strategy.profitguard_settings is not None
    lines = [r.getMessage() for r in caplog.records if "newer than" in r.getMessage()]
    assert lines == [
        "profitguard: Freqtrade 2027.3 is newer than 2026.9, the newest release profitguard "
        "was tested with: running on it"
    ]
