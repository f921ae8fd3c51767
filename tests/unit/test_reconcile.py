"""Reconciliation: the pure comparison, and the adapter's amount check and adoption on
Freqtrade's own trade objects (its exchange and wallets stood in for)."""

from __future__ import annotations

import pytest
from freqtrade.persistence import Order
from hypothesis import given
from hypothesis import strategies as st

from profitguard.freqtrade.lost_answers import AnswerStillUnknown, Placement
from profitguard.freqtrade.reconcile import (
    Close,
    ExchangeOrder,
    TradeRecord,
    reconcile,
    untracked_closes,
)
from profitguard.freqtrade.reconciler import Reconciler, amount_from_orders
from tests.unit.test_adapter_trades import make_trade

PAIR = "RST/USDT"


def order(oid, side, filled, client_id=None, pair=PAIR, fee_base=0.0) -> ExchangeOrder:
    return ExchangeOrder(
        order_id=str(oid), client_id=client_id, pair=pair, side=side, filled=filled,
        fee_base=fee_base,
    )  # fmt: skip


def record(tid, order_ids, amount, *, is_open=True, is_short=False, pair=PAIR) -> TradeRecord:
    return TradeRecord(
        trade_id=tid, pair=pair, is_open=is_open, is_short=is_short, amount=amount,
        order_ids=frozenset(str(o) for o in order_ids),
    )  # fmt: skip


def kinds(result) -> list[tuple]:
    return [(f.kind, f.trade_id, f.client_id, round(f.amount, 9)) for f in result.findings]


def test_reconcile_when_database_knows_every_fill_then_nothing_found():
    orders = [order(1, "buy", 10, "pg-new-entry-1"), order(2, "sell", 5, "pg-1-tp1-2")]
    result = reconcile(orders, [record(1, [1, 2], 5)], {PAIR: 5.0}, {PAIR: 0.01})
    assert result.findings == () and result.untracked == {}


def test_reconcile_when_exit_answer_lost_then_orphan_fill_naming_its_trade():
    orders = [order(1, "buy", 10, "pg-new-entry-1"), order(2, "sell", 5, "pg-1-tp1-2")]
    result = reconcile(orders, [record(1, [1], 10)], {PAIR: 5.0}, {PAIR: 0.01})
    assert kinds(result) == [("orphan_fill", 1, "pg-1-tp1-2", 5.0), ("over_held", 1, None, 5.0)]


def test_reconcile_when_entry_answer_lost_then_orphan_and_untracked_holding():
    orders = [
        order(1, "buy", 10, "pg-new-entry-1"),
        order(2, "buy", 6, "pg-new-entry-2"),  # a second entry the database never saw
    ]
    result = reconcile(orders, [record(1, [1], 10)], {PAIR: 16.0}, {PAIR: 0.01})
    assert kinds(result) == [
        ("orphan_fill", None, "pg-new-entry-2", 6.0),
        ("untracked_holding", None, None, 6.0),
    ]
    assert result.untracked == {PAIR: 6.0}


def test_reconcile_when_trade_closed_but_exchange_holds_part_then_closed_but_held():
    orders = [order(1, "buy", 10, "pg-new-entry-1"), order(2, "sell", 5, "pg-1-tp1-2")]
    result = reconcile(orders, [record(1, [1, 2], 5, is_open=False)], {PAIR: 5.0}, {PAIR: 0.01})
    assert kinds(result) == [
        ("closed_but_held", 1, None, 5.0),
        ("untracked_holding", None, None, 5.0),
    ]


def test_reconcile_when_holding_not_bought_by_profitguard_then_never_counted():
    orders = [order(1, "buy", 10, "pg-new-entry-1"), order(2, "buy", 50, "x-ccxt-own")]
    result = reconcile(orders, [record(1, [1], 10)], {PAIR: 60.0}, {PAIR: 0.01})
    assert result.findings == () and result.untracked == {}


def test_reconcile_when_dust_left_then_nothing_found():
    orders = [
        order(1, "buy", 10, "pg-new-entry-1", fee_base=0.01),
        order(2, "sell", 9.985, "pg-1-stop-2"),
    ]
    result = reconcile(orders, [record(1, [1, 2], 0.0, is_open=False)], {PAIR: 0.005}, {PAIR: 0.01})
    assert result.findings == ()


