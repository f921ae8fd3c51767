"""Client order ids that carry profitguard's tags to the exchange (live mode only).

Freqtrade keeps an order's tag (`tp1`, `stop_loss`, `kill_switch`, ...) in its own
database and lets ccxt send its generated client id (Binance: a broker prefix and a
random string), so the exchange's order history cannot tell a take-profit from a
stop. Freqtrade has no hook for the client id. This module is the one place that
reaches into Freqtrade's internals for it:

- the strategy tells `ClientOrderIds.expect` which order Freqtrade is about to
  place: `confirm_trade_exit` (called right before a full exit's order, with the
  exit reason), `adjust_trade_position` (right before a partial exit's order, whose
  tag it returns) and `confirm_trade_entry` (right before an entry's order);
- `install` wraps `create_order` of the ccxt instance inside Freqtrade's exchange
  object (`exchange._api`) once, at bot start, in live mode. The wrapper attaches
  the expected id as `clientOrderId` when a plain market or limit order of that
  pair and side is created, and consumes the expectation with the first order of the
  pair and side, whatever it is: an expectation is never attached to a later order.
  Freqtrade may decide not to place an order after the callback (an amount that
  rounds to 0, a similar order already open, an error): every expectation is
  dropped at the start of each bot loop (`bot_loop_start`).

Stop orders resting on the exchange (Freqtrade's `create_stoploss`, with no callback
before it) get `pg-<trade id>-sl-<n>` from `ClientOrderIds.stop_ids`, a function of the
pair that the strategy sets (`stop_orders.ForgottenOrders.stop_id`: Freqtrade holds one
open trade per pair), so that a stop the bot forgot can be found and cancelled.

An exit's id is `pg-<trade id>-<tag>-<n>`, `n` being one more than the number of
the trade's orders Freqtrade has recorded: a new order after any known one gets a
new id, while an order sent again after its answer was lost (Freqtrade never
recorded it) gets the same id, which Binance refuses (-2010, duplicate) as long as
the first one is still open instead of resting a second one. An entry's id is
`pg-new-<tag>-<ms>` (the trade has no id before its first order). Characters that
Binance does not allow in an id become `.` (`tp1,tp2` -> `tp1.tp2`), and a long tag
is cut so that the id fits 36 characters.

`profitguard.client_order_ids: false` in the config switches it off (ccxt's ids).
When on, it is also off, with one warning saying why, on an exchange whose id
format profitguard has not checked (`client_id_format`) and on a Freqtrade whose
exchange has no such hook.

The id is sent as ccxt's unified `clientOrderId`, which ccxt renames for the
exchange, in the format that exchange accepts (`client_id_format`: Binance shown
below; OKX takes letters and digits only).

When creating an order ends in a lost answer (a network error or a timeout after
the exchange may have acted), the wrapper asks the exchange for the order by the id
it sent (ccxt's `fetch_order` with Binance's `origClientOrderId`, spot and futures'
plain orders; not futures' conditional stops, which Binance keeps apart) before
Freqtrade sees the error: the rule is `lost_answers.Placement`.
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from freqtrade.enums import RunMode

from profitguard.engine import ConfigError
from profitguard.freqtrade.client_id_format import (
    BINANCE,
    PREFIX,
    IdFormat,
    entry_client_id,
    exit_client_id,
    id_format,
)
from profitguard.freqtrade.internals import exchange_of
from profitguard.freqtrade.lost_answers import Placement

log = logging.getLogger(__name__)

MAX_LENGTH = BINANCE.max_length
VALID_ID = BINANCE.valid
_OUR_ID = re.compile(rf"^{PREFIX}-(\d+|new)-(.+)-(\d+)$")
# The orders the wrapper labels: the ones a callback announces, and stop orders
# (spot `stop_loss_limit`, futures' `stop`/`stop_market`), named by `stop_ids`.
LABELLED_TYPES = frozenset({"market", "limit"})
STOP_TYPES = frozenset({"stop_loss_limit", "stop_loss", "stop", "stop_market"})
# Futures' conditional stops live on Binance's algo endpoints: no lookup by the plain
# order's `origClientOrderId` (an unknown id there would read as "no such order").
NOT_LOOKED_UP = frozenset({"stop", "stop_market"})
# ccxt's unified parameter: each exchange class renames it (Binance newClientOrderId)
UNIFIED_PARAM = "clientOrderId"
# ccxt's `create_order` as Freqtrade calls it (positionally, and by these names)
HOOK = "exchange._api.create_order(symbol, type, side, amount, price, params)"
HOOK_PARAMETERS = ("symbol", "type", "side", "amount", "price", "params")
_MARK = "_profitguard_client_ids"
_PLACEMENT = "_profitguard_placement"


class ClientIdHookMissing(ConfigError):
    """Freqtrade's exchange has no `create_order` hook of the shape this module wraps."""


