"""The chaos checks of stops resting on the exchange and of the kill switch: each shown
to catch what it is for, and to pass otherwise."""

from __future__ import annotations

import dataclasses

from profitguard.tooling.chaos.run_checks import check_run
from profitguard.tooling.chaos.stop_checks import (
    FLAT_GRACE_S,
    flat_after_kill_switch,
    one_stop_per_trade,
)
from tests.unit.test_chaos_run_checks import BUY, T0, fill, order, record, trade


def stop(order_id, client_id, *, t, updated=None, status="CANCELED"):
    placed = order(order_id, "sell", "STOP_LOSS_LIMIT", status=status, t=t, updated=updated,
                   trade_id=None)  # fmt: skip
    return placed | {"client_order_id": client_id}


def test_one_stop_per_trade_when_a_forgotten_stop_rests_beside_the_new_one_then_violation():
    forgotten = stop(2, "pg-1-sl-2", t=T0 + 5, status="NEW")  # never cancelled
    placed_again = stop(3, "pg-1-sl-2", t=T0 + 20, updated=T0 + 50)
    found = one_stop_per_trade(record([BUY, forgotten, placed_again], trades=[trade()]))
    assert [v.check for v in found] == ["two_stops"]
    assert "trade 1: stops pg-1-sl-2 and pg-1-sl-2 rested together for 30.0s" in str(found[0])


def test_one_stop_per_trade_when_cancelled_before_the_next_one_then_none():
    first = stop(2, "pg-1-sl-2", t=T0 + 5, updated=T0 + 20)
    second = stop(3, "pg-1-sl-2", t=T0 + 20, status="NEW")  # same id, after the cancel
    other_trade = stop(4, "pg-2-sl-2", t=T0 + 10, status="NEW")
    ccxt_own = stop(5, "x-R4BD3S82abc", t=T0 + 10, status="NEW")
    assert one_stop_per_trade(record([BUY, first, second, other_trade, ccxt_own])) == []


def with_kill(rec, at):
    return dataclasses.replace(rec, kill_switch_at=at)


def test_flat_after_kill_switch_when_still_held_after_the_grace_then_violation():
    sell = order(2, "sell", fills=[fill("SELL", 0.999, t=T0 + 50, order_id=2)], t=T0 + 50)
    late = with_kill(record([BUY, sell], trades=[trade()]), T0 + 50 - FLAT_GRACE_S - 1)
    assert [v.check for v in flat_after_kill_switch(late)] == ["not_flat"]
    in_time = with_kill(record([BUY, sell], trades=[trade()]), T0 + 40)
    assert flat_after_kill_switch(in_time) == []
    assert flat_after_kill_switch(record([BUY], trades=[trade()])) == []  # no kill switch


def test_flat_after_kill_switch_when_an_order_still_rests_then_violation():
    sell = order(2, "sell", fills=[fill("SELL", 0.999, t=T0 + 50, order_id=2)], t=T0 + 50)
    orphan = stop(3, "pg-1-sl-99", t=T0 + 30, status="NEW")
    found = flat_after_kill_switch(with_kill(record([BUY, sell, orphan]), T0 + 40))
    assert [v.check for v in found] == ["not_flat"]
    assert "orders resting at the end of the run: RST/USDT STOP_LOSS_LIMIT pg-1-sl-99" in str(
        found[0]
    )


def test_check_run_when_two_stops_rest_together_then_counted_as_a_violation():
    forgotten = stop(2, "pg-1-sl-2", t=T0 + 5, status="NEW")
    placed_again = stop(3, "pg-1-sl-2", t=T0 + 20, updated=T0 + 50)
    violations, _ = check_run(record([BUY, forgotten, placed_again], trades=[trade()]))
    assert "two_stops" in {v.check for v in violations}


def test_flat_after_kill_switch_when_only_fee_dust_left_then_flat():
    sell = order(2, "sell", fills=[fill("SELL", 0.997, t=T0 + 50, order_id=2)], t=T0 + 50)
    rec = with_kill(record([BUY, sell], trades=[trade()]), T0 + 40)  # 0.002 left, at 100
    assert [v.check for v in flat_after_kill_switch(rec)] == ["not_flat"]
    assert flat_after_kill_switch(dataclasses.replace(rec, min_notional=5.0)) == []
