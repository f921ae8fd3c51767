"""The chaos suite's checks, each shown to catch what it is for (and pass otherwise)."""

from __future__ import annotations

import json

import pytest

from profitguard.tooling.chaos.run_checks import (
    Life,
    RunRecord,
    closed_but_held,
    futures_exits_reduce_only,
    gate_state_survives,
    levels_not_lost,
    levels_once,
    no_over_close,
    orphan_fill,
    protected_after_restart,
    reported_ids,
    stop_never_looser_after_restart,
    untracked_holding,
)

T0 = 1_000_000.0  # wall-clock seconds
PAIR = "RST/USDT"


def fill(side, amount, price=100.0, t=T0, fee=0.0, fee_asset="USDT", order_id=1):
    return {"pair": PAIR, "side": side, "amount": amount, "price": price, "fee": fee,
            "fee_asset": fee_asset, "time": int(t * 1000), "order_id": order_id}  # fmt: skip


def order(order_id, side, kind="MARKET", *, fills=(), status="FILLED", tag=None, trade_id=1,
          stop=0.0, t=T0, updated=None):  # fmt: skip
    return {
        "order_id": order_id, "pair": PAIR, "side": side, "type": kind, "status": status,
        "stop_price": stop, "time": int(t * 1000), "update_time": int((updated or t) * 1000),
        "filled": sum(f["amount"] for f in fills), "fills": list(fills), "tag": tag,
        "trade_id": trade_id, "client_order_id": f"c{order_id}",
    }  # fmt: skip


def record(orders=(), *, trades=(), custom=(), lives=None, samples=(), soe=False, price=None,
           paused_at=None, guard_paused=None, end=T0 + 100):  # fmt: skip
    orders = list(orders)
    return RunRecord(
        ledger={"orders": orders, "fills": [f for o in orders for f in o["fills"]]},
        trades=list(trades),
        orders=[],
        custom=list(custom),
        lives=lives or [Life(started=T0, ended=end, heartbeats=[T0 + 1, T0 + 2, T0 + 3])],
        samples=list(samples),
        levels_r=(2.0, 3.0, 4.0),
        price=price or (lambda pair, t: 100.0),
        stoploss_on_exchange=soe,
        end=end,
        step=0.001,
        paused_at=paused_at,
        guard_paused_after=guard_paused,
        tagged=orders,
    )


def trade(is_open=True, open_rate=100.0, close_date=None):
    return {"id": 1, "pair": PAIR, "is_open": is_open, "open_rate": open_rate, "amount": 0.999,
            "open_date": "1970-01-12 13:46:40", "close_date": close_date}  # fmt: skip


BUY = order(1, "buy", fills=[fill("BUY", 1.0, fee=0.001, fee_asset="RST")], tag="buy")


@pytest.mark.parametrize(("sold", "broken"), [(0.999, False), (1.0, True)])
def test_no_over_close_when_selling_more_than_bought_net_of_fee_then_violation(sold, broken):
    sell = order(2, "sell", fills=[fill("SELL", sold, order_id=2)], tag="tp1")
    found = no_over_close(record([BUY, sell], trades=[trade()]))
    assert bool(found) is broken
    if broken:
        assert {v.check for v in found} == {"over_close"}


def test_levels_once_when_tp1_filled_twice_then_violation():
    tp1 = [order(i, "sell", fills=[fill("SELL", 0.2, order_id=i)], tag=t)
           for i, t in ((2, "tp1"), (3, "tp1,tp2"))]  # fmt: skip
    found = levels_once(record([BUY, *tp1], trades=[trade()]))
    assert [str(v) for v in found] == ["level_repeated: trade 1: tp1 filled 2 times"]
    assert levels_once(record([BUY, tp1[0]], trades=[trade()])) == []


def custom_state(initial_stop=99.0):
    value = json.dumps({"initial_stop": initial_stop, "best": 100.0, "skipped": 0})
    return {"ft_trade_id": 1, "cd_key": "profitguard", "cd_value": value}


