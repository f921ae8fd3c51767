"""The futures sample under the real `freqtrade backtesting` (trading_mode futures,
isolated margin, 3x), on scripted paths where shorts take each level, move the stop
down the ladder, and hit the initial stop; every trade compared with
`profitguard simulate --side short` over the same data file.

Entry 100, initial stop 2% away (102 for a short), 1R = 2: a short's targets are 96
(TP1, 50%), 94 (TP2, 25%) and 92 (TP3, the rest). Stake 1000 at 3x: 30 contracts.
The futures, mark and funding-rate files are written with Freqtrade's own data
handler, under the names its backtester asks for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType

from tests.exchange_fixtures import last_backtest_stats

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = [
    Path(__file__).parent / "strategies" / "ScriptedFutures.py",
    ROOT / "user_data" / "strategies" / "ProfitGuardFuturesSample.py",
]
# the scripted entries open at 07:50 (after 30 warm-up candles): Binance funds at 08:00
START = datetime(2024, 1, 1, 5, 20, tzinfo=UTC)
FUNDING_AT = [datetime(2024, 1, 1, 8 * i, tzinfo=UTC) for i in range(3)]
STEP = timedelta(minutes=5)
FLAT = (100.0, 100.0, 100.0, 100.0)
LEVERAGE = 3.0
FUNDING_RATE = 0.0001

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]


def mirror(path):
    """A long's path as a short sees it: prices reflected about 100, high and low swapped."""
    return [(200 - o, 200 - lo, 200 - h, 200 - c) for o, h, lo, c in path]


ENTRY = (100.0, 100.5, 99.5, 100.2)
# (pair, side, candles from the entry candle on); real Binance pairs, so Freqtrade's
# cached leverage tiers know them. Short paths are the spot suite's long paths mirrored.
PATHS = {
    "BTC/USDT:USDT": ("short", mirror([  # TP1, TP2, TP3 in order, each at a candle open
        ENTRY,
        (100.2, 102.5, 100.1, 102.0),  # peak 1.25R: stop to breakeven (100)
        (102.0, 103.5, 101.5, 103.0),  # peak 1.75R: stop 0.5R (99)
        (104.5, 105.0, 104.2, 104.8),  # TP1 at the open 95.5; stop 1R (98)
        (106.5, 107.0, 106.2, 106.8),  # TP2 at 93.5; stop 1.5R (97)
        (108.5, 109.0, 108.2, 108.8),  # TP3 at 91.5: all closed
    ])),
    "ETH/USDT:USDT": ("short", mirror([  # TP1, then the ladder stop at 1R (98) takes the rest
        ENTRY,
        (102.3, 104.6, 102.2, 104.2),  # low 95.4 passes TP1 (2.3R): stop down to 98
        (104.2, 104.4, 103.8, 104.0),  # TP1 at this open (95.8)
        (103.5, 103.6, 101.5, 102.0),  # high 98.5 crosses 98: the rest stopped at 1R
    ])),
    "SOL/USDT:USDT": ("short", mirror([  # against the short: the initial stop (102)
        ENTRY,
        (100.2, 100.8, 99.6, 99.9),
        (99.9, 100.0, 97.5, 98.0),  # high 102.5 crosses 102: stopped at the initial stop
    ])),
    "BNB/USDT:USDT": ("short", mirror([  # at 50x: liquidated before its 2% stop, refused
        ENTRY,
        (99.9, 100.0, 97.5, 98.0),
    ])),
    "XRP/USDT:USDT": ("long", [  # the same ladder for a 3x long
        ENTRY,
        (100.2, 102.5, 100.1, 102.0),
        (102.0, 103.5, 101.5, 103.0),
        (104.5, 105.0, 104.2, 104.8),
        (106.5, 107.0, 106.2, 106.8),
        (108.5, 109.0, 108.2, 108.8),
    ]),
}  # fmt: skip


def frame(ohlc, start=START, step=STEP, marks=()) -> pd.DataFrame:
    dates = [start + i * step for i in range(len(ohlc))]
    volume = [10.0] * len(ohlc)
    for i, mark in marks:
        volume[i] = mark
    o, h, lo, c = zip(*ohlc, strict=True)
    return pd.DataFrame(
        {"date": pd.to_datetime(dates, utc=True), "open": o, "high": h, "low": lo, "close": c,
         "volume": volume}
    )  # fmt: skip


