"""What the bot publishes for the dashboard (dry-run and live), once per bot loop.

Into the status file the gate already writes (`gate.status`): each open trade's
figures (R now, peak R, stop in force in price and R, levels done, the next level and
its distance, age), the last events (stop moves and take-profit fills seen from one
loop to the next, refusals with their figures, watchdog alerts), the watchdog's
alerts in force and the count of callback errors. The watchdog (`watchdog`) runs
here; its alerts are sent through `dp.send_msg`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from profitguard.engine import Position
from profitguard.engine.position import tp_tag
from profitguard.freqtrade.operate_settings import WatchdogSettings
from profitguard.freqtrade.tracker import TradeTracker
from profitguard.freqtrade.watchdog import WATCHDOG_EXIT_TAG, TradeSight, Watchdog

EVENTS_KEPT = 50
log = logging.getLogger("profitguard.freqtrade.watchdog")


def trade_row(
    trade: Any,
    position: Position | None,
    price: tuple[float, datetime] | None,
    *,
    stop_resting: bool | None,
) -> dict[str, Any]:
    """One open trade's figures, as the status file holds them (R figures: None when the
    trade is not yet known to the engine)."""
    row: dict[str, Any] = {
        "trade_id": trade.id,
        "pair": trade.pair,
        "side": "short" if trade.is_short else "long",
        "entry": trade.open_rate,
        "amount": trade.amount,
        "opened_at": trade.open_date_utc.isoformat(),
        "price": price[0] if price else None,
        "price_changed_at": price[1].isoformat() if price else None,
        "stop": trade.stop_loss,
        "stop_r": None,
        "r": None,
        "peak_r": None,
        "initial_stop": None,
        "state": None,
        "levels_done": [],
        "levels": 0,
        "next_level": None,
        "stop_resting": stop_resting,
    }
    if position is None:
        return row
    plan = position.plan
    tps = plan.tp_prices
    row.update(
        stop=position.stop,
        stop_r=position.stop_r,
        peak_r=position.peak_r,
        initial_stop=plan.initial_stop,
        state=position.state.value,
        levels_done=[tp_tag(i) for i in range(position.levels_taken)],
        levels=len(tps),
    )
    if price is not None:
        row["r"] = plan.r(price[0])
    if position.levels_taken < len(tps):
        level_price = tps[position.levels_taken]
        level_r = plan.r(level_price)
        row["next_level"] = {
            "tag": tp_tag(position.levels_taken),
            "price": level_price,
            "r": level_r,
            "distance_r": None if row["r"] is None else level_r - row["r"],
        }
    return row


def _stop_resting(trade: Any) -> bool:
    return bool(trade.open_sl_orders)


class TradeMonitor:
    def __init__(
        self,
        tracker: TradeTracker,
        settings: WatchdogSettings,
        *,
        stop_on_exchange: bool,
        send: Callable[[str], None] | None,
    ) -> None:
        self.tracker = tracker
        self.watchdog = Watchdog(settings, stop_on_exchange=stop_on_exchange)
        self.stop_on_exchange = stop_on_exchange
        self.send = send
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENTS_KEPT)
        self.to_close: set[int] = set()
        self._last: dict[int, tuple[float, int]] = {}  # trade id -> (stop, levels taken)

    def event(self, when: datetime, kind: str, message: str, **figures: Any) -> None:
        self.events.append({"time": when.isoformat(), "kind": kind, "message": message, **figures})

    def loop(self, trades: Iterable[Any], now: datetime) -> dict[str, Any]:
        """The figures to publish for this loop; runs the watchdog."""
        rows, sights = [], []
        for trade in trades:
            memo = self.tracker.known(trade)
            position = self.tracker.position(trade, memo) if memo is not None else None
            price = self.tracker.prices.get(trade.id)
            resting = _stop_resting(trade) if self.stop_on_exchange else None
            rows.append(trade_row(trade, position, price, stop_resting=resting))
            self._changes(trade, position, now)
            if trade.has_open_position:
                sights.append(TradeSight(trade.id, trade.pair, bool(resting), price and price[1]))
        new, close = self.watchdog.check(sights, now)
        self.to_close = set(close)
        for alert in new:
            self.event(now, alert.code, alert.message, pair=alert.pair, trade_id=alert.trade_id)
            log.warning(alert.message)
            if self.send is not None:
                self.send(alert.message)
        open_ids = {row["trade_id"] for row in rows}
        self._last = {k: v for k, v in self._last.items() if k in open_ids}
        return {
            "loop_at": now.isoformat(),
            "trades": rows,
            "events": list(self.events),
            "watchdog": [a.as_json() for a in self.watchdog.active],
        }

    def _changes(self, trade: Any, position: Position | None, now: datetime) -> None:
        """Stop moves and take-profit fills since the last loop, as events."""
        if position is None:
            return
        last = self._last.get(trade.id)
        self._last[trade.id] = (position.stop, position.levels_taken)
        if last is None:
            return
        stop, taken = last
        for level in range(taken, position.levels_taken):
            tag = tp_tag(level)
            self.event(
                now,
                "TAKE_PROFIT",
                f"{trade.pair} (trade {trade.id}) {tag} filled",
                pair=trade.pair,
                trade_id=trade.id,
                level=tag,
            )
        if position.stop != stop:
            self.event(
                now,
                "STOP_MOVED",
                f"{trade.pair} (trade {trade.id}) stop {stop:.8g} -> {position.stop:.8g} "
                f"({position.stop_r:+.2f}R)",
                pair=trade.pair,
                trade_id=trade.id,
                stop=position.stop,
                stop_r=position.stop_r,
            )

    def exit_due(self, trade: Any) -> bool:
        """The watchdog closes `trade` at market now (action "exit")."""
        return trade.id in self.to_close and not any(
            o.ft_order_tag == WATCHDOG_EXIT_TAG for o in trade.open_orders
        )


def open_trades() -> list[Any]:
    """The bot's open trades (dry-run and live: from its trades database)."""
    from freqtrade.persistence import Trade

    return Trade.get_open_trades()
