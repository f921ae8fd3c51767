"""What must hold of a shared account after a live run of several bots on one exchange
account, whatever happened to the account's database.

Pure functions of an ``AccountRecord``: the exchange's ledger (every bot's orders and
fills together, the truth), each bot's trades as its database has them, and what the
scenario did (a bot killed holding a reservation, the database stopped, connections
ended). Each returns the violations it found, as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from profitguard.tooling.chaos.run_checks import Violation

# From the account's answer to the order on the exchange: the rest of Freqtrade's entry
# (confirm_trade_entry returns, the order is sent) under a loaded machine. An entry the
# account admitted right before its database went down may land this late.
ENTRY_GRACE_S = 10.0
# From a reservation's expiry to the other bot's entry: its next loop or two, and
# Freqtrade's own retries of a failed request.
SLOT_GRACE_S = 20.0


@dataclass(frozen=True)
class Outage:
    """The account's database out of reach from ``began`` (the stop asked) to ``ended``
    (it answers again)."""

    began: float
    ended: float


@dataclass(frozen=True)
class ReservedKill:
    """``bot`` SIGKILLed at ``killed`` after the account reserved its entry in ``pair``
    (``reserved``: when the bot said so), restarted at ``restarted``; the other bots
    trade ``others``."""

    bot: str
    pair: str
    reserved: float
    killed: float
    restarted: float
    others: tuple[str, ...]


@dataclass
class AccountRecord:
    ledger: dict
    trades: dict[str, list[dict]]  # bot -> its trades database's trades
    max_open_positions: int
    min_notional: float  # the markets' minimum order value: less held is dust
    reservation_ttl: float
    end: float
    outages: list[Outage] = field(default_factory=list)
    kills: list[ReservedKill] = field(default_factory=list)


def _held_over_time(record: AccountRecord) -> list[tuple[float, set[str]]]:
    """After each fill (in time order): the pairs held beyond dust."""
    held: dict[str, float] = {}
    price: dict[str, float] = {}  # each pair's last fill price
    out = []
    for fill in sorted(record.ledger["fills"], key=lambda f: (f["time"], f["trade_id"])):
        pair, base = fill["pair"], fill["pair"].split("/")[0]
        if fill["side"] == "BUY":
            amount = fill["amount"] - (fill["fee"] if fill["fee_asset"] == base else 0.0)
        else:
            amount = -fill["amount"]
        held[pair] = held.get(pair, 0.0) + amount
        price[pair] = fill["price"]
        pairs = {p for p, a in held.items() if a * price[p] >= record.min_notional}
        out.append((fill["time"] / 1000, pairs))
    return out


def max_open_positions(record: AccountRecord) -> list[Violation]:
    """At no moment does the exchange account hold more pairs (beyond dust) than the
    account's max_open_positions: every bot's fills together, from the ledger."""
    out = []
    for at, pairs in _held_over_time(record):
        if len(pairs) > record.max_open_positions:
            out.append(
                Violation(
                    "account_max_open",
                    f"{len(pairs)} positions held at once ({', '.join(sorted(pairs))}), "
                    f"limit {record.max_open_positions}, at {at:.3f}",
                )
            )
    return out[:1] + ([Violation("account_max_open", f"{len(out) - 1} more")] if out[1:] else [])


def no_entry_while_down(record: AccountRecord) -> list[Violation]:
    """No entry order reaches the exchange while the account's database is out of
    reach (fail closed), beyond one admitted just before it went away."""
    out = []
    for outage in record.outages:
        for order in record.ledger["orders"]:
            at = order["time"] / 1000
            if order["side"] == "buy" and outage.began + ENTRY_GRACE_S < at < outage.ended:
                out.append(
                    Violation(
                        "entry_while_down",
                        f"{order['pair']} entry {order['client_order_id']} at "
                        f"+{at - outage.began:.1f}s of an outage of "
                        f"{outage.ended - outage.began:.0f}s",
                    )
                )
    return out


def reservation_expires(record: AccountRecord) -> list[Violation]:
    """A bot killed between the account's reservation and its order: its reservation
    holds the slot until it expires (no other bot enters before), then frees it (another
    bot enters within a grace, the killed one still down)."""
    out = []
    for kill in record.kills:
        expiry = kill.reserved + record.reservation_ttl
        entries = sorted(
            o["time"] / 1000
            for o in record.ledger["orders"]
            if o["side"] == "buy" and o["pair"] in kill.others and o["time"] / 1000 > kill.killed
        )
        early = [t for t in entries if t < expiry - 2.0]  # the row's clock: 2 s either way
        if early:
            out.append(
                Violation(
                    "reservation_ignored",
                    f"{kill.bot}'s reservation of {kill.pair} ({record.reservation_ttl:g}s) "
                    f"held nothing: another bot entered {early[0] - kill.reserved:.1f}s after it",
                )
            )
        due = expiry + SLOT_GRACE_S
        if due < min(kill.restarted, record.end) and not any(t <= due for t in entries):
            out.append(
                Violation(
                    "slot_held_forever",
                    f"{kill.bot} killed holding a reservation of {kill.pair}: no other bot "
                    f"entered within {record.reservation_ttl + SLOT_GRACE_S:g}s of it",
                )
            )
    return out


def open_trades_stopped(record: AccountRecord) -> list[Violation]:
    """At the end every bot's open trade has a stop in force."""
    return [
        Violation("open_without_stop", f"{bot} trade {t['id']} {t['pair']}: no stop")
        for bot, trades in sorted(record.trades.items())
        for t in trades
        if t["is_open"] and not (t.get("stop_loss") or 0) > 0
    ]


ACCOUNT_CHECKS = (max_open_positions, no_entry_while_down, reservation_expires, open_trades_stopped)


def check_account(record: AccountRecord) -> list[Violation]:
    return [v for check in ACCOUNT_CHECKS for v in check(record)]