def tag_of(client_id: str | None) -> str | None:
    """The tag part of one of our ids (as sent: `tp1.tp2` for `tp1,tp2`), else None."""
    match = _OUR_ID.match(client_id or "")
    return match.group(2) if match else None


@dataclass(frozen=True, slots=True)
class Expected:
    """An order a callback announced: its pair, side, order type and client id."""

    pair: str
    side: str
    order_type: str
    client_id: str


class ClientOrderIds:
    """The expected orders, at most one per (pair, side); safe across Freqtrade's
    threads (the API server's forced exits place orders too)."""

    def __init__(self, fmt: IdFormat = BINANCE) -> None:
        self.format = fmt  # the exchange's: what `exit_id`/`entry_id` build
        self._expected: dict[tuple[str, str], Expected] = {}
        self._lock = threading.Lock()
        # pair -> the id of the stop being placed for its open trade (None: ccxt's id)
        self.stop_ids: Callable[[str], str | None] | None = None
        # set by `install`: the placement (lost-answer lookups) of the wrapped exchange
        self.placement: Placement | None = None

    def exit_id(self, trade_id: int, tag: str, n: int) -> str:
        """`exit_client_id` in this exchange's format."""
        return exit_client_id(trade_id, tag, n, self.format)

    def entry_id(self, tag: str | None, millis: int) -> str:
        """`entry_client_id` in this exchange's format."""
        return entry_client_id(tag, millis, self.format)

    def expect(self, pair: str, side: str, order_type: str, client_id: str) -> None:
        """The next order of `pair` and `side` is this one (replaces an earlier one)."""
        valid = self.format.valid
        if not valid.match(client_id):
            raise ValueError(f"client order id {client_id!r} does not match {valid.pattern}")
        with self._lock:
            self._expected[(pair, side)] = Expected(pair, side, order_type, client_id)

    def take(self, pair: str, side: str, order_type: str) -> str | None:
        """The id for an order being created now, or None (ccxt's id). Any order of the
        pair and side consumes the expectation; only the announced type gets its id."""
        with self._lock:
            expected = self._expected.pop((pair, side), None)
        if order_type.lower() in STOP_TYPES:
            return self._stop_id(pair)
        if expected is None or order_type.lower() not in LABELLED_TYPES:
            return None
        return expected.client_id if expected.order_type == order_type.lower() else None

    def _stop_id(self, pair: str) -> str | None:
        """`stop_ids(pair)`, a valid id or None: a failure only loses the id (logged)."""
        if self.stop_ids is None:
            return None
        try:
            client_id = self.stop_ids(pair)
        except Exception:
            log.exception("profitguard: no client id for the stop of %s (ccxt's id sent)", pair)
            return None
        return client_id if client_id is not None and self.format.valid.match(client_id) else None

    def clear(self) -> None:
        """Drop every expectation (a new bot loop: what was not placed never will be)."""
        with self._lock:
            self._expected.clear()

    def pending(self) -> list[Expected]:
        with self._lock:
            return list(self._expected.values())


def _hook(exchange: Any) -> tuple[Any, Callable[..., Any], inspect.Signature]:
    """Freqtrade's ccxt instance, its `create_order` and that method's signature;
    `ClientIdHookMissing` naming the hook when any part is not what is wrapped."""
    api = getattr(exchange, "_api", None)
    create = getattr(api, "create_order", None)
    if not callable(create):
        raise ClientIdHookMissing(
            f"'client_order_ids': Freqtrade's {HOOK} is missing "
            f"(exchange {type(exchange).__name__}, api {type(api).__name__})",
            field="profitguard.client_order_ids",
        )
    signature = inspect.signature(create)
    names = tuple(signature.parameters)[: len(HOOK_PARAMETERS)]
    if names != HOOK_PARAMETERS:
        raise ClientIdHookMissing(
            f"'client_order_ids': Freqtrade's {HOOK} has the parameters {names}",
            field="profitguard.client_order_ids",
        )
    return api, create, signature


