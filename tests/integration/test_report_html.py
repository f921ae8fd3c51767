"""The --html pages in a real headless Chromium: every chart drawn, nothing on the console.

The pages are built from generated trades (no backtest needed); Chromium is the
system's (installed with apt-get by `tests/chromium.py` when missing).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from profitguard.engine import R_LADDER
from profitguard.report.build import build_report
from profitguard.report.compare_table import policy_figures
from profitguard.report.figures import trade_key
from profitguard.report.html import _figure_div, _page, compare_page, report_page
from profitguard.report.records import from_backtest_trade
from tests.chromium import open_page, probe
from tests.unit.test_report_r import T0, export_trade

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]

REPORT_CHARTS = ("chart-r-histogram", "chart-equity-r", "chart-mfe-vs-r", "chart-level-funnel")
COMPARE_CHARTS = ("chart-ab-expectancy", "chart-ab-equity")


def sample_trades():
    paths = [
        ((0.5, 104.0, "tp1"), (0.25, 106.0, "tp2"), (0.25, 103.0, "trailing_stop_loss")),
        ((1.0, 98.0, "stop_loss"),),
        ((0.75, 106.5, "tp1,tp2"), (0.25, 108.2, "tp3")),
        ((1.0, 100.0, "stop_loss"),),
        ((0.5, 104.1, "tp1"), (0.5, 102.0, "stop_loss")),
    ]
    return [
        from_backtest_trade(
            export_trade(exits=p, opened=T0 + timedelta(hours=6 * i), stop_at_exit=p[-1][1])
        )
        for i, p in enumerate(paths)
    ]


def drawn(dom: str, chart_id: str) -> bool:
    """The chart's div holds plotly's SVG with data drawn (bars, markers or a line)."""
    start = dom.find(f'id="{chart_id}"')
    if start < 0:
        return False
    following = [dom.find('id="chart-', start + 1)]
    segment = dom[start : max(following) if max(following) > 0 else len(dom)]
    has_svg = "main-svg" in segment
    marks = segment.count('class="point"') + len(re.findall(r'class="js-line"[^>]* d="M', segment))
    marks += len(re.findall(r'd="M[^"]+"[^>]*class="js-line"', segment))
    # a half-drawn plot leaves its tick labels unplaced (no transform): all at 0
    ticks = re.findall(r'class="[xy]tick"><text([^>]*)>', segment)
    placed = all("transform=" in attributes for attributes in ticks)
    return has_svg and marks > 0 and bool(ticks) and placed


@pytest.fixture(scope="module")
def chromium_ok(tmp_path_factory):
    probe(tmp_path_factory.mktemp("probe"))  # this Chromium reports console errors


def test_report_page_when_opened_then_every_chart_drawn_and_console_silent(tmp_path, chromium_ok):
    page = tmp_path / "report.html"
    page.write_text(
        report_page(build_report(sample_trades(), R_LADDER, source="test", strategy="S"))
    )
    # plotly.js is inline, nothing is fetched: the page opens offline
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?:", page.read_text())
    dom, console = open_page(page)
    assert console == []
    for chart in REPORT_CHARTS:
        assert drawn(dom, chart), chart


def test_compare_page_when_opened_then_charts_drawn_and_console_silent(tmp_path, chromium_ok):
    trades = sample_trades()
    reference = {trade_key(t): t.initial_stop for t in trades}
    policies = [
        policy_figures(name, name, trades[i:], reference) for i, name in enumerate(("a", "b"))
    ]
    result = {
        "strategy": "S",
        "stake_currency": "USDT",
        "entries_note": "Entries: identical",
        "r_note": "R = ...",
        "policies": policies,
    }
    page = tmp_path / "compare.html"
    page.write_text(compare_page(result))
    dom, console = open_page(page)
    assert console == []
    for chart in COMPARE_CHARTS:
        assert drawn(dom, chart), chart


def test_drawn_when_chart_empty_then_false(tmp_path, chromium_ok):
    """The check above can fail: an empty figure is not 'drawn'."""
    import plotly.graph_objects as go

    page = tmp_path / "empty.html"
    page.write_text(
        _page("empty", "", _figure_div(go.Figure(go.Scatter(x=[], y=[])), "chart-empty"))
    )
    dom, console = open_page(page)
    assert console == []
    assert "main-svg" in dom and not drawn(dom, "chart-empty")