def write_futures_data(datadir: Path, pair: str, side: str, path, warmup=30, tail=30) -> Path:
    """Futures candles (the signal candle marked), hourly mark candles and a funding
    rate every 8 hours, as `freqtrade download-data --trading-mode futures` stores them."""
    ohlc = [FLAT] * warmup + list(path) + [path[-1][3:] * 4] * tail
    (datadir / "futures").mkdir(parents=True, exist_ok=True)
    handler = get_datahandler(datadir, "feather")
    mark = 777.0 if side == "short" else 778.0
    candles = frame(ohlc, marks=[(warmup - 1, mark)])
    handler.ohlcv_store(pair, "5m", candles, CandleType.FUTURES)
    hourly = candles.resample("1h", on="date").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    handler.ohlcv_store(pair, "1h", hourly.reset_index(), CandleType.MARK)
    funding = pd.DataFrame(
        {"date": pd.to_datetime(FUNDING_AT, utc=True), "funding_rate": [FUNDING_RATE] * 3}
    )  # fmt: skip
    handler.ohlcv_store(pair, "1h", funding, CandleType.FUNDING_RATE)
    return handler._pair_data_filename(datadir, pair, "5m", CandleType.FUTURES)


@pytest.fixture(scope="module")
def futures_run(tmp_path_factory):
    """One backtest of every path (freqtrade is slow to start)."""
    from profitguard.tooling.exchange.harness import Workspace, start_exchange

    tmp_path = tmp_path_factory.mktemp("futures")
    datadir = tmp_path / "data"
    files = {
        pair: write_futures_data(datadir, pair, side, path) for pair, (side, path) in PATHS.items()
    }
    with start_exchange(datadir=datadir) as exchange:
        ws = Workspace.create(
            tmp_path / "ft", exchange_url=exchange.url, pairs=list(PATHS),
            strategies=STRATEGIES, datadir=datadir, stake_amount=1000,
            dry_run_wallet=100_000, max_open_trades=len(PATHS), trading_mode="futures",
        )  # fmt: skip
        result = ws.run(
            "backtesting", "--strategy", "ScriptedFutures", "--cache", "none", "--export", "trades"
        )
        assert result.returncode == 0, result.stdout[-5000:]
        unserved = exchange.stats()["unserved"]
    trades = last_backtest_stats(ws)["strategy"]["ScriptedFutures"]["trades"]
    return {t["pair"]: t for t in trades}, files, unserved, result.stdout


FREQTRADE_STOPS = ("stop_loss", "trailing_stop_loss")


def exits(trade: dict) -> list[tuple[str, float, float, str]]:
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


