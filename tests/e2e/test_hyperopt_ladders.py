"""`freqtrade hyperopt --spaces profitguard --hyperopt-loss ProfitGuardRLoss`, offline.

The sample strategy on ten days of generated 5m data for two pairs, a few epochs:
every epoch's parameters are a valid ladder, the best epoch reloads into a
backtest that reproduces it (trades and profit, exactly), the loss it reported is
the R score recomputed here from that backtest's trades, and `--random-state`
makes a second run identical.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from profitguard.engine import R_LADDER
from profitguard.engine.ladder_space import SPACE, ladder_from_params
from profitguard.freqtrade.loss import r_score
from profitguard.tooling.exchange import generate as gen
from tests.exchange_fixtures import SAMPLE_STRATEGIES, last_backtest_stats

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]

REPO_ROOT = Path(__file__).resolve().parents[2]
LOSS_FILE = REPO_ROOT / "user_data" / "hyperopts" / "ProfitGuardRLoss.py"
PAIRS = ["BTC/USDT", "ETH/USDT"]
EPOCHS = 4
SEED = 11


def hyperopt_args(*extra: str) -> tuple[str, ...]:
    return (
        "hyperopt", "--strategy", "ProfitGuardSample", "--spaces", SPACE,
        "--hyperopt-loss", "ProfitGuardRLoss", "--epochs", str(EPOCHS), "-j", "1",
        "--random-state", str(SEED), "--min-trades", "1", *extra,
    )  # fmt: skip


def epochs(ws, before: set[Path] = frozenset()) -> list[dict]:
    """The epochs of the workspace's newest hyperopt results file (not in `before`)."""
    files = set((ws.userdir / "hyperopt_results").glob("*.fthypt")) - set(before)
    (newest,) = files
    return [json.loads(line) for line in newest.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def hyperopted(tmp_path_factory):
    """One hyperopt run (params exported next to the strategy), then a backtest."""
    from profitguard.tooling.exchange.harness import Workspace, start_exchange

    root = tmp_path_factory.mktemp("hyperopt")
    datadir = root / "data"
    gen.generate(datadir, pairs=tuple(PAIRS), timeframes=("5m",), days=10, seed=1)
    with start_exchange(datadir=datadir) as exchange:
        ws = Workspace.create(
            root / "ft",
            exchange_url=exchange.url,
            pairs=PAIRS,
            strategies=[SAMPLE_STRATEGIES / "ProfitGuardSample.py"],
            datadir=datadir,
        )
        (ws.userdir / "hyperopts").mkdir()
        shutil.copy(LOSS_FILE, ws.userdir / "hyperopts")
        result = ws.run(*hyperopt_args(), timeout=600)
        assert result.returncode == 0, result.stdout[-5000:]
        first = epochs(ws)
        backtest = ws.run(
            "backtesting", "--strategy", "ProfitGuardSample", "--cache", "none",
            "--export", "trades", timeout=300,
        )  # fmt: skip
        assert backtest.returncode == 0, backtest.stdout[-5000:]
        yield ws, first, backtest.stdout, exchange


def best(epoch_list: list[dict]) -> dict:
    return min(epoch_list, key=lambda e: e["loss"])


def test_hyperopt_when_few_epochs_then_every_epoch_is_a_valid_ladder(hyperopted):
    _, first, _, exchange = hyperopted
    assert len(first) == EPOCHS
    ladders = set()
    for epoch in first:
        values = epoch["params_details"][SPACE]
        config = ladder_from_params(R_LADDER, values)  # raises if not a valid ladder
        assert len(config.take_profits) == 3
        assert len(config.stop_ladder) == 5
        assert epoch["results_metrics"]["total_trades"] > 0
        assert epoch["loss"] < 100_000  # computed by ProfitGuardRLoss, not Freqtrade's MAX_LOSS
        ladders.add(config)
    assert len(ladders) == EPOCHS  # each epoch its own ladder
    assert exchange.stats()["unserved"] == {}


def test_backtest_when_params_file_written_then_reproduces_the_best_epoch(hyperopted):
    ws, first, stdout, _ = hyperopted
    top = best(first)
    saved = json.loads((ws.userdir / "strategies" / "ProfitGuardSample.json").read_text())
    assert saved["params"][SPACE] == top["params_details"][SPACE]
    assert "Loading parameters from file" in stdout
    stats = last_backtest_stats(ws)["strategy"]["ProfitGuardSample"]
    assert stats["total_trades"] == top["results_metrics"]["total_trades"]
    assert stats["profit_total_abs"] == top["results_metrics"]["profit_total_abs"]


def test_loss_when_recomputed_from_the_backtest_then_equals_the_reported_loss(hyperopted):
    """R from each trade's initial stop as the backtest export records it (profitguard
    writes its own there), independently of the ledger the loss reads; and each of
    those stops is the sample's 2 ATR below the entry: the ATR at the last closed
    candle, recomputed here from the data file with the missing candles filled in as
    Freqtrade fills them when it loads the file (the generated BTC data has a gap,
    and the ATR's smoothing carries the filled candles for a long while after it)."""
    import pandas as pd
    import talib.abstract as ta
    from freqtrade.data.converter import ohlcv_fill_up_missing_data

    ws, first, _, _ = hyperopted
    trades = last_backtest_stats(ws)["strategy"]["ProfitGuardSample"]["trades"]
    atr = {}
    for pair in PAIRS:
        stored = pd.read_feather(ws.datadir / f"{pair.replace('/', '_')}-5m.feather")
        with warnings.catch_warnings():  # Freqtrade's own use of pandas, as in its loading
            warnings.simplefilter("ignore", DeprecationWarning)
            frame = ohlcv_fill_up_missing_data(stored, "5m", pair)
        atr[pair] = pd.Series(ta.ATR(frame, timeperiod=14).values, index=frame["date"])
    r_values = []
    for t in sorted(trades, key=lambda t: (t["close_timestamp"], t["open_timestamp"], t["pair"])):
        opened = pd.Timestamp(t["open_timestamp"], unit="ms", tz="UTC")
        stop = t["initial_stop_loss_abs"]
        two_atr = 2.0 * atr[t["pair"]][opened - pd.Timedelta(minutes=5)]
        assert t["open_rate"] - stop == pytest.approx(two_atr, rel=1e-9), t
        entered = sum(o["amount"] for o in t["orders"] if o["ft_is_entry"])
        r_values.append(t["profit_abs"] / ((t["open_rate"] - stop) * entered))
    assert -r_score(r_values) == pytest.approx(best(first)["loss"], rel=1e-9, abs=1e-12)


def test_hyperopt_when_same_random_state_then_identical_epochs(hyperopted):
    ws, first, _, _ = hyperopted
    before = set((ws.userdir / "hyperopt_results").glob("*.fthypt"))
    result = ws.run(*hyperopt_args("--disable-param-export"), timeout=600)
    assert result.returncode == 0, result.stdout[-5000:]
    second = epochs(ws, before)
    assert [(e["params_dict"], e["loss"]) for e in second] == [
        (e["params_dict"], e["loss"]) for e in first
    ]
