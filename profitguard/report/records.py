"""Closed trades as the report reads them: from a backtest result or a trades database.

Everything R needs is in what Freqtrade keeps: the entry and exit orders (amounts
and prices), the fee ratios and the initial stop (`initial_stop_loss_abs`, which a
`ProfitGuardStrategy` makes profitguard's own initial stop). No Freqtrade import:
the loaders take the decoded JSON, or read the trades database (any URL Freqtrade
accepts) through `profitguard.trades_db`.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from profitguard.engine import one_r, r_of_price
from profitguard.trades_db import TradesDatabase, TradesDatabaseError, database_url


class ResultError(ValueError):
    """A result we cannot read as profitguard trades; the message names the file and field."""


@dataclass(frozen=True)
class Fill:
    """One filled exit order."""

    tag: str  # the order tag: "tp1", "tp1,tp2", "stop_loss", "kill_switch", …
    amount: float
    price: float
    at: datetime | None


@dataclass(frozen=True)
class TradeRecord:
    """A closed trade with what R needs. Prices in quote currency, fees as ratios."""

    pair: str
    is_short: bool
    open_date: datetime
    close_date: datetime
    entry: float  # average entry price
    amount: float  # entered amount (all entry fills)
    initial_stop: float
    fee_open: float
    fee_close: float
    exits: tuple[Fill, ...]
    exit_reason: str
    stop_at_exit: float | None  # the stop in force when the trade closed
    max_rate: float | None
    min_rate: float | None
    profit_abs: float | None = None  # Freqtrade's own figure, when present
    bot: str | None = None  # the bot whose trades database it came from (`report --db` x2)

    @property
    def sign(self) -> float:
        return -1.0 if self.is_short else 1.0

    @property
    def risk(self) -> float:
        """One R in quote currency: amount x |entry - initial stop|."""
        return one_r(entry=self.entry, initial_stop=self.initial_stop, amount=self.amount)

    @property
    def net_profit(self) -> float:
        """Exit value - entry value - fees (both sides), signed for the side."""
        entry_value = self.amount * self.entry
        exit_value = math.fsum(f.amount * f.price for f in self.exits)
        fees = entry_value * self.fee_open + exit_value * self.fee_close
        return self.sign * (exit_value - entry_value) - fees

    @property
    def r(self) -> float:
        """Realized R, fees included."""
        return self.net_profit / self.risk

    def r_of_price(self, price: float) -> float:
        return r_of_price(price, entry=self.entry, initial_stop=self.initial_stop,
                          is_short=self.is_short)  # fmt: skip


def _filled_at(order: Mapping[str, Any], where: str) -> datetime:
    """When an order filled, for ordering (an order without the date first)."""
    value = order["order_filled_date"]
    return _utc(value, "order_filled_date", where) if value else datetime.min.replace(tzinfo=UTC)


def _utc(value: Any, field: str, where: str) -> datetime:
    if isinstance(value, datetime):  # a server database's driver gives datetimes
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise ResultError(f"{where}: '{field}' is {value!r}, not a time")


def _number(row: Mapping[str, Any], field: str, where: str) -> float:
    value = row.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ResultError(f"{where}: '{field}' is {value!r}, not a number")
    return float(value)


def _check_stop(record: TradeRecord, where: str) -> TradeRecord:
    side_ok = (record.initial_stop < record.entry) != record.is_short
    if record.initial_stop <= 0 or record.initial_stop == record.entry or not side_ok:
        raise ResultError(
            f"{where}: 'initial_stop_loss_abs' is {record.initial_stop!r} for a "
            f"{'short' if record.is_short else 'long'} entered at {record.entry!r}: not an "
            "initial stop on the losing side"
        )
    return record


def from_backtest_trade(row: Mapping[str, Any], where: str = "trade") -> TradeRecord:
    """One trade of Freqtrade's backtest export (`strategy.<name>.trades[i]`)."""
    where = f"{where} {row.get('pair')} {row.get('open_date')}"
    orders = row.get("orders")
    if not isinstance(orders, list):
        raise ResultError(f"{where}: 'orders' is {orders!r}")
    entries = [o for o in orders if o.get("ft_is_entry")]
    exits = [o for o in orders if not o.get("ft_is_entry")]
    amount = math.fsum(_number(o, "amount", where) for o in entries)
    if amount <= 0:
        raise ResultError(f"{where}: no filled entry order")
    entry_value = math.fsum(
        _number(o, "amount", where) * _number(o, "safe_price", where) for o in entries
    )
    fills = tuple(
        Fill(
            tag=o.get("ft_order_tag") or row.get("exit_reason") or "",
            amount=_number(o, "amount", where),
            price=_number(o, "safe_price", where),
            at=_utc(o["order_filled_timestamp"], "order_filled_timestamp", where)
            if o.get("order_filled_timestamp")
            else None,
        )
        for o in exits
    )
    record = TradeRecord(
        pair=str(row["pair"]),
        is_short=bool(row.get("is_short")),
        open_date=_utc(row["open_timestamp"], "open_timestamp", where),
        close_date=_utc(row["close_timestamp"], "close_timestamp", where),
        entry=entry_value / amount,
        amount=amount,
        initial_stop=_number(row, "initial_stop_loss_abs", where),
        fee_open=_number(row, "fee_open", where),
        fee_close=_number(row, "fee_close", where),
        exits=fills,
        exit_reason=str(row.get("exit_reason") or ""),
        stop_at_exit=row.get("stop_loss_abs"),
        max_rate=row.get("max_rate"),
        min_rate=row.get("min_rate"),
        profit_abs=row.get("profit_abs"),
    )
    return _check_stop(record, where)


