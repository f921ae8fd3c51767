"""`freqtrade plot-dataframe --timerange …` draws profitguard's stop and target lines
for every timerange: a trade entered before the chart's first candle is left out with
one line saying so, and the others are drawn (the initial stop each trade recorded,
not the ATR of a warm-up the timerange cut short)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

from profitguard.tooling.exchange import generate as gen

pytestmark = pytest.mark.slow  # a real backtest, then plot-dataframe per timerange

STRATEGY = Path(__file__).parent / "strategies" / "ReadmeEmaCross.py"
# 2025-12-26 .. 2025-12-31 of the demo's candles; 20251227 starts while a trade is open
# (the chart starts 50 startup candles earlier, at 2025-12-26 19:50, after its entry)
RANGES = ["20251226-", "20251227-20251230", "20251228-20251229", "20251230-"]


def line_values(page: str, name: str) -> np.ndarray:
    """The y values of the chart's trace `name` (plotly stores them base64-encoded)."""
    at = page.index(f'"name":"{name}"')
    match = re.compile(r'"y":\{"dtype":"f8","bdata":"([^"]*)"').search(page, at)
    assert match is not None, name
    return np.frombuffer(base64.b64decode(json.loads(f'"{match[1]}"')), dtype="<f8")


def test_plot_dataframe_when_any_timerange_then_profitguard_lines_drawn(
    offline_exchange, freqtrade_workspace, tmp_path
):
    datadir = tmp_path / "data"
    gen.generate(datadir, pairs=("BTC/USDT",), timeframes=("5m",), days=6)
    ws = freqtrade_workspace(offline_exchange(datadir=datadir), pairs=["BTC/USDT"],
                             strategies=[STRATEGY], datadir=datadir)  # fmt: skip
    result = ws.run("backtesting", "--strategy", "MyEmaCross", "--cache", "none")
    assert result.returncode == 0, result.stdout[-3000:]

    for timerange in RANGES:
        plot = ws.run("plot-dataframe", "--strategy", "MyEmaCross", "--pairs", "BTC/USDT",
                      "--trade-source", "file", "--timerange", timerange)  # fmt: skip
        assert plot.returncode == 0, plot.stdout[-3000:]
        assert "profitguard advise_indicators" not in plot.stdout, (timerange, plot.stdout[-3000:])
        (html,) = (ws.userdir / "plot").glob("*BTC_USDT*.html")
        page = html.read_text()
        for name in ("pg_stop", "pg_entry", "pg_tp1"):
            assert np.isfinite(line_values(page, name)).any(), (timerange, name)
        said = " ".join(plot.stdout.split())  # Freqtrade wraps long log lines
        if timerange == "20251227-20251230":
            assert said.count("are not drawn") == 1, plot.stdout[-3000:]
            assert (
                "profitguard: BTC/USDT: the stop and target lines of 1 trade(s) are not drawn: "
                "the trade entered 2025-12-26 18:25 before the chart's first candle "
                "(2025-12-26 19:50); every other trade's are"
            ) in said, said[said.find("are not drawn") - 200 : said.find("are not drawn") + 300]
        else:
            assert "are not drawn" not in said, timerange
