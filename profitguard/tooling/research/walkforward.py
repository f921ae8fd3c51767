"""Walk-forward and the probability of backtest overfitting, over an R matrix.

Pure functions. Input: R of every configuration on every entry (configs x
entries), when each trade closed, and when each entry opened. An entry belongs to
the window it opened in (its trade may close after the window ends).

- `windows`: rolling (or anchored) train windows, each followed by the test window
  right after it; test windows follow one another and never overlap.
- `walk_forward`: per fold, the configuration with the best score on the train
  entries, its expectancy in sample and on the test entries; overall, the
  out-of-sample expectancy over all test trades with a bootstrap 95% interval,
  and walk-forward efficiency (out-of-sample over the mean in-sample expectancy).
- `pbo`: the probability of backtest overfitting by combinatorially symmetric
  cross-validation (Bailey, Borwein, López de Prado and Zhu, 2015): the entries in
  time order cut into S blocks; for every choice of S/2 blocks as the in-sample
  half, the best configuration there is ranked on the other half; PBO is the
  share of splits where it ranks at or below the median (logit <= 0).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from profitguard.tooling.research.ladder_figures import closing_order

DAY_MS = 86_400_000
Score = Callable[[Sequence[float]], float]


@dataclass(frozen=True)
class Window:
    train_start: int  # ms, inclusive
    train_end: int  # ms, exclusive
    test_start: int
    test_end: int


def windows(
    start_ms: int, end_ms: int, train_ms: int, test_ms: int, anchored: bool
) -> list[Window]:
    """Folds over [start_ms, end_ms): every test window whole, none overlapping.
    Raises ValueError when not even one train window and its test window fit."""
    if train_ms <= 0 or test_ms <= 0:
        raise ValueError("train and test windows must be longer than zero")
    if start_ms + train_ms + test_ms > end_ms:
        raise ValueError(
            f"train + test ({(train_ms + test_ms) / DAY_MS:g} days) is longer than the data "
            f"({(end_ms - start_ms) / DAY_MS:.2f} days)"
        )
    out = []
    k = 0
    while True:
        test_start = start_ms + train_ms + k * test_ms
        test_end = test_start + test_ms
        if test_end > end_ms:
            return out
        train_start = start_ms if anchored else test_start - train_ms
        out.append(Window(train_start, test_start, test_start, test_end))
        k += 1


def in_window(open_ms: np.ndarray, start: int, end: int) -> np.ndarray:
    return np.flatnonzero((open_ms >= start) & (open_ms < end))


def mean_r(r: np.ndarray, selection: np.ndarray) -> float:
    return math.fsum(r[selection].tolist()) / len(selection) if len(selection) else 0.0


def best_config(r: np.ndarray, close_ms: np.ndarray, selection: np.ndarray, score: Score) -> int:
    """The configuration with the highest score on `selection` (ties: the first)."""
    best, best_score = 0, -math.inf
    for c in range(r.shape[0]):
        order = closing_order(close_ms[c], selection)
        s = score(r[c][order].tolist())
        if s > best_score:
            best, best_score = c, s
    return best


def bootstrap_ci(values: Sequence[float], seed: int, rounds: int = 10_000) -> list[float]:
    """95% percentile interval of the mean, resampling trades with replacement."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return [0.0, 0.0]
    rng = np.random.default_rng(seed)
    means = np.empty(rounds)
    chunk = max(1, 2_000_000 // len(x))
    for lo in range(0, rounds, chunk):
        hi = min(rounds, lo + chunk)
        means[lo:hi] = x[rng.integers(0, len(x), size=(hi - lo, len(x)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return [float(low), float(high)]


@dataclass(frozen=True)
class Fold:
    window: Window
    config: int
    in_sample_expectancy_r: float
    in_sample_trades: int
    out_of_sample_expectancy_r: float
    out_of_sample_trades: int
    out_of_sample: np.ndarray  # the test entries' indices


@dataclass(frozen=True)
class WalkForward:
    folds: list[Fold]
    out_of_sample_r: list[float]  # the chosen configurations' R on every test entry
    out_of_sample_expectancy_r: float
    ci95: list[float]
    efficiency: float | None
    pbo: float | None


def walk_forward(
    r: np.ndarray,
    close_ms: np.ndarray,
    open_ms: np.ndarray,
    folds: Sequence[Window],
    score: Score,
    *,
    seed: int = 0,
    blocks: int = 16,
) -> WalkForward:
    done = []
    oos: list[float] = []
    for w in folds:
        train = in_window(open_ms, w.train_start, w.train_end)
        test = in_window(open_ms, w.test_start, w.test_end)
        c = best_config(r, close_ms, train, score)
        done.append(
            Fold(w, c, mean_r(r[c], train), len(train), mean_r(r[c], test), len(test), test)
        )
        oos.extend(r[c][test].tolist())
    expectancy = math.fsum(oos) / len(oos) if oos else 0.0
    in_sample = [f.in_sample_expectancy_r for f in done]
    mean_is = math.fsum(in_sample) / len(in_sample) if in_sample else 0.0
    return WalkForward(
        folds=done,
        out_of_sample_r=oos,
        out_of_sample_expectancy_r=expectancy,
        ci95=bootstrap_ci(oos, seed),
        efficiency=expectancy / mean_is if mean_is > 0 else None,
        pbo=pbo(r, np.argsort(open_ms, kind="stable"), blocks),
    )


def _average_ranks(row: np.ndarray, j: int) -> float:
    """1-based rank of row[j] among row, ascending, ties sharing their mean rank."""
    below = np.count_nonzero(row < row[j])
    equal = np.count_nonzero(row == row[j])
    return below + (equal + 1) / 2.0


def pbo(r: np.ndarray, time_order: np.ndarray, blocks: int = 16) -> float | None:
    """PBO by CSCV over `blocks` contiguous blocks of the entries in `time_order`;
    performance = expectancy in R. None with fewer than 2 configurations or entries."""
    n_configs, n_entries = r.shape
    s = min(blocks, n_entries - n_entries % 2)
    if n_configs < 2 or s < 2:
        return None
    parts = np.array_split(time_order, s)
    sums = np.stack([r[:, p].sum(axis=1) for p in parts])  # (s, configs)
    counts = np.array([len(p) for p in parts], dtype=float)
    combos = np.array(list(itertools.combinations(range(s), s // 2)))
    picked = np.zeros((len(combos), s))
    picked[np.arange(len(combos))[:, None], combos] = 1.0
    logits = []
    step = max(1, 4_000_000 // max(n_configs, 1))
    for lo in range(0, len(picked), step):
        m = picked[lo : lo + step]
        is_perf = (m @ sums) / (m @ counts)[:, None]
        oos_perf = ((1 - m) @ sums) / ((1 - m) @ counts)[:, None]
        best = is_perf.argmax(axis=1)
        for row, j in zip(oos_perf, best, strict=True):
            w = _average_ranks(row, int(j)) / (n_configs + 1)
            logits.append(math.log(w / (1 - w)))
    return float(np.mean(np.asarray(logits) <= 0))
