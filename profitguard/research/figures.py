"""The figures of one ladder on a set of entries, from its R per entry.

The same figures, from the same formulas, as `compare`'s table
(`report.compare_table.policy_figures`) and the same score as ProfitGuardRLoss
(`freqtrade.loss.r_score`): trades in closing order (close, then open time, then
pair), win rate (R > 0), expectancy, profit factor in R, max drawdown of the
cumulative R curve. The unit tests check them against `policy_figures`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from profitguard.report.analytics import max_drawdown

Score = Callable[[Sequence[float]], float]


def closing_order(close_ms: np.ndarray, selection: np.ndarray | None = None) -> np.ndarray:
    """Entry indices (of `selection`, default all) in closing order; entries are
    stored in opening order (open time, pair), which breaks ties."""
    idx = np.arange(len(close_ms)) if selection is None else np.asarray(selection)
    return idx[np.lexsort((idx, close_ms[idx]))]


def figures(r_in_closing_order: Sequence[float]) -> dict:
    rs = [float(r) for r in r_in_closing_order]
    wins = [r for r in rs if r > 0]
    losses = -math.fsum(r for r in rs if r <= 0)
    return {
        "trades": len(rs),
        "win_rate": len(wins) / len(rs) if rs else 0.0,
        "expectancy_r": math.fsum(rs) / len(rs) if rs else 0.0,
        "profit_factor": math.fsum(wins) / losses if losses > 0 else None,
        "max_drawdown_r": max_drawdown(rs),
    }


def score_of(r: np.ndarray, close_ms: np.ndarray, score: Score, selection=None) -> float:
    """`score` (ProfitGuardRLoss's, higher is better) of one ladder's R row."""
    order = closing_order(close_ms, selection)
    return score(r[order].tolist())


def rank(scores: Sequence[float]) -> list[int]:
    """Config indices best first; ties keep the sampling order (deterministic)."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))
