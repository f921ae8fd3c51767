"""The sweep's candle skipping against the engine on every candle: identical exits.

`research.evaluate.outcome` replays an entry through `report.parity.engine_exits`
(the engine's `step` in Freqtrade's backtest order) but skips the candles where
its event search says nothing can happen. Random ladders (take-profits in R or
pct, stop ladders, both take-profit stop rules, trailing with and without an
activation, amount steps and minimums) over random candle paths, longs and shorts,
with and without a price tick, through both: the exits (tags, amounts, prices,
candles), the close time and R must be identical.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profitguard.engine import ProtectionConfig
from profitguard.tooling.research.evaluate import outcome, outcomes, prepare
from profitguard.tooling.research.paths import Entry, candles_from_rows, entry_path
from tests.property.strategies import scenarios

MINUTE = 60_000


@st.composite
def paths(draw):
    s = draw(scenarios())
    sign = -1.0 if s.is_short else 1.0
    risk = abs(s.entry - s.initial_stop)
    tick = draw(st.none() | st.sampled_from([1e-8, 1e-4, 1e-2]))
    if tick is not None:
        tick = max(tick, 10.0 ** math.floor(math.log10(risk / 50)))  # a few ticks per R at least

    def snap(p: float) -> float:
        if tick is None:
            return p
        return max(round(round(p / tick) * tick, 12), tick)

    # each scenario price is the close of a candle; highs and lows reach beyond it,
    # often exactly to a level or trigger (the scenario's marks are among the prices)
    rows = []
    prev = s.entry
    for price in s.prices:
        up = draw(st.sampled_from([0.0, 0.0, 0.3, 1.0])) * risk
        down = draw(st.sampled_from([0.0, 0.0, 0.3, 1.0])) * risk
        o = prev
        hi = max(o, price) + up
        lo = max(min(o, price) - down, risk * 1e-3)
        rows.append((o, hi, lo))
        prev = price
    rows = [(snap(o), snap(h), snap(lo)) for o, h, lo in rows]
    rows = [(o, max(o, h, lo), min(o, h, lo)) for o, h, lo in rows]
    if s.is_short:
        pass  # the same candles serve a short: sign handles best and worst
    entry_price = rows[0][0]
    stop = entry_price - sign * risk
    if stop <= 0:
        stop = entry_price * 0.5
    t0 = 1_700_000_000_000
    candles = candles_from_rows(
        [(t0 + i * 5 * MINUTE, o, h, lo) for i, (o, h, lo) in enumerate(rows)],
        tick=tick,
        amount_step=s.amount_step,
    )
    entry = Entry("X/USDT", s.is_short, t0, entry_price, s.amount, stop, 0.001, 0.001)
    config = s.config
    # one rule alone now and then: each of the shortcut's thresholds must hold by itself
    alone = draw(st.sampled_from([None, None, "take_profits", "stop_ladder", "trail_pct"]))
    if alone is not None:
        config = replace(
            config,
            take_profits=config.take_profits if alone == "take_profits" else (),
            stop_ladder=config.stop_ladder if alone == "stop_ladder" else (),
            trail_pct=config.trail_pct if alone == "trail_pct" else None,
        )
    return config, entry_path(entry, candles), draw(st.none() | st.floats(0.005, 0.1))


@given(paths())
def test_sweep_evaluator_when_candles_are_skipped_then_exits_equal_the_engine_on_every_candle(
    case,
):
    config, path, stop_ratio = case
    full = outcome(path, config, stop_ratio=stop_ratio, skip=False)
    fast = outcome(path, config, stop_ratio=stop_ratio, skip=True)
    assert fast.exits == full.exits
    assert fast.close_ms == full.close_ms
    assert fast.r == full.r


@given(paths())
def test_sweep_evaluator_when_plain_entries_reuse_one_replay_then_exits_equal_the_engine(case):
    """An entry that never reaches anything the ladder acts on reuses the outcome
    without ladders; on every other entry the engine runs: always the same exits."""
    config, path, _ = case
    full = outcome(path, config, skip=False)
    (fast,) = outcomes(config, prepare([path]))
    assert fast.exits == full.exits
    assert fast.close_ms == full.close_ms
    assert fast.r == full.r


def _path_touching(level: float, is_short: bool = False):
    """Entry 100, stop 99 (98 after the sign for a short: 101); the second candle's
    best price is exactly `level`, the third falls through the initial stop."""
    sign = -1.0 if is_short else 1.0
    t0 = 1_700_000_000_000
    rows = [
        (100.0, 100.2, 99.8),
        (100.0, level, 100.0) if not is_short else (100.0, 100.0, level),
        (100.1, 100.1, 98.5) if not is_short else (99.9, 101.5, 99.9),
    ]
    candles = candles_from_rows(
        [(t0 + i * 5 * MINUTE, o, max(h, lo), min(h, lo)) for i, (o, h, lo) in enumerate(rows)]
    )
    entry = Entry("X/USDT", is_short, t0, 100.0, 1.0, 100.0 - sign, 0.001, 0.001)
    return entry_path(entry, candles)


@pytest.mark.parametrize("is_short", [False, True])
@pytest.mark.parametrize(
    ("exits", "reach_r"),
    [
        ({"preset": "none", "take_profits": [[1.0, 1.0]]}, 1.0),
        ({"preset": "none", "take_profits": [[0.01, 1.0]], "tp_unit": "pct"}, 1.0),
        ({"preset": "none", "stop_ladder": [[1.0, 0.5]]}, 1.0),
        ({"preset": "none", "trail_pct": 0.005}, 0.5),
        ({"preset": "none", "trail_pct": 0.003, "trail_activation_pct": 0.008}, 0.8),
    ],
)
def test_sweep_evaluator_when_the_peak_touches_the_first_threshold_then_the_engine_runs(
    exits, reach_r, is_short
):
    """Exactly at the lowest price a rule acts on (which the shortcut must not take
    for 'nothing happens'), then down through the initial stop."""
    config = ProtectionConfig.from_mapping(exits)
    sign = -1.0 if is_short else 1.0
    path = _path_touching(100.0 + sign * reach_r, is_short)
    full = outcome(path, config, skip=False)
    (fast,) = outcomes(config, prepare([path]))
    assert fast.exits == full.exits
    assert full.exits != outcome(path, ProtectionConfig.from_mapping({"preset": "none"})).exits