def test_reconcile_when_short_position_untracked_then_negative_amount():
    pair = "RST/USDT:USDT"
    orders = [
        order(1, "sell", 4, "pg-new-entry-1", pair=pair),
        order(2, "sell", 3, "pg-new-e-2", pair=pair),
    ]
    trades = [record(1, [1], 4, is_short=True, pair=pair)]
    result = reconcile(orders, trades, {pair: -7.0}, {pair: 0.01})
    assert kinds(result) == [
        ("orphan_fill", None, "pg-new-e-2", 3.0),
        ("untracked_holding", None, None, 3.0),
    ]
    assert result.untracked == {pair: -3.0}


# ---------------------------------------------------------------- the adapter


class Wallets:
    def __init__(self, total: float) -> None:
        self.total = total

    def update(self) -> None:
        pass

    def get_total(self, currency: str) -> float:
        return self.total


def reconciler(trades, wallets, exchange=None, placement=None) -> tuple[Reconciler, list[str]]:
    sent: list[str] = []
    return (
        Reconciler(
            exchange=exchange,
            wallets=wallets,
            placement=placement,
            send=sent.append,
            every_loops=10,
            futures=False,
            trades=lambda: trades,
            commit=lambda: None,
            parse_order=Order.parse_from_ccxt_object,
        ),
        sent,
    )


def test_check_amounts_when_killed_between_fill_and_amount_update_then_amount_from_orders():
    """Freqtrade committed the take-profit as filled, then was killed before it took
    its amount off the trade: the trade would sell 10 while 5 are left."""
    trade = make_trade(10.0, exits=((5.0, 110.0, "tp1"),))
    trade.amount = 10.0  # the second commit never happened
    check, sent = reconciler([trade], Wallets(5.0))
    check.check_amounts()
    assert trade.amount == pytest.approx(5.0) and amount_from_orders(trade) == pytest.approx(5.0)
    assert len(sent) == 1 and "recorded 10 while its filled orders leave 5" in sent[0]


def test_check_amounts_when_exchange_holds_less_then_capped_at_the_holding():
    trade = make_trade(10.0)
    check, sent = reconciler([trade], Wallets(7.5))
    check.check_amounts()
    assert trade.amount == 7.5
    assert "would sell 10 while the exchange holds 7.5: capped at 7.5" in sent[0]
    check.check_amounts()
    assert len(sent) == 1  # reported once


def test_check_amounts_when_consistent_then_nothing_changes():
    trade = make_trade(10.0, exits=((5.0, 110.0, "tp1"),))
    check, sent = reconciler([trade], Wallets(5.0))
    check.check_amounts()
    assert trade.amount == pytest.approx(5.0) and sent == []


class Exchange:
    def __init__(self, orders: list[dict]) -> None:
        self.orders = orders
        # no fee (a fee in BNB): a buy's base amount is what it filled
        self.markets = {"BTC/USDT": {"limits": {"amount": {"min": 0.001}}, "taker": 0.0}}

    def fetch_orders(self, pair, since):
        return [o for o in self.orders if o["symbol"] == pair]

    def get_pair_base_currency(self, pair):
        return pair.split("/")[0]


def ccxt_order(oid, side, amount, price, client_id) -> dict:
    return {
        "id": str(oid), "clientOrderId": client_id, "symbol": "BTC/USDT", "side": side,
        "type": "market", "status": "closed", "amount": amount, "filled": amount,
        "remaining": 0.0, "price": price, "average": price, "cost": amount * price,
        "timestamp": 1_700_000_000_000,
    }  # fmt: skip


def test_run_when_take_profit_answer_lost_then_adopted_into_its_trade_and_unblocked():
    trade = make_trade(10.0)
    trade.orders[0].order_id = "1"
    placement = Placement(lambda pair, cid: {})
    placement._blocked[("BTC/USDT", "sell")] = "pg-1-tp1-2"
    placement._late["pg-1-tp1-2"] = {}
    exchange = Exchange(
        [ccxt_order(1, "buy", 10.0, 100.0, "pg-new-entry-1"),
         ccxt_order(2, "sell", 5.0, 110.0, "pg-1-tp1-2")]
    )  # fmt: skip
    check, sent = reconciler([trade], Wallets(5.0), exchange, placement)
    result = check.run()
    assert [o.order_id for o in trade.orders] == ["1", "2"]
    assert trade.orders[1].ft_order_tag == "tp1" and trade.orders[1].ft_order_side == "sell"
    assert trade.amount == pytest.approx(5.0) and trade.is_open
    assert result.findings == () and placement.blocked() == {}
    assert "order pg-1-tp1-2 (5 filled) was placed while its answer was lost: adopted" in sent[0]


