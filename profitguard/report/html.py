"""The report and the A/B table as one self-contained HTML page with plotly charts.

plotly.js is embedded once in the page (no CDN), so it opens offline; it is stored
gzipped and base64-encoded (about 2 MB instead of 4.8), and the browser unpacks it
with its own `DecompressionStream` before drawing. Each chart is a `div.pg-chart`
whose figure is JSON beside it; the page's tables repeat the terminal's figures.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import itertools
import json
import math
from collections.abc import Sequence
from typing import Any

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.4em; }} h2 {{ font-size: 1.1em; margin-top: 1.5em; }}
table {{ border-collapse: collapse; margin: 0.5em 0; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }}
th {{ background: #f3f3f3; }} td:first-child, th:first-child {{ text-align: left; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1em; }}
.note {{ color: #555; font-size: 0.9em; }}
</style>
{plotlyjs}
</head><body>
<h1>{title}</h1>
<p class="note">{note}</p>
{body}
{draw}
</body></html>
"""

# Unpacks plotly.js (gzip, base64) and runs it: `window.pgPlotly` resolves once it has.
UNPACK = """<script>
window.pgPlotly = (async () => {
  const packed = document.getElementById("pg-plotly-gz").textContent;
  const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const script = document.createElement("script");
  script.text = await new Response(stream).text();
  document.head.appendChild(script);
})();
</script>"""

# Draws every chart once plotly.js runs (or says why it cannot).
DRAW = """<script>
window.pgPlotly.then(() => {
  for (const node of document.querySelectorAll("script.pg-figure")) {
    const figure = JSON.parse(node.textContent);
    Plotly.newPlot(node.dataset.div, figure.data, figure.layout, figure.config);
  }
}, (error) => {
  document.body.insertAdjacentHTML("afterbegin",
    "<p><b>The charts need a browser that can unpack gzip (DecompressionStream): " +
    String(error) + "</b></p>");
});
</script>"""


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure_div(fig, div_id: str) -> str:
    """The chart's div, with its figure as JSON beside it (drawn by `DRAW`)."""
    fig.update_layout(margin={"l": 50, "r": 20, "t": 50, "b": 40}, height=380, width=600)
    figure = json.loads(fig.to_json())
    figure["config"] = {"displaylogo": False, "responsive": False}
    # inside <script>, "</" would end it early
    text = json.dumps(figure, separators=(",", ":")).replace("</", "<\\/")
    return (
        f'<div class="pg-chart"><div id="{div_id}" class="plotly-graph-div" '
        f'style="height:380px; width:600px;"></div>'
        f'<script type="application/json" class="pg-figure" data-div="{div_id}">{text}</script>'
        "</div>"
    )


@functools.cache
def _plotlyjs() -> str:
    """plotly.js, gzipped and base64-encoded in an inert script tag, and its unpacker."""
    from plotly.offline import get_plotlyjs

    packed = base64.b64encode(gzip.compress(get_plotlyjs().encode(), 9, mtime=0)).decode()
    return f'<script type="application/gzip" id="pg-plotly-gz">{packed}</script>\n{UNPACK}'


def _page(title: str, note: str, body: str) -> str:
    return PAGE.format(
        title=html.escape(title),
        note=html.escape(note),
        body=body,
        plotlyjs=_plotlyjs(),
        draw=DRAW,
    )


BIN_R = 0.25


def r_bins(rs: Sequence[float]) -> tuple[list[float], list[int]]:
    """Histogram of `rs` in bins of BIN_R (centers, counts), empty bins included."""
    if not rs:
        return [], []
    first = math.floor(min(rs) / BIN_R)
    counts = [0] * (math.floor(max(rs) / BIN_R) - first + 1)
    for r in rs:
        counts[math.floor(r / BIN_R) - first] += 1
    return [(first + i + 0.5) * BIN_R for i in range(len(counts))], counts


def report_charts(report) -> list[str]:
    import plotly.graph_objects as go

    rows = report.trades
    rs = [t.r for t in rows]
    charts = []
    centers, counts = r_bins(rs)
    hist = go.Figure(go.Bar(x=centers, y=counts, width=BIN_R * 0.9, marker_color="#1f77b4"))
    hist.update_layout(
        title=f"R distribution (fees included; bins of {BIN_R:g}R)",
        xaxis_title="R",
        yaxis_title="trades",
    )
    charts.append(_figure_div(hist, "chart-r-histogram"))

    equity = list(itertools.accumulate(rs))
    curve = go.Figure(
        go.Scatter(x=[t.close_date for t in rows], y=equity, mode="lines", line_color="#2ca02c")
    )
    curve.update_layout(title="Equity curve in R (cumulative)", yaxis_title="R")
    charts.append(_figure_div(curve, "chart-equity-r"))

    pts = [
        (t.mfe_r, t.r, f"{t.bot + ' ' if t.bot else ''}{t.pair} {t.open_date[:16]}")
        for t in rows
        if t.mfe_r is not None
    ]
    scatter = go.Figure(
        go.Scatter(
            x=[p[0] for p in pts],
            y=[p[1] for p in pts],
            text=[p[2] for p in pts],
            mode="markers",
            marker={"size": 6, "opacity": 0.6},
        )
    )
    top = max([p[0] for p in pts] + [1.0])
    scatter.add_trace(
        go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"dash": "dot", "color": "#999"})
    )
    scatter.update_layout(
        title="Peak R (MFE) vs realized R",
        xaxis_title="MFE (R)",
        yaxis_title="realized R",
        showlegend=False,
    )
    charts.append(_figure_div(scatter, "chart-mfe-vs-r"))

    n = report.summary.trades
    stages = ["all trades"]
    values = [n]
    for level in report.levels:
        if level.reached is not None:
            stages.append(f"{level.level} {level.target} reached")
            values.append(level.reached)
        stages.append(f"{level.level} filled")
        values.append(level.filled)
    funnel = go.Figure(go.Funnel(y=stages, x=values, textinfo="value+percent initial"))
    funnel.update_layout(title="Take-profit levels: reached and filled")
    charts.append(_figure_div(funnel, "chart-level-funnel"))
    return charts