def test_levels_not_lost_when_price_held_above_tp1_while_bot_ran_then_lost_unless_taken():
    # risk 1 (entry 100, stop 99): tp1 at 102; the price sits at 102.5 from +10 s
    def price(pair, t):
        return 102.5 if t >= T0 + 10 else 100.0

    found = levels_not_lost(record([BUY], trades=[trade()], custom=[custom_state()], price=price))
    assert [v.check for v in found] == ["level_lost"] and "tp1" in found[0].detail
    tp1 = order(2, "sell", fills=[fill("SELL", 0.5, order_id=2)], tag="tp1")
    assert (
        levels_not_lost(record([BUY, tp1], trades=[trade()], custom=[custom_state()], price=price))
        == []
    )


def test_levels_not_lost_when_level_reached_only_while_bot_was_down_then_no_violation():
    def price(pair, t):
        return 102.5 if T0 + 20 <= t < T0 + 30 else 100.0

    lives = [
        Life(started=T0, ended=T0 + 19, killed=True, heartbeats=[T0 + 1]),
        Life(started=T0 + 19, ended=T0 + 100, heartbeats=[T0 + 31]),
    ]
    assert (
        levels_not_lost(
            record([BUY], trades=[trade()], custom=[custom_state()], price=price, lives=lives)
        )
        == []
    )


def restart_lives():
    return [
        Life(started=T0, ended=T0 + 20, killed=True, heartbeats=[T0 + 1],
             stops_at_end={1: 101.0}),
        Life(started=T0 + 20, ended=T0 + 60, heartbeats=[T0 + 30, T0 + 31, T0 + 32]),
    ]  # fmt: skip


@pytest.mark.parametrize(("after", "broken"), [(101.0, False), (101.5, False), (99.0, True)])
def test_stop_never_looser_when_stop_after_restart_lower_then_violation(after, broken):
    samples = [(T0 + 10, {1: (True, 101.0)}), (T0 + 35, {1: (True, after)})]
    found = stop_never_looser_after_restart(
        record([BUY], trades=[trade()], lives=restart_lives(), samples=samples)
    )
    assert bool(found) is broken


def test_stop_never_looser_when_exchange_stop_replaced_lower_after_restart_then_violation():
    old = order(2, "sell", "STOP_LOSS_LIMIT", status="NEW", stop=101.0, t=T0 + 5)
    lower = order(3, "sell", "STOP_LOSS_LIMIT", status="NEW", stop=100.0, t=T0 + 33)
    found = stop_never_looser_after_restart(
        record([BUY, old, lower], trades=[trade()], lives=restart_lives(), soe=True)
    )
    assert [v.check for v in found] == ["stop_loosened"]


@pytest.mark.parametrize(("placed_at", "broken"), [(T0 + 31, False), (T0 + 40, True)])
def test_protected_after_restart_when_no_resting_stop_one_loop_after_back_then_violation(
    placed_at, broken
):
    stop = order(2, "sell", "STOP_LOSS_LIMIT", status="NEW", stop=99.0, t=placed_at)
    found = protected_after_restart(
        record([BUY, stop], trades=[trade()], lives=restart_lives(), soe=True)
    )
    assert bool(found) is broken


def test_gate_state_survives_when_entry_after_pause_or_guard_reset_then_violation():
    late_buy = order(5, "buy", fills=[fill("BUY", 1.0, t=T0 + 50)], t=T0 + 50, trade_id=2)
    assert gate_state_survives(record([BUY], paused_at=T0 + 5, guard_paused=True)) == []
    found = gate_state_survives(record([BUY, late_buy], paused_at=T0 + 5, guard_paused=False))
    assert [v.check for v in found] == ["gate_state_lost", "gate_state_lost"]


def test_stop_never_looser_when_a_new_trade_has_a_lower_stop_then_no_violation():
    old = order(2, "sell", "STOP_LOSS_LIMIT", status="NEW", stop=101.0, t=T0 + 5)
    other_trade = order(3, "sell", "STOP_LOSS_LIMIT", status="NEW", stop=95.0, t=T0 + 33,
                        trade_id=2)  # fmt: skip
    assert (
        stop_never_looser_after_restart(
            record([BUY, old, other_trade], trades=[trade()], lives=restart_lives(), soe=True)
        )
        == []
    )


