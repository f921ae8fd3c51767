"""Record a strategy's entries with one Freqtrade backtest, as `compare` makes them.

The backtest runs against the offline exchange with the settings `compare` uses to
make entries identical under every exit policy (position stacking, unlimited open
trades, the risk gate's entry rules off, the same stake), so the entries recorded
once are the entries every ladder would get. The candles come from the same data
directory, cut at the backtest's last candle; each pair's price tick and amount
step are the offline exchange's markets, which the backtest used.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from profitguard.report.figures import trade_key
from profitguard.report.records import BacktestResult, TradeRecord, latest_result, load_backtest
from profitguard.tooling.research.paths import Entry, PairCandles


class BacktestFailed(RuntimeError):
    """A Freqtrade backtest exited non-zero; the message carries its output's tail."""


@dataclass(frozen=True)
class Recorded:
    entries: list[Entry]
    candles: dict[str, PairCandles]
    result: BacktestResult  # the strategy's own run (its trades: the strategy baseline)
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class BacktestSetup:
    """What every backtest of one sweep shares: config files, user/data dirs, timerange."""

    files: Sequence[Path]
    userdir: Path
    datadir: Path
    pairs: Sequence[str]
    risk_unit: float  # one R in money (`same_entries.risk_unit` of the config)
    timerange: str | None = None


