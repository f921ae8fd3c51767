"""The account as the trades database has it, for `profitguard guard status` when no bot
is running: open positions and closed trades from Freqtrade's `trades` table rows, the
equity from the config's wallet. Pure: rows in, an `Account` out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from profitguard.risk.book import Account, ClosedTrade, OpenPosition

# The columns of Freqtrade's `trades` table read here.
TRADE_COLUMNS = (
    "pair",
    "is_open",
    "is_short",
    "open_rate",
    "amount",
    "stake_amount",
    "stop_loss",
    "close_date",
    "close_profit_abs",
)


def _utc(value: Any) -> datetime:
    """Freqtrade stores naive UTC times ('2024-03-13 15:00:00.123456')."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def closed_profit(rows: Iterable[Mapping[str, Any]]) -> float:
    return sum(float(r["close_profit_abs"] or 0.0) for r in rows if not r["is_open"])


def wallet_equity(config: Mapping[str, Any], closed: float) -> float | None:
    """The capital Freqtrade would trade with, from the config and the closed profit:
    `available_capital` + closed profit, or in dry-run (`dry_run_wallet` + closed profit)
    times `tradable_balance_ratio`. None in live without `available_capital` (only the
    exchange knows the balance)."""
    if "available_capital" in config:
        return float(config["available_capital"]) + closed
    if config.get("dry_run", True):
        wallet = config.get("dry_run_wallet", 1000)
        if isinstance(wallet, Mapping):  # per-currency wallets: the stake currency's
            wallet = wallet.get(config.get("stake_currency", ""), 0.0)
        return (float(wallet) + closed) * float(config.get("tradable_balance_ratio", 0.99))
    return None


def account_from_rows(
    rows: Iterable[Mapping[str, Any]], *, now: datetime, equity: float
) -> Account:
    """Open positions (at Freqtrade's stop) and the trades closed by `now`, oldest first."""
    rows = list(rows)
    positions = [
        OpenPosition(
            pair=r["pair"],
            is_short=bool(r["is_short"]),
            entry=float(r["open_rate"]),
            amount=float(r["amount"]),
            stop=float(r["stop_loss"] if r["stop_loss"] is not None else r["open_rate"]),
            stake=float(r["stake_amount"]),
        )
        for r in rows
        if r["is_open"]
    ]
    closed = sorted(
        (
            ClosedTrade(
                pair=r["pair"],
                closed_at=_utc(r["close_date"]),
                profit=float(r["close_profit_abs"] or 0.0),
            )
            for r in rows
            if not r["is_open"] and r["close_date"] is not None
        ),
        key=lambda t: t.closed_at,
    )
    return Account(
        now=now,
        equity=equity,
        positions=positions,
        closed=[t for t in closed if t.closed_at <= now],
    )
