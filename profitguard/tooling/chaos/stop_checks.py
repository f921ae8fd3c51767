"""What must hold of the stops resting on the exchange, and after the kill switch.

Pure functions of a ``RunRecord`` (``run_record``), read from the exchange's ledger: a stop
is counted by its profitguard client id (``pg-<trade>-sl-<n>``), so a stop the bot
forgot counts as much as one it knows.
"""

from __future__ import annotations

import re

from profitguard.tooling.chaos.run_record import RunRecord, Violation, position_at

# From `guard kill` to a flat position: a bot loop (1 s), Freqtrade's own retries of a
# failed request (2 s, then 5 s) and the loop after a cancel frees the coins.
FLAT_GRACE_S = 15.0
_STOP_ID = re.compile(r"^pg-(\d+)-sl-\d+$")
_OPEN = ("NEW", "PARTIALLY_FILLED")


def _resting_span(order: dict, end_ms: float) -> tuple[float, float]:
    """When the order rested: from its creation to its last update (or the run's end)."""
    until = end_ms if order["status"] in _OPEN else order["update_time"]
    return order["time"], until


def one_stop_per_trade(record: RunRecord) -> list[Violation]:
    """At no moment do two profitguard stops of one trade rest on the exchange together."""
    by_trade: dict[int, list[dict]] = {}
    for order in record.ledger["orders"]:
        match = _STOP_ID.match(order.get("client_order_id") or "")
        if match:
            by_trade.setdefault(int(match.group(1)), []).append(order)
    out = []
    end_ms = record.end * 1000
    for trade_id, stops in sorted(by_trade.items()):
        spans = sorted((*_resting_span(o, end_ms), o["client_order_id"]) for o in stops)
        together = [
            (a, b) for i, a in enumerate(spans) for b in spans[i + 1 :] if b[0] < a[1]
        ]  # sorted by start: b starts before a ends
        if together:
            (_, end_a, id_a), (start_b, end_b, id_b) = together[0]
            out.append(
                Violation(
                    "two_stops",
                    f"trade {trade_id}: stops {id_a} and {id_b} rested together for "
                    f"{(min(end_a, end_b) - start_b) / 1000:.1f}s",
                )
            )
    return out


def flat_after_kill_switch(record: RunRecord) -> list[Violation]:
    """After `guard kill`: every position is flat within ``FLAT_GRACE_S`` and stays flat,
    with no order left resting, whatever rested before (a stop the bot forgot). Flat:
    less than one lot step, or less than the market's minimum order value (dust the
    base-asset fees leave, which no order can sell)."""
    at = record.kill_switch_at
    if at is None:
        return []
    out = []
    due = at + FLAT_GRACE_S
    for pair in sorted({f["pair"] for f in record.ledger["fills"]}):
        held = [(t, position_at(record, pair, t)) for t in (due, record.end)]
        for t, amount in held:
            dust = amount * record.price(pair, t) < record.min_notional
            if amount >= record.step - 1e-9 and not dust:
                out.append(
                    Violation(
                        "not_flat",
                        f"{pair}: {amount:g} held {t - at:.1f}s after the kill switch "
                        f"(at +{at - record.lives[0].started:.1f}s)",
                    )
                )
                break
    resting = [o for o in record.ledger["orders"] if o["status"] in _OPEN]
    if resting and due <= record.end:
        ids = ", ".join(f"{o['pair']} {o['type']} {o.get('client_order_id')}" for o in resting)
        out.append(Violation("not_flat", f"orders resting at the end of the run: {ids}"))
    return out
