"""Resting orders matched along the replayed price path.

A resting limit order fills at its price when the piecewise-linear path (the one
the ticker and the book follow) reaches it; a stop triggers when the path reaches
its stop price (through an injected gap: worse, or held back past its limit). The
fault plan may make a fill come in pieces. A base class of ``MatchingEngine``, which
provides ``ledger``, ``feed``, ``faults``, ``fee_rate`` and the pieces and holds
(``_pieces``, ``_blocked_until``).
"""

from __future__ import annotations

import itertools

from profitguard.tooling.exchange.grid import floor_to_step
from profitguard.tooling.exchange.ledger import Order


class PathMatching:
    """``advance``: every open order walked along the price path up to now."""

    def advance(self, now: int) -> None:
        """Walk every open order along the price path up to ``now``."""
        with self.ledger.lock:
            for order in [o for o in self.ledger.orders.values() if o.is_open]:
                if order.checked_ms < now:
                    self._walk(order, now)
                    order.checked_ms = now

    def _walk(self, order: Order, now: int) -> None:
        points = self.feed.path_points(order.spec.pair, order.checked_ms, now)
        pieces = self._pieces.get(order.order_id)
        if pieces is not None and pieces[2] is not None:
            self._fill_pieces(order, now)
            return
        for (ta, pa), (tb, pb) in itertools.pairwise(points):
            if not order.is_open:
                return
            if order.type == "STOP_LOSS_LIMIT" and not order.triggered:
                crossed = self._crossing(
                    ta, pa, tb, pb, order.stop_price, falling=order.side == "SELL"
                )
                if crossed is None:
                    continue
                self._trigger(order, crossed, now)
                if (
                    not order.is_open
                    or self._pieces.get(order.order_id, [0, 0, None])[2] is not None
                ):
                    break
                continue
            blocked = self._blocked_until.get(order.order_id)
            if blocked is not None:
                if tb <= blocked:
                    continue
                ta, pa = blocked, pa + (pb - pa) * (blocked - ta) / (tb - ta) if tb > ta else pb
            crossed = self._crossing(ta, pa, tb, pb, order.price, falling=order.side == "BUY")
            if crossed is not None:
                self._reached(order, crossed, order.price, now, maker=True)
                break
        if pieces is not None and pieces[2] is not None:
            self._fill_pieces(order, now)

    @staticmethod
    def _crossing(ta, pa, tb, pb, level: float, *, falling: bool) -> float | None:
        """When the segment (ta, pa) -> (tb, pb) reaches ``level`` from above
        (``falling``) or from below, or None."""
        if falling:
            if pa <= level:
                return ta
            if pb > level:
                return None
        else:
            if pa >= level:
                return ta
            if pb < level:
                return None
        return ta + (tb - ta) * (level - pa) / (pb - pa)

    def _triggered(self, order: Order, at: float) -> tuple[int, float, dict | None]:
        """Mark a stop triggered at `at`: its time, the price it meets (its stop price, or
        worse through an injected gap) and the gap fault (None: no gap)."""
        t = int(at)
        order.triggered = True
        order.update_time = t
        price = order.stop_price
        gap = self.faults.fire("price_gap", f"stop {order.spec.pair}")
        if gap is not None:
            ratio = float(gap.get("gap", 0.03))
            price = price * (1 - ratio) if order.side == "SELL" else price * (1 + ratio)
        return t, price, gap

    def _trigger(self, order: Order, at: float, now: int) -> None:
        t, price, gap = self._triggered(order, at)
        executable = price >= order.price if order.side == "SELL" else price <= order.price
        order.snapshot(t)
        if executable:
            self._reached(order, t, price, now, maker=False)
        else:
            # the market went through the limit: nothing fills until it comes back
            self._blocked_until[order.order_id] = t + float(gap.get("hold_ms", 5000))

    def _reached(self, order: Order, at: float, price: float, now: int, *, maker: bool) -> None:
        t = int(at)
        pieces = self._pieces.get(order.order_id)
        if pieces is None:
            self.ledger.apply_fill(
                order, price=price, qty=order.remaining, fee_rate=self.fee_rate, time=t, maker=maker
            )
            return
        pieces[2] = (t, price, maker)
        self._fill_pieces(order, now)

    def _fill_pieces(self, order: Order, now: int) -> None:
        """A partly filled order: one more piece every ``interval_ms`` after the price
        reached it, each an equal share of the original amount, the last the rest."""
        count, interval, (start, price, maker) = self._pieces[order.order_id]
        piece = floor_to_step(order.orig_qty / count, order.spec.step_size)
        done = len(order.fills)
        while order.is_open and start + done * interval <= now:
            last = done >= count - 1 or piece <= 0 or order.remaining - piece < order.spec.step_size
            qty = order.remaining if last else piece
            self.ledger.apply_fill(
                order,
                price=price,
                qty=qty,
                fee_rate=self.fee_rate,
                time=int(start + done * interval),
                maker=maker,
            )
            done += 1
        if not order.is_open:
            self._pieces.pop(order.order_id, None)

    def _piece_start(self, order: Order):
        pieces = self._pieces.get(order.order_id)
        return None if pieces is None else pieces[2]
