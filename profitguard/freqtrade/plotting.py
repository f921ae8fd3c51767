"""Stop and target lines as dataframe columns, for `plot-dataframe` and FreqUI charts.

Freqtrade draws only dataframe columns, and `plot-dataframe` runs no trade
callbacks. So each trade's lines are recomputed the way the backtester produced
them: the trade's candles replayed through the engine (`replay_candles`). Columns:
`pg_entry`, `pg_stop` (the stop in force after each candle) and `pg_tp1`, `pg_tp2`,
… (the take-profit prices), set on the candles the trade was open; NaN elsewhere.
A trade whose entry has not filled yet (amount 0: a limit entry still pending) has
no stop or targets, so it draws no lines.

The initial stop is the one the trade recorded (the backtest export's
`initial_stop_loss_abs`, which profitguard writes at the entry fill), else the
`initial_stop` hook on the candles before the entry. A trade that entered before
the first candle of the chart (a `--timerange` that starts mid-trade), or whose
initial stop cannot be had (an ATR still warming up), is left out, and the caller
says so in one line: the other trades are drawn.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from profitguard.engine import (
    Candle,
    PositionError,
    ProtectionConfig,
    open_position,
    replay_candles,
)
from profitguard.freqtrade.trades import original_amount

log = logging.getLogger(__name__)
InitialStop = Callable[[str, float, datetime, pd.DataFrame], float]


@dataclass(frozen=True)
class TradeSpan:
    """What the lines of one trade need to know about it."""

    open_date: datetime
    close_date: datetime | None  # None while open
    open_rate: float
    amount: float
    is_short: bool
    initial_stop: float | None = None  # as the trade recorded it (None: ask the hook)


def ladder_columns(
    dataframe: pd.DataFrame,
    trades: Iterable[TradeSpan],
    config: ProtectionConfig,
    initial_stop: InitialStop,
    left_out: list[str] | None = None,
) -> pd.DataFrame:
    """`dataframe` with the pg_* columns of `trades` (a copy; the input is not changed).
    Each trade that cannot be drawn adds why to `left_out`."""
    out = dataframe.copy()
    n = len(out)
    dates = pd.to_datetime(out["date"], utc=True)
    columns = {"pg_entry": np.full(n, np.nan), "pg_stop": np.full(n, np.nan)}
    for k in range(len(config.take_profits)):
        columns[f"pg_tp{k + 1}"] = np.full(n, np.nan)

    for trade in trades:
        if not trade.amount > 0:
            continue  # entry pending: nothing filled, nothing to protect yet
        start = dates >= pd.Timestamp(trade.open_date)
        end = dates <= pd.Timestamp(trade.close_date) if trade.close_date else True
        rows = np.flatnonzero(start & end)
        if not len(rows):
            continue
        if n and pd.Timestamp(trade.open_date) < dates.iat[0]:
            _left_out(
                left_out, trade, f"before the chart's first candle ({dates.iat[0]:%Y-%m-%d %H:%M})"
            )
            continue
        side = "short" if trade.is_short else "long"
        try:
            stop = trade.initial_stop
            if stop is None or not math.isfinite(stop):
                stop = initial_stop(side, trade.open_rate, trade.open_date, out.iloc[: rows[0]])
            position = open_position(
                config, side=side, entry=trade.open_rate, initial_stop=stop, amount=trade.amount
            )
        except (ValueError, PositionError) as exc:
            _left_out(left_out, trade, f"has no initial stop ({exc})")
            continue
        candles = [
            Candle(dates.iat[i], *(float(out[c].iat[i]) for c in ("open", "high", "low", "close")))
            for i in rows
        ]
        stop_after: dict[datetime, float] = {}
        for tick in replay_candles(position, candles):
            stop_after[tick.candle.at] = tick.decision.stop
        last = position.stop
        for i, candle in zip(rows, candles, strict=True):
            last = stop_after.get(candle.at, last)
            columns["pg_stop"][i] = last
            columns["pg_entry"][i] = trade.open_rate
            for k, price in enumerate(position.plan.tp_prices):
                columns[f"pg_tp{k + 1}"][i] = price
    for name, values in columns.items():
        out[name] = values
    return out


def say_left_out(pair: str, left_out: list[str]) -> None:
    """One line for the trades of `pair` left out of the chart (none: nothing)."""
    if left_out:
        more = f" (and {len(left_out) - 1} more)" if len(left_out) > 1 else ""
        log.info(
            "profitguard: %s: the stop and target lines of %d trade(s) are not drawn: %s%s; "
            "every other trade's are",
            pair, len(left_out), left_out[0], more,
        )  # fmt: skip


def _left_out(notes: list[str] | None, trade: TradeSpan, why: str) -> None:
    if notes is not None:
        notes.append(f"the trade entered {trade.open_date:%Y-%m-%d %H:%M} {why}")


def backtest_trade_spans(pair: str, results: Path, strategy_name: str) -> list[TradeSpan]:
    """The `pair` trades of the latest backtest of `strategy_name` in `results` (the
    directory of backtest results), for `plot-dataframe`."""
    from freqtrade.data.btanalysis import load_backtest_data

    try:
        trades = load_backtest_data(results, strategy=strategy_name)
    except ValueError:  # no backtest results yet: nothing to draw
        return []
    spans = []
    for row in trades[trades["pair"] == pair].itertuples():
        entries = [o for o in row.orders if o["ft_is_entry"]]
        spans.append(
            TradeSpan(
                open_date=row.open_date.to_pydatetime(),
                close_date=row.close_date.to_pydatetime(),
                open_rate=float(row.open_rate),
                amount=sum(o["amount"] for o in entries),
                is_short=bool(row.is_short),
                initial_stop=_price(getattr(row, "initial_stop_loss_abs", None)),
            )
        )
    return spans


def _price(value: object) -> float | None:
    try:
        price = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return price if math.isfinite(price) and price > 0 else None


def open_trade_spans(pair: str) -> list[TradeSpan]:
    """The open `pair` trades of the bot (dry-run and live: FreqUI's charts)."""
    from freqtrade.persistence import Trade

    spans = [
        TradeSpan(
            open_date=t.open_date_utc,
            close_date=None,
            open_rate=t.open_rate,
            amount=original_amount(t),
            is_short=t.is_short,
        )
        for t in Trade.get_trades_proxy(pair=pair, is_open=True)
    ]
    return [span for span in spans if span.amount > 0]  # an entry not filled yet: no line