def test_levels_not_lost_when_exchange_refused_the_exit_and_bot_logged_it_then_a_note():
    from profitguard.tooling.chaos.run_checks import check_run

    def price(pair, t):
        return 102.5 if t >= T0 + 10 else 100.0

    lives = [Life(started=T0, ended=T0 + 100, heartbeats=[T0 + 1], refusals=[T0 + 11])]
    rec = record([BUY], trades=[trade()], custom=[custom_state()], price=price, lives=lives)
    violations, notes = check_run(rec)
    assert violations == []
    assert [n.check for n in notes] == ["level_refused"] and "tp1" in notes[0].detail


def test_protected_after_restart_when_only_dust_of_earlier_trades_is_held_then_no_violation():
    # trade 1 closed long ago leaving 0.004 (fees taken in the base); nothing open now
    sell = order(2, "sell", fills=[fill("SELL", 0.995, order_id=2)], tag="tp3")
    closed = {**trade(is_open=False), "close_date": "1970-01-12 13:46:50"}
    assert (
        protected_after_restart(
            record([BUY, sell], trades=[closed], lives=restart_lives(), soe=True)
        )
        == []
    )


def test_levels_not_overfilled_when_untagged_exit_then_tp1_again_closes_all_then_violation():
    """What the chaos suite saw (drop-order-after-fill): an adopted untagged exit of
    half, then tp1 again for the other half."""
    from profitguard.tooling.chaos.run_checks import levels_not_overfilled

    buy = order(1, "buy", fills=[fill("BUY", 1.0)], tag="buy")
    adopted = order(2, "sell", fills=[fill("SELL", 0.5, t=T0 + 5, order_id=2)], tag="sell")
    tp1 = order(3, "sell", fills=[fill("SELL", 0.5, t=T0 + 9, order_id=3)], tag="tp1")
    found = levels_not_overfilled(record([buy, adopted, tp1], trades=[trade()]))
    assert [v.check for v in found] == ["level_repeated"]
    tp2 = order(3, "sell", fills=[fill("SELL", 0.25, t=T0 + 9, order_id=3)], tag="tp2")
    assert levels_not_overfilled(record([buy, adopted, tp2], trades=[trade()])) == []


def ours(order_id, side, amount, client_id, *, trade_id=1, fee=0.0, status="FILLED", pair=PAIR):
    """A ledger order carrying profitguard's client id, joined with the bot's record
    (`trade_id` None: the bot has none)."""
    base = pair.split("/")[0]
    fills = (
        [fill(side.upper(), amount, fee=fee, fee_asset=base, order_id=order_id)] if amount else []
    )
    for f in fills:
        f["pair"] = pair
    return {
        **order(order_id, side, fills=fills, status=status, trade_id=trade_id),
        "pair": pair, "client_order_id": client_id, "client_tag": client_id.split("-")[2],
        "tag": client_id.split("-")[2] if trade_id else None,
    }  # fmt: skip


def holding_record(orders, trades, *, positions=None):
    rec = record(orders, trades=trades)
    rec.dust = 0.05
    if positions is not None:
        rec.ledger["futures"] = {"positions": positions}
    return rec


def trade_row(tid=1, *, is_open=True, amount=0.0, pair=PAIR, is_short=False, exit_reason=None):
    return {"id": tid, "pair": pair, "is_open": is_open, "amount": amount,
            "is_short": is_short, "exit_reason": exit_reason}  # fmt: skip


ENTRY = ours(1, "buy", 10.0, "pg-new-entry-1", fee=0.01)


@pytest.mark.parametrize(("known", "broken"), [(1, False), (None, True)])
def test_orphan_fill_when_filled_profitguard_order_unknown_to_database_then_violation(
    known, broken
):
    tp1 = ours(2, "sell", 5.0, "pg-1-tp1-2", trade_id=known)
    resting = ours(3, "sell", 0.0, "pg-1-tp2-3", trade_id=None, status="NEW")
    stop = {**order(4, "sell", trade_id=None), "client_tag": None}  # ccxt's id, not ours
    found = orphan_fill(holding_record([ENTRY, tp1, resting, stop], [trade_row(amount=4.99)]))
    assert [v.check for v in found] == (["orphan_fill"] if broken else [])
    if broken:
        assert "pg-1-tp1-2: 5 filled, unknown to the database" in found[0].detail


