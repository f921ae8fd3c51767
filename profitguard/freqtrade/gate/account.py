"""The account as the rules see it: equity from Freqtrade's wallets (read at every
entry), the open trades with their stops in force, and the closed-trade history.

The open positions are a snapshot, taken again only when something they are made of
changed (the open trades, their amounts, stakes, entries, Freqtrade stops, or an engine
stop: `GateHost.stops_revision`): the entries of one candle share it. Closed trades
(`ClosedHistory`) are fetched incrementally and folded into the losing streak and the
period sums only when a trade closes: Freqtrade's simulated trades as of the candle in
backtesting, the trades database in dry-run and live."""

from __future__ import annotations

import bisect
import itertools
import logging
import math
from datetime import datetime, timedelta
from typing import Any

from profitguard.freqtrade import backtest_stops
from profitguard.freqtrade.gate.host import GateHost
from profitguard.freqtrade.trades import (
    STATE_KEY,
    CorruptTradeState,
    TradeMemo,
    fills_signature,
    original_amount,
)
from profitguard.risk.book import Account, ClosedTrade, OpenPosition, r_multiple
from profitguard.risk.config import RiskConfig
from profitguard.risk.pipeline import in_force
from profitguard.risk.rules import StreakFold, realized_pnl
from profitguard.risk.state import GuardState, GuardStateError

log = logging.getLogger(__name__)

# Closed trades are fetched incrementally: those closed after the latest seen, less this margin.
_CLOSED_MARGIN = timedelta(hours=1)


class ClosedHistory:
    """Closed trades, oldest first, with the streak fold and the period sums they feed."""

    def __init__(self, *, persistent: bool, with_r: bool) -> None:
        self.persistent = persistent
        self.with_r = with_r  # R feeds Kelly sizing only: a custom-data read per trade
        self.version = 0  # changes whenever the history does (forgotten included)
        self.forget()

    def forget(self) -> None:
        self._closed: dict[int, ClosedTrade] = {}
        self._sorted: list[ClosedTrade] = []
        self._mark: datetime | None = None
        self._bt_list: list | None = None
        self._bt_seen = 0
        self._fold: StreakFold | None = None
        self._folded = 0
        self._pnl: dict[tuple[datetime, int, int], float] = {}
        self._pnl_of = -1  # `version` the period sums belong to
        self.version += 1  # never back to a number a forgotten history had

    def trades(self) -> list[ClosedTrade]:
        """Closed trades, oldest first, fetched incrementally (closed trades do not change):
        in backtesting those Freqtrade appended since the last call, else the ones closed
        since shortly before the last seen."""
        from freqtrade.persistence import LocalTrade, Trade

        if not self.persistent:
            if LocalTrade.bt_trades is not self._bt_list:  # Freqtrade started a new run
                self.forget()
                self._bt_list = LocalTrade.bt_trades
            fresh = self._bt_list[self._bt_seen :]
            self._bt_seen = len(self._bt_list)
        elif self._mark is None:
            fresh = Trade.get_trades_proxy(is_open=False)
        else:
            fresh = Trade.get_trades_proxy(is_open=False, close_date=self._mark)
        for trade in fresh:
            known = self._closed.get(trade.id)
            if known is not None and known.closed_at != trade.close_date_utc:
                # a trade id seen with another close: a new backtest run reuses ids
                self.forget()
                return self.trades()
            if known is None:
                self._add(trade.id, self._closed_trade(trade))
        return self._sorted

    def _add(self, trade_id: int, closed: ClosedTrade) -> None:
        self._closed[trade_id] = closed
        ordered = self._sorted
        if ordered and closed.closed_at < ordered[-1].closed_at:
            bisect.insort(ordered, closed, key=lambda t: t.closed_at)
            self._fold = None  # folded out of order: fold again
        else:
            ordered.append(closed)
        self._mark = ordered[-1].closed_at - _CLOSED_MARGIN
        self.version += 1

    def streak(
        self, limit: int | None, since: datetime | None, cooldown: timedelta | None
    ) -> StreakFold | None:
        """The losing-streak fold over the history, extended as trades close (not refolded)."""
        if limit is None:
            return None
        closed = self._sorted
        fold = self._fold
        if fold is None or (fold.limit, fold.since, fold.cooldown) != (limit, since, cooldown):
            fold, self._folded = StreakFold(limit, since, cooldown), 0
        fold.extend(closed[self._folded :])
        self._fold, self._folded = fold, len(closed)
        return fold

    def pnl_since(self, start: datetime, now: datetime) -> float:
        """`risk.rules.realized_pnl` of the history, summed once per period start and
        trade closed (the same sum, in the same order, as the rule would make)."""
        if self._pnl_of != self.version:
            self._pnl.clear()
            self._pnl_of = self.version
        closed = self._sorted
        if not closed or closed[-1].closed_at <= now:
            upto = len(closed)  # every trade closed by now: backtesting, always
        else:
            upto = bisect.bisect_right(closed, now, key=_closed_at)
        key = (start, upto, len(closed))
        pnl = self._pnl.get(key)
        if pnl is None:
            pnl = self._pnl[key] = realized_pnl(closed, start, now)
        return pnl

    def recent_r(self, lookback: int) -> list[float]:
        """The last `lookback` known R's, oldest first (Kelly sizing)."""
        known = (t.r for t in reversed(self.trades()) if t.r is not None)
        return list(itertools.islice(known, lookback))[::-1]

    def _closed_trade(self, trade: Any) -> ClosedTrade:
        profit = trade.close_profit_abs
        if profit is None or not math.isfinite(profit) or trade.close_date is None:
            raise ValueError(
                f"closed trade {trade.id} ({trade.pair}) has no realized profit or close date"
            )
        return ClosedTrade(
            pair=trade.pair,
            closed_at=trade.close_date_utc,
            profit=float(profit),
            r=self._r_of(trade, float(profit)) if self.with_r else None,
        )

    def _r_of(self, trade: Any, profit: float) -> float | None:
        """The closed trade's profit in R, from its initial stop (None: unknown): the
        run's ledger in backtesting, the trade's custom data otherwise."""
        if not self.persistent:
            initial_stop = backtest_stops.initial_stop_of(trade)
            if initial_stop is None:
                return None
        else:
            record = trade.get_custom_data(STATE_KEY)
            if record is None:
                return None
            try:
                memo = TradeMemo.from_record(record, trade_id=trade.id, opened_at=trade.open_date)
            except CorruptTradeState as exc:
                log.warning(
                    "profitguard: R of closed trade %s unknown (left out of Kelly): %s",
                    trade.id,
                    exc,
                )
                return None
            initial_stop = memo.initial_stop
        return r_multiple(
            profit, entry=trade.open_rate, initial_stop=initial_stop, amount=original_amount(trade)
        )


