"""`sweep --html`: the sweep on one self-contained page (plotly embedded, no CDN).

Three charts: expectancy in R over two parameters the user picks (each cell the
mean over the ladders sampled with those two values), the equity in R of the
walk-forward's out-of-sample trades against the baselines on the same entries
(without walk-forward: the best ladder on every entry), and in-sample against
out-of-sample expectancy per fold. The tables repeat the terminal's figures.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from profitguard.report.html import _figure_div, _page, _table
from profitguard.tooling.research.ladder_figures import closing_order


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:+.{digits}f}"
    return str(v)


BINS = 8  # a parameter with more sampled values than this is shown in bins


def _axis(values: Sequence[Any]) -> tuple[list[str], list[int]]:
    """(labels, each value's cell): one cell per value, or BINS equal-width bins."""
    distinct = sorted(set(values))
    if len(distinct) <= BINS or not all(isinstance(v, int | float) for v in distinct):
        labels = [str(v) for v in distinct]
        return labels, [distinct.index(v) for v in values]
    low, high = float(distinct[0]), float(distinct[-1])
    width = (high - low) / BINS
    cells = [min(int((float(v) - low) / width), BINS - 1) for v in values]
    labels = [f"{low + k * width:.3g}-{low + (k + 1) * width:.3g}" for k in range(BINS)]
    return labels, cells


def heatmap(points: Sequence[dict], expectancy: Sequence[float], axes: tuple[str, str]):
    """Mean expectancy R per cell of two parameters, over the ladders sampled there."""
    import plotly.graph_objects as go

    x_name, y_name = axes
    x_labels, x_cells = _axis([p[x_name] for p in points])
    y_labels, y_cells = _axis([p[y_name] for p in points])
    cells: dict[tuple[int, int], list[float]] = {}
    for x, y, e in zip(x_cells, y_cells, expectancy, strict=True):
        cells.setdefault((x, y), []).append(float(e))
    z = [
        [float(np.mean(cells[(x, y)])) if (x, y) in cells else None for x in range(len(x_labels))]
        for y in range(len(y_labels))
    ]
    fig = go.Figure(
        go.Heatmap(
            x=x_labels,
            y=y_labels,
            z=z,
            colorscale="RdYlGn",
            zmid=0.0,
            colorbar={"title": "R / trade"},
        )
    )
    fig.update_layout(
        title=f"Expectancy R by {x_name} and {y_name}", xaxis_title=x_name, yaxis_title=y_name
    )
    return fig


def equity(curves: dict[str, list[float]], boundaries: Sequence[int], title: str):
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, rs in curves.items():
        fig.add_trace(go.Scatter(y=np.cumsum(rs).tolist(), mode="lines", name=name))
    for b in boundaries:
        fig.add_vline(x=b, line_dash="dot", line_color="#999")
    fig.update_layout(title=title, xaxis_title="trade (closing order)", yaxis_title="cumulative R")
    return fig


def is_vs_oos(folds: Sequence[dict]):
    import plotly.graph_objects as go

    names = [f"fold {i}" for i in range(1, len(folds) + 1)]
    fig = go.Figure(
        [
            go.Bar(name="in sample", x=names, y=[f["in_sample_expectancy_r"] for f in folds]),
            go.Bar(
                name="out of sample", x=names, y=[f["out_of_sample_expectancy_r"] for f in folds]
            ),
        ]
    )
    fig.update_layout(
        title="Expectancy R per fold: in sample vs out of sample",
        barmode="group",
        yaxis_title="R / trade",
    )
    return fig


def sweep_page(
    result: dict,
    points: Sequence[dict],
    expectancy: Sequence[float],
    r: np.ndarray,
    close: np.ndarray,
    axes: tuple[str, str] | None,
    wf,
    r_baselines: np.ndarray,
    close_baselines: np.ndarray,
    baseline_names: Sequence[str],
    strategy: str,
) -> str:
    charts = []
    if axes is not None:
        charts.append(_figure_div(heatmap(points, expectancy, axes), "pg-heatmap"))
    if wf is not None and wf.folds:
        curves: dict[str, list[float]] = {"walk-forward choice": []}
        for name in baseline_names:
            curves[name] = []
        boundaries = []
        for f in wf.folds:
            test = f.out_of_sample
            curves["walk-forward choice"] += r[f.config][
                closing_order(close[f.config], test)
            ].tolist()
            for b, name in enumerate(baseline_names):
                curves[name] += r_baselines[b][closing_order(close_baselines[b], test)].tolist()
            boundaries.append(len(curves["walk-forward choice"]))
        charts.append(
            _figure_div(
                equity(curves, boundaries[:-1], "Out-of-sample equity in R, per fold"),
                "pg-oos-equity",
            )
        )
        charts.append(_figure_div(is_vs_oos(result["walk_forward"]["folds"]), "pg-is-oos"))
    else:
        best = points.index(result["ranking"][0]["params"]) if result["ranking"] else 0
        curves = {"best ladder": r[best][closing_order(close[best])].tolist()}
        for b, name in enumerate(baseline_names):
            curves[name] = r_baselines[b][closing_order(close_baselines[b])].tolist()
        charts.append(_figure_div(equity(curves, [], "Equity in R on every entry"), "pg-equity"))

    headers = ("#", "Trades", "Win rate", "Expectancy R", "Profit factor", "Max DD (R)")

    def cells(row: dict) -> list[str]:
        pf = row["profit_factor"]
        return [
            str(row["trades"]),
            f"{row['win_rate']:.1%}",
            _fmt(row["expectancy_r"]),
            "-" if pf is None else f"{pf:.2f}",
            f"{row['max_drawdown_r']:.2f}",
        ]

    body = [
        '<div class="grid">' + "".join(charts) + "</div>",
        "<h2>Ranking (ProfitGuardRLoss), best first</h2>",
        _table(
            headers,
            [[str(i), *cells(row)] for i, row in zip(itertools.count(1), result["ranking"][:20])],
        ),
        "<h2>Baselines on the same entries</h2>",
        _table(("Baseline", *headers[1:]), [[b["name"], *cells(b)] for b in result["baselines"]]),
    ]
    if result["verify"]:
        body += [
            "<h2>Verified as Freqtrade backtests</h2>",
            _table(
                ("Trades", "Identical", "Max R diff"),
                [
                    [str(v["trades"]), "yes" if v["identical"] else "NO", f"{v['max_r_diff']:.2e}"]
                    for v in result["verify"]
                ],
            ),
        ]
    if result.get("walk_forward"):
        w = result["walk_forward"]
        body += [
            "<h2>Walk-forward</h2>",
            _table(
                ("Train", "Test", "IS expectancy R", "OOS expectancy R", "OOS trades"),
                [
                    [
                        f"{f['train_start'][:10]} .. {f['train_end'][:10]}",
                        f"{f['test_start'][:10]} .. {f['test_end'][:10]}",
                        _fmt(f["in_sample_expectancy_r"]),
                        _fmt(f["out_of_sample_expectancy_r"]),
                        str(f["out_of_sample_trades"]),
                    ]
                    for f in w["folds"]
                ],
            ),
            _table(
                ("Figure", "Value"),
                [
                    [
                        "OOS expectancy R (95% CI)",
                        f"{_fmt(w['out_of_sample_expectancy_r'])} "
                        f"({_fmt(w['ci95'][0])} .. {_fmt(w['ci95'][1])})",
                    ],
                    ["Walk-forward efficiency", _fmt(w["efficiency"], 2)],
                    ["PBO (CSCV)", "-" if w["pbo"] is None else f"{w['pbo']:.2f}"],
                ],
            ),
        ]
    note = (
        f"{result['configs_evaluated']} ladders on {result['entries']} entries in "
        f"{result['seconds']:.1f}s. R against the strategy's initial stop, fees included."
    )
    return _page(f"profitguard sweep: {strategy}", note, "\n".join(body))
