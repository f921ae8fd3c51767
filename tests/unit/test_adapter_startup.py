"""Start-up: Freqtrade's own exits set next to the ladders are warned about, by name."""

from __future__ import annotations

import logging

import pytest

from tests.unit.test_risk_gate import no_database, started  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("no_database")


def warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "profitguard.freqtrade.startup"
    ]


def test_bot_start_when_only_the_ladders_exit_then_no_warning(tmp_path, caplog):
    started(tmp_path)
    assert warnings(caplog) == []


def test_bot_start_when_freqtrade_trailing_stop_on_then_warned_naming_it(tmp_path, caplog):
    started(tmp_path, trailing_stop=True, trailing_stop_positive=0.01,
            trailing_stop_positive_offset=0.02)  # fmt: skip
    assert warnings(caplog) == [
        "profitguard: Freqtrade's 'trailing_stop' is on: besides the ladders, Freqtrade trails "
        "the stop itself (0.01 behind the best price once the profit reaches 2.00%) and exits "
        "a trade when it is hit"
    ]


def test_bot_start_when_minimal_roi_reachable_then_warned_naming_each_entry(tmp_path, caplog):
    started(tmp_path, minimal_roi={"30": 0.02, "0": 0.04, "120": 100})
    assert warnings(caplog) == [
        "profitguard: 'minimal_roi' exits trades besides the ladders: Freqtrade closes a "
        "trade in full once its profit reaches 4.00% from minute 0, 2.00% from minute 30 "
        '(set minimal_roi to {"0": 100} to leave the exits to the ladders)'
    ]
