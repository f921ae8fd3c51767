"""The lost-answer rule of order placement, on stand-ins of ccxt's calls.

tests/integration/test_client_ids_contract.py runs it through Freqtrade's exchange
against the offline exchange dropping real answers.
"""

from __future__ import annotations

import ccxt
import pytest

from profitguard.freqtrade.lost_answers import (
    AnswerStillUnknown,
    LookupFailed,
    LookupPolicy,
    Placement,
    find,
    lost_answer,
)

PAIR = "RST/USDT"
ORDER = {"id": "7", "clientOrderId": "pg-1-tp1-2", "status": "closed", "filled": 4.0}


class Exchange:
    """Answers `fetch(pair, client_id)` from a script: an order, None (unknown) or an
    error to raise, one entry per call (the last one repeats)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def fetch(self, pair: str, client_id: str) -> dict:
        self.asked.append(client_id)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        if answer is None:
            raise ccxt.OrderNotFound("binance {'code':-2013,'msg':'Order does not exist.'}")
        return answer


def placement(exchange: Exchange, attempts: int = 3) -> Placement:
    return Placement(
        exchange.fetch, LookupPolicy(attempts=attempts, backoff_s=0.0), sleep=lambda s: None
    )


def lose(error: BaseException):
    def create():
        raise error

    return create


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ccxt.RequestTimeout("timed out"), True),
        (ccxt.NetworkError("connection reset"), True),
        (ccxt.ExchangeNotAvailable("503"), True),
        (ccxt.DDoSProtection("418"), False),
        (ccxt.RateLimitExceeded("429"), False),
        (ccxt.InsufficientFunds("-2010"), False),
        (ccxt.InvalidOrder("-1013"), False),
        (AnswerStillUnknown("blocked"), False),
    ],
)
def test_lost_answer_when_error_then_only_errors_after_which_the_order_may_exist(error, expected):
    assert lost_answer(error) is expected


def test_place_when_answer_lost_and_order_exists_then_the_found_order_is_the_answer():
    exchange = Exchange(ORDER)
    placed = placement(exchange)
    assert placed.place(PAIR, "sell", "pg-1-tp1-2", lose(ccxt.RequestTimeout("x"))) == ORDER
    assert exchange.asked == ["pg-1-tp1-2"] and placed.found_answers == 1
    assert placed.blocked() == {}


def test_place_when_answer_lost_and_no_such_order_then_the_original_error_goes_on():
    error = ccxt.NetworkError("connection reset")
    placed = placement(Exchange(None))
    with pytest.raises(ccxt.NetworkError, match="connection reset") as raised:
        placed.place(PAIR, "buy", "pg-new-entry-1", lose(error))
    assert raised.value is error and placed.blocked() == {}


@pytest.mark.parametrize(
    "error", [ccxt.InsufficientFunds("-2010"), ccxt.DDoSProtection("418"), ccxt.InvalidOrder("x")]
)
def test_place_when_refused_then_no_lookup_and_the_error_goes_on(error):
    exchange = Exchange(ORDER)
    with pytest.raises(type(error)):
        placement(exchange).place(PAIR, "buy", "pg-new-entry-1", lose(error))
    assert exchange.asked == []


def test_place_when_not_our_id_then_no_lookup():
    exchange = Exchange(ORDER)
    with pytest.raises(ccxt.RequestTimeout):
        placement(exchange).place(PAIR, "sell", None, lose(ccxt.RequestTimeout("x")))
    assert exchange.asked == []


def test_find_when_exchange_fails_then_retried_within_attempts():
    exchange = Exchange(ccxt.NetworkError("a"), ccxt.ExchangeNotAvailable("b"), ORDER)
    assert find(exchange.fetch, PAIR, "pg-1-tp1-2", LookupPolicy(attempts=3, backoff_s=0)) == ORDER
    assert len(exchange.asked) == 3


def test_find_when_no_answer_in_attempts_then_lookup_failed():
    exchange = Exchange(ccxt.RequestTimeout("slow"))
    with pytest.raises(LookupFailed, match="pg-1-tp1-2: no answer"):
        find(exchange.fetch, PAIR, "pg-1-tp1-2", LookupPolicy(attempts=2, backoff_s=0))
    assert len(exchange.asked) == 2


def test_find_when_deadline_passes_then_no_further_try():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    exchange = Exchange(ccxt.RequestTimeout("slow"))
    policy = LookupPolicy(attempts=10, backoff_s=1.0, deadline_s=5.0)
    with pytest.raises(LookupFailed):
        find(exchange.fetch, PAIR, "pg-1-tp1-2", policy, sleep=sleep, clock=lambda: now[0])
    assert slept == [1.0, 2.0] and len(exchange.asked) == 3  # a wait of 4 s passes 5 s


def test_place_when_lookup_cannot_answer_then_pair_and_side_blocked_until_it_can():
    exchange = Exchange(ccxt.RequestTimeout("slow"))
    placed = placement(exchange, attempts=2)
    with pytest.raises(ccxt.RequestTimeout):
        placed.place(PAIR, "sell", "pg-1-tp1-2", lose(ccxt.RequestTimeout("x")))
    assert placed.blocked() == {(PAIR, "sell"): "pg-1-tp1-2"}
    created: list[str] = []
    with pytest.raises(AnswerStillUnknown, match="still unknown"):
        placed.place(PAIR, "sell", "pg-1-tp1-3", lambda: created.append("sent"))
    assert created == []  # nothing went out
    # the other side and other pairs are not blocked
    assert placed.place(PAIR, "buy", "pg-new-entry-9", lambda: "bought") == "bought"
    assert placed.place("ZZZ/USDT", "sell", "pg-2-tp1-2", lambda: "sold") == "sold"
    exchange.answers = [None]  # the exchange answers at last: no such order
    assert placed.place(PAIR, "sell", "pg-1-tp1-3", lambda: "sold") == "sold"
    assert placed.blocked() == {}


def test_place_when_blocked_order_found_late_then_blocked_until_settled():
    exchange = Exchange(ccxt.RequestTimeout("slow"))
    placed = placement(exchange, attempts=1)
    with pytest.raises(ccxt.RequestTimeout):
        placed.place(PAIR, "buy", "pg-new-entry-1", lose(ccxt.RequestTimeout("x")))
    exchange.answers = [ORDER]
    for _ in range(2):  # found once, then refused without asking again
        with pytest.raises(AnswerStillUnknown, match="until reconciliation adopts it"):
            placed.place(PAIR, "buy", "pg-new-entry-2", lambda: "bought")
    assert placed.found_late() == [ORDER] and len(exchange.asked) == 2
    placed.settle("pg-new-entry-1")
    assert placed.found_late() == [] and placed.blocked() == {}
    assert placed.place(PAIR, "buy", "pg-new-entry-2", lambda: "bought") == "bought"


@pytest.mark.parametrize(
    ("field", "value"), [("attempts", 0), ("attempts", 1.5), ("backoff_s", -1), ("deadline_s", "x")]
)
def test_lookup_policy_when_bad_value_then_error_names_it(field, value):
    with pytest.raises(ValueError, match=f"'{field}' must be"):
        LookupPolicy(**{field: value})
