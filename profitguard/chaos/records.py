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
import sqlite3
import urllib.request
from pathlib import Path

from profitguard.exchange.private import LEDGER_PATH
from profitguard.freqtrade.client_ids import tag_of


def fetch_ledger(exchange_url: str, timeout: float = 10.0) -> dict:
    with urllib.request.urlopen(exchange_url.rstrip("/") + LEDGER_PATH, timeout=timeout) as r:
        return json.loads(r.read())


def _rows(db_path: Path, sql: str) -> list[dict]:
    if not Path(db_path).exists():
        return []
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql)]
    except sqlite3.OperationalError:  # not created yet, or locked for a moment
        return []


def db_trades(db_path: Path) -> list[dict]:
    return _rows(db_path, "SELECT * FROM trades ORDER BY id")


def db_orders(db_path: Path) -> list[dict]:
    return _rows(db_path, "SELECT * FROM orders ORDER BY id")


def db_custom_data(db_path: Path) -> list[dict]:
    return _rows(db_path, "SELECT * FROM trade_custom_data ORDER BY id")


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