def test_run_when_entry_answer_lost_then_reported_once_and_kept_blocked():
    trade = make_trade(10.0)
    trade.orders[0].order_id = "1"
    placement = Placement(lambda pair, cid: {})
    placement._blocked[("BTC/USDT", "buy")] = "pg-new-entry-9"
    exchange = Exchange(
        [ccxt_order(1, "buy", 10.0, 100.0, "pg-new-entry-1"),
         ccxt_order(9, "buy", 6.0, 100.0, "pg-new-entry-9")]
    )  # fmt: skip
    wallets = Wallets(16.0)
    check, sent = reconciler([trade], wallets, exchange, placement)
    check.run()
    check.run()
    assert check.untracked_amount() == {"BTC/USDT": 6.0}
    assert placement.blocked() == {("BTC/USDT", "buy"): "pg-new-entry-9"}
    assert [m.split(": ")[2] for m in sent] == ["orphan_fill", "untracked_holding"]
    assert sent[1] == (
        "profitguard: reconciliation: untracked_holding: BTC/USDT: 6 BTC (held beyond the "
        "open trades, bought by profitguard; no stop protects it: sell it by hand, or set "
        'profitguard.watchdog.action to "exit")'
    )
    wallets.total = 10.0  # the user sold the untracked 6
    check.run()
    assert placement.blocked() == {} and check.untracked_amount() == {}


def test_run_when_bot_killed_after_an_entry_was_sent_then_new_entries_of_the_pair_held():
    """A restart: the placement knows nothing of the entry sent before the kill; the
    start-up reconciliation finds it filled and holds the pair's entries."""
    trade = make_trade(10.0)
    trade.orders[0].order_id = "1"
    placement = Placement(lambda pair, cid: {})
    exchange = Exchange(
        [ccxt_order(1, "buy", 10.0, 100.0, "pg-new-entry-1"),
         ccxt_order(9, "buy", 6.0, 100.0, "pg-new-entry-9")]
    )  # fmt: skip
    check, _ = reconciler([trade], Wallets(16.0), exchange, placement)
    check.run()
    with pytest.raises(AnswerStillUnknown, match="until reconciliation adopts it"):
        placement.place("BTC/USDT", "buy", "pg-new-entry-10", lambda: "bought")
    assert placement.place("BTC/USDT", "sell", "pg-1-tp1-2", lambda: "sold") == "sold"
    check.loops = 1  # held, not found late: the next loops do not reconcile again
    asked: list[str] = []
    exchange.fetch_orders = lambda pair, since: asked.append(pair) or []
    check.loop()
    assert asked == []


def test_loop_when_exchange_fails_then_deferred_and_retried_next_loop():
    trade = make_trade(10.0)

    class Down(Exchange):
        def fetch_orders(self, pair, since):
            raise ConnectionError("exchange down")

    down = Down([])
    check, sent = reconciler([trade], Wallets(10.0), down)
    check.loop()
    assert check.loops == 1 and check._check_amounts and sent == []
    asked: list[str] = []
    down.fetch_orders = lambda pair, since: asked.append(pair) or []
    check.loop()  # the second loop tries again, not the tenth
    assert asked == ["BTC/USDT"] and not check._run_due


def test_amount_from_orders_when_open_order_then_not_counted():
    trade = make_trade(10.0, exits=((5.0, 110.0, "tp1"),))
    trade.orders[1].ft_is_open = True
    assert amount_from_orders(trade) == pytest.approx(10.0)


def test_loop_when_order_found_late_then_reconciled_at_once():
    trade = make_trade(10.0)
    trade.orders[0].order_id = "1"
    placement = Placement(lambda pair, cid: {})
    exchange = Exchange([ccxt_order(1, "buy", 10.0, 100.0, "pg-new-entry-1")])
    asked: list[str] = []
    fetch = exchange.fetch_orders
    exchange.fetch_orders = lambda pair, since: asked.append(pair) or fetch(pair, since)
    check, _ = reconciler([trade], Wallets(10.0), exchange, placement)
    check.loop()  # start-up
    check.loop()  # nothing new: not before the tenth loop
    assert asked == ["BTC/USDT"]
    placement._late["pg-1-tp1-2"] = {}
    check.loop()
    assert asked == ["BTC/USDT", "BTC/USDT"]


