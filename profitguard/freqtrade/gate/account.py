"""The account as the rules see it: equity from Freqtrade's wallets, the open trades
with their stops in force, and the closed-trade history.

The open positions are a snapshot, taken again only when something they are made of
changed: the set of open trades, a trade's amount, stake, entry or Freqtrade stop, or
(`GateHost.stops_revision`) an engine stop in force. So the entries of one candle
(and `custom_stake_amount` then `confirm_trade_entry` of each) share one snapshot, and
an entry that opened, a fill or a stop that moved in between is seen by the next. Equity
is read at every entry (one call); the closed-trade part (streak, period sums) changes
only when a trade closes (`ClosedHistory`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from profitguard.freqtrade.gate.history import ClosedHistory
from profitguard.freqtrade.gate.host import GateHost
from profitguard.freqtrade.trades import fills_signature
from profitguard.risk.book import Account, OpenPosition
from profitguard.risk.config import RiskConfig
from profitguard.risk.pipeline import in_force
from profitguard.risk.state import GuardState, GuardStateError


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