@dataclass(frozen=True)
class BacktestResult:
    path: Path
    strategy: str
    stats: dict  # Freqtrade's per-strategy stats (trades, timeframe, stake_currency, …)
    config: dict  # the config the backtest ran with (from the result file), or {}

    @property
    def trades(self) -> list[TradeRecord]:
        return [
            from_backtest_trade(t, f"{self.path.name}")
            for t in self.stats["trades"]
            if not t.get("is_open")
        ]


def latest_result(results_dir: Path) -> Path:
    """The latest backtest result of `results_dir` (Freqtrade's `.last_result.json`)."""
    marker = results_dir / ".last_result.json"
    if not marker.is_file():
        raise ResultError(
            f"no backtest result in {results_dir} (no .last_result.json): run a backtest"
        )
    name = json.loads(marker.read_text())["latest_backtest"]
    return results_dir / name


def load_backtest(path: Path, strategy: str | None = None) -> BacktestResult:
    """A backtest result (Freqtrade's .zip or .json); `strategy` chooses when it holds several."""
    path = Path(path)
    if not path.is_file():
        raise ResultError(f"no such result file: {path}")
    config: dict = {}
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            main = [n for n in names if n.endswith(".json") and not n.endswith("_config.json")]
            if not main:
                raise ResultError(f"{path}: no result JSON inside")
            data = json.loads(zf.read(main[0]))
            conf = [n for n in names if n.endswith("_config.json")]
            if conf:
                config = json.loads(zf.read(conf[0]))
    else:
        data = json.loads(path.read_text())
    strategies = data.get("strategy", {})
    if not strategies:
        raise ResultError(f"{path}: no strategy results")
    if strategy is None:
        if len(strategies) > 1:
            raise ResultError(f"{path} holds {sorted(strategies)}: choose one with --strategy")
        strategy = next(iter(strategies))
    if strategy not in strategies:
        raise ResultError(f"{path}: no strategy {strategy!r} (has {sorted(strategies)})")
    return BacktestResult(path, strategy, strategies[strategy], config)


def load_db(target: str | Path, bot: str | None = None) -> list[TradeRecord]:
    """The closed trades of a Freqtrade trades database (dry-run or live): a file
    path (SQLite) or any SQLAlchemy URL Freqtrade accepts as `db_url`; each labelled
    with `bot` (the bot it belongs to) when given."""
    db = TradesDatabase(database_url(target))
    if not db.exists():
        raise ResultError(f"no such database: {target}")
    try:
        records = _records(db)
        return records if bot is None else [replace(r, bot=bot) for r in records]
    except TradesDatabaseError as exc:
        raise ResultError(str(exc)) from None
    finally:
        db.close()


def _records(db: TradesDatabase) -> list[TradeRecord]:
    name = Path(db.where).name
    out = []
    for t in db.closed_trades():
        orders = db.filled_orders(t["id"])
        where = f"{name} trade {t['id']} {t['pair']}"
        entry_side = "sell" if t["is_short"] else "buy"
        entries = [o for o in orders if o["ft_order_side"] == entry_side]
        exits = [o for o in orders if o["ft_order_side"] not in (entry_side, "stoploss")] + [
            o for o in orders if o["ft_order_side"] == "stoploss"
        ]
        amount = math.fsum(o["filled"] for o in entries)
        if amount <= 0:
            continue
        price = lambda o: o["average"] or o["price"]  # noqa: E731
        entry = math.fsum(o["filled"] * price(o) for o in entries) / amount
        record = TradeRecord(
            pair=t["pair"],
            is_short=bool(t["is_short"]),
            open_date=_utc(t["open_date"], "open_date", where),
            close_date=_utc(t["close_date"], "close_date", where),
            entry=entry,
            amount=amount,
            initial_stop=float(t["initial_stop_loss"] or 0.0),
            fee_open=float(t["fee_open"] or 0.0),
            fee_close=float(t["fee_close"] or 0.0),
            exits=tuple(
                Fill(
                    tag=o["ft_order_tag"] or t["exit_reason"] or "",
                    amount=float(o["filled"]),
                    price=float(price(o)),
                    at=_utc(o["order_filled_date"], "order_filled_date", where)
                    if o["order_filled_date"]
                    else None,
                )
                for o in sorted(exits, key=lambda o: _filled_at(o, where))
            ),
            exit_reason=t["exit_reason"] or "",
            stop_at_exit=t["stop_loss"],
            max_rate=t["max_rate"],
            min_rate=t["min_rate"],
            profit_abs=t["close_profit_abs"],
        )
        out.append(_check_stop(record, where))
    return out