def test_run_when_after_start_up_then_reads_back_to_the_open_trades_or_a_day_only():
    from datetime import UTC, datetime, timedelta

    old = make_trade(10.0, exits=((10.0, 110.0, "tp1"),))
    old.id, old.pair, old.is_open = 7, "OLD/USDT", False
    old.open_date = datetime.now(UTC) - timedelta(days=30)
    old.close_date = datetime.now(UTC) - timedelta(days=29)
    recent = make_trade(10.0)
    recent.open_date = datetime.now(UTC) - timedelta(hours=2)
    asked: list[tuple[str, datetime]] = []
    exchange = Exchange([])
    exchange.fetch_orders = lambda pair, since: asked.append((pair, since)) or []
    check, _ = reconciler([old, recent], Wallets(10.0), exchange)
    check.run()
    assert [pair for pair, _ in asked] == ["BTC/USDT", "OLD/USDT"]
    assert asked[0][1] < old.open_date.replace(tzinfo=UTC)  # since the first trade
    asked.clear()
    check.run()
    assert [pair for pair, _ in asked] == ["BTC/USDT"]  # the old trade was checked
    assert timedelta(hours=23) < datetime.now(UTC) - asked[0][1] < timedelta(hours=25)


class Positions(Wallets):
    """Freqtrade's futures wallets: positions by pair, size and side."""

    def __init__(self, size: float, side: str) -> None:
        super().__init__(0.0)
        self.size, self.side = size, side

    def get_all_positions(self):
        from freqtrade.wallets import PositionWallet

        return {
            "BTC/USDT:USDT": PositionWallet("BTC/USDT:USDT", position=self.size, side=self.side)
        }


def test_check_amounts_when_futures_short_position_smaller_then_capped_at_the_position():
    trade = make_trade(10.0, is_short=True, leverage=2.0)
    check, sent = reconciler([trade], Positions(6.0, "short"))
    check.futures = True
    check.check_amounts()
    assert trade.amount == 6.0 and "holds 6: capped at 6" in sent[0]


def test_check_amounts_when_futures_position_whole_then_nothing_changes():
    trade = make_trade(10.0, is_short=True, leverage=2.0)
    check, sent = reconciler([trade], Positions(10.0, "short"))
    check.futures = True
    check.check_amounts()
    assert trade.amount == 10.0 and sent == []


def test_reconcile_when_open_trade_entry_filled_but_not_yet_processed_then_not_untracked():
    orders = [order(1, "buy", 10, "pg-new-entry-1")]
    assert reconcile(orders, [record(1, [1], 0.0)], {PAIR: 10.0}, {PAIR: 0.01}).untracked == {}


def test_check_amounts_when_exits_sold_everything_but_trade_open_then_closed():
    """Freqtrade committed the last exit as filled and its processing stopped before
    `update_trade` closed the trade (a kill, or an error asking for the fee)."""
    trade = make_trade(10.0, exits=((5.0, 110.0, "tp1"), (5.0, 112.0, "tp2")))
    trade.is_open, trade.amount = True, 5.0
    check, sent = reconciler([trade], Wallets(0.0))
    check.check_amounts()
    assert not trade.is_open and trade.close_rate == 112.0
    assert "still open while its filled orders sold all of it (the last at 112): closed" in sent[0]


def test_check_amounts_when_stop_resting_on_exchange_then_left_to_freqtrade():
    """The stop may have filled on the exchange before Freqtrade asked for it: the
    wallet holding no coins says nothing about the trade's amount then."""
    trade = make_trade(10.0)
    stop = make_trade(10.0).orders[0]
    stop.ft_order_side, stop.ft_is_open, stop.status, stop.filled = "stoploss", True, "open", 0.0
    trade.orders.append(stop)
    check, sent = reconciler([trade], Wallets(0.001))
    check.check_amounts()
    assert trade.amount == 10.0 and sent == []


