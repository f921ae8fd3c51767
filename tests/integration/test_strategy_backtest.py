"""ProfitGuardStrategy under the real `freqtrade backtesting`, on crafted price paths.

Each pair holds one scripted path whose outcome is known: the entry is marked in
the data (volume 777 on the signal candle, entry at the next open), every exit is
profitguard's. Entry 100, initial stop 2% (98), so 1R = 2 and the r_ladder targets
are 104 (TP1, 50%), 106 (TP2, 25%) and 108 (TP3, the rest).

Parity: each trade's exits are compared with `profitguard simulate --candles`
over the same data file: same levels, same amounts, filled in the candle where
the engine fired, at a price inside that candle.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.exchange_fixtures import last_backtest_stats, write_candles

STRATEGIES = Path(__file__).parent / "strategies"
START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
FLAT = (100.0, 100.0, 100.0, 100.0)
ENTRY = (100.0, 100.5, 99.5, 100.2)

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]

# pair -> the candles from the entry candle on (before it: flat candles, the last one marked)
R_LADDER_PATHS = {
    "LAD/USDT": [  # TP1, TP2, TP3 in order, each at a candle open
        ENTRY,
        (100.2, 102.5, 100.1, 102.0),  # peak 1.25R: stop to breakeven (100)
        (102.0, 103.5, 101.5, 103.0),  # peak 1.75R: stop 0.5R (101)
        (104.5, 105.0, 104.2, 104.8),  # TP1 at the open 104.5; stop 1R (102)
        (106.5, 107.0, 106.2, 106.8),  # TP2 at 106.5; stop 1.5R (103)
        (108.5, 109.0, 108.2, 108.8),  # TP3 at 108.5: all closed
    ],
    "BEV/USDT": [  # the stop moves to breakeven, and the trade leaves there
        ENTRY,
        (100.2, 102.5, 100.1, 101.5),  # peak 1.25R: stop 100
        (101.5, 101.8, 99.8, 100.0),  # low crosses 100: stopped at breakeven
    ],
    "ONE/USDT": [  # TP1, then the stop at 1R takes the rest, above entry
        ENTRY,
        (102.3, 104.6, 102.2, 104.2),  # high 104.6 passes TP1 (2.3R): stop 1R (102)
        (104.2, 104.4, 103.8, 104.0),  # TP1 at this open
        (103.5, 103.6, 101.5, 102.0),  # low crosses 102: the rest stopped at 1R
    ],
    "GAP/USDT": [  # a gap over TP1 and TP2: one order for both
        ENTRY,
        (100.2, 101.0, 99.9, 100.5),
        (106.5, 107.0, 106.2, 106.8),  # opens over 106: tp1+tp2 (75%) at 106.5
        (106.8, 107.0, 102.0, 102.5),  # stop 1.5R (103) takes the rest
    ],
}
SCALED_PCT_PATHS = {
    "PCT/USDT": [  # +3% 40%, +5% 30%, +8% 30%; stop to the previous level
        ENTRY,
        (100.2, 102.0, 100.1, 101.8),
        (103.2, 103.5, 103.0, 103.3),  # TP1 at 103.2; stop to breakeven (100)
        (105.2, 105.5, 105.1, 105.3),  # TP2 at 105.2; stop to TP1's price (103)
        (104.0, 104.2, 102.5, 103.0),  # low crosses 103: the rest stopped there
    ],
}


def rows(path: list[tuple[float, float, float, float]], warmup: int = 30, tail: int = 30):
    """[[ts_ms, o, h, l, c, v], ...]: flat warm-up, the marked signal candle, the path."""
    ohlc = [FLAT] * warmup + list(path) + [path[-1][3:] * 4] * tail
    out = []
    for i, (o, h, lo, c) in enumerate(ohlc):
        volume = 777.0 if i == warmup - 1 else 10.0
        out.append([int((START + i * STEP).timestamp() * 1000), o, h, lo, c, volume])
    return out


def backtest(offline_exchange, freqtrade_workspace, tmp_path, paths, **config):
    datadir = tmp_path / "data"
    files = {pair: write_candles(datadir, pair, "5m", rows(path)) for pair, path in paths.items()}
    exchange = offline_exchange(datadir=datadir)
    ws = freqtrade_workspace(
        exchange,
        pairs=list(paths),
        strategies=[STRATEGIES / "ScriptedEntries.py"],
        datadir=datadir,
        stake_amount=1000,
        dry_run_wallet=100_000,
        max_open_trades=len(paths),
        **config,
    )
    result = ws.run(
        "backtesting", "--strategy", "ScriptedEntries", "--cache", "none", "--export", "trades"
    )
    assert result.returncode == 0, result.stdout[-5000:]
    trades = last_backtest_stats(ws)["strategy"]["ScriptedEntries"]["trades"]
    return {t["pair"]: t for t in trades}, files, ws


# Freqtrade labels a stop exit `trailing_stop_loss` once the stop was ever raised
# outside an after-fill call, `stop_loss` otherwise: both are profitguard's stop.
FREQTRADE_STOPS = ("stop_loss", "trailing_stop_loss")


def exits(trade: dict) -> list[tuple[str, float, float, str]]:
    """(tag, amount, price, time) of each exit order; Freqtrade's stop labels read `stop`."""
    return [
        (
            "stop" if o["ft_order_tag"] in FREQTRADE_STOPS else o["ft_order_tag"],
            o["amount"],
            o["safe_price"],
            datetime.fromtimestamp(o["order_filled_timestamp"] / 1000, UTC).isoformat(),
        )
        for o in trade["orders"]
        if not o["ft_is_entry"]
    ]