def run_backtest(
    setup: BacktestSetup,
    exchange_url: str,
    strategy: str,
    workdir: Path,
    strategy_path: Path,
) -> BacktestResult:
    """One `freqtrade backtesting` of `strategy` (a policy file in `strategy_path`,
    sized by risk) under `compare`'s identical-entries settings."""
    from profitguard.report import same_entries
    from profitguard.tooling.exchange import freqtrade_config as ftc
    from profitguard.tooling.exchange.harness import freqtrade_argv, offline_env

    workdir.mkdir(parents=True, exist_ok=True)
    settings = workdir / "sweep-settings.json"
    ftc.write_config(
        settings,
        {
            "exchange": {"ccxt_config": ftc.ccxt_config(exchange_url)},
            **same_entries.entry_settings(setup.risk_unit),
        },
    )
    outdir = workdir / f"results-{strategy}"
    outdir.mkdir(exist_ok=True)
    argv = freqtrade_argv(
        "backtesting",
        *[a for f in setup.files for a in ("--config", str(f))],
        "--config",
        str(settings),
        "--userdir",
        str(setup.userdir),
        "--datadir",
        str(setup.datadir),
        "--strategy",
        strategy,
        "--strategy-path",
        str(strategy_path),
        *same_entries.BACKTEST_FLAGS,
        "--backtest-directory",
        str(outdir),
        *(["--timerange", setup.timerange] if setup.timerange else []),
    )
    done = subprocess.run(
        argv, env=offline_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if done.returncode != 0:
        raise BacktestFailed(
            f"freqtrade backtesting --strategy {strategy} failed (exit status "
            f"{done.returncode}):\n{done.stdout[-3000:]}"
        )
    return load_backtest(latest_result(outdir), strategy)


def policy_strategy(
    setup: BacktestSetup,
    workdir: Path,
    strategy: str,
    strategy_file: Path,
    index: int,
    params_file: Path | None = None,
) -> tuple[str, Path]:
    """The strategy as `compare` runs a policy (its own exits, or `params_file`'s
    ladder), sized by risk: (class name, the directory holding it)."""
    from profitguard.report.policies import Policy, write_policy

    directory = workdir / "strategies"
    directory.mkdir(parents=True, exist_ok=True)
    if params_file is None:
        policy = Policy("strategy", "the strategy's own exits")
    else:
        policy = Policy(f"sweep {index}", "a sweep configuration", params_file=params_file)
    return write_policy(
        directory, strategy, strategy_file, policy, index, setup.risk_unit
    ), directory


def entry_of(trade: TradeRecord, tick: float | None) -> Entry:
    return Entry(
        pair=trade.pair,
        is_short=trade.is_short,
        open_ms=trade_key(trade)[1],  # the ms of the report's trade key, as `verify` matches
        price=trade.entry,
        amount=trade.amount,
        initial_stop=trade.initial_stop,
        fee_open=trade.fee_open,
        fee_close=trade.fee_close,
        tick=tick,
    )


def all_trades(result: BacktestResult) -> list[TradeRecord]:
    """Every trade, also those Freqtrade closed at the end of the backtest."""
    from profitguard.report.records import from_backtest_trade

    return [from_backtest_trade(t, result.path.name) for t in result.stats["trades"]]


def load_candles(
    datadir: Path,
    pairs: Sequence[str],
    timeframe: str,
    data_format: str | None,
    end_ms: int,
    markets,
) -> tuple[dict[str, PairCandles], dict]:
    """Each pair's candles up to `end_ms` (the backtest's last candle), as the
    strategy saw them (float noise snapped onto the tick), and each pair's ticks
    over time (`report.ticks`: the ones Freqtrade's backtest rounds exits to, read
    as `report --check` reads them). The amount step is the market's."""
    import numpy as np
    from freqtrade.data.history import load_pair_history

    from profitguard.freqtrade.prices import snap_to_tick
    from profitguard.report.ticks import BacktestTicks

    out, ticks = {}, {}
    for pair in pairs:
        with warnings.catch_warnings():
            # Freqtrade's gap filling (what its backtest sees) calls pandas in a way
            # newer pandas deprecates; not ours to fix, and not an error of the data
            warnings.filterwarnings("ignore", message="The inplace keyword")
            frame = load_pair_history(pair, timeframe, datadir, data_format=data_format)
        ticks[pair] = BacktestTicks(frame, pair)
        times = frame["date"].dt.tz_convert(None).to_numpy().astype("datetime64[ms]")
        times = times.astype(np.int64)
        keep = times <= end_ms
        prices = frame[["open", "high", "low"]].to_numpy(dtype=float)[keep]
        finest = ticks[pair].finest()
        if finest is not None and len(prices):
            prices = snap_to_tick(prices, finest)
        spec = markets.get(pair)
        out[pair] = PairCandles(
            np.ascontiguousarray(times[keep]),
            np.ascontiguousarray(prices[:, 0]),
            np.ascontiguousarray(prices[:, 1]),
            np.ascontiguousarray(prices[:, 2]),
            finest,
            spec.step_size if spec else None,
        )
    return out, ticks


def record(
    setup: BacktestSetup,
    strategy: str,
    strategy_file: Path,
    timeframe: str,
    data_format: str | None,
    workdir: Path,
    say=print,
) -> Recorded:
    """The strategy's entries (one backtest, the strategy as `compare` runs it) and
    the candles after them."""
    from profitguard.tooling.exchange.harness import start_exchange

    name, directory = policy_strategy(setup, workdir, strategy, strategy_file, 0)
    with start_exchange(datadir=setup.datadir, pairs=setup.pairs, port=0) as exchange:
        say(f"==> recording the entries: freqtrade backtesting --strategy {strategy}")
        result = run_backtest(setup, exchange.url, name, workdir, directory)
        markets = dict(exchange.api.markets)
    trades = all_trades(result)
    start_ms = int(result.stats["backtest_start_ts"])
    end_ms = int(result.stats["backtest_end_ts"])
    pairs = sorted({t.pair for t in trades})
    candles, ticks = load_candles(setup.datadir, pairs, timeframe, data_format, end_ms, markets)
    entries = sorted(
        (entry_of(t, ticks[t.pair].at(t.open_date)) for t in trades),
        key=lambda e: (e.open_ms, e.pair, e.is_short, e.price),
    )
    if not entries:
        print("profitguard sweep: the backtest made no entries", file=sys.stderr)
    return Recorded(entries, candles, result, start_ms, end_ms)
