"""Stops the bot forgot: found by their profitguard id, cancelled at start-up, once a
minute and before the kill switch's exit (`profitguard.freqtrade.stop_orders`). The
calls to the exchange are checked against the real ccxt and Freqtrade in
tests/integration/test_client_ids_contract.py; here, what is cancelled and when."""

from __future__ import annotations

import pytest

from profitguard import guard_store
from profitguard.freqtrade.client_id_format import id_format
from profitguard.freqtrade.client_ids import ClientOrderIds
from profitguard.freqtrade.stop_orders import (
    SWEEP_EVERY_S,
    ForgottenOrders,
    Resting,
    forgotten,
    matches_trade,
    resting_of,
    stop_client_id,
)
from profitguard.risk import state as st
from tests.unit.test_risk_gate import (  # noqa: F401 (no_database: a fixture)
    GUARD_FILE,
    KILL_EXIT,
    NOW,
    exits,
    no_database,
    open_trade,
    started,
)


def ccxt_order(order_id, client_id, *, kind="stop_loss_limit", side="sell", amount=4.0):
    return {"id": order_id, "clientOrderId": client_id, "type": kind, "side": side,
            "amount": amount}  # fmt: skip


class Exchange:
    """Freqtrade's exchange as `ForgottenOrders` uses it: its ccxt instance's open
    orders, and Freqtrade's cancel calls (recorded)."""

    def __init__(self, orders):
        self.orders = list(orders)
        self.cancelled: list[tuple[str, str, str]] = []
        self._api = self
        self.asked = 0

    def fetch_open_orders(self, pair, params=None):
        self.asked += 1
        return [o for o in self.orders if o["id"] not in {c[1] for c in self.cancelled}]

    def cancel_stoploss_order(self, order_id, pair):
        self.cancelled.append(("stop", order_id, pair))

    def cancel_order(self, order_id, pair):
        self.cancelled.append(("order", order_id, pair))


def test_stop_client_id_when_trade_and_order_count_then_pg_trade_sl_n():
    assert stop_client_id(12, 3) == "pg-12-sl-3"
    assert stop_client_id(12, 3, id_format("okx")) == "pg12TslN3"
    assert len(stop_client_id(10**12, 10**6)) <= 36


@pytest.mark.parametrize(
    ("client_id", "kind", "expected"),
    [
        ("pg-5-sl-3", "stop_loss_limit", (5, "sl", True)),
        ("pg-5-sl-3", "stop_market", (5, "sl", True)),  # futures
        ("pg-5-tp1.tp2-4", "limit", (5, "tp1.tp2", False)),
        ("pg-5-kill_switch-9", "market", (5, "kill_switch", False)),
        ("pg5TslN3", "limit", (5, "sl", True)),  # letters and digits only (OKX)
        ("t-pg-5-sl-3", "stop", (5, "sl", True)),  # Gate: ccxt's t- in front
        ("pg-new-entry-1700000000000", "limit", None),  # an entry: no trade id yet
        ("pgnewTentryN1700000000000", "limit", None),
        ("x-R4BD3S8212345", "stop_loss_limit", None),  # ccxt's
        ("", "limit", None),
    ],
)
def test_resting_of_when_client_id_parsed_then_trade_tag_and_stop(client_id, kind, expected):
    order = resting_of(ccxt_order("11", client_id, kind=kind), "RST/USDT")
    assert (None if order is None else (order.trade_id, order.tag, order.stop)) == expected


def test_forgotten_when_trade_knows_the_order_or_is_not_ours_then_left_alone():
    orders = [
        resting_of(ccxt_order("1", "pg-5-sl-3"), "RST/USDT"),  # known to trade 5
        resting_of(ccxt_order("2", "pg-5-sl-4"), "RST/USDT"),  # forgotten
        resting_of(ccxt_order("3", "pg-5-tp1-5", kind="limit"), "RST/USDT"),  # forgotten
        resting_of(ccxt_order("4", "pg-9-sl-2"), "RST/USDT"),  # trade 9 is not this bot's
    ]
    known = {5: {"1"}}
    assert [o.order_id for o in forgotten(orders, known, stops_only=True)] == ["2"]
    assert [o.order_id for o in forgotten(orders, known, stops_only=False)] == ["2", "3"]


def test_matches_trade_when_side_and_amount_equal_then_true():
    class T:
        exit_side, amount = "sell", 4.0

    order = resting_of(ccxt_order("2", "pg-5-sl-4", amount=4.0), "RST/USDT")
    assert isinstance(order, Resting) and matches_trade(order, T)
    assert not matches_trade(resting_of(ccxt_order("2", "pg-5-sl-4", amount=3.9), "X"), T)
    assert not matches_trade(resting_of(ccxt_order("2", "pg-5-sl-4", side="buy"), "X"), T)


