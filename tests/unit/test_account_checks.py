"""The shared-account chaos checks (`profitguard.tooling.chaos.account_checks`) on hand-made
ledgers: each finds the violation it is for, and nothing on a clean run."""

from __future__ import annotations

from profitguard.tooling.chaos.account_checks import (
    ENTRY_GRACE_S,
    SLOT_GRACE_S,
    AccountRecord,
    Outage,
    ReservedKill,
    check_account,
    max_open_positions,
    no_entry_while_down,
    open_trades_stopped,
    reservation_expires,
)

T0 = 1_000_000.0


def fill(pair: str, side: str, amount: float, at: float, price: float = 100.0) -> dict:
    return {
        "trade_id": int(at * 1000),
        "pair": pair,
        "side": side,
        "price": price,
        "amount": amount,
        "fee": 0.0,
        "fee_asset": "USDT",
        "time": int((T0 + at) * 1000),
    }


def order(pair: str, side: str, at: float) -> dict:
    return {"pair": pair, "side": side, "time": int((T0 + at) * 1000), "client_order_id": "x"}


def record(fills=(), orders=(), **kw) -> AccountRecord:
    values = {
        "ledger": {"fills": list(fills), "orders": list(orders)},
        "trades": {},
        "max_open_positions": 1,
        "min_notional": 5.0,
        "reservation_ttl": 10.0,
        "end": T0 + 200,
    }
    return AccountRecord(**{**values, **kw})


# one bot in AAA, then (after it sold) the other in BBB: one position at a time
TAKEN_IN_TURN = [
    fill("AAA/USDT", "BUY", 10, 1),
    fill("AAA/USDT", "SELL", 9.99, 5),  # 0.01 left: dust (1 USDT < 5)
    fill("BBB/USDT", "BUY", 10, 6),
    fill("BBB/USDT", "SELL", 10, 9),
]


def test_max_open_when_taken_in_turn_then_none_and_when_both_held_then_found():
    assert max_open_positions(record(TAKEN_IN_TURN)) == []
    both = [fill("AAA/USDT", "BUY", 10, 1), fill("BBB/USDT", "BUY", 10, 2)]
    (found,) = max_open_positions(record(both))
    assert found.check == "account_max_open"
    assert "2 positions held at once (AAA/USDT, BBB/USDT), limit 1" in found.detail
    assert max_open_positions(record(both, max_open_positions=2)) == []


def test_no_entry_while_down_when_an_entry_lands_in_the_outage_then_found():
    outage = Outage(began=T0 + 10, ended=T0 + 40)
    admitted_before = order("AAA/USDT", "buy", 10 + ENTRY_GRACE_S - 1)
    exit_meanwhile = order("AAA/USDT", "sell", 25)
    after = order("BBB/USDT", "buy", 41)
    clean = record(orders=[admitted_before, exit_meanwhile, after], outages=[outage])
    assert no_entry_while_down(clean) == []
    late = record(orders=[order("BBB/USDT", "buy", 30)], outages=[outage])
    (found,) = no_entry_while_down(late)
    assert found.check == "entry_while_down" and "at +20.0s of an outage of 30s" in found.detail


def kill(**kw) -> ReservedKill:
    values = {
        "bot": "bot-a",
        "pair": "AAA/USDT",
        "reserved": T0 + 10,
        "killed": T0 + 11,
        "restarted": T0 + 45,
        "others": ("BBB/USDT",),
    }
    return ReservedKill(**{**values, **kw})


def test_reservation_expires_when_the_other_bot_enters_after_expiry_then_none():
    entered = order("BBB/USDT", "buy", 10 + 10 + 3)
    assert reservation_expires(record(orders=[entered], kills=[kill()])) == []


def test_reservation_expires_when_the_other_bot_enters_while_reserved_then_ignored():
    entered = order("BBB/USDT", "buy", 13)
    (found,) = reservation_expires(record(orders=[entered], kills=[kill()]))
    assert found.check == "reservation_ignored" and "entered 3.0s after it" in found.detail


def test_reservation_expires_when_no_one_enters_after_expiry_then_slot_held_forever():
    (found,) = reservation_expires(record(kills=[kill(restarted=T0 + 10 + 10 + SLOT_GRACE_S + 5)]))
    assert found.check == "slot_held_forever"
    # restarted before the slot was due back: that restart frees it, nothing to say
    assert reservation_expires(record(kills=[kill(restarted=T0 + 25)])) == []


def test_open_trades_stopped_when_an_open_trade_has_no_stop_then_found():
    trades = {
        "bot-a": [{"id": 1, "pair": "AAA/USDT", "is_open": True, "stop_loss": 99.5}],
        "bot-b": [
            {"id": 1, "pair": "BBB/USDT", "is_open": False, "stop_loss": None},
            {"id": 2, "pair": "BBB/USDT", "is_open": True, "stop_loss": None},
        ],
    }
    (found,) = open_trades_stopped(record(trades=trades))
    assert str(found) == "open_without_stop: bot-b trade 2 BBB/USDT: no stop"


def test_check_account_when_the_run_is_clean_then_no_violation():
    entered = order("BBB/USDT", "buy", 10 + 10 + 3)
    clean = record(TAKEN_IN_TURN, [entered], kills=[kill()], outages=[Outage(T0 + 50, T0 + 70)])
    assert check_account(clean) == []
