"""Orders resting on the exchange that carry a profitguard id but that the bot forgot.

With `stoploss_on_exchange`, Freqtrade places a stop (`create_stoploss`) and records it
only once the exchange's answer is back. A bot killed in between, or an answer lost,
leaves a stop resting that its database does not know: it locks the coins (spot),
never moves up with the stop in force, and blocks every exit, the kill switch's
included. Stop orders carry `pg-<trade id>-sl-<n>` (`client_ids`), so they can be
named and found:

- right before Freqtrade places a stop (`stop_id`, asked by the client-id wrapper for
  the new stop's id), at the first bot loop and then once a minute (`loop`), every
  resting `pg-<trade>-sl-<n>` order of one of the bot's trades of the pair whose
  exchange order id none of the trade's orders has is cancelled. So a stop whose
  answer was lost never stands beside the one Freqtrade places again (which gets the
  same id, as the trade's order count did not change: Binance would refuse it as a
  duplicate, and Freqtrade exits a trade whose stop is refused), and Freqtrade's new
  stop sits at the stop in force. Adopting the forgotten stop instead would mean
  writing it into Freqtrade's order table, which has no public API for it; a stop that
  matches the trade's amount and side is logged as such, and cancelled all the same.
- when the kill switch exits a trade (`before_kill`), every resting profitguard order
  of the pair unknown to the bot is cancelled first, stop or not: the market exit must
  find the coins free. The orders Freqtrade knows it cancels itself.

Only ids whose trade id is one of this bot's trades of the pair are touched: an order
of another bot on the same account, or one placed by hand, is left alone. The open
orders are read with ccxt's `fetch_open_orders` on Freqtrade's ccxt instance
(`exchange._api`, the reach `client_ids` makes already) and cancelled with Freqtrade's
`cancel_stoploss_order` / `cancel_order`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from profitguard.freqtrade.client_id_format import BINANCE, PREFIX, IdFormat, exit_client_id
from profitguard.freqtrade.client_ids import STOP_TYPES

log = logging.getLogger(__name__)

STOP_TAG = "sl"
SWEEP_EVERY_S = 60.0


# Our ids of a trade's orders in either shape (`client_id_format`): `pg-<id>-<tag>-<n>`,
# or `pg<id>T<tag>N<n>` where only letters and digits are allowed; ccxt may put its
# own `t-` in front (Gate)
_TRADE_ID = re.compile(rf"^(?:t-)?{PREFIX}(?:-(\d+)-(.+)-\d+|(\d+)T([a-z0-9]+)N\d+)$")


def stop_client_id(trade_id: int, n: int, fmt: IdFormat = BINANCE) -> str:
    """`pg-<trade id>-sl-<n>` (in `fmt`) for a stop that is the `n`-th order of the trade."""
    return exit_client_id(trade_id, STOP_TAG, n, fmt)


@dataclass(frozen=True, slots=True)
class Resting:
    """An open order on the exchange that carries a profitguard id of a trade."""

    order_id: str
    client_id: str
    pair: str
    side: str
    amount: float
    trade_id: int
    tag: str
    stop: bool

    def describe(self) -> str:
        kind = "stop" if self.stop else "order"
        return f"{kind} {self.order_id} ({self.client_id}, {self.side} {self.amount:g})"


def resting_of(order: dict, pair: str) -> Resting | None:
    """A ccxt order as `Resting` when its client id is `pg-<trade id>-<tag>-<n>`, else None
    (ccxt's ids, an entry's `pg-new-...`)."""
    client_id = str(order.get("clientOrderId") or "")
    match = _TRADE_ID.match(client_id)
    if match is None:
        return None
    trade_id, tag = (match.group(1), match.group(2)) if match.group(1) else match.group(3, 4)
    kind = str(order.get("type") or "").lower()
    return Resting(
        order_id=str(order.get("id")),
        client_id=client_id,
        pair=pair,
        side=str(order.get("side") or ""),
        amount=float(order.get("amount") or 0.0),
        trade_id=int(trade_id),
        tag=tag,
        stop=tag == STOP_TAG or kind in STOP_TYPES,
    )


def forgotten(
    resting: Iterable[Resting], known: dict[int, set[str]], *, stops_only: bool
) -> list[Resting]:
    """The orders of `resting` that belong to one of the trades in `known` (trade id ->
    the exchange ids of its orders) and that none of its orders is: the bot forgot them.
    `stops_only`: stops alone."""
    return [
        r
        for r in resting
        if r.trade_id in known
        and r.order_id not in known[r.trade_id]
        and (r.stop or not stops_only)
    ]


def matches_trade(order: Resting, trade: Any) -> bool:
    """The order could stand as `trade`'s stop: its exit side and its open amount."""
    return order.side == trade.exit_side and abs(order.amount - trade.amount) <= 1e-9 * max(
        1.0, trade.amount
    )