def _closed_at(trade: ClosedTrade) -> datetime:
    return trade.closed_at


class AccountBook:
    def __init__(self, host: GateHost, config: RiskConfig, history: ClosedHistory) -> None:
        self.host = host
        self.config = config
        self.history = history
        minutes = config.loss_streak_cooldown_minutes
        self._cooldown = timedelta(minutes=minutes) if minutes is not None else None
        self.forget()

    def forget(self) -> None:
        """A new backtest run: no snapshot of the last one."""
        self._snapshot: tuple[tuple, tuple[OpenPosition, ...]] | None = None

    def equity(self) -> float:
        """The capital Freqtrade trades with: open stakes at cost plus the free stake
        currency, times `tradable_balance_ratio` (or `available_capital` + closed profit)."""
        wallets = getattr(self.host, "wallets", None)
        if wallets is None:
            raise RuntimeError("Freqtrade's wallets are not available: no equity to check")
        return float(wallets.get_total_stake_amount())

    def at(self, now: datetime, guard: GuardState | GuardStateError | None = None) -> Account:
        """The account as of `now` (the streak counted from the guard's last reset)."""
        from freqtrade.persistence import Trade

        positions = self.positions(Trade.get_trades_proxy(is_open=True))
        history = self.history
        closed = history.trades()
        kept = in_force(guard) if guard is not None else None
        since = kept.streak_since if kept is not None else None
        return Account(
            now=now,
            equity=self.equity(),
            positions=positions,
            closed=closed,
            streak=history.streak(self.config.max_consecutive_losses, since, self._cooldown),
            pnl_since=history.pnl_since,
        )

    def positions(self, trades: list[Any]) -> tuple[OpenPosition, ...]:
        """The open `trades` as positions: the snapshot while nothing they are made of
        changed (see the module), else made afresh and kept."""
        made_of = [_made_of(t) for t in trades]
        snapshot = self._snapshot
        if snapshot is not None and snapshot[0] == (self.host.stops_revision(), made_of):
            return snapshot[1]
        positions = tuple(self._position(t) for t in trades)  # shared: immutable
        # the revision after: asking a stop may have brought a trade's engine state up to
        # its fills (a new revision), which these positions already show
        self._snapshot = ((self.host.stops_revision(), made_of), positions)
        return positions

    def _position(self, trade: Any) -> OpenPosition:
        stop = self.host.stop_in_force(trade)  # the engine's, else Freqtrade's
        return OpenPosition(
            pair=trade.pair,
            is_short=trade.is_short,
            entry=trade.open_rate,
            amount=trade.amount,
            stop=float(trade.stop_loss) if stop is None else stop,
            stake=trade.stake_amount,
            opened_at=trade.open_date_utc,
        )


def _made_of(trade: Any) -> tuple:
    """What an open position is made of, besides the engine's stop in force (a trade id
    comes again in the next backtest run: the open date tells them apart), and the
    fills the tracker rebuilds that stop from: while they are the same, asking for the
    stop again would give the kept one and change nothing."""
    return (
        trade.id,
        trade.pair,
        trade.is_short,
        trade.open_rate,
        trade.stop_loss,
        trade.stake_amount,
        trade.open_date,
        fills_signature(trade),  # the amount, and the orders
    )
