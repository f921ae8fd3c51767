"""What a live run left behind: the exchange's ledger and Freqtrade's database.

The ledger is the ground truth of what was ordered and filled. In live mode
profitguard's orders carry their tag in the client id (``pg-1-tp1-2``:
`profitguard.freqtrade.client_ids`), but not every order does: a stop resting on the
exchange keeps ccxt's id, and the ids change the tag's characters (``tp1.tp2``). So
an order's ``tag`` (``tp1``, ``stop_loss``, ...) comes from the bot's own order
record, joined on the exchange's order id, and ``client_tag`` is what its client id
says (None for ccxt's ids).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from profitguard.freqtrade.client_ids import tag_of
from profitguard.tooling.exchange.private import LEDGER_PATH
from profitguard.trades_db import TradesDatabase, TradesDatabaseError, database_url


def fetch_ledger(exchange_url: str, timeout: float = 10.0) -> dict:
    with urllib.request.urlopen(exchange_url.rstrip("/") + LEDGER_PATH, timeout=timeout) as r:
        return json.loads(r.read())


def _rows(db: str | Path, table: str) -> list[dict]:
    """Every row of `table` in the bot's database (a SQLite file or a `db_url`); none
    while it is not created yet, or locked for a moment."""
    database = TradesDatabase(database_url(db))
    try:
        return database.table_rows(table)
    except TradesDatabaseError:  # not created yet, or locked for a moment
        return []
    finally:
        database.close()


def db_trades(db: str | Path) -> list[dict]:
    return _rows(db, "trades")


def db_orders(db: str | Path) -> list[dict]:
    return _rows(db, "orders")


def db_custom_data(db: str | Path) -> list[dict]:
    return _rows(db, "trade_custom_data")


def tagged_ledger_orders(ledger: dict, orders: list[dict]) -> list[dict]:
    """The ledger's orders, each with the bot's ``tag`` and ``trade_id`` for it (None
    when the bot has no record of the order: e.g. its answer was lost), and the tag
    its client id carries (``client_tag``)."""
    by_id = {str(o["order_id"]): o for o in orders if o.get("order_id") is not None}
    tagged = []
    for order in ledger["orders"]:
        mine = by_id.get(str(order["order_id"]))
        tag = None
        if mine is not None:
            side = mine["ft_order_side"]
            tag = "stoploss" if side == "stoploss" else (mine["ft_order_tag"] or side)
        tagged.append(
            {
                **order,
                "tag": tag,
                "trade_id": mine["ft_trade_id"] if mine is not None else None,
                "client_tag": tag_of(order.get("client_order_id")),
            }
        )
    return tagged
