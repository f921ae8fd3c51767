"""Walk-forward windows, the fold choice, the bootstrap interval and PBO (CSCV) on
synthetic R matrices: pure noise overfits half the time, a planted edge does not."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from profitguard.freqtrade.loss import r_score
from profitguard.tooling.research.walkforward import (
    DAY_MS,
    bootstrap_ci,
    pbo,
    walk_forward,
    windows,
)


def test_windows_when_rolling_then_tests_follow_their_train_and_never_overlap():
    ws = windows(0, 60 * DAY_MS, 20 * DAY_MS, 10 * DAY_MS, anchored=False)
    assert len(ws) == 4
    for w in ws:
        assert w.train_end - w.train_start == 20 * DAY_MS
        assert w.test_start == w.train_end and w.test_end - w.test_start == 10 * DAY_MS
        assert w.test_end <= 60 * DAY_MS
    for a, b in itertools.pairwise(ws):
        assert b.test_start == a.test_end  # consecutive, no overlap


def test_windows_when_anchored_then_every_train_starts_at_the_start():
    ws = windows(0, 60 * DAY_MS, 20 * DAY_MS, 10 * DAY_MS, anchored=True)
    assert [w.train_start for w in ws] == [0] * 4
    assert [w.train_end for w in ws] == [20 * DAY_MS, 30 * DAY_MS, 40 * DAY_MS, 50 * DAY_MS]


def test_windows_when_longer_than_the_data_then_value_error_names_both_lengths():
    with pytest.raises(ValueError, match=r"train \+ test \(40 days\) is longer than the data"):
        windows(0, 30 * DAY_MS, 30 * DAY_MS, 10 * DAY_MS, anchored=False)


def _noise(configs: int, entries: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, size=(configs, entries))


def test_pbo_when_every_config_is_noise_then_about_one_half():
    values = [pbo(_noise(50, 400, seed), np.arange(400), blocks=10) for seed in range(8)]
    assert 0.3 <= float(np.mean(values)) <= 0.7


def test_pbo_when_one_config_has_a_real_edge_then_low():
    r = _noise(50, 400, 1)
    r[17] += 0.6  # a real edge: better in every block
    assert pbo(r, np.arange(400), blocks=10) < 0.1


def test_pbo_when_one_config_then_none():
    assert pbo(_noise(1, 40, 0), np.arange(40)) is None


def test_bootstrap_ci_when_seeded_then_repeatable_and_around_the_mean():
    x = np.random.default_rng(3).normal(0.2, 1.0, 500).tolist()
    low, high = bootstrap_ci(x, seed=7)
    assert (low, high) == tuple(bootstrap_ci(x, seed=7))
    assert low < float(np.mean(x)) < high
    assert 0.1 < high - low < 0.25  # about 4 standard errors (1/sqrt(500) = 0.045)


def test_walk_forward_when_an_edge_is_planted_then_each_fold_chooses_it_out_of_sample():
    entries, configs = 600, 30
    open_ms = np.sort(np.random.default_rng(5).integers(0, 60 * DAY_MS, entries))
    close_ms = np.tile(open_ms + 3_600_000, (configs, 1))
    r = _noise(configs, entries, 9)
    r[4] += 0.8
    folds = windows(0, 60 * DAY_MS, 20 * DAY_MS, 10 * DAY_MS, anchored=False)
    wf = walk_forward(r, close_ms, open_ms, folds, r_score, seed=1, blocks=10)
    assert [f.config for f in wf.folds] == [4] * len(folds)
    tested = np.concatenate([f.out_of_sample for f in wf.folds])
    assert wf.out_of_sample_expectancy_r == pytest.approx(float(r[4][tested].mean()))
    assert sum(f.out_of_sample_trades for f in wf.folds) == len(wf.out_of_sample_r)
    assert wf.ci95[0] < wf.out_of_sample_expectancy_r < wf.ci95[1]
    assert wf.efficiency is not None and 0.5 < wf.efficiency < 1.5
    assert wf.pbo < 0.1
    for f in wf.folds:  # no test entry before its train window ends
        assert (open_ms[f.out_of_sample] >= f.window.train_end).all()


def test_walk_forward_when_noise_then_in_sample_beats_out_of_sample():
    entries, configs = 600, 60
    open_ms = np.sort(np.random.default_rng(2).integers(0, 60 * DAY_MS, entries))
    close_ms = np.tile(open_ms, (configs, 1))
    r = _noise(configs, entries, 4)
    folds = windows(0, 60 * DAY_MS, 20 * DAY_MS, 10 * DAY_MS, anchored=True)
    wf = walk_forward(r, close_ms, open_ms, folds, r_score, blocks=10)
    mean_is = np.mean([f.in_sample_expectancy_r for f in wf.folds])
    assert mean_is > wf.out_of_sample_expectancy_r
    assert wf.pbo > 0.2
