"""Live reconciliation: the exchange's orders under profitguard's client ids against
the trades database, at start-up and every `reconcile_every_loops` bot loops, and each
open trade's amount against its filled orders after a restart and after every exit.

Why the amount check: Freqtrade 2026.9 processes a filled order in two commits
(`update_trade_state`: `trade.update_order` commits the order as filled, then the fee
lookup, `GET myTrades`, then `trade.update_trade` reduces the trade's amount and
commits). A bot killed between the two restarts with the exit in the database and the
trade's amount from before it: the trade would sell what it no longer holds, or
Freqtrade's recovery (`handle_onexchange_order`, when the wallet holds less) replays
the orders and closes the trade on the first take-profit while half of it is still
held. Recomputing the amount from the filled orders before the loop's exits
(`bot_loop_start`) closes that window; an amount above what the exchange holds is
capped at the holding.

Acting on findings (`reconcile`): a filled profitguard order of an open trade that
the database lacks is adopted into that trade (the order added to it, the trade
recomputed from its orders, closed when nothing is left, as Freqtrade does);
anything else is reported once (`dp.send_msg` and the log) and kept in `latest`
for the dashboard and the metrics (`untracked_amount()`: pair -> base amount).
With the watchdog's action "exit" (`close_untracked`), the untracked holding that
profitguard's own fills explain is closed at market (`reconcile.untracked_closes`:
a closed trade's remainder, an entry no trade records), through the client-id wrapper
like any order, tagged `untracked`; a holding profitguard did not buy is the user's
and is never sold. No other close of its pair is sent before the exchange shows it
ended; the next reconciliation sees the holding gone.

Live only; Freqtrade internals used here are listed in docs/freqtrade-internals.md
("Lost answers and reconciliation") and pinned by tests/integration/
test_client_ids_contract.py. When one is missing, reconciliation switches off with
one warning and trading goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from profitguard.freqtrade.client_ids import tag_of
from profitguard.freqtrade.internals import exchange_of
from profitguard.freqtrade.lost_answers import Placement
from profitguard.freqtrade.reconcile import (
    ExchangeOrder,
    Finding,
    Reconciliation,
    TradeRecord,
    reconcile,
    untracked_closes,
)
from profitguard.freqtrade.untracked_closer import (
    amount_step,
    close_id,
    fee_guess,
    send_closes,
)

log = logging.getLogger(__name__)

TOLERANCE = 1e-9
# After the start-up run (back to the bot's first trade), each run reads the exchange's
# orders since the oldest open trade opened, or this long back if that is earlier.
LOOKBACK = timedelta(days=1)
ENDED = ("canceled", "expired", "rejected")  # ccxt's statuses of an order that is over


def now() -> datetime:
    return datetime.now(UTC)


def amount_from_orders(trade: Any) -> float:
    """The trade's amount as its filled orders in the database say (entries after a
    base fee, less exits): what Freqtrade's `recalc_trade_from_orders` computes."""
    total = 0.0
    for order in trade.orders:
        if order.ft_is_open or not order.filled:
            continue
        sign = 1 if order.ft_order_side == trade.entry_side else -1
        total += sign * order.safe_amount_after_fee
    return total


def _exchange_order(order: dict, fee_base: float) -> ExchangeOrder:
    return ExchangeOrder(
        order_id=str(order["id"]),
        client_id=order.get("clientOrderId"),
        pair=order["symbol"],
        side=order["side"],
        filled=float(order.get("filled") or 0.0),
        fee_base=fee_base,
        is_open=order.get("status") == "open",
    )