def report_section(report, parity=None) -> str:
    from profitguard.report.tables import summary_rows

    parts = [
        "<h2>Summary in R (fees included)</h2>",
        _table(("Metric", "Value"), summary_rows(report.summary)),
        '<div class="grid">' + "".join(report_charts(report)) + "</div>",
        "<h2>Take-profit levels</h2>",
        _table(
            ("Level", "Target", "Peak reached", "Filled", "R contributed", "R per trade"),
            [
                (
                    r.level,
                    r.target or "-",
                    "-" if r.reached is None else r.reached,
                    r.filled,
                    f"{r.contributed_r:+.2f}",
                    f"{r.per_trade_r:+.3f}",
                )
                for r in report.levels
            ],
        ),
        "<h2>Exits by kind</h2>",
        _table(
            ("Exit", "Orders", "Trades", "Share of amount", "R contributed", "Slippage R"),
            [
                (
                    k.kind,
                    k.exits,
                    k.trades,
                    f"{k.amount_share:.1%}",
                    f"{k.contributed_r:+.2f}",
                    "-" if k.avg_slippage_r is None else f"{k.avg_slippage_r:+.3f}",
                )
                for k in report.kinds
            ],
        ),
        "<h2>Per pair</h2>",
        _groups("Pair", report.pairs),
    ]
    if report.bots:  # several bots' trades databases together
        parts += ["<h2>Per bot</h2>", _groups("Bot", report.bots)]
    if parity is not None:
        j = parity.to_json()
        parts.append(
            f"<h2>Parity with the engine</h2><p>{j['exact']} of {j['trades']} trades match "
            f"exactly, {j['within_one_tick']} within one price tick, {j['differ']} differ.</p>"
        )
    return "".join(parts)


def _groups(name: str, groups) -> str:
    """The per-pair (or per-bot) table: each group's summary in R."""
    return _table(
        (name, "Trades", "Win rate", "Expectancy R", "Total R"),
        [
            (g, s.trades, f"{s.win_rate:.1%}", f"{s.expectancy_r:+.3f}", f"{s.total_r:+.2f}")
            for g, s in groups
        ],
    )


def report_page(report, parity=None) -> str:
    """The whole report page."""
    title = f"profitguard report: {report.strategy or ''}"
    note = (
        f"{report.source}. R = net profit (exit value - entry value - fees) / "
        "(amount x |entry - initial stop|)."
    )
    return _page(title, note, report_section(report, parity))


def compare_charts(policies: Sequence[dict]) -> list[str]:
    import plotly.graph_objects as go

    names = [p["name"] for p in policies]
    bars = go.Figure(
        go.Bar(x=names, y=[p["expectancy_r"] for p in policies], marker_color="#1f77b4")
    )
    bars.update_layout(title="Expectancy in R per policy (same entries)", yaxis_title="R per trade")
    curves = go.Figure()
    for p in policies:
        curves.add_trace(
            go.Scatter(y=list(itertools.accumulate(p["r_values"])), mode="lines", name=p["name"])
        )
    curves.update_layout(title="Equity in R per policy", xaxis_title="trade", yaxis_title="R")
    return [_figure_div(bars, "chart-ab-expectancy"), _figure_div(curves, "chart-ab-equity")]


def compare_page(result: dict) -> str:
    """The A/B table of exit policies, with charts."""
    from profitguard.report.compare_table import table_rows

    headers, rows = table_rows(result["policies"], result.get("stake_currency", ""))
    body = (
        f"<p>{html.escape(result['entries_note'])}</p>"
        + _table(headers, rows)
        + "".join(
            f"<p>{html.escape(line)}</p>"
            for line in [result.get("tp_fill_note", ""), *result.get("verdict", [])]
            if line
        )
        + '<div class="grid">'
        + "".join(compare_charts(result["policies"]))
        + "</div>"
    )
    return _page(f"profitguard compare: {result['strategy']}", result["r_note"], body)