def fetch_by_client_id(api: Any) -> Callable[[str, str], dict]:
    """ccxt's `fetch_order` of `api` by client order id (Binance's `origClientOrderId`,
    the plain order endpoints of spot and USD-M futures alike)."""

    def fetch(pair: str, client_id: str) -> dict:
        return api.fetch_order(None, pair, {"origClientOrderId": client_id})

    return fetch


def install(exchange: Any, ids: ClientOrderIds, placement: Placement | None = None) -> Placement:
    """Wrap `exchange._api.create_order` so that it sends the ids `ids` expects, and
    looks an order up by its id when its answer is lost (`placement`; by default one
    that asks `exchange._api`). Returns the placement in force, also set on `ids`.

    Once per ccxt instance; raises `ClientIdHookMissing` (naming the hook) when the
    pinned Freqtrade/ccxt shape is not there."""
    installed = getattr(getattr(exchange, "_api", None), "create_order", None)
    if getattr(installed, _MARK, None) is not None:
        setattr(installed, _MARK, ids)  # a new strategy on the same exchange: its ids
        ids.placement = placement or getattr(installed, _PLACEMENT)
        setattr(installed, _PLACEMENT, ids.placement)
        return ids.placement
    api, create, signature = _hook(exchange)
    placement = placement or Placement(fetch_by_client_id(api))

    def create_order(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        arguments = bound.arguments
        params = dict(arguments.get("params") or {})
        own = getattr(create_order, _MARK)
        order_type = str(arguments["type"])
        client_id = own.take(arguments["symbol"], arguments["side"], order_type)
        named = "newClientOrderId" in params or "clientOrderId" in params
        if client_id is not None and not named:
            params[UNIFIED_PARAM] = client_id
            arguments["params"] = params
        # the id to look the order up by after a lost answer: ours, as sent
        sent = params.get("newClientOrderId") or params.get("clientOrderId")
        ours = client_id if client_id is not None and not named else None
        if ours is None and tag_of(sent) is not None:
            ours = sent
        if order_type.lower() in NOT_LOOKED_UP:
            ours = None
        return getattr(create_order, _PLACEMENT).place(
            arguments["symbol"],
            arguments["side"],
            ours,
            lambda: create(*bound.args, **bound.kwargs),
        )

    setattr(create_order, _MARK, ids)
    setattr(create_order, _PLACEMENT, placement)
    ids.placement = placement
    api.create_order = create_order
    return placement


def client_ids_for_bot(strategy: Any) -> ClientOrderIds | None:
    """The bot's table of announced orders, its hook installed in the exchange of
    `strategy` (a ProfitGuardStrategy, its settings loaded): live mode only (not
    dry-run), unless `client_order_ids` is switched off. Outside live mode nothing is
    read of the bot (`profitguard report` starts a strategy with no DataProvider).
    An exchange whose id format profitguard has not checked, or a Freqtrade without
    the hook, leaves ccxt's ids, with one warning naming why."""
    config = strategy.config
    if (
        config.get("runmode") is not RunMode.LIVE
        or config.get("dry_run", True)
        or not strategy.profitguard_settings.client_order_ids
    ):
        return None
    exchange = exchange_of(strategy.dp, "tags in client order ids")
    try:
        api, _, _ = _hook(exchange)
    except ClientIdHookMissing as exc:
        log.warning("profitguard: client order ids are off (orders keep ccxt's ids): %s", exc)
        return None
    name = str(getattr(api, "id", None) or config.get("exchange", {}).get("name", "")).lower()
    fmt = id_format(name)
    if fmt is None:
        log.warning(
            "profitguard: client order ids are off on %s: its id format is not one "
            "profitguard has checked (orders keep ccxt's ids)",
            name,
        )
        return None
    ids = ClientOrderIds(fmt)
    install(exchange, ids)
    log.info("profitguard: orders carry their tag in the client order id (pg-...)")
    return ids