def test_run_when_order_found_late_was_cancelled_unfilled_then_unblocked():
    """A stop placed while its answer was lost, found resting later, then cancelled as
    a forgotten stop: nothing was sold, its pair and side may place orders again."""
    trade = make_trade(10.0)
    trade.orders[0].order_id = "1"
    placement = Placement(lambda pair, cid: {})
    placement._blocked[("BTC/USDT", "sell")] = "pg-1-sl-2"
    placement._late["pg-1-sl-2"] = {"clientOrderId": "pg-1-sl-2"}
    cancelled = {**ccxt_order(2, "sell", 0.0, 95.0, "pg-1-sl-2"), "status": "canceled"}
    exchange = Exchange([ccxt_order(1, "buy", 10.0, 100.0, "pg-new-entry-1"), cancelled])
    check, sent = reconciler([trade], Wallets(10.0), exchange, placement)
    check.run()
    assert placement.blocked() == {} and placement.found_late() == [] and sent == []


# ---------------------------------------------------------------- closing untracked


def closes_of(orders, trades, holdings, *, step=0.0, dust=0.01):
    result = reconcile(orders, trades, holdings, {PAIR: dust})
    return untracked_closes(orders, trades, result, {PAIR: step}, {PAIR: dust})


def test_untracked_closes_when_entry_recorded_by_no_trade_then_its_amount_sold():
    orders = [order(1, "buy", 10, "pg-new-entry-1"), order(2, "buy", 6.04, "pg-new-entry-2")]
    closes = closes_of(orders, [record(1, [1], 10)], {PAIR: 16.04}, step=0.01)
    assert closes == [Close(PAIR, "sell", pytest.approx(6.04), None)]


def test_untracked_closes_when_trade_closed_while_held_then_its_remainder_named_by_it():
    orders = [order(1, "buy", 10, "pg-new-entry-1"), order(2, "sell", 5, "pg-1-tp1-2")]
    closes = closes_of(orders, [record(1, [1, 2], 5, is_open=False)], {PAIR: 5.0})
    assert closes == [Close(PAIR, "sell", 5.0, 1)]


def test_untracked_closes_when_remainder_already_closed_then_nothing():
    orders = [
        order(1, "buy", 10, "pg-new-entry-1"),
        order(2, "sell", 5, "pg-1-tp1-2"),
        order(3, "sell", 5, "pg-1-untracked-1700000000000"),
    ]
    trades = [record(1, [1, 2], 5, is_open=False)]
    result = reconcile(orders, trades, {PAIR: 0.0}, {PAIR: 0.01})
    assert result.findings == ()  # the close is not an orphan itself
    assert untracked_closes(orders, trades, result, {PAIR: 0.0}, {PAIR: 0.01}) == []


def test_untracked_closes_when_holding_is_the_users_then_never_sold():
    orders = [order(1, "buy", 10, "pg-new-entry-1"), order(2, "buy", 50, "x-by-hand")]
    assert closes_of(orders, [record(1, [1], 10)], {PAIR: 60.0}) == []


def test_untracked_closes_when_an_earlier_close_still_open_then_none_for_the_pair():
    orders = [
        order(1, "buy", 10, "pg-new-entry-1"),
        order(2, "buy", 6, "pg-new-entry-2"),
        ExchangeOrder(order_id="3", client_id="pg-new-untracked-5", pair=PAIR, side="sell",
                      filled=0.0, is_open=True),
    ]  # fmt: skip
    assert closes_of(orders, [record(1, [1], 10)], {PAIR: 16.0}) == []


def test_untracked_closes_when_below_dust_or_step_then_rounded_down_or_left():
    orders = [order(1, "buy", 10, "pg-new-entry-1"), order(2, "buy", 0.4, "pg-new-entry-2")]
    assert closes_of(orders, [record(1, [1], 10)], {PAIR: 10.4}, step=1.0, dust=0.1) == []
    orders[1] = order(2, "buy", 2.7, "pg-new-entry-2")
    closes = closes_of(orders, [record(1, [1], 10)], {PAIR: 12.7}, step=1.0, dust=0.1)
    assert closes == [Close(PAIR, "sell", 2.0, None)]


def test_untracked_closes_when_futures_short_untracked_then_bought_back():
    orders = [order(1, "sell", 3, "pg-new-entry-1")]  # a short entry no trade records
    assert closes_of(orders, [], {PAIR: -3.0}) == [Close(PAIR, "buy", 3.0, None)]