class Reconciler:
    """Runs the checks from `bot_loop_start`; `exit_filled` asks for an amount check
    at the next loop. `trades()` lists the database's trades (Freqtrade's
    `Trade.get_trades_proxy`), `commit()` writes them."""

    def __init__(
        self,
        *,
        exchange: Any,
        wallets: Any,
        placement: Placement | None,
        send: Callable[[str], None],
        every_loops: int,
        futures: bool,
        trades: Callable[[], list[Any]],
        commit: Callable[[], None],
        parse_order: Callable[[dict, str, str], Any],
        close_untracked: bool = False,
        expect: Callable[[str, str, str, str], None] | None = None,
        id_of: Callable[[int | None, int], str] | None = None,
        whitelist: Callable[[], list[str]] = list,
    ) -> None:
        self.exchange = exchange
        self.wallets = wallets
        self.placement = placement
        self.send = send
        self.every_loops = every_loops
        self.futures = futures
        self.trades = trades
        self.commit = commit
        self.parse_order = parse_order
        # the watchdog's action "exit": close untracked holdings at market; `expect`
        # announces the close's client id to the wrapper, `id_of(trade_id, millis)`
        # builds it
        self.close_untracked = close_untracked
        self.expect = expect
        self.id_of = id_of or close_id
        self.whitelist = whitelist  # the bot's pairs (Freqtrade's `dp.current_whitelist`)
        self._closing: dict[str, str] = {}  # pair -> client id of a close not yet ended
        self.latest = Reconciliation()
        self.loops = 0
        self._check_amounts = True  # at start-up
        self._since_first_trade_done = False  # start-up reads back to the first trade
        self._run_due = False
        self._held: set[str] = set()  # orphan entries blocking their pair's entries
        self._reported: set[tuple] = set()
        self.enabled = True

    # ---------------------------------------------------------------- the hooks

    def exit_filled(self) -> None:
        self._check_amounts = True

    def loop(self) -> None:
        """One bot loop: amounts when due; reconciliation at start-up, every N loops,
        and at once when an order whose answer was lost has been found since. What the
        exchange did not answer is tried again at the next loop."""
        if not self.enabled:
            return
        self._run_due = self._run_due or self.loops % self.every_loops == 0
        self.loops += 1
        try:
            if self._check_amounts:
                self._check_amounts = False
                self.check_amounts()
            if self._run_due or self._found_late():
                self.run()
                self._run_due = False
        except Exception as exc:  # an exchange that does not answer: next loop
            log.warning("profitguard: reconciliation deferred to the next loop: %s", exc)
            self._check_amounts = True

    def _found_late(self) -> bool:
        """An order found after its placement failed, not yet adopted or held."""
        late = self.placement.found_late() if self.placement is not None else []
        return any(o.get("clientOrderId") not in self._held for o in late)

    def untracked_amount(self) -> dict[str, float]:
        """pair -> base amount held beyond the open trades that profitguard's own fills
        explain (the last reconciliation; + long, - short)."""
        return dict(self.latest.untracked)

    # ---------------------------------------------------------------- amounts

    def _holding(self, pair: str, base: str) -> float:
        if self.futures:
            position = self.wallets.get_all_positions().get(pair)
            if position is None:
                return 0.0
            return -position.position if position.side == "short" else position.position
        return float(self.wallets.get_total(base) or 0.0)

    def check_amounts(self) -> None:
        """Each open trade sells no more than its filled orders left, nor than the
        exchange holds for it. A trade with an order open (a stop resting on the
        exchange included: it may have filled) is left to Freqtrade's update of it."""
        self.wallets.update()
        changed = False
        for trade in self.trades():
            if (
                not trade.is_open
                or trade.has_open_orders
                or trade.has_open_sl_orders
                or trade.nr_of_successful_entries < 1
            ):
                continue
            by_orders = amount_from_orders(trade)
            if by_orders <= max(TOLERANCE, _dust(self.exchange, trade.pair, trade.open_rate)):
                # sold all of it, or all but what no order can sell (dust)
                changed = self._close_sold(trade) or changed
                continue
            if trade.amount > by_orders + TOLERANCE:
                before = trade.amount
                trade.recalc_trade_from_orders()
                changed = True
                self._report(
                    ("recalc", trade.id, round(before, 12)),
                    f"profitguard: {trade.pair} (trade {trade.id}) recorded {before:.8g} while "
                    f"its filled orders leave {by_orders:.8g} (a fill processed in part "
                    f"before a restart): amount set to {trade.amount:.8g}",
                )
            held = self._holding(trade.pair, trade.safe_base_currency)
            held = -held if trade.is_short else held
            if 0 < held < trade.amount - TOLERANCE:
                before = trade.amount
                trade.amount = held
                changed = True
                self._report(
                    ("cap", trade.id, round(before, 12)),
                    f"profitguard: {trade.pair} (trade {trade.id}) would sell {before:.8g} "
                    f"while the exchange holds {held:.8g}: capped at {held:.8g}",
                )
        if changed:
            self.commit()

    def _close_sold(self, trade: Any) -> bool:
        """Close an open trade whose filled exits sold all it bought, as Freqtrade's
        `update_trade` does on the last fill (its processing of that fill was cut off)."""
        exits = [
            o
            for o in trade.orders
            if o.ft_order_side != trade.entry_side and not o.ft_is_open and o.filled
        ]
        if not exits:
            return False
        last = exits[-1]
        trade.close(last.safe_price)
        self._report(
            ("closed", trade.id),
            f"profitguard: {trade.pair} (trade {trade.id}) still open while its filled orders "
            f"sold all of it (the last at {last.safe_price:.8g}): closed",
        )
        return True

    # ---------------------------------------------------------------- reconciliation

    def run(self, *, adopt: bool = True) -> Reconciliation:
        """Compare, adopt what can be adopted, report the rest (once each)."""
        trades = list(self.trades())
        whitelist = list(self.whitelist())
        if not trades and not whitelist:
            return self.latest
        # an entry sent before the bot recorded its first trade (killed in between)
        # is found on a pair of the whitelist, within the last day
        since = min([t.open_date_utc for t in trades] or [now() - LOOKBACK])
        if self._since_first_trade_done:  # later runs: the open trades and the last day
            recent = [t.open_date_utc for t in trades if t.is_open] + [now() - LOOKBACK]
            since = max(since, min(recent))
            trades = [t for t in trades if t.is_open or (t.close_date_utc or since) >= since]
        since -= timedelta(seconds=10)
        pairs = sorted({t.pair for t in trades} | set(whitelist))
        fees = {str(o.order_id): (o.ft_fee_base or 0.0) for t in trades for o in t.orders}
        raw: dict[str, dict] = {}
        for pair in pairs:
            for order in self.exchange.fetch_orders(pair, since):
                raw[str(order["id"])] = order
        guess = lambda o: fee_guess(self.exchange, self.futures, o)  # noqa: E731
        orders = [
            _exchange_order(o, fees[oid] if oid in fees else guess(o)) for oid, o in raw.items()
        ]
        self.wallets.update()
        holdings = {
            pair: self._holding(pair, self.exchange.get_pair_base_currency(pair)) for pair in pairs
        }
        records = [
            TradeRecord(
                trade_id=t.id,
                pair=t.pair,
                is_open=t.is_open,
                is_short=t.is_short,
                amount=t.amount,
                order_ids=frozenset(str(o.order_id) for o in t.orders if o.order_id),
            )
            for t in trades
        ]
        prices = {o["symbol"]: _price(o) for o in raw.values() if _price(o)}
        prices |= {t.pair: t.open_rate for t in trades}  # the latest trade's, in order
        dust = {pair: _dust(self.exchange, pair, prices.get(pair, 0.0)) for pair in pairs}
        result = reconcile(orders, records, holdings, dust)
        self._settle_gone(raw)
        if adopt and self._adopt(result.of("orphan_fill"), raw, trades):
            return self.run(adopt=False)  # the database changed: what is left
        self.latest = result
        self._since_first_trade_done = True
        self._hold_orphan_entries(result, raw)
        advice = _ADVICE_EXIT if self.close_untracked else _ADVICE
        for finding in result.findings:
            if finding.kind == "over_held":
                self._check_amounts = True  # capped by the next loop's amount check
                continue
            self._report(
                (finding.kind, finding.pair, finding.trade_id, finding.client_id),
                f"profitguard: reconciliation: {finding} ({advice[finding.kind]})",
            )
        if self.close_untracked and result.untracked:
            steps = {pair: amount_step(self.exchange, pair) for pair in result.untracked}
            closes = untracked_closes(orders, records, result, steps, dust)
            send_closes(self, closes, raw, prices)
        return result

    def _settle_gone(self, raw: dict[str, dict]) -> None:
        """An order found after its placement failed that has ended without a fill
        (cancelled, expired: a forgotten stop the sweep cancelled) blocks nothing."""
        if self.placement is None:
            return
        by_client = {o.get("clientOrderId"): o for o in raw.values()}
        for late in self.placement.found_late():
            current = by_client.get(late.get("clientOrderId"))
            if (
                current is not None
                and current.get("status") in ENDED
                and not float(current.get("filled") or 0.0)
            ):
                self.placement.settle(current["clientOrderId"])

    def _hold_orphan_entries(self, result: Reconciliation, raw: dict[str, dict]) -> None:
        """An entry no trade records (`pg-new-...`: its answer lost, or the bot killed
        before it wrote it) blocks new entries of its pair and side while the holding
        it left is untracked: Freqtrade would buy again, and a second trade of the pair
        would count those coins as its own. Lifted once the holding is gone."""
        if self.placement is None:
            return
        held = set()
        for finding in result.of("orphan_fill"):
            order = next(
                (o for o in raw.values() if o.get("clientOrderId") == finding.client_id), None
            )
            if finding.trade_id is not None or order is None or not finding.client_id:
                continue
            if finding.pair in result.untracked:
                self.placement.hold(finding.pair, order["side"], finding.client_id, order)
                held.add(finding.client_id)
        for client_id in self._held - held:
            self.placement.settle(client_id)
        self._held = held

    def _adopt(self, orphans: list[Finding], raw: dict[str, dict], trades: list[Any]) -> int:
        """Orphan fills whose client id names an open trade of the same pair join it."""
        by_id = {t.id: t for t in trades if t.is_open}
        adopted = 0
        for finding in orphans:
            trade = by_id.get(finding.trade_id) if finding.trade_id is not None else None
            order = next(
                (o for o in raw.values() if o.get("clientOrderId") == finding.client_id), None
            )
            if trade is None or order is None or trade.pair != finding.pair:
                continue
            side = trade.entry_side if order["side"] == trade.entry_side else trade.exit_side
            if "stop" in str(order.get("type") or "").lower():
                side = "stoploss"  # a stop order on the exchange, as Freqtrade records one
            order_obj = self.parse_order(order, trade.pair, side)
            order_obj.ft_order_tag = _tag(finding.client_id)
            trade.orders.append(order_obj)
            left = amount_from_orders(trade)
            if left > max(TOLERANCE, _dust(self.exchange, trade.pair, trade.open_rate)):
                trade.recalc_trade_from_orders()
            else:  # it sold what was left but dust no order can sell: Freqtrade closes a
                # trade so on its last fill
                trade.close(order_obj.safe_price)
            self.commit()
            if self.placement is not None and finding.client_id:
                self.placement.settle(finding.client_id)
            self._report(
                ("adopted", finding.client_id),
                f"profitguard: {trade.pair} (trade {trade.id}) order {finding.client_id} "
                f"({order_obj.safe_filled:.8g} filled) was placed while its answer was lost: "
                "adopted into the trade",
            )
            adopted += 1
        return adopted

    def _report(self, key: tuple, message: str) -> None:
        if key in self._reported:
            return
        self._reported.add(key)
        log.warning(message)
        self.send(message)


