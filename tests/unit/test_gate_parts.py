"""The risk gate's parts on their own: per-candle correlations, the closed-trade
history's cached period sums, and the one R of a closed trade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as hs

from profitguard.freqtrade.gate.account import ClosedHistory
from profitguard.freqtrade.gate.correlations import Correlations, Tail, _shared, shared_closes
from profitguard.risk import rules
from profitguard.risk.book import Account, ClosedTrade, r_multiple
from profitguard.risk.rules import Period

START = datetime(2024, 1, 1, tzinfo=UTC)


def candles(indices, closes=None, unit="us") -> pd.DataFrame:
    dates = pd.DatetimeIndex([START + timedelta(minutes=5 * i) for i in indices]).as_unit(unit)
    closes = closes if closes is not None else [100.0 + i + (i % 7) * 0.3 for i in indices]
    return pd.DataFrame({"date": dates, "close": closes})


def intersected(a: pd.DataFrame, b: pd.DataFrame, n: int) -> tuple[list, list]:
    """The pairing by intersecting the tails' dates in milliseconds, with no shortcut."""
    dates_a = a["date"].array[-2 * n :].as_unit("ms").asi8
    dates_b = b["date"].array[-2 * n :].as_unit("ms").asi8
    _, ia, ib = np.intersect1d(dates_a, dates_b, return_indices=True)
    ia, ib = ia[-n:], ib[-n:]
    return (
        a["close"].to_numpy()[-2 * n :][ia].tolist(),
        b["close"].to_numpy()[-2 * n :][ib].tolist(),
    )


@given(
    a=hs.sets(hs.integers(0, 80), min_size=1, max_size=60),
    b=hs.sets(hs.integers(0, 80), min_size=1, max_size=60),
    n=hs.integers(1, 30),
    units=hs.sampled_from([("us", "us"), ("ms", "ns"), ("ns", "ns")]),
)
def test_shared_closes_when_any_gaps_then_same_pairing_as_intersecting_the_dates(a, b, n, units):
    frame_a = candles(sorted(a), unit=units[0])
    frame_b = candles(sorted(b), [1000.0 + i for i in sorted(b)], unit=units[1])
    assert shared_closes(frame_a, frame_b, n) == intersected(frame_a, frame_b, n)


def test_shared_closes_when_same_last_candles_then_the_last_n_without_intersecting():
    a, b = candles(range(40)), candles(range(5, 40))
    closes_a, closes_b = _shared(Tail(a, 10), Tail(b, 10), 10)
    assert closes_a == a["close"].tolist()[-10:]
    assert closes_b == b["close"].tolist()[-10:]


def test_correlations_when_asked_again_on_the_same_candle_then_computed_once():
    frames = {
        "A/USDT": candles(range(60)),
        "B/USDT": candles(range(60), [float(i % 5 + 1) for i in range(60)]),
    }
    asked: list[str] = []

    def analyzed(pair: str) -> pd.DataFrame:
        asked.append(pair)
        return frames[pair]

    correlations = Correlations(analyzed, window=20)
    first = correlations.of("A/USDT", ["B/USDT"])
    tails = dict(correlations._tails)
    assert correlations.of("B/USDT", ["A/USDT"]) == [
        rules.Correlation("A/USDT", first[0].value, first[0].samples)
    ]  # the same pair pair the other way round: symmetric, not computed again
    assert correlations._tails == tails
    closes_a, closes_b = shared_closes(frames["A/USDT"], frames["B/USDT"], 21)
    expected = rules.pearson(rules.returns(closes_a), rules.returns(closes_b))
    assert first == [rules.Correlation("B/USDT", expected, 20)]


def test_correlations_when_the_next_candle_comes_then_computed_again():
    frames = {"A/USDT": candles(range(60)), "B/USDT": candles(range(60))}
    correlations = Correlations(frames.__getitem__, window=20)
    assert correlations.of("A/USDT", ["B/USDT"])[0].value == pytest.approx(1.0)
    # a new dataframe for B (its next candle), falling where A rose
    frames["B/USDT"] = candles(range(1, 61), [200.0 - i for i in range(1, 61)])
    frames["A/USDT"] = candles(range(1, 61))
    assert correlations.of("A/USDT", ["B/USDT"])[0].value < 0