_orders = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.floats(0.0, 20.0, allow_nan=False),
        st.sampled_from(["pg-new-entry", "pg-1-tp1", "pg-2-stop", "pg-new-untracked",
                         "pg-1-untracked", "x-by-hand", None]),
        st.booleans(),  # recorded by trade 1 or 2
    ),
    max_size=8,
)  # fmt: skip


@given(
    _orders,
    st.floats(-40.0, 40.0, allow_nan=False),
    st.booleans(),
    st.booleans(),
    st.floats(0.0, 15.0, allow_nan=False),
)
def test_untracked_closes_never_more_than_profitguards_own_unowned_fills(
    raw, held, one_open, two_open, amount
):
    """Whatever the exchange and the database say: the closes of a pair together are no
    more than its untracked amount, than what is held, and than what profitguard's own
    fills that no open trade holds left in the holding's direction (each closed trade's
    remainder, and the fills no trade records or names); each is in that direction."""
    orders = [
        order(i, side, filled, f"{cid}-{i}" if cid else None)
        for i, (side, filled, cid, _) in enumerate(raw)
    ]
    recorded = {1: [str(i) for i, r in enumerate(raw) if r[3] and r[2] == "pg-1-tp1"],
                2: [str(i) for i, r in enumerate(raw) if r[3] and r[2] != "pg-1-tp1"]}  # fmt: skip
    trades = [
        record(1, recorded[1], amount, is_open=one_open),
        record(2, recorded[2], amount, is_open=two_open),
    ]
    result = reconcile(orders, trades, {PAIR: held}, {PAIR: 0.01})
    closes = untracked_closes(orders, trades, result, {PAIR: 0.0}, {PAIR: 0.01})
    total = sum(c.amount for c in closes)
    direction = 1 if held > 0 else -1
    known = {oid for t in trades for oid in t.order_ids}

    def net(keep) -> float:
        return max(0.0, sum(o.signed for o in orders if o.ours and keep(o)) * direction)

    own_unowned = sum(
        net(lambda o, t=t: o.order_id in t.order_ids or o.trade_named == t.trade_id)
        for t in trades
        if not t.is_open
    ) + net(lambda o: o.order_id not in known and o.trade_named not in (1, 2))
    assert all(c.amount > 0 for c in closes)
    assert all(c.side == ("sell" if direction > 0 else "buy") for c in closes)
    assert total <= abs(result.untracked.get(PAIR, 0.0)) + 1e-9
    assert total <= abs(held) + 1e-9
    assert not closes or total <= own_unowned + 1e-9


class Selling(Exchange):
    """The stand-in exchange, with Freqtrade's `create_order` recording each order."""

    def __init__(self, orders: list[dict]) -> None:
        super().__init__(orders)
        self.placed: list[dict] = []

    def create_order(self, **order):
        self.placed.append(order)
        return {"id": f"c{len(self.placed)}", "status": "closed"}


def closing(trades, wallets, exchange, placement):
    expected: list[tuple] = []
    check, sent = reconciler(trades, wallets, exchange, placement)
    check.close_untracked = True
    check.expect = lambda *args: expected.append(args)
    check.id_of = lambda trade_id, millis: f"pg-{trade_id or 'new'}-untracked-{len(expected)}"
    return check, sent, expected


def test_run_when_watchdog_exits_then_orphan_entry_sold_once_by_its_own_id():
    trade = make_trade(10.0)
    trade.orders[0].order_id = "1"
    placement = Placement(lambda pair, cid: {})
    exchange = Selling(
        [ccxt_order(1, "buy", 10.0, 100.0, "pg-new-entry-1"),
         ccxt_order(9, "buy", 6.0, 100.0, "pg-new-entry-9")]
    )  # fmt: skip
    wallets = Wallets(16.0)
    check, sent, expected = closing([trade], wallets, exchange, placement)
    check.run()
    assert expected == [("BTC/USDT", "sell", "market", "pg-new-untracked-0")]
    assert [(o["pair"], o["side"], o["amount"], o["reduceOnly"]) for o in exchange.placed] == [
        ("BTC/USDT", "sell", 6.0, False)
    ]
    assert "watchdog closes it at market" in sent[1]
    assert sent[2].startswith(
        "profitguard: watchdog: BTC/USDT: sell 6 at market, order pg-new-untracked-0"
    )
    check.run()  # the close is not on the exchange's list yet: not sent again
    assert len(exchange.placed) == 1
    exchange.orders.append(ccxt_order(10, "sell", 6.0, 100.0, "pg-new-untracked-0"))
    wallets.total = 10.0
    check.run()
    assert len(exchange.placed) == 1 and check.untracked_amount() == {}
    assert placement.blocked() == {}  # the pair may enter again