def _dust(exchange: Any, pair: str, price: float) -> float:
    """What cannot be sold anyway (base): below the pair's minimum order amount or
    its minimum order value at about `price`."""
    markets = getattr(exchange, "markets", None) or {}
    limits = (markets.get(pair) or {}).get("limits") or {}
    amount = (limits.get("amount") or {}).get("min") or 0.0
    cost = (limits.get("cost") or {}).get("min") or 0.0
    return max(float(amount), float(cost) / price if price else 0.0)


def _price(order: dict) -> float:
    return float(order.get("average") or order.get("price") or 0.0)


def _tag(client_id: str | None) -> str | None:
    tag = tag_of(client_id)
    return tag.replace(".", ",") if tag else None


_ADVICE = {
    "orphan_fill": "Freqtrade has no record of it: it is counted as untracked; an entry "
    "blocks new entries of the pair until what it bought is sold",
    "closed_but_held": "the trade is closed but the exchange still holds part of it; "
    'no stop protects it: sell it by hand, or set profitguard.watchdog.action to "exit"',
    "untracked_holding": "held beyond the open trades, bought by profitguard; no stop "
    'protects it: sell it by hand, or set profitguard.watchdog.action to "exit"',
}
_ADVICE_EXIT = _ADVICE | {
    "closed_but_held": "the trade is closed but the exchange still holds part of it; "
    "the watchdog closes it at market",
    "untracked_holding": "held beyond the open trades, bought by profitguard; the "
    "watchdog closes it at market",
}