@given(
    dates=hs.lists(hs.sets(hs.integers(0, 70), min_size=1, max_size=60), min_size=2, max_size=4),
    window=hs.integers(1, 25),
)
def test_correlations_when_pairs_share_or_miss_candles_then_pearson_of_the_shared_closes(
    dates, window
):
    """Each pairing as the rule defines it (its returns kept per pair are the same)."""
    pairs = [f"P{i}/USDT" for i in range(len(dates))]
    frames = {
        pair: candles(sorted(d), [100.0 + ((i * 7 + k * 13) % 11) for k in sorted(d)])
        for i, (pair, d) in enumerate(zip(pairs, dates, strict=True))
    }
    correlations = Correlations(frames.__getitem__, window=window)
    for pair in pairs:
        for got in correlations.of(pair, [p for p in pairs if p != pair]):
            first, second = sorted((pair, got.pair))
            closes_a, closes_b = shared_closes(frames[first], frames[second], window + 1)
            a, b = rules.returns(closes_a), rules.returns(closes_b)
            assert (got.value, got.samples) == (rules.pearson(a, b), len(a))


def closed(hours: float, profit: float) -> ClosedTrade:
    return ClosedTrade(pair="BTC/USDT", closed_at=START + timedelta(hours=hours), profit=profit)


def test_pnl_since_when_trades_close_then_the_rule_sums_the_same_as_without_the_cache():
    history = ClosedHistory(persistent=False, with_r=False)
    now = START + timedelta(days=3)
    for i, profit in enumerate([-10.0, 5.0, -2.5, 0.1, -7.0, 3.3]):
        history._add(i, closed(10 * i, profit))
        for period in Period:
            plain = Account(now=now, equity=1000.0, closed=list(history._sorted))
            cached = Account(
                now=now, equity=1000.0, closed=plain.closed, pnl_since=history.pnl_since
            )
            assert rules.period_loss(0.01, period, cached) == rules.period_loss(0.01, period, plain)
    history._add(99, closed(1, -100.0))  # closed out of order: the sums are made again
    start = rules.period_start(now, Period.WEEK)
    assert history.pnl_since(start, now) == rules.realized_pnl(history._sorted, start, now)


@given(
    hours=hs.lists(hs.integers(0, 24 * 40), max_size=12),
    now_hours=hs.lists(hs.integers(0, 24 * 45), min_size=1, max_size=5),
)
def test_pnl_since_when_now_before_or_after_the_last_close_then_the_rule_sum(hours, now_hours):
    history = ClosedHistory(persistent=False, with_r=False)
    for i, hour in enumerate(hours):
        history._add(i, closed(hour, float(i % 5) - 2.5))
    for hour in now_hours:
        now = START + timedelta(hours=hour)
        for period in Period:
            start = rules.period_start(now, period)
            expected = rules.realized_pnl(history._sorted, start, now)
            assert history.pnl_since(start, now) == expected


@pytest.mark.parametrize(
    ("profit", "entry", "stop", "amount", "r"),
    [
        (20.0, 100.0, 90.0, 2.0, 1.0),
        (-10.0, 100.0, 110.0, 1.0, -1.0),
        (5.0, 100.0, 100.0, 1.0, None),
    ],
)
def test_r_multiple_when_long_short_or_no_risk_then_profit_over_the_risk_taken(
    profit, entry, stop, amount, r
):
    assert r_multiple(profit, entry=entry, initial_stop=stop, amount=amount) == r


def imports_of(path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_imports_when_read_then_gate_and_strategy_apart_and_risk_free_of_freqtrade():
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "profitguard"
    for module in (package / "freqtrade" / "gate").glob("*.py"):
        assert "profitguard.freqtrade.strategy" not in imports_of(module), module
    strategy = imports_of(package / "freqtrade" / "strategy.py")
    assert not {m for m in strategy if m.startswith("profitguard.freqtrade.gate.")}, strategy
    for module in (package / "risk").glob("*.py"):
        if module.name == "cli.py":  # the guard command reads Freqtrade's config files
            continue
        found = {m for m in imports_of(module) if m.split(".")[0] == "freqtrade"}
        found |= {m for m in imports_of(module) if m.startswith("profitguard.freqtrade")}
        assert not found, (module, found)