def test_run_when_trade_closed_while_held_then_remainder_sold_named_by_the_trade():
    trade = make_trade(10.0, exits=((5.0, 110.0, "tp1"),))
    trade.orders[0].order_id, trade.orders[1].order_id = "1", "2"
    trade.is_open = False
    exchange = Selling(
        [ccxt_order(1, "buy", 10.0, 100.0, "pg-new-entry-1"),
         ccxt_order(2, "sell", 5.0, 110.0, f"pg-{trade.id}-tp1-2")]
    )  # fmt: skip
    check, sent, expected = closing([trade], Wallets(5.0), exchange, Placement(lambda p, c: {}))
    check.run()
    assert expected == [("BTC/USDT", "sell", "market", f"pg-{trade.id}-untracked-0")]
    assert [o["amount"] for o in exchange.placed] == [5.0]
    assert any(m.startswith("profitguard: reconciliation: closed_but_held") for m in sent)


def test_run_when_watchdog_reports_only_then_nothing_sold():
    trade = make_trade(10.0)
    trade.orders[0].order_id = "1"
    exchange = Selling(
        [ccxt_order(1, "buy", 10.0, 100.0, "pg-new-entry-1"),
         ccxt_order(9, "buy", 6.0, 100.0, "pg-new-entry-9")]
    )  # fmt: skip
    check, _ = reconciler([trade], Wallets(16.0), exchange, Placement(lambda p, c: {}))
    check.run()
    assert exchange.placed == [] and check.untracked_amount() == {"BTC/USDT": 6.0}


def test_run_when_killed_before_the_first_trade_was_written_then_entry_found_and_closed():
    """No trade in the database: the whitelisted pairs are read back a day."""
    exchange = Selling([ccxt_order(9, "buy", 6.0, 100.0, "pg-new-entry-9")])
    check, sent, _ = closing([], Wallets(6.0), exchange, Placement(lambda p, c: {}))
    check.whitelist = lambda: ["BTC/USDT"]
    check.run()
    assert [(o["side"], o["amount"]) for o in exchange.placed] == [("sell", 6.0)]
    assert sent[0].startswith(
        "profitguard: reconciliation: orphan_fill: BTC/USDT order pg-new-entry-9"
    )


def test_run_when_orphans_fee_unknown_then_taker_fee_assumed_and_users_coins_kept():
    """The order list has no fees: a buy the database lacks is taken as having paid the
    taker fee in the base currency, so the close never reaches the user's 5 BTC."""
    exchange = Selling([ccxt_order(9, "buy", 3.0, 100.0, "pg-new-entry-9")])
    exchange.markets["BTC/USDT"]["taker"] = 0.001
    check, _, _ = closing([], Wallets(5.0 + 2.997), exchange, Placement(lambda p, c: {}))
    check.whitelist = lambda: ["BTC/USDT"]
    check.run()
    assert [o["amount"] for o in exchange.placed] == [pytest.approx(2.997)]


def test_run_when_adopted_exit_leaves_only_dust_then_trade_closed():
    """Seen in chaos: the bot killed before it recorded its trailing-stop sale; the
    restart adopts it, and what is left (under the minimum order amount) can never be
    sold: the trade is closed, not left open holding nothing its levels could sell."""
    trade = make_trade(10.0, exits=((5.0, 110.0, "tp1"),))
    trade.orders[0].order_id, trade.orders[1].order_id = "1", "2"
    exchange = Exchange(
        [ccxt_order(1, "buy", 10.0, 100.0, "pg-new-entry-1"),
         ccxt_order(2, "sell", 5.0, 110.0, f"pg-{trade.id}-tp1-2"),
         ccxt_order(3, "sell", 4.9995, 105.0, f"pg-{trade.id}-trailing_stop_loss-3")]
    )  # fmt: skip
    check, sent = reconciler([trade], Wallets(0.0005), exchange, Placement(lambda p, c: {}))
    check.run()
    assert not trade.is_open and [o.order_id for o in trade.orders] == ["1", "2", "3"]
    assert "adopted into the trade" in sent[-1]