def reconciler_for_bot(
    strategy: Any,
    placement: Placement | None,
    expect: Callable[[str, str, str, str], None] | None = None,
) -> Reconciler | None:
    """The live bot's reconciler (`placement`: the client-id wrapper's, None when
    client ids are off: reconciliation needs them; `expect`: the wrapper's
    `ClientOrderIds.expect`, which names a close). Freqtrade's parts it needs are
    checked here; one missing switches reconciliation off with one warning."""
    if placement is None:
        return None
    from freqtrade.enums import TradingMode
    from freqtrade.persistence import Order, Trade

    exchange = exchange_of(strategy.dp, "reconciliation")
    needed = {
        "exchange.fetch_orders": getattr(exchange, "fetch_orders", None),
        "exchange.get_pair_base_currency": getattr(exchange, "get_pair_base_currency", None),
        "Order.parse_from_ccxt_object": getattr(Order, "parse_from_ccxt_object", None),
        "Trade.recalc_trade_from_orders": getattr(Trade, "recalc_trade_from_orders", None),
        "Trade.close": getattr(Trade, "close", None),
    }
    missing = [name for name, part in needed.items() if not callable(part)]
    if missing:
        log.warning("profitguard: reconciliation is off: Freqtrade has no %s", ", ".join(missing))
        return None
    settings = strategy.profitguard_settings
    send = strategy.dp.send_msg if settings.notifications else (lambda message: None)
    close = settings.watchdog.action == "exit"
    if close and not callable(getattr(exchange, "create_order", None)):
        log.warning(
            "profitguard: the watchdog cannot close untracked holdings (reported only): "
            "Freqtrade has no exchange.create_order"
        )
        close = False
    return Reconciler(
        exchange=exchange,
        wallets=_LazyWallets(strategy),
        placement=placement,
        send=send,
        every_loops=settings.reconcile_every_loops,
        futures=strategy.config.get("trading_mode") == TradingMode.FUTURES,
        trades=lambda: Trade.get_trades_proxy(),
        commit=Trade.commit,
        parse_order=Order.parse_from_ccxt_object,
        close_untracked=close,
        expect=expect,
        whitelist=lambda: _whitelist(strategy.dp),
    )


def _whitelist(dp: Any) -> list[str]:
    """The bot's pairs now (none when Freqtrade cannot say: the traded pairs only)."""
    try:
        return list(dp.current_whitelist())
    except Exception:
        return []


class _LazyWallets:
    """The strategy's wallets when asked (Freqtrade sets them after `bot_start`)."""

    def __init__(self, strategy: Any) -> None:
        self._strategy = strategy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._strategy.wallets, name)