@pytest.mark.parametrize(("is_open", "broken"), [(True, False), (False, True)])
def test_closed_but_held_when_closed_trade_still_holds_half_then_violation(is_open, broken):
    tp1 = ours(2, "sell", 4.995, "pg-1-tp1-2")
    rec = holding_record(
        [ENTRY, tp1], [trade_row(is_open=is_open, amount=4.995, exit_reason="tp1")]
    )
    found = closed_but_held(rec)
    assert [v.check for v in found] == (["closed_but_held"] if broken else [])
    if broken:
        assert "closed (tp1) while 4.995 RST of it is still held" in found[0].detail


def test_closed_but_held_when_sold_all_but_dust_then_no_violation():
    stop = ours(2, "sell", 9.989, "pg-1-stop-2")
    assert closed_but_held(holding_record([ENTRY, stop], [trade_row(is_open=False)])) == []


@pytest.mark.parametrize(
    ("extra", "broken"),
    [
        (None, False),
        (ours(3, "buy", 6.0, "pg-new-entry-3", trade_id=None), True),  # an orphan entry
        (
            {
                **order(3, "buy", fills=[fill("BUY", 6.0, order_id=3)], trade_id=None),
                "client_tag": None,
            },
            False,
        ),  # bought by someone else: the user's
    ],
)
def test_untracked_holding_when_held_beyond_open_trades_then_violation_if_profitguard_bought_it(
    extra, broken
):
    orders = [ENTRY, *([extra] if extra else [])]
    found = untracked_holding(holding_record(orders, [trade_row(amount=9.99)]))
    assert [v.check for v in found] == (["untracked_holding"] if broken else [])
    if broken:
        assert "15.99 RST held, open trades 9.99: 6 under no trade" in found[0].detail


def test_untracked_holding_when_futures_short_position_beyond_trades_then_violation():
    pair = "RST/USDT:USDT"
    orders = [
        ours(1, "sell", 4.0, "pg-new-entry-1", pair=pair),
        ours(2, "sell", 3.0, "pg-new-entry-2", pair=pair, trade_id=None),
    ]
    trades = [trade_row(amount=4.0, pair=pair, is_short=True)]
    found = untracked_holding(holding_record(orders, trades, positions={pair: {"amount": -7.0}}))
    assert [v.detail for v in found] == [f"{pair}: 7 RST held, open trades 4: 3 under no trade"]
    # the reduce-only exit of the rest leaves nothing untracked
    cover = ours(3, "buy", 3.0, "pg-1-kill_switch-3", pair=pair, trade_id=None)
    flat = holding_record([*orders, cover], trades, positions={pair: {"amount": -4.0}})
    assert untracked_holding(flat) == []


def test_untracked_holding_when_open_trade_entry_filled_but_not_yet_processed_then_no_violation():
    """The run ended after the exchange filled a limit entry and before the bot polled
    it: the database's trade still says 0, its own order holds the coins."""
    assert untracked_holding(holding_record([ENTRY], [trade_row(amount=0.0)])) == []


def test_protected_after_restart_when_trade_opened_after_the_restart_then_not_counted():
    """A trade the restarted bot entered a moment before its third loop has no stop
    yet for the ordinary reason (it is placed the loop after the entry fills)."""
    new_trade = {**trade(), "open_date": "1970-01-12 13:47:09"}  # T0 + 29: after the restart
    found = protected_after_restart(
        record([BUY], trades=[new_trade], lives=restart_lives(), soe=True)
    )
    assert found == []
    assert protected_after_restart(record([BUY], trades=[trade()], lives=restart_lives(), soe=True))


ORPHAN = ours(3, "buy", 6.0, "pg-new-entry-3", trade_id=None, fee=0.006)
CLOSE = ours(4, "sell", 5.994, "pg-new-untracked-4", trade_id=None)