def simulate_exits(trade: dict, datafile: Path, preset: str) -> list[dict]:
    """The same trade through `profitguard simulate --candles`."""
    entry_amount = next(o["amount"] for o in trade["orders"] if o["ft_is_entry"])
    result = subprocess.run(
        [
            *(sys.executable, "-m", "profitguard", "simulate", "--side", "long"),
            *("--entry", str(trade["open_rate"]), "--stop", str(trade["open_rate"] * 0.98)),
            *("--amount", str(entry_amount), "--preset", preset),
            *("--candles", str(datafile), "--from", trade["open_date"], "--json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return [e for e in json.loads(result.stdout)["events"] if e["exit_amount"]]


def candle_of(datafile: Path, time: str) -> tuple[float, float]:
    """(low, high) of the candle opening at `time`."""
    import pandas as pd

    frame = pd.read_feather(datafile)
    row = frame[pd.to_datetime(frame["date"], utc=True) == pd.Timestamp(time)].iloc[0]
    return row["low"], row["high"]


def assert_parity(trade: dict, datafile: Path, preset: str) -> None:
    ours = simulate_exits(trade, datafile, preset)
    theirs = exits(trade)
    assert len(ours) == len(theirs), (ours, theirs)
    for sim, (tag, amount, price, time) in zip(ours, theirs, strict=True):
        assert sim["exit_tags"] == tag.split(",")
        assert amount == pytest.approx(sim["exit_amount"], rel=1e-9)
        assert time == datetime.fromisoformat(sim["time"]).isoformat()  # the candle that fired
        low, high = candle_of(datafile, time)
        assert low <= price <= high
        assert price == pytest.approx(sim["price"], rel=1e-4)  # Freqtrade rounds stops up a tick
        assert price == pytest.approx(sim["fill_price"], rel=1e-12)  # the backtest's own fill


@pytest.fixture(scope="module")
def r_ladder_run(tmp_path_factory, request):
    """One backtest holding all r_ladder paths (module-scoped: freqtrade is slow to start)."""
    from profitguard.tooling.exchange.harness import Workspace, start_exchange

    tmp_path = tmp_path_factory.mktemp("r_ladder")
    started = []

    def offline_exchange(**kwargs):
        started.append(start_exchange(**kwargs))
        return started[-1]

    def freqtrade_workspace(exchange, *, pairs, **kwargs):
        return Workspace.create(tmp_path / "ft", exchange_url=exchange.url, pairs=pairs, **kwargs)

    try:
        yield backtest(offline_exchange, freqtrade_workspace, tmp_path, R_LADDER_PATHS)
    finally:
        for exchange in started:
            exchange.stop()


def test_backtest_when_price_walks_the_ladder_then_tp1_tp2_tp3_in_order(r_ladder_run):
    trades, files, _ = r_ladder_run
    trade = trades["LAD/USDT"]
    assert trade["open_rate"] == 100
    assert [(tag, amount, price) for tag, amount, price, _ in exits(trade)] == [
        ("tp1", 5.0, 104.5),
        ("tp2", 2.5, 106.5),
        ("tp3", 2.5, 108.5),
    ]
    assert trade["exit_reason"] == "tp3"
    assert_parity(trade, files["LAD/USDT"], "r_ladder")


def test_backtest_when_peak_passes_1r_then_stop_at_breakeven(r_ladder_run):
    trades, files, _ = r_ladder_run
    trade = trades["BEV/USDT"]
    assert [(tag, price) for tag, _, price, _ in exits(trade)] == [("stop", 100.0)]
    assert trade["profit_abs"] < 0  # breakeven on price: only the fees are lost
    assert trade["profit_abs"] > -3
    assert_parity(trade, files["BEV/USDT"], "r_ladder")


def test_backtest_when_stopped_after_tp1_then_rest_exits_at_1r(r_ladder_run):
    trades, files, _ = r_ladder_run
    trade = trades["ONE/USDT"]
    assert [(tag, amount, price) for tag, amount, price, _ in exits(trade)] == [
        ("tp1", 5.0, 104.2),
        ("stop", 5.0, 102.0),
    ]
    assert trade["profit_abs"] > 0
    assert_parity(trade, files["ONE/USDT"], "r_ladder")


def test_backtest_when_gap_over_two_levels_then_one_order_for_both(r_ladder_run):
    trades, files, _ = r_ladder_run
    trade = trades["GAP/USDT"]
    assert [(tag, amount, price) for tag, amount, price, _ in exits(trade)] == [
        ("tp1,tp2", 7.5, 106.5),
        ("stop", 2.5, 103.0),
    ]
    assert_parity(trade, files["GAP/USDT"], "r_ladder")


def test_backtest_when_scaled_pct_then_stop_moves_to_previous_level(
    offline_exchange, freqtrade_workspace, tmp_path
):
    trades, files, _ = backtest(
        offline_exchange,
        freqtrade_workspace,
        tmp_path,
        SCALED_PCT_PATHS,
        profitguard={"exits": {"preset": "scaled_pct"}},
    )
    trade = trades["PCT/USDT"]
    assert [(tag, amount, price) for tag, amount, price, _ in exits(trade)] == [
        ("tp1", 4.0, 103.2),
        ("tp2", 3.0, 105.2),
        ("stop", 3.0, 103.0),
    ]
    assert_parity(trade, files["PCT/USDT"], "scaled_pct")


def test_plot_dataframe_when_backtest_exists_then_stop_and_target_lines_drawn(r_ladder_run):
    _, _, ws = r_ladder_run
    result = ws.run(
        "plot-dataframe", "--strategy", "ScriptedEntries", "--pairs", "LAD/USDT",
        "--trade-source", "file",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-5000:]
    (html,) = (ws.userdir / "plot").glob("*LAD_USDT*.html")
    page = html.read_text()
    for line in ("pg_stop", "pg_entry", "pg_tp1", "pg_tp2", "pg_tp3"):
        assert f'"name":"{line}"' in page, line
    assert "profitguard advise_indicators" not in result.stdout  # drawn without errors


# BTC-quoted prices with binary noise, as stored candles carry it: the open of the
# TP1 candle is also its low, 1 ulp above the tick (0.00006252 on a 1e-8 tick).
# Rounded to the tick, an exit priced there lands just below the low.
SCALE = 6e-7  # 100 -> 0.00006
TICK = 1e-8


def noisy(price: float) -> float:
    """`price` on the tick, then one ulp above it: what float storage leaves."""
    return float(np.nextafter(round(price * SCALE, 8), 1.0))


def scaled(candle: tuple[float, float, float, float]) -> tuple[float, ...]:
    return tuple(round(p * SCALE, 8) for p in candle)


NOISY_PATH = [
    scaled(ENTRY),
    scaled((102.3, 104.6, 102.2, 104.2)),  # high passes TP1 (104): stop 1R (102)
    (noisy(104.2), round(104.4 * SCALE, 8), noisy(104.2), round(104.3 * SCALE, 8)),  # TP1
    *[scaled((104.3, 104.5, 104.25, 104.4))] * 4,
]


def test_backtest_when_exit_candle_prices_carry_float_noise_then_exit_fills_on_that_candle(
    offline_exchange, freqtrade_workspace, tmp_path
):
    datadir = tmp_path / "data"
    flat = [round(p * SCALE, 8) for p in FLAT]
    warm = [flat] * 30
    ohlc = [*warm, *NOISY_PATH, *[NOISY_PATH[-1]] * 20]
    candles = [
        [int((START + i * STEP).timestamp() * 1000), *c, 777.0 if i == 29 else 10.0]
        for i, c in enumerate(ohlc)
    ]
    datafile = write_candles(datadir, "NOI/BTC", "5m", candles)
    exchange = offline_exchange(datadir=datadir)
    ws = freqtrade_workspace(
        exchange,
        pairs=["NOI/BTC"],
        strategies=[STRATEGIES / "ScriptedEntries.py"],
        datadir=datadir,
        stake_currency="BTC",
        stake_amount=0.01,
        dry_run_wallet=1.0,
        max_open_trades=1,
        profitguard={"risk": {"min_balance": None}},
    )
    result = ws.run(
        "backtesting", "--strategy", "ScriptedEntries", "--cache", "none", "--export", "trades"
    )
    assert result.returncode == 0, result.stdout[-5000:]
    stats = last_backtest_stats(ws)["strategy"]["ScriptedEntries"]
    assert stats["timedout_exit_orders"] == 0
    (trade,) = stats["trades"]
    tp1 = exits(trade)[0]
    tp1_candle = (START + 32 * STEP).isoformat()
    assert (tp1[0], tp1[3]) == ("tp1", tp1_candle)  # filled on the candle the engine fired
    assert tp1[2] == pytest.approx(104.2 * SCALE, rel=1e-9)
    low, _ = candle_of(datafile, tp1_candle)
    assert tp1[2] < low  # the stored low is noise above the price it filled at


def test_backtest_when_atr_column_asked_for_is_missing_then_stops_naming_it(
    offline_exchange, freqtrade_workspace, tmp_path
):
    datadir = tmp_path / "data"
    write_candles(datadir, "LAD/USDT", "5m", rows(R_LADDER_PATHS["LAD/USDT"]))
    exchange = offline_exchange(datadir=datadir)
    ws = freqtrade_workspace(
        exchange,
        pairs=["LAD/USDT"],
        strategies=[STRATEGIES / "ScriptedEntries.py"],
        datadir=datadir,
        profitguard={"initial_stop": {"atr_column": "atr14"}},
    )
    result = ws.run("backtesting", "--strategy", "ScriptedEntries", "--cache", "none")
    assert result.returncode != 0
    assert (
        "'profitguard.initial_stop.atr_column' is 'atr14', used by the initial stop, but the "
        "analyzed dataframe of LAD/USDT has no such column" in result.stdout
    )


def test_backtest_when_default_settings_then_freqtrade_unpatched_and_fast_backtest_same_trades(
    r_ladder_run, offline_exchange, freqtrade_workspace, tmp_path
):
    """With default settings profitguard changes nothing of Freqtrade's (its trade copy
    stays `copy.deepcopy`); `fast_backtest` replaces it and makes the same trades."""
    trades, _, ws = r_ladder_run
    assert (ws.userdir / "deepcopy-intact.txt").read_text() == "True"
    fast, _, fast_ws = backtest(
        offline_exchange,
        freqtrade_workspace,
        tmp_path,
        R_LADDER_PATHS,
        profitguard={"fast_backtest": True},
    )
    assert (fast_ws.userdir / "deepcopy-intact.txt").read_text() == "False"
    assert {p: exits(t) for p, t in fast.items()} == {p: exits(t) for p, t in trades.items()}
