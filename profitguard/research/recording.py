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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from profitguard.report.records import BacktestResult, TradeRecord, latest_result, load_backtest
from profitguard.research.paths import Entry, PairCandles


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
    timerange: str | None = None


def override(exchange_url: str) -> dict:
    """`compare`'s identical-entries settings, pointed at the offline exchange."""
    from profitguard.exchange import freqtrade_config as ftc
    from profitguard.report.policies import identical_entries_settings

    return identical_entries_settings(ftc.ccxt_config(exchange_url))


def run_backtest(
    setup: BacktestSetup,
    exchange_url: str,
    strategy: str,
    workdir: Path,
    strategy_path: Path | None = None,
) -> BacktestResult:
    """One `freqtrade backtesting` of `strategy` under `compare`'s settings."""
    from profitguard.exchange import freqtrade_config as ftc
    from profitguard.exchange.harness import freqtrade_argv, offline_env

    workdir.mkdir(parents=True, exist_ok=True)
    settings = workdir / "sweep-settings.json"
    ftc.write_config(settings, override(exchange_url))
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
        *(["--strategy-path", str(strategy_path)] if strategy_path else []),
        "--enable-position-stacking",
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


def entry_of(trade: TradeRecord) -> Entry:
    return Entry(
        pair=trade.pair,
        is_short=trade.is_short,
        open_ms=int(trade.open_date.timestamp() * 1000),
        price=trade.entry,
        amount=trade.amount,
        initial_stop=trade.initial_stop,
        fee_open=trade.fee_open,
        fee_close=trade.fee_close,
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
) -> dict[str, PairCandles]:
    """Each pair's candles up to `end_ms` (the backtest's last candle). The price
    tick is the one `report --check` uses (the candles' decimals: the precision
    Freqtrade's backtest rounds stops to); the amount step is the market's."""
    import numpy as np
    from freqtrade.data.history import load_pair_history

    from profitguard.report.parity import decimals_of

    out = {}
    for pair in pairs:
        frame = load_pair_history(
            pair, timeframe, datadir, data_format=data_format, fill_up_missing=True
        )
        times = (
            frame["date"].dt.tz_convert(None).to_numpy().astype("datetime64[ms]").astype(np.int64)
        )
        keep = times <= end_ms
        spec = markets.get(pair)
        sample = frame[["open", "high", "low", "close"]].to_numpy()[:2000].ravel().tolist()
        out[pair] = PairCandles(
            np.ascontiguousarray(times[keep], dtype=np.int64),
            frame["open"].to_numpy(dtype=float)[keep].copy(),
            frame["high"].to_numpy(dtype=float)[keep].copy(),
            frame["low"].to_numpy(dtype=float)[keep].copy(),
            10.0 ** -decimals_of(sample) if sample else None,
            spec.step_size if spec else None,
        )
    return out


def record(
    setup: BacktestSetup,
    strategy: str,
    timeframe: str,
    data_format: str | None,
    workdir: Path,
    say=print,
) -> Recorded:
    """The strategy's entries (one backtest) and the candles after them."""
    from profitguard.exchange.harness import start_exchange

    with start_exchange(datadir=setup.datadir, pairs=setup.pairs, port=0) as exchange:
        say(f"==> recording the entries: freqtrade backtesting --strategy {strategy}")
        result = run_backtest(setup, exchange.url, strategy, workdir)
        markets = dict(exchange.api.markets)
    trades = all_trades(result)
    start_ms = int(result.stats["backtest_start_ts"])
    end_ms = int(result.stats["backtest_end_ts"])
    pairs = sorted({t.pair for t in trades})
    candles = load_candles(setup.datadir, pairs, timeframe, data_format, end_ms, markets)
    entries = sorted(
        (entry_of(t) for t in trades), key=lambda e: (e.open_ms, e.pair, e.is_short, e.price)
    )
    if not entries:
        print("profitguard sweep: the backtest made no entries", file=sys.stderr)
    return Recorded(entries, candles, result, start_ms, end_ms)
