"""An order request whose answer is lost is looked up by its client id, never sent twice.

A connection that breaks after the exchange accepted an order (a timeout, a reset, a
5xx that means "unknown") leaves the order on the exchange and Freqtrade without its
answer: Freqtrade logs "Could not place ... order", records nothing, and places the
same order again on a later loop. Placement here goes through `Placement.place`:

- the order is created; when that ends in a network error and the order carries one
  of profitguard's client ids, the exchange is asked for the order by that id
  (`find`: a few tries, each failure waited out, within `LookupPolicy.deadline_s`);
- found: the order goes back as if its answer had arrived (Freqtrade records it);
- the exchange says there is no such order: the original error goes on;
- no answer within the deadline: the original error goes on, and the pair and side
  stay blocked: every later order of that pair and side first asks for the lost one
  again, and is refused (`AnswerStillUnknown`, a network error to Freqtrade) until
  the exchange says it does not exist. One the exchange finds by then is kept in
  `found_late` for reconciliation (Freqtrade never recorded it), and the pair and
  side stay blocked until reconciliation has dealt with it (`settle`).

Pure of Freqtrade: the ccxt calls come in as functions (`client_ids.install` passes
them), so the rule is tested with stand-ins and the wrapper stays one module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ccxt

log = logging.getLogger(__name__)


class LookupFailed(Exception):
    """The exchange gave no answer about an order within the lookup's deadline."""


class AnswerStillUnknown(ccxt.NetworkError):
    """An order of this pair and side is refused: an earlier one's fate is unknown.

    A ccxt network error, so Freqtrade treats it as a temporary failure of this order
    (logged, nothing recorded, tried again on a later loop)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LookupPolicy:
    """How hard to ask for an order whose answer was lost: `attempts` tries, waiting
    `backoff_s` (seconds, doubled after each failure) between them, all within
    `deadline_s` seconds."""

    attempts: int = 4
    backoff_s: float = 0.5
    deadline_s: float = 15.0

    def __post_init__(self) -> None:
        if not (isinstance(self.attempts, int) and self.attempts >= 1):
            raise ValueError(f"'attempts' must be an integer >= 1, was {self.attempts!r}")
        for name in ("backoff_s", "deadline_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value >= 0):
                raise ValueError(f"'{name}' must be a number >= 0, was {value!r}")


def lost_answer(error: BaseException) -> bool:
    """True for an error after which the order may exist: a network error that is not
    a rate limit or a ban (those are refused before the exchange acts on them)."""
    return isinstance(error, ccxt.NetworkError) and not isinstance(
        error, ccxt.DDoSProtection | ccxt.RateLimitExceeded | AnswerStillUnknown
    )


def find(
    fetch: Callable[[str, str], dict],
    pair: str,
    client_id: str,
    policy: LookupPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict | None:
    """The order named `client_id` (ccxt's order structure), or None when the exchange
    says it does not exist; `LookupFailed` when it gave neither answer in time.

    `fetch(pair, client_id)` is ccxt's `fetch_order` by client id: it raises
    `ccxt.OrderNotFound` for an unknown id."""
    deadline = clock() + policy.deadline_s
    wait = policy.backoff_s
    last: BaseException | None = None
    for attempt in range(policy.attempts):
        if attempt and clock() + wait > deadline:
            break
        if attempt:
            sleep(wait)
            wait *= 2
        try:
            return fetch(pair, client_id)
        except ccxt.OrderNotFound:
            return None
        except ccxt.BaseError as exc:  # network, 5xx, rate limit: ask again
            last = exc
    raise LookupFailed(f"{pair} order {client_id}: no answer ({last})")


@dataclass
class Placement:
    """Order creation with the lost-answer rule (see the module). Safe across
    Freqtrade's threads; `found_answers` and `found_late` say what it recovered."""

    fetch: Callable[[str, str], dict]
    policy: LookupPolicy = field(default_factory=LookupPolicy)
    sleep: Callable[[float], None] = time.sleep
    found_answers: int = 0
    # (pair, side) -> client id of an order whose fate is unknown, or was found late
    _blocked: dict[tuple[str, str], str] = field(default_factory=dict)
    _late: dict[str, dict] = field(default_factory=dict)  # client id -> order found late
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def place(self, pair: str, side: str, client_id: str | None, create: Callable[[], Any]) -> Any:
        """`create()`'s order; after a lost answer the order found by `client_id`."""
        self._check_blocked(pair, side)
        try:
            return create()
        except ccxt.BaseError as exc:
            if client_id is None or not lost_answer(exc):
                raise
            error = exc
        try:
            order = find(self.fetch, pair, client_id, self.policy, sleep=self.sleep)
        except LookupFailed as failed:
            with self._lock:
                self._blocked[(pair, side)] = client_id
            log.warning(
                "profitguard: the answer to %s %s order %s was lost and the exchange does "
                "not say whether it exists (%s): no %s order of %s until it does",
                pair, side, client_id, failed, side, pair,
            )  # fmt: skip
            raise error from None
        if order is None:
            log.info(
                "profitguard: %s %s order %s: answer lost, the exchange has no such order",
                pair, side, client_id,
            )  # fmt: skip
            raise error
        with self._lock:
            self.found_answers += 1
        log.warning(
            "profitguard: %s %s order %s: answer lost (%s), found on the exchange by its "
            "client id: handed to Freqtrade as its answer",
            pair, side, client_id, type(error).__name__,
        )  # fmt: skip
        return order

    def _check_blocked(self, pair: str, side: str) -> None:
        with self._lock:
            client_id = self._blocked.get((pair, side))
        if client_id is None:
            return
        if client_id in self._late:
            raise AnswerStillUnknown(
                f"profitguard: {pair} {side} order {client_id} was placed while its answer "
                "was lost; no new order of this pair and side until reconciliation adopts it"
            )
        try:
            order = find(self.fetch, pair, client_id, self.policy, sleep=self.sleep)
        except LookupFailed as failed:
            raise AnswerStillUnknown(
                f"profitguard: the fate of {pair} {side} order {client_id} is still unknown "
                f"({failed}); no new order of this pair and side until the exchange answers"
            ) from None
        with self._lock:
            if order is None:
                self._blocked.pop((pair, side), None)
                log.info(
                    "profitguard: %s %s order %s does not exist: unblocked", pair, side, client_id
                )
                return
            self._late[client_id] = order
        raise AnswerStillUnknown(
            f"profitguard: {pair} {side} order {client_id} exists although its answer was "
            "lost; no new order of this pair and side until reconciliation adopts it"
        )

    def blocked(self) -> dict[tuple[str, str], str]:
        """(pair, side) -> the client id blocking new orders of that pair and side."""
        with self._lock:
            return dict(self._blocked)

    def found_late(self) -> list[dict]:
        """Orders found after their placement failed: Freqtrade never recorded them."""
        with self._lock:
            return list(self._late.values())

    def hold(self, pair: str, side: str, client_id: str, order: dict) -> None:
        """Reconciliation found `client_id` filled and could not adopt it: no order of
        `pair` and `side` until it is `settle`d (survives only this process: the
        reconciliation at start-up holds it again)."""
        with self._lock:
            self._late[client_id] = order
            self._blocked[(pair, side)] = client_id

    def settle(self, client_id: str) -> None:
        """Reconciliation has adopted or reported `client_id`: its pair and side may
        place orders again."""
        with self._lock:
            self._late.pop(client_id, None)
            for key, blocking in list(self._blocked.items()):
                if blocking == client_id:
                    del self._blocked[key]
