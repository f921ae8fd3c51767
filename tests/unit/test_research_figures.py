"""The sweep's figures are compare's figures, and its space is the strategy's."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from profitguard.report.compare_table import policy_figures
from profitguard.report.figures import trade_key
from profitguard.report.records import Fill, TradeRecord
from profitguard.tooling.research.ladder_figures import closing_order, figures, rank
from profitguard.tooling.research.recording import entry_of
from profitguard.tooling.research.space import Dimension, Space, SpaceError, check_point, sample


def _records(n: int, seed: int) -> list[TradeRecord]:
    rng = np.random.default_rng(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        opened = t0 + timedelta(minutes=5 * int(rng.integers(0, 500)))
        closed = opened + timedelta(minutes=5 * int(rng.integers(1, 50)))
        entry = 100.0
        price = float(entry + rng.normal(0, 3))
        out.append(
            TradeRecord(
                f"P{i % 3}/USDT",
                False,
                opened,
                closed,
                entry,
                1.0,
                98.0,
                0.001,
                0.001,
                (Fill("stop", 1.0, price, closed),),
                "stop",
                None,
                None,
                None,
            )
        )
    return out


def test_figures_when_given_the_same_trades_then_equal_compare_policy_figures():
    records = _records(200, 1)
    # the sweep stores entries in opening order, R per entry, and sorts by close
    records.sort(key=lambda t: (t.open_date, t.pair))
    r = np.array([t.net_profit / (t.amount * abs(t.entry - t.initial_stop)) for t in records])
    close = np.array([int(t.close_date.timestamp() * 1000) for t in records])
    ours = figures(r[closing_order(close)].tolist())
    theirs = policy_figures("x", "", records, {trade_key(t): t.initial_stop for t in records})
    assert ours["trades"] == theirs["trades"]
    assert ours["win_rate"] == theirs["win_rate"]
    assert ours["expectancy_r"] == theirs["expectancy_r"]
    assert ours["profit_factor"] == theirs["profit_factor"]
    assert ours["max_drawdown_r"] == theirs["max_drawdown"]


def test_rank_when_scores_tie_then_sampling_order_decides():
    assert rank([0.1, 0.3, 0.3, -1.0]) == [1, 2, 0, 3]


SPACE = Space(
    "S",
    (
        Dimension("pg_tp1_r", "decimal", 1.5, 2.0, 1, value=2.0),
        Dimension("pg_tp1_weight", "int", 1, 3, value=2),
        Dimension("pg_trail", "categorical", choices=(False, True), value=False),
        Dimension("pg_trail_pct", "decimal", 0.01, 0.02, 3, value=0.015, optimize=False),
    ),
)


def test_sample_when_seeded_then_repeatable_on_the_grid_and_unique():
    a, b = sample(SPACE, 64, 3), sample(SPACE, 64, 3)
    assert a == b
    assert a != sample(SPACE, 64, 4)
    keys = [tuple(p.values()) for p in a]
    assert len(set(keys)) == len(keys)
    # a Latin hypercube covers every value of every parameter (each is a stratum)
    assert {p["pg_tp1_r"] for p in a} == {1.5, 1.6, 1.7, 1.8, 1.9, 2.0}
    assert {p["pg_tp1_weight"] for p in a} == {1, 2, 3}
    assert {p["pg_trail"] for p in a} == {False, True}
    assert {p["pg_trail_pct"] for p in a} == {0.015}  # optimize=False keeps its value


def test_check_point_when_a_name_is_not_in_the_space_then_names_it_and_the_space():
    with pytest.raises(SpaceError, match=r"'pg_nope' is not a parameter of S's 'profitguard'"):
        check_point(SPACE, {"pg_nope": 1}, "grid item 0")
    with pytest.raises(SpaceError, match=r"pg_tp1_r=3.0 is outside the space \(1.5 .. 2\)"):
        check_point(SPACE, {"pg_tp1_r": 3.0}, "grid item 0")


def test_space_of_when_the_user_narrows_a_range_then_the_narrowed_range():
    from freqtrade.strategy import DecimalParameter
    from freqtrade.strategy.hyper import detect_all_parameters

    from profitguard.freqtrade.hyperopt import ProfitGuardHyperoptStrategy
    from profitguard.tooling.research.space import space_of

    class Narrow(ProfitGuardHyperoptStrategy):
        pg_tp1_r = DecimalParameter(2.0, 2.5, default=2.0, decimals=1, space="profitguard")

        def populate_indicators(self, dataframe, metadata):
            return dataframe

        def populate_entry_trend(self, dataframe, metadata):
            return dataframe

        def populate_exit_trend(self, dataframe, metadata):
            return dataframe

    strategy = Narrow({})
    # what Freqtrade's start-up (ft_load_hyper_params) finds on the class
    strategy._ft_hyper_params = detect_all_parameters(Narrow)
    space = space_of(strategy)
    d = space.dimension("pg_tp1_r")
    assert (d.low, d.high, d.decimals) == (2.0, 2.5, 1)
    assert len(space.dimensions) == 15


def test_entry_of_when_opened_between_milliseconds_then_keyed_as_the_report_keys_its_trade():
    """The sweep's entries and the backtest's trades meet on one key (`trade_key`): an
    open time 0.999 ms past the minute rounds to the next millisecond for both."""
    (trade,) = _records(1, seed=1)
    trade = dataclasses.replace(trade, open_date=trade.open_date + timedelta(microseconds=999))
    entry = entry_of(trade, tick=None)
    assert (entry.pair, entry.open_ms, entry.is_short) == trade_key(trade)
