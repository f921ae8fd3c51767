"""Sending the watchdog's closes of untracked holdings (`reconcile.untracked_closes`).

Live only, for `reconciler.Reconciler` with the watchdog's action "exit": each close is
a market order (reduce-only in futures) named `pg-<trade>-untracked-<ms>` or
`pg-new-untracked-<ms>`, announced to the client-id wrapper (`ClientOrderIds.expect`)
and placed with Freqtrade's `exchange.create_order`, so it goes through the one
wrapper that looks an order up after a lost answer. It is reported before it is sent
(a bot stopped while the answer is on its way leaves it on record all the same), and
no other close of its pair goes out before the exchange shows it ended.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from profitguard.freqtrade.client_id_format import entry_client_id, exit_client_id
from profitguard.freqtrade.reconcile import CLOSE_TAG, Close

log = logging.getLogger("profitguard.freqtrade.reconciler")

FEE_GUESS = 0.001  # a spot taker fee, when the market does not say (Binance's: 0.1%)


def close_id(trade_id: int | None, millis: int) -> str:
    """A close's client id: `pg-<trade>-untracked-<ms>` for a closed trade's remainder,
    `pg-new-untracked-<ms>` for fills no trade records (Binance's format)."""
    if trade_id is None:
        return entry_client_id(CLOSE_TAG, millis)
    return exit_client_id(trade_id, CLOSE_TAG, millis)


def fee_guess(exchange: Any, futures: bool, order: dict) -> float:
    """The base fee of a spot buy the database does not know, at the pair's taker rate
    (the order list carries no fees): what it bought is never overstated, so a close
    never sells the user's coins for a fee paid in another asset."""
    if futures or order.get("side") != "buy":
        return 0.0
    market = (getattr(exchange, "markets", None) or {}).get(order.get("symbol")) or {}
    rate = market.get("taker")
    rate = float(rate) if isinstance(rate, int | float) and rate >= 0 else FEE_GUESS
    return float(order.get("filled") or 0.0) * rate


def amount_step(exchange: Any, pair: str) -> float:
    """The pair's amount step (0: none known; Freqtrade rounds down anyway)."""
    market = (getattr(exchange, "markets", None) or {}).get(pair) or {}
    step = (market.get("precision") or {}).get("amount")
    if getattr(exchange, "precisionMode", None) != 4 or not step:  # 4: ccxt's TICK_SIZE
        return 0.0
    return float(step) * float(market.get("contractSize") or 1.0)


def _may_exist(error: BaseException) -> bool:
    """An error after which the order may have been placed (its answer lost)."""
    from profitguard.freqtrade.lost_answers import lost_answer

    cause = error.__cause__ or error
    return lost_answer(cause) or type(error).__name__ in ("TemporaryError", "DDosProtection")


def send_closes(rec: Any, closes: list[Close], raw: dict[str, dict], prices: dict) -> None:
    """Send each close of `closes` for the reconciler `rec` (its exchange, `expect`,
    `id_of`, `_report` and `_closing`: pair -> the client id of a close not yet ended)."""
    by_client = {o.get("clientOrderId"): o for o in raw.values()}
    for pair, client_id in list(rec._closing.items()):
        seen = by_client.get(client_id)
        if seen is not None and seen.get("status") != "open":
            del rec._closing[pair]
    for close in closes:
        if close.pair in rec._closing:
            continue
        client_id = rec.id_of(close.trade_id, int(datetime.now(UTC).timestamp() * 1000))
        what = (
            f"the remainder of closed trade {close.trade_id}"
            if close.trade_id is not None
            else "bought by profitguard, recorded by no trade"
        )
        rec._report(
            ("untracked_close", client_id),
            f"profitguard: watchdog: {close.pair}: {close.side} {close.amount:.8g} at "
            f"market, order {client_id}: untracked holding ({what}), closed as "
            'profitguard.watchdog.action is "exit"',
        )
        try:
            if rec.expect is not None:
                rec.expect(close.pair, close.side, "market", client_id)
            rec.exchange.create_order(
                pair=close.pair,
                ordertype="market",
                side=close.side,
                amount=close.amount,
                rate=prices.get(close.pair) or 0.0,
                leverage=1.0,
                reduceOnly=rec.futures,
            )
        except Exception as exc:
            if _may_exist(exc):
                rec._closing[close.pair] = client_id  # looked up by the next run
            log.warning(
                "profitguard: watchdog: closing %.8g %s untracked (%s), order %s, failed: %s",
                close.amount, close.pair, what, client_id, exc,
            )  # fmt: skip
            continue
        rec._closing[close.pair] = client_id