@pytest.mark.parametrize(
    ("orders", "reported", "broken"),
    [
        ([ENTRY, ORPHAN, CLOSE], ["pg-new-entry-3", "pg-new-untracked-4"], False),
        ([ENTRY, ORPHAN, CLOSE], ["pg-new-untracked-4"], True),  # the orphan never reported
        ([ENTRY, ORPHAN, CLOSE], ["pg-new-entry-3"], True),  # the close never reported
        ([ENTRY, ORPHAN], ["pg-new-entry-3"], True),  # reported, never closed
        (  # closed in part: 3 RST left under no trade
            [ENTRY, ORPHAN, ours(4, "sell", 2.994, "pg-new-untracked-4", trade_id=None)],
            ["pg-new-entry-3", "pg-new-untracked-4"],
            True,
        ),
    ],
)
def test_orphan_fill_when_orphan_entry_reported_and_closed_by_the_watchdog_then_no_violation(
    orders, reported, broken
):
    """An entry no trade can take counts only once the bot reported it and the
    watchdog's close (itself reported) sold what it bought."""
    rec = holding_record(orders, [trade_row(amount=9.99)])
    rec.lives[0].reported = reported
    found = orphan_fill(rec)
    assert bool(found) == broken, found


def test_orphan_fill_when_exit_naming_a_trade_unknown_then_violation_even_if_reported():
    """An exit names its trade: it must be adopted, a report is not enough."""
    tp1 = ours(2, "sell", 5.0, "pg-1-tp1-2", trade_id=None)
    rec = holding_record([ENTRY, tp1], [trade_row(amount=4.99)])
    rec.lives[0].reported = ["pg-1-tp1-2"]
    assert [v.check for v in orphan_fill(rec)] == ["orphan_fill"]


def test_closed_but_held_when_watchdog_closed_the_remainder_under_the_trades_id_then_none():
    tp1 = ours(2, "sell", 4.995, "pg-1-tp1-2")
    rest = ours(3, "sell", 4.995, "pg-1-untracked-3", trade_id=None)
    rec = holding_record([ENTRY, tp1, rest], [trade_row(is_open=False, exit_reason="tp1")])
    rec.lives[0].reported = ["pg-1-untracked-3"]
    assert closed_but_held(rec) == [] and orphan_fill(rec) == [] and untracked_holding(rec) == []


def test_reported_ids_when_bot_log_read_then_orphans_and_closes_by_client_id():
    log = (
        "2026-12-07 19:36:41,052 - profitguard.freqtrade.reconciler - WARNING - profitguard: "
        "reconciliation: orphan_fill: RST/USDT order pg-new-entry-17: 3 RST (...)\n"
        "2026-12-07 19:36:41,105 - profitguard.freqtrade.reconciler - WARNING - profitguard: "
        "watchdog: RST/USDT: sell 2.997 at market, order pg-new-untracked-18: untracked\n"
        "... profitguard: reconciliation: untracked_holding: RST/USDT: 3 RST (...)\n"
    )
    assert reported_ids(log) == ["pg-new-entry-17", "pg-new-untracked-18"]


FPAIR = "RST/USDT:USDT"


def futures_order(order_id, side, amount, client_id, *, reduce_only, trade_id=1, t=T0):
    o = ours(order_id, side, amount, client_id, trade_id=trade_id, pair=FPAIR)
    for f in o["fills"]:
        f["fee_asset"], f["time"] = "USDT", int(t * 1000)
    return {**o, "market": "futures", "reduce_only": reduce_only}


@pytest.mark.parametrize(
    ("exit_amount", "reduce_only", "broken"),
    [
        (5.0, True, []),
        (5.0, False, ["not_reduce_only"]),
        (12.0, False, ["not_reduce_only", "position_flipped"]),  # sold past the position
    ],
)
def test_futures_exits_reduce_only_when_exit_not_reduce_only_or_flips_then_violation(
    exit_amount, reduce_only, broken
):
    entry = futures_order(1, "buy", 10.0, "pg-new-entry-1", reduce_only=False)
    tp1 = futures_order(2, "sell", exit_amount, "pg-1-tp1-2", reduce_only=reduce_only, t=T0 + 5)
    rec = holding_record([entry, tp1], [trade_row(pair=FPAIR, amount=10.0 - exit_amount)])
    assert [v.check for v in futures_exits_reduce_only(rec)] == broken
