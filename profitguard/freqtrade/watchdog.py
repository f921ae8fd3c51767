"""The watchdog (dry-run and live): open trades without protection, or without prices.

Decisions only: `Watchdog.check` takes what the bot sees this loop (per open trade:
whether a stop order rests on the exchange, when its price last changed) and returns
the alerts to send and the trades to close; the strategy's loop hook does the I/O.

- With `stoploss_on_exchange`, a trade with no open stop order for more than
  `unprotected_loops` loops in a row is `UNPROTECTED`: reported once (again only
  after it was protected in between), or closed at market with `action: "exit"`.
- A trade whose price has not changed for `stale_price_s` seconds is `STALE_PRICE`:
  its stop in the bot sees no price. Reported once until the price moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from profitguard.freqtrade.operate_settings import WatchdogSettings

UNPROTECTED = "UNPROTECTED"
STALE_PRICE = "STALE_PRICE"
# the exit tag of a trade the watchdog closes (action "exit")
WATCHDOG_EXIT_TAG = "watchdog_unprotected"


@dataclass(frozen=True, slots=True)
class TradeSight:
    """One open trade as the bot sees it at one loop."""

    trade_id: int
    pair: str
    stop_resting: bool  # an open stop order of the trade on the exchange
    price_changed_at: datetime | None  # when the price it is checked at last changed


@dataclass(frozen=True, slots=True)
class Alert:
    code: str
    trade_id: int
    pair: str
    message: str
    since: datetime | None = None

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "trade_id": self.trade_id,
            "pair": self.pair,
            "message": self.message,
            "since": self.since.isoformat() if self.since else None,
        }


class Watchdog:
    def __init__(self, settings: WatchdogSettings, *, stop_on_exchange: bool) -> None:
        self.settings = settings
        self.stop_on_exchange = stop_on_exchange
        self.unprotected: dict[int, int] = {}  # trade id -> loops in a row without a stop
        self.reported: set[tuple[str, int]] = set()
        self.active: list[Alert] = []  # the alerts in force after the last check

    def check(self, sights: list[TradeSight], now: datetime) -> tuple[list[Alert], list[int]]:
        """(alerts new this loop, trade ids to close at market now)."""
        new: list[Alert] = []
        active: list[Alert] = []
        close: list[int] = []
        open_ids = {s.trade_id for s in sights}
        for sight in sights:
            for alert in self._alerts(sight, now):
                active.append(alert)
                key = (alert.code, sight.trade_id)
                if alert.code == UNPROTECTED and self.settings.action == "exit":
                    close.append(sight.trade_id)
                if key not in self.reported:
                    self.reported.add(key)
                    new.append(alert)
        in_force = {(a.code, a.trade_id) for a in active}
        self.reported &= in_force  # cleared: reported again if it comes back
        self.unprotected = {k: v for k, v in self.unprotected.items() if k in open_ids}
        self.active = active
        return new, close

    def _alerts(self, sight: TradeSight, now: datetime) -> list[Alert]:
        alerts = []
        if self.stop_on_exchange:
            loops = 0 if sight.stop_resting else self.unprotected.get(sight.trade_id, 0) + 1
            self.unprotected[sight.trade_id] = loops
            if loops > self.settings.unprotected_loops:
                what = (
                    "closing it at market"
                    if self.settings.action == "exit"
                    else "check the exchange: the position has no stop there"
                )
                alerts.append(
                    Alert(
                        UNPROTECTED,
                        sight.trade_id,
                        sight.pair,
                        f"profitguard watchdog: {sight.pair} (trade {sight.trade_id}) has had no "
                        f"stop order on the exchange for {loops} loops (limit "
                        f"{self.settings.unprotected_loops}): {what}",
                    )
                )
        changed = sight.price_changed_at
        if changed is not None:
            age = (now - changed).total_seconds()
            if age > self.settings.stale_price_s:
                alerts.append(
                    Alert(
                        STALE_PRICE,
                        sight.trade_id,
                        sight.pair,
                        f"profitguard watchdog: {sight.pair} (trade {sight.trade_id}): its price "
                        f"has not changed for {age:.0f} s (limit {self.settings.stale_price_s:g} "
                        "s): the stop in the bot sees no new price",
                        since=changed,
                    )
                )
        return alerts