def test_loop_when_first_then_sweeps_and_again_only_a_minute_later():
    trade = open_trade(5, "RST/USDT")
    exchange = Exchange([ccxt_order("2", "pg-5-sl-4"), ccxt_order("3", "pg-5-tp1-5", kind="limit")])
    now = [1000.0]
    sweeper = ForgottenOrders(
        exchange, futures=False, trades_of=lambda pair: [trade], clock=lambda: now[0]
    )
    assert [o.order_id for o in sweeper.loop([trade])] == ["2"]  # the first loop: start-up
    assert exchange.cancelled == [("stop", "2", "RST/USDT")]  # the exit order is not a stop
    exchange.orders.append(ccxt_order("4", "pg-5-sl-6"))
    now[0] += SWEEP_EVERY_S - 1
    assert sweeper.loop([trade]) == [] and exchange.asked == 1
    now[0] += 1
    assert [o.order_id for o in sweeper.loop([trade])] == ["4"]


def test_sweep_when_the_exchange_fails_then_logged_once_and_due_again(caplog):
    trade = open_trade(5, "RST/USDT")

    class Down(Exchange):
        def fetch_open_orders(self, pair, params=None):
            raise ConnectionError("exchange down")

    sweeper = ForgottenOrders(Down([]), futures=False, trades_of=lambda pair: [trade])
    assert sweeper.loop([trade]) == [] and sweeper.loop([trade]) == []
    assert caplog.text.count("cannot check the stops of RST/USDT: exchange down") == 1
    assert sweeper.next_sweep == 0.0  # tried again at the next loop


def test_stop_ids_when_a_stop_is_created_then_the_announced_exit_is_consumed_and_stop_named():
    ids = ClientOrderIds()
    ids.stop_ids = lambda pair: "pg-5-sl-4"
    ids.expect("RST/USDT", "sell", "market", "pg-5-tp1-4")
    assert ids.take("RST/USDT", "sell", "stop_loss_limit") == "pg-5-sl-4"
    assert ids.pending() == []  # an announcement never goes to a later order
    ids.stop_ids = lambda pair: "not a valid id!"
    assert ids.take("RST/USDT", "sell", "STOP_MARKET") is None  # ccxt's id instead

    def broken(pair):
        raise RuntimeError("database gone")

    ids.stop_ids = broken
    assert ids.take("RST/USDT", "sell", "stop") is None


def test_kill_switch_when_a_forgotten_order_rests_then_cancelled_before_the_kill_exit(tmp_path):
    strategy = started(tmp_path)
    trade = open_trade(1, "BTC/USDT")
    exchange = Exchange([ccxt_order("8", "pg-1-sl-3"), ccxt_order("9", "pg-1-tp1-4", kind="limit"),
                         ccxt_order("10", "x-ccxt-own")])  # fmt: skip
    strategy._pg_forgotten = ForgottenOrders(exchange, futures=False, trades_of=lambda p: [trade])
    assert exits(strategy, trade, 101.0) == []
    assert exchange.asked == 0  # nothing is asked while the kill switch is off
    guard_store.write_state(tmp_path / GUARD_FILE, st.kill(st.GuardState(), "drawdown", NOW))
    assert exits(strategy, trade, 101.0) == [KILL_EXIT]
    assert exchange.cancelled == [("stop", "8", "BTC/USDT"), ("order", "9", "BTC/USDT")]


def test_kill_switch_when_the_forgotten_orders_cannot_be_read_then_the_kill_exit_still_goes(
    tmp_path,
):
    strategy = started(tmp_path)
    trade = open_trade(1, "BTC/USDT")

    class Down(Exchange):
        def fetch_open_orders(self, pair, params=None):
            raise ConnectionError("exchange down")

    strategy._pg_forgotten = ForgottenOrders(Down([]), futures=False, trades_of=lambda p: [trade])
    guard_store.write_state(tmp_path / GUARD_FILE, st.kill(st.GuardState(), "drawdown", NOW))
    assert exits(strategy, trade, 101.0) == [KILL_EXIT]


def test_stop_id_when_a_forgotten_stop_has_the_same_id_then_cancelled_before_placing():
    """A stop whose answer was lost was never recorded: the one placed again gets the
    same id (Binance would refuse it as a duplicate, and Freqtrade exits a trade whose
    stop is refused). It is cancelled first, from the wrapper's call for the id."""
    trade = open_trade(5, "RST/USDT")  # one order: its entry
    exchange = Exchange([ccxt_order("2", "pg-5-sl-2"), ccxt_order("3", "pg-4-sl-7")])
    sweeper = ForgottenOrders(exchange, futures=False, trades_of=lambda pair: [trade])
    assert sweeper.stop_id("RST/USDT") == "pg-5-sl-2"
    assert exchange.cancelled == [("stop", "2", "RST/USDT")]  # trade 4 is not this bot's
    assert sweeper.stop_id("ETH/USDT") is None  # no open trade: ccxt's id
