"""The figures of one ladder on a set of entries, from its R per entry.

The same figures, from the same code, as `report` and `compare`
(`report.figures.summarize_r`) and the same score as ProfitGuardRLoss
(`freqtrade.loss.r_score`): trades in closing order (close, then open time, then
pair), win rate (R > 0), expectancy, profit factor in R, max drawdown of the
cumulative R curve. The unit tests check them against `compare`'s table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from profitguard.report.figures import summarize_r

Score = Callable[[Sequence[float]], float]


def closing_order(close_ms: np.ndarray, selection: np.ndarray | None = None) -> np.ndarray:
    """Entry indices (of `selection`, default all) in closing order; entries are
    stored in opening order (open time, pair), which breaks ties."""
    idx = np.arange(len(close_ms)) if selection is None else np.asarray(selection)
    return idx[np.lexsort((idx, close_ms[idx]))]


def figures(r_in_closing_order: Sequence[float]) -> dict:
    """The ranking's figures: `report.figures.summarize_r`'s (the one summary
    `report` and `compare` print)."""
    summary = summarize_r([float(r) for r in r_in_closing_order])
    return {
        "trades": summary.trades,
        "win_rate": summary.win_rate,
        "expectancy_r": summary.expectancy_r,
        "profit_factor": summary.profit_factor,
        "max_drawdown_r": summary.max_drawdown_r,
    }


def score_of(r: np.ndarray, close_ms: np.ndarray, score: Score, selection=None) -> float:
    """`score` (ProfitGuardRLoss's, higher is better) of one ladder's R row."""
    order = closing_order(close_ms, selection)
    return score(r[order].tolist())


def rank(scores: Sequence[float]) -> list[int]:
    """Config indices best first; ties keep the sampling order (deterministic)."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))