def _trades_of(pair: str) -> list[Any]:
    from freqtrade.persistence import Trade

    return list(Trade.get_trades_proxy(pair=pair))


class ForgottenOrders:
    """Finds and cancels the profitguard orders the bot forgot (live mode)."""

    def __init__(
        self,
        exchange: Any,
        *,
        futures: bool,
        fmt: IdFormat = BINANCE,
        trades_of: Callable[[str], list[Any]] = _trades_of,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.exchange = exchange
        self.futures = futures
        self.format = fmt  # the exchange's client id format (`client_id_format`)
        self.trades_of = trades_of
        self.clock = clock
        self.next_sweep = 0.0  # due at once: the first loop sweeps
        self._swept = False
        self._failed: set[str] = set()

    def resting(self, pair: str) -> list[Resting]:
        """The open orders of `pair` on the exchange that carry a profitguard id (futures:
        the conditional ones too, which Binance keeps apart)."""
        api = self.exchange._api
        orders = list(api.fetch_open_orders(pair))
        if self.futures:
            orders += api.fetch_open_orders(pair, params={"trigger": True})
        found = (resting_of(o, pair) for o in orders)
        return [r for r in found if r is not None]

    def cancel_forgotten(self, pair: str, *, stops_only: bool, why: str) -> list[Resting]:
        """Cancel the forgotten orders of `pair` (`forgotten`); the cancelled ones."""
        resting = self.resting(pair)
        if not resting:
            return []
        trades = {t.id: t for t in self.trades_of(pair)}
        known = {tid: {str(o.order_id) for o in t.orders} for tid, t in trades.items()}
        cancelled = []
        for order in forgotten(resting, known, stops_only=stops_only):
            trade = trades[order.trade_id]
            fits = order.stop and trade.is_open and matches_trade(order, trade)
            note = " (it matches the trade's amount and side)" if fits else ""
            log.warning(
                "profitguard: %s: cancelling %s of trade %s on %s, unknown to the bot%s",
                why,
                order.describe(),
                order.trade_id,
                pair,
                note,
            )
            if order.stop:
                self.exchange.cancel_stoploss_order(order.order_id, pair)
            else:
                self.exchange.cancel_order(order.order_id, pair)
            cancelled.append(order)
        return cancelled

    def sweep(self, trades: Iterable[Any], why: str) -> list[Resting]:
        """Cancel the forgotten stops of the pairs of `trades` (the open ones). A pair that
        fails is logged (once per pair until it works again) and tried at the next sweep."""
        cancelled: list[Resting] = []
        for pair in sorted({t.pair for t in trades}):
            try:
                cancelled += self.cancel_forgotten(pair, stops_only=True, why=why)
                self._failed.discard(pair)
            except Exception as exc:
                if pair not in self._failed:
                    log.warning("profitguard: %s: cannot check the stops of %s: %s", why, pair, exc)
                self._failed.add(pair)
                self.next_sweep = 0.0
        return cancelled

    def loop(self, trades: Iterable[Any]) -> list[Resting]:
        """Once a minute (and at the first loop): `sweep` the open trades."""
        now = self.clock()
        if now < self.next_sweep:
            return []
        why = "reconciliation" if self._swept else "start-up"
        self._swept = True
        self.next_sweep = now + SWEEP_EVERY_S
        return self.sweep(trades, why)

    def stop_id(self, pair: str) -> str | None:
        """The id of the stop Freqtrade is placing now for the open trade of `pair`, once
        the pair's forgotten stops are cancelled (a failure to check is logged: the stop
        is placed all the same)."""
        from freqtrade.persistence import Trade

        trades = Trade.get_trades_proxy(pair=pair, is_open=True)
        if len(trades) != 1:
            return None  # no open trade of the pair to name it by: ccxt's id
        client_id = stop_client_id(trades[0].id, len(trades[0].orders) + 1, self.format)
        try:
            self.cancel_forgotten(pair, stops_only=True, why="before placing a stop")
        except Exception as exc:
            log.warning("profitguard: cannot check the stops of %s before placing one: %s",
                        pair, exc)  # fmt: skip
        return client_id

    def before_kill(self, trade: Any) -> list[Resting]:
        """The kill switch exits `trade`: every forgotten profitguard order of its pair,
        stop or not, is cancelled first, so that the market exit finds the coins free."""
        return self.cancel_forgotten(trade.pair, stops_only=False, why="kill switch")