def simulate_exits(trade: dict, datafile: Path) -> list[dict]:
    """The same trade through `profitguard simulate --side short|long --candles`."""
    side = "short" if trade["is_short"] else "long"
    stop = trade["open_rate"] * (1.02 if trade["is_short"] else 0.98)
    amount = next(o["amount"] for o in trade["orders"] if o["ft_is_entry"])
    result = subprocess.run(
        [
            *(sys.executable, "-m", "profitguard", "simulate", "--side", side),
            *("--entry", str(trade["open_rate"]), "--stop", str(stop)),
            *("--amount", str(amount), "--preset", "r_ladder"),
            *("--candles", str(datafile), "--from", trade["open_date"], "--json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return [e for e in json.loads(result.stdout)["events"] if e["exit_amount"]]


def assert_parity(trade: dict, datafile: Path) -> None:
    ours = simulate_exits(trade, datafile)
    theirs = exits(trade)
    assert len(ours) == len(theirs), (ours, theirs)
    candles = pd.read_feather(datafile)
    for sim, (tag, amount, price, time) in zip(ours, theirs, strict=True):
        assert sim["exit_tags"] == tag.split(",")
        assert amount == pytest.approx(sim["exit_amount"], rel=1e-9)
        assert time == datetime.fromisoformat(sim["time"]).isoformat()
        row = candles[candles["date"] == pd.Timestamp(time)].iloc[0]
        assert row["low"] <= price <= row["high"]
        assert price == pytest.approx(sim["price"], rel=1e-4)
        assert price == pytest.approx(sim["fill_price"], rel=1e-12)  # the backtest's own fill


def test_backtest_when_short_walks_the_ladder_then_tp1_tp2_tp3_as_simulate_short(futures_run):
    trades, files, _, _ = futures_run
    trade = trades["BTC/USDT:USDT"]
    assert trade["is_short"] and trade["leverage"] == LEVERAGE
    entry = next(o for o in trade["orders"] if o["ft_is_entry"])
    assert trade["open_rate"] == 100 and entry["amount"] == 30
    assert trade["max_stake_amount"] == pytest.approx(1000)  # the margin: 30 x 100 / 3
    assert [(tag, amount, price) for tag, amount, price, _ in exits(trade)] == [
        ("tp1", 15.0, 95.5),
        ("tp2", 7.5, 93.5),
        ("tp3", 7.5, 91.5),
    ]
    assert trade["exit_reason"] == "tp3"
    assert_parity(trade, files["BTC/USDT:USDT"])


def test_backtest_when_short_held_over_a_funding_time_then_its_funding_is_in_its_r(futures_run):
    """Held over 08:00 at a positive rate, the short receives 30 x mark 98 x 0.01%; the
    R the hyperopt loss scores (`trade_r`: net profit over the initial risk) counts it."""
    from profitguard.freqtrade.loss import trade_r

    trades, _, _, _ = futures_run
    trade = trades["BTC/USDT:USDT"]
    assert trade["funding_fees"] == pytest.approx(30 * 98.0 * FUNDING_RATE)
    exits_ = [o for o in trade["orders"] if not o["ft_is_entry"]]
    gross = sum((100.0 - o["safe_price"]) * o["amount"] for o in exits_)  # 180
    fees = 3000 * trade["fee_open"] + sum(
        o["safe_price"] * o["amount"] * trade["fee_close"] for o in exits_
    )
    risk = 30 * 2.0  # 30 contracts, 2 from the entry to the initial stop
    assert trade_r(trade, 102.0) == pytest.approx((gross - fees + trade["funding_fees"]) / risk)


def test_backtest_when_short_passes_tp1_then_ladder_stop_down_at_1r(futures_run):
    trades, files, _, _ = futures_run
    trade = trades["ETH/USDT:USDT"]
    assert [(tag, amount, price) for tag, amount, price, _ in exits(trade)] == [
        ("tp1", 15.0, 95.8),
        ("stop", 15.0, 98.0),
    ]
    assert trade["profit_abs"] > 0
    assert_parity(trade, files["ETH/USDT:USDT"])


def test_backtest_when_price_rises_against_the_short_then_initial_stop(futures_run):
    trades, files, _, _ = futures_run
    trade = trades["SOL/USDT:USDT"]
    assert [(tag, amount, price) for tag, amount, price, _ in exits(trade)] == [
        ("stop", 30.0, 102.0)
    ]
    # -1R on the position: 30 x 2 = 60 (3x: 6% of the 1000 margin), plus fees
    assert trade["profit_abs"] == pytest.approx(-60, abs=5)
    assert_parity(trade, files["SOL/USDT:USDT"])


def test_backtest_when_long_at_3x_then_the_same_ladder(futures_run):
    trades, files, _, _ = futures_run
    trade = trades["XRP/USDT:USDT"]
    assert not trade["is_short"] and trade["leverage"] == LEVERAGE
    assert [amount for _, amount, _, _ in exits(trade)] == [15.0, 7.5, 7.5]
    assert_parity(trade, files["XRP/USDT:USDT"])


def test_backtest_when_stop_beyond_liquidation_then_entry_refused_with_the_figures(futures_run):
    """50x short at 100 with 0.5% maintenance (Freqtrade's BNB tier for this stake):
    liquidated at 102 / 1.005 = 101.49, 101.42 with Freqtrade's 5% buffer; the stop at
    102 lies beyond it. The 3x entries pass the same rule."""
    trades, _, unserved, output = futures_run
    assert "BNB/USDT:USDT" not in trades
    assert "5 entries checked, 1 refused" in output
    flat = " ".join(output.split())  # Freqtrade's console wraps long log lines
    assert (
        "entry refused for BNB/USDT:USDT (candle 2024-01-01 07:50 UTC): LIQUIDATION: "
        "stop_to_liquidation=141.1%, limit=100.0%, stop=102, liquidation=101.41791, "
        "leverage=50.00, maintenance=0.5%"
    ) in flat
    assert unserved == {}
